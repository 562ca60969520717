//! The function's IAM policy in `infra/template.yaml` allows every AWS operation that the
//! adapters call: each `.operation()` of an AWS SDK client in the adapters' source, found by
//! the SDK crates' own list of operations, must map to an allowed action.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The operation names (snake_case) of an SDK crate, from its `src/operation` folder: the
/// version in `Cargo.lock`, unpacked in cargo's registry.
fn sdk_operations(package: &str) -> BTreeSet<String> {
    let lock = std::fs::read_to_string(workspace().join("Cargo.lock")).expect("Cargo.lock");
    let version = lock
        .split("[[package]]")
        .find_map(|p| {
            let mut lines = p.lines().map(str::trim);
            let name = lines.find(|l| l.starts_with("name = "))?;
            (name == format!("name = \"{package}\"")).then(|| {
                p.lines()
                    .map(str::trim)
                    .find_map(|l| l.strip_prefix("version = \""))
                    .map(|v| v.trim_end_matches('"').to_owned())
            })?
        })
        .unwrap_or_else(|| panic!("{package} is in Cargo.lock"));
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("a cargo home");
    let registries = std::fs::read_dir(home.join("registry/src")).expect("cargo's registry");
    let dir = registries
        .filter_map(Result::ok)
        .map(|r| r.path().join(format!("{package}-{version}/src/operation")))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| panic!("{package} {version} is unpacked in cargo's registry"));
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir)
        .expect("a source folder")
        .filter_map(Result::ok)
    {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).expect("a source file"));
        }
    }
}

fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
        })
        .collect()
}

/// The actions the function's policy allows (the `Allow` statements of its `Policies`).
fn allowed_actions() -> BTreeSet<String> {
    let template =
        std::fs::read_to_string(workspace().join("infra/template.yaml")).expect("the template");
    let start = template
        .find("      Policies:")
        .expect("the function has policies");
    let end = start
        + template[start..]
            .find("      Events:")
            .expect("events follow");
    let mut allowed = BTreeSet::new();
    for statement in template[start..end].split("- Sid:").skip(1) {
        if !statement.contains("Effect: Allow") {
            continue;
        }
        for word in
            statement.split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | ',' | '"'))
        {
            let service_action = word.trim_start_matches('-');
            if let Some((service, action)) = service_action.split_once(':')
                && [
                    "dynamodb",
                    "s3",
                    "sns",
                    "ses",
                    "cognito-idp",
                    "kms",
                    "textract",
                ]
                .contains(&service)
                && action.chars().all(|c| c.is_ascii_alphanumeric())
                && !action.is_empty()
            {
                allowed.insert(service_action.to_owned());
            }
        }
    }
    allowed
}

#[test]
fn the_functions_role_allows_every_aws_operation_the_adapters_call() {
    // (adapter sources, SDK crate, IAM service prefix)
    let adapters = [
        ("store-dynamodb/src", "aws-sdk-dynamodb", "dynamodb"),
        ("blobs/src", "aws-sdk-s3", "s3"),
        ("notify/src", "aws-sdk-sesv2", "ses"),
        ("notify/src", "aws-sdk-sns", "sns"),
        ("auth/src", "aws-sdk-cognitoidentityprovider", "cognito-idp"),
        ("anchor/src", "aws-sdk-kms", "kms"),
        ("anchor/src", "aws-sdk-s3", "s3"),
        ("receipts/src", "aws-sdk-textract", "textract"),
        ("bootstrap/src", "aws-sdk-s3", "s3"),
    ];
    // Operations whose IAM actions are named otherwise, and the one the function never runs.
    let actions_of: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
        // A transaction is authorised item by item, as the writes and checks it holds.
        (
            "dynamodb:transact_write_items",
            vec!["PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"],
        ),
        // A copy reads the source and writes the target.
        ("s3:copy_object", vec!["GetObject", "PutObject"]),
        // Listing versions is authorised on the bucket as ListBucketVersions.
        ("s3:list_object_versions", vec!["ListBucketVersions"]),
        // Only tests, `scripts/moto-stack.sh` and an operator's `outlay migrate` create (or
        // look for) the table; in a deployment the template owns it.
        ("dynamodb:create_table", vec![]),
        ("dynamodb:describe_table", vec![]),
    ]);
    let allowed = allowed_actions();
    let mut called = BTreeSet::new();
    let mut missing = Vec::new();
    for (dir, package, service) in adapters {
        let mut code = String::new();
        sources(&workspace().join("crates").join(dir), &mut code);
        for op in sdk_operations(package) {
            if !code.contains(&format!(".{op}()")) {
                continue;
            }
            called.insert(format!("{service}:{op}"));
            let key = format!("{service}:{op}");
            let actions = actions_of
                .get(key.as_str())
                .map(|a| a.iter().map(|s| (*s).to_owned()).collect())
                .unwrap_or_else(|| vec![pascal(&op)]);
            for action in actions {
                let action = format!("{service}:{action}");
                if !allowed.contains(&action) {
                    missing.push(format!("{action} (for {op} in crates/{dir})"));
                }
            }
        }
    }
    // The scan found what the adapters are known to call, so an empty result cannot pass.
    for known in [
        "dynamodb:transact_write_items",
        "textract:analyze_expense",
        "kms:sign",
        "s3:put_object",
        "cognito-idp:admin_create_user",
    ] {
        assert!(
            called.contains(known),
            "the scan missed {known}: {called:?}"
        );
    }
    assert!(
        missing.is_empty(),
        "the function's role lacks: {missing:#?}"
    );
}

#[test]
fn the_function_names_the_mail_bucket_that_calls_it_without_referring_to_it() {
    // The bucket's S3 event names the function (SAM puts the function in the bucket's
    // notification), so a `!Ref` or `!GetAtt` of the bucket in the function's settings or role
    // would be a circular dependency CloudFormation refuses; cfn-lint does not see it.
    let template =
        std::fs::read_to_string(workspace().join("infra/template.yaml")).expect("the template");
    let start = template
        .find("\n  Function:\n    Type: AWS::Serverless::Function")
        .expect("the function");
    let end = start
        + 1
        + template[start + 1..]
            .find("\n  ApiErrorsAlarm:")
            .expect("the resource after it");
    let function = &template[start..end];
    let mentions: Vec<&str> = function
        .lines()
        .filter(|l| l.contains("InboundMailBucket"))
        .map(str::trim)
        .collect();
    assert_eq!(mentions, ["Bucket: !Ref InboundMailBucket"], "{mentions:?}");
    // And what it names instead is the bucket's own name.
    let name = "outlay-${Stage}-mail-${AWS::AccountId}-${AWS::Region}";
    assert!(template.contains(&format!("BucketName: !Sub \"{name}\"")));
    assert!(function.contains(&format!("OUTLAY_MAIL_BUCKET: !Sub \"{name}\"")));
    assert!(function.contains(&format!("s3:::{name}/mail/*")));
}
