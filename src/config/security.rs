//! Settings of the defences: who is a trusted proxy, how people sign up, the links e-mailed to
//! them, and the master key that seals the secrets kept in the database.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ipnet::IpNet;

use super::secret::Secret;

/// How patients get an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Registration {
    /// Sign-up answers the same 202 for a new and a known address and e-mails a verification
    /// link (or, for a known address, a note saying so); the account exists once verified.
    Verify,
    /// Sign-up creates the account at once (201) and says when the address is taken: for demos
    /// and load tests, as it tells anyone which addresses have accounts.
    Open,
    /// No sign-up: patients join through the front desk's invitations.
    Closed,
}

/// Where the master key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum MasterKey {
    /// `CAREBOOK_MASTER_KEY`: 32 bytes.
    Given(Box<[u8; 32]>),
    /// `MASTER_KEY_FILE`: a file holding the key in base64 (made, owner-only, if missing).
    File(PathBuf),
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Given(_) => f.write_str("MasterKey::Given([redacted])"),
            Self::File(p) => write!(f, "MasterKey::File({})", p.display()),
        }
    }
}

/// The defences' raw settings, as read from flags and the environment.
#[derive(Debug, Clone, Args)]
pub struct RawSecurity {
    /// Comma-separated CIDRs of reverse proxies whose X-Forwarded-For / Forwarded headers name
    /// the client (the right-most address not in this list); empty: the socket peer is the
    /// client.
    #[arg(global = true, long, env = "TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// How patients sign up: verify (e-mailed link), open (at once, reveals known addresses)
    /// or closed (invitations only).
    #[arg(global = true, long, env = "REGISTRATION", value_enum, default_value_t = Registration::Verify)]
    pub registration: Registration,
    /// Minutes an e-mailed link (verification, invitation, password reset) stays valid.
    #[arg(global = true, long, env = "LINK_TOKEN_MINUTES", default_value_t = 30)]
    pub link_token_minutes: u32,
    /// The address people reach carebook at, for links in e-mail (default
    /// http://localhost:PORT).
    #[arg(global = true, long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The key that encrypts secrets kept in the database: 32 bytes in base64.
    #[arg(
        global = true,
        long,
        env = "CAREBOOK_MASTER_KEY",
        hide_env_values = true
    )]
    pub master_key: Option<Secret>,
    /// A file holding the master key in base64; created (mode 0600) if missing. Default: beside
    /// the SQLite database, or ./data/master.key.
    #[arg(global = true, long, env = "MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Folder that receives e-mail as .eml files when SMTP_URL is unset; `off` for none.
    #[arg(global = true, long, env = "MAIL_DIR", default_value = "./data/mail")]
    pub mail_dir: String,
    /// PEM file of a certificate authority that signs the SMTP server's certificate (a private
    /// CA), trusted besides the built-in web roots (Mozilla's, through webpki-roots).
    #[arg(global = true, long, env = "SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,
    /// Allow webhook URLs with plain http:// (tests, closed networks).
    #[arg(global = true, long, env = "WEBHOOK_ALLOW_HTTP", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub webhook_allow_http: bool,
}

/// The defences' validated settings.
#[derive(Debug, Clone)]
pub struct SecuritySettings {
    pub trusted_proxies: Vec<IpNet>,
    pub registration: Registration,
    /// How long an e-mailed link stays valid.
    pub link_token: Duration,
    /// The base of links in e-mail, without a trailing slash; `None`: `http://localhost:PORT`.
    pub public_url: Option<String>,
    /// Where the master key comes from.
    pub master_key: MasterKey,
    /// Password hashes computed at once; more wait in a short queue, past which login answers
    /// 503 at once.
    pub hash_concurrency: usize,
    /// Password checks that may wait for a hashing slot.
    pub hash_queue: usize,
}

impl SecuritySettings {
    /// Settings for tests and tools: no proxies, open sign-up, a fresh random key in memory.
    pub fn with_key(key: [u8; 32]) -> Self {
        Self {
            trusted_proxies: Vec::new(),
            registration: Registration::Open,
            link_token: Duration::from_secs(30 * 60),
            public_url: None,
            master_key: MasterKey::Given(Box::new(key)),
            hash_concurrency: default_hash_concurrency(),
            hash_queue: 8 * default_hash_concurrency(),
        }
    }
}

