//! Issue 3: documents sealed as PAdES B-LTA pass validators nobody here wrote (qpdf, poppler's
//! pdfsig, pyHanko, openssl cms / ts); a TSA parafe did not write (openssl ts -reply) serves
//! the RFC 3161 client; tampered, truncated or malformed files are refused. Issue 15, point 21:
//! each validator runs at its default strictness, as a controller runs it, in the zero-setup
//! default and in production (PKCS#12 and TSA of an outside CA, with or without a CRL).
//!
//! Tools come from PATH: qpdf, pdfsig (poppler-utils), openssl, and pyhanko with its python
//! (`tests/run` puts the project's `.venv/bin` first).

use crate::support::{assert_qpdf_clean, examples, parafe, repo, text, tool};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_parafe"))
}

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/support").join(name)
}

/// A data directory with the development keys of `parafe init`.
fn initialized() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = parafe(&["init", "--data-dir", &s(dir.path())]);
    assert!(out.status.success(), "parafe init : {}", text(&out.stderr));
    dir
}

fn ca(data: &Path) -> PathBuf {
    data.join("cles/ac-dev.pem")
}

fn seal(data: &Path, input: &Path, output: &Path) {
    let out = parafe(&["seal", &s(input), "-o", &s(output), "--data-dir", &s(data)]);
    assert!(
        out.status.success(),
        "parafe seal {} : {}",
        input.display(),
        text(&out.stderr)
    );
}

/// `parafe verify` with the trust of `data`.
fn verify(data: &Path, pdf: &Path, json: bool) -> std::process::Output {
    let mut cmd = Command::new(bin());
    cmd.arg("verify").arg(pdf).env("PARAFE_DATA_DIR", data);
    if json {
        cmd.arg("--json");
    }
    cmd.output().unwrap()
}

/// Each signature of a PDF: its /ByteRange and the DER in its /Contents.
fn signatures(bytes: &[u8]) -> Vec<([usize; 4], Vec<u8>)> {
    let key = b"/ByteRange[";
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = bytes[from..].windows(key.len()).position(|w| w == key) {
        let start = from + pos + key.len();
        let end = start + bytes[start..].iter().position(|&b| b == b']').unwrap();
        let numbers: Vec<usize> = std::str::from_utf8(&bytes[start..end])
            .unwrap()
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        let range: [usize; 4] = numbers.try_into().unwrap();
        let hex = &bytes[range[1] + 1..range[2] - 1];
        let der = hex::decode(hex).unwrap();
        // The DER is zero-padded up to the reserved size: keep its own length.
        let len = der::SliceReader::new(&der)
            .and_then(|r| der::Reader::peek_header(&r))
            .unwrap();
        let total = (len.encoded_len().unwrap() + len.length).unwrap();
        out.push((range, der[..u32::from(total) as usize].to_vec()));
        from = end;
    }
    out
}

fn signed_bytes(bytes: &[u8], range: [usize; 4]) -> Vec<u8> {
    [
        &bytes[range[0]..range[0] + range[1]],
        &bytes[range[2]..range[2] + range[3]],
    ]
    .concat()
}

/// The signature-time-stamp token of a CMS signature, and the SHA-256 of the signature value
/// it timestamps.
fn signature_timestamp(cms_der: &[u8]) -> (Vec<u8>, String) {
    let info = cms::content_info::ContentInfo::from_der(cms_der).unwrap();
    let signed: cms::signed_data::SignedData = info.content.decode_as().unwrap();
    let signer = signed.signer_infos.0.get(0).unwrap();
    let token_oid = const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
    let attr = signer
        .unsigned_attrs
        .as_ref()
        .unwrap()
        .iter()
        .find(|a| a.oid == token_oid)
        .expect("horodatage de signature");
    let token = attr.values.get(0).unwrap().to_der().unwrap();
    (
        token,
        hex::encode(Sha256::digest(signer.signature.as_bytes())),
    )
}

/// `openssl ts -verify` of a token over an imprint (`-digest`) or over data (`-data`).
fn ts_verify(token: &Path, over: &[&str], bundle: &Path, what: &str) {
    let mut args = vec!["ts", "-verify", "-in", token.to_str().unwrap(), "-token_in"];
    args.extend(over);
    args.extend(["-CAfile", bundle.to_str().unwrap()]);
    assert_ok(&tool("openssl", &args), what, "Verification: OK");
}

