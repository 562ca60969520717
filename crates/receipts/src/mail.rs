//! Received email, read by `mail-parser` (RFC 5322 and MIME): the sender, the checks the
//! receiving side reported, and the attachments, decoded.
//!
//! Only the topmost `Authentication-Results`, `X-SES-Spam-Verdict` and `X-SES-Virus-Verdict`
//! headers count: the receiving server adds its own above whatever the sender wrote, so a
//! sender cannot vouch for itself with headers of its own further down.

use mail_parser::{MessageParser, MimeHeaders};
use outlay_app::mail::{InboundEmail, MailAttachment};

/// The mail parser.
#[derive(Debug, Default, Clone, Copy)]
pub struct Mail;

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
        let mut checks = Vec::new();
        if let Some(results) = topmost("Authentication-Results") {
            checks.extend(authentication_results(results));
        }
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

/// The SPF and DKIM results of an `Authentication-Results` header (RFC 8601): `spf=pass`,
/// `dkim=fail`; a method it does not report is not listed.
pub fn authentication_results(value: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for method in ["spf", "dkim"] {
        let result = value
            .split(';')
            .map(str::trim)
            .filter_map(|clause| clause.strip_prefix(method)?.trim_start().strip_prefix('='))
            .map(|rest| {
                rest.trim_start()
                    .split(|c: char| c.is_whitespace() || c == '(')
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase()
            })
            .collect::<Vec<_>>();
        // Several signatures: any that passes is the sender's (a forwarder adds its own).
        if !result.is_empty() {
            out.push((method.to_owned(), result.iter().any(|r| r == "pass")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use outlay_app::ports::MailParser;

    #[test]
    fn results_are_read_per_method() {
        assert_eq!(
            authentication_results(
                "mx.example.com; spf=pass smtp.mailfrom=a.com; dkim=pass header.d=a.com"
            ),
            vec![("spf".into(), true), ("dkim".into(), true)]
        );
        assert_eq!(
            authentication_results(
                "amazonses.com; spf=softfail (spfCheck: x); dkim=fail header.i=@a.com"
            ),
            vec![("spf".into(), false), ("dkim".into(), false)]
        );
        assert_eq!(authentication_results("mx; none"), vec![]);
    }

    #[test]
    fn a_forwarded_receipt_is_read_with_its_attachment_and_the_topmost_verdicts() {
        let raw = "Authentication-Results: mx.outlay.test; spf=fail smtp.mailfrom=example.com; dkim=pass header.d=example.com\r\n\
Authentication-Results: forged; spf=pass; dkim=pass\r\n\
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
        let mail = Mail.parse(raw.as_bytes()).expect("a message");
        assert_eq!(mail.from, "Employee@Example.com");
        assert_eq!(
            mail.checks,
            vec![
                ("spf".into(), false),
                ("dkim".into(), true),
                ("virus".into(), true)
            ]
        );
        assert_eq!(mail.attachments.len(), 1);
        assert_eq!(mail.attachments[0].filename.as_deref(), Some("taxi.pdf"));
        assert_eq!(mail.attachments[0].content_type, "application/pdf");
        assert_eq!(mail.attachments[0].bytes, b"%PDF-1.4\n");
        assert!(Mail.parse(b"").is_err());
    }
}
