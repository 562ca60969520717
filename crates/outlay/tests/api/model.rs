//! Model-based test of the workflow: random sequences of commands by random demo users, run
//! against a reference model of PRODUCT.md's rules and against the real service (the router
//! over the real store), compared after every step: whether the command was accepted, and the
//! state of every report.
//!
//! The model is written from the product's rules, not from the code: the steps are the
//! owner's manager, the manager's manager above 1,000.00, then finance; only the approver of
//! the current step decides it (finance: anyone in finance); nobody decides their own report;
//! the owner submits from draft or rejected and withdraws only before any decision; finance
//! pays an approved report unless they decided a step of it in any submission.

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::json;

use crate::helpers::spawn_app;

/// The demo company: (name, roles manager/finance, manager).
const PEOPLE: [(&str, bool, bool, Option<&str>); 6] = [
    ("employee", false, false, Some("manager")),
    ("manager", true, false, Some("senior")),
    ("senior", true, false, None),
    ("finance", false, true, None),
    ("payer", false, true, None),
    ("admin", false, false, None),
];

fn manager_of(who: &str) -> Option<&'static str> {
    PEOPLE.iter().find(|p| p.0 == who).and_then(|p| p.3)
}

fn is_manager(who: &str) -> bool {
    PEOPLE.iter().any(|p| p.0 == who && p.1)
}

fn is_finance(who: &str) -> bool {
    PEOPLE.iter().any(|p| p.0 == who && p.2)
}

#[derive(Debug, Clone, Copy)]
enum Act {
    Create { owner: usize, big: bool },
    Submit,
    Withdraw,
    Approve,
    Reject,
    Pay,
}

#[derive(Debug, Clone)]
struct Step {
    approver: Option<&'static str>,
    decided: bool,
}

#[derive(Debug, Clone)]
struct ModelReport {
    owner: &'static str,
    big: bool,
    state: &'static str,
    steps: Vec<Step>,
    deciders: BTreeSet<&'static str>,
}

impl ModelReport {
    fn pending(&self) -> bool {
        self.state.starts_with("pending_")
    }

    /// The first step without a decision, while the report is pending.
    fn current(&self) -> Option<usize> {
        self.pending()
            .then(|| self.steps.iter().position(|s| !s.decided))
            .flatten()
    }

    fn state_of_step(&self, i: usize) -> &'static str {
        match (i, self.steps.len(), self.steps[i].approver) {
            (_, _, None) => "pending_finance",
            (0, _, Some(_)) => "pending_manager",
            _ => "pending_senior",
        }
    }

    /// Applies `act` by `who`; answers whether the product accepts it.
    fn apply(&mut self, act: Act, who: &'static str) -> bool {
        let owner = who == self.owner;
        match act {
            Act::Create { .. } => unreachable!("creation is not a transition"),
            Act::Submit => {
                if !owner || !matches!(self.state, "draft" | "rejected") {
                    return false;
                }
                let manager = manager_of(self.owner);
                let senior = manager.and_then(manager_of).filter(|s| Some(*s) != manager);
                self.steps = manager
                    .map(|m| Step {
                        approver: Some(m),
                        decided: false,
                    })
                    .into_iter()
                    .chain(senior.filter(|_| self.big).map(|s| Step {
                        approver: Some(s),
                        decided: false,
                    }))
                    .chain([Step {
                        approver: None,
                        decided: false,
                    }])
                    .collect();
                self.state = self.state_of_step(0);
                true
            }
            Act::Withdraw => {
                if !owner || !self.pending() || self.steps.iter().any(|s| s.decided) {
                    return false;
                }
                self.state = "draft";
                self.steps.clear();
                true
            }
            Act::Approve | Act::Reject => {
                let Some(i) = self.current() else {
                    return false;
                };
                let allowed = !owner
                    && match self.steps[i].approver {
                        Some(a) => a == who && is_manager(who),
                        None => is_finance(who),
                    };
                if !allowed {
                    return false;
                }
                self.steps[i].decided = true;
                self.deciders.insert(who);
                self.state = if matches!(act, Act::Reject) {
                    "rejected"
                } else if i + 1 < self.steps.len() {
                    self.state_of_step(i + 1)
                } else {
                    "approved"
                };
                true
            }
            Act::Pay => {
                if owner
                    || !is_finance(who)
                    || self.state != "approved"
                    || self.deciders.contains(who)
                {
                    return false;
                }
                self.state = "paid";
                true
            }
        }
    }
}

