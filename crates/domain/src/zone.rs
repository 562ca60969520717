//! Time zones: every time is stored in UTC and shown in the reader's zone.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A zone of the IANA time zone database, named as it names it (`Europe/Berlin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZone(chrono_tz::Tz);

/// A name that is not a zone of the IANA database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a time zone of the IANA database (such as Europe/Berlin or America/New_York)"
)]
pub struct ZoneError(String);

impl TimeZone {
    /// Coordinated Universal Time.
    pub const UTC: Self = Self(chrono_tz::UTC);

    /// The zone of this name (as the database spells it, any case).
    pub fn parse(name: &str) -> Result<Self, ZoneError> {
        let name = name.trim();
        chrono_tz::Tz::from_str_insensitive(name)
            .map(Self)
            .map_err(|_| ZoneError(name.chars().take(40).collect()))
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// Every zone, by name.
    pub fn all() -> impl Iterator<Item = Self> {
        chrono_tz::TZ_VARIANTS.iter().copied().map(Self)
    }

    /// `t` on this zone's clock, as people read it: `2026-12-05 13:04 CET`.
    pub fn show(self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.0)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    /// The day it is at `t` in this zone.
    pub fn day(self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.0).date_naive()
    }
}

/// The latest calendar day anywhere at `now` (UTC+14): an expense dated today where its owner
/// is is never in the future by this day, whatever their zone.
pub fn latest_today(now: DateTime<Utc>) -> NaiveDate {
    (now + chrono::TimeDelta::hours(14)).date_naive()
}

impl Default for TimeZone {
    fn default() -> Self {
        Self::UTC
    }
}

impl std::fmt::Display for TimeZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TimeZone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::parse(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_read_their_names_and_show_local_times() {
        let berlin = TimeZone::parse("europe/berlin").expect("a zone");
        assert_eq!(berlin.name(), "Europe/Berlin");
        let t = DateTime::parse_from_rfc3339("2026-12-31T23:30:00Z")
            .expect("a time")
            .with_timezone(&Utc);
        assert_eq!(berlin.show(t), "2027-01-01 00:30 CET");
        assert_eq!(berlin.day(t).to_string(), "2027-01-01");
        assert_eq!(TimeZone::UTC.show(t), "2026-12-31 23:30 UTC");
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert!(TimeZone::all().count() > 400);
        let kiritimati = TimeZone::parse("Pacific/Kiritimati").expect("a zone");
        assert_eq!(
            latest_today(t),
            kiritimati.day(t),
            "the zone furthest ahead"
        );
        let json = serde_json::to_string(&berlin).expect("serialises");
        assert_eq!(json, "\"Europe/Berlin\"");
        assert_eq!(
            serde_json::from_str::<TimeZone>(&json).expect("reads"),
            berlin
        );
    }
}
