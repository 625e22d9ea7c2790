//! An SMTP sink on loopback for the e-mail tests: a real server over a real socket that speaks
//! enough of RFC 5321 for lettre (EHLO/HELO, MAIL FROM, RCPT TO, DATA with dot-unstuffing,
//! RSET, NOOP, QUIT), keeps every accepted message's envelope and raw data, and can refuse
//! recipients with chosen reply codes. Stops when dropped.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

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
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the sink");
        let port = listener.local_addr().expect("sink address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let arrived = Arc::new(Notify::new());
        let (s, a) = (state.clone(), arrived.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, s.clone(), a.clone()));
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

/// One client connection, command by command.
async fn session(socket: TcpStream, state: Arc<Mutex<State>>, arrived: Arc<Notify>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    state.lock().unwrap().sessions += 1;
    let mut envelope: Option<(String, Vec<String>)> = None;
    if !reply(&mut write, "220 sink.test ESMTP carebook test sink".into()).await {
        return;
    }
    loop {
        let Some(line) = read_line(&mut lines).await else {
            return;
        };
        let upper = line.to_ascii_uppercase();
        let answer = match upper.split_whitespace().next().unwrap_or("") {
            "EHLO" => "250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760".into(),
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
                        return;
                    }
                    let Some(data) = read_data(&mut lines).await else {
                        return;
                    };
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
                return;
            }
            _ => "502 5.5.2 command not implemented".into(),
        };
        if !reply(&mut write, answer).await {
            return;
        }
    }
}

/// Writes one reply; false when the client went away.
async fn reply(w: &mut tokio::net::tcp::OwnedWriteHalf, text: String) -> bool {
    w.write_all(format!("{text}\r\n").as_bytes()).await.is_ok()
}

/// One command line without its CRLF; `None` at end of stream.
async fn read_line(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
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
async fn read_data(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<Vec<u8>> {
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
