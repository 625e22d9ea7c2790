//! Doctors and patients on PostgreSQL: the shared functions (`crate::store::shared::people`)
//! and the search, on the full-text index.

crate::store::shared::people::people_queries!();
use crate::domain::patient::PatientQuery;

/// The text-search vector of a patient, spelled exactly as `patients_search_idx` (migration
/// 0020) is, so the planner uses the index.
const SEARCH_VECTOR: &str = "to_tsvector('simple', coalesce(name, '') || ' ' || \
    replace(replace(coalesce(email, ''), '.', ' '), '@', ' ') || ' ' || coalesce(phone, '') || ' ' || \
    regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'))";

pub async fn search_patients(
    pool: &Pool,
    query: &PatientQuery,
    page: Page,
) -> DomainResult<Paged<Patient>> {
    let (filter, arg) = match query {
        PatientQuery::Born(d) => ("date_of_birth = $1::date".to_owned(), d.to_string()),
        PatientQuery::Words(words) => {
            let tsquery: Vec<String> = words.iter().map(|w| format!("{w}:*")).collect();
            (
                format!("{SEARCH_VECTOR} @@ to_tsquery('simple', $1)"),
                tsquery.join(" & "),
            )
        }
    };
    let prefix = format!("{}%", query.first_word().unwrap_or_default());
    // The page and the number of matches in one pass; only a page past the end counts apart.
    // Ties in name keep registration order.
    let list = format!(
        "SELECT *, count(*) OVER () AS matches FROM patients WHERE {filter}
         ORDER BY (lower(name) LIKE $2) DESC, lower(name), created_at, id LIMIT $3 OFFSET $4"
    );
    let count = format!("SELECT count(*) FROM patients WHERE {filter}");
    searched(pool, (&list, &count), (&arg, &prefix), page).await
}
