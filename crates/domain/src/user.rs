//! Users, their roles and their place in the reporting line.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::UserId;

/// What a user may do. A user can hold several roles; everyone is at least an employee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Creates expenses and reports.
    Employee,
    /// Decides the reports of the people who report to them.
    Manager,
    /// Final approval, payment, policy and rates.
    Finance,
    /// Users, roles, the reporting line and audit verification.
    Admin,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 4] = [Role::Employee, Role::Manager, Role::Finance, Role::Admin];

    /// The lower-case name used on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Employee => "employee",
            Role::Manager => "manager",
            Role::Finance => "finance",
            Role::Admin => "admin",
        }
    }

    /// Parses a lower-case role name.
    pub fn parse(s: &str) -> Result<Self, UserError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UserError::UnknownRole(s.chars().take(20).collect()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why user data was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// Not a usable email address.
    #[error("`{0}` is not a valid email address")]
    InvalidEmail(String),
    /// An empty or over-long name.
    #[error("name must be 1 to 200 characters")]
    InvalidName,
    /// A role name that does not exist.
    #[error("unknown role `{0}`: use employee, manager, finance or admin")]
    UnknownRole(String),
    /// A password that is too weak or too long.
    #[error("password must be 12 to 256 characters")]
    WeakPassword,
    /// A manager assignment that would make a loop in the reporting line.
    #[error("a user cannot report to themselves, directly or through others")]
    ReportingLoop,
}

/// A normalised (trimmed, lower-case) email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses and normalises an address: one `@`, non-empty parts, a dot in the domain.
    pub fn parse(s: &str) -> Result<Self, UserError> {
        let e = s.trim().to_lowercase();
        let invalid = || UserError::InvalidEmail(s.chars().take(80).collect());
        let (local, domain) = e.split_once('@').ok_or_else(invalid)?;
        // At most 254 characters as sent; a domain of two or more non-empty labels.
        let ok = !local.is_empty()
            && domain.split('.').count() >= 2
            && domain.split('.').all(|label| !label.is_empty())
            && !domain.contains('@')
            && s.chars().count() <= 254
            && !e.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok { Ok(Self(e)) } else { Err(invalid()) }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = UserError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> Self {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a display name: trimmed, 1 to 200 characters, no control characters.
pub fn parse_name(s: &str) -> Result<String, UserError> {
    let name = s.trim();
    if name.is_empty() || s.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(UserError::InvalidName);
    }
    Ok(name.to_owned())
}

/// Checks a new password's length (NIST 800-63B: length over composition rules).
pub fn check_password(p: &str) -> Result<(), UserError> {
    let n = p.chars().count();
    if (12..=256).contains(&n) {
        Ok(())
    } else {
        Err(UserError::WeakPassword)
    }
}

/// A person who uses Outlay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The login and notification address.
    pub email: Email,
    /// The display name.
    pub name: String,
    /// The roles held; always contains [`Role::Employee`].
    pub roles: BTreeSet<Role>,
    /// Whom this user reports to.
    pub manager_id: Option<UserId>,
    /// Whether the user may sign in and act.
    pub active: bool,
    /// Bumped on every change, for optimistic concurrency.
    pub version: i64,
    /// Who has had power over this account: everyone who created it, granted or took its
    /// roles, changed its manager or set its password (and, transitively, whoever had that
    /// power over them). See [`User::independent_of`].
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub controllers: BTreeSet<UserId>,
    /// When the user last signed out: sessions that started before then are over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_out_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The zone the user reads times in; `None`: the company's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<crate::TimeZone>,
    /// Who decides the user's approval steps while they are away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation: Option<crate::Delegation>,
    /// The cost centre the user's expenses are charged to unless split (its code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_cost_centre: Option<String>,
}

impl User {
    /// Whether the user holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Records that `admin` created this account, changed its roles or manager, or set its
    /// password: from now on `admin`, and everyone who controls `admin`, controls it.
    ///
    /// The relation is never cleared by the account itself. An admin who created an account
    /// (with an address the admin may own) or set its password knows how to sign in as it, and
    /// could "set its own password" too; only an act that the controller cannot fake could
    /// clear it, so nothing in Outlay does.
    pub fn controlled_by(&mut self, admin: &User) {
        self.controllers.extend(
            std::iter::once(admin.id)
                .chain(admin.controllers.iter().copied())
                .filter(|c| *c != self.id),
        );
    }

    /// Segregation of duties between two accounts: neither has had power over the other, so
    /// neither could be acting as the other's puppet. Nobody decides or pays a report of
    /// someone they are not independent of.
    pub fn independent_of(&self, other: &User) -> bool {
        self.id != other.id
            && !self.controllers.contains(&other.id)
            && !other.controllers.contains(&self.id)
    }
}

/// Normalises a set of roles: every user is an employee.
pub fn normalise_roles(roles: impl IntoIterator<Item = Role>) -> BTreeSet<Role> {
    let mut set: BTreeSet<Role> = roles.into_iter().collect();
    set.insert(Role::Employee);
    set
}

/// Checks that making `manager` the manager of `user` keeps the reporting line loop-free.
///
/// `manager_of` answers the current manager of any user.
pub fn check_reporting_line(
    user: UserId,
    manager: Option<UserId>,
    manager_of: impl Fn(UserId) -> Option<UserId>,
) -> Result<(), UserError> {
    let mut next = manager;
    // A chain longer than this is either a loop or a data error; both are refused.
    for _ in 0..1000 {
        match next {
            None => return Ok(()),
            Some(m) if m == user => return Err(UserError::ReportingLoop),
            Some(m) => next = manager_of(m),
        }
    }
    Err(UserError::ReportingLoop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ann@Example.COM ").map(|e| e.0),
            Ok("ann@example.com".to_owned())
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@example",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn reporting_loops_are_refused() {
        let a = UserId::from_uuid(uuid::Uuid::from_u128(1));
        let b = UserId::from_uuid(uuid::Uuid::from_u128(2));
        let c = UserId::from_uuid(uuid::Uuid::from_u128(3));
        // GIVEN b reports to c, and c to a
        let line = |u: UserId| match u {
            x if x == b => Some(c),
            x if x == c => Some(a),
            _ => None,
        };
        // WHEN a is made to report to b THEN the loop is refused
        assert_eq!(
            check_reporting_line(a, Some(b), line),
            Err(UserError::ReportingLoop)
        );
        assert_eq!(
            check_reporting_line(a, Some(a), line),
            Err(UserError::ReportingLoop)
        );
        assert_eq!(check_reporting_line(c, None, line), Ok(()));
        assert_eq!(check_reporting_line(b, Some(a), |_| None), Ok(()));
    }
}
