//! Issue 4: evidence filed in object storage for the whole retention period, with a
//! tamper-evident journal. Real S3 servers on loopback: the embedded s3s-fs, and moto server
//! (`moto_server` from PyPI `moto[server]`, on PATH: `tests/run` installs it), which enforces
//! Object Lock.

use crate::support::{parafe, text};
use aws_sdk_s3::primitives::ByteStream;
use parafe::config::Config;
use parafe::model::{
    EvidenceMetadata, EvidenceObject, JournalEntry, JournalEvent, PlieId, Sha256Digest,
};
use parafe::store::embedded::EmbeddedS3;
use parafe::store::{s3, Content, Vault};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PLIE: &str = "plie-dijon";
const OPERATION: &str = "202100123";

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

/// Writes `count` distinct documents and files them with `parafe store put`.
fn put_documents(data: &Path, count: usize) -> Vec<Sha256Digest> {
    let docs = data.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let mut files = Vec::new();
    let mut digests = Vec::new();
    for i in 0..count {
        let path = docs.join(format!("émargement-{i}.pdf"));
        let bytes = format!("%PDF-1.7 émargement n° {i} {}", "x".repeat(1000 + i)).into_bytes();
        digests.push(Sha256Digest::of(&bytes));
        std::fs::write(&path, bytes).unwrap();
        files.push(path.to_string_lossy().into_owned());
    }
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
        "p-7f3a",
    ];
    args.extend(files.iter().map(String::as_str));
    let (ok, out, err) = run(data, &args);
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
    let again = |participant: &str| {
        run(
            data,
            &[
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
                &data.join("docs/émargement-0.pdf").to_string_lossy(),
            ],
        )
    };
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
    let (ok, out, _) = run(data, &["store", "check"]);
    assert!(
        ok && out.contains("Object Lock   : non") && out.contains("assurée par parafe seul"),
        "{out}"
    );
}

#[test]
fn production_without_object_lock_is_refused_unless_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    std::fs::write(data.join("parafe.toml"), "[store]\nproduction = true\n").unwrap();
    let (ok, _, err) = run(data, &["store", "check"]);
    assert!(
        !ok && err.contains("refusé en mode production") && err.contains("l'Object Lock"),
        "{err}"
    );
    std::fs::write(
        data.join("parafe.toml"),
        "[store]\nproduction = true\nallow_without_object_lock = true\n",
    )
    .unwrap();
    let (ok, out, err) = run(data, &["store", "check"]);
    assert!(ok, "{out}{err}");
}

#[test]
fn retention_is_extended_never_shortened_and_enforced_without_object_lock() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let digests = put_documents(data, 2);
    let target = ["--plie", PLIE, "--operation", OPERATION];
    let extend = [
        &["store", "retention"][..],
        &target,
        &["--years", "5", "--last-payment", "2030-06-30"],
    ]
    .concat();
    let (ok, out, err) = run(data, &extend);
    assert!(ok && out.contains("31/12/2035 inclus"), "{out}{err}");
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
    let sha = digests[0].to_hex();
    let (ok, _, err) = run(
        data,
        &["store", "delete", "--plie", PLIE, &sha, "--reason", "essai"],
    );
    assert!(
        !ok && err.contains("conservé jusqu'au") && err.contains("suppression refusée"),
        "{err}"
    );
    let (ok, out, _) = run(
        data,
        &[&["store", "legal-hold"][..], &target, &["on"]].concat(),
    );
    assert!(ok && out.contains("placée sur 2 pièce(s)"), "{out}");
    let (ok, _, err) = run(
        data,
        &["store", "delete", "--plie", PLIE, &sha, "--reason", "essai"],
    );
    assert!(!ok && err.contains("legal hold"), "{err}");
    assert!(embedded_object(data, &digests[0]).is_file());
    let (ok, out, err) = run(data, &["verify", "--store"]);
    assert!(ok, "{out}{err}");
}

#[test]
fn tamper_one_byte_of_a_stored_object() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let digests = put_documents(data, 4);
    let path = embedded_object(data, &digests[2]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    assert_verify_fails(
        data,
        "segment 000001, ligne 3 (entrée n° 3)",
        "altéré dans le coffre",
    );
}

#[test]
fn tamper_delete_a_journal_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
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

