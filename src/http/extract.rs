//! Extractors whose rejections use our error envelope and name every failing field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::input;

/// A JSON object body, not yet typed. A route that reads one requires it: a missing or empty
/// body, or `null`, is a 400 like any other body that is not an object.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match read_object(req, state).await? {
            Some(v) => Ok(Self(v)),
            None => Err(bad_body(NOT_AN_OBJECT)),
        }
    }
}

const NOT_AN_OBJECT: &str = "The request body must be a JSON object";

/// The body as a JSON object, or `None` when there is none: nothing (or white space) or `null`.
async fn read_object<S: Send + Sync>(req: Request, state: &S) -> Result<Option<Value>, ApiError> {
    let bytes = Bytes::from_request(req, state).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::for_status(StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            bad_body("The request body could not be read")
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v @ Value::Object(_)) => Ok(Some(v)),
        Ok(Value::Null) => Ok(None),
        Ok(_) => Err(bad_body(NOT_AN_OBJECT)),
        Err(e) => Err(bad_body(format!(
            "The request body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))),
    }
}

fn bad_body(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
}

/// A JSON body read into `T` (every field checked, unknown fields refused).
pub struct ValidJson<T>(pub T);

impl<S, T> FromRequest<S> for ValidJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let JsonBody(value) = JsonBody::from_request(req, state).await?;
        Ok(Self(input::body(value, &())?))
    }
}

/// An optional JSON body read into `T`: none at all (or `null`) reads as `{}`.
pub struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let value = read_object(req, state).await?;
        let value = value.unwrap_or_else(|| Value::Object(Map::new()));
        Ok(Self(input::body(value, &())?))
    }
}

/// Path parameters read into `T`; a malformed id is a 400 naming its parameter.
pub struct ValidPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ValidPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        // A segment that does not decode to UTF-8 is refused here, with the envelope.
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| bad_body("A path parameter is not valid UTF-8"))?;
        let params = raw
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok(Self(input::path(params)?))
    }
}

/// Query parameters read into `T`; parameters `T` does not name are ignored.
pub struct ValidQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ValidQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or_default();
        Ok(Self(input::query(raw)?))
    }
}
