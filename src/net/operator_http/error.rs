//! CAMARA error bodies `{status, code, message}` and the JSON body extractor that names the field.

use std::time::Duration;

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::operator::network::{ActionError, FaultError};

/// An error answered as a CAMARA `ErrorInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }

    /// A field that failed validation; the message starts with the field's path.
    pub fn field(field: &str, message: impl std::fmt::Display) -> Self {
        ApiError::invalid(format!("{field}: {message}"))
    }

    pub fn unauthenticated() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request not authenticated due to missing, invalid, or expired credentials. A new authentication is required.",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "PERMISSION_DENIED", message)
    }

    pub fn not_found() -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The specified resource is not found.",
        )
    }

    pub fn identifier_not_found() -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "IDENTIFIER_NOT_FOUND",
            "The device identifier provided is not associated with a customer account",
        )
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, "CONFLICT", message)
    }

    pub fn too_many(message: impl Into<String>, retry_after: Duration) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", message)
        }
    }
}

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::NotFound => ApiError::not_found(),
            ActionError::InvalidArgument { field, message } => ApiError::field(field, message),
            ActionError::Conflict(m) => ApiError::conflict(m),
            ActionError::RateLimited { what, retry_after } => {
                ApiError::too_many(format!("Rate limit reached: {what}."), retry_after)
            }
        }
    }
}

impl From<FaultError> for ApiError {
    fn from(e: FaultError) -> Self {
        match e {
            FaultError::Invalid { field, message } => ApiError::field(field, message),
            FaultError::Conflict(m) => ApiError::conflict(m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "status": self.status.as_u16(),
            "code": self.code,
            "message": self.message,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(after) = self.retry_after {
            let secs = after.as_secs_f64().ceil().max(1.0) as u64;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A JSON body whose errors are 400 INVALID_ARGUMENT naming the field (`device.phoneNumber: ...`).
#[derive(Debug, Clone)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::invalid(format!("cannot read the request body: {e}")))?;
        parse_body(&bytes).map(Body)
    }
}

/// Parses JSON, naming the path of the offending field.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "the request body is empty; a JSON object is required",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::invalid(format!("malformed JSON: {inner}"));
        }
        // The position adds nothing to a message that names the field.
        let text = inner.to_string();
        let text = text
            .rfind(" at line ")
            .map_or(text.as_str(), |i| &text[..i]);
        if path == "." {
            ApiError::invalid(format!("body: {text}"))
        } else {
            ApiError::field(&path, text)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Outer {
        #[allow(dead_code)]
        device: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Inner {
        #[allow(dead_code)]
        phone_number: u32,
    }

    #[test]
    fn rejects_bodies_naming_the_field() {
        let e = parse_body::<Outer>(br#"{"device":{"phoneNumber":"x"}}"#).unwrap_err();
        assert!(
            e.message.starts_with("device.phoneNumber: invalid type"),
            "{}",
            e.message
        );
        let e = parse_body::<Outer>(br#"{"device":{}}"#).unwrap_err();
        assert!(
            e.message.starts_with("device: missing field `phoneNumber`"),
            "{}",
            e.message
        );
        let e = parse_body::<Outer>(br#"{"device": "#).unwrap_err();
        assert!(e.message.starts_with("malformed JSON"), "{}", e.message);
        let e = parse_body::<Outer>(b"").unwrap_err();
        assert_eq!(e.code, "INVALID_ARGUMENT");
    }
}

/// Query parameters whose errors are CAMARA 400s.
#[derive(Debug, Clone)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Params)
            .map_err(|e| {
                let path = e.path().to_string();
                ApiError::field(if path == "." { "query" } else { &path }, e.into_inner())
            })
    }
}
