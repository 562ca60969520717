//! The OpenAPI document: the schemas of the values the server checks (each exactly the set it
//! accepts, so that a generated client, or schemathesis, can tell a valid request from an
//! invalid one), and the statuses every kind of route can answer.
//!
//! The statuses follow one rule: 400 when a request breaks this document (syntax, types,
//! patterns, lengths, enums); 422 when it is valid here but refused by a rule about its values
//! that the document cannot state (a category the policy does not have, cents for a currency
//! without them, a cursor the server did not make, a file whose bytes are not its type).

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Content, OpenApi, RefOr};

/// Characters that are neither Unicode whitespace nor control characters: a required text
/// field needs one, after the server removes control characters and trims.
const VISIBLE: &str = r"[^\s\x00-\x1f\x7f-\x9f]";

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn nullable(b: ObjectBuilder) -> ObjectBuilder {
    b.schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

/// An ISO 4217 code of a currency with minor units.
pub fn currency() -> Schema {
    currency_builder().into()
}

fn currency_builder() -> ObjectBuilder {
    string()
        .enum_values(Some(
            outlay_domain::Currency::all()
                .iter()
                .map(|c| c.code().to_owned()),
        ))
        .description(Some(
            "An ISO 4217 currency code with minor units, such as USD",
        ))
}

/// Currencies.
pub fn currencies() -> Schema {
    ArrayBuilder::new().items(currency_builder()).into()
}

/// A currency, or `null`.
pub fn currency_or_null() -> Schema {
    let codes: Vec<serde_json::Value> = outlay_domain::Currency::all()
        .iter()
        .map(|c| c.code().into())
        .chain([serde_json::Value::Null])
        .collect();
    nullable(string()).enum_values(Some(codes)).into()
}

const AMOUNT_TEXT: &str = "A plain decimal such as \"123.45\": more than zero, and with no more \
    decimals than the currency has (USD 2, JPY 0, KWD 3); otherwise 422";

/// A plain decimal amount.
pub fn amount() -> Schema {
    string()
        .pattern(Some(outlay_domain::Money::pattern()))
        .description(Some(AMOUNT_TEXT))
        .examples(["12.50"])
        .into()
}

/// An amount, or `null`.
pub fn amount_or_null() -> Schema {
    nullable(string())
        .pattern(Some(outlay_domain::Money::pattern()))
        .description(Some(AMOUNT_TEXT))
        .into()
}

/// A calendar date, `YYYY-MM-DD`.
pub fn date() -> Schema {
    string()
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .into()
}

/// A date, or `null`.
pub fn date_or_null() -> Schema {
    nullable(string())
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .into()
}

fn uuid() -> ObjectBuilder {
    string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
}

/// A cost centre's or project's code: 1 to 20 of A-Z, 0-9, `-`, `_`.
pub fn code() -> Schema {
    string()
        .min_length(Some(1))
        .max_length(Some(20))
        .pattern(Some("^[A-Za-z0-9_-]{1,20}$"))
        .into()
}

/// A code, or `null`.
pub fn code_or_null() -> Schema {
    nullable(string())
        .min_length(Some(1))
        .max_length(Some(20))
        .pattern(Some("^[A-Za-z0-9_-]{1,20}$"))
        .into()
}

/// A percentage with at most two decimals: `"60"`, `"33.33"`; or `null`.
pub fn percent_or_null() -> Schema {
    nullable(string())
        .pattern(Some("^[0-9]{1,3}(\\.[0-9]{1,2})?$"))
        .into()
}

/// A percentage, `""` or `null`.
pub fn percent_or_empty_or_null() -> Schema {
    nullable(string())
        .pattern(Some("^([0-9]{1,3}(\\.[0-9]{1,2})?)?$"))
        .into()
}

/// One of `values`.
pub fn one_of(values: &[&str]) -> Schema {
    string().enum_values(Some(values.iter().copied())).into()
}

/// One of `values`, or `null`.
pub fn one_of_or_null(values: &[&str]) -> Schema {
    let values: Vec<serde_json::Value> = values
        .iter()
        .map(|v| (*v).into())
        .chain([serde_json::Value::Null])
        .collect();
    nullable(string()).enum_values(Some(values)).into()
}

/// A rule's approver kind.
pub fn rule_approver() -> Schema {
    one_of(&["cost_centre_owner", "user", "role"])
}

/// A rule's role, or `null`.
pub fn rule_role_or_null() -> Schema {
    nullable(string())
        .enum_values(Some(["manager", "finance", "admin"]))
        .into()
}

/// An id.
pub fn id() -> Schema {
    uuid().into()
}

/// An id, or `null`.
pub fn id_or_null() -> Schema {
    nullable(uuid()).into()
}

/// Ids, 1 to 100, each once.
pub fn ids() -> Schema {
    ArrayBuilder::new()
        .items(uuid())
        .min_items(Some(1))
        .max_items(Some(100))
        .unique_items(true)
        .into()
}

/// 1 to 100 distinct ids, or `null` (a patch leaves them as they are).
pub fn some_ids_or_null() -> Schema {
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(uuid())
        .min_items(Some(1))
        .max_items(Some(100))
        .unique_items(true)
        .into()
}

/// Ids, or `null`.
pub fn ids_or_null() -> Schema {
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(uuid())
        .into()
}

/// Free text that must say something: control characters are removed and the rest trimmed.
fn required_text(max: usize) -> Schema {
    string().max_length(Some(max)).pattern(Some(VISIBLE)).into()
}

/// Optional free text; control characters other than newlines are removed.
fn optional_text(max: usize) -> Schema {
    nullable(string()).max_length(Some(max)).into()
}

/// A merchant, report title or payment reference (required, at most 200 characters).
pub fn text_200() -> Schema {
    required_text(200)
}

/// The same, or `null` (a patch leaves it as it is).
pub fn text_200_or_null() -> Schema {
    nullable(string())
        .max_length(Some(200))
        .pattern(Some(VISIBLE))
        .into()
}

/// A rejection reason (required, at most 1,000 characters).
pub fn text_1000() -> Schema {
    required_text(1000)
}

/// A comment (optional, at most 1,000 characters).
pub fn optional_text_1000() -> Schema {
    optional_text(1000)
}

/// A description, purpose or justification (optional, at most 2,000 characters).
pub fn optional_text_2000() -> Schema {
    optional_text(2000)
}

/// A purpose: text of at most 2,000 characters (may be empty).
pub fn text_2000() -> Schema {
    string().max_length(Some(2000)).into()
}

/// A policy category, one of the policy's (GET /policy); see [`category_or_null`].
pub fn category() -> Schema {
    category_builder(false)
}

fn category_builder(null: bool) -> Schema {
    let names = outlay_app::default_policy()
        .categories
        .into_iter()
        .map(|c| c.name);
    let mut values: Vec<serde_json::Value> = names.map(Into::into).collect();
    let mut b = string();
    if null {
        values.push(serde_json::Value::Null);
        b = nullable(b);
    }
    b.enum_values(Some(values))
        .description(Some("One of the policy's categories (GET /policy)"))
        .into()
}

/// A policy category (one of the policy's, GET /policy), or `null`. The document served at
/// `/openapi.json` lists the policy's categories as they are when it is served
/// ([`with_categories`]); this built-in one lists the default policy's.
pub fn category_or_null() -> Schema {
    category_builder(true)
}

/// The links between operations that schemathesis cannot infer, added to the JSON (utoipa
/// 5.5 writes a link's fields in snake case): a new expense can go into a new report, and the
/// first item of a list can be read, changed or decided. A list is how a client finds work that
/// someone else started, such as the reports waiting in an approver's queue.
pub fn add_links(doc: &mut serde_json::Value) {
    doc["paths"]["/api/v1/expenses"]["post"]["responses"]["201"]["links"] = serde_json::json!({
        "NewReport": {
            "operationId": "create_report",
            "description": "A draft report of this expense",
            "requestBody": {"title": "A report", "expense_ids": ["$response.body#/id"]},
            // The body as it stands: schemathesis would otherwise mix in generated fields.
            "x-schemathesis": {"merge_body": false}
        }
    });
    let lists: [(&str, &[&str]); 4] = [
        (
            "/api/v1/reports",
            &[
                "get_report",
                "history",
                "route",
                "submit",
                "withdraw",
                "approve",
                "reject",
                "pay",
            ],
        ),
        (
            "/api/v1/expenses",
            &[
                "get_expense",
                "update_expense",
                "delete_expense",
                "attach",
                "start_upload",
            ],
        ),
        (
            "/api/v1/users",
            &["update_user", "set_theirs", "end_theirs"],
        ),
        (
            "/api/v1/advances",
            &[
                "get_advance",
                "approve_advance",
                "reject_advance",
                "cancel_advance",
                "pay_out_advance",
                "repay_advance",
            ],
        ),
    ];
    for (path, targets) in lists {
        let links: serde_json::Map<String, serde_json::Value> = targets
            .iter()
            .map(|op| {
                let link = serde_json::json!({
                    "operationId": op,
                    "description": "The list's first item",
                    "parameters": {"path.id": "$response.body#/items/0/id"}
                });
                (format!("FirstItem_{op}"), link)
            })
            .collect();
        doc["paths"][path]["get"]["responses"]["200"]["links"] = links.into();
    }
    for (path, op) in [
        ("/api/v1/cost-centres", "put_cost_centre"),
        ("/api/v1/projects", "put_project"),
    ] {
        doc["paths"][path]["get"]["responses"]["200"]["links"] = serde_json::json!({
            "FirstItem": {
                "operationId": op,
                "description": "Change the list's first item",
                "parameters": {"path.code": "$response.body#/items/0/code"}
            }
        });
    }
    doc["paths"]["/api/v1/reports/{id}"]["get"]["responses"]["200"]["links"] = serde_json::json!({
        "RejectFirstLine": {
            "operationId": "reject_line",
            "description": "Take the report's first line out of it",
            "parameters": {"path.id": "$response.body#/id", "path.expense_id": "$response.body#/expenses/0/id"}
        }
    });
}

/// The document with the policy's categories as they are now.
pub fn with_categories(doc: &serde_json::Value, names: &[String]) -> serde_json::Value {
    let mut doc = doc.clone();
    for (schema, null) in [
        ("ReceiptExpense", false),
        ("MileageExpense", true),
        ("PerDiemExpense", true),
        ("ExpensePatchRequest", true),
    ] {
        let enum_values =
            &mut doc["components"]["schemas"][schema]["properties"]["category"]["enum"];
        if let serde_json::Value::Array(values) = enum_values {
            *values = names.iter().map(|n| n.as_str().into()).collect();
            if null {
                values.push(serde_json::Value::Null);
            }
        }
    }
    doc
}

/// A category's name in the policy (the domain's rule, `Policy::validate`; a repeated name gets
/// 422).
pub fn category_name() -> Schema {
    string().pattern(Some("^[a-z0-9_-]{1,50}$")).into()
}

/// A receipt's media type.
pub fn receipt_type() -> Schema {
    string().enum_values(Some(RECEIPT_TYPES)).into()
}

/// An email address: no spaces or control characters, one `@`, a domain of two or more
/// labels; at most 254 characters.
pub fn email() -> Schema {
    string()
        .max_length(Some(254))
        .pattern(Some(EMAIL))
        .examples(["pat@example.com"])
        .into()
}

/// Surrounding Unicode whitespace (trimmed) is as Rust's `char::is_whitespace` has it, which
/// Python's `\s` is not (it also matches `\x1c`-`\x1f`).
const EMAIL: &str = concat!(
    r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*",
    r"[^\s@\x00-\x1f\x7f-\x9f]+@[^\s@.\x00-\x1f\x7f-\x9f]+(\.[^\s@.\x00-\x1f\x7f-\x9f]+)+",
    r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
);

/// A display name: at most 200 characters, no control characters, not blank.
pub fn name() -> Schema {
    name_builder().into()
}

fn name_builder() -> ObjectBuilder {
    string().max_length(Some(200)).pattern(Some(NAME))
}

const NAME: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";

/// A name, or `null`.
pub fn name_or_null() -> Schema {
    nullable(name_builder()).into()
}

/// A new password: 12 to 256 characters.
pub fn password() -> Schema {
    nullable(string())
        .min_length(Some(12))
        .max_length(Some(256))
        .into()
}

fn roles_builder() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(string().enum_values(Some(outlay_domain::Role::ALL.iter().map(|r| r.as_str()))))
}

