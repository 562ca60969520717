//! Verifying the audit hash chain against its signed checkpoints, and taking checkpoints.
//!
//! The chain alone proves that no event was edited without re-hashing the rest. The
//! checkpoints (the head, signed by a key the database does not hold, in a log the application
//! cannot rewrite) prove that nothing was cut from the end and nothing re-hashed: verify holds
//! the chain to every checkpoint ever taken, so a checkpoint taken after an attack hides nothing.

use anyhow::Context;
use outlay_domain::checkpoint::Verified;
use outlay_domain::{AnchoredVerifier, AuditEvent, BrokenEvent, Checkpoint, CheckpointKey, Role};
use serde::{Deserialize, Serialize};

use crate::{App, Caller, Result, require};

/// The result of a chain verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Whether every event verified and the chain holds to every checkpoint.
    pub ok: bool,
    /// How many events verified before the first bad one (all of them when `ok`).
    pub events: u64,
    /// How many checkpoints the chain was held to.
    pub checkpoints: u64,
    /// The fingerprint of the key the checkpoints are signed with.
    pub key: String,
    /// The checkpoint this verification took of the head, if the head was new.
    pub signed: Option<Checkpoint>,
    /// The first bad event.
    pub broken: Option<BrokenEvent>,
    /// Entries of the checkpoint log that were set aside: not checkpoints at all, or not
    /// signed by the key. They prove nothing either way, but someone wrote them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set_aside: Vec<String>,
}

impl Verification {
    /// Nothing verified yet, against `key`.
    fn against(key: &CheckpointKey) -> Self {
        Self {
            ok: false,
            events: 0,
            checkpoints: 0,
            key: key.fingerprint().to_owned(),
            signed: None,
            broken: None,
            set_aside: Vec::new(),
        }
    }
}

const PAGE: u32 = 1000;

/// One line of an audit bundle: `outlay audit export` writes them, `verify --bundle` reads them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BundleLine {
    /// The first line: the format and the public key (DER, base64) the checkpoints verify with.
    Header {
        /// `outlay-audit-bundle/1`.
        format: String,
        /// The public key, a DER `SubjectPublicKeyInfo`, base64.
        public_key: String,
        /// Its fingerprint, to compare with one known out of band.
        key: String,
    },
    /// A checkpoint, in log order; all of them come before the events.
    Checkpoint(Checkpoint),
    /// An event, in chain order.
    Event(AuditEvent),
}

/// The bundle format this build writes and reads.
pub const BUNDLE_FORMAT: &str = "outlay-audit-bundle/1";

impl App {
    /// Recomputes the whole chain, holds it to every checkpoint, and signs the head if it is
    /// new (admin). `caller: None` is the trusted command line.
    pub async fn verify_audit(&self, caller: Option<&Caller>) -> Result<Verification> {
        if let Some(c) = caller {
            require(c, Role::Admin)?;
        }
        let key = self.checkpoint_key().await?;
        let (checkpoints, set_aside) = self.trusted_checkpoints(&key).await?;
        let walked = self.walk(&key, &checkpoints, None).await?;
        self.conclude(&key, &checkpoints, set_aside, walked).await
    }

    /// The periodic checkpoint: checks only the events since the last checkpoint and signs the
    /// new head if they extend it. Anything else falls back to the full verification, which
    /// names the problem (and signs nothing).
    pub async fn checkpoint_audit(&self) -> Result<Verification> {
        let key = self.checkpoint_key().await?;
        let (checkpoints, set_aside) = self.trusted_checkpoints(&key).await?;
        let walked = match checkpoints.iter().max_by_key(|cp| cp.seq) {
            Some(last) => match self.walk(&key, &checkpoints, Some(last)).await? {
                Ok(v) => Ok(v),
                Err(_) => self.walk(&key, &checkpoints, None).await?,
            },
            None => self.walk(&key, &checkpoints, None).await?,
        };
        self.conclude(&key, &checkpoints, set_aside, walked).await
    }

