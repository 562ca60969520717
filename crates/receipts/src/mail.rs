//! Received email, read by `mail-parser` (RFC 5322 and MIME): the sender, the checks the
//! receiving side reported, and the attachments, decoded.
//!
//! Only the topmost `Authentication-Results`, `X-SES-Spam-Verdict` and `X-SES-Virus-Verdict`
//! headers count: the receiving server adds its own above whatever the sender wrote, so a
//! sender cannot vouch for itself with headers of its own further down.

use mail_parser::{MessageParser, MimeHeaders};
use outlay_app::mail::{InboundEmail, MailAttachment};

/// The mail parser.
#[derive(Debug, Default, Clone)]
pub struct Mail {
    /// The receiving server whose `Authentication-Results` are trusted (its authserv-id);
    /// `None`: the topmost field, whoever wrote it.
    pub authserv_id: Option<String>,
}

impl outlay_app::ports::MailParser for Mail {
    fn parse(&self, raw: &[u8]) -> Result<InboundEmail, String> {
        let message = MessageParser::default()
            .parse(raw)
            .ok_or("the bytes are not an email message")?;
        let from = message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .ok_or("the message names no sender")?
            .trim()
            .to_owned();
        // The first (topmost) field of a name, as it was written.
        let topmost = |name: &str| {
            message
                .headers()
                .iter()
                .find(|h| h.name.as_str().eq_ignore_ascii_case(name))
                .and_then(|h| raw.get(h.offset_start as usize..h.offset_end as usize))
                .and_then(|v| std::str::from_utf8(v).ok())
        };
        let from_domain = from
            .rsplit_once('@')
            .map_or("", |(_, d)| d)
            .to_ascii_lowercase();
        // Without a trusted result, the sender is not authenticated: fail closed.
        let authenticated = topmost("Authentication-Results")
            .is_some_and(|r| authenticated(r, &from_domain, self.authserv_id.as_deref()));
        let mut checks = vec![("authentication".to_owned(), authenticated)];
        for (header, name) in [
            ("X-SES-Spam-Verdict", "spam"),
            ("X-SES-Virus-Verdict", "virus"),
        ] {
            if let Some(verdict) = topmost(header) {
                checks.push((name.to_owned(), verdict.trim().eq_ignore_ascii_case("PASS")));
            }
        }
        let attachments = message
            .attachments()
            .map(|part| MailAttachment {
                filename: part.attachment_name().map(str::to_owned),
                content_type: part
                    .content_type()
                    .map(|c| match c.subtype() {
                        Some(sub) => format!("{}/{sub}", c.ctype()),
                        None => c.ctype().to_owned(),
                    })
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
                bytes: part.contents().to_vec(),
            })
            .collect();
        Ok(InboundEmail {
            from,
            checks,
            attachments,
        })
    }
}

/// `value` without its comments (`(...)`) and quoted strings (`"..."`), which may hold any
/// character, `;` and `=` included.
fn plain(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let (mut depth, mut quoted, mut escaped) = (0_u32, false, false);
    for c in value.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted || depth > 0 => escaped = true,
            '"' if depth == 0 => {
                quoted = !quoted;
                if !quoted {
                    out.push_str("\"\"");
                }
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if quoted || depth > 0 => {}
            _ => out.push(c),
        }
    }
    out
}

/// Whether `domain` is aligned with the `From` domain (relaxed: one is the other or a
/// subdomain of it).
fn aligned(domain: &str, from: &str) -> bool {
    let d = domain.trim().trim_start_matches('@').to_ascii_lowercase();
    !d.is_empty()
        && !from.is_empty()
        && (d == from || from.ends_with(&format!(".{d}")) || d.ends_with(&format!(".{from}")))
}

/// Whether an `Authentication-Results` field (RFC 8601) authenticates the `From` domain: from
/// the trusted server (when one is named), with DMARC passing for it, or DKIM or SPF passing
/// for a domain aligned with it. A pass for some other domain proves nothing about `From`.
pub fn authenticated(value: &str, from_domain: &str, authserv_id: Option<&str>) -> bool {
    let plain = plain(value);
    let mut clauses = plain.split(';').map(str::trim);
    let server = clauses
        .next()
        .and_then(|c| c.split_whitespace().next())
        .unwrap_or("");
    if authserv_id.is_some_and(|id| !server.eq_ignore_ascii_case(id)) {
        return false;
    }
    // Each result with its properties. SES writes some of SPF's as clauses of their own
    // (`spf=pass (…) client-ip=…; envelope-from=…; helo=…;`): a clause that names no method
    // belongs to the result before it.
    type Props = Vec<(String, String)>;
    let mut results: Vec<(String, String, Props)> = Vec::new();
    for clause in clauses {
        let mut tokens = clause.split_whitespace();
        let Some((key, value)) = tokens.next().and_then(|t| t.split_once('=')) else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        let props = tokens
            .filter_map(|t| t.split_once('='))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()));
        if METHODS.contains(&key.as_str()) {
            results.push((key, value.to_ascii_lowercase(), props.collect()));
        } else if let Some(last) = results.last_mut() {
            last.2.push((key, value.to_owned()));
            last.2.extend(props);
        }
    }
    results.iter().any(|(method, result, props)| {
        if result != "pass" {
            return false;
        }
        let prop = |name: &str| {
            props
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let domain_of = |v: &str| v.rsplit_once('@').map_or(v, |(_, d)| d).to_owned();
        match method.as_str() {
            "dmarc" => prop("header.from").is_some_and(|d| aligned(d, from_domain)),
            "dkim" => prop("header.d")
                .map(str::to_owned)
                .or_else(|| prop("header.i").map(domain_of))
                .is_some_and(|d| aligned(&d, from_domain)),
            "spf" => prop("smtp.mailfrom")
                .or_else(|| prop("envelope-from"))
                .map(domain_of)
                .is_some_and(|d| aligned(&d, from_domain)),
            _ => false,
        }
    })
}

