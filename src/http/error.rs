//! The one HTTP error type: the only place that knows status codes.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::decide::{DecideError, Decision};
use crate::policy::{Messages, Problem};
use crate::store::StoreError;

/// Everything an endpoint can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed or invalid input (400).
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// Well-formed input that cannot be applied as it stands (422).
    #[error("{message}")]
    Unprocessable {
        code: &'static str,
        message: String,
        field: Option<String>,
        details: Option<Box<Value>>,
    },
    /// An id that names nothing (404).
    #[error("{0} not found")]
    NotFound(String),
    /// A duplicate or a state that forbids the change (409).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// No or a wrong admin token (401).
    #[error("a valid admin token is required")]
    Unauthorized,
    /// No or a wrong PEP token on a decision or search route (401), when the
    /// service asks for one.
    #[error("a valid decision token is required")]
    DecisionUnauthorized,
    /// A policy refused the change (403).
    #[error("refused by policy")]
    Forbidden(Box<Decision>),
    /// The body is larger than the service accepts (413).
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// The headers are larger, or more, than the service accepts (431).
    #[error("the request headers are too large")]
    HeadersTooLarge,
    /// The service cannot serve yet (503).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: logged in full, opaque to the caller (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code: "invalid_request",
            message: message.into(),
            field: None,
        }
    }

    /// A 400 naming the offending field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code: "invalid_field",
            message: message.into(),
            field: Some(field.into()),
        }
    }

    pub(crate) fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unprocessable {
            code,
            message: message.into(),
            field: None,
            details: None,
        }
    }

    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::NotFound(what.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unauthorized | ApiError::DecisionUnauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body this error answers with (`{"error": {...}}`).
    pub(crate) fn body(&self) -> Value {
        let en = |m: &str| json!({ "en": m });
        let mut err = match self {
            ApiError::BadRequest { code, message, .. }
            | ApiError::Unprocessable { code, message, .. }
            | ApiError::Conflict { code, message, .. } => json!({"code": code, "message": en(message)}),
            ApiError::NotFound(what) if what == "route" => json!({
                "code": "not_found",
                "message": {"en": "route not found", "fr": "route introuvable"},
            }),
            ApiError::NotFound(what) => {
                json!({"code": "not_found", "message": en(&format!("{what} not found"))})
            }
            ApiError::Unauthorized => json!({
                "code": "unauthorized",
                "message": {
                    "en": "a valid admin token is required: `Authorization: Bearer <token>`",
                    "fr": "un jeton d'administration valide est requis : `Authorization: Bearer <jeton>`",
                },
            }),
            ApiError::DecisionUnauthorized => json!({
                "code": "unauthorized",
                "message": {
                    "en": "a valid decision token is required: `Authorization: Bearer <token>`, one of the service's --decision-token",
                    "fr": "un jeton de décision valide est requis : `Authorization: Bearer <jeton>`, l'un des --decision-token du service",
                },
            }),
            ApiError::Forbidden(d) => {
                let message = d.message.clone().unwrap_or_else(|| {
                    Messages(
                        [
                            ("en".to_string(), "No policy permits this operation".to_string()),
                            (
                                "fr".to_string(),
                                "Aucune règle n'autorise cette opération".to_string(),
                            ),
                        ]
                        .into(),
                    )
                });
                let mut e = json!({
                    "code": d.code.clone().unwrap_or_else(|| "not_permitted".into()),
                    "message": message,
                    "policies": d.reasons,
                });
                if !d.errors.is_empty() {
                    e["errors"] = json!(d.errors);
                }
                if !d.unknown.is_empty() {
                    e["unknown"] = json!(d.unknown);
                }
                e
            }
            ApiError::PayloadTooLarge => {
                json!({"code": "payload_too_large", "message": en("the request body is too large")})
            }
            ApiError::HeadersTooLarge => json!({
                "code": "headers_too_large",
                "message": {
                    "en": format!("the request headers are too large: at most {} headers, {} KiB in all, {} KiB each", super::MAX_HEADERS, super::MAX_HEADER_BYTES / 1024, super::MAX_HEADER_VALUE / 1024),
                    "fr": format!("les en-têtes de la requête sont trop grands : au plus {} en-têtes, {} Kio en tout, {} Kio chacun", super::MAX_HEADERS, super::MAX_HEADER_BYTES / 1024, super::MAX_HEADER_VALUE / 1024),
                },
            }),
            ApiError::Unavailable(m) => json!({"code": "unavailable", "message": en(m)}),
            ApiError::Internal(_) => {
                json!({"code": "internal", "message": en("internal error; see the server log")})
            }
        };
        match self {
            ApiError::BadRequest { field: Some(f), .. }
            | ApiError::Unprocessable { field: Some(f), .. }
            | ApiError::Conflict { field: Some(f), .. } => {
                err["field"] = json!(f);
            }
            _ => {}
        }
        if let ApiError::Unprocessable { details: Some(d), .. } = self {
            err["details"] = (**d).clone();
        }
        json!({ "error": err })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let mut resp = (self.status(), Json(self.body())).into_response();
        if self.status() == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if matches!(e, StoreError::Unrepresentable) {
            return ApiError::bad_request("text with a NUL character cannot be stored");
        }
        if e.is_unavailable() {
            tracing::warn!(error = %e, "the database is unavailable");
            ApiError::Unavailable(
                "the database is unavailable; nothing was changed, try again shortly".into(),
            )
        } else {
            ApiError::Internal(e.to_string())
        }
    }
}

