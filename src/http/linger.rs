//! Lingering close: a connection carebook closes is read a little longer before the socket goes.
//!
//! When carebook answers before reading the whole request (413 on a declared or streamed body
//! over the limit), hyper writes the answer, sends FIN and drops the socket. If request bytes
//! are still arriving or unread, the kernel then answers with a reset, and a client that had not
//! yet read the 413 loses it and sees "connection reset" instead. Like nginx's
//! `lingering_close`, each connection, once hyper is done with it, keeps being read and its
//! bytes thrown away until the client closes or a bound is reached; only then is it closed.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// How long a closed connection is read before the socket is closed regardless.
const LINGER_TIME: Duration = Duration::from_secs(2);
/// How many bytes a closed connection may still deliver before the socket is closed regardless.
const LINGER_BYTES: usize = 8 * 1024 * 1024;

/// A TCP listener whose connections linger on close.
pub struct LingeringListener(pub TcpListener);

impl Listener for LingeringListener {
    type Io = Lingering;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        (Lingering(Some(stream)), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// The client's address, as `ConnectInfo` for connections of a [`LingeringListener`].
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, LingeringListener>>
    for PeerAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, LingeringListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// A TCP stream that, when dropped, is drained in the background before it is closed.
pub struct Lingering(Option<TcpStream>);

impl Lingering {
    fn stream(&mut self) -> io::Result<Pin<&mut TcpStream>> {
        // The stream is only taken in `drop`, so it is always here while hyper uses it.
        self.0
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| io::ErrorKind::NotConnected.into())
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(stream) = self.0.take() else { return };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(drain(stream));
        }
    }
}

/// Reads and discards what the client still sends, until it closes or a bound is reached.
async fn drain(mut stream: TcpStream) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut left = LINGER_BYTES;
    let reading = async {
        while left > 0 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, reading).await;
}

impl AsyncRead for Lingering {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.stream() {
            Ok(s) => s.poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.stream() {
            Ok(s) => s.poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.stream() {
            Ok(s) => s.poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.0.as_ref().is_some_and(TcpStream::is_write_vectored)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.stream() {
            Ok(s) => s.poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.stream() {
            Ok(s) => s.poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}
