//! The zero-setup store: parafe's own S3 server on loopback over `<data-dir>/store/embedded`,
//! so that the very same aws-sdk-s3 code path runs with no external server. Durable by itself
//! (every acknowledged write is fsynced, renamed into place and its directory fsynced before the
//! answer) and write-once like S3 Object Lock in COMPLIANCE mode, whoever the client is. One
//! machine, no replication: the data directory is what to back up.

mod backend;
mod disk;
pub mod legacy;
mod record;

pub use backend::Clock;
use backend::Coffre;
use disk::Layout;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// The system clock (retention is judged against it).
pub fn system_clock() -> Clock {
    Arc::new(chrono::Utc::now)
}

/// A running embedded server; stopping it (or dropping it) closes every connection.
pub struct EmbeddedS3 {
    root: PathBuf,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl EmbeddedS3 {
    /// Serves the store at `root` on `addr` (port 0: any free port) with the given key pair.
    pub async fn start(
        root: &Path,
        addr: SocketAddr,
        access_key: &str,
        secret_key: &str,
    ) -> std::io::Result<EmbeddedS3> {
        Self::start_with_clock(root, addr, access_key, secret_key, system_clock()).await
    }

    /// The same, with retention judged against `clock`. A directory s3s-fs left must have been
    /// migrated first ([`legacy::migrate`], which [`crate::start_embedded`] runs).
    pub async fn start_with_clock(
        root: &Path,
        addr: SocketAddr,
        access_key: &str,
        secret_key: &str,
        clock: Clock,
    ) -> std::io::Result<EmbeddedS3> {
        let layout = Layout::new(root);
        disk::create_dirs(root)?;
        layout.prepare()?;
        if !layout.marker().is_file() {
            let mut entries = std::fs::read_dir(root)?;
            if entries.any(|e| e.is_ok_and(|e| e.file_name() != ".coffre")) {
                return Err(std::io::Error::other(format!(
                    "{} est dans la disposition de s3s-fs : parafe le reprend en l'ouvrant (parafe verify --store, parafe store serve)",
                    root.display()
                )));
            }
            disk::write_durably(&layout, &layout.marker(), disk::LAYOUT.as_bytes())?;
        }
        Self::serve(
            Coffre::new(layout, clock),
            root,
            addr,
            access_key,
            secret_key,
        )
        .await
    }

    /// Serves any s3s backend over `root` (the side-by-side benchmark serves s3s-fs this way).
    pub(crate) async fn serve(
        backend: impl s3s::S3,
        root: &Path,
        addr: SocketAddr,
        access_key: &str,
        secret_key: &str,
    ) -> std::io::Result<EmbeddedS3> {
        let mut builder = S3ServiceBuilder::new(backend);
        builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
        let service = builder.build();
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let http =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            // Connections live in this set: aborting the server task drops it and closes them all.
            let mut connections = JoinSet::new();
            loop {
                while connections.try_join_next().is_some() {}
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                // Headers and body leave as separate writes: with Nagle's algorithm, each answer
                // would wait for the client's delayed ACK (40 ms on Linux).
                let _ = socket.set_nodelay(true);
                let conn = http
                    .serve_connection(hyper_util::rt::TokioIo::new(socket), service.clone())
                    .into_owned();
                connections.spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        Ok(EmbeddedS3 {
            root: root.to_path_buf(),
            addr,
            task,
        })
    }

    /// The directory served: `<root>/<bucket>/<key>` holds each object's bytes.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving now, as a crash would: open connections are cut, the port is released.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for EmbeddedS3 {
    fn drop(&mut self) {
        self.task.abort();
    }
}
