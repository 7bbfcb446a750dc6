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
use crate::head::HeadFile;
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
            tokio::spawn(run(Arc::downgrade(&self.db), self.audit_key.clone(), self.head.clone(), rx));
            tx
        });
        queue.send(job).map_err(|_| StoreError::Batch("the writer has stopped".into()))?;
        answered.await.map_err(|_| StoreError::Batch("the write was not committed".into()))?
    }
}

/// The writer: one shared transaction at a time. It holds the database weakly, so it ends when
/// the last `Store` is dropped (the queue closes with it).
async fn run(db: Weak<Db>, key: Arc<Vec<u8>>, head: Arc<HeadFile>, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let Some(db) = db.upgrade() else { return };
        let tx = match begin_on(&db, &key, &head).await {
            Ok(tx) => tx,
            Err(e) => {
                // Dropping the jobs answers each caller with an error: nothing was written.
                tracing::warn!("batch: cannot begin: {e}");
                continue;
            }
        };
        run_batch(tx, jobs).await;
    }
}

/// Run `jobs` in `tx`, each in its own savepoint, then commit and answer them. A job that fails
/// is rolled back to its savepoint and has answered already. If a savepoint cannot be taken,
/// released or rolled back to, the transaction is not what it should be (SQLite rolls the whole
/// transaction back by itself after some errors, such as a full disk): nothing of the batch is
/// committed, every job is answered with an error, and the connection is discarded.
async fn run_batch(mut tx: Tx, jobs: Vec<Job>) {
    let mut delivers: Vec<Deliver> = Vec::with_capacity(jobs.len());
    let mut broken: Option<String> = None;
    for job in jobs {
        if broken.is_some() {
            // Dropped unrun: its caller is told it was not committed.
            continue;
        }
        if let Err(e) = tx.exec("SAVEPOINT kumanet_batch").await {
            broken = Some(format!("savepoint: {e}"));
            continue;
        }
        let head_before = tx.audit_head.clone();
        let done = job(&mut tx).await;
        match done {
            Some(d) if !tx.failed => match tx.exec("RELEASE SAVEPOINT kumanet_batch").await {
                Ok(()) => delivers.push(d),
                Err(e) => {
                    d(Err(format!("savepoint release: {e}")));
                    broken = Some(format!("savepoint release: {e}"));
                }
            },
            failed => {
                // Its own error (already answered), or a statement failed under a job that
                // went on: undo it alone.
                if let Some(d) = failed {
                    d(Err("a statement of this write failed".into()));
                }
                tx.failed = false;
                tx.audit_head = head_before;
                let undone = match tx.exec("ROLLBACK TO SAVEPOINT kumanet_batch").await {
                    Ok(()) => tx.exec("RELEASE SAVEPOINT kumanet_batch").await,
                    Err(e) => Err(e),
                };
                if let Err(e) = undone {
                    broken = Some(format!("savepoint rollback: {e}"));
                }
            }
        }
    }
    let committed = match broken {
        Some(why) => {
            tracing::error!("batch: the shared transaction is broken ({why}); nothing of it was committed");
            tx.discard();
            Err(why)
        }
        None => tx.commit().await.map_err(|e| e.to_string()),
    };
    for d in delivers {
        d(committed.clone());
    }
}

#[cfg(test)]
mod tests {
    //! R11.3: nothing acknowledged that is not saved, when the shared transaction breaks under
    //! the writes (as a full disk breaks it), on SQLite and on PostgreSQL (when
    //! KUMANET_TEST_POSTGRES_URL is set).

    use std::str::FromStr;

    use tokio::sync::oneshot;

    use crate::{Store, StoreError, StoreOptions, Tx};

    /// A store on a fresh database with three tables of its own, and what removes it.
    struct Fixture {
        store: Store,
        dir: std::path::PathBuf,
        pg: Option<(String, String)>,
    }

