//! Finance's settings: the expense policy and exchange rates.

use chrono::NaiveDate;
use outlay_domain::{Currency, ExchangeRate, Policy, Rate, Role};

use crate::{App, AppError, Caller, Change, Guard, Result, Write, require};

/// The most rates one request may set.
const MAX_RATES: usize = 1000;

impl App {
    /// The policy; everyone may read it (the categories are needed to file expenses).
    pub async fn policy(&self, _caller: &Caller) -> Result<Policy> {
        self.policy_or_default().await
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

    /// Replaces the policy (finance).
    pub async fn put_policy(&self, caller: &Caller, policy: Policy) -> Result<Policy> {
        require(caller, Role::Finance)?;
        policy.validate()?;
        let (before, stored) = self.policy_as_stored().await?;
        if stored.as_ref() == Some(&policy) {
            // Nothing changes, so nothing is written.
            return Ok(policy);
        }
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
