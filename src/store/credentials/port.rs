//! `CredentialStore` for an adapter.

/// `impl CredentialStore` for an adapter: `$m` its query module, `$w` its write pool, `$f` its
/// read pool on the primary.
macro_rules! impl_credential_store {
    ($store:ty, $m:path, $w:ident, $f:ident) => {
        #[async_trait::async_trait]
        impl crate::domain::credentials::CredentialStore for $store {
            async fn take_attempt(
                &self,
                keys: &[(String, i64)],
            ) -> crate::domain::DomainResult<Vec<crate::domain::credentials::Window>> {
                use $m as m;
                m::take_attempt(&self.$w, keys).await
            }
            async fn give_back_attempts(
                &self,
                keys: &[String],
                reset: &[String],
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::give_back_attempts(&self.$w, keys, reset).await
            }
            async fn purge_credentials(&self) -> crate::domain::DomainResult<u64> {
                use $m as m;
                m::purge_credentials(&self.$w).await
            }
            async fn address_in_use(&self, email: &str) -> crate::domain::DomainResult<bool> {
                use $m as m;
                m::address_in_use(&self.$f, email).await
            }
            async fn create_link(
                &self,
                link: crate::domain::credentials::NewLink,
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::create_link(&self.$w, &link).await
            }
            async fn spend_link(
                &self,
                purpose: crate::domain::credentials::LinkPurpose,
                token_hash: &str,
            ) -> crate::domain::DomainResult<crate::domain::credentials::Link> {
                use $m as m;
                m::spend_link(&self.$w, purpose, token_hash).await
            }
            async fn enrol_second_factor(
                &self,
                user: crate::domain::UserId,
                sealed_secret: &str,
                recovery_hashes: &[String],
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::enrol_second_factor(&self.$w, user, sealed_secret, recovery_hashes).await
            }
            async fn clear_second_factor(
                &self,
                user: crate::domain::UserId,
                event: crate::domain::credentials::AccountEvent,
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::clear_second_factor(&self.$w, user, &event).await
            }
            async fn use_recovery_code(
                &self,
                user: crate::domain::UserId,
                hash: &str,
            ) -> crate::domain::DomainResult<bool> {
                use $m as m;
                m::use_recovery_code(&self.$w, user, hash).await
            }
            async fn advance_totp_step(
                &self,
                user: crate::domain::UserId,
                step: i64,
            ) -> crate::domain::DomainResult<bool> {
                use $m as m;
                m::advance_totp_step(&self.$w, user, step).await
            }
            async fn is_spent_refresh(
                &self,
                session: crate::domain::SessionId,
                refresh_hash: &str,
            ) -> crate::domain::DomainResult<bool> {
                use $m as m;
                m::is_spent_refresh(&self.$f, session, refresh_hash).await
            }
            async fn record_account_event(
                &self,
                event: crate::domain::credentials::AccountEvent,
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::record_account_event(&self.$w, &event).await
            }
            async fn stored_secrets(
                &self,
            ) -> crate::domain::DomainResult<Vec<crate::domain::credentials::StoredSecret>> {
                use $m as m;
                m::stored_secrets(&self.$w).await
            }
            async fn replace_secrets(
                &self,
                changes: &[(crate::domain::credentials::StoredSecret, String)],
            ) -> crate::domain::DomainResult<u64> {
                use $m as m;
                m::replace_secrets(&self.$w, changes).await
            }
        }
    };
}
pub(crate) use impl_credential_store;
