//! What every bench shares: the product's error type and runtime, and the `parafe` binary to measure.

pub use parafe::cli::{echec, runtime, CliError, CliResult};
use std::path::PathBuf;

/// The `parafe` binary built beside this one (same profile): the benches that measure a
/// command or load a served parafe run the product itself, not a copy of it.
pub fn parafe() -> Result<PathBuf, CliError> {
    let bench = std::env::current_exe().map_err(echec)?;
    let exe = bench.with_file_name(format!("parafe{}", std::env::consts::EXE_SUFFIX));
    if exe.is_file() {
        Ok(exe)
    } else {
        Err(CliError::failure(format!(
            "binaire parafe introuvable ({}) : construisez-le avec le même profil que le banc, \
             p. ex. `cargo build --release` avant `cargo run --release -p parafe-bench -- …`",
            exe.display()
        )))
    }
}

/// The median of a benchmark's figures (the upper one of an even count); None without any.
pub fn mediane<T: PartialOrd>(valeurs: impl IntoIterator<Item = T>) -> Option<T> {
    let mut v: Vec<T> = valeurs.into_iter().collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let milieu = v.len() / 2;
    (!v.is_empty()).then(|| v.swap_remove(milieu))
}

/// A free port on the loopback.
pub fn port_libre() -> Result<u16, CliError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(echec)
}

/// moto's S3 server on a free loopback port (`moto_server` from PATH), stopped with the bench:
/// the external store a cluster of instances requires.
pub struct Moto {
    enfant: std::process::Child,
    pub endpoint: String,
}

pub const CLE_S3: &str = "parafe-banc";
pub const SECRET_S3: &str = "parafe-banc-secret";

impl Moto {
    pub async fn lancer() -> Result<Moto, CliError> {
        let port = port_libre()?;
        let enfant = std::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| {
                echec(format!(
                    "moto_server introuvable ({e}) : PATH=\"$PWD/.venv/bin:$PATH\" (installé par tests/run)"
                ))
            })?;
        let moto = Moto {
            enfant,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let debut = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if debut.elapsed() > std::time::Duration::from_secs(30) {
                return Err(echec("moto_server ne répond pas"));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Ok(moto)
    }

    /// A new bucket with Object Lock, as whoever runs a real store makes it.
    pub async fn compartiment(&self, nom: &str) -> CliResult {
        parafe::store::s3::client(&parafe::store::s3::Endpoint {
            url: &self.endpoint,
            region: "us-east-1",
            credentials: Some((CLE_S3, SECRET_S3)),
            path_style: true,
        })
        .create_bucket()
        .bucket(nom)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| echec(format!("compartiment {nom} : {e:?}")))
    }

    /// The `[store]` section of an instance of the cluster on bucket `compartiment`.
    pub fn section_store(&self, compartiment: &str) -> String {
        format!(
            "\n[store]\nendpoint = \"{}\"\nbucket = \"{compartiment}\"\naccess_key = \"{CLE_S3}\"\nsecret_key = \"{SECRET_S3}\"\n",
            self.endpoint
        )
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.enfant.kill();
        let _ = self.enfant.wait();
    }
}

/// A real SMTP server (aiosmtpd) on a free loopback port: it drops every message (`Sink`), or
/// keeps them in the Maildir `boite`.
pub struct Smtp(std::process::Child, pub u16);