/// About the number of cores: hashing is CPU-bound, so more at once only queues on the CPU.
pub fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Parses `TRUSTED_PROXIES`: CIDRs or single addresses, comma-separated.
pub fn parse_proxies(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("TRUSTED_PROXIES: '{p}' is not an address or a CIDR"))
        })
        .collect()
}

/// Parses `CAREBOOK_MASTER_KEY`: standard base64 of exactly 32 bytes.
pub fn parse_key(raw: &str) -> Result<[u8; 32], String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .map_err(|_| "CAREBOOK_MASTER_KEY must be base64 (32 random bytes)".to_string())?;
    bytes
        .try_into()
        .map_err(|_| "CAREBOOK_MASTER_KEY must decode to exactly 32 bytes".to_string())
}

impl RawSecurity {
    /// Checks the settings; `database_url` places the default key file.
    pub fn validate(&self, database_url: &str) -> Result<SecuritySettings, String> {
        if self.link_token_minutes == 0 || self.link_token_minutes > 7 * 24 * 60 {
            return Err("LINK_TOKEN_MINUTES must be from 1 to 10080 (a week)".into());
        }
        let master_key = match (&self.master_key, &self.master_key_file) {
            (Some(k), Some(_)) if !k.0.trim().is_empty() => {
                return Err("set CAREBOOK_MASTER_KEY or MASTER_KEY_FILE, not both".into())
            }
            (Some(k), _) if !k.0.trim().is_empty() => MasterKey::Given(Box::new(parse_key(&k.0)?)),
            (_, Some(f)) => MasterKey::File(f.clone()),
            _ => MasterKey::File(default_key_file(database_url)),
        };
        let public_url = match self.public_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                Some(u.trim_end_matches('/').to_owned())
            }
            Some(_) => return Err("PUBLIC_URL must start with http:// or https://".into()),
        };
        Ok(SecuritySettings {
            trusted_proxies: parse_proxies(&self.trusted_proxies)?,
            registration: self.registration,
            link_token: Duration::from_secs(u64::from(self.link_token_minutes) * 60),
            public_url,
            master_key,
            hash_concurrency: default_hash_concurrency(),
            // A short queue: a few tens of milliseconds of hashing each, so a queued login
            // waits well under a second before its turn.
            hash_queue: 8 * default_hash_concurrency(),
        })
    }

    /// `MAIL_DIR`, or `None` when off.
    pub fn mail_dir(&self) -> Option<PathBuf> {
        match self.mail_dir.trim() {
            "" | "off" => None,
            d => Some(PathBuf::from(d)),
        }
    }
}

/// `master.key` beside the SQLite database file, or in `./data` for PostgreSQL.
fn default_key_file(database_url: &str) -> PathBuf {
    match crate::dburl::sqlite_file(database_url).and_then(|p| p.parent()) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("master.key"),
        Some(_) => PathBuf::from("master.key"),
        None => PathBuf::from("./data/master.key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_take_cidrs_and_addresses() {
        let p = parse_proxies(" 10.0.0.0/8, 127.0.0.1 ,::1").unwrap();
        assert_eq!(p.len(), 3);
        assert!(p[1].contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()));
        assert!(parse_proxies("").unwrap().is_empty());
        assert!(parse_proxies("10.0.0.0/33").is_err());
        assert!(parse_proxies("proxy.local").is_err());
    }

    #[test]
    fn keys_are_32_bytes_of_base64() {
        use base64::Engine;
        let good = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(parse_key(&good).unwrap(), [7u8; 32]);
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        assert!(parse_key(&short).is_err());
        assert!(parse_key("not base64!").is_err());
    }

    #[test]
    fn the_default_key_file_sits_beside_the_database() {
        let f = |u: &str| default_key_file(u).display().to_string();
        assert_eq!(f("sqlite:./data/carebook.db"), "./data/master.key");
        assert_eq!(f("sqlite:///tmp/x/c.db?mode=rwc"), "/tmp/x/master.key");
        assert_eq!(f("sqlite:c.db"), "master.key");
        assert_eq!(f("postgres://h/db"), "./data/master.key");
    }
}
