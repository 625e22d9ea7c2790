//! `CredentialStore` for an adapter.

/// `impl CredentialStore` for an adapter: `$m` its query module. Reads that decide whether a
/// secret is still good go to `fresh()`, which sees the latest commit.
macro_rules! impl_credential_store {
    ($store:ty, $m:path) => {
        crate::store::forward::forward! { $store, crate::domain::credentials::CredentialStore, {
            use $m as m;
            use crate::domain::credentials::{AccountEvent, Link, LinkPurpose, NewLink};
            use crate::domain::credentials::{StoredSecret, Window};
            use crate::domain::{SessionId, UserId};
        }
        fn take_attempt(&self, keys: &[(String, i64)]) -> Vec<Window>
            => m::take_attempt(self.writes(), keys);
        fn give_back_attempts(&self, keys: &[String], reset: &[String]) -> ()
            => m::give_back_attempts(self.writes(), keys, reset);
        fn purge_credentials(&self) -> u64 => m::purge_credentials(self.writes());
        fn address_in_use(&self, email: &str) -> bool => m::address_in_use(self.fresh(), email);
        fn create_link(&self, link: NewLink) -> () => m::create_link(self.writes(), &link);
        fn spend_link(&self, purpose: LinkPurpose, token_hash: &str) -> Link
            => m::spend_link(self.writes(), purpose, token_hash);
        fn enrol_second_factor(&self, user: UserId, sealed_secret: &str, recovery_hashes: &[String])
            -> ()
            => m::enrol_second_factor(self.writes(), user, sealed_secret, recovery_hashes);
        fn clear_second_factor(&self, user: UserId, event: AccountEvent) -> ()
            => m::clear_second_factor(self.writes(), user, &event);
        fn use_recovery_code(&self, user: UserId, hash: &str) -> bool
            => m::use_recovery_code(self.writes(), user, hash);
        fn advance_totp_step(&self, user: UserId, step: i64) -> bool
            => m::advance_totp_step(self.writes(), user, step);
        fn is_spent_refresh(&self, session: SessionId, refresh_hash: &str) -> bool
            => m::is_spent_refresh(self.fresh(), session, refresh_hash);
        fn record_account_event(&self, event: AccountEvent) -> ()
            => m::record_account_event(self.writes(), &event);
        fn stored_secrets(&self) -> Vec<StoredSecret> => m::stored_secrets(self.writes());
        fn replace_secrets(&self, changes: &[(StoredSecret, String)]) -> u64
            => m::replace_secrets(self.writes(), changes);
        }
    };
}
pub(crate) use impl_credential_store;
