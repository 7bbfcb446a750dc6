//! Group commit. Writes that arrive while a transaction is being committed are run together in
//! the next one, each inside its own savepoint, and acknowledged only after that transaction has
//! committed. On SQLite with `synchronous=FULL` a commit costs an fsync; sharing it among every
//! post, read mark and audit row that arrived meanwhile is what lets one machine keep up with a
//! region (nothing is acknowledged before it is durable).
//!
//! A write that fails (its own rule, or a constraint) is rolled back to its savepoint and answered
//! with its error at once; the others in the batch are not affected. The audit chain stays whole:
//! each write appends to the chain inside the shared transaction, in order.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, Weak};

use tokio::sync::{mpsc, oneshot};

use crate::db::{begin_on, Db};
use crate::{Result, Store, StoreError, Tx};

/// What a batched write returns: a future borrowing the shared transaction.
pub type TxFuture<'t, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 't>>;

type Deliver = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;
type Job = Box<dyn for<'t> FnOnce(&'t mut Tx) -> Pin<Box<dyn Future<Output = Option<Deliver>> + Send + 't>> + Send>;

/// The most writes sharing one commit.
const MAX_BATCH: usize = 512;

#[derive(Default)]
pub(crate) struct Batcher {
    queue: OnceLock<mpsc::UnboundedSender<Job>>,
}

impl Store {
    /// Run `f` in a write transaction shared with the writes that arrive meanwhile (group
    /// commit); its result is returned once the shared transaction has committed.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t mut Tx) -> TxFuture<'t, T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |tx: &mut Tx| {
            Box::pin(async move {
                match f(tx).await {
                    Ok(v) => Some(Box::new(move |committed: std::result::Result<(), String>| {
                        let _ = answer.send(committed.map(|()| v).map_err(StoreError::Batch));
                    }) as Deliver),
                    Err(e) => {
                        let _ = answer.send(Err(e));
                        None
                    }
                }
            })
        });
        let queue = self.batcher.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run(Arc::downgrade(&self.db), self.audit_key.clone(), rx));
            tx
        });
        queue.send(job).map_err(|_| StoreError::Batch("the writer has stopped".into()))?;
        answered.await.map_err(|_| StoreError::Batch("the write was not committed".into()))?
    }
}

/// The writer: one shared transaction at a time. It holds the database weakly, so it ends when
/// the last `Store` is dropped (the queue closes with it).
async fn run(db: Weak<Db>, key: Arc<Vec<u8>>, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let Some(db) = db.upgrade() else { return };
        let mut tx = match begin_on(&db, &key).await {
            Ok(tx) => tx,
            Err(e) => {
                // Dropping the jobs answers each caller with an error: nothing was written.
                tracing::warn!("batch: cannot begin: {e}");
                continue;
            }
        };
        let mut delivers = Vec::with_capacity(jobs.len());
        for job in jobs {
            if let Err(e) = tx.exec("SAVEPOINT kumanet_batch").await {
                tracing::warn!("batch: savepoint: {e}");
                break;
            }
            match job(&mut tx).await {
                Some(d) => {
                    if tx.exec("RELEASE SAVEPOINT kumanet_batch").await.is_ok() {
                        delivers.push(d);
                    } else {
                        d(Err("savepoint release failed".into()));
                    }
                }
                None => {
                    let _ = tx.exec("ROLLBACK TO SAVEPOINT kumanet_batch").await;
                    let _ = tx.exec("RELEASE SAVEPOINT kumanet_batch").await;
                }
            }
        }
        let committed = tx.commit().await.map_err(|e| e.to_string());
        for d in delivers {
            d(committed.clone());
        }
    }
}

impl Tx {
    /// A statement without parameters or results (savepoints).
    pub(crate) async fn exec(&mut self, sql: &str) -> Result<()> {
        crate::db::on_tx!(self, |c| sqlx::query(sql).execute(c).await?.rows_affected());
        Ok(())
    }
}
