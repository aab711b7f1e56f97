//! reload: a new policy set without a restart.
//!
//! Triggered by a change in the policy directory (watched), by
//! `POST /v1/admin/reload`, or by SIGHUP. The new pack is read, parsed and
//! validated off the request path (a blocking thread), then swapped in
//! atomically: decisions in flight finish on the pack they started with, the
//! next ones use the new one. An invalid pack is refused with every problem and
//! the last good pack keeps serving. Reloads are serialised.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::decide::Engine;
use crate::policy::{PackError, PolicyPack, Problem};

/// What a reload did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub(crate) struct Reloaded {
    /// The revision serving now.
    pub revision: String,
    /// The revision that served before.
    pub previous: String,
    /// Whether anything changed (an identical set is not swapped).
    pub changed: bool,
}

/// Why a reload was refused; the previous pack keeps serving.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReloadError {
    #[error("the service runs the built-in licensing pack; start it with `--policies DIR` to reload")]
    Embedded,
    #[error("the new policies were refused; the previous ones keep serving:\n{0}")]
    Invalid(PackError),
    #[error("the reload could not run: {0}")]
    Internal(String),
}

impl ReloadError {
    pub fn problems(&self) -> &[Problem] {
        match self {
            ReloadError::Invalid(e) => &e.problems,
            _ => &[],
        }
    }
}

/// The pack on disk, when it was refused: what serves is the last good set.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Refused {
    /// When the files on disk were first refused (RFC 3339); they have been
    /// refused at every reload since.
    pub since: String,
    /// The problems of the latest attempt, one line each.
    pub problems: Vec<String>,
}

/// Reloads the engine's pack from its directory.
pub(crate) struct Reloader {
    engine: Arc<Engine>,
    dir: Option<PathBuf>,
    /// One reload at a time.
    lock: tokio::sync::Mutex<()>,
    /// Set while the files on disk are refused.
    refused: std::sync::Mutex<Option<Refused>>,
}

impl Reloader {
    /// `dir` is `None` when the engine serves the embedded pack.
    pub fn new(engine: Arc<Engine>, dir: Option<PathBuf>) -> Self {
        Self {
            engine,
            dir,
            lock: tokio::sync::Mutex::new(()),
            refused: std::sync::Mutex::new(None),
        }
    }

    /// Whether the pack on disk is refused (and since when), while the last
    /// good one serves.
    pub fn refused(&self) -> Option<Refused> {
        self.refused.lock().ok().and_then(|r| r.clone())
    }

    fn set_refused(&self, problems: Option<Vec<String>>) {
        let Ok(mut slot) = self.refused.lock() else {
            return;
        };
        *slot = problems.map(|problems| Refused {
            since: slot
                .as_ref()
                .map(|r| r.since.clone())
                .unwrap_or_else(|| crate::time::format(jiff::Timestamp::now().as_second())),
            problems,
        });
        metrics::gauge!("turnstile_policy_on_disk_refused").set(if slot.is_some() { 1.0 } else { 0.0 });
    }

    pub fn dir(&self) -> Option<&PathBuf> {
        self.dir.as_ref()
    }

    /// Reads, validates and swaps in the pack; `trigger` says why, for the log.
    pub async fn reload(&self, trigger: &str) -> Result<Reloaded, ReloadError> {
        let Some(dir) = self.dir.clone() else {
            return Err(ReloadError::Embedded);
        };
        let _one_at_a_time = self.lock.lock().await;
        let previous = self.engine.pack().revision.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            PolicyPack::load(&dir).and_then(|p| crate::contract::check(&p).map(|()| p))
        })
        .await
        .map_err(|e| ReloadError::Internal(e.to_string()))?;
        let outcome = match loaded {
            Ok(pack) if pack.revision == previous => Ok(Reloaded {
                revision: previous.clone(),
                previous,
                changed: false,
            }),
            Ok(pack) => match self.engine.swap(pack) {
                Ok(p) => Ok(Reloaded {
                    revision: p.revision.clone(),
                    previous,
                    changed: true,
                }),
                Err(e) => Err(ReloadError::Invalid(e)),
            },
            Err(e) => Err(ReloadError::Invalid(e)),
        };
        match &outcome {
            Ok(_) => self.set_refused(None),
            Err(e) => self.set_refused(Some(e.problems().iter().map(Problem::short).collect())),
        }
        match &outcome {
            Ok(r) if r.changed => {
                metrics::counter!("turnstile_policy_reloads_total", "outcome" => "swapped").increment(1);
                tracing::info!(trigger, from = %r.previous, to = %r.revision, "policies reloaded");
            }
            Ok(_) => {
                metrics::counter!("turnstile_policy_reloads_total", "outcome" => "unchanged").increment(1);
                tracing::debug!(trigger, "policies unchanged");
            }
            Err(e) => {
                metrics::counter!("turnstile_policy_reloads_total", "outcome" => "refused").increment(1);
                let problems: Vec<String> = e.problems().iter().map(Problem::short).collect();
                tracing::warn!(trigger, problems = ?problems, "policy reload refused; the previous policies keep serving");
            }
        }
        outcome
    }

    /// Watches the policy directory and reloads on change (after a short quiet
    /// period, so an editor's burst of writes is one reload). The watch lasts as
    /// long as the returned handle.
    pub fn watch(self: &Arc<Self>) -> Result<Option<notify::RecommendedWatcher>, notify::Error> {
        use notify::Watcher;
        let Some(dir) = self.dir.clone() else {
            return Ok(None);
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(e) = event {
                let relevant = e
                    .paths
                    .iter()
                    .any(|p| p.extension().is_some_and(|x| x == "cedar" || x == "cedarschema"));
                if relevant && !e.kind.is_access() {
                    let _ = tx.send(());
                }
            }
        })?;
        watcher.watch(&dir, notify::RecursiveMode::NonRecursive)?;
        let me = self.clone();
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                tokio::time::sleep(Duration::from_millis(200)).await;
                while rx.try_recv().is_ok() {}
                let _ = me.reload("watch").await;
            }
        });
        Ok(Some(watcher))
    }

    /// Reloads on SIGHUP.
    #[cfg(unix)]
    pub(crate) fn on_sighup(self: &Arc<Self>) {
        let me = self.clone();
        tokio::spawn(async move {
            let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
                tracing::warn!("cannot listen for SIGHUP; reload with POST /v1/admin/reload");
                return;
            };
            while hup.recv().await.is_some() {
                let _ = me.reload("SIGHUP").await;
            }
        });
    }
}
