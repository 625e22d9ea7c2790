//! What a database URL says before any driver reads it: which backend it selects, and for
//! SQLite, which file. The one place the scheme is parsed: settings, the store and the
//! export/import tools all ask here.

use std::path::Path;

/// Which adapter a database URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// Picks the backend from the URL scheme; any other scheme is an error.
    pub fn from_url(url: &str) -> Result<Self, String> {
        let scheme = url
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "sqlite" => Ok(Self::Sqlite),
            _ => Err(format!(
                "unsupported database URL scheme '{scheme}:' (use postgres://, postgresql:// or sqlite:)"
            )),
        }
    }
}

/// Whether `url` selects PostgreSQL.
pub fn is_postgres(url: &str) -> bool {
    Backend::from_url(url) == Ok(Backend::Postgres)
}

/// The file of a SQLite URL (`sqlite:data/x.db`, `sqlite://data/x.db?mode=rwc`), without its
/// query; `None` for any other URL.
pub fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(Path::new(rest.split('?').next().unwrap_or(rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_picks_backend() {
        assert_eq!(
            Backend::from_url("postgres://x/y").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://x/y").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("sqlite:data/x.db").unwrap(),
            Backend::Sqlite
        );
        assert!(Backend::from_url("mysql://x/y").is_err());
        assert!(is_postgres("POSTGRES://x/y"));
    }

    #[test]
    fn the_sqlite_file_is_the_path_without_the_query() {
        assert_eq!(
            sqlite_file("sqlite://data/x.db?mode=rwc"),
            Some(Path::new("data/x.db"))
        );
        assert_eq!(sqlite_file("sqlite:x.db"), Some(Path::new("x.db")));
        assert_eq!(sqlite_file("postgres://h/db"), None);
    }
}
