//! Fuzzing on the stable toolchain (issue 15). Real files — PDFs sealed by `parafe seal`, the
//! test PDFs, hostile PDFs, an audit pack exported by the service, participants extractions —
//! are mutated by a seeded generator (bits flipped, bytes cut, duplicated, spliced, numbers
//! replaced by hostile values, PDF keywords and ZIP headers rewritten) and given to PDF
//! verification, upload inspection, CSV import and pack verification. Each case must not panic,
//! must not allocate more than [`ALLOCATION_MAX`] on the harness's thread, and must give the same
//! verdict twice.
//!
//! `PARAFE_FUZZ_SECONDES` is the budget of the four harnesses together (90 s by default, run in
//! parallel); `PARAFE_FUZZ_GRAINE` the seed of the first case (random by default, printed).
//! A failing case is written to `target/fuzz-trouvailles/` and named in the failure message.

use crate::service::{participant_ref, Plie, EXTRACTION};
use crate::support::{parafe, repo, text, tool};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::{Duration, Instant};

/// What one case may allocate on top of what its thread held when it started.
const ALLOCATION_MAX: i64 = 256 << 20;

/// The system allocator, counting on the threads that ask it to (the harnesses): bytes held
/// now and the peak since the count started.
struct Compteur;

thread_local! {
    static COMPTE: Cell<bool> = const { Cell::new(false) };
    static TENU: Cell<i64> = const { Cell::new(0) };
    static PIC: Cell<i64> = const { Cell::new(0) };
}

fn compter(octets: i64) {
    // `try_with`: a thread being torn down still allocates.
    let _ = COMPTE.try_with(|compte| {
        if compte.get() {
            let tenu = TENU.with(|t| {
                t.set(t.get() + octets);
                t.get()
            });
            PIC.with(|p| p.set(p.get().max(tenu)));
        }
    });
}

unsafe impl GlobalAlloc for Compteur {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            compter(layout.size() as i64);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            compter(layout.size() as i64);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        compter(-(layout.size() as i64));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            compter(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

#[global_allocator]
static ALLOCATEUR: Compteur = Compteur;

/// Runs `f` while counting this thread's allocations: its result (or its panic message) and
/// the peak it allocated.
fn mesure<T>(f: impl FnOnce() -> T) -> (Result<T, String>, i64) {
    TENU.with(|t| t.set(0));
    PIC.with(|p| p.set(0));
    COMPTE.with(|c| c.set(true));
    let resultat = std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    });
    COMPTE.with(|c| c.set(false));
    (resultat, PIC.with(Cell::get))
}

/// Numbers an attacker writes where a size, an offset or a count is expected.
const NOMBRES_HOSTILES: [&str; 18] = [
    "0",
    "-1",
    "1",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "4294967295",
    "4294967296",
    "2147483647",
    "-2147483649",
    "65535",
    "65536",
    "1e308",
    "-0.0",
    "00000000000000000000000000000000001",
    "999999999999999999999999999999999999999999999999999999999999999999999999999999",
];

/// PDF keywords and keys whose place matters to a reader.
const MOTS_PDF: [&[u8]; 24] = [
    b"obj",
    b"endobj",
    b"stream",
    b"endstream",
    b"xref",
    b"trailer",
    b"startxref",
    b"%%EOF",
    b"<<",
    b">>",
    b"[",
    b"]",
    b"/Length",
    b"/ByteRange",
    b"/Contents",
    b"/Prev",
    b"/Size",
    b"/Root",
    b"/Kids",
    b"/Type",
    b"/W",
    b"/Index",
    b"/First",
    b"/Filter",
];

fn positions(octets: &[u8], motif: &[u8]) -> Vec<usize> {
    octets
        .windows(motif.len())
        .enumerate()
        .filter(|(_, w)| *w == motif)
        .map(|(i, _)| i)
        .collect()
}