fn assert_ok(out: &std::process::Output, what: &str, expect: &str) -> String {
    let report = text(&out.stdout) + &text(&out.stderr);
    assert!(
        out.status.success() && report.contains(expect),
        "{what} :\n{report}"
    );
    report
}

/// What pyHanko prints after `Cachet:` and the certificate's SHA-256 when the seal, its
/// certificate, its timestamp and the revisions added after it all hold.
pub const PYHANKO_VALIDE: &str =
    ":INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,EXTENDED_WITH_FORM_FILLING,ACCEPTABLE_MODIFICATIONS";

/// `pyhanko sign <command> --trust …` as a controller runs it: no other option.
fn pyhanko(command: &str, trust: &[PathBuf], pdf: &Path) -> std::process::Output {
    let mut args = vec!["sign".to_string(), command.to_string()];
    for t in trust {
        args.extend(["--trust".to_string(), s(t)]);
    }
    args.push(s(pdf));
    tool(
        "pyhanko",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
}

/// Every validator named in the issue, on one sealed PDF, each at its default strictness.
/// `long_term`: every certificate involved has revocation data in the DSS, so pyHanko's AdES
/// long-term validation keeps the timestamp (it needs a CRL or OCSP response for each).
fn assert_validators_pass(pdf: &Path, data: &Path, trust: &[PathBuf], long_term: bool) {
    let work = tempfile::tempdir().unwrap();
    let p = s(pdf);
    assert_qpdf_clean(pdf);

    // pdfsig trusts its own NSS store only: the signatures are checked, their issuer is not.
    let report = assert_ok(&tool("pdfsig", &[&p]), "pdfsig", "Signature #2");
    let (seal, doc_timestamp) = report.split_once("Signature #2").unwrap();
    for expected in [
        "Signature Field Name: Cachet",
        "Signature Type: ETSI.CAdES.detached",
        "Signing Hash Algorithm: SHA-256",
        "Signature Validation: Signature is Valid.",
        // The document timestamp comes after the seal.
        "Not total document signed",
    ] {
        assert!(seal.contains(expected), "pdfsig, {expected} :\n{report}");
    }
    assert!(
        doc_timestamp.contains("Signature Field Name: Horodatage")
            && doc_timestamp.contains("\n  - Total document signed"),
        "pdfsig :\n{report}"
    );

    // Checked today, revocation sources declared by the certificates queried online.
    let report = assert_ok(
        &pyhanko("validate", trust, pdf),
        "pyhanko sign validate",
        PYHANKO_VALIDE,
    );
    assert!(report.contains("Cachet:"), "pyhanko :\n{report}");
    // Checked at the timestamp's time with what the document carries.
    let out = pyhanko("adesverify", trust, pdf);
    let report = text(&out.stdout) + &text(&out.stderr);
    if long_term {
        assert_ok(&out, "pyhanko sign adesverify", PYHANKO_VALIDE);
    } else {
        assert!(
            !report.contains("TIMESTAMP_TOKEN"),
            "sans donnée de révocation, l'horodatage ne tient pas à long terme :\n{report}"
        );
    }

    let bytes = std::fs::read(pdf).unwrap();
    let sigs = signatures(&bytes);
    assert_eq!(sigs.len(), 2, "une signature et un horodatage de document");
    let bundle = work.path().join("confiance.pem");
    std::fs::write(
        &bundle,
        trust
            .iter()
            .map(|t| std::fs::read(t).unwrap())
            .collect::<Vec<_>>()
            .concat(),
    )
    .unwrap();
    let (range, cms_der) = &sigs[0];
    let (content, sig, token) = (
        work.path().join("signe.bin"),
        work.path().join("sig.der"),
        work.path().join("ts.der"),
    );
    std::fs::write(&content, signed_bytes(&bytes, *range)).unwrap();
    std::fs::write(&sig, cms_der).unwrap();
    let out = tool(
        "openssl",
        &[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            &s(&sig),
            "-content",
            &s(&content),
            "-binary",
            "-CAfile",
            &s(&bundle),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    );
    assert_ok(&out, "openssl cms -verify", "Verification successful");
    let (ts, imprint) = signature_timestamp(cms_der);
    std::fs::write(&token, ts).unwrap();
    ts_verify(
        &token,
        &["-digest", &imprint],
        &bundle,
        "openssl ts -verify (horodatage de la signature)",
    );
    let (range, doc_ts) = &sigs[1];
    std::fs::write(&content, signed_bytes(&bytes, *range)).unwrap();
    std::fs::write(&token, doc_ts).unwrap();
    ts_verify(
        &token,
        &["-data", &s(&content)],
        &bundle,
        "openssl ts -verify (horodatage de document)",
    );

    let report = assert_ok(&verify(data, pdf, false), "parafe verify", "VALIDE");
    assert!(
        report.contains("Niveau PAdES : B-LTA"),
        "parafe verify :\n{report}"
    );
    let out = verify(data, pdf, true);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(json["pades_level"], "B-LTA");
    assert_eq!(json["signatures"][0]["digest_algorithm"], "SHA-256");
    assert!(json["signatures"][0]["timestamp"]["time"].is_string());
    assert_eq!(json["signatures"][1]["covers_whole_file"], true);
}

#[test]
fn init_creates_private_keys_once() {
    let data = initialized();
    let keys = data.path().join("cles");
    assert_eq!(
        std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let before: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&keys)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600,
                "{}",
                p.display()
            );
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    assert_eq!(before.len(), 7);
    let out = parafe(&["init", "--data-dir", &s(data.path())]);
    assert!(
        out.status.success() && text(&out.stdout).contains("déjà présentes"),
        "{}",
        text(&out.stdout)
    );
    for (path, bytes) in before {
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{} a changé",
            path.display()
        );
    }
    // The TSA certificate carries a critical extendedKeyUsage timeStamping (RFC 3161 § 2.3).
    let out = tool(
        "openssl",
        &[
            "x509",
            "-in",
            &s(&keys.join("horodatage.pem")),
            "-noout",
            "-ext",
            "extendedKeyUsage",
        ],
    );
    let report = text(&out.stdout);
    assert!(
        report.contains("critical") && report.contains("Time Stamping"),
        "{report}"
    );
}

