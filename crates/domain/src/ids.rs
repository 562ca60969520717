//! Typed identifiers: a user id can never be passed where a report id is expected.

/// Declares a UUID-backed identifier type.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// Wraps a UUID (made by the application's id generator).
            pub fn from_uuid(id: uuid::Uuid) -> Self {
                Self(id)
            }

            /// Parses the textual form; anything else is refused.
            pub fn parse(s: &str) -> Result<Self, crate::ids::IdError> {
                // Only the hyphenated form ids are written in, not the braced, URN or bare forms.
                if s.len() != 36 {
                    return Err(crate::ids::IdError(stringify!($name)));
                }
                uuid::Uuid::try_parse(s)
                    .map(Self)
                    .map_err(|_| crate::ids::IdError(stringify!($name)))
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::ids::IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

/// A string that is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {0}")]
pub struct IdError(pub &'static str);

pub(crate) use id_type;

id_type!(
    /// Identifies a user.
    UserId
);
id_type!(
    /// Identifies an expense.
    ExpenseId
);
id_type!(
    /// Identifies a report.
    ReportId
);