/// The authentication methods of RFC 8601's registry that may head a result.
const METHODS: [&str; 14] = [
    "arc",
    "auth",
    "bimi",
    "dkim",
    "dkim-adsp",
    "dkim-atps",
    "dmarc",
    "domainkeys",
    "iprev",
    "rrvs",
    "sender-id",
    "smime",
    "spf",
    "vbr",
];

#[cfg(test)]
mod tests {
    use super::*;
    use outlay_app::ports::MailParser;

    #[test]
    fn ses_results_with_spf_properties_in_clauses_of_their_own_are_read() {
        let ses = "amazonses.com; spf=pass (spfCheck: domain of example.com designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from=bills@example.com; helo=mail.example.com; dkim=fail header.i=@example.com; dmarc=fail header.from=example.com;";
        assert!(authenticated(ses, "example.com", Some("amazonses.com")));
        let other = ses.replace(
            "envelope-from=bills@example.com",
            "envelope-from=x@evil.test",
        );
        assert!(!authenticated(&other, "example.com", Some("amazonses.com")));
    }

    #[test]
    fn only_a_pass_aligned_with_the_sender_authenticates() {
        let ok = |v: &str| authenticated(v, "example.com", None);
        assert!(ok("mx.test; spf=pass smtp.mailfrom=bills@example.com"));
        assert!(ok("mx.test; dkim=pass header.d=mail.example.com"));
        assert!(ok(
            "amazonses.com; spf=fail; dkim=pass header.i=@example.com; dmarc=pass header.from=example.com"
        ));
        // A pass for the attacker's own domain says nothing of From.
        assert!(!ok(
            "mx.test; spf=pass smtp.mailfrom=evil.test; dkim=pass header.d=evil.test"
        ));
        assert!(!ok("mx.test; dkim=pass"));
        assert!(!ok(
            "mx.test; spf=softfail smtp.mailfrom=example.com; dkim=fail header.d=example.com"
        ));
        // Quoted strings and comments cannot smuggle a clause in.
        assert!(!ok(
            r#"mx.test; spf=fail smtp.mailfrom="x;spf=pass smtp.mailfrom=example.com"@evil.test"#
        ));
        assert!(!ok(
            "mx.test; spf=fail (;dkim=pass header.d=example.com) smtp.mailfrom=evil.test"
        ));
        // From a server other than the trusted one, nothing counts.
        assert!(!authenticated(
            "evil.test; dkim=pass header.d=example.com",
            "example.com",
            Some("mx.outlay.test")
        ));
        assert!(authenticated(
            "mx.outlay.test; dkim=pass header.d=example.com",
            "example.com",
            Some("mx.outlay.test")
        ));
    }

    #[test]
    fn a_forwarded_receipt_is_read_with_its_attachment_and_the_topmost_verdicts() {
        let raw = "Authentication-Results: mx.outlay.test; spf=fail smtp.mailfrom=example.com; dkim=pass header.d=example.com\r\n\
Authentication-Results: forged; spf=pass smtp.mailfrom=example.com\r\n\
X-SES-Virus-Verdict: PASS\r\n\
From: Eve <Employee@Example.com>\r\n\
To: receipts@outlay.test\r\n\
Subject: Fwd: taxi\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain\r\n\
\r\n\
See attached.\r\n\
--b\r\n\
Content-Type: application/pdf; name=\"taxi.pdf\"\r\n\
Content-Disposition: attachment; filename=\"taxi.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQK\r\n\
--b--\r\n";
        let mail = Mail::default().parse(raw.as_bytes()).expect("a message");
        assert_eq!(mail.from, "Employee@Example.com");
        assert_eq!(
            mail.checks,
            vec![("authentication".into(), true), ("virus".into(), true)]
        );
        assert_eq!(mail.attachments.len(), 1);
        assert_eq!(mail.attachments[0].filename.as_deref(), Some("taxi.pdf"));
        assert_eq!(mail.attachments[0].content_type, "application/pdf");
        assert_eq!(mail.attachments[0].bytes, b"%PDF-1.4\n");
        assert!(Mail::default().parse(b"").is_err());
    }
}
