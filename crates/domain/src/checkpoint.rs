//! Checkpoints: the audit chain's head (seq and hash), signed with a key the database does not
//! hold and kept in a log the application cannot rewrite. A chain that verifies on its own can
//! still have been cut short or rewritten and re-hashed by whoever holds the database; the
//! checkpoints taken before the attack say so.
//!
//! Signatures are ECDSA over P-256 with SHA-256, DER-encoded, so the same checkpoints verify
//! whether a key file signed them or AWS KMS (`ECC_NIST_P256`, `ECDSA_SHA_256`) did. The public
//! key is a DER `SubjectPublicKeyInfo`, as KMS `GetPublicKey` returns it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{AuditEvent, BrokenEvent, ChainVerifier, format_time};

/// A signed statement: "the chain's event `seq` had hash `hash` at time `at`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The head's position.
    pub seq: i64,
    /// The head's hash.
    pub hash: String,
    /// When it was signed.
    pub at: DateTime<Utc>,
    /// The signing key's fingerprint ([`key_fingerprint`]).
    pub key: String,
    /// The signature over [`Checkpoint::message`], DER, base64.
    pub signature: String,
}

impl Checkpoint {
    /// The exact bytes that are signed.
    pub fn message(seq: i64, hash: &str, at: DateTime<Utc>) -> Vec<u8> {
        format!(
            "outlay-audit-checkpoint/1\nseq={seq}\nhash={hash}\nat={}",
            format_time(at)
        )
        .into_bytes()
    }

    /// A checkpoint from a signature over [`Checkpoint::message`].
    pub fn signed(seq: i64, hash: &str, at: DateTime<Utc>, key: String, der: &[u8]) -> Self {
        Self {
            seq,
            hash: hash.to_owned(),
            at,
            key,
            signature: BASE64.encode(der),
        }
    }
}

/// The SHA-256 of a DER public key, hex: how a key is named in checkpoints and bundles.
pub fn key_fingerprint(public_key_der: &[u8]) -> String {
    hex::encode(Sha256::digest(public_key_der))
}

/// A public key that checkpoints are checked against.
#[derive(Debug, Clone)]
pub struct CheckpointKey {
    key: VerifyingKey,
    fingerprint: String,
}

impl CheckpointKey {
    /// Parses a DER `SubjectPublicKeyInfo` of a P-256 key.
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let key = VerifyingKey::from_public_key_der(der)
            .map_err(|e| format!("not a P-256 public key: {e}"))?;
        Ok(Self {
            key,
            fingerprint: key_fingerprint(der),
        })
    }

    /// The key's fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether this key signed `cp`, exactly as it reads.
    pub fn signed(&self, cp: &Checkpoint) -> bool {
        let Ok(der) = BASE64.decode(&cp.signature) else {
            return false;
        };
        let Ok(signature) = Signature::from_der(&der) else {
            return false;
        };
        cp.key == self.fingerprint
            && self
                .key
                .verify(&Checkpoint::message(cp.seq, &cp.hash, cp.at), &signature)
                .is_ok()
    }

    /// The checkpoints this key signed, in log order, and a note naming each one it did not
    /// (numbered from 1 in log order). A checkpoint without the key's signature proves nothing,
    /// so it is set aside and reported: refusing the whole chain over it would let anyone who can
    /// write to the log (which keeps everything for years) stop every verification.
    pub fn sort_out(&self, checkpoints: Vec<Checkpoint>) -> (Vec<Checkpoint>, Vec<String>) {
        let mut signed = Vec::with_capacity(checkpoints.len());
        let mut set_aside = Vec::new();
        for (i, cp) in checkpoints.into_iter().enumerate() {
            if self.signed(&cp) {
                signed.push(cp);
            } else {
                set_aside.push(format!(
                    "checkpoint {} (seq {}) is not signed by the audit key {}",
                    i + 1,
                    cp.seq,
                    self.fingerprint
                ));
            }
        }
        (signed, set_aside)
    }
}