impl Smtp {
    pub fn lancer(boite: Option<&std::path::Path>) -> Result<Smtp, CliError> {
        let port = port_libre()?;
        let mut commande = std::process::Command::new("aiosmtpd");
        commande.args(["-n", "-l", &format!("127.0.0.1:{port}"), "-c"]);
        match boite {
            Some(b) => commande.arg("aiosmtpd.handlers.Mailbox").arg(b),
            None => commande.arg("aiosmtpd.handlers.Sink"),
        };
        let child = commande.spawn().map_err(|e| {
            CliError::failure(format!("aiosmtpd introuvable ({e}) : pip install aiosmtpd"))
        })?;
        let smtp = Smtp(child, port);
        let debut = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if debut.elapsed() > std::time::Duration::from_secs(20) {
                return Err(CliError::failure("aiosmtpd ne répond pas".to_owned()));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Ok(smtp)
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The seal keys of the data directory `de` (`cles/`) copied into `vers`, as a deployment gives
/// every instance of a cluster the same seal.
pub fn copier_cles(de: &std::path::Path, vers: &std::path::Path) -> CliResult {
    std::fs::create_dir_all(vers.join("cles")).map_err(echec)?;
    for cle in std::fs::read_dir(de.join("cles")).map_err(echec)? {
        let cle = cle.map_err(echec)?;
        std::fs::copy(cle.path(), vers.join("cles").join(cle.file_name())).map_err(echec)?;
    }
    Ok(())
}

/// The `c`-th quantile of `v` (sorted here), by the nearest rank.
pub fn centile(v: &mut [f64], c: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 * c).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

/// A service in a new data directory (keep the directory bound), its clock stopped at `au`;
/// on SQLite, or in a new database of the PostgreSQL cluster `grappe`.
pub async fn service_du_jour(
    au: &str,
    grappe: Option<&str>,
) -> Result<(tempfile::TempDir, parafe::service::App), CliError> {
    let dossier = tempfile::tempdir().map_err(echec)?;
    if let Some(grappe) = grappe {
        let url = parafe::db::banc::nouvelle_base_postgres(grappe)
            .await
            .map_err(echec)?;
        std::fs::write(
            dossier.path().join("parafe.toml"),
            format!("[base]\nurl = \"{url}\"\n"),
        )
        .map_err(echec)?;
    }
    let app =
        parafe::service::App::open(parafe::config::Config::load(dossier.path()).map_err(echec)?)
            .await
            .map_err(echec)?;
    let app = parafe::service::App {
        horloge: parafe::horloge::Horloge::depuis(
            chrono::DateTime::parse_from_rfc3339(au)
                .map_err(echec)?
                .to_utc(),
        ),
        ..app
    };
    Ok((dossier, app))
}

/// Imports the parcours software's extraction `csv` into the service's PLIE.
pub async fn importer(app: &parafe::service::App, csv: &str) -> CliResult {
    parafe::import::importer(app, &app.config.service.plie, csv)
        .await
        .map_err(|e| match e {
            parafe::import::ImportError::Lignes(l) => echec(format!("{:?}", l.first())),
            parafe::import::ImportError::Service(e) => echec(e),
        })?;
    Ok(())
}

/// A coordinateur's account.
pub async fn coordinateur(app: &parafe::service::App) -> Result<i64, CliError> {
    parafe::db::personnel::enregistrer(
        &app.db,
        &parafe::db::personnel::NouveauPersonnel {
            plie: &app.config.service.plie,
            email: "coord@plie.fr",
            nom: "Coord",
            prenom: "C",
            role: parafe::roles::RolePersonnel::Coordinateur,
            structure: "",
            identifiant_externe: None,
        },
        "2025-01-01T00:00:00.000Z",
    )
    .await
    .map_err(echec)?
    .ok_or_else(|| echec("coordinateur non créé"))
}

/// The `Cookie` header of a new session of staff member `id`.
pub async fn session(app: &parafe::service::App, id: i64) -> Result<String, CliError> {
    let secret =
        parafe::auth::session::ouvrir(&app.db, id, app.horloge.maintenant(), "127.0.0.1", "banc")
            .await
            .map_err(echec)?;
    Ok(parafe::auth::session::cookie(&secret, false)
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned())
}

/// The service's router on a loopback port of this process.
pub async fn servir(app: &parafe::service::App) -> Result<std::net::SocketAddr, CliError> {
    let ecoute = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(echec)?;
    let adresse = ecoute.local_addr().map_err(echec)?;
    let routes = parafe::http::routeur::routeur().with_state(app.clone());
    tokio::spawn(async move {
        axum::serve(
            ecoute,
            routes.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    Ok(adresse)
}

/// Asks `url` with `cookie` 5 times to warm up, then `requetes` times: the durations in ms
/// (after the warm-up) and the last answer's body.
pub async fn mesurer(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
    requetes: usize,
) -> Result<(Vec<f64>, String), CliError> {
    let mut durees = Vec::new();
    let mut page = String::new();
    for i in 0..requetes + 5 {
        let t = std::time::Instant::now();
        let r = client
            .get(url)
            .header("cookie", cookie)
            .send()
            .await
            .map_err(echec)?;
        let statut = r.status();
        page = r.text().await.map_err(echec)?;
        let duree = t.elapsed().as_secs_f64() * 1000.0;
        if !statut.is_success() {
            return Err(CliError::failure(format!("{url} : {statut} {page}")));
        }
        if i >= 5 {
            durees.push(duree);
        }
    }
    Ok((durees, page))
}
