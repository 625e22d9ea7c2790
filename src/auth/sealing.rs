//! Moving the secrets kept in the database under a master key: sealing values kept before
//! secrets were sealed (at every start), and re-sealing everything under a new key
//! (`carebook rotate-master-key`), each in one transaction.

use super::vault::{signing_key_aad, totp_aad, OpenError, Vault, WEBHOOK_AAD};
use crate::domain::credentials::{SecretKind, StoredSecret};
use crate::domain::store::Store;
use crate::domain::{DomainError, DomainResult, UserId};

/// What a stored secret is bound to when sealed.
fn aad(s: &StoredSecret) -> DomainResult<String> {
    Ok(match s.kind {
        SecretKind::SigningKey => signing_key_aad(&s.row),
        SecretKind::Totp => {
            let user: UserId = s
                .row
                .parse()
                .map_err(|_| DomainError::Internal("a user id that is not a UUID".into()))?;
            totp_aad(user)
        }
        SecretKind::Webhook => WEBHOOK_AAD.to_owned(),
    })
}

/// Seals every secret still kept in the clear; how many it sealed.
pub async fn seal_plaintext(store: &dyn Store, vault: &Vault) -> DomainResult<u64> {
    let mut changes = Vec::new();
    for s in store.stored_secrets().await? {
        if !Vault::is_sealed(&s.value) {
            let sealed = vault.seal(&aad(&s)?, &s.value);
            changes.push((s, sealed));
        }
    }
    if changes.is_empty() {
        return Ok(0);
    }
    store.replace_secrets(&changes).await
}

/// Checks that every sealed secret opens with `vault`: the error names the key that sealed
/// the first one that does not.
pub async fn check_key(store: &dyn Store, vault: &Vault) -> DomainResult<Result<(), OpenError>> {
    for s in store.stored_secrets().await? {
        if Vault::is_sealed(&s.value) {
            if let Err(e) = vault.open(&aad(&s)?, &s.value) {
                return Ok(Err(e));
            }
        }
    }
    Ok(Ok(()))
}

/// Opens every secret with `old` and seals it with `new`, in one transaction; how many.
pub async fn reseal(store: &dyn Store, old: &Vault, new: &Vault) -> DomainResult<u64> {
    let mut changes = Vec::new();
    for s in store.stored_secrets().await? {
        let a = aad(&s)?;
        let plain = if Vault::is_sealed(&s.value) {
            old.open(&a, &s.value)?
        } else {
            s.value.clone()
        };
        let sealed = new.seal(&a, &plain);
        changes.push((s, sealed));
    }
    store.replace_secrets(&changes).await
}