/// Walks the chain like [`ChainVerifier`] and also holds it to every checkpoint: the event at
/// each checkpoint's seq must have the checkpoint's hash, and the chain must reach the last
/// checkpoint. Checkpoints are numbered from 1 in the order the log gave them.
#[derive(Debug)]
pub struct AnchoredVerifier {
    chain: ChainVerifier,
    /// (number, checkpoint), by seq.
    pending: Vec<(usize, Checkpoint)>,
    next: usize,
    checkpoints: u64,
    last: Option<(i64, String)>,
}

impl AnchoredVerifier {
    /// Starts at the first event. Every checkpoint must carry `key`'s signature.
    pub fn new(key: &CheckpointKey, checkpoints: &[Checkpoint]) -> Result<Self, BrokenEvent> {
        let mut pending = Vec::with_capacity(checkpoints.len());
        for (i, cp) in checkpoints.iter().enumerate() {
            if !key.signed(cp) {
                return Err(BrokenEvent {
                    seq: cp.seq,
                    reason: format!(
                        "checkpoint {} (seq {}) is not signed by the audit key {}",
                        i + 1,
                        cp.seq,
                        key.fingerprint()
                    ),
                });
            }
            pending.push((i + 1, cp.clone()));
        }
        pending.sort_by_key(|(n, cp)| (cp.seq, *n));
        Ok(Self {
            chain: ChainVerifier::default(),
            pending,
            next: 0,
            checkpoints: 0,
            last: None,
        })
    }

    /// Continues after a checkpoint already held (signature and event): for the periodic
    /// checkpoint, which needs only the events since the last one to extend it.
    pub fn after(key: &CheckpointKey, cp: &Checkpoint) -> Result<Self, BrokenEvent> {
        let mut v = Self::new(key, std::slice::from_ref(cp))?;
        v.pending.clear();
        v.chain = ChainVerifier::after(cp.seq, &cp.hash);
        v.last = Some((cp.seq, cp.hash.clone()));
        Ok(v)
    }

    /// Checks the next event.
    pub fn push(&mut self, event: &AuditEvent) -> Result<(), BrokenEvent> {
        self.chain.push(event)?;
        let mut after = None;
        while let Some((n, cp)) = self.pending.get(self.next) {
            if cp.seq > event.seq {
                break;
            }
            if cp.hash != event.hash {
                let since = after.or(self.last_checkpointed_seq()).unwrap_or(0) + 1;
                return Err(BrokenEvent {
                    seq: event.seq,
                    reason: format!(
                        "event {} differs from checkpoint {n}: the chain was rewritten at or \
                         after event {since}",
                        event.seq
                    ),
                });
            }
            after = Some(cp.seq);
            self.next += 1;
            self.checkpoints += 1;
        }
        self.last = Some((event.seq, event.hash.clone()));
        Ok(())
    }

    fn last_checkpointed_seq(&self) -> Option<i64> {
        self.next
            .checked_sub(1)
            .and_then(|i| self.pending.get(i))
            .map(|(_, cp)| cp.seq)
    }

    /// Ends the walk: no checkpoint may lie beyond the chain's end, and where the store keeps
    /// a head of its own (`head`: seq and hash), the chain must end there.
    pub fn finish(self, head: Option<(i64, String)>) -> Result<Verified, BrokenEvent> {
        let end = self.last.as_ref().map_or(0, |(seq, _)| *seq);
        if let Some((n, cp)) = self.pending[self.next..]
            .iter()
            .max_by_key(|(_, cp)| cp.seq)
        {
            return Err(BrokenEvent {
                seq: end + 1,
                reason: format!(
                    "checkpoint {n} at seq {}, chain ends at {end}: events were removed",
                    cp.seq
                ),
            });
        }
        if let Some((seq, hash)) = head
            && self.last.as_ref() != Some(&(seq, hash))
        {
            return Err(BrokenEvent {
                seq: end + 1,
                reason: format!(
                    "the store's chain head is at seq {seq}, chain ends at {end}: the head \
                     and the events disagree"
                ),
            });
        }
        Ok(Verified {
            events: self.chain.checked(),
            checkpoints: self.checkpoints,
            head: self.last,
        })
    }