    /// Writes the audit bundle: a header with the public key, every checkpoint, then every
    /// event, one JSON line each. The head is checkpointed first if the chain verifies.
    pub async fn export_audit(
        &self,
        out: &mut (dyn std::io::Write + Send),
    ) -> Result<Verification> {
        // One read of the log (on S3, a GET per version): the checkpoints verified against are
        // the ones exported, with the one this verification signed.
        let key = self.checkpoint_key().await?;
        let (mut checkpoints, set_aside) = self.trusted_checkpoints(&key).await?;
        let walked = self.walk(&key, &checkpoints, None).await?;
        let verification = self.conclude(&key, &checkpoints, set_aside, walked).await?;
        checkpoints.extend(verification.signed.clone());
        let der = self.anchor.signer.public_key().await?;
        let mut line = |l: &BundleLine| -> Result<()> {
            serde_json::to_writer(&mut *out, l).context("Failed to write the bundle")?;
            out.write_all(b"\n").context("Failed to write the bundle")?;
            Ok(())
        };
        line(&BundleLine::Header {
            format: BUNDLE_FORMAT.to_owned(),
            public_key: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &der),
            key: outlay_domain::checkpoint::key_fingerprint(&der),
        })?;
        for cp in checkpoints {
            line(&BundleLine::Checkpoint(cp))?;
        }
        self.each_event(0, i64::MAX, |e| line(&BundleLine::Event(e.clone())))
            .await??;
        Ok(verification)
    }

    pub(crate) async fn checkpoint_key(&self) -> Result<CheckpointKey> {
        let der = self.anchor.signer.public_key().await?;
        Ok(CheckpointKey::from_der(&der).map_err(anyhow::Error::msg)?)
    }

    /// The log's checkpoints that `key` signed, and a note for every entry set aside.
    async fn trusted_checkpoints(
        &self,
        key: &CheckpointKey,
    ) -> Result<(Vec<Checkpoint>, Vec<String>)> {
        let entries = self.anchor.log.checkpoints().await?;
        let (signed, unsigned) = key.sort_out(entries.checkpoints);
        let set_aside: Vec<String> = entries.unreadable.into_iter().chain(unsigned).collect();
        for note in &set_aside {
            tracing::warn!(entry = %note, "an audit checkpoint log entry was set aside");
        }
        metrics::gauge!("outlay_audit_checkpoints_set_aside").set(set_aside.len() as f64);
        Ok((signed, set_aside))
    }

    /// Walks the chain from the start, or from `from` (a checkpoint already held), to the end.
    async fn walk(
        &self,
        key: &CheckpointKey,
        checkpoints: &[Checkpoint],
        from: Option<&Checkpoint>,
    ) -> Result<Result<Verified, (u64, BrokenEvent)>> {
        let started = match from {
            Some(cp) => AnchoredVerifier::after(key, cp),
            None => AnchoredVerifier::new(key, checkpoints),
        };
        let mut verifier = match started {
            Ok(v) => v,
            Err(broken) => return Ok(Err((0, broken))),
        };
        // From a checkpoint: its event must still be there, with its hash, or the chain was cut
        // or rewritten at or before it.
        if let Some(cp) = from {
            let at = self.store.audit_page(cp.seq - 1, 1).await?;
            if !at
                .first()
                .is_some_and(|e| e.seq == cp.seq && e.hash == cp.hash)
            {
                return Ok(Err((
                    0,
                    BrokenEvent {
                        seq: cp.seq,
                        reason: format!("event {} differs from its checkpoint", cp.seq),
                    },
                )));
            }
        }
        // The store's head first (after the checkpoints, which it must reach), then the events
        // up to it: events appended during the walk are left for the next verification.
        let head = self.store.audit_head().await?;
        let end = head.as_ref().map_or(i64::MAX, |(seq, _)| *seq);
        let start = from.map_or(0, |cp| cp.seq);
        if let Err(broken) = self.each_event(start, end, |e| verifier.push(e)).await? {
            return Ok(Err((verifier.checked(), broken)));
        }
        let checked = verifier.checked();
        Ok(verifier.finish(head).map_err(|b| (checked, b)))
    }

    /// Hands each event after `after`, up to `end`, to `visit` in chain order, a page at a time;
    /// stops at the first error `visit` returns and answers it.
    pub(crate) async fn each_event<E>(
        &self,
        mut after: i64,
        end: i64,
        mut visit: impl FnMut(&AuditEvent) -> Result<(), E>,
    ) -> Result<Result<(), E>> {
        while after < end {
            let events = self.store.audit_page(after, PAGE).await?;
            for e in events.iter().take_while(|e| e.seq <= end) {
                if let Err(stop) = visit(e) {
                    return Ok(Err(stop));
                }
            }
            match events.last() {
                Some(last) if events.len() == PAGE as usize => after = last.seq,
                _ => break,
            }
        }
        Ok(Ok(()))
    }

    /// Signs a head that verified, unless the log already holds it; reports a broken chain.
    async fn conclude(
        &self,
        key: &CheckpointKey,
        checkpoints: &[Checkpoint],
        set_aside: Vec<String>,
        walked: Result<Verified, (u64, BrokenEvent)>,
    ) -> Result<Verification> {
        let mut v = Verification::against(key);
        v.set_aside = set_aside;
        match walked {
            Err((events, broken)) => {
                tracing::error!(seq = broken.seq, reason = %broken.reason, "the audit chain does not verify");
                metrics::gauge!("outlay_audit_broken").set(1.0);
                v.events = events;
                v.broken = Some(broken);
            }
            Ok(done) => {
                metrics::gauge!("outlay_audit_broken").set(0.0);
                v.ok = true;
                v.events = done.events;
                v.checkpoints = done.checkpoints;
                if let Some((seq, hash)) = done.head {
                    let held = checkpoints
                        .iter()
                        .any(|cp| cp.seq == seq && cp.hash == hash);
                    if !held {
                        v.signed = Some(self.sign_head(key, seq, &hash).await?);
                    }
                }
            }
        }
        Ok(v)
    }

    async fn sign_head(&self, key: &CheckpointKey, seq: i64, hash: &str) -> Result<Checkpoint> {
        let at = self.clock.now();
        let der = self
            .anchor
            .signer
            .sign(&Checkpoint::message(seq, hash, at))
            .await?;
        let cp = Checkpoint::signed(seq, hash, at, key.fingerprint().to_owned(), &der);
        if !key.signed(&cp) {
            return Err(anyhow::anyhow!("the audit signer's signature does not verify").into());
        }
        self.anchor.log.append(&cp).await?;
        metrics::gauge!("outlay_audit_checkpoint_seq").set(seq as f64);
        Ok(cp)
    }
}

