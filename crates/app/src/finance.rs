//! Finance's settings: the expense policy and exchange rates.

use chrono::NaiveDate;
use outlay_domain::{CategoryRule, Currency, ExchangeRate, Money, Policy, Rate, Role, Severity};

use crate::{App, AppError, Caller, Change, Guard, Result, Write, require};

/// The most rates one request may set.
const MAX_RATES: usize = 1000;

impl App {
    /// The policy; everyone may read it (the categories are needed to file expenses), but
    /// the company's bank account and ledger only finance.
    pub async fn policy(&self, caller: &Caller) -> Result<Policy> {
        let mut policy = self.policy_or_default().await?;
        if !caller.user.roles.contains(&Role::Finance) {
            policy.paying_account = None;
            policy.ledger = Default::default();
        }
        Ok(policy)
    }

    /// The policy's category names, for the API document (served to anyone).
    pub async fn categories(&self) -> Result<Vec<String>> {
        Ok(self
            .policy_or_default()
            .await?
            .categories
            .into_iter()
            .map(|c| c.name)
            .collect())
    }

    /// Replaces the policy (finance), keeping its cost centres, projects, routing rules and
    /// rate tables, which have their own resources.
    pub async fn put_policy(&self, caller: &Caller, mut policy: Policy) -> Result<Policy> {
        require(caller, Role::Finance)?;
        let (before, stored) = self.policy_as_stored().await?;
        policy.keep_apart(&before);
        self.replace_policy(caller, policy, before, stored).await
    }

    /// Replaces the cost centres, projects and routing rules (finance, or an admin) as `change`
    /// makes them from those stored, checked with the rest of the policy and against the users
    /// they name.
    pub async fn change_org(
        &self,
        caller: &Caller,
        change: impl FnOnce(&mut outlay_domain::policy::Organisation),
    ) -> Result<outlay_domain::policy::Organisation> {
        crate::may_keep_org(caller)?;
        let (before, stored) = self.policy_as_stored().await?;
        let mut policy = before.clone();
        change(&mut policy.org);
        let org = &policy.org;
        let named = org.cost_centres.iter().filter_map(|c| c.owner_id).chain(
            org.routing_rules.iter().filter_map(|r| match r.approver {
                outlay_domain::RuleApprover::User(u) => Some(u),
                outlay_domain::RuleApprover::CostCentreOwner
                | outlay_domain::RuleApprover::Role(_) => None,
            }),
        );
        for id in named {
            if self.store.user(id).await?.is_none() {
                return Err(AppError::Unprocessable(format!("user {id} does not exist")));
            }
        }
        let org = policy.org.clone();
        self.replace_policy(caller, policy, before, stored).await?;
        Ok(org)
    }

    /// Replaces the policy `before` (as `stored`, which guards the change) with `policy`.
    /// Finance or an admin may (the callers check which).
    pub(crate) async fn replace_policy(
        &self,
        caller: &Caller,
        mut policy: Policy,
        before: Policy,
        stored: Option<Policy>,
    ) -> Result<Policy> {
        policy.validate()?;
        policy.version = before.version;
        if stored.as_ref() == Some(&policy) {
            // Nothing changes, so nothing is written.
            return Ok(policy);
        }
        policy.version = before.version.saturating_add(1);
        policy.version = before.version.saturating_add(1);
        let guards = [Guard::user(&caller.user), Guard::policy(stored)];
        let audit = self.audit_record(
            Some(caller),
            "policy.update",
            "policy",
            "company",
            Some(&before),
            Some(&policy),
        )?;
        self.store
            .commit(Change::one(Write::PutPolicy(policy.clone()), audit).guarded(guards))
            .await?;
        Ok(policy)
    }

