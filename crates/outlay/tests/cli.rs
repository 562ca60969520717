//! The operator commands of the `outlay` binary, run as a person would run them.

use std::process::Command;

fn outlay(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_outlay"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("OUTLAY_LOG", "warn")
        .env("OUTLAY_NEW_PASSWORD", "a-long-enough-password")
        .output()
        .expect("the binary runs")
}

#[test]
fn an_operator_migrates_creates_the_first_admin_and_verifies_the_audit() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let migrate = outlay(&["migrate"], dir.path());
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    assert!(dir.path().join("outlay.db").exists());

    let admin = outlay(
        &[
            "admin",
            "create-user",
            "--email",
            "Root@Example.com",
            "--name",
            "Root",
            "--role",
            "admin",
        ],
        dir.path(),
    );
    assert!(
        admin.status.success(),
        "{}",
        String::from_utf8_lossy(&admin.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&admin.stdout).expect("JSON on stdout");
    assert_eq!(created["email"], "root@example.com");

    let again = outlay(
        &[
            "admin",
            "create-user",
            "--email",
            "root@example.com",
            "--name",
            "Root",
            "--role",
            "admin",
        ],
        dir.path(),
    );
    assert!(
        !again.status.success(),
        "a second user with the same email is refused"
    );
    let bad_role = outlay(
        &[
            "admin",
            "create-user",
            "--email",
            "x@example.com",
            "--name",
            "X",
            "--role",
            "king",
        ],
        dir.path(),
    );
    assert!(!bad_role.status.success());

    let verify = outlay(&["audit", "verify"], dir.path());
    assert!(verify.status.success());
    let v: serde_json::Value = serde_json::from_slice(&verify.stdout).expect("JSON on stdout");
    assert_eq!(v["ok"], true);
    // The admin; the default policy is stored when a server first starts, so that a migrated
    // store stays empty for `outlay import`.
    assert_eq!(v["events"], 1, "the admin");
}
