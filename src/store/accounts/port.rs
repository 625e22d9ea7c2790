//! The account ports (`AccountStore`, `SessionStore`, `AccessStore`) for an adapter.

/// `impl AccountStore`, `SessionStore` and `AccessStore` for an adapter: `$m` its query module,
/// `$instant` how a filter instant is bound. Reads that decide who someone is and what they may
/// do go to `fresh()`, which sees the latest commit; only the access log is a pure read.
macro_rules! impl_account_store {
    ($store:ty, $m:path, $instant:expr) => {
        crate::store::forward::forward! { $store, crate::domain::store::AccountStore, {
            use $m as m;
            use crate::domain::page::{Page, Paged};
            use crate::domain::patient::{NewPatient, Patient};
            use crate::domain::user::{Credentials, NewUser, User, UserPatch};
            use crate::domain::{SessionId, UserId};
        }
        fn create_user(&self, new: NewUser) -> User => m::create_user(self.writes(), &new);
        fn register_patient(&self, patient: NewPatient, password_hash: String, request_id: String)
            -> (Patient, User) => m::register_patient(
                self.writes(), &patient, &password_hash, "/api/auth/register", &request_id);
        fn credentials(&self, email: &str) -> Option<Credentials>
            => m::credentials(self.fresh(), email);
        fn credentials_by_id(&self, id: UserId) -> Credentials
            => m::credentials_by_id(self.fresh(), id);
        fn list_users(&self, page: Page) -> Paged<User> => m::list_users(self.reads(), page);
        fn update_user(&self, id: UserId, patch: UserPatch) -> User
            => m::update_user(self.writes(), id, &patch);
        fn set_password(&self, id: UserId, hash: String, keep: Option<SessionId>) -> ()
            => m::set_password(self.writes(), id, &hash, keep);
        fn set_totp(&self, id: UserId, secret: Option<String>, enabled: bool) -> ()
            => m::set_totp(self.writes(), id, secret.as_deref(), enabled);
        fn any_user(&self) -> bool => m::any_user(self.fresh());
        }

        // Sessions are read from the writer: a refresh right after login must see the new one.
        crate::store::forward::forward! { $store, crate::domain::store::SessionStore, {
            use $m as m;
            use crate::domain::user::{Session, SigningKey};
            use crate::domain::{SessionId, UserId};
        }
        fn create_session(&self, id: SessionId, user: UserId, refresh_hash: String) -> ()
            => m::create_session(self.writes(), id, user, &refresh_hash);
        fn session(&self, id: SessionId) -> Option<Session> => m::session(self.writes(), id);
        fn rotate_session(&self, id: SessionId, old: &str, new: &str) -> bool
            => m::rotate_session(self.writes(), id, old, new);
        fn revoke_session(&self, id: SessionId, reason: &str) -> ()
            => m::revoke_session(self.writes(), id, reason);
        fn revoked_sessions(&self, within_secs: i64) -> Vec<SessionId>
            => m::revoked_sessions(self.fresh(), within_secs);
        fn signing_keys(&self) -> Vec<SigningKey> => m::signing_keys(self.writes());
        fn add_signing_key(&self, kid: &str, secret: &str, only_if_none: bool) -> ()
            => m::add_signing_key(self.writes(), kid, secret, only_if_none);
        fn retire_signing_keys(&self, older_than_secs: i64) -> u64
            => m::retire_signing_keys(self.writes(), older_than_secs);
        }

        crate::store::forward::forward! { $store, crate::domain::store::AccessStore, {
            use $m as m;
            use crate::domain::page::{Page, Paged};
            use crate::domain::user::{AccessFilter, AccessRecord, Accessor, NewAccess};
            use crate::domain::{DoctorId, PatientId};
        }
        fn record_access(&self, by: &Accessor, records: &[NewAccess]) -> ()
            => m::record_access(self.writes(), by, records);
        fn access_log(&self, filter: &AccessFilter, page: Page) -> Paged<AccessRecord> => {
            let (from, to) = (filter.from.map($instant), filter.to.map($instant));
            m::access_log(self.reads(), filter, from, to, page)
        };
        fn has_care_relationship(&self, doctor: DoctorId, patient: PatientId) -> bool
            => m::has_care_relationship(self.fresh(), doctor, patient);
        }
    };
}
pub(crate) use impl_account_store;