impl ModelReport {
    /// Who the product would let do `act` now (so that sequences get far), with `n` choosing
    /// between the two finance users.
    fn aimed(&self, act: Act, n: usize) -> &'static str {
        let finance = ["finance", "payer"][n % 2];
        match act {
            Act::Submit | Act::Withdraw | Act::Create { .. } => self.owner,
            Act::Approve | Act::Reject => self
                .current()
                .and_then(|i| self.steps[i].approver)
                .unwrap_or(finance),
            Act::Pay => finance,
        }
    }
}

fn command() -> impl Strategy<Value = (Act, usize, usize, bool)> {
    let act = prop_oneof![
        1 => (0..2_usize, any::<bool>()).prop_map(|(owner, big)| Act::Create { owner, big }),
        3 => Just(Act::Submit),
        1 => Just(Act::Withdraw),
        4 => Just(Act::Approve),
        1 => Just(Act::Reject),
        2 => Just(Act::Pay),
    ];
    // (command, actor, which report, whether the actor is the one the model expects)
    (act, 0..PEOPLE.len(), 0..4_usize, prop::bool::weighted(0.6))
}

async fn run(commands: Vec<(Act, usize, usize, bool)>) -> Result<(), TestCaseError> {
    let app = spawn_app().await;
    let mut model: Vec<ModelReport> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for (n, (act, actor, pick, aim)) in commands.into_iter().enumerate() {
        let mut who = PEOPLE[actor].0;
        if let Act::Create { owner, big } = act {
            let owner = ["employee", "manager"][owner];
            // Each amount once, so that no expense is a duplicate of another (a soft rule).
            let amount = format!("{}.{:02}", if big { 1500 } else { 20 }, ids.len() + 1);
            ids.push(app.report(owner, &[&amount]).await);
            model.push(ModelReport {
                owner,
                big,
                state: "draft",
                steps: vec![],
                deciders: BTreeSet::new(),
            });
            continue;
        }
        if model.is_empty() {
            continue;
        }
        let i = pick % model.len();
        if aim {
            who = model[i].aimed(act, actor);
        }
        let (action, body) = match act {
            Act::Submit => ("submit", json!({})),
            Act::Withdraw => ("withdraw", json!({})),
            Act::Approve => ("approve", json!({})),
            Act::Reject => ("reject", json!({"reason": "not this way"})),
            Act::Pay => ("pay", json!({"reference": "PAY-1"})),
            Act::Create { .. } => unreachable!(),
        };
        let expected = model[i].apply(act, who);
        let answer = app.act(who, &ids[i], action, body).await;
        // A refusal is a refusal: not allowed (403), not visible (404), not now (409) or not
        // with this content (422); never a 400 for a well-formed request, never a 5xx.
        prop_assert!(
            answer.status.is_success() || [403, 404, 409, 422].contains(&answer.status.as_u16()),
            "step {}: {} {}: {:?}",
            n,
            who,
            action,
            answer.body
        );
        prop_assert_eq!(
            answer.status.is_success(),
            expected,
            "step {}: {} {} report {} ({:?}): {:?}",
            n,
            who,
            action,
            i,
            model[i],
            answer.body
        );
        // Every report, as its owner sees it, is where the model says.
        for (m, id) in model.iter().zip(&ids) {
            let seen = app.get(m.owner, &format!("/api/v1/reports/{id}")).await;
            prop_assert_eq!(
                seen.body["state"].as_str(),
                Some(m.state),
                "after step {}: {:?}",
                n,
                m
            );
        }
    }
    let verify = app.get("admin", "/api/v1/audit/verify").await;
    prop_assert_eq!(&verify.body["ok"], &json!(true), "{:?}", verify.body);
    Ok(())
}

#[test]
fn the_service_follows_the_reference_model_for_any_sequence_of_commands() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let cases = if crate::helpers::on_aws() { 8 } else { 24 };
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(commands in prop::collection::vec(command(), 4..28))| {
        runtime.block_on(run(commands))?;
    });
}
