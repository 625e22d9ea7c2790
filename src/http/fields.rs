//! Helpers of the request types: a field garde has checked, a PATCH field that may not be null.

use serde::Deserialize;

use super::error::ApiError;
use crate::domain::DomainError;

/// A required field of a request that passed validation. The `None` arm cannot happen after
/// garde's `required` rule; it answers a 400 rather than panicking if it ever did.
pub fn required<T>(value: Option<T>, field: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| DomainError::field(field, "is required").into())
}

/// serde `deserialize_with` for PATCH fields that may be left out but not cleared.
pub fn non_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom("must not be null")),
    }
}