/// Sealed examples of every template that renders, plus Typst fixtures (one rewritten with
/// cross-reference streams): all pass every validator.
#[test]
fn sealed_documents_pass_outside_validators() {
    let data = initialized();
    let work = tempfile::tempdir().unwrap();
    let mut inputs = vec![fixture("typst-certificat.pdf"), fixture("typst-200k.pdf")];
    let xref_streams = work.path().join("xref-streams.pdf");
    let out = tool(
        "qpdf",
        &[
            "--object-streams=generate",
            &s(&fixture("typst-certificat.pdf")),
            &s(&xref_streams),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    inputs.push(xref_streams);
    for entry in std::fs::read_dir(examples()).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let pdf = work.path().join(format!("{stem}.pdf"));
            let template = stem.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
            // A template still being written is skipped here; the render scenarios report it.
            if parafe(&["render", template, "--data", &s(&path), "-o", &s(&pdf)])
                .status
                .success()
            {
                inputs.push(pdf);
            }
        }
    }
    for input in inputs {
        let sealed = work.path().join(format!(
            "{}-scelle.pdf",
            input.file_stem().unwrap().to_string_lossy()
        ));
        seal(data.path(), &input, &sealed);
        let original = std::fs::read(&input).unwrap();
        let bytes = std::fs::read(&sealed).unwrap();
        assert!(
            bytes.starts_with(&original),
            "les octets d'origine doivent rester intacts"
        );
        // The updates keep the original's cross-reference style.
        let added = &bytes[original.len()..];
        let has = |needle: &[u8]| added.windows(needle.len()).any(|w| w == needle);
        let streams = original.windows(5).any(|w| w == b"/XRef");
        assert_eq!(has(b"/Type/XRef"), streams, "{}", input.display());
        assert_eq!(has(b"\nxref\n"), !streams, "{}", input.display());
        assert_validators_pass(&sealed, data.path(), &[ca(data.path())], true);
    }
}

