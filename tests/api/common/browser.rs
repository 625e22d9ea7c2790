//! A browser for the page tests: cookies kept and sent back, forms posted with their token,
//! redirects read rather than followed.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use super::{unique_email, TestApp, PASSWORD};

/// A browser: its cookies, sent back as it would, and no redirect followed.
pub struct Browser {
    origin: String,
    client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

/// An answer: status, headers, body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The value of the first `<input … name="{name}" … value="…">`, or of the `n`th radio
    /// button named `name`.
    pub fn input(&self, name: &str, n: usize) -> Option<String> {
        let marker = format!("name=\"{name}\"");
        self.body.match_indices(&marker).nth(n).and_then(|(at, _)| {
            let rest = &self.body[at..];
            let end = rest.find('>')?;
            let tag = &rest[..end];
            let v = tag.split("value=\"").nth(1)?;
            Some(v[..v.find('"')?].to_owned())
        })
    }

    pub fn csrf(&self) -> String {
        self.input("csrf", 0).expect("a form token on the page")
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            origin: app.base.trim_end_matches("/api").to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let res = req
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .expect("request");
        for v in res.headers().get_all(SET_COOKIE) {
            let line = v.to_str().expect("cookie");
            let (pair, attrs) = line.split_once(';').unwrap_or((line, ""));
            let (k, val) = pair.split_once('=').expect("name=value");
            if val.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.text().await.unwrap_or_default();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let url = format!("{}{path}", self.origin);
        let req = self.client.get(url);
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let url = format!("{}{path}", self.origin);
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let req = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }

    /// Signs a new patient up on `/signup`; lands on `/me` signed in. Returns the e-mail.
    pub async fn sign_up(&mut self) -> String {
        let page = self.get("/signup").await;
        assert_eq!(page.status, StatusCode::OK);
        let email = unique_email("page");
        let token = page.csrf();
        let done = self
            .post(
                "/signup",
                &[
                    ("csrf", &token),
                    ("name", "Ann Page"),
                    ("email", &email),
                    ("phone", "+1 555 010 0002"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), "/me");
        email
    }

    /// Holds the `n`th free time of `doctor` on the day `days` from now; the appointment's
    /// page path.
    pub async fn hold(&mut self, doctor: &str, day: &str, n: usize) -> String {
        let page = self.get(&format!("/doctors/{doctor}?day={day}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let slot = page.input("slot", n).expect("a free time");
        let token = page.csrf();
        let booked = self
            .post(
                &format!("/doctors/{doctor}/book"),
                &[("csrf", &token), ("slot", &slot), ("day", day)],
            )
            .await;
        assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
        let to = booked.location().to_owned();
        assert!(to.starts_with("/me/appointments/"), "{to}");
        to
    }
}

impl Browser {
    /// Signs in on `/login`; lands on the person's own page.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Answer {
        let token = self.get("/login").await.csrf();
        let done = self
            .post(
                "/login",
                &[("csrf", &token), ("email", email), ("password", password)],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        done
    }
}
