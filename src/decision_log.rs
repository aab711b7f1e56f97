//! decision_log: one JSON line per decision, written off the request path.
//!
//! Decisions hand their entry to a bounded queue and return at once; a writer
//! thread turns entries into JSON lines and writes them to a file (appending)
//! or stdout, flushing whenever the queue runs dry, and keeps the latest ones
//! in memory for the console (or only there: [`Target::Memory`]). A full
//! queue drops the entry and counts it: logging never slows a decision.
//! Closing drains the queue and flushes.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How many entries may wait for the writer before new ones are dropped.
pub(crate) const DEFAULT_CAPACITY: usize = 65_536;

/// One logged decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub decision_id: String,
    /// The time the decision was made at (what `context.now` was), RFC 3339.
    pub time: String,
    /// `authzen` (asked by a caller) or `ledger` (a ledger change's check).
    pub source: String,
    /// The request, as an AuthZEN evaluation request.
    pub request: Value,
    pub decision: bool,
    pub reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
    pub policy_revision: String,
    pub data_revision: u64,
    /// The node that decided, and its backend (`sqlite`, `postgres`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub backend: String,
    pub latency_us: u64,
}

/// How many recent decisions `serve` keeps in memory by default.
pub(crate) const DEFAULT_RECENT: usize = 1_000;

/// Where entries go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Stdout,
    File(PathBuf),
    /// Nowhere but the in-memory list of recent decisions.
    Memory,
}

impl Target {
    /// `-` means stdout; anything else a file.
    pub fn parse(s: &Path) -> Self {
        if s.as_os_str() == "-" {
            Target::Stdout
        } else {
            Target::File(s.to_path_buf())
        }
    }
}

/// The decision log.
pub struct DecisionLog {
    tx: Mutex<Option<mpsc::SyncSender<Entry>>>,
    dropped: AtomicU64,
    writer: Mutex<Option<std::thread::JoinHandle<u64>>>,
    /// The latest entries, oldest first: filled by the writer thread when
    /// there is one, else right where the decision is recorded.
    recent: Arc<Recent>,
    /// No file and no stdout: entries go to `recent` alone, with no queue, no
    /// thread and no wake-up per decision.
    memory_only: bool,
}

impl DecisionLog {
    /// Opens the target and starts the writer thread; the latest `keep`
    /// entries stay in memory ([`DecisionLog::recent`]).
    pub fn open(target: Target, capacity: usize, keep: usize) -> std::io::Result<Self> {
        let out: Option<Box<dyn Write + Send>> = match &target {
            Target::Stdout => Some(Box::new(std::io::stdout())),
            Target::File(p) => Some(Box::new(
                std::fs::OpenOptions::new().create(true).append(true).open(p)?,
            )),
            Target::Memory => None,
        };
        let recent = Arc::new(Recent {
            list: Mutex::new(VecDeque::with_capacity(keep.min(4096))),
            keep,
        });
        let Some(out) = out else {
            return Ok(Self {
                tx: Mutex::new(None),
                dropped: AtomicU64::new(0),
                writer: Mutex::new(None),
                recent,
                memory_only: true,
            });
        };
        let (tx, rx) = mpsc::sync_channel::<Entry>(capacity.max(1));
        let kept = recent.clone();
        let writer = std::thread::Builder::new()
            .name("turnstile-decision-log".into())
            .spawn(move || write_loop(rx, out, &kept))?;
        Ok(Self {
            tx: Mutex::new(Some(tx)),
            dropped: AtomicU64::new(0),
            writer: Mutex::new(Some(writer)),
            recent,
            memory_only: false,
        })
    }

