//! The zero-setup store: an s3s-fs server on loopback over `<data-dir>/store/embedded`, so that
//! the very same aws-sdk-s3 code path runs with no external server. It has no Object Lock: parafe
//! itself never overwrites (create-only writes) and refuses to delete retained objects.

use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// A running embedded server; stopping it (or dropping it) closes every connection.
pub struct EmbeddedS3 {
    root: PathBuf,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl EmbeddedS3 {
    /// Serves `root` on `addr` (port 0: any free port) with the given key pair.
    pub async fn start(
        root: &Path,
        addr: SocketAddr,
        access_key: &str,
        secret_key: &str,
    ) -> std::io::Result<EmbeddedS3> {
        std::fs::create_dir_all(root)?;
        let fs =
            s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        let mut builder = S3ServiceBuilder::new(fs);
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
