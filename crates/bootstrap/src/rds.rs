//! IAM database authentication: the function signs in to RDS Proxy with a token it makes from
//! its own role's credentials (a SigV4 presigned `connect` for the database user, good for
//! 15 minutes), so that no database password is in its environment.

use std::time::{Duration, SystemTime};

use anyhow::Context;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// How long a token signs in: a connection must be opened within it.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// SigV4's query encoding: everything but the unreserved characters.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The token (`host:port/?Action=connect&DBUser=...&X-Amz-...`) that signs `user` in to the
/// database at `host:port` in `region`, as of `now`.
pub fn auth_token(
    credentials: &Credentials,
    region: &str,
    host: &str,
    port: u16,
    user: &str,
    now: SystemTime,
) -> anyhow::Result<String> {
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("rds-db")
        .time(now)
        .settings(settings)
        .build()
        .context("Failed to set up the database token's signature")?
        .into();
    let unsigned = format!(
        "{host}:{port}/?Action=connect&DBUser={}",
        utf8_percent_encode(user, QUERY)
    );
    let url = format!("https://{unsigned}");
    let request = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .context("Failed to prepare the database token")?;
    let (instructions, _) = sign(request, &params)
        .context("Failed to sign the database token")?
        .into_parts();
    let mut token = unsigned;
    for (name, value) in instructions.params() {
        token.push('&');
        token.push_str(name);
        token.push('=');
        token.extend(utf8_percent_encode(value, QUERY));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token's query parameters, sorted: the order does not matter to the service.
    fn params(token: &str) -> Vec<String> {
        let (_, query) = token.split_once("/?").expect("a query");
        let mut out: Vec<String> = query.split('&').map(str::to_owned).collect();
        out.sort();
        out
    }

    fn token_at(now: SystemTime) -> String {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("session/token+x=".to_owned()),
            None,
            "test",
        );
        auth_token(
            &credentials,
            "eu-central-1",
            "outlay.proxy-abc.eu-central-1.rds.amazonaws.com",
            5432,
            "outlay",
            now,
        )
        .expect("a token")
    }

    fn at_0930() -> SystemTime {
        // 2026-12-05T09:30:00Z
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_463_000)
    }

    #[test]
    fn a_token_names_the_database_user_and_lasts_fifteen_minutes() {
        let token = token_at(at_0930());
        assert!(token.starts_with(
            "outlay.proxy-abc.eu-central-1.rds.amazonaws.com:5432/?Action=connect&DBUser=outlay&"
        ));
        let p = params(&token);
        for expected in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F20261205%2Feu-central-1%2Frds-db%2Faws4_request",
            "X-Amz-Date=20261205T093000Z",
            "X-Amz-Expires=900",
            "X-Amz-SignedHeaders=host",
            "X-Amz-Security-Token=session%2Ftoken%2Bx%3D",
        ] {
            assert!(p.iter().any(|q| q == expected), "{expected} in {p:?}");
        }
        assert_ne!(token, token_at(at_0930() + Duration::from_secs(1)));
    }

    /// The same token as botocore's own `generate_db_auth_token`, an implementation that is
    /// not ours, for the same credentials and time.
    #[test]
    #[ignore = "needs botocore (moto's venv): `bash .ci/run` runs it (cargo test -- --include-ignored)"]
    fn the_token_is_the_one_botocore_makes() {
        let python =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
        let script = r#"
import datetime, botocore.auth, botocore.session
class Frozen(datetime.datetime):
    @classmethod
    def utcnow(cls): return cls(2026, 12, 5, 9, 30, 0)
    @classmethod
    def now(cls, tz=None): return cls(2026, 12, 5, 9, 30, 0, tzinfo=tz)
botocore.auth.datetime.datetime = Frozen
s = botocore.session.get_session()
s.set_credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session/token+x=")
rds = s.create_client("rds", region_name="eu-central-1")
print(rds.generate_db_auth_token(DBHostname="outlay.proxy-abc.eu-central-1.rds.amazonaws.com", Port=5432, DBUsername="outlay"))
"#;
        let out = std::process::Command::new(&python)
            .args(["-c", script])
            .output()
            .unwrap_or_else(|e| panic!("{} runs: {e}", python.display()));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = String::from_utf8(out.stdout).expect("UTF-8");
        let ours = token_at(at_0930());
        assert_eq!(params(&ours), params(theirs.trim()));
    }
}
