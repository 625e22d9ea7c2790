//! Pagination shared by the list use cases.

/// A page request; `limit` is 1..=[`MAX_LIMIT`], `offset` is not negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

/// Limit used when the client sends none.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest limit served; larger requests are clamped to it.
pub const MAX_LIMIT: i64 = 100;

impl Page {
    /// A page from already-checked values (`limit` ≥ 1, `offset` ≥ 0): missing values take
    /// their defaults and a limit above [`MAX_LIMIT`] is clamped to it.
    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Self {
        Self {
            limit: limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
            offset: offset.unwrap_or(0).max(0),
        }
    }
}

/// One page of results and the total number of matches, both from one snapshot.
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
}

impl<T> Paged<T> {
    /// Maps every item.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_clamps() {
        assert_eq!(
            Page::new(None, None),
            Page {
                limit: 20,
                offset: 0
            }
        );
        assert_eq!(
            Page::new(Some(500), Some(7)),
            Page {
                limit: 100,
                offset: 7
            }
        );
    }
}