/// Roles.
pub fn roles() -> Schema {
    roles_builder().into()
}

/// Roles, or `null`.
pub fn roles_or_null() -> Schema {
    roles_builder()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .into()
}

/// An exchange rate: a positive decimal with at most 12 decimals.
pub fn rate() -> Schema {
    string()
        .pattern(Some(r"^[0-9]{1,12}(\.[0-9]{1,12})?$"))
        .description(Some("More than zero; otherwise 422"))
        .into()
}

/// A policy's integer setting, or `null`.
pub fn days_or_null() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .minimum(Some(0))
        .maximum(Some(u32::MAX))
        .into()
}

/// Which reports to list.
pub fn scope() -> Schema {
    string()
        .enum_values(Some(["mine", "approvals", "decided", "all"]))
        .into()
}

/// An IANA time zone name.
pub fn zone() -> Schema {
    string()
        .enum_values(Some(outlay_domain::TimeZone::all().map(|z| z.name())))
        .into()
}

/// An IANA time zone name, or `null`.
pub fn zone_or_null() -> Schema {
    let names: Vec<serde_json::Value> = outlay_domain::TimeZone::all()
        .map(|z| z.name().into())
        .chain([serde_json::Value::Null])
        .collect();
    nullable(string()).enum_values(Some(names)).into()
}

