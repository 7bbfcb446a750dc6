//! Serving HTTP and HTTPS: one accept loop for both, with the limits that keep a stranger from
//! exhausting the server.
//!
//! - Connections: at most `max_connections` at once (live streams included), set below the
//!   open-files limit (which `serve` raises to its hard maximum first), and at most
//!   `max_connections_per_address` from one address (trusted proxies excepted). A connection over
//!   either limit is answered 503 at once and closed, so the server keeps answering its users.
//! - Size: a request's head may take 32 KB (bodies are the gate's: see kumanet-web's `body`).
//! - Time: a connection must send a request's head within `header_timeout`, and a kept-alive one
//!   that sends nothing for that long is closed (hyper counts the wait for the next request as
//!   header time). A live stream is a response being sent, not a wait for a head: it is never
//!   cut by this, but it holds one of the connections. A TLS handshake must finish within
//!   `tls_handshake_timeout`. Request bodies have their own limits in the gate.
//! - Shutdown (Ctrl-C or SIGTERM): stop accepting, end the live streams (the pages reconnect),
//!   let the requests in flight finish and their writes commit, for at most `drain_timeout`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use kumanet_web::App;

/// The limits of one server.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    pub header_timeout: Duration,
    pub tls_handshake_timeout: Duration,
    pub drain_timeout: Duration,
    /// Addresses whose connections carry many users (a reverse proxy): no per-address limit.
    pub trusted_proxies: Vec<kumanet_web::net::IpNet>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 4096,
            max_connections_per_address: 256,
            header_timeout: Duration::from_secs(30),
            tls_handshake_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(10),
            trusted_proxies: Vec::new(),
        }
    }
}

/// The most of a request's head the server buffers.
const HEAD_BUFFER: usize = 32 * 1024;

/// Files the server keeps open besides its connections: the database pool, the PDF renderer's
/// pipes, logs, the listener.
const RESERVED_FILES: u64 = 256;

/// The most connections the open-files limit leaves room for, after raising the soft limit to
/// the hard one; and that limit.
pub fn connections_the_file_limit_allows() -> (usize, u64) {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let room = limit.saturating_sub(RESERVED_FILES).max(16);
    (usize::try_from(room).unwrap_or(usize::MAX), limit)
}

/// Counts connections per address; a guard gives its slot back when the connection ends.
#[derive(Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

struct AddressSlot {
    table: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    fn take(table: &Arc<PerAddress>, ip: IpAddr, limit: usize) -> Option<AddressSlot> {
        let mut m = table.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(AddressSlot { table: table.clone(), ip })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut m = self.table.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// What a connection over the limits is told before it is closed.
const BUSY: &[u8] = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: 75\r\n\r\n\
ただいま混み合っています。少し待ってからもう一度お試しください。\n"
    .as_bytes();

async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(BUSY)).await;
    let _ = stream.shutdown().await;
}

/// The router, told which address each request came from.
#[derive(Clone)]
struct PeerService {
    router: Router,
    peer: SocketAddr,
}

impl hyper::service::Service<hyper::Request<Incoming>> for PeerService {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = axum::routing::future::RouteFuture<Infallible>;

    fn call(&self, mut req: hyper::Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.peer));
        tower_service::Service::call(&mut self.router.clone(), req)
    }
}

/// Serve `app` on `listener` (TLS when `tls` is given) until `shutdown` resolves, then drain.
pub async fn serve(
    app: App,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let router = kumanet_web::router(app.clone());
    let total = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = Arc::new(PerAddress::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // A request's head (cookies included) fits in 32 KB; hyper would otherwise buffer ~400 KB of
    // it per connection.
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true).max_buf_size(HEAD_BUFFER);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of files (EMFILE) or a connection reset before it was taken: wait a
                    // little rather than spin, and go on.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = total.clone().try_acquire_owned() else {
            tracing::warn!("connection limit ({}) reached: {peer} refused", limits.max_connections);
            tokio::spawn(refuse(stream));
            continue;
        };
        let trusted = limits.trusted_proxies.iter().any(|n| n.contains(peer.ip()));
        let per_limit = if trusted { usize::MAX } else { limits.max_connections_per_address };
        let Some(slot) = PerAddress::take(&per_address, peer.ip(), per_limit) else {
            tracing::warn!("{peer}: more than {per_limit} connections from one address, refused");
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = PeerService { router: router.clone(), peer };
        let watcher = graceful.watcher();
        let (http, tls, handshake) = (http.clone(), tls.clone(), limits.tls_handshake_timeout);
        tokio::spawn(async move {
            let _held: (OwnedSemaphorePermit, AddressSlot) = (permit, slot);
            match tls {
                None => {
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn).await;
                }
                Some(acceptor) => match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                    Ok(Ok(tls_stream)) => {
                        let conn = http.serve_connection(TokioIo::new(tls_stream), service);
                        let _ = watcher.watch(conn).await;
                    }
                    Ok(Err(e)) => tracing::debug!("TLS handshake with {peer}: {e}"),
                    Err(_) => tracing::debug!("TLS handshake with {peer}: timed out"),
                },
            }
        });
    }
    drop(listener);
    // End the live streams so their connections can close; the pages reconnect by themselves.
    app.live.close_all();
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!("shutdown: requests still running after {:?}; stopping anyway", limits.drain_timeout);
    }
    Ok(())
}

/// Ctrl-C or SIGTERM (what `systemctl stop` and `docker stop` send).
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// The TLS settings from PEM files: the certificate chain and its key (TLS 1.2 and 1.3).
pub fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in the file", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
