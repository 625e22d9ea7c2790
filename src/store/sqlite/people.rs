//! Doctors and patients on SQLite: the shared functions (`crate::store::shared::people`) and
//! the search, on the FTS5 index.

crate::store::shared::people::people_queries!();
use crate::domain::patient::PatientQuery;

pub async fn search_patients(
    pool: &Pool,
    query: &PatientQuery,
    page: Page,
) -> DomainResult<Paged<Patient>> {
    // FTS5 prefix queries on the index of migration 0015; the words hold letters and digits
    // only, so quoting them is enough to keep FTS5's syntax out. The matches are ranked on the
    // index's own copy of the name, and only the page's rows are read from `patients`.
    let (source, arg) = match query {
        PatientQuery::Born(d) => (
            "SELECT rowid AS rid, name FROM patients WHERE date_of_birth = ?1",
            d.to_string(),
        ),
        PatientQuery::Words(words) => {
            let terms: Vec<String> = words.iter().map(|w| format!("\"{w}\"*")).collect();
            (
                "SELECT rowid AS rid, name FROM patients_fts WHERE patients_fts MATCH ?1",
                terms.join(" AND "),
            )
        }
    };
    let prefix = format!("{}%", query.first_word().unwrap_or_default());
    // The page and the number of matches in one pass; only a page past the end counts apart.
    // Ties in name keep registration order (the rowid), as on PostgreSQL.
    let list = format!(
        "WITH hits AS (
             SELECT rid, lower(name) LIKE ?2 AS first, lower(name) AS key,
                    count(*) OVER () AS matches
             FROM ({source}) ORDER BY first DESC, key, rid LIMIT ?3 OFFSET ?4)
         SELECT p.*, h.matches FROM hits h JOIN patients p ON p.rowid = h.rid
         ORDER BY h.first DESC, h.key, h.rid"
    );
    let count = format!("SELECT count(*) FROM ({source})");
    searched(pool, (&list, &count), (&arg, &prefix), page).await
}