/// The states an expense list takes: in a report or not.
pub fn expense_state() -> Schema {
    string()
        .enum_values(Some(["reported", "unreported"]))
        .into()
}

/// The scopes an expense list takes.
pub fn expense_scope() -> Schema {
    string().enum_values(Some(["mine", "all"])).into()
}

/// A report state.
pub fn report_state() -> Schema {
    string()
        .enum_values(Some(
            outlay_domain::ReportState::ALL.iter().map(|s| s.as_str()),
        ))
        .into()
}

/// A list's order.
pub fn sort() -> Schema {
    string()
        .enum_values(Some(["date", "-date", "amount", "-amount"]))
        .into()
}

const RECEIPT_TYPES: [&str; 3] = ["application/pdf", "image/jpeg", "image/png"];

/// The statuses each kind of route can answer, with the headers that come with them, and
/// the bodies the generator cannot describe (binary receipts).
pub fn complete(doc: &mut OpenApi) {
    // A JSON body is required only if its schema requires a field; an empty one reads as {}.
    let optional_bodies: std::collections::BTreeSet<String> = doc
        .components
        .iter()
        .flat_map(|c| c.schemas.iter())
        .filter(|(_, s)| matches!(s, RefOr::T(Schema::Object(o)) if o.required.is_empty()))
        .map(|(name, _)| format!("#/components/schemas/{name}"))
        .collect();
    let idempotency: Schema = string().pattern(Some(r"^[!-~]{16,200}$")).into();
    let if_match: Schema = string()
        .pattern(Some(r#"^(W/)?("[0-9]{1,18}"|[0-9]{1,18})$"#))
        .into();
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            (&mut item.get, "get"),
            (&mut item.post, "post"),
            (&mut item.put, "put"),
            (&mut item.patch, "patch"),
            (&mut item.delete, "delete"),
        ];
        for (op, method) in ops {
            let Some(op) = op.as_mut() else { continue };
            for p in op.parameters.iter_mut().flatten() {
                match (p.name.as_str(), &p.parameter_in) {
                    ("Idempotency-Key", ParameterIn::Header) => {
                        p.schema = Some(idempotency.clone().into());
                    }
                    ("If-Match", ParameterIn::Header) => {
                        p.schema = Some(if_match.clone().into());
                    }
                    ("id", ParameterIn::Path) => p.schema = Some(uuid().into()),
                    _ => {}
                }
            }
            if let Some(body) = op.request_body.as_mut()
                && let Some(json) = body.content.get("application/json")
                && matches!(&json.schema, Some(RefOr::Ref(r)) if optional_bodies.contains(&r.ref_location))
            {
                body.required = Some(utoipa::openapi::Required::False);
            }
            if path == "/metrics" {
                // From loopback no token is needed (see the operation's description).
                op.security = Some(vec![
                    utoipa::openapi::security::SecurityRequirement::default(),
                    utoipa::openapi::security::SecurityRequirement::new(
                        "bearer",
                        Vec::<String>::new(),
                    ),
                ]);
            }
            if path.contains("receipt") && (method == "put" || path.ends_with("/receipts")) {
                op.request_body = Some(binary_body());
            }
            if path == "/api/v1/receipts/{id}" && method == "get" {
                op.responses
                    .responses
                    .insert("200".into(), binary_download().into());
                add(
                    op,
                    "302",
                    "On AWS: the short-lived S3 link to the file (Location)",
                );
            }
            statuses(op, path, method);
        }
    }
}

