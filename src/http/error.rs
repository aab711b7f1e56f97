//! The one HTTP error type: the only place that knows status codes.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::decide::{DecideError, Decision};
use crate::policy::Messages;
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
    /// A policy refused the change (403).
    #[error("refused by policy")]
    Forbidden(Box<Decision>),
    /// The body is larger than the service accepts (413).
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// The service cannot serve yet (503).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: logged in full, opaque to the caller (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
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

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unprocessable {
            code,
            message: message.into(),
            field: None,
            details: None,
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
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
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> Value {
        let en = |m: &str| json!({ "en": m });
        let mut err = match self {
            ApiError::BadRequest { code, message, .. }
            | ApiError::Unprocessable { code, message, .. }
            | ApiError::Conflict { code, message, .. } => json!({"code": code, "message": en(message)}),
            ApiError::NotFound(what) => {
                json!({"code": "not_found", "message": en(&format!("{what} not found"))})
            }
            ApiError::Unauthorized => json!({
                "code": "unauthorized",
                "message": en("a valid admin token is required: `Authorization: Bearer <token>`"),
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
        (self.status(), Json(self.body())).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<DecideError> for ApiError {
    fn from(e: DecideError) -> Self {
        match e {
            DecideError::BadInput(m) => ApiError::bad_request(m),
            DecideError::Store(e) => e.into(),
            DecideError::NeedsIo => ApiError::Internal("a decision needed the database unexpectedly".into()),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal(e.to_string())
    }
}
