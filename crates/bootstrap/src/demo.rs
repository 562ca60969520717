//! The demo company of PRODUCT.md: six users in a reporting line and the standard policy.

use outlay_app::{App, NewUser};
use outlay_domain::{Email, Role};

/// The password every demo user shares.
pub const DEMO_PASSWORD: &str = "demo-password";

/// The demo password in force: `OUTLAY_DEMO_PASSWORD` (for identity providers with a stricter
/// password policy, such as the Cognito pool of the template), or [`DEMO_PASSWORD`].
pub fn demo_password() -> String {
    std::env::var("OUTLAY_DEMO_PASSWORD").unwrap_or_else(|_| DEMO_PASSWORD.to_owned())
}

/// The demo users: email, name, roles, and whom they report to.
pub const DEMO_USERS: [(&str, &str, &[Role], Option<&str>); 6] = [
    ("senior@example.com", "Sam Senior", &[Role::Manager], None),
    (
        "manager@example.com",
        "Mia Manager",
        &[Role::Manager],
        Some("senior@example.com"),
    ),
    (
        "employee@example.com",
        "Eve Employee",
        &[],
        Some("manager@example.com"),
    ),
    ("finance@example.com", "Fay Finance", &[Role::Finance], None),
    ("payer@example.com", "Pat Payer", &[Role::Finance], None),
    ("admin@example.com", "Ada Admin", &[Role::Admin], None),
];

/// Seeds the demo company into an empty database; does nothing if it is already there.
pub async fn seed_demo(app: &App) -> anyhow::Result<()> {
    app.ensure_policy().await?;
    for (email, name, roles, manager) in DEMO_USERS {
        let store = app.store();
        if store.user_by_email(&Email::parse(email)?).await?.is_some() {
            continue;
        }
        let manager_id = match manager {
            Some(m) => store.user_by_email(&Email::parse(m)?).await?.map(|u| u.id),
            None => None,
        };
        app.create_user(
            None,
            NewUser {
                email: email.into(),
                name: name.into(),
                password: Some(demo_password()),
                roles: roles.to_vec(),
                manager_id,
            },
        )
        .await?;
    }
    Ok(())
}