/// One mutation of `octets`, `autres` being the other seeds (for splicing).
fn muter(rng: &mut StdRng, octets: &mut Vec<u8>, autres: &[Vec<u8>]) {
    let n = octets.len();
    let ici = |rng: &mut StdRng| if n == 0 { 0 } else { rng.gen_range(0..n) };
    // Slices of a few bytes to an eighth of the file.
    let longueur = |rng: &mut StdRng| rng.gen_range(1..=(n / 8).clamp(1, 8192));
    // Cutting is drawn least often: most cut files stop at the first check (%%EOF, EOCD).
    match rng.gen_range(0..20) {
        // Bits flipped.
        10..=12 if n > 0 => {
            for _ in 0..rng.gen_range(1..8) {
                let i = ici(rng);
                octets[i] ^= 1 << rng.gen_range(0..8);
            }
        }
        // Bytes set to the delimiters of PDF syntax or extremes.
        1 | 13 if n > 0 => {
            let i = ici(rng);
            octets[i] = *b"<>()[]/%\n\r \0\xff0"
                .get(rng.gen_range(0..15))
                .unwrap_or(&0);
        }
        // Cut.
        2 => octets.truncate(ici(rng)),
        // A slice removed.
        3 if n > 0 => {
            let debut = ici(rng);
            let fin = (debut + longueur(rng)).min(n);
            octets.drain(debut..fin);
        }
        // A slice duplicated elsewhere.
        4 if n > 0 => {
            let debut = ici(rng);
            let fin = (debut + longueur(rng)).min(n);
            let copie = octets[debut..fin].to_vec();
            let ou = ici(rng);
            octets.splice(ou..ou, copie);
        }
        // A number replaced by a hostile one.
        5 | 14..=16 => {
            let nombres: Vec<usize> = (0..n)
                .filter(|&i| {
                    octets[i].is_ascii_digit() && (i == 0 || !octets[i - 1].is_ascii_digit())
                })
                .collect();
            if let Some(&debut) = nombres.get(rng.gen_range(0..nombres.len().max(1))) {
                let fin = debut
                    + octets[debut..]
                        .iter()
                        .take_while(|b| b.is_ascii_digit())
                        .count();
                let hostile = NOMBRES_HOSTILES[rng.gen_range(0..NOMBRES_HOSTILES.len())];
                octets.splice(debut..fin, hostile.bytes());
            }
        }
        // A PDF keyword removed, doubled or replaced by another.
        6 | 17 | 18 => {
            let mot = MOTS_PDF[rng.gen_range(0..MOTS_PDF.len())];
            let ou = positions(octets, mot);
            if let Some(&p) = ou.get(rng.gen_range(0..ou.len().max(1))) {
                let autre = MOTS_PDF[rng.gen_range(0..MOTS_PDF.len())];
                match rng.gen_range(0..3) {
                    0 => drop(octets.drain(p..p + mot.len())),
                    1 => drop(octets.splice(p..p, mot.iter().copied())),
                    _ => drop(octets.splice(p..p + mot.len(), autre.iter().copied())),
                }
            }
        }
        // A slice of another seed spliced in.
        7 if !autres.is_empty() => {
            let autre = &autres[rng.gen_range(0..autres.len())];
            if !autre.is_empty() {
                let debut = rng.gen_range(0..autre.len());
                let fin = (debut + longueur(rng)).min(autre.len());
                let ou = ici(rng);
                let jusqu = (ou + longueur(rng) - 1).min(n);
                octets.splice(ou..jusqu, autre[debut..fin].iter().copied());
            }
        }
        // Random bytes inserted.
        8 => {
            let ou = ici(rng);
            let hasard: Vec<u8> = (0..rng.gen_range(1..64)).map(|_| rng.gen()).collect();
            octets.splice(ou..ou, hasard);
        }
        // A 16- or 32-bit little-endian field after a ZIP signature set to an extreme.
        _ => {
            let signature: &[u8] =
                [b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"][rng.gen_range(0..3)];
            let ou = positions(octets, signature);
            if let Some(&p) = ou.get(rng.gen_range(0..ou.len().max(1))) {
                let champ = p + 4 + rng.gen_range(0..40);
                let valeur: u32 =
                    [0, 1, 0xFFFF, 0xFFFF_FFFF, 0x7FFF_FFFF, rng.gen()][rng.gen_range(0..6)];
                let largeur = if rng.gen() { 2 } else { 4 };
                if let Some(place) = octets.get_mut(champ..champ + largeur) {
                    place.copy_from_slice(&valeur.to_le_bytes()[..largeur]);
                }
            }
        }
    }
}

/// A case: a seed mutated one to four times.
fn cas(rng: &mut StdRng, graines: &[Vec<u8>]) -> Vec<u8> {
    let mut octets = graines[rng.gen_range(0..graines.len())].clone();
    for _ in 0..rng.gen_range(1..=4) {
        muter(rng, &mut octets, graines);
    }
    octets
}

/// The budget of one harness.
fn budget() -> Duration {
    let total: f64 = std::env::var("PARAFE_FUZZ_SECONDES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(90.0);
    Duration::from_secs_f64(total / 4.0)
}

/// Runs `verdict` on cases made by `fabrique` for the budget (at least one case): no panic,
/// no allocation past the bound, the same verdict twice. A failing case is kept.
fn harnais(
    nom: &str,
    fabrique: impl Fn(&mut StdRng) -> Vec<u8>,
    verdict: impl Fn(&[u8]) -> String,
) {
    let premiere: u64 = std::env::var("PARAFE_FUZZ_GRAINE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let fin = Instant::now() + budget();
    let mut faits = 0u64;
    loop {
        let graine = premiere.wrapping_add(faits);
        let entree = fabrique(&mut StdRng::seed_from_u64(graine));
        let (premier, pic) = mesure(|| verdict(&entree));
        let second = premier.as_ref().ok().map(|_| verdict(&entree));
        let echec = match (&premier, second) {
            (Err(panique), _) => Some(format!("panique : {panique}")),
            (Ok(_), _) if pic > ALLOCATION_MAX => {
                Some(format!("{} Mio alloués pour un cas", pic >> 20))
            }
            (Ok(a), Some(b)) if *a != b => Some(format!("deux verdicts :\n{a}\n{b}")),
            _ => None,
        };
        if let Some(echec) = echec {
            let dossier = repo().join("target/fuzz-trouvailles");
            std::fs::create_dir_all(&dossier).unwrap();
            let fichier = dossier.join(format!("{nom}-{graine}.bin"));
            std::fs::write(&fichier, &entree).unwrap();
            panic!(
                "{nom}, cas de graine {graine} ({}) : {echec}",
                fichier.display()
            );
        }
        faits += 1;
        if Instant::now() >= fin {
            break;
        }
    }
    eprintln!(
        "fuzz {nom} : {faits} cas depuis la graine {premiere} en {:.0} s, aucun échec",
        budget().as_secs_f64()
    );
}

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A data directory with the keys of `parafe init`, and the PDFs of `tests/support` as they are
/// and as `parafe seal` seals them.
fn pdf_de_depart(data: &Path) -> Vec<Vec<u8>> {
    let out = parafe(&["init", "--data-dir", &s(data)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The certificat rewritten by qpdf with object and cross-reference streams (predictors).
    let flux = data.join("flux.pdf");
    let out = tool(
        "qpdf",
        &[
            "--object-streams=generate",
            &s(&repo().join("tests/support/typst-certificat.pdf")),
            &s(&flux),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut pdfs = Vec::new();
    for source in [
        repo().join("tests/support/typst-certificat.pdf"),
        repo().join("tests/support/typst-200k.pdf"),
        flux,
    ] {
        let nom = source.file_name().unwrap().to_string_lossy().into_owned();
        let scelle = data.join(format!("scelle-{nom}"));
        let out = parafe(&[
            "seal",
            &s(&source),
            "-o",
            &s(&scelle),
            "--data-dir",
            &s(data),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        pdfs.push(std::fs::read(&source).unwrap());
        pdfs.push(std::fs::read(&scelle).unwrap());
    }
    pdfs.extend(crate::attaque_fichiers::pdf_fabriques());
    pdfs
}

fn confiance(data: &Path) -> Vec<x509_cert::Certificate> {
    let config = parafe::config::Config::load(data).unwrap();
    parafe::seal::Keys::trust_anchors(data, &config.seal).unwrap()
}

/// The verdict of `parafe verify` on a PDF, as its JSON report or its error.
fn verdict_pdf(octets: &[u8], trust: &[x509_cert::Certificate]) -> String {
    match parafe::seal::verify(octets, trust) {
        Ok(r) => serde_json::to_string(&r).unwrap(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn fuzz_verification_d_un_pdf() {
    let data = tempfile::tempdir().unwrap();
    let graines = pdf_de_depart(data.path());
    let trust = confiance(data.path());
    harnais(
        "verify-pdf",
        |rng| cas(rng, &graines),
        |o| verdict_pdf(o, &trust),
    );
}

#[test]
fn fuzz_controle_d_un_depot() {
    let data = tempfile::tempdir().unwrap();
    let mut graines = pdf_de_depart(data.path());
    // Images made by poppler, a saved e-mail.
    for format in ["png", "jpeg"] {
        let sortie = data.path().join(format);
        let out = tool(
            "pdftoppm",
            &[
                &format!("-{format}"),
                "-r",
                "20",
                "-singlefile",
                &s(&repo().join("tests/support/typst-certificat.pdf")),
                &s(&sortie),
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let ext = if format == "png" { "png" } else { "jpg" };
        graines.push(std::fs::read(sortie.with_extension(ext)).unwrap());
    }
    graines.push(b"From: RH <rh@entreprise.example>\r\nTo: t.garnier@plie.fr\r\nDate: Mon, 1 Sep 2025 09:00:00 +0200\r\nSubject: Embauche en CDI\r\nMessage-ID: <1@entreprise.example>\r\n\r\nBonjour, nous confirmons l'embauche.\r\n".to_vec());
    let dossier = data.path().join("depots");
    harnais(
        "controle",
        |rng| cas(rng, &graines),
        |o| {
            // The name announces a format; the content must agree with it.
            let nom = match o.get(..4) {
                Some(b"\x89PNG") => "piece.png",
                Some([0xFF, 0xD8, ..]) => "piece.jpg",
                Some(b"From") => "piece.eml",
                _ => "piece.pdf",
            };
            let verdict = parafe::justificatif::recevoir(o, &dossier, nom, 64 << 20)
                .and_then(|recu| recu.examiner());
            format!("{:?}", verdict.map_err(|e| e.to_string()))
        },
    );
}

#[test]
fn fuzz_import_des_participants() {
    // The parcours software's extraction, its comma variant, and a larger one of the shape the
    // benchmark imports.
    let mut grande = parafe::import::en_tete();
    grande.push('\n');
    for i in 0..200 {
        grande += &format!(
            "P-{i:06};Madame;Nom{i};Prénom;01/01/1980;p{i}@exemple.fr;;34000;Montpellier;34;referent{}@plie.fr;Référent;R;202500417;France Travail;ft@exemple.fr;01/01/2025;{};{:02}/{:02}/2025;{};{}\n",
            i % 7,
            if i % 2 == 0 { "Oui" } else { "Non" },
            1 + i % 28,
            1 + i % 12,
            if i % 5 == 0 { "30/06/2025" } else { "" },
            if i % 5 == 0 { "emploi durable" } else { "" },
        );
    }
    let graines = vec![
        EXTRACTION.as_bytes().to_vec(),
        EXTRACTION.replace(';', ",").into_bytes(),
        format!("\u{feff}{EXTRACTION}").into_bytes(),
        grande.into_bytes(),
    ];
    harnais(
        "import",
        |rng| cas(rng, &graines),
        |o| match parafe::import::decoder(o, None) {
            Ok(texte) => {
                let mut lignes = 0;
                match parafe::import::lire(&texte, &[], |lot| lignes += lot.len()) {
                    Ok(()) => format!("{lignes} lignes"),
                    Err(erreurs) => format!("{erreurs:?}"),
                }
            }
            Err(refus) => format!("refusé : {refus}"),
        },
    );
}

#[test]
fn fuzz_verification_d_un_pack() {
    // A pack exported by the service: a participant, a justificatif filed, the sealed index.
    let plie = Plie::pret(None);
    let service = &plie.service;
    let samira = participant_ref(service, &plie.referent, "Benali");
    let (status, v) = crate::pack::deposer_http(
        service,
        &plie.referent,
        &[("participant", &samira), ("genre", "bulletin-salaire")],
        (
            "bulletin.pdf",
            &std::fs::read(repo().join("tests/support/typst-certificat.pdf")).unwrap(),
        ),
    );
    assert!(status.is_success(), "{v}");
    let demande =
        serde_json::json!({ "operation": "202500417", "du": "2025-01-01", "au": "2026-12-31" });
    let pack = service.pack(&plie.coordinateur, &demande);
    let trust = confiance(&service.data);
    // Half the cases rewrite the pack entry by entry: one entry mutated, then the ZIP written
    // anew, its manifests made to agree half of the time, so that cases reach the seals, the
    // journal and the anchors, not only the hashes and the ZIP structure.
    let travail = tempfile::tempdir().unwrap();
    let chemin = travail.path().join("pack.zip");
    std::fs::write(&chemin, &pack).unwrap();
    let entrees = crate::pack::lire_zip(&chemin);
    let graines = vec![pack];
    let reecrit = travail.path().join("reecrit.zip");
    let fabrique = |rng: &mut StdRng| {
        if rng.gen() {
            return cas(rng, &graines);
        }
        let (nom, octets) = &entrees[rng.gen_range(0..entrees.len())];
        let mut octets = octets.clone();
        for _ in 0..rng.gen_range(1..=3) {
            muter(rng, &mut octets, &[]);
        }
        if rng.gen() && !parafe::pack::MANIFESTES.contains(&nom.as_str()) {
            crate::attaque_fichiers::reecrire_pack(&entrees, &reecrit, nom, &octets);
        } else {
            crate::pack::reecrire_zip(&entrees, &reecrit, |n, contenu| {
                if n == nom {
                    *contenu = octets.clone();
                }
            });
        }
        std::fs::read(&reecrit).unwrap()
    };
    let fichier = travail.path().join("cas.zip");
    harnais("verify-pack", fabrique, |o| {
        let mut f = std::fs::File::create(&fichier).unwrap();
        f.write_all(o).unwrap();
        drop(f);
        match parafe::pack::verifier::verifier(&fichier, &trust) {
            Ok(r) => serde_json::to_string(&r).unwrap(),
            Err(e) => e.to_string(),
        }
    });
}