    /// Sets exchange rates to the base currency (finance), replacing any for the same day.
    pub async fn put_rates(
        &self,
        caller: &Caller,
        rates: Vec<(String, String, String)>,
    ) -> Result<Vec<ExchangeRate>> {
        require(caller, Role::Finance)?;
        if rates.is_empty() || rates.len() > MAX_RATES {
            return Err(AppError::BadInput(format!("send 1 to {MAX_RATES} rates")));
        }
        let (policy, stored) = self.policy_as_stored().await?;
        let base = policy.base_currency;
        let guards = [Guard::user(&caller.user), Guard::policy(stored)];
        let parsed = rates
            .iter()
            .enumerate()
            .map(|(i, (date, currency, rate))| {
                let at = |e: AppError| match e {
                    AppError::BadInput(m) => AppError::BadInput(format!("rates[{i}]: {m}")),
                    AppError::Unprocessable(m) => {
                        AppError::Unprocessable(format!("rates[{i}]: {m}"))
                    }
                    other => other,
                };
                let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| {
                    at(AppError::BadInput(format!(
                        "date `{date}` is not YYYY-MM-DD"
                    )))
                })?;
                let currency = Currency::parse(currency).map_err(|e| at(e.into()))?;
                if currency == base {
                    return Err(at(AppError::Unprocessable(format!(
                        "{currency} is the base currency; its rate is always 1"
                    ))));
                }
                let rate = Rate::parse(rate).map_err(|e| at(e.into()))?;
                Ok(ExchangeRate {
                    date,
                    currency,
                    rate,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // The same day and currency twice: the later one is the rate, as it would be if sent
        // in two requests (and one transaction names each stored rate once).
        let mut parsed: Vec<ExchangeRate> =
            parsed.into_iter().rev().fold(Vec::new(), |mut kept, r| {
                if !kept
                    .iter()
                    .any(|k: &ExchangeRate| k.date == r.date && k.currency == r.currency)
                {
                    kept.push(r);
                }
                kept
            });
        parsed.reverse();
        let audit = self.audit_record(
            Some(caller),
            "exchange_rates.put",
            "exchange_rates",
            base,
            None::<&()>,
            Some(&parsed),
        )?;
        self.store
            .commit(Change::one(Write::PutRates(parsed.clone()), audit).guarded(guards))
            .await?;
        Ok(parsed)
    }

    /// The newest exchange rates (finance), and the base currency they convert to.
    pub async fn rates(&self, caller: &Caller) -> Result<(Currency, Vec<ExchangeRate>)> {
        require(caller, Role::Finance)?;
        let base = self.policy_or_default().await?.base_currency;
        Ok((base, self.store.rates(MAX_RATES as u32).await?))
    }
}

impl App {
    /// The currencies an expense may be in: the base currency first, then the policy's allowed
    /// ones, or, where it allows any, each with a rate. Each comes with the days of its newest
    /// rates (at most 60, newest first; none for the base currency, which needs none), so a form
    /// can say before saving that an expense's date has no rate.
    pub async fn currency_choices(&self) -> Result<Vec<CurrencyChoice>> {
        let policy = self.policy_or_default().await?;
        let rates = self.store.rates(MAX_RATES as u32).await?;
        let days = |c: Currency| -> Vec<chrono::NaiveDate> {
            rates
                .iter()
                .filter(|r| r.currency == c)
                .map(|r| r.date)
                .take(60)
                .collect()
        };
        let mut out = vec![CurrencyChoice {
            currency: policy.base_currency,
            rate_days: vec![],
        }];
        let others: Vec<Currency> = if policy.allowed_currencies.is_empty() {
            let mut seen: Vec<Currency> = rates.iter().map(|r| r.currency).collect();
            seen.sort_by(|a, b| a.code().cmp(b.code()));
            seen.dedup();
            seen
        } else {
            policy.allowed_currencies.clone()
        };
        out.extend(
            others
                .into_iter()
                .filter(|c| *c != policy.base_currency)
                .map(|c| CurrencyChoice {
                    currency: c,
                    rate_days: days(c),
                }),
        );
        Ok(out)
    }
}

/// A currency an expense may be in, with the days it has exchange rates for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyChoice {
    /// The currency.
    pub currency: Currency,
    /// The days of its newest rates, newest first (empty for the base currency).
    pub rate_days: Vec<chrono::NaiveDate>,
}

/// A policy as a form or a client enters it: amounts, days and lists as text, each category
/// as (name, limit, severity); [`PolicyDraft::parse`] reads it in the base currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDraft {
    /// The amount above which a report needs the senior level.
    pub senior_threshold: String,
    /// From what amount a receipt is required (empty: never).
    pub receipt_required_from: String,
    /// How a missing receipt counts.
    pub receipt_severity: Severity,
    /// How old an expense may be, in days (empty: any age).
    pub max_age_days: String,
    /// `soft`, `hard`, or anything else for not checking duplicates.
    pub duplicates: String,
    /// Currency codes separated by commas or spaces (empty: any).
    pub allowed_currencies: String,
    /// The categories: name, limit (empty: none), how going over it counts, and whether
    /// their tax is reclaimable.
    pub categories: Vec<(String, String, Severity, bool)>,
    /// The company's time zone, by IANA name (empty: UTC).
    pub time_zone: String,
    /// The working weekdays (`Mon` ... `Sun`).
    pub working_days: Vec<String>,
    /// Holidays, `YYYY-MM-DD`, separated by commas, spaces or lines.
    pub holidays: String,
    /// Remind a waiting step after this many working days (empty: never).
    pub remind_after_days: String,
    /// Escalate it after this many.
    pub escalate_after_days: String,
}

impl PolicyDraft {
    /// The policy the draft says, in the base currency `base`; or what is wrong with it.
    pub fn parse(&self, base: Currency) -> std::result::Result<Policy, String> {
        let f = self;
        let money =
            |what: &str, s: &str| Money::parse(s.trim(), base).map_err(|e| format!("{what}: {e}"));
        let optional = |what: &str, s: &str| {
            if s.trim().is_empty() {
                Ok(None)
            } else {
                money(what, s).map(Some)
            }
        };
        let categories = f
            .categories
            .iter()
            .filter(|(n, _, _, _)| !n.trim().is_empty())
            .map(|(n, limit, severity, reclaimable)| {
                Ok(CategoryRule {
                    name: n.trim().to_lowercase(),
                    limit: optional(n, limit)?,
                    limit_severity: *severity,
                    tax_reclaimable: *reclaimable,
                })
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        let policy = Policy {
            // The version is the store's to set (see `replace_policy`).
            version: 0,
            base_currency: base,
            senior_threshold: money("senior threshold", &f.senior_threshold)?,
            categories,
            receipt_required_from: optional("receipt required from", &f.receipt_required_from)?,
            receipt_severity: f.receipt_severity,
            max_age_days: if f.max_age_days.trim().is_empty() {
                None
            } else {
                Some(
                    f.max_age_days
                        .trim()
                        .parse()
                        .map_err(|_| "maximum age: a whole number of days".to_owned())?,
                )
            },
            duplicates: match f.duplicates.as_str() {
                "soft" => Some(Severity::Soft),
                "hard" => Some(Severity::Hard),
                _ => None,
            },
            allowed_currencies: f
                .allowed_currencies
                .split([',', ' '])
                .filter(|c| !c.is_empty())
                .map(|c| Currency::parse(&c.to_uppercase()).map_err(|e| e.to_string()))
                .collect::<Result<_, _>>()?,
            time_zone: if f.time_zone.trim().is_empty() {
                outlay_domain::TimeZone::UTC
            } else {
                outlay_domain::TimeZone::parse(&f.time_zone).map_err(|e| e.to_string())?
            },
            calendar: outlay_domain::WorkingCalendar {
                working_days: f
                    .working_days
                    .iter()
                    .map(|d| d.parse().map_err(|_| format!("`{d}` is not a weekday")))
                    .collect::<Result<_, _>>()?,
                holidays: f
                    .holidays
                    .split([',', ' ', '\n', '\r'])
                    .filter(|d| !d.is_empty())
                    .map(|d| {
                        NaiveDate::parse_from_str(d, "%Y-%m-%d")
                            .map_err(|_| format!("holiday `{d}` is not a YYYY-MM-DD date"))
                    })
                    .collect::<Result<_, _>>()?,
            },
            reminders: match (f.remind_after_days.trim(), f.escalate_after_days.trim()) {
                ("", "") => None,
                (r, e) => Some(outlay_domain::Reminders {
                    remind_after_days: r
                        .parse()
                        .map_err(|_| "remind after: a whole number of working days".to_owned())?,
                    escalate_after_days: e
                        .parse()
                        .map_err(|_| "escalate after: a whole number of working days".to_owned())?,
                }),
            },
            org: Default::default(),
            allowances: Default::default(),
            paying_account: None,
            ledger: Default::default(),
        };
        policy.validate().map_err(|e| e.to_string())?;
        Ok(policy)
    }
}

impl App {
    /// Replaces the policy with the one a draft says, in the current base currency (finance).
    pub async fn put_policy_draft(&self, caller: &Caller, draft: &PolicyDraft) -> Result<Policy> {
        require(caller, Role::Finance)?;
        // The base currency read here is the one the change is guarded on.
        let (before, stored) = self.policy_as_stored().await?;
        let mut policy = draft
            .parse(before.base_currency)
            .map_err(AppError::BadInput)?;
        policy.keep_apart(&before);
        self.replace_policy(caller, policy, before, stored).await
    }

    /// Tries the policy a draft says ([`App::preview_policy`]) over the last `days` days.
    pub async fn preview_policy_draft(
        &self,
        caller: &Caller,
        draft: &PolicyDraft,
        days: u32,
    ) -> Result<crate::PolicyPreview> {
        require(caller, Role::Finance)?;
        let base = self.policy_or_default().await?.base_currency;
        let policy = draft.parse(base).map_err(AppError::BadInput)?;
        self.preview_policy(caller, policy, days).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> PolicyDraft {
        PolicyDraft {
            time_zone: "Europe/Berlin".into(),
            senior_threshold: " 1000.00 ".into(),
            receipt_required_from: "75".into(),
            receipt_severity: Severity::Hard,
            max_age_days: "90".into(),
            duplicates: "hard".into(),
            allowed_currencies: "usd, eur GBP".into(),
            working_days: vec!["Mon".into(), "Sat".into()],
            holidays: "2026-12-24\n2026-12-25, 2026-12-31".into(),
            remind_after_days: "2".into(),
            escalate_after_days: "5".into(),
            categories: vec![
                ("Travel ".into(), "500.00".into(), Severity::Soft, true),
                ("  ".into(), "1.00".into(), Severity::Hard, false),
                ("meals".into(), String::new(), Severity::Hard, false),
            ],
        }
    }

    #[test]
    fn a_draft_reads_as_the_policy_it_says() {
        let usd = Currency::parse("USD").expect("USD");
        let p = draft().parse(usd).expect("a policy");
        assert_eq!(
            p.senior_threshold,
            Money::parse("1000.00", usd).expect("money")
        );
        assert_eq!(
            p.receipt_required_from,
            Some(Money::parse("75", usd).expect("money"))
        );
        assert_eq!(p.max_age_days, Some(90));
        assert_eq!(p.duplicates, Some(Severity::Hard));
        assert_eq!(p.allowed_currencies.len(), 3);
        let names: Vec<&str> = p.categories.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["travel", "meals"], "blank rows are left out");
        assert_eq!(p.categories[1].limit, None);
        assert_eq!(p.calendar.holidays.len(), 3);
        assert_eq!(
            p.calendar.working_days,
            [chrono::Weekday::Mon, chrono::Weekday::Sat]
        );
        assert_eq!(p.reminders.map(|r| r.escalate_after_days), Some(5));
    }

    #[test]
    fn a_wrong_field_is_named() {
        let usd = Currency::parse("USD").expect("USD");
        let mut d = draft();
        d.senior_threshold = "lots".into();
        assert!(d.parse(usd).unwrap_err().starts_with("senior threshold"));
        let mut d = draft();
        d.max_age_days = "3.5".into();
        assert_eq!(
            d.parse(usd).unwrap_err(),
            "maximum age: a whole number of days"
        );
        let mut d = draft();
        d.allowed_currencies = "XYZ1".into();
        assert!(d.parse(usd).is_err());
    }
}
