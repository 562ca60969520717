//! `Idempotency-Key` handling: the first answer is stored in the same transaction as the
//! effect, and a repeat gets that answer back without doing anything again.

use outlay_domain::UserId;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::{App, AppError, Change, IdempotencyRecord, Result, StoreError};

/// A client's idempotency key and a fingerprint of the request that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    key: String,
    fingerprint: String,
}

impl Idempotency {
    /// Checks a key (16 to 200 printable ASCII characters: long enough that two clients'
    /// keys do not meet by chance; a UUID is the usual choice) and fingerprints the request.
    pub fn parse(key: &str, method: &str, path: &str, body: &[u8]) -> Result<Self> {
        if !(16..=200).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AppError::BadInput(
                "Idempotency-Key must be 16 to 200 printable ASCII characters, such as a UUID"
                    .into(),
            ));
        }
        let mut h = Sha256::new();
        for part in [method.as_bytes(), b"\n", path.as_bytes(), b"\n", body] {
            h.update(part);
        }
        Ok(Self {
            key: key.to_owned(),
            fingerprint: hex::encode(h.finalize()),
        })
    }
}

impl App {
    /// Runs a command at most once per (user, key): a repeat answers the stored first answer.
    pub(crate) async fn once<T, F>(
        &self,
        user: UserId,
        idem: Option<&Idempotency>,
        run: F,
    ) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: AsyncFnOnce() -> Result<(T, Change)>,
    {
        if let Some(answer) = self.replay(user, idem).await? {
            return Ok(answer);
        }
        let (answer, mut change) = run().await?;
        if let Some(i) = idem {
            change.idempotency = Some(IdempotencyRecord {
                user_id: user,
                key: i.key.clone(),
                fingerprint: i.fingerprint.clone(),
                response: serde_json::to_string(&answer).map_err(anyhow::Error::from)?,
                created_at: self.clock.now(),
            });
        }
        match self.store.commit(change).await {
            Ok(()) => Ok(answer),
            // A concurrent request with the same key won the race: answer what it answered.
            Err(StoreError::Conflict(m)) => match self.replay(user, idem).await? {
                Some(answer) => Ok(answer),
                None => Err(AppError::Conflict(m)),
            },
            Err(e) => Err(e.into()),
        }
    }

    async fn replay<T: DeserializeOwned>(
        &self,
        user: UserId,
        idem: Option<&Idempotency>,
    ) -> Result<Option<T>> {
        let Some(i) = idem else { return Ok(None) };
        let Some(record) = self.store.idempotency(user, &i.key).await? else {
            return Ok(None);
        };
        if record.fingerprint != i.fingerprint {
            return Err(AppError::Unprocessable(
                "this Idempotency-Key was already used for a different request".into(),
            ));
        }
        let answer = serde_json::from_str(&record.response).map_err(anyhow::Error::from)?;
        Ok(Some(answer))
    }
}

/// A repeat of a create whose result has since been deleted: answering the first answer again
/// would hand out the id of something that no longer exists.
pub(crate) fn gone(kind: &str, id: impl std::fmt::Display) -> AppError {
    AppError::Conflict(format!(
        "this Idempotency-Key created {kind} {id}, which has since been deleted"
    ))
}
