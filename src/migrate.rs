//! migrate: copies a ledger from one database to another (a SQLite file to
//! PostgreSQL, for the user moving up to several nodes) and verifies the copy:
//! the same number of rows in every table, and the same answers (decision and
//! determining policies) to a sample of decisions asked of both.
//!
//! The target must be empty: a copy never merges. Rows keep their keys
//! (subscription numbers included); generated keys continue after them.

use std::time::Instant;

use serde::Serialize;

use crate::decide::{Engine, Query, Target};
use crate::policy::{PackError, PolicyPack};
use crate::store::{Cell, Store, StoreError, TABLES};
use crate::time::Clock;

/// Rows copied per write transaction.
const CHUNK: i64 = 5_000;

/// Why a copy stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("the target is not empty: it holds {rows} rows in `{table}`; copy into an empty database")]
    TargetNotEmpty { table: String, rows: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the policies cannot serve:\n{0}")]
    Pack(#[from] PackError),
    #[error("{0}")]
    Decide(String),
}

/// What was copied and what the check found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Per table: rows in the source, rows in the target after the copy.
    pub tables: Vec<TableCount>,
    /// Decisions asked of both databases.
    pub sampled: usize,
    /// Those whose answers differ (should be none), described.
    pub differing: Vec<String>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableCount {
    pub table: String,
    pub source: i64,
    pub target: i64,
}

impl Report {
    /// Whether the copy is whole and answers alike.
    pub fn verified(&self) -> bool {
        self.differing.is_empty() && self.tables.iter().all(|t| t.source == t.target)
    }
}

/// Copies every table of `from` into `to` (which must be empty), then checks
/// the counts and `sample` decisions. `progress` shows a bar per table.
pub fn migrate(
    from: &Store,
    to: &Store,
    pack: &PolicyPack,
    sample: usize,
    now: i64,
    progress: bool,
) -> Result<Report, MigrateError> {
    let started = Instant::now();
    for table in TABLES {
        let rows = to.read(|c| c.count_rows(table))?;
        if rows > 0 {
            return Err(MigrateError::TargetNotEmpty {
                table: table.name.to_string(),
                rows,
            });
        }
    }
    let bars = indicatif::MultiProgress::new();
    if !progress {
        bars.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let style = indicatif::ProgressStyle::with_template(
        "{prefix:>20} [{bar:30}] {pos}/{len} rows ({per_sec}, {eta})",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    for table in TABLES {
        let total = from.read(|c| c.count_rows(table))?;
        let bar = bars.add(indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(0)));
        bar.set_style(style.clone());
        bar.set_prefix(table.name);
        let mut offset = 0;
        loop {
            let rows: Vec<Vec<Cell>> = from.read(|c| c.dump(table, offset, CHUNK))?;
            if rows.is_empty() {
                break;
            }
            let n = rows.len();
            // The load records the tenants it fills: their caches go stale.
            to.write_blocking(move |tx| tx.load(table, &rows))?;
            bar.inc(n as u64);
            offset += i64::try_from(n).unwrap_or(CHUNK);
            if (n as i64) < CHUNK {
                break;
            }
        }
        bar.finish();
    }
    to.write_blocking(|tx| tx.after_load())?;

    let mut tables = Vec::new();
    for table in TABLES {
        tables.push(TableCount {
            table: table.name.to_string(),
            source: from.read(|c| c.count_rows(table))?,
            target: to.read(|c| c.count_rows(table))?,
        });
    }
    let (sampled, differing) = compare(from, to, pack, sample, now)?;
    Ok(Report {
        tables,
        sampled,
        differing,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Asks both databases the same decisions: for users spread over the ledger,
/// whether they may open the management interface of their tenant; for
/// operators, whether they may record production.
fn compare(
    from: &Store,
    to: &Store,
    pack: &PolicyPack,
    sample: usize,
    now: i64,
) -> Result<(usize, Vec<String>), MigrateError> {
    let engine = |store: &Store| {
        Engine::with_cache(pack.clone(), store.clone(), Clock::fixed(now), 0).map_err(MigrateError::from)
    };
    let (a, b) = (engine(from)?, engine(to)?);
    let mut queries = Vec::new();
    for (table, action, subject) in [
        ("users", "access_management", "User"),
        ("operators", "record_production", "Operator"),
    ] {
        let Some(t) = TABLES.iter().find(|t| t.name == table) else {
            continue;
        };
        let total = from.read(|c| c.count_rows(t))?;
        let want = i64::try_from(sample / 2).unwrap_or(0).max(1);
        let step = (total / want).max(1);
        let mut offset = 0;
        while offset < total && queries.len() < sample {
            let row = from.read(|c| c.dump(t, offset, 1))?;
            if let Some(row) = row.first()
                && let (Some(Cell::Text(id)), Some(Cell::Text(tenant))) = (row.first(), row.get(1))
            {
                queries.push(Query::new(
                    Target::new(subject, id.clone()),
                    action,
                    Target::new("Tenant", tenant.clone()),
                ));
            }
            offset += step;
        }
    }
    if !pack.info.actions.contains_key("access_management") {
        // Not the licensing pack: nothing to compare but counts.
        return Ok((0, Vec::new()));
    }
    let mut differing = Vec::new();
    for q in &queries {
        let (x, y) = (
            a.decide(q).map_err(|e| MigrateError::Decide(e.to_string()))?,
            b.decide(q).map_err(|e| MigrateError::Decide(e.to_string()))?,
        );
        if (x.allowed, &x.reasons, &x.errors) != (y.allowed, &y.reasons, &y.errors) {
            differing.push(format!(
                "{} {} on {}: source {} {:?}, target {} {:?}",
                q.subject.id,
                q.action.name,
                q.resource.id,
                if x.allowed { "allow" } else { "deny" },
                x.reasons,
                if y.allowed { "allow" } else { "deny" },
                y.reasons
            ));
        }
    }
    Ok((queries.len(), differing))
}
