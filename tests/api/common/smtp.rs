//! An SMTP sink on loopback for the e-mail tests: a real server over a real socket that speaks
//! enough of RFC 5321 for lettre (EHLO/HELO, MAIL FROM, RCPT TO, DATA with dot-unstuffing,
//! RSET, NOOP, QUIT, and STARTTLS when it has a certificate), keeps every accepted message's
//! envelope and raw data, and can refuse recipients with chosen reply codes. With TLS it
//! serves a certificate of a CA made for the test ([`TestCa`]), by STARTTLS or implicitly.
//! Stops when dropped.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// A certificate authority made for one test, and a server certificate it signed for
/// `localhost` and `127.0.0.1`.
pub struct TestCa {
    /// The CA's certificate, PEM: what `SMTP_CA_FILE` names.
    pub ca_pem: String,
    cert: rustls::pki_types::CertificateDer<'static>,
    key: Vec<u8>,
}

impl TestCa {
    /// A fresh CA and server certificate.
    pub fn new() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "carebook test CA");
        let ca_cert = ca.self_signed(&ca_key).expect("the CA certificate");
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().expect("a server key");
        let server = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("server params");
        let cert = server
            .signed_by(&key, &issuer)
            .expect("the server certificate");
        Self {
            ca_pem: ca_cert.pem(),
            cert: cert.der().clone(),
            key: key.serialize_der(),
        }
    }

    /// Writes the CA's certificate to a file in `dir`; its path.
    pub fn ca_file(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join(format!("ca-{}.pem", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, &self.ca_pem).expect("write the CA file");
        path
    }

    fn acceptor(&self) -> TlsAcceptor {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.key.clone().into());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], key)
            .expect("the server certificate");
        TlsAcceptor::from(Arc::new(config))
    }
}

/// How the sink speaks TLS.
#[derive(Clone)]
enum Tls {
    None,
    /// Offers STARTTLS.
    Start(TlsAcceptor),
    /// TLS from the first byte (`smtps://`).
    Implicit(TlsAcceptor),
}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    /// `MAIL FROM` address.
    pub from: String,
    /// `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The message as sent, dot-unstuffed, CRLF line endings.
    pub data: Vec<u8>,
}

impl Received {
    /// The parsed MIME message.
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a MIME message")
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Reply codes for the next `RCPT TO` commands, first first; then 250 again.
    refusals: VecDeque<u16>,
    /// Sessions seen (connections greeted).
    sessions: usize,
}

/// The running sink.
pub struct SmtpSink {
    pub port: u16,
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    /// Listens on 127.0.0.1 on a free port.
    pub async fn start() -> Self {
        Self::start_with(Tls::None).await
    }

    /// A sink that offers STARTTLS with `ca`'s server certificate.
    pub async fn start_starttls(ca: &TestCa) -> Self {
        Self::start_with(Tls::Start(ca.acceptor())).await
    }

    /// A sink that speaks TLS from the first byte with `ca`'s server certificate.
    pub async fn start_implicit_tls(ca: &TestCa) -> Self {
        Self::start_with(Tls::Implicit(ca.acceptor())).await
    }

    async fn start_with(tls: Tls) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the sink");
        let port = listener.local_addr().expect("sink address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let arrived = Arc::new(Notify::new());
        let (s, a) = (state.clone(), arrived.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, tls.clone(), s.clone(), a.clone()));
            }
        });
        Self {
            port,
            state,
            arrived,
            task,
        }
    }

    /// `smtp://127.0.0.1:<port>`, for `SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Answers the next `RCPT TO` commands with these codes (e.g. 451, 550), one each.
    pub fn refuse_next(&self, codes: &[u16]) {
        self.state.lock().unwrap().refusals.extend(codes);
    }

    /// Every message accepted so far, in order of arrival.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Connections the sink greeted so far.
    pub fn sessions(&self) -> usize {
        self.state.lock().unwrap().sessions
    }

    /// Waits, at most `limit`, until at least `n` messages arrived; returns them all.
    /// Panics on timeout.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("{n} messages expected within {limit:?}, got {}", got.len());
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client connection: plain, TLS from the start, or plain until STARTTLS.
async fn session(socket: TcpStream, tls: Tls, state: Arc<Mutex<State>>, arrived: Arc<Notify>) {
    state.lock().unwrap().sessions += 1;
    match tls {
        Tls::None => {
            commands(socket, true, false, &state, &arrived).await;
        }
        Tls::Implicit(acceptor) => {
            if let Ok(secure) = acceptor.accept(socket).await {
                commands(secure, true, false, &state, &arrived).await;
            }
        }
        Tls::Start(acceptor) => {
            if let Some(plain) = commands(socket, true, true, &state, &arrived).await {
                if let Ok(secure) = acceptor.accept(plain).await {
                    // After STARTTLS the client greets again; no banner.
                    commands(secure, false, false, &state, &arrived).await;
                }
            }
        }
    }
}

