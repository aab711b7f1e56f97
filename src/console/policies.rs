//! policies: the serving pack (revision, files, every policy with its
//! messages, whether the files on disk were refused and why, with file and
//! line) and the impact of an edit: a changed file, pasted or uploaded, is
//! loaded as a candidate pack beside the serving one (never served), the
//! recent decisions are replayed against it and the scenarios run on it.

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::Session;
use super::layout::{self, Nav};
use super::text::Lang;
use crate::http::AppState;
use crate::policy::{PolicyPack, SourceFile};
use crate::replay::Report;

/// `GET /console/policies`.
pub async fn page(session: Session, State(state): State<AppState>) -> Response {
    render(&session, &state, None, None).await
}

/// What an impact check found: the candidate's problems, or its replay and
/// the scenario files whose answers it changes (file, case, lines).
enum Impact {
    Refused(Vec<String>),
    Ran {
        report: Report,
        scenarios: Option<Vec<(String, String, Vec<String>)>>,
    },
}

async fn render(
    session: &Session,
    state: &AppState,
    form: Option<&ImpactForm>,
    impact: Option<Impact>,
) -> Response {
    let lang = session.lang;
    let pack = state.engine().pack();
    let refused = state.reloader().refused();
    let chosen = form.map_or("", |f| f.file.as_str());
    let status = match &impact {
        Some(Impact::Refused(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let body = html! {
        h1 { (lang.t("nav_policies")) }
        div.grid {
            div.card {
                h2 { (lang.t("pack")) }
                dl {
                    dt { (lang.t("revision")) } dd { code #revision { (pack.revision) } }
                    dt { (lang.t("directory")) }
                    dd { @match state.reloader().dir() { Some(d) => code { (d.display()) }, None => span.muted { (lang.t("embedded")) } } }
                    dt { (lang.t("last_reload")) }
                    dd #reload {
                        @match &refused {
                            None if state.reloader().dir().is_none() => span.muted { (lang.t("reload_embedded")) },
                            None => span.badge.ok { (lang.t("reload_ok")) },
                            Some(r) => div.error {
                                (lang.t("reload_refused")) " " (layout::when(&r.since))
                                ul { @for p in &r.problems { li { code { (p) } } } }
                            },
                        }
                    }
                }
            }
            div.card {
                h2 { (lang.t("files")) }
                ul.files {
                    @for f in &pack.files {
                        li { code { (f.name) } " " span.muted.small { (f.text.lines().count()) " " (lang.t("lines")) } }
                    }
                }
                @if !pack.warnings.is_empty() {
                    h3 { (lang.t("warnings")) }
                    ul { @for w in &pack.warnings { li.small { (w.short()) } } }
                }
            }
        }

        h2 #impact-title { (lang.t("impact")) }
        p.muted { (lang.t("impact_intro")) }
        form.card #impact method="post" action="/console/policies/impact#impact-result" {
            input type="hidden" name="csrf" value=(session.csrf);
            div.row {
                label { (lang.t("file_name"))
                    input type="text" name="file" list="pack-files" value=(chosen) required placeholder="payment.cedar";
                }
                datalist #pack-files { @for f in &pack.files { option value=(f.name) {} } }
                button.small type="button" data-load-current { (lang.t("load_current")) }
                label.small { (lang.t("upload")) input type="file" accept=".cedar,.cedarschema,.yaml" data-upload; }
            }
            label { (lang.t("file_text"))
                textarea name="text" rows="14" spellcheck="false" required { (form.map_or("", |f| f.text.as_str())) }
            }
            button.primary type="submit" { (lang.t("check_impact")) }
        }
        @for f in &pack.files {
            template data-file=(f.name) { (f.text) }
        }
        @if let Some(impact) = &impact { (impact_view(lang, impact)) }

        h2 { (lang.t("nav_policies")) }
        table.list #policies {
            thead { tr {
                th { (lang.t("policy")) } th { (lang.t("effect")) } th { (lang.t("file")) }
                th { (lang.t("description")) } th { (lang.t("message")) }
            } }
            tbody {
                @for m in pack.meta.values() {
                    tr data-policy=(m.id) {
                        td { code { (m.id) } }
                        td { span class={ "badge effect-" (format!("{:?}", m.effect).to_lowercase()) } { (format!("{:?}", m.effect).to_lowercase()) } }
                        td.small { (m.file) ":" (m.line) }
                        td.small { (m.description.as_deref().unwrap_or("")) }
                        td.small { @if !m.messages.is_empty() { (lang.pick(&m.messages)) } }
                    }
                }
            }
        }
    };
    (
        status,
        layout::page(session, lang.t("nav_policies"), Nav::Policies, body),
    )
        .into_response()
}

fn impact_view(lang: Lang, impact: &Impact) -> Markup {
    html! {
        section.card #impact-result {
            @match impact {
                Impact::Refused(problems) => {
                    div.error role="alert" {
                        strong { (lang.t("candidate_refused")) }
                        ul { @for p in problems { li { code { (p) } } } }
                    }
                }
                Impact::Ran { report, scenarios } => {
                    p {
                        (lang.t("candidate")) " " code { (report.candidate_revision) } " · "
                        strong #replayed { (report.replayed) } " " (lang.t("replayed"))
                    }
                    h3 { (lang.t("flips")) " (" span #flip-count { (report.flips.len()) } ")" }
                    @if report.flips.is_empty() { p.muted { (lang.t("no_flips")) } }
                    @else { (flips_table(lang, &report.flips)) }
                    @if !report.changed.is_empty() {
                        h3 { (lang.t("changed")) " (" (report.changed.len()) ")" }
                        (flips_table(lang, &report.changed))
                    }
                    h3 { (lang.t("scenarios")) }
                    @match scenarios {
                        None => p.muted { (lang.t("scenarios_off")) },
                        Some(list) if list.is_empty() => p { (lang.t("scenarios_unchanged")) },
                        Some(list) => {
                            table.list #scenario-changes {
                                thead { tr { th { (lang.t("file")) } th { (lang.t("case")) } th { (lang.t("changes")) } } }
                                tbody {
                                    @for (file, case, lines) in list {
                                        tr { td { code { (file) } } td { (case) } td.small { @for l in lines { div { code { (l) } } } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn flips_table(lang: Lang, flips: &[crate::replay::Flip]) -> Markup {
    html! {
        table.list.flips {
            thead { tr {
                th { (lang.t("time")) } th { (lang.t("subject")) } th { (lang.t("action")) } th { (lang.t("resource")) }
                th { (lang.t("was")) } th { (lang.t("now")) } th { (lang.t("changes")) }
            } }
            tbody {
                @for f in flips {
                    tr data-decision=(f.decision_id) {
                        td.small { (layout::when(&f.time)) }
                        td { code { (f.principal) } }
                        td { (f.action) }
                        td { code { (f.resource) } }
                        td { @if f.was { span.badge.ok { (lang.t("allow")) } } @else { span.badge.locked { (lang.t("deny")) } } }
                        td { @if f.now { span.badge.ok { (lang.t("allow")) } } @else { span.badge.locked { (lang.t("deny")) } } }
                        td.small { @for c in &f.changes { div { code { (c.to_string()) } } } }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct ImpactForm {
    #[serde(default)]
    csrf: String,
    file: String,
    text: String,
}

/// `POST /console/policies/impact`: what the edited file would change.
pub async fn impact(
    session: Session,
    State(state): State<AppState>,
    Form(form): Form<ImpactForm>,
) -> Response {
    if let Some(refused) = session.forged(&form.csrf) {
        return refused;
    }
    let result = check_impact(&state, &form).await;
    render(&session, &state, Some(&form), Some(result)).await
}

async fn check_impact(state: &AppState, form: &ImpactForm) -> Impact {
    let serving = state.engine().pack();
    let name = form.file.trim().to_string();
    let valid_name = !name.is_empty()
        && !name.contains(['/', '\\'])
        && !name.starts_with('.')
        && (name.ends_with(".cedar") || name.ends_with(".cedarschema") || name.ends_with(".yaml"));
    if !valid_name {
        return Impact::Refused(vec![format!(
            "`{name}`: a file name of the pack (`*.cedar`, `schema.cedarschema`, `messages.yaml`)"
        )]);
    }
    let mut files: Vec<SourceFile> = serving.files.iter().filter(|f| f.name != name).cloned().collect();
    files.push(SourceFile {
        name,
        text: form.text.replace("\r\n", "\n"),
    });
    let dir = serving.dir.clone();
    let (store, recent) = (
        state.engine().store().clone(),
        state.engine().log().map(|l| l.recent()).unwrap_or_default(),
    );
    let baseline = (*serving).clone();
    let replayed = tokio::task::spawn_blocking(move || {
        let candidate = PolicyPack::from_files(&dir, files)
            .and_then(|p| crate::contract::check(&p).map(|()| p))
            .map_err(|e| {
                e.problems
                    .iter()
                    .map(crate::policy::Problem::short)
                    .collect::<Vec<_>>()
            })?;
        let entries: Vec<Result<crate::decision_log::Entry, String>> = recent.into_iter().map(Ok).collect();
        let report = crate::replay::replay(&store, baseline, candidate.clone(), &entries, "authzen")
            .map_err(|e| vec![e.to_string()])?;
        Ok::<_, Vec<String>>((report, candidate))
    })
    .await;
    let (report, candidate) = match replayed {
        Ok(Ok(r)) => r,
        Ok(Err(problems)) => return Impact::Refused(problems),
        Err(e) => return Impact::Refused(vec![e.to_string()]),
    };
    let scenarios = match state.scenarios() {
        None => None,
        Some(dir) => Some(scenario_changes(dir, &candidate).await),
    };
    Impact::Ran { report, scenarios }
}

/// The scenario cases whose answers (or expectations) the candidate changes.
async fn scenario_changes(
    dir: &std::path::Path,
    candidate: &PolicyPack,
) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    let files = crate::scenario::files(dir).unwrap_or_default();
    for file in files {
        let shown = file.strip_prefix(dir).unwrap_or(&file).display().to_string();
        match crate::scenario::run_file(&file, candidate.clone()).await {
            Ok(outcome) => {
                for case in outcome.cases.iter().filter(|c| !c.passed()) {
                    let lines = case.failures.iter().chain(&case.changed).cloned().collect();
                    out.push((shown.clone(), case.name.clone(), lines));
                }
            }
            Err(e) => out.push((shown, String::new(), vec![e.to_string()])),
        }
    }
    out
}