impl From<DecideError> for ApiError {
    fn from(e: DecideError) -> Self {
        match e {
            DecideError::BadInput(m) => ApiError::bad_request(m),
            DecideError::Store(e) => e.into(),
            DecideError::Stale(m) => ApiError::Unavailable(m),
            DecideError::NeedsIo => ApiError::Internal("a decision needed the database unexpectedly".into()),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

// ------------------------------------------------------------ the documented shape

/// The body of every error answer, as [`ApiError`] writes it (the OpenAPI
/// document's schema; a test below keeps the two in step).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail {
    /// A stable code: `invalid_request`, `invalid_field`, `empty_body`,
    /// `malformed_json`, `unsupported_content_type` (400); `unauthorized` (401);
    /// the refusing policy's `@code`, else `not_permitted` (403); `not_found`
    /// (404); `method_not_allowed` (405); `duplicate` and other state conflicts
    /// (409); `payload_too_large`
    /// (413); `invalid_field`, `tenant_required`, `invalid_entities`,
    /// `invalid_policies` (422); `internal` (500); `unavailable` (503).
    pub code: String,
    /// In English, and in the other languages the refusing policy speaks (403).
    pub message: Messages,
    /// The field at fault, as a path such as `subject.id` or `levels.reports`.
    #[schema(nullable = false)]
    pub field: Option<String>,
    /// 422 only: more about what cannot be applied.
    #[schema(nullable = false)]
    pub details: Option<ErrorDetails>,
    /// 403 only: the ids of the policies that refused, sorted.
    #[schema(nullable = false)]
    pub policies: Option<Vec<String>>,
    /// 403 only: evaluation errors (each one denies), sorted.
    #[schema(nullable = false)]
    pub errors: Option<Vec<String>>,
    /// 403 only: why the request could not be evaluated at all.
    #[schema(nullable = false)]
    pub unknown: Option<Vec<String>>,
}

/// The `details` of a 422.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ErrorDetails {
    /// `tenant_required`: the account's tenants, one of which must be named.
    #[schema(title = "TenantCandidates")]
    Candidates { candidates: Vec<String> },
    /// `invalid_policies`: every problem of the refused policy set.
    #[schema(title = "PolicyProblems")]
    Problems { problems: Vec<Problem> },
}

/// Reusable error responses: status and description over [`ErrorBody`].
macro_rules! error_responses {
    ($($name:ident => $description:literal,)*) => {$(
        #[doc = $description]
        pub struct $name;

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, utoipa::openapi::RefOr<utoipa::openapi::response::Response>) {
                use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
                let content = ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build();
                let response = ResponseBuilder::new()
                    .description($description)
                    .content("application/json", content)
                    .build();
                (stringify!($name), response.into())
            }
        }
    )*};
}

error_responses! {
    BadRequest => "Bad input: the body is not JSON sent as `application/json`, is empty or malformed, \
        or a field is missing or has the wrong type; `field` names it.",
    Unauthorized => "No or a wrong admin token: `Authorization: Bearer <token>`.",
    DecisionUnauthorized => "No or a wrong decision token: the service was started with `--decision-token` \
        and every decision or search must carry one of them as `Authorization: Bearer <token>`.",
    Forbidden => "Refused by policy: `code` and `message` (in every language the policy speaks) \
        come from the refusing policy, `policies` lists the determining ones.",
    NotFound => "An id in the path (or the body) names nothing.",
    Conflict => "A duplicate id or number, or a state that does not allow the change.",
    PayloadTooLarge => "The body is larger than the service accepts.",
    Unprocessable => "Well-formed input that cannot be applied as it stands; `field` names the field \
        at fault, `details` may say more.",
    Internal => "Internal error: opaque to the caller, logged in full by the service.",
    Unavailable => "The service cannot serve yet: the database cannot be read.",
}

