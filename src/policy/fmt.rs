//! fmt: policy files in the official Cedar layout (cedar-policy-formatter,
//! the formatter of the Cedar CLI), so reviews show only what changed.

use std::path::{Path, PathBuf};

/// Formats one policy file's text; `Err` names what could not be parsed.
pub fn format(text: &str) -> Result<String, String> {
    let config = cedar_policy_formatter::Config::default();
    cedar_policy_formatter::policies_str_to_pretty(text, &config).map_err(|e| format!("{e:?}"))
}

/// One file's result.
#[derive(Debug)]
pub(crate) struct Formatted {
    pub path: PathBuf,
    /// Whether formatting changes it.
    pub changed: bool,
    pub error: Option<String>,
}

/// Formats every `*.cedar` file in `dir`; writes them unless `check`.
pub(crate) fn format_dir(dir: &Path, check: bool) -> std::io::Result<Vec<Formatted>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cedar"))
        .collect();
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(&path)?;
        match format(&text) {
            Ok(pretty) => {
                let changed = pretty != text;
                if changed && !check {
                    std::fs::write(&path, &pretty)?;
                }
                out.push(Formatted {
                    path,
                    changed,
                    error: None,
                });
            }
            Err(e) => out.push(Formatted {
                path,
                changed: false,
                error: Some(e),
            }),
        }
    }
    Ok(out)
}
