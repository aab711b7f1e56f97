//! Data in and out: `import`, `migrate-data`, `bench-data`, and the database argument.

use super::*;

pub(super) fn migrate_data(
    from: &Location,
    to: &Location,
    policies: Option<PathBuf>,
    sample: usize,
) -> ExitCode {
    let result = (|| -> Result<crate::migrate::Report, String> {
        if from == to {
            return Err("`--from` and `--to` name the same database".into());
        }
        let policies = policies.or_else(|| {
            let default = PathBuf::from("policies");
            default
                .join(crate::policy::SCHEMA_FILE)
                .exists()
                .then_some(default)
        });
        let pack = server::load_pack(policies.as_deref()).map_err(|e| e.to_string())?;
        let source = open_existing(from)?;
        let target = Store::open_at(to).map_err(|e| e.to_string())?;
        let now = jiff::Timestamp::now().as_second();
        let report =
            crate::migrate::migrate(&source, &target, &pack, sample, now, true).map_err(|e| e.to_string())?;
        source.close();
        target.close();
        Ok(report)
    })();
    match result {
        Ok(report) => {
            for t in &report.tables {
                let mark = if t.source == t.target { "ok" } else { "MISMATCH" };
                println!("{:>20}: {:>9} → {:>9}  {mark}", t.table, t.source, t.target);
            }
            println!(
                "{} decisions asked of both: {} differ; copied in {:.1} s from {from} to {to}",
                report.sampled,
                report.differing.len(),
                report.seconds
            );
            for d in &report.differing {
                println!("  differs: {d}");
            }
            if report.verified() {
                println!("verified: the copy is whole and answers alike");
                ExitCode::SUCCESS
            } else {
                eprintln!("error: the copy does not match its source");
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--db`, checked.
pub(super) fn location(s: &str) -> Result<Location, String> {
    Location::parse(s)
}

/// Opens a database that must exist already (a SQLite file is not created).
pub(super) fn open_existing(db: &Location) -> Result<Store, String> {
    if let Location::Sqlite(path) = db
        && !path.exists()
    {
        return Err(format!("no database at `{}`", path.display()));
    }
    Store::open_at(db).map_err(|e| e.to_string())
}

pub(super) fn import(db: &Location, policies: &Path, file: &Path) -> ExitCode {
    let result = (|| -> Result<usize, String> {
        let pack = PolicyPack::load(policies).map_err(|e| e.to_string())?;
        let text =
            std::fs::read_to_string(file).map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("`{}` is not valid JSON: {e}", file.display()))?;
        let store = Store::open_at(db).map_err(|e| e.to_string())?;
        let n = crate::import::import_blocking(&store, &pack, &json).map_err(|e| match &e {
            // Point into the file: `entities.json:12: entity 3: ...`.
            crate::import::ImportError::Malformed { index, .. }
            | crate::import::ImportError::LedgerType { index, .. } => {
                match crate::import::element_lines(&text).get(*index) {
                    Some(line) => format!("{}:{line}: {e}", file.display()),
                    None => format!("{}: {e}", file.display()),
                }
            }
            _ => format!("{}: {e}", file.display()),
        })?;
        store.close();
        Ok(n)
    })();
    match result {
        Ok(n) => {
            println!("imported {n} entities into {db}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(super) fn bench_data(db: &Location, entities: usize, now: Option<&str>) -> ExitCode {
    let result = (|| -> Result<crate::bench_data::Generated, String> {
        if let Location::Sqlite(path) = db
            && path.exists()
        {
            return Err(format!("`{}` exists already; choose a new file", path.display()));
        }
        let now = match now {
            Some(t) => crate::time::parse(t)?,
            None => jiff::Timestamp::now().as_second(),
        };
        let store = Store::open_at(db).map_err(|e| e.to_string())?;
        if !store
            .read(|c| c.tenants_of_account("a0"))
            .map_err(|e| e.to_string())?
            .is_empty()
        {
            store.close();
            return Err(format!(
                "`{db}` holds a generated ledger already; give an empty database"
            ));
        }
        let shape = crate::bench_data::Shape::for_entities(entities);
        let g = crate::bench_data::generate(&store, shape, now).map_err(|e| e.to_string())?;
        store.close();
        Ok(g)
    })();
    match result {
        Ok(g) => {
            println!(
                "generated {} entities ({} tenants × {} users and {} operators; {} rows) in {:.1}s into {}",
                g.entities, g.shape.tenants, g.shape.users, g.shape.operators, g.rows, g.seconds, db
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