/// Checks an audit bundle offline: every event against the chain and every checkpoint,
/// the checkpoints against the bundle's public key. Returns the key's fingerprint with the
/// verdict; the caller compares the fingerprint with one known out of band.
pub fn verify_bundle(input: impl std::io::BufRead) -> anyhow::Result<Verification> {
    let mut lines = input.lines();
    let first = lines.next().context("the bundle is empty")??;
    let BundleLine::Header {
        format, public_key, ..
    } = serde_json::from_str(&first).context("the bundle's first line is not its header")?
    else {
        anyhow::bail!("the bundle's first line is not its header");
    };
    anyhow::ensure!(
        format == BUNDLE_FORMAT,
        "the bundle is {format}, not {BUNDLE_FORMAT}"
    );
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, public_key)
        .context("the bundle's public key is not base64")?;
    let key = CheckpointKey::from_der(&der).map_err(anyhow::Error::msg)?;
    let mut checkpoints = Vec::new();
    let mut verifier = None;
    let mut v = Verification::against(&key);
    let fail = |v: &mut Verification, checked: u64, broken: BrokenEvent| {
        v.events = checked;
        v.broken = Some(broken);
    };
    // The walk starts from the checkpoints the key signed; the others are named.
    let start = |checkpoints: Vec<Checkpoint>, v: &mut Verification| {
        let (signed, set_aside) = key.sort_out(checkpoints);
        v.set_aside = set_aside;
        AnchoredVerifier::new(&key, &signed)
    };
    for (n, line) in lines.enumerate() {
        let line = line?;
        let parsed: BundleLine = serde_json::from_str(&line)
            .with_context(|| format!("line {} of the bundle is not valid", n + 2))?;
        match parsed {
            BundleLine::Header { .. } => anyhow::bail!("line {} is a second header", n + 2),
            BundleLine::Checkpoint(cp) => {
                anyhow::ensure!(
                    verifier.is_none(),
                    "line {}: checkpoints come before events",
                    n + 2
                );
                checkpoints.push(cp);
            }
            BundleLine::Event(e) => {
                if verifier.is_none() {
                    match start(std::mem::take(&mut checkpoints), &mut v) {
                        Ok(started) => verifier = Some(started),
                        Err(broken) => {
                            fail(&mut v, 0, broken);
                            return Ok(v);
                        }
                    }
                }
                let walker = verifier.as_mut().expect("started above");
                if let Err(broken) = walker.push(&e) {
                    let checked = walker.checked();
                    fail(&mut v, checked, broken);
                    return Ok(v);
                }
            }
        }
    }
    let walker = match verifier {
        Some(w) => w,
        None => match start(checkpoints, &mut v) {
            Ok(w) => w,
            Err(broken) => {
                fail(&mut v, 0, broken);
                return Ok(v);
            }
        },
    };
    let checked = walker.checked();
    match walker.finish(None) {
        Ok(done) => {
            v.ok = true;
            v.events = done.events;
            v.checkpoints = done.checkpoints;
        }
        Err(broken) => fail(&mut v, checked, broken),
    }
    Ok(v)
}
