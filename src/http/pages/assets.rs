//! The pages' stylesheet and script, compiled into the binary.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// Each file: its name, type and content.
static FILES: [(&str, &str, &str); 2] = [
    (
        "site.css",
        "text/css; charset=utf-8",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/pages/site.css"
        )),
    ),
    (
        "site.js",
        "text/javascript; charset=utf-8",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/pages/site.js")),
    ),
];

/// `GET /assets/{file}`: one of the files above, cached for an hour; any other name is a 404.
pub async fn file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "public, max-age=3600"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /favicon.ico`: no icon (204), so browsers stop asking and log no error.
pub async fn no_icon() -> Response {
    (
        StatusCode::NO_CONTENT,
        [(header::CACHE_CONTROL, "public, max-age=86400")],
    )
        .into_response()
}
