//! Accounts for the access tests: one per role, signed in, and requests sent as any of them
//! with the answer's headers.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::TestApp;

/// The password of every account these helpers make.
pub const PASSWORD: &str = "a long test passphrase";

/// A signed-in account.
#[derive(Debug, Clone)]
pub struct Account {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub doctor_id: Option<String>,
    pub patient_id: Option<String>,
    pub access: String,
    pub refresh: String,
}

impl Account {
    /// The account from a login's `data`.
    fn from_login(data: &Value) -> Self {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let user = &data["user"];
        Self {
            user_id: text(&user["id"]).expect("user id"),
            email: text(&user["email"]).expect("email"),
            role: text(&user["role"]).expect("role"),
            doctor_id: text(&user["doctor_id"]),
            patient_id: text(&user["patient_id"]),
            access: text(&data["access_token"]).expect("access token"),
            refresh: text(&data["refresh_token"]).expect("refresh token"),
        }
    }

    /// The id of the session its refresh token belongs to.
    pub fn session_id(&self) -> &str {
        self.refresh.split_once('.').expect("<session>.<secret>").0
    }
}

/// A fresh e-mail address.
pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@people.test", uuid::Uuid::new_v4().simple())
}

impl TestApp {
    /// Creates an account as the admin (`POST /api/users`) and logs it in. `link` is the doctor
    /// id for role `doctor`, the patient id for role `patient`.
    pub async fn account(&self, role: &str, link: Option<&str>) -> Account {
        let email = unique_email(role);
        let mut body = json!({"email": email, "password": PASSWORD, "role": role});
        match (role, link) {
            ("doctor", Some(d)) => body["doctor_id"] = json!(d),
            ("patient", Some(p)) => body["patient_id"] = json!(p),
            (_, None) => {}
            (r, Some(_)) => panic!("no link for role {r}"),
        }
        let (s, b) = self.post("/users", body).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        self.sign_in(&email).await
    }

    /// A doctor with an account of its own.
    pub async fn doctor_account(&self) -> Account {
        let doctor = self.doctor().await;
        self.account("doctor", Some(&doctor)).await
    }

    /// Signs a patient up through `POST /api/auth/register` and logs it in.
    pub async fn sign_up(&self) -> Account {
        let email = unique_email("patient");
        let (s, b) = self
            .call_as(
                None,
                Method::POST,
                "/auth/register",
                json!({"name": "Pat Signup", "email": email, "phone": "+1 555 010 0001",
                       "password": PASSWORD}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let account = self.sign_in(&email).await;
        assert_eq!(account.patient_id.as_deref(), b["data"]["id"].as_str());
        account
    }

    /// Logs in with [`PASSWORD`]: a new session of the account.
    pub async fn sign_in(&self, email: &str) -> Account {
        Account::from_login(&self.login(email, PASSWORD).await)
    }

    /// Sends a request as `who`.
    pub async fn as_user(
        &self,
        who: &Account,
        method: Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        self.call_as(Some(&who.access), method, path, body).await
    }

    /// Sends a request to `url` (absolute) with an optional bearer token and extra headers;
    /// returns status, headers and the body as JSON (`Null` when it is not JSON).
    pub async fn send(
        &self,
        token: Option<&str>,
        method: Method,
        url: &str,
        body: Value,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value) {
        let mut req = self.anon.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if !body.is_null() {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let (status, headers) = (res.status(), res.headers().clone());
        let text = res.text().await.expect("body");
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    /// `POST /api/auth/refresh`.
    pub async fn refresh(&self, refresh_token: &str) -> (StatusCode, Value) {
        self.call_as(
            None,
            Method::POST,
            "/auth/refresh",
            json!({"refresh_token": refresh_token}),
        )
        .await
    }

    /// Books as `who` and returns (status, body).
    pub async fn book_as(
        &self,
        who: &Account,
        patient: &str,
        doctor: &str,
        slot: &str,
    ) -> (StatusCode, Value) {
        self.as_user(
            who,
            Method::POST,
            "/appointments",
            json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot}),
        )
        .await
    }

    /// `GET /api/audit/access` with a query, as the bootstrap admin: the records' `data`.
    pub async fn access_records(&self, query: &str) -> Vec<Value> {
        let (s, b) = self.get(&format!("/audit/access?{query}&limit=100")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["data"].as_array().expect("records").clone()
    }
}
