//! Audit events and their hash chain: `h_i = SHA-256(h_{i-1} || canonical(event_i))`.
//!
//! The canonical form is the JSON of [`Canonical`], whose field order is fixed by its
//! declaration; `before` and `after` are hashed as the exact JSON text that is stored, so no
//! map ordering or float formatting can make a stored event hash differently later.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before it is given its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Who; `None` for the system (seeding, the command line).
    pub actor_id: Option<String>,
    /// What, as `entity.verb` (`report.submit`, `user.create`).
    pub action: String,
    /// The kind of the changed entity (`report`, `expense`, `user`, `policy`).
    pub entity_kind: String,
    /// Its id.
    pub entity_id: String,
    /// From where: the client address, or `cli`.
    pub source: Option<String>,
    /// The entity before, as JSON text.
    pub before: Option<String>,
    /// The entity after, as JSON text.
    pub after: Option<String>,
}

/// An event in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Its position, from 1.
    pub seq: i64,
    /// The event.
    #[serde(flatten)]
    pub record: AuditRecord,
    /// The hash of the event before it (or [`GENESIS_HASH`]).
    pub prev_hash: String,
    /// This event's hash.
    pub hash: String,
}

/// The canonical encoding that is hashed.
#[derive(Serialize)]
struct Canonical<'a> {
    v: u8,
    seq: i64,
    at: String,
    actor_id: Option<&'a str>,
    action: &'a str,
    entity_kind: &'a str,
    entity_id: &'a str,
    source: Option<&'a str>,
    before: Option<&'a str>,
    after: Option<&'a str>,
}

/// Formats an audit timestamp the one way it is hashed and stored (microseconds, `Z`).
pub fn format_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The hash of the event at `seq` after `prev_hash`.
pub fn chain_hash(prev_hash: &str, seq: i64, record: &AuditRecord) -> String {
    let canonical = Canonical {
        v: 1,
        seq,
        at: format_time(record.at),
        actor_id: record.actor_id.as_deref(),
        action: &record.action,
        entity_kind: &record.entity_kind,
        entity_id: &record.entity_id,
        source: record.source.as_deref(),
        before: record.before.as_deref(),
        after: record.after.as_deref(),
    };
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    // Serialising a struct of strings and integers cannot fail.
    hasher.update(serde_json::to_vec(&canonical).expect("canonical audit JSON"));
    hex::encode(hasher.finalize())
}

/// Seals `record` as the event after `prev` (or the first one).
pub fn seal(prev: Option<(&str, i64)>, record: AuditRecord) -> AuditEvent {
    let (prev_hash, seq) = prev.map_or((GENESIS_HASH, 1), |(h, s)| (h, s + 1));
    let hash = chain_hash(prev_hash, seq, &record);
    AuditEvent {
        seq,
        record,
        prev_hash: prev_hash.to_owned(),
        hash,
    }
}

/// The first event that does not verify, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenEvent {
    /// The event's position.
    pub seq: i64,
    /// What is wrong with it.
    pub reason: String,
}

/// Walks the chain in order, event by event, so it can be fed page by page.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    prev_hash: String,
    next_seq: i64,
    checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            prev_hash: GENESIS_HASH.to_owned(),
            next_seq: 1,
            checked: 0,
        }
    }
}

impl ChainVerifier {
    /// Continues a chain whose event `seq` is known to have `hash`.
    pub fn after(seq: i64, hash: &str) -> Self {
        Self {
            prev_hash: hash.to_owned(),
            next_seq: seq + 1,
            checked: 0,
        }
    }

    /// Checks the next event.
    pub fn push(&mut self, event: &AuditEvent) -> Result<(), BrokenEvent> {
        let broken = |reason: &str| BrokenEvent {
            seq: event.seq,
            reason: reason.to_owned(),
        };
        if event.seq != self.next_seq {
            return Err(BrokenEvent {
                seq: self.next_seq,
                reason: format!("event {} is missing (found {})", self.next_seq, event.seq),
            });
        }
        if event.prev_hash != self.prev_hash {
            return Err(broken("prev_hash does not match the event before it"));
        }
        if chain_hash(&event.prev_hash, event.seq, &event.record) != event.hash {
            return Err(broken("hash does not match the event's content"));
        }
        self.prev_hash.clone_from(&event.hash);
        self.next_seq += 1;
        self.checked += 1;
        Ok(())
    }

    /// How many events verified so far.
    pub fn checked(&self) -> u64 {
        self.checked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(action: &str) -> AuditRecord {
        AuditRecord {
            at: DateTime::from_timestamp(1_700_000_000, 123_456_789).expect("valid time"),
            actor_id: Some("u1".into()),
            action: action.into(),
            entity_kind: "report".into(),
            entity_id: "r1".into(),
            source: Some("127.0.0.1".into()),
            before: None,
            after: Some(r#"{"state":"draft"}"#.into()),
        }
    }

    fn chain(n: usize) -> Vec<AuditEvent> {
        let mut events: Vec<AuditEvent> = Vec::new();
        for i in 0..n {
            let prev = events.last().map(|e| (e.hash.as_str(), e.seq));
            let e = seal(prev, record(&format!("report.step{i}")));
            events.push(e);
        }
        events
    }

    fn verify(events: &[AuditEvent]) -> Result<u64, BrokenEvent> {
        let mut v = ChainVerifier::default();
        for e in events {
            v.push(e)?;
        }
        Ok(v.checked())
    }

    #[test]
    fn an_honest_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
    }

    #[test]
    fn an_edited_event_is_named() {
        let mut events = chain(5);
        events[2].record.after = Some(r#"{"state":"paid"}"#.into());
        assert_eq!(verify(&events).map_err(|b| b.seq), Err(3));
    }

    #[test]
    fn a_deleted_event_is_named() {
        let mut events = chain(5);
        events.remove(1);
        assert_eq!(verify(&events).map_err(|b| b.seq), Err(2));
    }

    #[test]
    fn a_rehashed_event_breaks_the_next_link() {
        let mut events = chain(4);
        events[1].record.action = "report.forged".into();
        events[1].hash = chain_hash(&events[1].prev_hash, 2, &events[1].record);
        assert_eq!(verify(&events).map_err(|b| b.seq), Err(3));
    }
}
