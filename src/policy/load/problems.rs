//! What is wrong with a pack: each problem located by file, line and column, rendered as Cedar renders its own, and the error that lists them all.

use super::*;

/// One thing wrong with a pack, located where possible.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub policy: Option<String>,
    /// One line: what is wrong.
    pub message: String,
    /// The Cedar-style report with the offending source lines.
    #[serde(skip)]
    pub rendered: String,
}

impl Problem {
    pub(super) fn plain(file: Option<&str>, message: impl Into<String>) -> Self {
        let message = message.into();
        let rendered = match file {
            Some(f) => format!("  × {f}: {message}\n"),
            None => format!("  × {message}\n"),
        };
        Self {
            file: file.map(str::to_string),
            line: None,
            column: None,
            policy: None,
            message,
            rendered,
        }
    }

    /// A problem at a line of a file.
    pub(super) fn at(file: &str, line: usize, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            file: Some(file.to_string()),
            line: Some(line),
            column: Some(1),
            policy: None,
            rendered: format!("  × {file}:{line}:1: {message}\n"),
            message,
        }
    }

    pub(super) fn from_diagnostic(diag: &dyn Diagnostic, file: &SourceFile, policy: Option<&str>) -> Self {
        let message = one_line(diag);
        let offset = diag.labels().and_then(|mut l| l.next()).map(|l| l.offset());
        let (line, column) = match offset {
            Some(o) => {
                let (l, c) = line_col(&file.text, o);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        let located = Located {
            inner: diag,
            source: NamedSource::new(file.name.clone(), file.text.clone()),
        };
        let mut rendered = String::new();
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
        if handler.render_report(&mut rendered, &located).is_err() {
            rendered = format!("  × {}: {message}\n", file.name);
        }
        Self {
            file: Some(file.name.clone()),
            line,
            column,
            policy: policy.map(str::to_string),
            message,
            rendered,
        }
    }

    /// `file:line:column: message`, the form editors and CI logs understand.
    pub fn short(&self) -> String {
        match (&self.file, self.line, self.column) {
            (Some(f), Some(l), Some(c)) => format!("{f}:{l}:{c}: {}", self.message),
            (Some(f), _, _) => format!("{f}: {}", self.message),
            _ => self.message.clone(),
        }
    }
}

/// A diagnostic shown against a named file, whatever source it carried.
pub(super) struct Located<'a> {
    inner: &'a dyn Diagnostic,
    source: NamedSource<String>,
}

impl fmt::Debug for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.inner, f)
    }
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.inner, f)
    }
}

impl std::error::Error for Located<'_> {}

impl Diagnostic for Located<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.code()
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.inner.severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.help()
    }
    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.url()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.inner.labels()
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        self.inner.related()
    }
    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.inner.diagnostic_source()
    }
}

pub(super) fn one_line(diag: &dyn Diagnostic) -> String {
    let mut msg = diag.to_string();
    if let Some(help) = diag.help() {
        msg.push_str(&format!(" (help: {help})"));
    }
    msg.replace('\n', " ")
}

pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

/// Everything that stops a pack from serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackError {
    pub problems: Vec<Problem>,
}

impl PackError {
    pub(super) fn one(problem: Problem) -> Self {
        Self {
            problems: vec![problem],
        }
    }
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{n} problem{} in the policy pack",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n{}", p.rendered.trim_end())?;
        }
        Ok(())
    }
}

impl std::error::Error for PackError {}