    impl Fixture {
        async fn sqlite() -> Fixture {
            let dir = std::env::temp_dir().join(format!("kumanet-store-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).unwrap();
            let url = format!("sqlite://{}", dir.join("t.db").display());
            Fixture::open(url, None, dir).await
        }

        async fn postgres() -> Option<Fixture> {
            let url = std::env::var("KUMANET_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())?;
            let schema = format!("ks_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
            let opts = sqlx::postgres::PgConnectOptions::from_str(&url).unwrap();
            let pool = sqlx::PgPool::connect_with(opts).await.unwrap();
            sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&pool).await.unwrap();
            pool.close().await;
            let dir = std::env::temp_dir().join(format!("kumanet-store-{schema}"));
            std::fs::create_dir_all(&dir).unwrap();
            Some(Fixture::open(url.clone(), Some(schema.clone()), dir).await.with_pg(url, schema))
        }

        fn with_pg(mut self, url: String, schema: String) -> Fixture {
            self.pg = Some((url, schema));
            self
        }

        async fn open(url: String, pg_schema: Option<String>, dir: std::path::PathBuf) -> Fixture {
            let opts = StoreOptions { url, pg_schema, max_connections: 4, audit_head_file: None };
            let store = Store::open(&opts, b"store-test-audit-key-of-32-bytes!!".to_vec()).await.unwrap();
            let mut tx = store.begin().await.unwrap();
            for sql in [
                "CREATE TABLE t_note (id TEXT PRIMARY KEY)",
                "CREATE TABLE t_parent (id TEXT PRIMARY KEY)",
                "CREATE TABLE t_child (id TEXT PRIMARY KEY, parent TEXT REFERENCES t_parent (id) DEFERRABLE INITIALLY DEFERRED)",
            ] {
                tx.exec(sql).await.unwrap();
            }
            tx.commit().await.unwrap();
            Fixture { store, dir, pg: None }
        }

        async fn close(self) {
            self.store.close().await;
            let _ = std::fs::remove_dir_all(&self.dir);
            if let Some((url, schema)) = self.pg {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }

        /// Is the note there for a reader (another connection)?
        async fn has_note(&self, id: &str) -> bool {
            let sql = "SELECT COUNT(*) FROM t_note WHERE id = $1";
            let n: i64 =
                crate::db::on_read!(self.store, |c| sqlx::query_scalar(sql).bind(id).fetch_one(c).await.unwrap());
            n == 1
        }
    }

    async fn note(tx: &mut Tx, id: String) -> crate::Result<()> {
        crate::db::on_tx!(tx, |c| sqlx::query("INSERT INTO t_note (id) VALUES ($1)")
            .bind(&id)
            .execute(c)
            .await?
            .rows_affected());
        Ok(())
    }

    /// A batched write of one note.
    fn write_note(store: &Store, id: &str) -> tokio::task::JoinHandle<crate::Result<()>> {
        let (s, id) = (store.clone(), id.to_string());
        tokio::spawn(async move { s.write(move |tx| Box::pin(note(tx, id))).await })
    }

    /// A batched write that runs `sql` and reports success.
    fn write_sql(store: &Store, sql: &'static str) -> tokio::task::JoinHandle<crate::Result<()>> {
        let s = store.clone();
        tokio::spawn(async move { s.write(move |tx| Box::pin(async move { tx.exec(sql).await })).await })
    }

    /// Holds the writer busy until the returned sender fires, so the writes queued meanwhile
    /// share the next transaction.
    async fn hold_writer(store: &Store) -> (oneshot::Sender<()>, tokio::task::JoinHandle<crate::Result<()>>) {
        let (release, wait) = oneshot::channel::<()>();
        let s = store.clone();
        let held = tokio::spawn(async move {
            s.write(move |_| {
                Box::pin(async move {
                    let _ = wait.await;
                    Ok(())
                })
            })
            .await
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        (release, held)
    }

    async fn broken_batches_acknowledge_nothing_unsaved(f: Fixture) {
        let store = &f.store;
        let mut answered = Vec::new();
        // 1. SQLite rolls the whole transaction back by itself after some errors (a full disk):
        //    the savepoints are gone and the writes after it would run outside any transaction.
        let (release, held) = hold_writer(store).await;
        let a1 = write_note(store, "a1");
        let rolled = write_sql(store, "ROLLBACK");
        let a3 = write_note(store, "a3");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        release.send(()).unwrap();
        held.await.unwrap().unwrap();
        answered.push(("a1", a1.await.unwrap()));
        assert!(rolled.await.unwrap().is_err(), "a write inside a broken transaction is not acknowledged");
        answered.push(("a3", a3.await.unwrap()));
        // 2. A COMMIT that fails and leaves the transaction open (SQLite's full disk can; here a
        //    deferred foreign key does): the write is refused and nothing stays pending.
        let (release, held) = hold_writer(store).await;
        let b1 = write_note(store, "b1");
        let orphan = {
            let s = store.clone();
            tokio::spawn(async move {
                s.write(move |tx| {
                    Box::pin(async move { tx.exec("INSERT INTO t_child (id, parent) VALUES ('c', 'none')").await })
                })
                .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        release.send(()).unwrap();
        held.await.unwrap().unwrap();
        assert!(orphan.await.unwrap().is_err());
        answered.push(("b1", b1.await.unwrap()));
        // 3. Afterwards the writer recovers by itself: the next writes commit and are seen.
        for id in ["c1", "c2", "c3"] {
            let r = write_note(store, id).await.unwrap();
            assert!(r.is_ok(), "{id}: {r:?}");
            answered.push((id, r));
        }
        let mut tx = store.begin().await.unwrap();
        note(&mut tx, "d1".into()).await.unwrap();
        tx.commit().await.unwrap();
        answered.push(("d1", Ok(())));
        for (id, r) in &answered {
            if r.is_ok() {
                assert!(f.has_note(id).await, "{id} was acknowledged but is not in the database");
            } else {
                assert!(matches!(r, Err(StoreError::Batch(_)) | Err(StoreError::Db(_))), "{id}: {r:?}");
            }
        }
        f.close().await;
    }

    async fn a_failed_statement_is_never_committed(f: Fixture) {
        let store = &f.store;
        let mut tx = store.begin().await.unwrap();
        note(&mut tx, "x".into()).await.unwrap();
        // A caller that ignores a failed statement (PostgreSQL aborts the transaction; SQLite
        // may have rolled it back) and goes on…
        assert!(note(&mut tx, "x".into()).await.is_err());
        let after = note(&mut tx, "y".into()).await;
        assert!(after.is_err(), "no statement runs after a failed one: {after:?}");
        // …is told the transaction was not committed, and nothing of it is there.
        assert!(tx.commit().await.is_err());
        assert!(!f.has_note("x").await && !f.has_note("y").await);
        // Dropped without commit: rolled back, and the connection serves the next transaction.
        let mut tx = store.begin().await.unwrap();
        note(&mut tx, "dropped".into()).await.unwrap();
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        note(&mut tx, "kept".into()).await.unwrap();
        tx.commit().await.unwrap();
        assert!(f.has_note("kept").await && !f.has_note("dropped").await);
        f.close().await;
    }

    #[tokio::test]
    async fn r11_3_broken_batches_acknowledge_nothing_unsaved_sqlite() {
        broken_batches_acknowledge_nothing_unsaved(Fixture::sqlite().await).await;
    }

    #[tokio::test]
    async fn r11_3_broken_batches_acknowledge_nothing_unsaved_postgres() {
        if let Some(f) = Fixture::postgres().await {
            broken_batches_acknowledge_nothing_unsaved(f).await;
        }
    }

    #[tokio::test]
    async fn r11_3_a_failed_statement_is_never_committed_sqlite() {
        a_failed_statement_is_never_committed(Fixture::sqlite().await).await;
    }

    #[tokio::test]
    async fn r11_3_a_failed_statement_is_never_committed_postgres() {
        if let Some(f) = Fixture::postgres().await {
            a_failed_statement_is_never_committed(f).await;
        }
    }
}