/// Answers commands until the client leaves (`None`), or asks for STARTTLS when offered: then
/// the stream is handed back, 220 sent, for the handshake.
async fn commands<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    greet: bool,
    offer_starttls: bool,
    state: &Mutex<State>,
    arrived: &Notify,
) -> Option<S> {
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read);
    let mut envelope: Option<(String, Vec<String>)> = None;
    if greet && !reply(&mut write, "220 sink.test ESMTP carebook test sink".into()).await {
        return None;
    }
    loop {
        let line = read_line(&mut lines).await?;
        let upper = line.to_ascii_uppercase();
        let answer = match upper.split_whitespace().next().unwrap_or("") {
            "EHLO" if offer_starttls => {
                "250-sink.test\r\n250-STARTTLS\r\n250-8BITMIME\r\n250 SIZE 10485760".into()
            }
            "EHLO" => "250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760".into(),
            "STARTTLS" if offer_starttls => {
                if !reply(&mut write, "220 2.0.0 ready to start TLS".into()).await {
                    return None;
                }
                return Some(lines.into_inner().unsplit(write));
            }
            "HELO" => "250 sink.test".into(),
            "MAIL" => {
                envelope = Some((address(&line), Vec::new()));
                "250 2.1.0 OK".into()
            }
            "RCPT" => {
                let refusal = state.lock().unwrap().refusals.pop_front();
                match (&mut envelope, refusal) {
                    (None, _) => "503 5.5.1 MAIL first".into(),
                    (Some(_), Some(code)) => format!("{code} refused by the test"),
                    (Some((_, to)), None) => {
                        to.push(address(&line));
                        "250 2.1.5 OK".into()
                    }
                }
            }
            "DATA" => match envelope.take() {
                Some((from, to)) if !to.is_empty() => {
                    if !reply(&mut write, "354 end with <CRLF>.<CRLF>".into()).await {
                        return None;
                    }
                    let data = read_data(&mut lines).await?;
                    state
                        .lock()
                        .unwrap()
                        .received
                        .push(Received { from, to, data });
                    arrived.notify_waiters();
                    "250 2.0.0 queued".into()
                }
                _ => "503 5.5.1 no valid recipients".into(),
            },
            "RSET" => {
                envelope = None;
                "250 2.0.0 OK".into()
            }
            "NOOP" => "250 2.0.0 OK".into(),
            "QUIT" => {
                let _ = reply(&mut write, "221 2.0.0 bye".into()).await;
                return None;
            }
            _ => "502 5.5.2 command not implemented".into(),
        };
        if !reply(&mut write, answer).await {
            return None;
        }
    }
}

/// Writes one reply; false when the client went away.
async fn reply<W: AsyncWrite + Unpin>(w: &mut WriteHalf<W>, text: String) -> bool {
    w.write_all(format!("{text}\r\n").as_bytes()).await.is_ok()
}

/// One command line without its CRLF; `None` at end of stream.
async fn read_line<R: AsyncRead + Unpin>(r: &mut BufReader<ReadHalf<R>>) -> Option<String> {
    let mut buf = Vec::new();
    match tokio::time::timeout(Duration::from_secs(30), r.read_until(b'\n', &mut buf)).await {
        Ok(Ok(n)) if n > 0 => Some(
            String::from_utf8_lossy(&buf)
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
        ),
        _ => None,
    }
}

/// The DATA section up to the lone `.`, dot-unstuffed; `None` at end of stream.
async fn read_data<R: AsyncRead + Unpin>(r: &mut BufReader<ReadHalf<R>>) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = r.read_until(b'\n', &mut line).await.ok()?;
        if n == 0 {
            return None;
        }
        if line == b".\r\n" || line == b".\n" {
            return Some(data);
        }
        let unstuffed = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        data.extend_from_slice(unstuffed);
    }
}

/// The address in `MAIL FROM:<a>` / `RCPT TO:<a>` (parameters after it ignored).
fn address(line: &str) -> String {
    let start = line.find('<').map_or(0, |i| i + 1);
    let end = line[start..].find('>').map_or(line.len(), |i| start + i);
    line[start..end].to_owned()
}