    /// The latest decisions recorded, newest first (a copy).
    pub(crate) fn recent(&self) -> Vec<Entry> {
        self.recent
            .list
            .lock()
            .map(|r| r.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    /// Queues an entry; drops it (and counts) if the queue is full. Kept in
    /// memory only, it is kept at once (a push under a lock held for two
    /// pointer moves).
    pub fn record(&self, entry: Entry) {
        if self.memory_only {
            self.recent.push(entry);
            return;
        }
        let sent = match self.tx.lock() {
            Ok(guard) => match guard.as_ref() {
                Some(tx) => tx.try_send(entry).is_ok(),
                None => false,
            },
            Err(_) => false,
        };
        if !sent {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("turnstile_decision_log_dropped_total").increment(1);
        }
    }

    /// Entries dropped because the queue was full (or the log closed).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Stops accepting entries, writes those queued, flushes; returns how many
    /// were written in all.
    pub fn close(&self) -> u64 {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        handle.and_then(|h| h.join().ok()).unwrap_or(0)
    }
}

impl Drop for DecisionLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// The latest entries, at most `keep` of them.
struct Recent {
    list: Mutex<VecDeque<Entry>>,
    keep: usize,
}

impl Recent {
    fn push(&self, entry: Entry) {
        if self.keep == 0 {
            return;
        }
        let evicted = match self.list.lock() {
            Ok(mut list) => {
                let old = if list.len() >= self.keep {
                    list.pop_front()
                } else {
                    None
                };
                list.push_back(entry);
                old
            }
            Err(_) => None,
        };
        // Freed after the lock is released.
        drop(evicted);
    }
}

fn write_loop(rx: mpsc::Receiver<Entry>, out: Box<dyn Write + Send>, recent: &Recent) -> u64 {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    let mut written = 0u64;
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(entry) = next {
            if serde_json::to_writer(&mut out, &entry).is_ok() && out.write_all(b"\n").is_ok() {
                written += 1;
            }
            recent.push(entry);
            next = rx.try_recv().ok();
        }
        // The queue ran dry: make what we have visible.
        let _ = out.flush();
    }
    let _ = out.flush();
    written
}

/// Reads a decision log (JSON lines); unreadable lines are returned as errors
/// with their line number.
pub fn read(path: &Path) -> std::io::Result<Vec<Result<Entry, String>>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> Entry {
        Entry {
            decision_id: id.into(),
            time: "2026-01-01T00:00:00Z".into(),
            source: "authzen".into(),
            request: serde_json::json!({}),
            decision: true,
            reasons: vec!["p".into()],
            errors: vec![],
            unknown: vec![],
            policy_revision: "r".into(),
            data_revision: 1,
            node: String::new(),
            backend: String::new(),
            latency_us: 3,
        }
    }

    #[test]
    fn entries_are_written_as_json_lines_and_flushed_on_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.jsonl");
        let log = DecisionLog::open(Target::File(path.clone()), 16, 3).unwrap();
        for i in 0..5 {
            log.record(entry(&i.to_string()));
        }
        assert_eq!(log.close(), 5);
        let recent: Vec<String> = log.recent().into_iter().map(|e| e.decision_id).collect();
        assert_eq!(recent, ["4", "3", "2"], "the latest three, newest first");
        let read = read(&path).unwrap();
        assert_eq!(read.len(), 5);
        assert_eq!(read[4].as_ref().unwrap().decision_id, "4");
    }

    #[test]
    fn kept_in_memory_only_the_latest_stay_newest_first() {
        let log = DecisionLog::open(Target::Memory, 16, 2).unwrap();
        for i in 0..5 {
            log.record(entry(&i.to_string()));
        }
        let recent: Vec<String> = log.recent().into_iter().map(|e| e.decision_id).collect();
        assert_eq!(recent, ["4", "3"]);
        assert_eq!(log.dropped(), 0);
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let (tx, _rx) = mpsc::sync_channel::<Entry>(1);
        let log = DecisionLog {
            tx: Mutex::new(Some(tx)),
            dropped: AtomicU64::new(0),
            writer: Mutex::new(None),
            recent: Arc::new(Recent {
                list: Mutex::default(),
                keep: 0,
            }),
            memory_only: false,
        };
        log.record(entry("a"));
        log.record(entry("b"));
        log.record(entry("c"));
        assert_eq!(log.dropped(), 2);
    }
}
