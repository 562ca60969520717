//! Finance's CSV export of reports, safe to open in a spreadsheet.

use crate::change::all_pages;
use crate::insights::Charges;
use crate::lists::ListParams;
use crate::{App, AppError, Caller, Result};

/// A CSV cell that a spreadsheet will not run as a formula (OWASP's CSV injection advice):
/// spreadsheets skip leading spaces before they look for `=`, so the first character after
/// any whitespace decides.
pub fn cell(s: &str) -> String {
    let formula =
        s.starts_with(['\t', '\r']) || s.trim_start().starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

impl App {
    /// The submitted reports `params` find (all of them if it is empty) as CSV, one row each
    /// with its employee (finance).
    pub async fn reports_csv(&self, caller: &Caller, params: &ListParams) -> Result<Vec<u8>> {
        let search = &self.report_search(caller, "all", params).await?;
        let store = &self.store;
        let (reports, people) = tokio::try_join!(
            async { Ok(all_pages(|p| async move { store.find_reports(search, &p).await }).await?) },
            self.people(caller)
        )?;
        let mut out = csv::Writer::from_writer(Vec::new());
        let header = [
            "report_id",
            "title",
            "employee",
            "email",
            "state",
            "total",
            "net",
            "tax",
            "currency",
            "submitted_at",
            "paid_at",
            "payment_reference",
            "cost_centres",
            "projects",
        ];
        let mut rows = vec![header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()];
        let mut homes = std::collections::BTreeMap::new();
        let policy = self.policy_or_default().await?;
        for r in &reports {
            let who = people.get(&r.owner_id);
            let home = self.home_of(&mut homes, r.owner_id).await?;
            let mut charges = Charges::default();
            // The tax the company reclaims, in the base currency.
            let mut tax = 0_i64;
            for e in store.expenses_of_report(r.id).await? {
                charges.add(&e, home.as_deref());
                tax += e
                    .reclaimable_tax(&policy)
                    .and_then(|(_, base)| base)
                    .map_or(0, |m| m.minor());
            }
            let amount = |minor| {
                r.total.map_or_else(String::new, |t| {
                    outlay_domain::allowance::minor_string(minor, t.currency())
                })
            };
            let currency = r.total.map(|t| t.currency());
            // `ENG 33.33; MKT 66.67`, in the report's currency; `(none)` for charges to no cost centre.
            let list = |map: &std::collections::BTreeMap<String, i64>| {
                currency.map_or_else(String::new, |c| {
                    Charges::money(map, c)
                        .iter()
                        .map(|(k, m)| {
                            format!(
                                "{} {}",
                                if k.is_empty() { "(none)" } else { k },
                                m.amount_string()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
            };
            rows.push(vec![
                r.id.to_string(),
                cell(&r.title),
                cell(who.map_or("", |p| p.name.as_str())),
                cell(who.map_or("", |p| p.email.as_str())),
                r.state.as_str().to_owned(),
                r.total.map(|t| t.amount_string()).unwrap_or_default(),
                amount(r.total.map_or(0, |t| t.minor()) - tax),
                amount(tax),
                r.total
                    .map(|t| t.currency().code().to_owned())
                    .unwrap_or_default(),
                r.submitted_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                r.payment
                    .as_ref()
                    .map(|p| p.at.to_rfc3339())
                    .unwrap_or_default(),
                cell(r.payment.as_ref().map_or("", |p| p.reference.as_str())),
                cell(&list(&charges.cost_centres)),
                cell(&list(&charges.projects)),
            ]);
        }
        for row in rows {
            out.write_record(&row)
                .map_err(|e| AppError::Internal(e.into()))?;
        }
        out.into_inner()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_defused_even_after_spaces() {
        for formula in [
            "=1+1",
            "+1",
            "-1",
            "@SUM(A1)",
            "\t=1",
            "  =HYPERLINK(\"x\")",
            " \u{a0}@x",
        ] {
            assert!(cell(formula).starts_with('\''), "{formula:?}");
        }
        for plain in ["Hotel", "12.50", " Cafe", ""] {
            assert_eq!(cell(plain), plain);
        }
    }
}