    /// How many events verified so far.
    pub fn checked(&self) -> u64 {
        self.chain.checked()
    }
}

/// What an anchored walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// How many events verified.
    pub events: u64,
    /// How many checkpoints held.
    pub checkpoints: u64,
    /// The last event's seq and hash, if there is one.
    pub head: Option<(i64, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditRecord, seal};
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::EncodePublicKey;

    fn key() -> (SigningKey, CheckpointKey) {
        let sk = SigningKey::from_slice(&[7; 32]).expect("a valid scalar");
        let der = sk
            .verifying_key()
            .to_public_key_der()
            .expect("encodes")
            .into_vec();
        (sk, CheckpointKey::from_der(&der).expect("parses"))
    }

    fn chain(n: usize) -> Vec<AuditEvent> {
        let mut events: Vec<AuditEvent> = Vec::new();
        for i in 0..n {
            let prev = events.last().map(|e| (e.hash.as_str(), e.seq));
            events.push(seal(
                prev,
                AuditRecord {
                    at: DateTime::from_timestamp(1_700_000_000 + i as i64, 0).expect("a time"),
                    actor_id: None,
                    action: format!("report.step{i}"),
                    entity_kind: "report".into(),
                    entity_id: "r1".into(),
                    source: None,
                    before: None,
                    after: None,
                },
            ));
        }
        events
    }

    fn checkpoint(sk: &SigningKey, key: &CheckpointKey, e: &AuditEvent) -> Checkpoint {
        let at = DateTime::from_timestamp(1_800_000_000, 0).expect("a time");
        let sig: Signature = sk.sign(&Checkpoint::message(e.seq, &e.hash, at));
        Checkpoint::signed(
            e.seq,
            &e.hash,
            at,
            key.fingerprint().to_owned(),
            sig.to_der().as_bytes(),
        )
    }

    fn walk(
        key: &CheckpointKey,
        cps: &[Checkpoint],
        events: &[AuditEvent],
    ) -> Result<Verified, BrokenEvent> {
        let mut v = AnchoredVerifier::new(key, cps)?;
        for e in events {
            v.push(e)?;
        }
        v.finish(None)
    }

    #[test]
    fn a_chain_that_reaches_its_checkpoints_verifies() {
        let (sk, key) = key();
        let events = chain(10);
        let cps = [
            checkpoint(&sk, &key, &events[3]),
            checkpoint(&sk, &key, &events[9]),
        ];
        let v = walk(&key, &cps, &events).expect("verifies");
        assert_eq!((v.events, v.checkpoints), (10, 2));
    }

    #[test]
    fn truncation_is_named_with_the_checkpoint_and_the_chain_end() {
        let (sk, key) = key();
        let events = chain(10);
        let cps = [
            checkpoint(&sk, &key, &events[3]),
            checkpoint(&sk, &key, &events[9]),
        ];
        let broken = walk(&key, &cps, &events[..7]).expect_err("cut short");
        assert_eq!(
            broken.reason,
            "checkpoint 2 at seq 10, chain ends at 7: events were removed"
        );
    }

    #[test]
    fn a_rewritten_and_rehashed_chain_differs_from_the_checkpoint() {
        let (sk, key) = key();
        let honest = chain(10);
        let cps = [
            checkpoint(&sk, &key, &honest[2]),
            checkpoint(&sk, &key, &honest[7]),
        ];
        // Event 5 edited and every event after it re-hashed: the chain holds together alone.
        let mut forged = honest[..4].to_vec();
        for e in &honest[4..] {
            let prev = forged.last().map(|p| (p.hash.as_str(), p.seq));
            let mut r = e.record.clone();
            if e.seq == 5 {
                r.after = Some("{\"forged\":true}".into());
            }
            forged.push(seal(prev, r));
        }
        let broken = walk(&key, &cps, &forged).expect_err("rewritten");
        assert_eq!(broken.seq, 8);
        assert_eq!(
            broken.reason,
            "event 8 differs from checkpoint 2: the chain was rewritten at or after event 4"
        );
    }

    #[test]
    fn a_checkpoint_without_the_key_s_signature_is_refused() {
        let (sk, key) = key();
        let events = chain(3);
        let mut cp = checkpoint(&sk, &key, &events[2]);
        cp.seq = 2;
        let broken = walk(&key, &[cp], &events).expect_err("forged");
        assert!(broken.reason.contains("not signed"), "{}", broken.reason);
        let other = SigningKey::from_slice(&[9; 32]).expect("a scalar");
        let cp = checkpoint(&other, &key, &events[2]);
        assert!(
            walk(&key, &[cp], &events).is_err(),
            "another key's signature"
        );
    }

    #[test]
    fn checkpoints_the_key_did_not_sign_are_set_aside_and_named() {
        // GIVEN a log with a good checkpoint between a forged one and another key's
        let (sk, key) = key();
        let events = chain(3);
        let mut forged = checkpoint(&sk, &key, &events[2]);
        forged.seq = 2;
        let good = checkpoint(&sk, &key, &events[2]);
        let other = SigningKey::from_slice(&[9; 32]).expect("a scalar");
        let foreign = checkpoint(&other, &key, &events[1]);
        // WHEN they are sorted out
        let (signed, set_aside) = key.sort_out(vec![forged, good.clone(), foreign]);
        // THEN only the good one is kept, the chain verifies against it, and both others are named
        assert_eq!(signed, vec![good]);
        assert_eq!(set_aside.len(), 2, "{set_aside:?}");
        assert!(set_aside[0].starts_with("checkpoint 1 (seq 2) is not signed"));
        assert!(set_aside[1].starts_with("checkpoint 3 (seq 2) is not signed"));
        assert!(walk(&key, &signed, &events).is_ok());
    }

    #[test]
    fn a_later_checkpoint_cannot_hide_an_earlier_cut() {
        let (sk, key) = key();
        let honest = chain(10);
        let early = checkpoint(&sk, &key, &honest[8]);
        // The tail is cut after event 6 and new events are chained on; the attacker's (or the
        // next periodic) checkpoint signs the new head.
        let mut forged = honest[..6].to_vec();
        for i in 0..6 {
            let prev = forged.last().map(|p| (p.hash.as_str(), p.seq));
            let mut r = honest[0].record.clone();
            r.action = format!("forged{i}");
            forged.push(seal(prev, r));
        }
        let late = checkpoint(&sk, &key, &forged[11]);
        let broken = walk(&key, &[early, late], &forged).expect_err("still caught");
        assert_eq!(broken.seq, 9);
        assert!(
            broken
                .reason
                .starts_with("event 9 differs from checkpoint 1")
        );
    }

    #[test]
    fn the_store_s_head_must_be_the_chain_s_end() {
        let (_, key) = key();
        let events = chain(4);
        let mut v = AnchoredVerifier::new(&key, &[]).expect("no checkpoints");
        for e in &events[..3] {
            v.push(e).expect("honest");
        }
        let broken = v
            .finish(Some((4, events[3].hash.clone())))
            .expect_err("the head is ahead");
        assert!(broken.reason.contains("head is at seq 4, chain ends at 3"));
    }

    #[test]
    fn after_a_checkpoint_only_new_events_that_extend_it_verify() {
        let (sk, key) = key();
        let events = chain(6);
        let cp = checkpoint(&sk, &key, &events[2]);
        let mut v = AnchoredVerifier::after(&key, &cp).expect("signed");
        for e in &events[3..] {
            v.push(e).expect("extends");
        }
        assert_eq!(v.finish(None).expect("ok").head.map(|h| h.0), Some(6));
        let other = chain(6);
        let mut v =
            AnchoredVerifier::after(&key, &checkpoint(&sk, &key, &events[2])).expect("signed");
        let mut foreign = other[4].clone();
        foreign.prev_hash = "ff".repeat(32);
        foreign.seq = 4;
        assert!(v.push(&foreign).is_err(), "not chained onto the checkpoint");
    }
}