/// The visible seal goes in the certificat de preuve's zone, through the library seam that
/// the workflow calls with a rendered document.
#[test]
fn visible_seal_in_the_zone_of_the_certificat() {
    let data = initialized();
    let bytes = std::fs::read(fixture("typst-certificat.pdf")).unwrap();
    let zone = parafe::model::SealZone {
        page: 1,
        rect: [56.7, 600.0, 311.8, 685.0],
    };
    let rendered = parafe::model::RenderedPdf::new("fixture", bytes, Some(zone));
    let config = parafe::config::Config::load(data.path()).unwrap();
    let keys = parafe::seal::Keys::load(data.path(), &config.seal, &config.service.plie).unwrap();
    let cachet = keys.existant(&config.service.plie).unwrap();
    let tsa = parafe::seal::Tsa::from_config(data.path(), &config.seal, &keys).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sealed = rt
        .block_on(parafe::seal::seal(&rendered, &cachet, &keys, &tsa))
        .unwrap();
    assert!(
        !sealed.timestamp().qualified,
        "l'horodatage local est non qualifié"
    );
    assert_eq!(
        sealed.sha256(),
        parafe::model::Sha256Digest::of(sealed.bytes())
    );

    let doc = lopdf::Document::load_mem(sealed.bytes()).unwrap();
    let page = doc.get_pages()[&2];
    let annots = doc
        .get_dictionary(page)
        .unwrap()
        .get(b"Annots")
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    let widget = doc
        .get_dictionary(annots[0].as_reference().unwrap())
        .unwrap();
    let rect: Vec<f32> = widget
        .get(b"Rect")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_float().unwrap())
        .collect();
    assert_eq!(rect, zone.rect.to_vec());
    assert_eq!(widget.get(b"FT").unwrap().as_name().unwrap(), b"Sig");

    let pdf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pdf.path(), sealed.bytes()).unwrap();
    assert_validators_pass(pdf.path(), data.path(), &[ca(data.path())], true);
}

/// `openssl ts -reply` behind a small HTTP server: an RFC 3161 TSA that parafe did not write,
/// with its CA and a seal certificate it issued (`cachet.p12`, password `cachet`). `--crl`: the
/// certificates declare the CA's CRL, which the server publishes.
pub struct OutsideTsa {
    child: Child,
    pub dir: tempfile::TempDir,
    pub url: String,
}

impl OutsideTsa {
    pub fn start(options: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new("python3")
            .arg(fixture("tsa_openssl.py"))
            .arg(dir.path())
            .args(options)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .unwrap_or_else(|| panic!("TSA openssl : {line}"))
            .to_owned();
        Self {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}/tsa"),
        }
    }
}

impl OutsideTsa {
    /// The `[seal]` section of a production deployment: the PKCS#12 seal this CA issued,
    /// timestamps from its TSA, its certificate trusted for both.
    pub fn configuration(&self, password_env: &str) -> String {
        let ca = s(&self.dir.path().join("ca.pem"));
        format!(
            "[seal]\ntsa_url = \"{}\"\ntsa_confiance = \"{ca}\"\nconfiance = [\"{ca}\"]\npkcs12 = \"{}\"\npkcs12_mot_de_passe_env = \"{password_env}\"\n",
            self.url,
            s(&self.dir.path().join("cachet.p12")),
        )
    }

    /// Out of reach from now on, as a CA may be years later.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OutsideTsa {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn outside_tsa_timestamps_the_seal() {
    let tsa = OutsideTsa::start(&[]);
    let data = initialized();
    let tsa_ca = tsa.dir.path().join("ca.pem");
    std::fs::write(
        data.path().join("parafe.toml"),
        format!(
            "[seal]\ntsa_url = \"{}\"\ntsa_confiance = \"{}\"\nconfiance = [\"{}\"]\n",
            tsa.url,
            s(&tsa_ca),
            s(&tsa_ca)
        ),
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let sealed = work.path().join("scelle.pdf");
    seal(data.path(), &fixture("typst-certificat.pdf"), &sealed);
    // This TSA's certificate declares no revocation source: pyHanko's default validation has
    // nothing to query, and nothing can be joined for the long-term validation, which then
    // cannot keep the timestamp. LISEZMOI says so for such a pack.
    assert_validators_pass(
        &sealed,
        data.path(),
        &[ca(data.path()), tsa_ca.clone()],
        false,
    );
    let report = text(&verify(data.path(), &sealed, false).stdout);
    assert!(report.contains("TSA openssl de test"), "{report}");

    // The client alone: imprint, nonce and certificate checked, token verifiable on its own.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let trust = vec![
        x509_cert::Certificate::load_pem_chain(&std::fs::read(&tsa_ca).unwrap())
            .unwrap()
            .remove(0),
    ];
    let client = parafe::seal::tsa::RemoteTsa::new(&tsa.url, trust.clone(), false);
    let imprint = parafe::model::Sha256Digest::of(b"tete de chaine du journal");
    let token = rt
        .block_on(parafe::seal::Tsa::Remote(client).timestamp(&imprint))
        .unwrap();
    assert!(token.tsa.contains("TSA openssl de test"));
    let checked = parafe::seal::tsa::verify_token(&token.der, &imprint, &trust).unwrap();
    assert_eq!(checked.time, token.time);
    let other = parafe::model::Sha256Digest::of(b"autre chose");
    assert!(parafe::seal::tsa::verify_token(&token.der, &other, &trust).is_err());
    let own_ca =
        x509_cert::Certificate::load_pem_chain(&std::fs::read(ca(data.path())).unwrap()).unwrap();
    assert!(
        parafe::seal::tsa::verify_token(&token.der, &imprint, &own_ca).is_err(),
        "AC non reconnue"
    );
}

