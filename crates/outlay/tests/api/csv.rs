//! Finance's CSV export of reports: finance only, and no cell a spreadsheet would run.

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn finance_exports_reports_as_csv_that_a_spreadsheet_will_not_run() {
    crate::local_only!("the local sign-in form; AWS signs in on Cognito's hosted UI");
    let app = spawn_app().await;
    let expense = app.expense("employee", "12.00").await;
    let r = app
        .post(
            "employee",
            "/api/v1/reports",
            json!({"title": "=HYPERLINK(\"http://x\")", "purpose": "", "expense_ids": [expense]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().expect("an id").to_owned();
    app.must("employee", &id, "submit", json!({})).await;

    let password = outlay_bootstrap::DEMO_PASSWORD;
    let (_, finance) = app.form_login("finance@example.com", password, &[]).await;
    let csv = app
        .page("/reports.csv", &finance.expect("a finance session"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(
        csv.headers["content-type"], "text/csv; charset=utf-8",
        "{:?}",
        csv.headers
    );
    let text = csv.body.as_str().expect("text").to_owned();
    let mut rows = text.lines();
    assert_eq!(
        rows.next(),
        Some(
            "report_id,title,employee,email,state,total,net,tax,currency,submitted_at,paid_at,payment_reference,cost_centres,projects"
        )
    );
    let row = rows.find(|l| l.starts_with(&id)).expect("the report's row");
    assert!(
        row.contains("\"'=HYPERLINK(\"\"http://x\"\")\",Eve Employee,employee@example.com,pending_manager,12.00,12.00,0.00,USD"),
        "{row}"
    );
    // Charged to Eve's home cost centre, and no project.
    assert!(row.ends_with(",ENG 12.00,"), "{row}");

    // The export is finance's: the use case refuses anyone else.
    let (_, employee) = app.form_login("employee@example.com", password, &[]).await;
    let refused = app
        .page("/reports.csv", &employee.expect("a session"))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
