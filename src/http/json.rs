//! The JSON body extractor: every malformed body gets the same error shape.
//!
//! AuthZEN asks for 400 (not axum's 415/422) when the content type is not JSON,
//! the body is empty or malformed; the ledger follows suit.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;

/// A JSON body parsed into `T`.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                essence == "application/json"
                    || (essence.starts_with("application/") && essence.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::BadRequest {
                code: "unsupported_content_type",
                message: "the body must be JSON, sent with `Content-Type: application/json`".into(),
                field: None,
            });
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::bad_request(format!("cannot read the body: {e}"))
            }
        })?;
        parse(&bytes).map(Json)
    }
}

/// Parses a JSON body, naming where it went wrong.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest {
            code: "empty_body",
            message: "the body is empty; a JSON object is expected".into(),
            field: None,
        });
    }
    // One pass builds the value and refuses an object naming a key twice:
    // JSON parsers disagree on `{"a": 1, "a": 2}` (first or last wins), so a
    // body that says two things is refused rather than read one way.
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde::de::DeserializeSeed::deserialize(UniqueKeys, &mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| {
            if e.classify() == serde_json::error::Category::Data {
                ApiError::BadRequest {
                    code: "duplicate_key",
                    message: e
                        .to_string()
                        .split(" at line ")
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                    field: None,
                }
            } else {
                ApiError::BadRequest {
                    code: "malformed_json",
                    message: format!("the body is not valid JSON: {e}"),
                    field: None,
                }
            }
        })?;
    from_value(value)
}

/// Builds a JSON value, failing on an object that names a key twice.
struct UniqueKeys;

impl<'de> serde::de::DeserializeSeed<'de> for UniqueKeys {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(UniqueKeys)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueKeys {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(UniqueKeys)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "the key `{key}` appears twice in one object; send each key once"
                )));
            }
            let v = map.next_value_seed(UniqueKeys)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// Turns a parsed JSON value into `T`, naming where it went wrong.
pub(crate) fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    let path_err = |e: serde_path_to_error::Error<serde_json::Error>| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let inner = inner.split(" at line ").next().unwrap_or(&inner).to_string();
        if path == "." {
            // serde says "missing field `x`": name the field.
            match inner
                .strip_prefix("missing field `")
                .and_then(|r| r.split('`').next())
            {
                Some(field) => ApiError::invalid_field(field, format!("`{field}` is required")),
                None => ApiError::bad_request(inner),
            }
        } else {
            ApiError::invalid_field(path.clone(), format!("`{path}`: {inner}"))
        }
    };
    serde_path_to_error::deserialize(value).map_err(path_err)
}

/// A JSON object body parsed into `T`. serde also fills a struct from an array,
/// field by field in order (`["acme", "Acme"]` as `{id, name}`): bodies that are
/// records must be objects.
pub(crate) struct JsonObject<T>(pub T);

impl<S, T> FromRequest<S> for JsonObject<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<Value>::from_request(req, state).await?;
        if !value.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        from_value(value).map(JsonObject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_named_twice_is_refused_and_nesting_is_checked_too() {
        let ok: Result<Value, ApiError> = parse(br#"{"a": 1, "b": {"a": 2}, "c": [{"a": 1}, {"a": 2}]}"#);
        assert!(ok.is_ok());
        for body in [
            &br#"{"a": 1, "a": 2}"#[..],
            br#"{"s": {"x": 1, "x": 1}}"#,
            br#"[{"k": "v", "k": "w"}]"#,
        ] {
            let err = parse::<Value>(body).unwrap_err();
            assert!(
                matches!(&err, ApiError::BadRequest { code: "duplicate_key", message, .. } if message.contains("twice")),
                "{err:?}"
            );
        }
    }
}