#[test]
fn unreachable_tsa_fails_closed() {
    let data = initialized();
    // A port nobody listens on: bind one, then release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        data.path().join("parafe.toml"),
        format!("[seal]\ntsa_url = \"http://127.0.0.1:{port}/tsa\"\n"),
    )
    .unwrap();
    let out_pdf = data.path().join("scelle.pdf");
    let out = parafe(&[
        "seal",
        &s(&fixture("typst-certificat.pdf")),
        "-o",
        &s(&out_pdf),
        "--data-dir",
        &s(data.path()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let message = text(&out.stderr);
    assert!(
        message.contains("injoignable") && message.contains("aucun horodatage de repli"),
        "{message}"
    );
    assert!(!out_pdf.exists(), "aucun fichier ne doit être écrit");
}

#[test]
fn pkcs12_seal_from_configuration() {
    let data = initialized();
    let keys = data.path().join("cles");
    let p12 = data.path().join("cachet.p12");
    let out = tool(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            &s(&keys.join("cachet.cle.pem")),
            "-in",
            &s(&keys.join("cachet.pem")),
            "-certfile",
            &s(&keys.join("ac-dev.pem")),
            "-passout",
            "pass:secret du PLIE",
            "-out",
            &s(&p12),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(
        data.path().join("parafe.toml"),
        "[seal]\npkcs12 = \"cachet.p12\"\npkcs12_mot_de_passe_env = \"CACHET_MDP\"\n",
    )
    .unwrap();
    let sealed = data.path().join("scelle.pdf");
    let run = |password: Option<&str>| {
        let mut cmd = Command::new(bin());
        cmd.args([
            "seal",
            &s(&fixture("typst-certificat.pdf")),
            "-o",
            &s(&sealed),
            "--data-dir",
            &s(data.path()),
        ]);
        match password {
            Some(p) => cmd.env("CACHET_MDP", p),
            None => cmd.env_remove("CACHET_MDP"),
        };
        cmd.output().unwrap()
    };
    let out = run(None);
    assert!(
        !out.status.success() && text(&out.stderr).contains("CACHET_MDP"),
        "{}",
        text(&out.stderr)
    );
    let out = run(Some("mauvais"));
    assert!(
        !out.status.success() && text(&out.stderr).contains("mot de passe incorrect"),
        "{}",
        text(&out.stderr)
    );
    let out = run(Some("secret du PLIE"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_validators_pass(&sealed, data.path(), &[ca(data.path())], true);
}

/// Production as a PLIE runs it: the seal is a PKCS#12 issued by an outside CA, the timestamps
/// come from that CA's TSA, and both certificates declare the CA's CRL. pyHanko's default
/// validation fetches it online; parafe joined it to the document, so the long-term validation
/// still concludes once the CA is out of reach. A revoked seal seals nothing.
#[test]
fn production_les_listes_de_revocation_declarees_sont_jointes_au_document() {
    let mut ca = OutsideTsa::start(&["--crl"]);
    // No `parafe init`: no development key anywhere.
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        data.path().join("parafe.toml"),
        ca.configuration("CACHET_MDP"),
    )
    .unwrap();
    let seal = |output: &Path| {
        Command::new(bin())
            .args([
                "seal",
                &s(&fixture("typst-certificat.pdf")),
                "-o",
                &s(output),
            ])
            .args(["--data-dir", &s(data.path())])
            .env("CACHET_MDP", "cachet")
            .output()
            .unwrap()
    };
    let sealed = data.path().join("scelle.pdf");
    let out = seal(&sealed);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let trust = [ca.dir.path().join("ca.pem")];
    assert_validators_pass(&sealed, data.path(), &trust, true);

    // The CA revokes the seal: parafe reads it in the CRL and refuses, writing nothing.
    let out = Command::new("openssl")
        .current_dir(ca.dir.path())
        .args(["ca", "-config", "ca.cnf", "-revoke", "cachet.pem"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let refused = data.path().join("revoque.pdf");
    let out = seal(&refused);
    let message = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(
        message.contains("Cachet du PLIE (AC de test openssl)")
            && message.contains("est révoqué depuis le"),
        "{message}"
    );
    assert!(!refused.exists(), "aucun fichier ne doit être écrit");

    // Years later, the CA out of reach: today's check cannot query the CRL any more, the
    // long-term one reads the CRL joined when sealing.
    ca.stop();
    let out = pyhanko("validate", &trust, &sealed);
    let report = text(&out.stdout) + &text(&out.stderr);
    assert!(
        !out.status.success() && report.contains("no revocation information could be found"),
        "{report}"
    );
    assert_ok(
        &pyhanko("adesverify", &trust, &sealed),
        "pyhanko sign adesverify hors ligne",
        PYHANKO_VALIDE,
    );
}

/// A data directory of an earlier parafe, whose development certificates declared a CRL
/// distribution point that nothing serves (pyHanko's default validation said INVALID: "no
/// revocation information could be found"): `parafe init`, and the service at start, certify
/// the same keys anew without it.
#[test]
fn init_renouvelle_les_certificats_qui_declarent_une_liste_que_rien_ne_sert() {
    let data = initialized();
    let keys = data.path().join("cles");
    let work = tempfile::tempdir().unwrap();
    let ext = work.path().join("ext.cnf");
    std::fs::write(
        &ext,
        "[cachet]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n\
         crlDistributionPoints=URI:http://parafe.invalid/ac-dev.crl\n\
         [horodatage]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=critical,timeStamping\ncrlDistributionPoints=URI:http://parafe.invalid/ac-dev.crl\n",
    )
    .unwrap();
    for (name, subject) in [
        (
            "cachet",
            "/C=FR/O=PLIE de developpement/CN=Cachet du PLIE (developpement)",
        ),
        (
            "horodatage",
            "/C=FR/O=parafe/CN=Horodatage local parafe (non qualifie)",
        ),
    ] {
        let csr = work.path().join(format!("{name}.csr"));
        let key = s(&keys.join(format!("{name}.cle.pem")));
        let out = tool(
            "openssl",
            &[
                "req",
                "-new",
                "-key",
                &key,
                "-subj",
                subject,
                "-out",
                &s(&csr),
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let out = tool(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                &s(&csr),
                "-CA",
                &s(&ca(data.path())),
                "-CAkey",
                &s(&keys.join("ac-dev.cle.pem")),
                "-set_serial",
                "0x5151",
                "-days",
                "365",
                "-sha256",
                "-extfile",
                &s(&ext),
                "-extensions",
                name,
                "-out",
                &s(&keys.join(format!("{name}.pem"))),
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let old = work.path().join("ancien.pdf");
    seal(data.path(), &fixture("typst-certificat.pdf"), &old);
    let out = pyhanko("validate", &[ca(data.path())], &old);
    assert!(
        !out.status.success()
            && text(&out.stderr).contains("no revocation information could be found"),
        "{}",
        text(&out.stderr)
    );

    let key_files = ["ac-dev.cle.pem", "cachet.cle.pem", "horodatage.cle.pem"]
        .map(|f| std::fs::read(keys.join(f)).unwrap());
    let out = parafe(&["init", "--data-dir", &s(data.path())]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for name in ["cachet.pem", "horodatage.pem"] {
        assert!(
            report
                .lines()
                .any(|l| l.contains("renouvelé") && l.contains(name)),
            "{report}"
        );
    }
    assert_eq!(
        ["ac-dev.cle.pem", "cachet.cle.pem", "horodatage.cle.pem"]
            .map(|f| std::fs::read(keys.join(f)).unwrap()),
        key_files,
        "les clés ne changent pas"
    );
    let sealed = work.path().join("scelle.pdf");
    seal(data.path(), &fixture("typst-certificat.pdf"), &sealed);
    assert_validators_pass(&sealed, data.path(), &[ca(data.path())], true);
    // Once renewed, nothing more to do.
    let out = parafe(&["init", "--data-dir", &s(data.path())]);
    assert!(text(&out.stdout).contains("déjà présentes"));
}

/// Fails in parafe (exit 1, the French reason in the message) and in pyHanko.
fn assert_refused(data: &Path, pdf: &Path, reason: &str, exit: i32) {
    let out = verify(data, pdf, false);
    let report = text(&out.stdout) + &text(&out.stderr);
    assert_eq!(out.status.code(), Some(exit), "{report}");
    assert!(report.contains(reason), "attendu « {reason} » :\n{report}");
    let out = pyhanko("validate", &[ca(data)], pdf);
    let report = text(&out.stdout) + &text(&out.stderr);
    assert!(
        !out.status.success(),
        "pyhanko devait refuser {} :\n{report}",
        pdf.display()
    );
}

#[test]
fn tampered_documents_are_refused() {
    let data = initialized();
    let work = tempfile::tempdir().unwrap();
    let sealed = work.path().join("scelle.pdf");
    seal(data.path(), &fixture("typst-certificat.pdf"), &sealed);
    let bytes = std::fs::read(&sealed).unwrap();

    // One byte flipped inside the range covered by both signatures: in the middle of the
    // longest stream, so that the file still parses and only the signatures can tell.
    let flipped = work.path().join("octet.pdf");
    let mut copy = bytes.clone();
    let original = signatures(&bytes)[0].0[1];
    let mut longest = (0, 0);
    let mut from = 0;
    while let Some(start) = copy[from..original]
        .windows(7)
        .position(|w| w == b"stream\n")
        .map(|p| from + p + 7)
    {
        // "stream\n" may also occur inside binary data: stop at the first that ends nowhere.
        let Some(len) = copy[start..original]
            .windows(9)
            .position(|w| w == b"endstream")
        else {
            break;
        };
        let end = start + len;
        if end - start > longest.1 - longest.0 {
            longest = (start, end);
        }
        from = end;
    }
    copy[(longest.0 + longest.1) / 2] ^= 0x01;
    std::fs::write(&flipped, &copy).unwrap();
    assert_refused(data.path(), &flipped, "modifié après signature", 1);

    // A revision appended with pyHanko's own writer, replacing the content of page 1.
    let forged = work.path().join("revision.pdf");
    let out = tool(
        "python",
        &[&s(&fixture("tamper.py")), &s(&sealed), &s(&forged)],
    );
    assert!(out.status.success(), "tamper.py : {}", text(&out.stderr));
    assert_refused(
        data.path(),
        &forged,
        "contenu de la page 1 modifié après la signature",
        1,
    );

    // Truncated: the end of the file is missing.
    let truncated = work.path().join("tronque.pdf");
    std::fs::write(&truncated, &bytes[..bytes.len() - 700]).unwrap();
    assert_refused(data.path(), &truncated, "tronqué", 2);
}

#[test]
fn malformed_input_is_a_clear_error() {
    let data = initialized();
    let work = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        ("vide.pdf", b"", "n'est pas un PDF"),
        (
            "texte.pdf",
            b"Bonjour, ceci n'est pas un PDF\n",
            "n'est pas un PDF",
        ),
        (
            "casse.pdf",
            b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 9 0 R >>\n%%EOF\n",
            "illisible",
        ),
        (
            "binaire.pdf",
            &[
                0x25, 0x50, 0x44, 0x46, 0x2d, 0xff, 0x00, 0x12, 0x25, 0x25, 0x45, 0x4f, 0x46,
            ],
            "illisible",
        ),
    ];
    for (name, bytes, reason) in cases {
        let path = work.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = verify(data.path(), &path, false);
        assert_eq!(
            out.status.code(),
            Some(2),
            "verify {name} : {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(reason),
            "verify {name} : {}",
            text(&out.stderr)
        );
        let out = parafe(&[
            "seal",
            &s(&path),
            "-o",
            &s(&work.path().join("x.pdf")),
            "--data-dir",
            &s(data.path()),
        ]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "seal {name} : {}",
            text(&out.stderr)
        );
    }
    // An unsigned PDF is readable but not valid.
    let out = verify(data.path(), &fixture("typst-certificat.pdf"), false);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("aucune signature"),
        "{}",
        text(&out.stdout)
    );
}
