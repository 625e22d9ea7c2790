//! The interactive API documentation: Swagger UI at `GET /docs`, reading `/api/openapi.json`.
//!
//! Every file is compiled into the binary (`assets/swagger-ui/`, see its README), so the page
//! works on a machine with no internet; its Content-Security-Policy keeps the browser on this host.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// One file served under `/docs/`.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/assets/swagger-ui/",
                $name
            )),
        }
    };
}

static PAGE: Asset = asset!("index.html", "text/html; charset=utf-8");

/// The files the page loads: exactly these exist under `/docs/`; any other name is a 404.
static FILES: [Asset; 4] = [
    asset!("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    asset!("swagger-ui.css", "text/css; charset=utf-8"),
    asset!("favicon-32x32.png", "image/png"),
    asset!("init.js", "text/javascript; charset=utf-8"),
];

/// Scripts and styles from this host only; Swagger UI needs inline styles and `data:` images.
/// `connect-src 'self'` keeps both the spec and "Try it out" requests on this host.
const PAGE_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// A file of the page, by name.
#[derive(serde::Deserialize, garde::Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FilePath {
    /// One of the files the page loads.
    #[garde(skip)]
    #[param(value_type = String, pattern = "^(swagger-ui-bundle\\.js|swagger-ui\\.css|favicon-32x32\\.png|init\\.js)$")]
    file: String,
}

/// The API reference page
///
/// Swagger UI showing this contract; every file it loads is served by carebook itself.
#[utoipa::path(get, path = "/docs", operation_id = "getDocsPage", tag = "operations",
    responses((status = 200, description = "The page", content_type = "text/html", body = String)))]
pub async fn page() -> Response {
    serve(&PAGE, "no-cache", Some(PAGE_POLICY))
}

/// A file of the API reference page
#[utoipa::path(get, path = "/docs/{file}", operation_id = "getDocsFile", tag = "operations", params(FilePath),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/javascript"), (String = "text/css"), (String = "image/png"))),
        (status = 404, description = "`NOT_FOUND`: not a file of the page", body = super::error::ErrorBody),
    ))]
pub async fn file(super::extract::ValidPath(p): super::extract::ValidPath<FilePath>) -> Response {
    match FILES.iter().find(|f| f.name == p.file) {
        // Names carry no version: after an upgrade a browser may keep an old file for an hour.
        Some(f) => serve(f, "public, max-age=3600", None),
        None => {
            super::error::ApiError::for_status(axum::http::StatusCode::NOT_FOUND).into_response()
        }
    }
}

fn serve(asset: &'static Asset, cache: &'static str, policy: Option<&'static str>) -> Response {
    let mut res = (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.body,
    )
        .into_response();
    if let Some(policy) = policy {
        res.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(policy),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    async fn get(path: &str) -> Response {
        let req = Request::get(path).body(Body::empty()).unwrap();
        let app: axum::Router = axum::Router::new()
            .route("/docs", axum::routing::get(page))
            .route("/docs/{file}", axum::routing::get(file));
        app.oneshot(req).await.unwrap()
    }

    #[tokio::test]
    async fn serves_the_page_and_each_file_with_its_type() {
        let mut cases = vec![("/docs".to_owned(), &PAGE)];
        cases.extend(FILES.iter().map(|f| (format!("/docs/{}", f.name), f)));
        for (path, asset) in cases {
            let res = get(&path).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(
                res.headers()[header::CONTENT_TYPE],
                asset.content_type,
                "{path}"
            );
            assert!(res.headers().contains_key(header::CACHE_CONTROL), "{path}");
            let body = axum::body::to_bytes(res.into_body(), usize::MAX).await;
            assert_eq!(body.unwrap(), asset.body, "{path}");
        }
    }

    #[tokio::test]
    async fn other_names_are_not_found() {
        for path in [
            "/docs/index.html",
            "/docs/README.md",
            "/docs/LICENSE",
            "/docs/x/init.js",
        ] {
            assert_eq!(get(path).await.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[test]
    fn the_page_loads_only_served_files() {
        let page = std::str::from_utf8(PAGE.body).unwrap();
        let loaded: Vec<_> = page
            .split("\"/docs/")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        let served: Vec<_> = FILES.iter().map(|f| f.name).collect();
        assert_eq!(loaded.len(), served.len(), "{loaded:?}");
        assert!(
            loaded.iter().all(|name| served.contains(name)),
            "{loaded:?}"
        );
        assert!(!page.contains("http:") && !page.contains("https:"));
    }
}