/// Gives an error (the `error` object of an answer) the pack's words: when
/// the catalogue has its `code` (and no policy refused, whose own message
/// stands), `message` becomes the catalogue's text in every language, filled.
/// Returns whether it changed.
pub(crate) fn speak(pack: &crate::policy::PolicyPack, error: &mut serde_json::Value) -> bool {
    let texts = error
        .get("code")
        .and_then(serde_json::Value::as_str)
        .filter(|_| error.get("policies").is_none())
        .and_then(|code| pack.catalogue.get(code));
    let Some(texts) = texts else {
        return false;
    };
    let filled = texts.fill(&placeholders(error));
    error["message"] = serde_json::json!(filled);
    true
}

/// What an error says to a person: its status, its message in every
/// language it has (the pack's words where the catalogue has them), and the
/// policies that refused, if a policy did. Logs what the caller is not shown.
pub(crate) fn error_words(
    pack: &crate::policy::PolicyPack,
    err: &ApiError,
) -> (axum::http::StatusCode, crate::policy::Messages, Vec<String>) {
    if let ApiError::Internal(cause) = err {
        tracing::error!(%cause, "request failed");
    }
    let mut body = err.body();
    if let Some(error) = body.get_mut("error") {
        speak(pack, error);
    }
    let messages = serde_json::from_value(body["error"]["message"].clone()).unwrap_or_default();
    let policies = serde_json::from_value(body["error"]["policies"].clone()).unwrap_or_default();
    (err.status(), messages, policies)
}

/// What a catalogue text's `{key}` may name: the error's `details.key`, else
/// its own `key` (a list as `a, b`).
fn placeholders(error: &serde_json::Value) -> Vec<(String, String)> {
    [error.get("details"), Some(error)]
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_object)
        .flat_map(|map| map.iter())
        .filter_map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string()))
                    .collect::<Vec<_>>()
                    .join(", "),
                serde_json::Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((k.clone(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;
    use utoipa::PartialSchema;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;

    use super::*;

    fn properties(schema: RefOr<Schema>) -> (BTreeSet<String>, BTreeSet<String>) {
        match schema {
            RefOr::T(Schema::Object(o)) => (
                o.properties.keys().cloned().collect(),
                o.required.into_iter().collect(),
            ),
            _ => panic!("not an object schema"),
        }
    }

    fn every_error() -> Vec<ApiError> {
        let decision = Decision {
            id: "01J".into(),
            allowed: false,
            reasons: vec!["r5-seats".into()],
            errors: vec!["oops".into()],
            message: None,
            code: Some("seats_exhausted".into()),
            notices: Vec::new(),
            unknown: vec!["User::\"x\"".into()],
            policy_revision: "rev".into(),
            data_revision: 1,
            tenant: None,
        };
        vec![
            ApiError::bad_request("bad"),
            ApiError::invalid_field("subject.id", "bad"),
            ApiError::Unprocessable {
                code: "tenant_required",
                message: "name one".into(),
                field: Some("tenant".into()),
                details: Some(Box::new(serde_json::json!({"candidates": ["a", "b"]}))),
            },
            ApiError::Unprocessable {
                code: "invalid_policies",
                message: "refused".into(),
                field: None,
                details: Some(Box::new(serde_json::json!({"problems": [{"message": "x"}]}))),
            },
            ApiError::not_found("tenant `x`"),
            ApiError::Conflict {
                code: "duplicate",
                message: "exists".into(),
                field: Some("id".into()),
            },
            ApiError::Unauthorized,
            ApiError::DecisionUnauthorized,
            ApiError::Forbidden(Box::new(decision)),
            ApiError::PayloadTooLarge,
            ApiError::Unavailable("later".into()),
            ApiError::Internal("boom".into()),
        ]
    }

    #[test]
    fn every_error_body_has_the_documented_shape() {
        let (top, top_required) = properties(ErrorBody::schema());
        let (detail, detail_required) = properties(ErrorDetail::schema());
        for e in every_error() {
            let body = e.body();
            let keys: BTreeSet<String> = body.as_object().unwrap().keys().cloned().collect();
            assert!(keys.is_subset(&top) && top_required.is_subset(&keys), "{body}");
            let err = body["error"].as_object().unwrap();
            let keys: BTreeSet<String> = err.keys().cloned().collect();
            assert!(keys.is_subset(&detail), "{body} has keys the schema lacks");
            assert!(detail_required.is_subset(&keys), "{body} lacks required keys");
            assert!(err["message"]["en"].is_string(), "{body}");
            if let Some(Value::Object(d)) = err.get("details") {
                assert!(
                    d.contains_key("candidates") || d.contains_key("problems"),
                    "{body}"
                );
            }
        }
    }
}
