//! The account ports (`AccountStore`, `SessionStore`, `AccessStore`) for an adapter.

/// `impl AccountStore`, `SessionStore` and `AccessStore` for an adapter: `$m` its query module, `$w` its write pool, `$f` its
/// read pool on the primary (for reads that decide who someone is and what they may do, which
/// must see the latest commit), `$r` its pool for pure reads (perhaps a lagging replica),
/// `$instant` how a filter instant is bound.
macro_rules! impl_account_store {
    ($store:ty, $m:path, $w:ident, $f:ident, $r:ident, $instant:expr) => {
        #[async_trait::async_trait]
        impl crate::domain::store::AccountStore for $store {
            async fn create_user(
                &self,
                new: crate::domain::user::NewUser,
            ) -> crate::domain::DomainResult<crate::domain::user::User> {
                use $m as m;
                m::create_user(&self.$w, &new).await
            }
            async fn register_patient(
                &self,
                patient: crate::domain::patient::NewPatient,
                password_hash: String,
                request_id: String,
            ) -> crate::domain::DomainResult<(
                crate::domain::patient::Patient,
                crate::domain::user::User,
            )> {
                use $m as m;
                let route = "/api/auth/register";
                m::register_patient(&self.$w, &patient, &password_hash, route, &request_id).await
            }
            async fn credentials(
                &self,
                email: &str,
            ) -> crate::domain::DomainResult<Option<crate::domain::user::Credentials>> {
                use $m as m;
                m::credentials(&self.$f, email).await
            }
            async fn credentials_by_id(
                &self,
                id: crate::domain::UserId,
            ) -> crate::domain::DomainResult<crate::domain::user::Credentials> {
                use $m as m;
                m::credentials_by_id(&self.$f, id).await
            }
            async fn list_users(
                &self,
                page: crate::domain::page::Page,
            ) -> crate::domain::DomainResult<crate::domain::page::Paged<crate::domain::user::User>>
            {
                use $m as m;
                m::list_users(&self.$r, page).await
            }
            async fn update_user(
                &self,
                id: crate::domain::UserId,
                patch: crate::domain::user::UserPatch,
            ) -> crate::domain::DomainResult<crate::domain::user::User> {
                use $m as m;
                m::update_user(&self.$w, id, &patch).await
            }
            async fn set_password(
                &self,
                id: crate::domain::UserId,
                hash: String,
                keep: Option<crate::domain::SessionId>,
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::set_password(&self.$w, id, &hash, keep).await
            }
            async fn set_totp(
                &self,
                id: crate::domain::UserId,
                secret: Option<String>,
                enabled: bool,
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::set_totp(&self.$w, id, secret.as_deref(), enabled).await
            }
            async fn any_user(&self) -> crate::domain::DomainResult<bool> {
                use $m as m;
                m::any_user(&self.$f).await
            }
        }

        #[async_trait::async_trait]
        impl crate::domain::store::SessionStore for $store {
            async fn create_session(
                &self,
                id: crate::domain::SessionId,
                user: crate::domain::UserId,
                refresh_hash: String,
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::create_session(&self.$w, id, user, &refresh_hash).await
            }
            async fn session(
                &self,
                id: crate::domain::SessionId,
            ) -> crate::domain::DomainResult<Option<crate::domain::user::Session>> {
                use $m as m;
                // From the writer: a refresh right after login must see the new session.
                m::session(&self.$w, id).await
            }
            async fn rotate_session(
                &self,
                id: crate::domain::SessionId,
                old: &str,
                new: &str,
            ) -> crate::domain::DomainResult<bool> {
                use $m as m;
                m::rotate_session(&self.$w, id, old, new).await
            }
            async fn revoke_session(
                &self,
                id: crate::domain::SessionId,
                reason: &str,
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::revoke_session(&self.$w, id, reason).await
            }
            async fn revoked_sessions(
                &self,
                within_secs: i64,
            ) -> crate::domain::DomainResult<Vec<crate::domain::SessionId>> {
                use $m as m;
                m::revoked_sessions(&self.$f, within_secs).await
            }
            async fn signing_keys(
                &self,
            ) -> crate::domain::DomainResult<Vec<crate::domain::user::SigningKey>> {
                use $m as m;
                m::signing_keys(&self.$w).await
            }
            async fn add_signing_key(
                &self,
                kid: &str,
                secret: &str,
                only_if_none: bool,
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::add_signing_key(&self.$w, kid, secret, only_if_none).await
            }
            async fn retire_signing_keys(
                &self,
                older_than_secs: i64,
            ) -> crate::domain::DomainResult<u64> {
                use $m as m;
                m::retire_signing_keys(&self.$w, older_than_secs).await
            }
        }

        #[async_trait::async_trait]
        impl crate::domain::store::AccessStore for $store {
            async fn record_access(
                &self,
                by: &crate::domain::user::Accessor,
                records: &[crate::domain::user::NewAccess],
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::record_access(&self.$w, by, records).await
            }
            async fn access_log(
                &self,
                filter: &crate::domain::user::AccessFilter,
                page: crate::domain::page::Page,
            ) -> crate::domain::DomainResult<
                crate::domain::page::Paged<crate::domain::user::AccessRecord>,
            > {
                use $m as m;
                let (from, to) = (filter.from.map($instant), filter.to.map($instant));
                m::access_log(&self.$r, filter, from, to, page).await
            }
            async fn has_care_relationship(
                &self,
                doctor: crate::domain::DoctorId,
                patient: crate::domain::PatientId,
            ) -> crate::domain::DomainResult<bool> {
                use $m as m;
                m::has_care_relationship(&self.$f, doctor, patient).await
            }
        }
    };
}
pub(crate) use impl_account_store;
