//! Pagination parameters shared by the list routes.

use serde::Serialize;

/// A validated page request; `limit` is 1..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

/// Limit used when the client sends none.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest limit served; larger requests are clamped to it.
pub const MAX_LIMIT: i64 = 100;

fn non_negative(raw: Option<&str>, field: &str) -> Result<Option<i64>, super::FieldError> {
    raw.map(|r| match r.trim().parse::<i64>() {
        Ok(v) if v >= 0 => Ok(v),
        _ => Err(super::FieldError::new(
            field,
            "must be a non-negative integer",
        )),
    })
    .transpose()
}

impl Page {
    /// Parses `limit` and `offset` query values. Missing → defaults; too large a limit is
    /// clamped; negative or non-numeric → error; a zero limit is an error too.
    pub fn parse(limit: Option<&str>, offset: Option<&str>) -> super::DomainResult<Self> {
        let mut errors = Vec::new();
        let limit = match non_negative(limit, "limit") {
            Ok(Some(0)) => {
                errors.push(super::FieldError::new("limit", "must be at least 1"));
                0
            }
            Ok(l) => l.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT),
            Err(e) => {
                errors.push(e);
                0
            }
        };
        let offset = non_negative(offset, "offset").unwrap_or_else(|e| {
            errors.push(e);
            None
        });
        if errors.is_empty() {
            Ok(Self {
                limit,
                offset: offset.unwrap_or(0),
            })
        } else {
            Err(super::DomainError::Validation(errors))
        }
    }
}

/// One page of results and the total number of matches.
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_clamps_and_rejects() {
        assert_eq!(
            Page::parse(None, None).unwrap(),
            Page {
                limit: 20,
                offset: 0
            }
        );
        assert_eq!(
            Page::parse(Some("500"), Some("7")).unwrap(),
            Page {
                limit: 100,
                offset: 7
            }
        );
        assert!(Page::parse(Some("-1"), None).is_err());
        assert!(Page::parse(Some("abc"), None).is_err());
        assert!(Page::parse(None, Some("-3")).is_err());
        assert!(Page::parse(Some("0"), None).is_err());
    }
}