#[test]
fn tamper_reorder_two_entries() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    put_documents(data, 5);
    let text = std::fs::read_to_string(segment(data, 1)).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(1, 2);
    std::fs::write(segment(data, 1), lines.join("\n") + "\n").unwrap();
    assert_verify_fails(data, "segment 000001, ligne 2 (entrée n° 3)", "manque");
    let (_, _, err) = run(data, &["verify", "--store"]);
    assert!(err.contains("3 rupture(s)"), "{err}");
}

#[test]
fn tamper_replace_a_segment() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    std::fs::write(
        data.join("parafe.toml"),
        "[store.journal]\nsegment_entries = 4\n",
    )
    .unwrap();
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

fn config_for(data: &Path, endpoint: &str, extra: &str) -> Config {
    let toml = format!("[store]\nendpoint = \"{endpoint}\"\naccess_key = \"parafe-test\"\nsecret_key = \"parafe-test-secret\"\n{extra}");
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
    let client = s3::client(&s3::Endpoint {
        url: &server.endpoint(),
        region: "us-east-1",
        credentials: Some(("k", "s")),
        path_style: true,
    });
    let store = s3::S3::new(client, "parafe".into());
    store.ensure_bucket().await.unwrap();
    let claimed = Sha256Digest::of(b"ce qui a ete signe");
    let object = EvidenceObject {
        plie: PlieId::new(PLIE).unwrap(),
        sha256: claimed,
        size: 18,
        key: s3::object_key(PLIE, &claimed),
        metadata: metadata(0),
        retain_until: chrono::Utc::now(),
    };
    let sent = store
        .put(
            &object,
            ByteStream::from(b"ce qui a ete recu!".to_vec()),
            false,
            false,
        )
        .await;
    assert!(
        matches!(sent, Err(s3::S3Failure::Rejected(ref m)) if m.contains("BadDigest")),
        "{sent:?}"
    );
    assert_eq!(store.rehash(&object.key).await.unwrap(), None);
    server.stop().await;
}

/// The store stops while documents are being filed, then comes back: every document ends up
/// filed exactly once, and `parafe verify --store` holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_while_filing_loses_nothing_and_files_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let root = dir.path().join("s3");
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server = Some(
        EmbeddedS3::start(&root, addr, "parafe-test", "parafe-test-secret")
            .await
            .unwrap(),
    );
    let config = config_for(
        &data,
        &format!("http://127.0.0.1:{port}"),
        "[store.journal]\nsegment_entries = 25\n",
    );
    {
        let client = s3::client(&s3::Endpoint {
            url: &format!("http://127.0.0.1:{port}"),
            region: "us-east-1",
            credentials: Some(("parafe-test", "parafe-test-secret")),
            path_style: true,
        });
        s3::S3::new(client, "parafe".into())
            .ensure_bucket()
            .await
            .unwrap();
    }
    let vault = std::sync::Arc::new(Vault::open(&config).await.unwrap());
    let worker = vault.spawn_retry_worker();
    let plie = PlieId::new(PLIE).unwrap();
    let count = 60;
    let mut queued = 0;
    let mut digests = Vec::new();
    for i in 0..count {
        if i == 20 {
            server.take().unwrap().stop().await;
        }
        if i == 45 {
            server = Some(
                EmbeddedS3::start(&root, addr, "parafe-test", "parafe-test-secret")
                    .await
                    .unwrap(),
            );
        }
        let bytes = format!("émargement {i} {}", "y".repeat(5000)).into_bytes();
        digests.push(Sha256Digest::of(&bytes));
        let filed = vault
            .file(&plie, metadata(i), Content::Bytes(bytes))
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
        assert!(
            root.join("parafe")
                .join(s3::object_key(PLIE, sha))
                .is_file(),
            "{sha} absent du coffre"
        );
    }
    let data2 = data.clone();
    let (ok, out, err) = tokio::task::spawn_blocking(move || run(&data2, &["verify", "--store"]))
        .await
        .unwrap();
    assert!(ok, "{out}{err}");
    assert!(
        out.contains(&format!("{} objet(s)", count + 2)),
        "60 pièces et 2 segments archivés :\n{out}"
    );
    drop(server);
}

/// moto server, started by the test; killed when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start() -> Moto {
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
    fn endpoint(&self) -> String {
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
    let vault = Vault::open(&Config::load(&data).unwrap()).await.unwrap();
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
            )
            .await
            .unwrap();
        vault
            .file(
                &rouen,
                metadata(i),
                Content::Bytes(format!("rouen {i}").into_bytes()),
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
    let vault = Vault::open(&Config::load(&data).unwrap()).await.unwrap();
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
