//! Group commit: the changes that wait for the writer share one transaction, and so one fsync.
//!
//! With `synchronous=FULL` every commit waits for the disk, and one transaction per change
//! makes the disk's flush rate the server's write ceiling. Here one task owns the writing: it
//! takes every change that is waiting (up to [`MAX_BATCH`]), opens one transaction, runs each
//! change in its own savepoint (a change that fails, a stale guard say, is rolled back alone and
//! the others go on), commits once, and only then answers each change. Nothing is acknowledged
//! before the commit that made it durable, and if that commit fails, every change in it fails.
//!
//! The changes of a batch run one after another on the one connection, in the order they
//! arrived, so each one's guards see what the changes before it wrote: the batch is exactly as
//! serial as one transaction per change. Hand-written over a crate: nothing in the ecosystem
//! batches sqlx transactions, and the loop is short.

use outlay_app::{Change, StoreError, StoreResult};
use sqlx::{Acquire, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::rows::db_error;

/// The most changes one transaction holds: enough to share an fsync among every request a
/// busy server has in flight, few enough that one batch does not hold the others up for long.
pub(crate) const MAX_BATCH: usize = 128;

struct Job {
    change: Change,
    done: oneshot::Sender<StoreResult<()>>,
}

/// The handle through which changes reach the writer task.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommitter {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommitter {
    /// Starts the writer task on `pool` (the one writer connection). It ends when every handle
    /// is dropped.
    pub(crate) fn start(pool: SqlitePool) -> Self {
        let (jobs, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(pool, queue));
        Self { jobs }
    }

    /// Commits `change` durably, with whatever else is waiting.
    pub(crate) async fn commit(&self, change: Change) -> StoreResult<()> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .send(Job { change, done })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

fn gone() -> StoreError {
    StoreError::Unavailable(anyhow::anyhow!("the database writer has stopped"))
}

async fn run(pool: SqlitePool, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        metrics::histogram!("outlay_group_commit_changes").record(batch.len() as f64);
        let jobs: Vec<Job> = std::mem::take(&mut batch);
        let (dones, changes): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|j| (j.done, j.change)).unzip();
        let answers = write_batch(&pool, changes).await;
        for (done, answer) in dones.into_iter().zip(answers) {
            // A caller that has gone away (its request was cancelled) needs no answer.
            let _ = done.send(answer);
        }
    }
}

/// Writes `changes` in one transaction, each in its own savepoint; answers one result per
/// change, all errors if the transaction could not commit.
async fn write_batch(pool: &SqlitePool, changes: Vec<Change>) -> Vec<StoreResult<()>> {
    let n = changes.len();
    let whole = async {
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| db_error(e, "could not reach the database"))?;
        let mut tx = conn
            .begin()
            .await
            .map_err(|e| db_error(e, "could not start a transaction"))?;
        let mut answers = Vec::with_capacity(n);
        for change in changes {
            let mut savepoint = tx
                .begin()
                .await
                .map_err(|e| db_error(e, "could not start a savepoint"))?;
            match crate::commit::write(&mut savepoint, change).await {
                Ok(()) => savepoint
                    .commit()
                    .await
                    .map_err(|e| db_error(e, "could not release a savepoint"))?,
                Err(e) => {
                    savepoint
                        .rollback()
                        .await
                        .map_err(|e| db_error(e, "could not roll back a savepoint"))?;
                    answers.push(Err(e));
                    continue;
                }
            }
            answers.push(Ok(()));
        }
        tx.commit()
            .await
            .map_err(|e| db_error(e, "could not commit the transaction"))?;
        Ok::<_, StoreError>(answers)
    };
    match whole.await {
        Ok(answers) => answers,
        Err(e) => {
            tracing::error!(error = ?e, changes = n, "a group commit failed; none of its changes were written");
            let message = format!("{e:#}");
            (0..n)
                .map(|_| {
                    Err(StoreError::Unavailable(anyhow::anyhow!(
                        "Failed to commit a group of changes: {message}"
                    )))
                })
                .collect()
        }
    }
}