fn binary_body() -> RequestBody {
    let mut body = RequestBody::new();
    body.description = Some("The file: JPEG, PNG or PDF, at most 10 MB".into());
    body.required = Some(utoipa::openapi::Required::True);
    for t in RECEIPT_TYPES {
        body.content.insert(t.into(), binary_content());
    }
    body
}

fn binary_content() -> Content {
    Content::new(Some(
        string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary))),
    ))
}

fn binary_download() -> Response {
    let mut b = ResponseBuilder::new().description("The file, as an attachment");
    for t in RECEIPT_TYPES {
        b = b.content(t, binary_content());
    }
    b.build()
}

fn add(op: &mut Operation, status: &str, description: &str) {
    if op.responses.responses.contains_key(status) {
        return;
    }
    let mut response = ResponseBuilder::new().description(description);
    if status != "302" && status != "204" {
        response = response.content(
            "application/json",
            Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                "ErrorBody",
            )))),
        );
    }
    if matches!(status, "429" | "503") {
        response = response.header(
            "Retry-After",
            utoipa::openapi::header::HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some("Seconds to wait before trying again"))
                .build(),
        );
    }
    if status == "302" {
        response = response.header(
            "Location",
            utoipa::openapi::header::HeaderBuilder::new()
                .schema(string())
                .build(),
        );
    }
    op.responses
        .responses
        .insert(status.into(), response.into());
}

fn statuses(op: &mut Operation, path: &str, method: &str) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_input =
        op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    if secured && path != "/metrics" {
        add(
            op,
            "401",
            "No bearer token, or one that is not valid (any more)",
        );
        if path != "/api/v1/me" {
            add(
                op,
                "403",
                "The caller's roles or relation to the object do not allow it",
            );
        }
    }
    if has_input {
        add(
            op,
            "400",
            "The request breaks this document (syntax, type, pattern, length)",
        );
        add(
            op,
            "422",
            "Valid here, but refused by a rule about its values (see the message)",
        );
    }
    if path.contains('{') || (secured && method != "get") {
        add(op, "404", "No such object, or one the caller may not see");
    }
    if secured && method != "get" {
        add(
            op,
            "409",
            "The object is in another state or version, or a duplicate",
        );
    }
    if op.request_body.is_some() {
        add(op, "413", "The body is larger than this route accepts");
        add(op, "415", "The body's media type is not accepted here");
    }
    if path == "/api/v1/auth/token" {
        add(op, "429", "Too many attempts for this account or address");
        add(op, "503", "Every password-hashing slot is busy");
    }
}
