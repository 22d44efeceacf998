//! Issue 4: evidence filed in object storage for the whole retention period, with a
//! tamper-evident journal; issue 22: the embedded store durable and write-once by itself. Real
//! S3 servers on loopback: parafe's embedded store, and moto server (`moto_server` from PyPI
//! `moto[server]`, on PATH: `tests/run` installs it), which enforces Object Lock. The store
//! scenarios (tamper, outage, retention, legal hold) are one function each, run on both.

use crate::support::{parafe, text};
use aws_sdk_s3::primitives::ByteStream;
use parafe::config::Config;
use parafe::model::{
    EvidenceMetadata, EvidenceObject, JournalEntry, JournalEvent, PlieId, Sha256Digest,
};
use parafe::store::embedded::EmbeddedS3;
use parafe::store::{s3, Content};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PLIE: &str = "plie-dijon";
const OPERATION: &str = "202100123";
pub(crate) const ACCESS: &str = "parafe-test";
pub(crate) const SECRET: &str = "parafe-test-secret";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "le serveur n'écoute pas sur le port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `parafe` with `--data-dir` appended; returns (success, stdout, stderr).
fn run(data: &Path, args: &[&str]) -> (bool, String, String) {
    let mut all: Vec<&str> = args.to_vec();
    let data = data.to_string_lossy().into_owned();
    all.extend(["--data-dir", &data]);
    let out = parafe(&all);
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// The bytes of the `i`-th document of [`put_documents`].
fn document(i: usize) -> Vec<u8> {
    format!("%PDF-1.7 émargement n° {i} {}", "x".repeat(1000 + i)).into_bytes()
}

/// Writes `count` distinct documents and files them with `parafe store put`.
/// `parafe store put` of attendance sheets of `participant`.
fn store_put(data: &Path, participant: &str, files: &[String]) -> (bool, String, String) {
    let mut args = vec![
        "store",
        "put",
        "--plie",
        PLIE,
        "--operation",
        OPERATION,
        "--kind",
        "emargement",
        "--participant",
        participant,
    ];
    args.extend(files.iter().map(String::as_str));
    run(data, &args)
}

fn put_documents(data: &Path, count: usize) -> Vec<Sha256Digest> {
    let docs = data.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let mut files = Vec::new();
    let mut digests = Vec::new();
    for i in 0..count {
        let path = docs.join(format!("émargement-{i}.pdf"));
        digests.push(Sha256Digest::of(&document(i)));
        std::fs::write(&path, document(i)).unwrap();
        files.push(path.to_string_lossy().into_owned());
    }
    let (ok, out, err) = store_put(data, "p-7f3a", &files);
    assert!(ok, "store put : {out}{err}");
    digests
}

fn segment(data: &Path, number: u64) -> PathBuf {
    data.join(format!("journal/{PLIE}/{number:06}.jsonl"))
}

fn embedded_object(data: &Path, sha: &Sha256Digest) -> PathBuf {
    data.join("store/embedded/parafe")
        .join(s3::object_key(PLIE, sha))
}

fn assert_verify_fails(data: &Path, place: &str, problem: &str) {
    let (ok, out, err) = run(data, &["verify", "--store"]);
    assert!(!ok, "verify --store aurait dû échouer :\n{out}");
    let report = out + &err;
    assert!(
        report.contains(place) && report.contains(problem),
        "attendu « {place} » et « {problem} » :\n{report}"
    );
}

pub(crate) fn client(endpoint: &str, keys: (&str, &str)) -> aws_sdk_s3::Client {
    s3::client(&s3::Endpoint {
        url: endpoint,
        region: "us-east-1",
        credentials: Some(keys),
        path_style: true,
    })
}

fn config_for(data: &Path, endpoint: &str, extra: &str) -> Config {
    let toml = format!("[store]\nendpoint = \"{endpoint}\"\naccess_key = \"{ACCESS}\"\nsecret_key = \"{SECRET}\"\n{extra}");
    std::fs::write(data.join("parafe.toml"), toml).unwrap();
    Config::load(data).unwrap()
}

fn metadata(i: usize) -> EvidenceMetadata {
    EvidenceMetadata {
        content_type: "application/pdf".into(),
        original_name: format!("émargement-{i}.pdf"),
        operation: OPERATION.into(),
        participant: Some(format!("p-{i:04}")),
        kind: "emargement".into(),
    }
}

/// A TCP relay in front of moto: cutting it is an outage that loses nothing (moto keeps its
/// objects in memory: stopping moto itself would).
struct Relay {
    addr: SocketAddr,
    target: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    fn up(&mut self) {
        let (addr, target) = (self.addr, self.target);
        self.task = Some(tokio::spawn(async move {
            let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    async fn down(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

enum Backend {
    Embedded {
        root: PathBuf,
        addr: SocketAddr,
        server: Option<EmbeddedS3>,
    },
    Moto {
        _moto: Moto,
        relay: Relay,
    },
}

impl Backend {
    /// The store becomes unreachable.
    async fn outage(&mut self) {
        match self {
            Backend::Embedded { server, .. } => server.take().unwrap().stop().await,
            Backend::Moto { relay, .. } => relay.down().await,
        }
    }

    /// The store comes back (the embedded one restarts on its directory).
    async fn back(&mut self) {
        match self {
            Backend::Embedded { root, addr, server } => {
                *server = Some(
                    EmbeddedS3::start(root, *addr, ACCESS, SECRET)
                        .await
                        .unwrap(),
                );
            }
            Backend::Moto { relay, .. } => relay.up(),
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Embedded,
    Moto,
}

/// One of the two S3 servers, serving the bucket `parafe` (with Object Lock) to a data
/// directory whose parafe.toml points at it, and to plain S3 calls. It lives in its own runtime,
/// so that the scenarios can run parafe's command line meanwhile.
struct Store {
    rt: tokio::runtime::Runtime,
    backend: Backend,
    client: aws_sdk_s3::Client,
}

impl Store {
    fn start(kind: Kind, data: &Path, extra: &str) -> Store {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let backend = rt.block_on(async {
            match kind {
                Kind::Embedded => {
                    let root = data.join("coffre");
                    let server = EmbeddedS3::start(&root, addr, ACCESS, SECRET)
                        .await
                        .unwrap();
                    Backend::Embedded {
                        root,
                        addr,
                        server: Some(server),
                    }
                }
                Kind::Moto => {
                    let moto = Moto::start();
                    let mut relay = Relay {
                        addr,
                        target: ([127, 0, 0, 1], moto.port).into(),
                        task: None,
                    };
                    relay.up();
                    Backend::Moto { _moto: moto, relay }
                }
            }
        });
        let endpoint = format!("http://127.0.0.1:{port}");
        wait_for_port(port);
        let client = client(&endpoint, (ACCESS, SECRET));
        rt.block_on(
            client
                .create_bucket()
                .bucket("parafe")
                .object_lock_enabled_for_bucket(true)
                .send(),
        )
        .unwrap();
        config_for(data, &endpoint, extra);
        Store {
            rt,
            backend,
            client,
        }
    }

    /// Someone with access to the bytes changes an object: on disk for the embedded store
    /// (which refuses any overwrite over S3), by a new version over S3 for moto.
    fn tamper(&self, key: &str) {
        match &self.backend {
            Backend::Embedded { root, .. } => {
                let path = root.join("parafe").join(key);
                let mut bytes = std::fs::read(&path).unwrap();
                bytes[10] ^= 1;
                std::fs::write(&path, bytes).unwrap();
            }
            Backend::Moto { .. } => {
                self.rt
                    .block_on(
                        self.client
                            .put_object()
                            .bucket("parafe")
                            .key(key)
                            .body(ByteStream::from_static(b"faux"))
                            .send(),
                    )
                    .unwrap();
            }
        }
    }

    /// Retain-until and legal hold of the current version, as a plain HeadObject reads them.
    fn lock_of(&self, key: &str) -> (Option<i64>, bool) {
        let head = self
            .rt
            .block_on(self.client.head_object().bucket("parafe").key(key).send())
            .unwrap();
        (
            head.object_lock_retain_until_date().map(|t| t.secs()),
            head.object_lock_legal_hold_status().map(|s| s.as_str()) == Some("ON"),
        )
    }

    /// A plain S3 DeleteObject of what the key holds (its version, where versions exist);
    /// the error code when the store refuses.
    fn plain_delete(&self, key: &str) -> Result<(), String> {
        self.rt.block_on(async {
            let head = self
                .client
                .head_object()
                .bucket("parafe")
                .key(key)
                .send()
                .await
                .unwrap();
            let mut delete = self.client.delete_object().bucket("parafe").key(key);
            if let Some(v) = head.version_id() {
                delete = delete.version_id(v);
            }
            delete.send().await.map(|_| ()).map_err(|e| {
                use aws_sdk_s3::error::ProvideErrorMetadata;
                e.code().unwrap_or("?").to_owned()
            })
        })
    }

    fn exists(&self, key: &str) -> bool {
        self.rt
            .block_on(self.client.head_object().bucket("parafe").key(key).send())
            .is_ok()
    }
}

/// One scenario, one function, run on the embedded store and on moto.
macro_rules! on_both_stores {
    ($scenario:ident) => {
        mod $scenario {
            #[test]
            fn coffre_embarque() {
                super::$scenario(super::Kind::Embedded);
            }
            #[test]
            fn moto() {
                super::$scenario(super::Kind::Moto);
            }
        }
    };
}

fn key_of(sha: &Sha256Digest) -> String {
    s3::object_key(PLIE, sha)
}

fn tamper_one_byte_of_a_stored_object(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let store = Store::start(kind, data, "");
    let digests = put_documents(data, 4);
    store.tamper(&key_of(&digests[2]));
    assert_verify_fails(
        data,
        "segment 000001, ligne 3 (entrée n° 3)",
        "altéré dans le coffre",
    );
}
on_both_stores!(tamper_one_byte_of_a_stored_object);

fn tamper_delete_a_journal_entry(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let _store = Store::start(kind, data, "");
    put_documents(data, 5);
    let text = std::fs::read_to_string(segment(data, 1)).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, l)| l)
        .collect();
    std::fs::write(segment(data, 1), kept.join("\n") + "\n").unwrap();
    assert_verify_fails(
        data,
        "segment 000001, ligne 3 (entrée n° 4)",
        "l'entrée n° 3 manque",
    );
}
on_both_stores!(tamper_delete_a_journal_entry);

fn tamper_reorder_two_entries(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let _store = Store::start(kind, data, "");
    put_documents(data, 5);
    let text = std::fs::read_to_string(segment(data, 1)).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(1, 2);
    std::fs::write(segment(data, 1), lines.join("\n") + "\n").unwrap();
    assert_verify_fails(data, "segment 000001, ligne 2 (entrée n° 3)", "manque");
    let (_, _, err) = run(data, &["verify", "--store"]);
    assert!(err.contains("3 rupture(s)"), "{err}");
}
on_both_stores!(tamper_reorder_two_entries);

fn tamper_replace_a_segment(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let _store = Store::start(kind, data, "[store.journal]\nsegment_entries = 4\n");
    put_documents(data, 9);
    assert!(segment(data, 3).is_file(), "trois segments attendus");
    let (ok, out, err) = run(data, &["verify", "--store"]);
    assert!(ok, "{out}{err}");
    // A forger rewrites segment 1 with a consistent chain: another participant on entry 2.
    let mut entries: Vec<JournalEntry> = std::fs::read_to_string(segment(data, 1))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    if let JournalEvent::DocumentFiled { participant, .. } = &mut entries[1].event {
        *participant = Some("p-0000".into());
    }
    let mut prev = entries[0].prev;
    let mut forged = String::new();
    for entry in &mut entries {
        entry.prev = prev;
        entry.hash = parafe::journal::chain::entry_hash(entry);
        prev = entry.hash;
        forged += &(serde_json::to_string(entry).unwrap() + "\n");
    }
    std::fs::write(segment(data, 1), forged).unwrap();
    assert_verify_fails(
        data,
        "segment 000002, ligne 1 (entrée n° 5)",
        "segment 000001 remplacé",
    );
}
on_both_stores!(tamper_replace_a_segment);

/// 31/12/2035 inclusive, Paris time: the instant the extended retention ends.
const END_OF_2035: &str = "2035-12-31T23:00:00Z";

fn instant(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp()
}

/// Retention is extended on the store itself, never shortened; a delete is refused by parafe
/// and, asked directly, by the store.
fn retention_extended_never_shortened_and_enforced_by_the_store(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let store = Store::start(kind, data, "");
    let digests = put_documents(data, 2);
    let key = key_of(&digests[0]);
    assert_eq!(
        store.lock_of(&key).0,
        Some(instant("2033-12-31T23:00:00Z")),
        "COMPLIANCE jusqu'au 31/12/2033 inclus dès le dépôt"
    );
    let target = ["--plie", PLIE, "--operation", OPERATION];
    let extend = [
        &["store", "retention"][..],
        &target,
        &["--years", "5", "--last-payment", "2030-06-30"],
    ]
    .concat();
    let (ok, out, err) = run(data, &extend);
    assert!(ok && out.contains("31/12/2035 inclus"), "{out}{err}");
    assert_eq!(store.lock_of(&key).0, Some(instant(END_OF_2035)));
    let shorten = [
        &["store", "retention"][..],
        &target,
        &["--closure", "2033-12-31"],
    ]
    .concat();
    let out = parafe(&[&shorten[..], &["--data-dir", &data.to_string_lossy()]].concat());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("ne peut pas être raccourcie"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(store.lock_of(&key).0, Some(instant(END_OF_2035)));
    let sha = digests[0].to_hex();
    let (ok, _, err) = run(
        data,
        &["store", "delete", "--plie", PLIE, &sha, "--reason", "essai"],
    );
    assert!(
        !ok && err.contains("conservé jusqu'au") && err.contains("suppression refusée"),
        "{err}"
    );
    assert_eq!(store.plain_delete(&key), Err("AccessDenied".into()));
    assert!(store.exists(&key));
    let (ok, out, err) = run(data, &["verify", "--store"]);
    assert!(ok, "{out}{err}");
}
on_both_stores!(retention_extended_never_shortened_and_enforced_by_the_store);

/// A legal hold is placed on the store itself and blocks every delete until it is lifted.
fn legal_hold_is_placed_on_the_store_and_blocks_delete(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let store = Store::start(kind, data, "");
    let digests = put_documents(data, 2);
    let target = ["--plie", PLIE, "--operation", OPERATION];
    let (ok, out, _) = run(
        data,
        &[&["store", "legal-hold"][..], &target, &["on"]].concat(),
    );
    assert!(ok && out.contains("placée sur 2 pièce(s)"), "{out}");
    for sha in &digests {
        assert!(store.lock_of(&key_of(sha)).1, "legal hold absent de {sha}");
    }
    let sha = digests[0].to_hex();
    let (ok, _, err) = run(
        data,
        &["store", "delete", "--plie", PLIE, &sha, "--reason", "essai"],
    );
    assert!(!ok && err.contains("legal hold"), "{err}");
    assert_eq!(
        store.plain_delete(&key_of(&digests[0])),
        Err("AccessDenied".into())
    );
    // Filed during the control: held from its first byte.
    let later = data.join("docs/après-contrôle.pdf");
    std::fs::write(&later, "%PDF-1.7 pièce arrivée pendant le contrôle").unwrap();
    let (ok, out, err) = run(
        data,
        &[
            &["store", "put"][..],
            &target,
            &["--kind", "justificatif", &later.to_string_lossy()],
        ]
        .concat(),
    );
    assert!(ok, "{out}{err}");
    let held = Sha256Digest::of(&std::fs::read(&later).unwrap());
    assert!(store.lock_of(&key_of(&held)).1, "dépôt pendant le contrôle");
    let (ok, out, _) = run(
        data,
        &[&["store", "legal-hold"][..], &target, &["off"]].concat(),
    );
    assert!(ok && out.contains("levée sur 3 pièce(s)"), "{out}");
    assert!(!store.lock_of(&key_of(&digests[0])).1);
    assert!(store.exists(&key_of(&digests[0])));
    let (ok, out, err) = run(data, &["verify", "--store"]);
    assert!(ok, "{out}{err}");
}
on_both_stores!(legal_hold_is_placed_on_the_store_and_blocks_delete);

/// The store stops while documents are being filed, then comes back: every document ends up
/// filed exactly once, and `parafe verify --store` holds.
fn outage_while_filing_loses_nothing_and_files_once(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let mut store = Store::start(kind, &data, "[store.journal]\nsegment_entries = 25\n");
    let config = Config::load(&data).unwrap();
    let Store { rt, backend, .. } = &mut store;
    let digests = rt.block_on(async {
        let vault = std::sync::Arc::new(config.coffre().await.unwrap());
        let worker = vault.spawn_retry_worker();
        let plie = PlieId::new(PLIE).unwrap();
        let count = 60;
        let mut queued = 0;
        let mut digests = Vec::new();
        for i in 0..count {
            if i == 20 {
                backend.outage().await;
            }
            if i == 45 {
                backend.back().await;
            }
            let bytes = format!("émargement {i} {}", "y".repeat(5000)).into_bytes();
            digests.push(Sha256Digest::of(&bytes));
            let filed = vault
                .file(&plie, metadata(i), Content::Bytes(bytes), None)
                .await
                .unwrap();
            queued += usize::from(filed.queued);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            queued >= 20,
            "les dépôts pendant la panne passent par la file ({queued})"
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while vault.queue_len() > 0 {
            assert!(
                Instant::now() < deadline,
                "la file ne s'est pas vidée : {}",
                vault.queue_len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        worker.abort();
        let filed: Vec<Sha256Digest> = vault
            .journal()
            .entries(&plie)
            .unwrap()
            .into_iter()
            .filter(|e| matches!(e.event, JournalEvent::DocumentFiled { .. }))
            .flat_map(|e| e.objects)
            .collect();
        assert_eq!(filed.len(), count, "une entrée « déposé » par document");
        for sha in &digests {
            assert_eq!(
                filed.iter().filter(|f| *f == sha).count(),
                1,
                "{sha} journalisé une fois"
            );
        }
        digests
    });
    for sha in &digests {
        assert!(store.exists(&key_of(sha)), "{sha} absent du coffre");
    }
    let (ok, out, err) = run(&data, &["verify", "--store"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains(&format!("{} objet(s)", digests.len() + 2)),
        "60 pièces et 2 segments archivés :\n{out}"
    );
}
on_both_stores!(outage_while_filing_loses_nothing_and_files_once);

#[test]
fn embedded_store_files_once_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let digests = put_documents(data, 3);
    for sha in &digests {
        assert!(
            embedded_object(data, sha).is_file(),
            "objet {sha} absent du coffre embarqué"
        );
    }
    // The same filing again: nothing new in the store nor in the journal.
    let premier = [data
        .join("docs/émargement-0.pdf")
        .to_string_lossy()
        .into_owned()];
    let again = |participant: &str| store_put(data, participant, &premier);
    let (ok, out, _) = again("p-7f3a");
    assert!(ok && out.contains("déjà déposé"), "{out}");
    let journal = std::fs::read_to_string(segment(data, 1)).unwrap();
    assert_eq!(journal.lines().count(), 3);
    // The same bytes for another participant: its own entry, naming it; the bytes stay put.
    let (ok, out, _) = again("p-9c21");
    assert!(ok && out.contains("mêmes octets déjà au coffre"), "{out}");
    let journal = std::fs::read_to_string(segment(data, 1)).unwrap();
    assert_eq!(journal.lines().count(), 4);
    let last: JournalEntry = serde_json::from_str(journal.lines().last().unwrap()).unwrap();
    assert!(
        matches!(&last.event, JournalEvent::DocumentFiled { participant, .. } if participant.as_deref() == Some("p-9c21")),
        "{last:?}"
    );
    assert_eq!(last.objects, vec![digests[0]]);
    assert!(
        !journal.contains("émargement"),
        "le journal ne garde pas de nom de fichier ni de donnée personnelle"
    );
    let (ok, out, err) = run(data, &["verify", "--store"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("4 entrée(s)") && out.contains("3 objet(s)") && out.contains("coffre intègre"),
        "{out}"
    );
}

/// The embedded store enforces Object Lock itself: `store check` says so, and production
/// mode accepts it without any override.
#[test]
fn embedded_store_has_object_lock_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    std::fs::write(data.join("parafe.toml"), "[store]\nproduction = true\n").unwrap();
    let (ok, out, err) = run(data, &["store", "check"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("coffre embarqué")
            && out.contains("Object Lock   : oui")
            && out.contains("versionnage   : sans objet")
            && !out.contains("assurée par parafe seul"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_whose_hash_differs_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = EmbeddedS3::start(
        &dir.path().join("s3"),
        "127.0.0.1:0".parse().unwrap(),
        "k",
        "s",
    )
    .await
    .unwrap();
    let store = s3::S3::new(client(&server.endpoint(), ("k", "s")), "parafe".into());
    store.ensure_bucket().await.unwrap();
    let claimed = Sha256Digest::of(b"ce qui a ete signe");
    let object = EvidenceObject {
        plie: PlieId::new(PLIE).unwrap(),
        sha256: claimed,
        size: 18,
        key: s3::object_key(PLIE, &claimed),
        metadata: metadata(0),
        retain_until: chrono::Utc::now() + chrono::Duration::days(1),
    };
    let sent = store
        .put(
            &object,
            ByteStream::from(b"ce qui a ete recu!".to_vec()),
            true,
            false,
        )
        .await;
    assert!(
        matches!(sent, Err(s3::S3Failure::Rejected(ref m)) if m.contains("BadDigest")),
        "{sent:?}"
    );
    // Nothing became visible, nothing was left behind: the right bytes go in afterwards.
    assert_eq!(store.rehash(&object.key).await.unwrap(), None);
    let tmp = dir.path().join("s3/.coffre/tmp");
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "fichier temporaire laissé"
    );
    let sent = store
        .put(
            &object,
            ByteStream::from(b"ce qui a ete signe".to_vec()),
            true,
            false,
        )
        .await;
    assert_eq!(sent.unwrap(), s3::Put::Stored);
    server.stop().await;
}

/// moto server, started by the test; killed when dropped.
pub(crate) struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    pub(crate) fn start() -> Moto {
        let program = "moto_server";
        let port = free_port();
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{program} introuvable ({e}) : lancez les tests par bash tests/run")
            });
        wait_for_port(port);
        Moto { child, port }
    }
    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_object_lock_refuses_delete_and_overwrite_of_a_locked_version() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let endpoint = moto.endpoint();
    let client = s3::client(&s3::Endpoint {
        url: &endpoint,
        region: "us-east-1",
        credentials: Some(("parafe-test", "parafe-test-secret")),
        path_style: true,
    });
    client
        .create_bucket()
        .bucket("preuves")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    let enabled = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
        .build();
    client
        .put_bucket_versioning()
        .bucket("preuves")
        .versioning_configuration(enabled)
        .send()
        .await
        .unwrap();
    client
        .create_bucket()
        .bucket("sans-verrou")
        .send()
        .await
        .unwrap();
    config_for(
        &data,
        &endpoint,
        "bucket = \"sans-verrou\"\nproduction = true\n",
    );
    let (ok, _, err) = tokio::task::spawn_blocking({
        let data = data.clone();
        move || run(&data, &["store", "check"])
    })
    .await
    .unwrap();
    assert!(!ok && err.contains("refusé en mode production"), "{err}");

    config_for(
        &data,
        &endpoint,
        "bucket = \"preuves\"\nproduction = true\n",
    );
    let d = data.clone();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        let check = run(&d, &["store", "check"]);
        assert!(
            check.0
                && check.1.contains("versionnage   : oui")
                && check.1.contains("Object Lock   : oui"),
            "{check:?}"
        );
        put_documents(&d, 3);
        run(&d, &["verify", "--store"])
    })
    .await
    .unwrap();
    assert!(ok && out.contains("coffre intègre"), "{out}{err}");

    let sha = Sha256Digest::of(format!("%PDF-1.7 émargement n° 0 {}", "x".repeat(1000)).as_bytes());
    let key = s3::object_key(PLIE, &sha);
    let head = client
        .head_object()
        .bucket("preuves")
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_mode().map(|m| m.as_str()),
        Some("COMPLIANCE")
    );
    let until = head.object_lock_retain_until_date().unwrap().secs();
    assert_eq!(
        until,
        chrono::DateTime::parse_from_rfc3339("2033-12-31T23:00:00Z")
            .unwrap()
            .timestamp()
    );
    let version = head.version_id().unwrap().to_owned();

    // Plain S3 calls, no parafe: the server itself refuses.
    let deleted = client
        .delete_object()
        .bucket("preuves")
        .key(&key)
        .version_id(&version)
        .send()
        .await;
    assert!(
        deleted.is_err(),
        "suppression d'une version verrouillée acceptée : {deleted:?}"
    );
    let bypass = client
        .delete_object()
        .bucket("preuves")
        .key(&key)
        .version_id(&version)
        .bypass_governance_retention(true)
        .send()
        .await;
    assert!(
        bypass.is_err(),
        "COMPLIANCE ne se contourne pas : {bypass:?}"
    );
    // (moto accepts a shorter COMPLIANCE retain-until where S3 refuses it: parafe never asks.)
    // An overwrite only stacks a new version: the locked one stays, byte for byte.
    let overwrite = client
        .put_object()
        .bucket("preuves")
        .key(&key)
        .body(ByteStream::from_static(b"faux"))
        .send()
        .await;
    let original = client
        .get_object()
        .bucket("preuves")
        .key(&key)
        .version_id(&version)
        .send()
        .await
        .unwrap();
    let bytes = original.body.collect().await.unwrap().into_bytes();
    assert_eq!(
        Sha256Digest::of(&bytes),
        sha,
        "version verrouillée modifiée (écrasement : {overwrite:?})"
    );
    let wipe = client
        .delete_object()
        .bucket("preuves")
        .key(&key)
        .version_id(&version)
        .send()
        .await;
    assert!(wipe.is_err(), "{wipe:?}");
    // The overwrite made the latest version differ from the journal: verify names it.
    if overwrite.is_ok() {
        let d = data.clone();
        let (ok, _, err) = tokio::task::spawn_blocking(move || run(&d, &["verify", "--store"]))
            .await
            .unwrap();
        assert!(
            !ok && err.contains("ligne 1 (entrée n° 1)") && err.contains("altéré"),
            "{err}"
        );
    }
}

/// A real RFC 3161 TSA nobody here wrote: `openssl ts -reply`, with its own CA.
struct OpensslTsa {
    dir: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} : {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

impl OpensslTsa {
    fn new(dir: PathBuf) -> OpensslTsa {
        std::fs::create_dir_all(&dir).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        openssl(
            &dir,
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.crt",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=AC essai",
                ],
            ]
            .concat(),
        );
        openssl(
            &dir,
            &[
                &["req"][..],
                &ec,
                &[
                    "-keyout",
                    "tsa.key",
                    "-out",
                    "tsa.csr",
                    "-subj",
                    "/CN=TSA essai",
                ],
            ]
            .concat(),
        );
        std::fs::write(
            dir.join("ext.cnf"),
            "extendedKeyUsage=critical,timeStamping\n",
        )
        .unwrap();
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "tsa.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
                "-out",
                "tsa.crt",
            ],
        );
        let cnf = "[tsa]\ndefault_tsa = t\n[t]\ndir = .\nserial = ./serial\nsigner_cert = tsa.crt\nsigner_key = tsa.key\nsigner_digest = sha256\ndefault_policy = 1.3.6.1.4.1.32473.9\ndigests = sha256\ness_cert_id_alg = sha256\n";
        std::fs::write(dir.join("ts.cnf"), cnf).unwrap();
        std::fs::write(dir.join("serial"), "01\n").unwrap();
        OpensslTsa { dir }
    }

    fn check(
        &self,
        token: &parafe::model::TimestampToken,
        imprint: &Sha256Digest,
    ) -> Result<(), String> {
        let path = self.dir.join(format!("check-{}.der", imprint.to_hex()));
        std::fs::write(&path, &token.der).map_err(|e| e.to_string())?;
        let out = Command::new("openssl")
            .args([
                "ts",
                "-verify",
                "-digest",
                &imprint.to_hex(),
                "-token_in",
                "-in",
            ])
            .arg(&path)
            .args(["-CAfile", "ca.crt", "-untrusted", "tsa.crt"])
            .current_dir(&self.dir)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(text(&out.stderr))
        }
    }
}

impl parafe::journal::Timestamper for OpensslTsa {
    async fn timestamp(
        &self,
        imprint: &Sha256Digest,
    ) -> Result<parafe::model::TimestampToken, String> {
        let hex = imprint.to_hex();
        openssl(
            &self.dir,
            &[
                "ts", "-query", "-digest", &hex, "-sha256", "-cert", "-out", "q.tsq",
            ],
        );
        openssl(
            &self.dir,
            &[
                "ts",
                "-reply",
                "-config",
                "ts.cnf",
                "-queryfile",
                "q.tsq",
                "-token_out",
                "-out",
                "t.der",
            ],
        );
        let info = openssl(
            &self.dir,
            &["ts", "-reply", "-in", "t.der", "-token_in", "-text"],
        );
        let stamp = info
            .lines()
            .find_map(|l| l.strip_prefix("Time stamp: "))
            .ok_or("genTime absent")?;
        let time = chrono::NaiveDateTime::parse_from_str(stamp.trim(), "%b %e %H:%M:%S %Y GMT")
            .map_err(|e| e.to_string())?;
        Ok(parafe::model::TimestampToken {
            der: std::fs::read(self.dir.join("t.der")).map_err(|e| e.to_string())?,
            time: time.and_utc(),
            tsa: "CN=TSA essai".into(),
            qualified: false,
        })
    }
}

/// The chain heads are anchored under an RFC 3161 timestamp; cutting the end of a chain, which
/// no hash inside the chain can reveal, breaks the anchor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anchor_timestamps_every_head_and_reveals_a_cut_chain() {
    let dir = tempfile::tempdir().unwrap();
    let tsa = OpensslTsa::new(dir.path().join("tsa"));
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let vault = Config::load(&data).unwrap().coffre().await.unwrap();
    let (dijon, rouen) = (
        PlieId::new(PLIE).unwrap(),
        PlieId::new("plie-rouen").unwrap(),
    );
    for i in 0..5 {
        vault
            .file(
                &dijon,
                metadata(i),
                Content::Bytes(format!("dijon {i}").into_bytes()),
                None,
            )
            .await
            .unwrap();
        vault
            .file(
                &rouen,
                metadata(i),
                Content::Bytes(format!("rouen {i}").into_bytes()),
                None,
            )
            .await
            .unwrap();
    }
    let anchor = vault.anchor(&tsa).await.unwrap();
    assert_eq!(anchor.heads.len(), 2, "une tête par PLIE");
    assert!(
        anchor.heads.iter().all(|h| h.seq == 6),
        "segment 1 clos et archivé avant l'ancre : {:?}",
        anchor.heads
    );
    assert!(
        vault.anchor_if_due(&tsa).await.unwrap().is_none(),
        "ancrage quotidien : pas deux fois de suite"
    );
    let check =
        |token: &parafe::model::TimestampToken, imprint: &Sha256Digest| tsa.check(token, imprint);
    let report = vault.verify(&check, None).await.unwrap();
    assert!(report.breaks.is_empty(), "{:?}", report.breaks);
    assert_eq!(
        (report.anchors, report.objects),
        (1, 13),
        "10 pièces, 2 segments, 1 ancre"
    );

    // Cut the end of Dijon's chain: what remains is perfectly chained.
    std::fs::remove_file(segment(&data, 2)).unwrap();
    drop(vault);
    let vault = Config::load(&data).unwrap().coffre().await.unwrap();
    let report = vault.verify(&check, None).await.unwrap();
    let first = report.breaks.first().expect("coupure non détectée");
    assert_eq!(first.place.to_string(), "ancres (anchors.jsonl), ligne 1");
    assert!(
        first
            .problem
            .contains("s'arrête à l'entrée n° 5 alors que l'ancre n° 1 en atteste 6"),
        "{}",
        first.problem
    );
}

/// `parafe store serve`, once it has printed its endpoint and keys.
struct Served {
    child: Child,
    /// Kept open: parafe writes to it until it stops.
    _stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
    endpoint: String,
    access: String,
    secret: String,
}

impl Served {
    /// Runs `command` (parafe store serve, possibly under strace) and reads what it prints.
    fn start(mut command: Command) -> Served {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("lancement de parafe store serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut field = |name: &str| -> String {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("parafe store serve s'est arrêté avant « {name} »"))
                .unwrap();
            let value = line
                .strip_prefix(name)
                .unwrap_or_else(|| panic!("« {name} » attendu : {line}"));
            value
                .trim_start_matches([' ', ':'])
                .split(' ')
                .next()
                .unwrap()
                .to_owned()
        };
        let endpoint = field("point d'accès");
        field("compartiment");
        let access = field("clé d'accès");
        let secret = field("clé secrète");
        field("Ctrl-C");
        Served {
            child,
            _stdout: lines,
            endpoint,
            access,
            secret,
        }
    }

    fn parafe(data: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_parafe"));
        command.args(["store", "serve", "--data-dir"]).arg(data);
        command
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the plain S3 client script for `phase`; returns each step's JSON line by name.
fn plain_client(
    served: &Served,
    phase: &str,
) -> std::collections::HashMap<String, serde_json::Value> {
    let script = crate::support::repo().join("tests/scenarios/client_s3_ordinaire.py");
    let out = Command::new("python3")
        .arg(script)
        .args([&served.endpoint, &served.access, &served.secret, phase])
        .output()
        .expect("python3 (boto3 vient avec moto : lancez les tests par bash tests/run)");
    assert!(out.status.success(), "client S3 : {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["etape"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

/// A plain S3 client (boto3), given the endpoint and keys `parafe store serve` prints, cannot
/// overwrite an object, delete it before its term or under legal hold, nor shorten its
/// retention: the store itself refuses, with S3's codes. After the term, delete works.
#[test]
fn plain_s3_client_meets_write_once_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let served = Served::start(Served::parafe(data));
    let steps = plain_client(&served, "avant");
    let step = |name: &str| {
        let s = &steps[name];
        (
            s["ok"].as_bool().unwrap(),
            s["statut"].as_u64(),
            s["code"].as_str().map(str::to_owned),
            s["valeur"].clone(),
        )
    };
    for name in ["depot", "depot-sous-legal-hold", "prolongation"] {
        assert!(step(name).0, "{name} : {:?}", steps[name]);
    }
    let refused = |name: &str, status: u64, code: &str| {
        let (ok, s, c, _) = step(name);
        assert!(
            !ok && s == Some(status) && c.as_deref() == Some(code),
            "{name} : {status} {code} attendu, {:?}",
            steps[name]
        );
    };
    refused("ecrasement", 403, "AccessDenied");
    refused("ecrasement-si-absent", 412, "PreconditionFailed");
    refused("suppression-avant-terme", 403, "AccessDenied");
    refused("raccourcissement", 403, "AccessDenied");
    refused("mode-governance", 400, "InvalidArgument");
    refused("somme-fausse", 400, "BadDigest");
    refused("alteree-absente", 404, "404");
    refused("lecture-hors-du-compartiment", 400, "InvalidArgument");
    refused("ecriture-hors-du-compartiment", 400, "InvalidArgument");
    assert_eq!(step("conservation-lue").3, "2030-06-01T00:00:00+00:00");
    assert_eq!(step("relecture").3, true);
    // An abrupt stop (SIGKILL), then the same directory served with the store's clock past the
    // term: what was acknowledged, retention and legal hold included, is still there.
    drop(served);
    let mut later = Served::parafe(data);
    later.env("PARAFE_HORLOGE", "2030-06-02T00:00:00Z");
    let served = Served::start(later);
    let steps = plain_client(&served, "apres");
    let step = |name: &str| {
        (
            steps[name]["ok"].as_bool().unwrap(),
            steps[name]["code"].clone(),
        )
    };
    assert_eq!(
        step("suppression-sous-legal-hold"),
        (false, "AccessDenied".into())
    );
    for name in [
        "legal-hold-leve",
        "suppression-apres-legal-hold",
        "relecture-apres-redemarrage",
        "suppression-apres-terme",
        "nouveau-depot-apres-terme",
    ] {
        assert!(step(name).0, "{name} : {:?}", steps[name]);
    }
    assert_eq!(steps["relecture-apres-redemarrage"]["valeur"], true);
    assert_eq!(step("supprimee-absente"), (false, "404".into()));
}

/// One system call of a trace, with the lines where it started and ended.
#[derive(Debug)]
struct Call {
    name: String,
    text: String,
    start: usize,
    end: usize,
}

/// Reads `strace -f -y` output, joining the calls other threads interrupted.
fn read_trace(path: &Path) -> Vec<Call> {
    let mut pending = std::collections::HashMap::new();
    let mut calls = Vec::new();
    for (i, line) in std::fs::read_to_string(path).unwrap().lines().enumerate() {
        let Some((pid, rest)) = line.trim_start().split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            pending.insert(pid.to_owned(), (i, head.to_owned()));
        } else if rest.starts_with("<... ") {
            let Some((start, head)) = pending.remove(pid) else {
                continue;
            };
            let tail = rest.split_once("resumed>").map_or("", |(_, t)| t);
            let name = head.split('(').next().unwrap_or_default().to_owned();
            calls.push(Call {
                name,
                text: head + tail,
                start,
                end: i,
            });
        } else if let Some((name, _)) = rest.split_once('(') {
            calls.push(Call {
                name: name.to_owned(),
                text: rest.to_owned(),
                start: i,
                end: i,
            });
        }
    }
    calls
}

/// The quoted strings of a call (file names are printed whole by strace).
fn quoted(text: &str) -> Vec<&str> {
    text.split('"').skip(1).step_by(2).collect()
}

/// How the `nth` file placed at `dest` got there.
#[derive(Debug)]
struct Placement {
    opened: usize,
    synced: usize,
    renamed: (usize, usize),
    dir_synced: usize,
}

fn placement(calls: &[Call], dest: &Path, nth: usize) -> Placement {
    let dest = dest.to_string_lossy();
    let rename = calls
        .iter()
        .filter(|c| c.name.starts_with("rename") && quoted(&c.text).get(1) == Some(&&*dest))
        .nth(nth)
        .unwrap_or_else(|| panic!("aucun rename n° {nth} vers {dest}"));
    let tmp = quoted(&rename.text)[0].to_owned();
    let opened = calls
        .iter()
        .find(|c| c.name == "openat" && quoted(&c.text).first() == Some(&&*tmp))
        .unwrap_or_else(|| panic!("{tmp} jamais ouvert"));
    let fd = format!("<{tmp}>");
    let synced = calls
        .iter()
        .find(|c| c.name == "fsync" && c.text.contains(&fd))
        .unwrap_or_else(|| panic!("{tmp} renommé en {dest} sans fsync"));
    for write in calls
        .iter()
        .filter(|c| c.name.starts_with("write") && c.text.contains(&fd))
    {
        assert!(
            write.end < synced.start,
            "écriture de {tmp} après son fsync"
        );
    }
    let dir = format!("<{}>)", Path::new(&*dest).parent().unwrap().display());
    let dir_synced = calls
        .iter()
        .find(|c| c.name == "fsync" && c.text.contains(&dir) && c.start > rename.end)
        .unwrap_or_else(|| panic!("dossier de {dest} jamais synchronisé après le rename"));
    Placement {
        opened: opened.start,
        synced: synced.end,
        renamed: (rename.start, rename.end),
        dir_synced: dir_synced.end,
    }
}

/// The first HTTP answer the server wrote after line `after`.
fn answer_after(calls: &[Call], after: usize) -> &Call {
    calls
        .iter()
        .find(|c| {
            c.start > after
                && ["write", "writev", "sendto", "sendmsg"].contains(&c.name.as_str())
                && c.text.contains("\"HTTP/1.1 ")
        })
        .expect("aucune réponse HTTP")
}

/// Every acknowledged PUT is durable before its answer: under strace, the object's bytes are
/// written to a temporary file and fsynced, its record (retention, legal hold, checksums) is
/// renamed into place and its directory fsynced, then the object is renamed and its directory
/// fsynced, and only then does the 200 leave on the socket. Retention and legal hold changes
/// follow the same order for the record.
#[test]
fn every_acknowledged_write_is_durable_before_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().canonicalize().unwrap();
    let trace = data.join("trace.txt");
    let mut command = Command::new("strace");
    command
        .args(["-f", "-y", "-s", "32", "-o"])
        .arg(&trace)
        .args([
            "-e",
            "trace=openat,write,writev,sendto,sendmsg,fsync,fdatasync,rename,renameat,renameat2",
        ])
        .arg(env!("CARGO_BIN_EXE_parafe"))
        .args(["store", "serve", "--data-dir"])
        .arg(&data);
    let served = Served::start(command);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = s3::S3::new(
        client(&served.endpoint, (&served.access, &served.secret)),
        "parafe".into(),
    );
    let until = chrono::Utc::now() + chrono::Duration::days(400);
    let objects: Vec<EvidenceObject> = (0..3)
        .map(|i| {
            let bytes = document(i);
            let sha = Sha256Digest::of(&bytes);
            EvidenceObject {
                plie: PlieId::new(PLIE).unwrap(),
                sha256: sha,
                size: bytes.len() as u64,
                key: key_of(&sha),
                metadata: metadata(i),
                retain_until: until,
            }
        })
        .collect();
    rt.block_on(async {
        for (i, object) in objects.iter().enumerate() {
            let put = store
                .put(object, ByteStream::from(document(i)), true, i == 1)
                .await
                .unwrap();
            assert_eq!(put, s3::Put::Stored);
        }
        store
            .extend_retention(&objects[0].key, until + chrono::Duration::days(1))
            .await
            .unwrap();
        store.set_legal_hold(&objects[2].key, true).await.unwrap();
    });
    // parafe stops on SIGINT; strace then writes out the whole trace.
    let strace_pid = served.child.id();
    let children =
        std::fs::read_to_string(format!("/proc/{strace_pid}/task/{strace_pid}/children")).unwrap();
    let parafe_pid = children
        .split_whitespace()
        .next()
        .expect("parafe sous strace");
    assert!(Command::new("kill")
        .args(["-INT", parafe_pid])
        .status()
        .unwrap()
        .success());
    let mut served = served;
    assert!(served.child.wait().unwrap().success());
    let calls = read_trace(&trace);

    let root = data.join("store/embedded");
    for object in &objects {
        let record = placement(
            &calls,
            &root.join(".coffre/objets/parafe").join(&object.key),
            0,
        );
        let bytes = placement(&calls, &root.join("parafe").join(&object.key), 0);
        assert!(
            bytes.synced < bytes.renamed.0,
            "{}: fsync puis rename",
            object.key
        );
        assert!(
            record.synced < record.renamed.0,
            "{}: fiche fsync puis rename",
            object.key
        );
        assert!(
            record.dir_synced < bytes.renamed.0,
            "{}: la fiche (conservation) est durable avant que l'objet ne soit visible",
            object.key
        );
        assert!(bytes.renamed.1 < bytes.dir_synced);
        let answer = answer_after(&calls, bytes.opened);
        assert!(
            answer.start > bytes.dir_synced && answer.text.contains("HTTP/1.1 200"),
            "{}: réponse avant la fin de l'écriture durable : {answer:?}",
            object.key
        );
    }
    for object in [&objects[0], &objects[2]] {
        let record = placement(
            &calls,
            &root.join(".coffre/objets/parafe").join(&object.key),
            1,
        );
        assert!(record.synced < record.renamed.0 && record.renamed.1 < record.dir_synced);
        let answer = answer_after(&calls, record.opened);
        assert!(
            answer.start > record.dir_synced && answer.text.contains("HTTP/1.1 200"),
            "{}: changement de conservation acquitté avant d'être durable : {answer:?}",
            object.key
        );
    }
}

/// A data directory filled by parafe when s3s-fs served its embedded store is taken over in
/// place: `verify --store` holds, and every piece now carries the retention and legal hold the
/// register gives its opération, enforced by the store.
#[test]
fn data_directory_left_by_s3s_fs_is_migrated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let root = data.join("store/embedded");
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Port 0: the system picks a free port when binding, no race with the other scenarios.
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let old = rt
        .block_on(parafe::store::embedded::legacy::serve_s3s_fs(
            &root, addr, ACCESS, SECRET,
        ))
        .unwrap();
    rt.block_on(
        s3::S3::new(client(&old.endpoint(), (ACCESS, SECRET)), "parafe".into()).ensure_bucket(),
    )
    .unwrap();
    config_for(data, &old.endpoint(), "");
    let digests = put_documents(data, 3);
    let target = ["--plie", PLIE, "--operation", OPERATION];
    let (ok, out, err) = run(
        data,
        &[
            &["store", "retention"][..],
            &target,
            &["--years", "5", "--last-payment", "2030-06-30"],
        ]
        .concat(),
    );
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(
        data,
        &[&["store", "legal-hold"][..], &target, &["on"]].concat(),
    );
    assert!(ok, "{out}{err}");
    rt.block_on(old.stop());
    let legacy_files = || {
        std::fs::read_dir(&root)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".bucket-")
            })
            .count()
    };
    assert!(legacy_files() > 0, "métadonnées de s3s-fs attendues");
    let refused = rt.block_on(EmbeddedS3::start(
        &root,
        "127.0.0.1:0".parse().unwrap(),
        ACCESS,
        SECRET,
    ));
    assert!(
        refused.is_err_and(|e| e.to_string().contains("disposition de s3s-fs")),
        "le coffre ne sert pas une disposition non reprise"
    );

    // The default configuration again: parafe opens its own store over the same directory.
    std::fs::write(data.join("parafe.toml"), "").unwrap();
    let (ok, out, err) = run(data, &["verify", "--store"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("3 objet(s)") && out.contains("coffre intègre"),
        "{out}"
    );
    assert_eq!(legacy_files(), 0, "fichiers de s3s-fs retirés");

    let config = Config::load(data).unwrap();
    let keys = (ACCESS.to_owned(), SECRET.to_owned());
    let server = rt
        .block_on(parafe::store::start_embedded(
            &config.store,
            &config.data_dir,
            0,
            &keys,
            parafe::store::embedded::system_clock(),
        ))
        .unwrap();
    let c = client(&server.endpoint(), (ACCESS, SECRET));
    for (i, sha) in digests.iter().enumerate() {
        let key = key_of(sha);
        let head = rt
            .block_on(c.head_object().bucket("parafe").key(&key).send())
            .unwrap();
        assert_eq!(
            head.object_lock_retain_until_date().map(|t| t.secs()),
            Some(instant(END_OF_2035)),
            "conservation prolongée reprise"
        );
        assert_eq!(
            head.object_lock_legal_hold_status().map(|s| s.as_str()),
            Some("ON")
        );
        let bytes = rt
            .block_on(async {
                c.get_object()
                    .bucket("parafe")
                    .key(&key)
                    .send()
                    .await
                    .unwrap()
                    .body
                    .collect()
                    .await
            })
            .unwrap()
            .into_bytes();
        assert_eq!(bytes.as_ref(), document(i));
        let deleted = rt.block_on(c.delete_object().bucket("parafe").key(&key).send());
        assert!(deleted.is_err(), "suppression acceptée après reprise");
    }
    rt.block_on(server.stop());
}
