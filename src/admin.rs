//! Account administration from the command line (`carebook user …`, `carebook keys rotate`),
//! for the first accounts and for when the API is out of reach.

use std::io::BufRead;

use crate::auth::{password, tokens::Keyring};
use crate::domain::contact::Email;
use crate::domain::store::Store;
use crate::domain::user::{NewUser, Role, User, UserPatch};
use crate::domain::{DoctorId, PatientId};

/// The password of `user create`: `CAREBOOK_PASSWORD`, else the first line of stdin.
pub fn read_password() -> Result<String, String> {
    if let Ok(p) = std::env::var("CAREBOOK_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Creates an account; the errors are sentences for the operator.
pub async fn create_user(
    store: &dyn Store,
    email: &str,
    role: &str,
    doctor_id: Option<&str>,
    patient_id: Option<&str>,
    pw: String,
) -> Result<User, String> {
    let email = Email::parse(email).map_err(|m| format!("--email {m}"))?;
    let role = Role::parse(role).map_err(|m| format!("--role {m}"))?;
    let doctor_id: Option<DoctorId> = doctor_id
        .map(str::parse)
        .transpose()
        .map_err(|m| format!("--doctor-id {m}"))?;
    let patient_id: Option<PatientId> = patient_id
        .map(str::parse)
        .transpose()
        .map_err(|m| format!("--patient-id {m}"))?;
    match role {
        Role::Doctor if doctor_id.is_none() || patient_id.is_some() => {
            return Err("role doctor needs --doctor-id (and no --patient-id)".into())
        }
        Role::Patient if patient_id.is_none() || doctor_id.is_some() => {
            return Err("role patient needs --patient-id (and no --doctor-id)".into())
        }
        Role::Admin | Role::Scheduler if doctor_id.is_some() || patient_id.is_some() => {
            return Err(format!(
                "role {} takes no --doctor-id or --patient-id",
                role.as_str()
            ))
        }
        _ => {}
    }
    password::check_rules(&pw, email.as_str()).map_err(|m| format!("the password {m}"))?;
    let hash = password::hash(pw).await?;
    store
        .create_user(NewUser {
            email,
            password_hash: hash,
            role,
            doctor_id,
            patient_id,
        })
        .await
        .map_err(|e| e.to_string())
}

/// Disables an account by e-mail and revokes its sessions.
pub async fn disable_user(store: &dyn Store, email: &str) -> Result<User, String> {
    let creds = store
        .credentials(email.trim())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no account has the e-mail {email}"))?;
    store
        .update_user(
            creds.user.id,
            UserPatch {
                role: None,
                disabled: Some(true),
            },
        )
        .await
        .map_err(|e| e.to_string())
}

/// Adds a signing key (it signs from then on, on every instance) and retires keys older than
/// `retire_after_secs` but the newest; tokens signed with a retired key stop verifying.
pub async fn rotate_keys(
    store: std::sync::Arc<dyn Store>,
    vault: std::sync::Arc<crate::auth::vault::Vault>,
    retire_after_secs: i64,
) -> Result<(String, u64), String> {
    let ring = Keyring::load(store.clone(), vault)
        .await
        .map_err(|e| e.to_string())?;
    let kid = ring.rotate().await.map_err(|e| e.to_string())?;
    let retired = store
        .retire_signing_keys(retire_after_secs)
        .await
        .map_err(|e| e.to_string())?;
    Ok((kid, retired))
}

/// Re-seals every secret in the database under a new master key (see `rotate-master-key`);
/// what to tell the operator.
pub async fn rotate_master_key(
    store: &dyn Store,
    settings: &crate::config::Settings,
    new_key_file: Option<std::path::PathBuf>,
) -> Result<String, String> {
    use crate::auth::{sealing, vault::Vault};
    use crate::config::MasterKey;
    let old = crate::startup::open_vault(store, settings)
        .await
        .map_err(|e| e.to_string())?;
    // Where the new key is made: the given file, or beside the configured one until the
    // database holds secrets sealed with it.
    let (target, replaces) = match (&new_key_file, &settings.security.master_key) {
        (Some(f), _) => (f.clone(), None),
        (None, MasterKey::File(current)) => {
            let mut staged = current.clone().into_os_string();
            staged.push(".new");
            (std::path::PathBuf::from(staged), Some(current.clone()))
        }
        (None, MasterKey::Given(_)) => return Err(
            "the master key comes from CAREBOOK_MASTER_KEY: give the new one with --new-key-file"
                .into(),
        ),
    };
    if replaces.is_some() {
        let _ = std::fs::remove_file(&target);
    }
    let new = Vault::load(&MasterKey::File(target.clone())).map_err(|e| e.to_string())?;
    if new.key_id() == old.key_id() {
        return Err("the new master key is the current one".into());
    }
    let n = sealing::reseal(store, &old, &new)
        .await
        .map_err(|e| e.to_string())?;
    match replaces {
        Some(current) => {
            std::fs::rename(&target, &current).map_err(|e| {
                format!(
                    "the database is sealed with the key in {} but it could not replace {}: {e}; \
                     move it there by hand",
                    target.display(),
                    current.display()
                )
            })?;
            Ok(format!(
                "{n} secrets sealed under a new master key (key {}), now in {}; restart every \
                 instance",
                new.key_id(),
                current.display()
            ))
        }
        None => Ok(format!(
            "{n} secrets sealed under the master key in {} (key {}); start every instance with \
             MASTER_KEY_FILE={}",
            target.display(),
            new.key_id(),
            target.display()
        )),
    }
}
