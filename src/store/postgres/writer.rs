//! The writer's jobs (each one transaction holding the ledger lock) and the
//! change feed that keeps this node's caches in step with the others.

use super::*;

/// Runs write jobs, one transaction each, until the channel closes.
pub(super) fn writer_loop(
    rx: &Mutex<mpsc::Receiver<Job>>,
    pool: &Pool,
    shared: &Shared,
    feed: &Feed,
    node: &str,
) {
    loop {
        let job = match rx.lock() {
            Ok(r) => match r.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let started = Instant::now();
        let mut conn = match pool.get() {
            Ok(c) => c,
            Err(e) => {
                // Run nothing: the job's caller hears the database is unavailable.
                fail(
                    job,
                    StoreError::Unavailable(format!("no database connection: {e}")),
                );
                continue;
            }
        };
        run_job(&mut conn, job, shared, feed, node);
        metrics::histogram!("turnstile_store_commit_seconds").record(started.elapsed().as_secs_f64());
    }
}

/// Completes a job that could not run.
pub(super) fn fail(job: Job, error: StoreError) {
    // The job runs against a connection that refuses everything, so its
    // caller gets the error through its own result.
    let broken = Broken(error.to_string());
    let mut touched = Vec::new();
    let (_, done) = job(&broken, &mut touched);
    done(Err(error));
}

pub(super) fn run_job(conn: &mut Pooled, job: Job, shared: &Shared, feed: &Feed, node: &str) {
    let begin = (|| -> Result<i64, StoreError> {
        conn.client.batch_execute("BEGIN").map_err(pg_err)?;
        // The ledger lock: held until commit, taken before anything is read.
        let st =
            conn.prepared("UPDATE meta SET value = value + 1 WHERE key = 'data_revision' RETURNING value")?;
        let row = conn.client.query_one(&st, &[]).map_err(pg_err)?;
        get(&row, 0)
    })();
    let revision = match begin {
        Ok(r) => r,
        Err(e) => {
            let _ = conn.client.batch_execute("ROLLBACK");
            fail(job, e);
            return;
        }
    };
    let mut touched = Vec::new();
    let (ok, done) = {
        let pg = PgConn {
            c: RefCell::new(&mut **conn),
        };
        job(&pg, &mut touched)
    };
    if !ok {
        let rolled = conn.client.batch_execute("ROLLBACK").map_err(pg_err);
        done(rolled.map(|()| u64::try_from(revision - 1).unwrap_or(0)));
        return;
    }
    touched.sort();
    touched.dedup();
    let outcome = (|| -> Result<(), StoreError> {
        let scopes = touched.join("\n");
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
            .unwrap_or(0);
        let st = conn.prepared("INSERT INTO changes (revision, scopes, node, at) VALUES ($1, $2, $3, $4)")?;
        conn.client
            .execute(&st, &[&revision, &scopes, &node, &at])
            .map_err(pg_err)?;
        if revision % 1000 == 0 {
            conn.client
                .execute(
                    "DELETE FROM changes WHERE revision <= $1",
                    &[&(revision - KEEP_CHANGES)],
                )
                .map_err(pg_err)?;
        }
        let st = conn.prepared("SELECT pg_notify($1, $2)")?;
        conn.client
            .execute(&st, &[&CHANNEL, &revision.to_string()])
            .map_err(pg_err)?;
        conn.client.batch_execute("COMMIT").map_err(pg_err)
    })();
    match outcome {
        Ok(()) => {
            // This node knows its own change at once; the listener will see the
            // revision too and skip it.
            let revision = u64::try_from(revision).unwrap_or(0);
            shared.generations.bump(&touched);
            if shared.data_revision.load(Ordering::SeqCst) + 1 == revision {
                shared.advance(revision);
            }
            feed.wake();
            done(Ok(revision));
        }
        Err(e) => {
            let _ = conn.client.batch_execute("ROLLBACK");
            done(Err(match e {
                // Lost before COMMIT answered: whether it landed is unknown,
                // and it was not acknowledged.
                StoreError::Unavailable(m) => StoreError::Unavailable(format!(
                    "the connection to the database was lost while committing ({m}); the change was not acknowledged"
                )),
                other => StoreError::Commit(other.to_string()),
            }));
        }
    }
}

/// Applies every change after the revision this node has applied, in order.
pub(super) fn catch_up(client: &mut Client, shared: &Shared, feed: &Feed) -> Result<(), StoreError> {
    let applied = i64::try_from(shared.data_revision.load(Ordering::SeqCst)).unwrap_or(i64::MAX);
    let rows = client
        .query(
            "SELECT revision, scopes FROM changes WHERE revision > $1 ORDER BY revision LIMIT 10000",
            &[&applied],
        )
        .map_err(pg_err)?;
    let head: i64 = client
        .query_one("SELECT value FROM meta WHERE key = 'data_revision'", &[])
        .map_err(pg_err)?
        .get(0);
    let mut next = applied;
    for row in &rows {
        let revision: i64 = row.get(0);
        if revision != next + 1 {
            // A revision still in flight (taken, not yet committed) or pruned:
            // stop here; a pruned one is handled below.
            break;
        }
        let scopes: String = row.get(1);
        let scopes: Vec<String> = scopes.lines().map(str::to_string).collect();
        shared.generations.bump(&scopes);
        next = revision;
    }
    if next == applied && head > applied {
        // Changes we cannot replay one by one (pruned, or older than the
        // table): trust nothing cached, and move on to the oldest we have.
        let oldest: Option<i64> = client
            .query_one("SELECT MIN(revision) FROM changes", &[])
            .map_err(pg_err)?
            .get(0);
        if oldest.is_none_or(|o| o > applied + 1) {
            shared.generations.bump_all();
            next = oldest.map_or(head, |o| o - 1).max(applied);
        }
    }
    if next > applied {
        shared.advance(u64::try_from(next).unwrap_or(0));
        feed.wake();
    }
    feed.confirm();
    Ok(())
}

/// Listens for revisions; polls when it cannot listen; reconnects by itself.
pub(super) fn listen_loop(url: &str, pool: &Pool, shared: &Shared, feed: &Feed, every: Duration) {
    while !feed.stop.load(Ordering::SeqCst) {
        match connect(url).and_then(|mut c| c.batch_execute(&format!("LISTEN {CHANNEL}")).map(|()| c)) {
            Ok(mut client) => {
                feed.listening.store(true, Ordering::SeqCst);
                if catch_up(&mut client, shared, feed).is_err() {
                    feed.listening.store(false, Ordering::SeqCst);
                    continue;
                }
                loop {
                    if feed.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    // Wait for one notification (or the poll interval), then
                    // drain any others already there.
                    let heard = {
                        let mut notes = client.notifications();
                        let mut it = notes.timeout_iter(every);
                        match it.next() {
                            Ok(Some(_)) => Ok(true),
                            Ok(None) => Ok(false),
                            Err(e) => Err(e),
                        }
                    };
                    match heard {
                        Ok(_) => {
                            // Drain what else has arrived, then read the changes.
                            let drained = {
                                let mut notes = client.notifications();
                                let mut it = notes.iter();
                                loop {
                                    match it.next() {
                                        Ok(Some(_)) => continue,
                                        Ok(None) => break Ok(()),
                                        Err(e) => break Err(e),
                                    }
                                }
                            };
                            if drained.is_err() || catch_up(&mut client, shared, feed).is_err() {
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                }
                feed.listening.store(false, Ordering::SeqCst);
                tracing::warn!("the change feed from PostgreSQL dropped; polling until it is back");
            }
            Err(e) => {
                feed.listening.store(false, Ordering::SeqCst);
                tracing::debug!(error = %e, "cannot listen for changes; polling");
                // Poll through the pool meanwhile.
                if let Ok(mut conn) = pool.get() {
                    let _ = catch_up(&mut conn.client, shared, feed);
                }
                std::thread::sleep(every);
            }
        }
    }
}
