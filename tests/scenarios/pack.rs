//! Issue 7: justificatifs and the audit pack. A realistic opération is built through the library
//! (documents rendered, sealed and filed, rows in the migrated database, justificatifs through
//! the same deposit as the service's), its pack is exported by the command line, checked by
//! parafe and by standard tools only (unzip, sha256sum, pdfsig, openssl), then tampered with.
//! Bad uploads are refused and leave nothing behind. Issue 15, point 21: a controller runs
//! every command of a real pack's LISEZMOI.txt as written and gets what it announces.

use crate::support::{example, parafe, pdf_text, sha256_hex, text, tool};
use chrono::{Datelike, Days, Months, NaiveDate, Utc};
use parafe::config::Config;
use parafe::justificatif::{self, Catalogue, DemandeDepot, DepotError, Refus};
use parafe::model::{EvidenceMetadata, JournalEvent, PlieId};
use parafe::render::{self, RenderOptions};
use parafe::seal::{Keys, Tsa};
use parafe::store::{Content, Vault};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PLIE: &str = "plie-pays-de-l-or";
const OPERATION: &str = "202500417";

fn plie() -> PlieId {
    PlieId::new(PLIE).unwrap()
}

/// A data directory with keys, store, journal and database, an opération and two staff members.
struct Monde {
    _dir: tempfile::TempDir,
    data: PathBuf,
    db: parafe::db::Pool,
    vault: Vault,
    keys: Keys,
    tsa: Tsa,
    operation: i64,
    referent: i64,
}

fn maintenant() -> String {
    parafe::db::instant(Utc::now())
}

async fn monde() -> Monde {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("donnees");
    parafe::seal::init(&data).unwrap();
    let config = Config::load(&data).unwrap();
    let keys = Keys::load(&data, &config.seal, PLIE).unwrap();
    let tsa = Tsa::from_config(&data, &config.seal, &keys).unwrap();
    let vault = config.coffre().await.unwrap();
    let db = parafe::db::open(&Default::default(), &data).await.unwrap();
    sqlx::query("INSERT INTO plie (id, nom, cree_le) VALUES (?, 'PLIE du Pays de l''Or', ?)")
        .bind(PLIE)
        .bind(maintenant())
        .execute(&db)
        .await
        .unwrap();
    let operation: i64 = sqlx::query_scalar(
        "INSERT INTO operation (plie, code, intitule) VALUES (?, ?, 'Accompagnement renforcé vers l''emploi 2025') RETURNING id",
    )
    .bind(PLIE)
    .bind(OPERATION)
    .fetch_one(&db)
    .await
    .unwrap();
    let mut ids = Vec::new();
    for (email, nom, role) in [
        ("t.garnier@plie-paysdelor.fr", "Garnier", "referent"),
        ("c.roux@plie-paysdelor.fr", "Roux", "assistant"),
    ] {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO personnel (plie, email, nom, prenom, role, cree_le) VALUES (?, ?, ?, 'Thomas', ?, ?) RETURNING id",
        )
        .bind(PLIE)
        .bind(email)
        .bind(nom)
        .bind(role)
        .bind(maintenant())
        .fetch_one(&db)
        .await
        .unwrap();
        ids.push(id);
    }
    Monde {
        _dir: dir,
        data,
        db,
        vault,
        keys,
        tsa,
        operation,
        referent: ids[0],
    }
}

fn jour(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

struct Personne {
    id: i64,
    reference: String,
    nom: &'static str,
    prenom: &'static str,
}

async fn participant(
    m: &Monde,
    i: usize,
    nom: &'static str,
    prenom: &'static str,
    entree: NaiveDate,
    sortie: NaiveDate,
) -> Personne {
    let reference = format!("P-2025-{:04}", 100 + i);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO participant (plie, ref, identifiant_externe, nom, prenom, commune, referent_id,
            operation_id, date_entree, date_sortie, motif_sortie, rsa, cree_le)
         VALUES (?, ?, ?, ?, ?, 'Lunel', ?, ?, ?, ?, 'emploi durable', ?, ?) RETURNING id",
    )
    .bind(PLIE)
    .bind(&reference)
    .bind(format!("UP-{i}"))
    .bind(nom)
    .bind(prenom)
    .bind(m.referent)
    .bind(m.operation)
    .bind(jour(entree))
    .bind(jour(sortie))
    .bind(i.is_multiple_of(5))
    .bind(maintenant())
    .fetch_one(&m.db)
    .await
    .unwrap();
    Personne {
        id,
        reference,
        nom,
        prenom,
    }
}

/// Renders, seals and files a document, and records it as the service does.
async fn document(
    m: &Monde,
    modele: &str,
    donnees: Value,
    p: &Personne,
    bilan: Option<NaiveDate>,
    signe_le: Option<NaiveDate>,
) {
    let rendu = render::pool()
        .unwrap()
        .install(|| render::render(modele, &donnees, &RenderOptions::default()))
        .unwrap();
    let scelle = parafe::seal::seal(&rendu, &m.keys.cachet(PLIE, PLIE).unwrap(), &m.keys, &m.tsa)
        .await
        .unwrap();
    let reference = donnees["reference"].as_str().unwrap().to_owned();
    let filed = m
        .vault
        .file(
            &plie(),
            EvidenceMetadata {
                content_type: "application/pdf".into(),
                original_name: format!("{reference}.pdf"),
                operation: OPERATION.into(),
                participant: Some(p.reference.clone()),
                kind: modele.into(),
            },
            Content::Bytes(scelle.bytes().to_vec()),
            None,
        )
        .await
        .unwrap();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO document (plie, ref, workflow, modele, participant_id, operation_id, auteur_id,
            etat, donnees, bilan, echeance, sha256_rendu, sha256_scelle, depose_seq, cree_le, modifie_le)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'depose', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(PLIE)
    .bind(&reference)
    .bind(modele)
    .bind(modele)
    .bind(p.id)
    .bind(m.operation)
    .bind(m.referent)
    .bind(donnees.to_string())
    .bind(bilan.map(|_| "5"))
    .bind(bilan.map(jour))
    .bind(rendu.sha256().to_hex())
    .bind(scelle.sha256().to_hex())
    .bind(filed.seq as i64)
    .bind(maintenant())
    .bind(maintenant())
    .fetch_one(&m.db)
    .await
    .unwrap();
    if let Some(jour) = signe_le {
        let le = format!("{}T09:30:00.000Z", jour.format("%Y-%m-%d"));
        for (rang, role) in [(1, "participant"), (2, "referent")] {
            sqlx::query(
                "INSERT INTO signataire (document_id, rang, role, nom, methode, etat, signe_le) VALUES (?, ?, ?, 'x', 'tablette', 'signe', ?)",
            )
            .bind(id)
            .bind(rang)
            .bind(role)
            .bind(&le)
            .execute(&m.db)
            .await
            .unwrap();
        }
    }
    for (numero, genre, sha, taille) in [
        (1, "rendu", rendu.sha256(), rendu.bytes().len()),
        (2, "scelle", scelle.sha256(), scelle.bytes().len()),
    ] {
        sqlx::query(
            "INSERT INTO version (document_id, numero, genre, sha256, taille, cree_le) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(numero)
        .bind(genre)
        .bind(sha.to_hex())
        .bind(taille as i64)
        .bind(maintenant())
        .execute(&m.db)
        .await
        .unwrap();
    }
}

fn avec_participant(mut d: Value, reference: &str, p: &Personne) -> Value {
    d["reference"] = json!(reference);
    d["participant"]["identifiant"] = json!(p.reference);
    d["participant"]["nom"] = json!(p.nom);
    d["participant"]["prenom"] = json!(p.prenom);
    d
}

/// A one-page PDF, optionally with an action run on opening.
pub fn pdf_simple(texte: &str, action: Option<lopdf::Dictionary>) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.7");
    let pages = doc.new_object_id();
    let police = doc.add_object(
        dictionary! {"Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica"},
    );
    let contenu = Content {
        operations: vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 14.into()]),
            Operation::new("Td", vec![72.into(), 720.into()]),
            Operation::new("Tj", vec![Object::string_literal(texte)]),
            Operation::new("ET", vec![]),
        ],
    };
    let flux = doc.add_object(Stream::new(dictionary! {}, contenu.encode().unwrap()));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages, "Contents" => flux,
        "Resources" => dictionary! {"Font" => dictionary! {"F1" => police}},
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages,
        Object::Dictionary(
            dictionary! {"Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1},
        ),
    );
    let mut catalogue = dictionary! {"Type" => "Catalog", "Pages" => pages};
    if let Some(a) = action {
        catalogue.set("OpenAction", a);
    }
    let racine = doc.add_object(catalogue);
    doc.trailer.set("Root", racine);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// An image made by poppler from a PDF (`-png` or `-jpeg`): real files from a real tool.
pub(crate) fn image(dir: &Path, texte: &str, format: &str) -> Vec<u8> {
    let pdf = dir.join(format!("{}.pdf", sha256_hex(texte.as_bytes())));
    std::fs::write(&pdf, pdf_simple(texte, None)).unwrap();
    let sortie = dir.join(sha256_hex(format!("{texte}{format}").as_bytes()));
    let out = tool(
        "pdftoppm",
        &[
            &format!("-{format}"),
            "-r",
            "30",
            "-singlefile",
            &pdf.to_string_lossy(),
            &sortie.to_string_lossy(),
        ],
    );
    assert!(out.status.success(), "pdftoppm : {}", text(&out.stderr));
    let ext = if format == "png" { "png" } else { "jpg" };
    std::fs::read(sortie.with_extension(ext)).unwrap()
}

async fn deposer(
    m: &Monde,
    catalogue: &Catalogue,
    participant: Option<&str>,
    genre: &str,
    nom: &str,
    octets: &[u8],
    date: Option<NaiveDate>,
) -> Result<justificatif::JustificatifDepose, DepotError> {
    let recu = justificatif::recevoir(
        octets,
        &m.data.join("depots"),
        nom,
        catalogue.depot.taille_max,
    )?;
    let demande = DemandeDepot {
        plie: plie(),
        operation: OPERATION.into(),
        participant: participant.map(str::to_owned),
        genre: genre.into(),
        etape: None,
        date_piece: date,
        depose_par: m.referent,
        portefeuille: None,
    };
    justificatif::deposer(&m.db, &m.vault, catalogue, &demande, recu).await
}

const NOMS: [(&str, &str); 30] = [
    ("Benali", "Samira"),
    ("Lefèvre", "Zoé"),
    ("N'Diaye", "Aïssatou"),
    ("Martin", "Léa"),
    ("Ferreira", "Lucas"),
    ("Garcia", "Inès"),
    ("Dubois", "Hélène"),
    ("Moreau", "Jérôme"),
    ("Lambert", "Chloé"),
    ("Bonnet", "Noé"),
    ("François", "Anaïs"),
    ("Mercier", "Théo"),
    ("Rousseau", "Maëlle"),
    ("Blanc", "Gaël"),
    ("Guérin", "Louise"),
    ("Muller", "Hugo"),
    ("Henry", "Emma"),
    ("Roussel", "Mathéo"),
    ("Nicolas", "Jade"),
    ("Perrin", "Raphaël"),
    ("Morin", "Lina"),
    ("Mathieu", "Éloïse"),
    ("Clément", "Tom"),
    ("Gauthier", "Rose"),
    ("Dumont", "Adam"),
    ("Lopez", "Léon"),
    ("Fontaine", "Ambre"),
    ("Chevalier", "Nathan"),
    ("Robin", "Alice"),
    ("Martin", "Léa"),
];

/// The participant who left without the proof of it.
const SANS_PREUVE: usize = 7;

fn run(data: &Path, args: &[&str]) -> (bool, String, String) {
    let mut all = args.to_vec();
    let d = data.to_string_lossy().into_owned();
    all.extend(["--data-dir", &d]);
    let out = parafe(&all);
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

pub(crate) fn lire_zip(chemin: &Path) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(chemin).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut octets = Vec::new();
            f.read_to_end(&mut octets).unwrap();
            (f.name().to_owned(), octets)
        })
        .collect()
}

/// Writes the entries back as a new ZIP, `changer` altering one of them.
/// `parafe pack` of the opération over `du`..`au` into `sortie`.
fn exporter(data: &Path, du: &str, au: &str, sortie: &Path) -> (bool, String, String) {
    let sortie = sortie.to_string_lossy();
    run(
        data,
        &[
            "pack",
            "--operation",
            OPERATION,
            "--from",
            du,
            "--to",
            au,
            "-o",
            &sortie,
        ],
    )
}

/// `manifeste.json` of a pack read by [`lire_zip`].
pub(crate) fn manifeste_de(entrees: &[(String, Vec<u8>)]) -> Value {
    let (_, octets) = entrees.iter().find(|(n, _)| n == "manifeste.json").unwrap();
    serde_json::from_slice(octets).unwrap()
}

pub(crate) fn reecrire_zip(
    entrees: &[(String, Vec<u8>)],
    sortie: &Path,
    changer: impl Fn(&str, &mut Vec<u8>),
) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(sortie).unwrap());
    for (nom, octets) in entrees {
        let mut octets = octets.clone();
        changer(nom, &mut octets);
        zip.start_file(nom.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(&octets).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn le_pack_d_une_operation_realiste_se_verifie_avec_et_sans_parafe() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let aujourdhui = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let travail = tempfile::tempdir().unwrap();
    let (_garde, data, personnes, doublon) = rt.block_on(async {
        let m = monde().await;
        let mut doublon = String::new();
        let catalogue = Catalogue::par_defaut().unwrap();
        let contrat = example("contrat-engagement");
        let emargement = example("emargement-individuel");
        let bilan = example("bilan-brsa");
        let mut personnes = Vec::new();
        for (i, (nom, prenom)) in NOMS.iter().enumerate() {
            // Six months of coaching ending three weeks ago (two months ago for the one whose
            // exit proof never came: it is overdue).
            let sortie = aujourdhui - Days::new(if i == SANS_PREUVE { 60 } else { 20 });
            let premier_mois = sortie.with_day(1).unwrap() - Months::new(5);
            let entree = premier_mois;
            let p = participant(&m, i, nom, prenom, entree, sortie).await;

            let mut c = avec_participant(contrat.clone(), &format!("CE-{i}"), &p);
            c["date_entree"] = json!(jour(entree));
            document(&m, "contrat-engagement", c, &p, None, Some(entree)).await;
            for k in 0..6u32 {
                let mois = premier_mois + Months::new(k);
                let mut date = mois.with_day(3.min(sortie.day()).max(1)).unwrap();
                if k == 5 && date > sortie {
                    date = sortie;
                }
                let mut e = avec_participant(emargement.clone(), &format!("EM-{i}-{k}"), &p);
                e["date"] = json!(jour(date));
                document(&m, "emargement-individuel", e.clone(), &p, None, None).await;
                // Two interviews the same day: two files, two names.
                if i == 3 && k == 1 {
                    e["reference"] = json!("EM-3-bis");
                    e["heure_debut"] = json!("15:00");
                    e["heure_fin"] = json!("15:45");
                    document(&m, "emargement-individuel", e, &p, None, None).await;
                    doublon = jour(date);
                }
            }
            if i % 5 == 0 {
                let echeance = entree + Months::new(5);
                let mut b = avec_participant(bilan.clone(), &format!("BR-{i}"), &p);
                b["date"] = json!(jour(echeance));
                b["cer"]["debut"] = json!(jour(entree));
                document(&m, "bilan-brsa", b, &p, Some(echeance), None).await;
            }
            if i != SANS_PREUVE {
                let date = sortie + Days::new(2);
                let texte = format!("Contrat de travail CDI de {prenom} {nom}");
                let (genre, nom_fichier, octets) = match i % 6 {
                    0 => ("bulletin-salaire", "bulletin.png", image(travail.path(), &texte, "png")),
                    1 => ("certificat-travail", "certificat.jpg", image(travail.path(), &texte, "jpeg")),
                    2 => (
                        "courriel",
                        "embauche.eml",
                        format!("From: rh@entreprise.fr\r\nTo: plie@paysdelor.fr\r\nSubject: Embauche de {}\r\nDate: Mon, 3 Mar 2025 10:00:00 +0100\r\n\r\n{texte}\r\n", p.reference).into_bytes(),
                    ),
                    _ => ("contrat-travail", "contrat-cdi.pdf", pdf_simple(&texte, None)),
                };
                deposer(&m, &catalogue, Some(&p.reference), genre, nom_fichier, &octets, Some(date))
                    .await
                    .unwrap();
            }
            if i == 2 {
                // A sensitive piece: left out of the pack unless asked for.
                let rqth = pdf_simple("Notification RQTH", None);
                deposer(&m, &catalogue, Some(&p.reference), "rqth", "rqth.pdf", &rqth, None)
                    .await
                    .unwrap();
            }
            personnes.push(p);
        }
        let affiche = image(travail.path(), "Affiche FSE a l'entree", "png");
        deposer(&m, &catalogue, None, "photo-affiche-fse", "affiche-entree.png", &affiche, Some(aujourdhui - Months::new(7)))
            .await
            .unwrap();
        // The checklist of the participant without proof, as the screens show it.
        let dossier = justificatif::charger(&m.db, PLIE, OPERATION, &Default::default(), &catalogue)
            .await
            .unwrap();
        let sans = &dossier.participants.iter().find(|p| p.reference == personnes[SANS_PREUVE].reference).unwrap();
        let lignes = justificatif::evaluer(&catalogue, Some(sans), &sans.pieces, &justificatif::Periode::toute(), aujourdhui);
        assert!(
            lignes.iter().any(|l| l.exigence == "preuve-sortie" && l.etat == justificatif::EtatExigence::Manquant),
            "{lignes:?}"
        );
        // The vault closes here (the command line opens the same data directory), the
        // directory stays.
        let Monde { _dir, data, .. } = m;
        (_dir, data, personnes, doublon)
    });

    let pack = travail.path().join("pack.zip");
    let du = jour(aujourdhui - Days::new(365));
    let au = jour(aujourdhui);
    let (ok, out, err) = exporter(&data, &du, &au, &pack);
    assert!(ok, "parafe pack :\n{out}\n{err}");
    assert!(
        out.contains("1 pièce(s) sensible(s) non incluse(s)"),
        "{out}"
    );

    // Every file listed, every hash right, nothing more.
    let entrees = lire_zip(&pack);
    let manifeste = manifeste_de(&entrees);
    let fichiers = manifeste["fichiers"].as_array().unwrap();
    assert_eq!(fichiers.len() + 4, entrees.len(), "fichiers hors manifeste");
    for f in fichiers {
        let chemin = f["chemin"].as_str().unwrap();
        let (_, octets) = entrees
            .iter()
            .find(|(n, _)| n == chemin)
            .unwrap_or_else(|| panic!("{chemin} absent du ZIP"));
        assert_eq!(
            f["sha256"].as_str().unwrap(),
            sha256_hex(octets),
            "{chemin}"
        );
        assert_eq!(
            f["taille"].as_u64().unwrap(),
            octets.len() as u64,
            "{chemin}"
        );
        assert!(
            chemin.is_ascii() && !chemin.contains(' '),
            "chemin lisible : {chemin}"
        );
    }
    let nature = |n: &str| fichiers.iter().filter(|f| f["nature"] == n).count();
    // 30 contracts, 181 interviews (one participant had two the same day), 6 bilans; 29 exit
    // proofs and the poster.
    assert_eq!(nature("document"), 30 + 181 + 6);
    assert_eq!(nature("justificatif"), 29 + 1);
    // One index, in one volume for 30 participants.
    assert_eq!(nature("index"), 1);
    assert!(fichiers.iter().all(|f| f["genre"] != "rqth"));
    let tous = manifeste["manquants"].as_array().unwrap();
    assert!(
        out.contains(&format!(
            "pièces manquantes ou en retard : {}\n",
            tous.len()
        )),
        "{out}"
    );
    // This opération keeps no staff time sheet (see temps.rs): each month of the year is
    // missing one; besides, only the exit proof that never came.
    let (feuilles_temps, manquants): (Vec<&Value>, Vec<&Value>) =
        tous.iter().partition(|m| m["exigence"] == "feuilles-temps");
    assert!(feuilles_temps.len() >= 12, "{feuilles_temps:?}");
    assert_eq!(manquants.len(), 1, "{manquants:?}");
    assert_eq!(
        manquants[0]["participant"],
        json!(personnes[SANS_PREUVE].reference)
    );
    assert_eq!(manquants[0]["exigence"], json!("preuve-sortie"));
    assert_eq!(manquants[0]["etat"], json!("manquant"));
    // Readable paths, accents taken off, collisions numbered.
    let dossier3 = "participants/N-DIAYE-Aissatou-P-2025-0102/";
    for suffixe in ["", "-2"] {
        let chemin = format!(
            "participants/MARTIN-Lea-P-2025-0103/{doublon}-emargement-individuel{suffixe}.pdf"
        );
        assert!(
            fichiers.iter().any(|f| f["chemin"] == chemin.as_str()),
            "{chemin} absent"
        );
    }
    assert!(fichiers
        .iter()
        .any(|f| f["chemin"].as_str().unwrap().starts_with(dossier3)));
    assert!(fichiers
        .iter()
        .any(|f| f["chemin"].as_str().unwrap().starts_with("operation/")
            && f["genre"] == "photo-affiche-fse"));

    // parafe verify: with the data directory's trust, and with none (the pack's own).
    let (ok, out, err) = run(&data, &["verify", &pack.to_string_lossy()]);
    assert!(
        ok && out.contains("VALIDE"),
        "parafe verify :\n{out}\n{err}"
    );
    let vide = travail.path().join("vide");
    let (ok, out, err) = run(&vide, &["verify", &pack.to_string_lossy()]);
    assert!(
        ok && out.contains("ceux du pack"),
        "parafe verify sans confiance :\n{out}\n{err}"
    );

    // The export is journaled (manifest and ZIP hashes) and recorded in the database.
    let journal = parafe::journal::Journal::new(data.join("journal"), 10_000);
    let derniere = journal.entries(&plie()).unwrap().pop().unwrap();
    assert!(
        matches!(derniere.event, JournalEvent::ExportMade { ref operation, .. } if operation == OPERATION)
    );
    let zip_sha = sha256_hex(&std::fs::read(&pack).unwrap());
    assert_eq!(derniere.objects[1].to_hex(), zip_sha);
    rt.block_on(async {
        let db = parafe::db::open(&Default::default(), &data).await.unwrap();
        let (etat, sha): (String, String) =
            sqlx::query_as("SELECT etat, sha256 FROM export WHERE plie = ?")
                .bind(PLIE)
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!((etat.as_str(), sha.as_str()), ("fini", zip_sha.as_str()));
    });

    // Standard tools only: unzip, sha256sum against the CSV manifest, pdfsig, openssl ts.
    let dehors = travail.path().join("dehors");
    let out = tool(
        "unzip",
        &[
            "-q",
            &pack.to_string_lossy(),
            "-d",
            &dehors.to_string_lossy(),
        ],
    );
    assert!(out.status.success(), "unzip : {}", text(&out.stderr));
    let out = Command::new("sh")
        .current_dir(&dehors)
        .args(["-c", "tail -n +2 manifeste.csv | awk -F, '{print $2 \"  \" $1}' > depuis-csv.sha256 && sha256sum -c --strict depuis-csv.sha256 && sha256sum -c --strict manifeste.sha256"])
        .output()
        .unwrap();
    let rapport = text(&out.stdout) + &text(&out.stderr);
    assert!(out.status.success(), "sha256sum -c :\n{rapport}");
    assert_eq!(rapport.matches(": OK").count(), 2 * fichiers.len());
    for f in fichiers
        .iter()
        .filter(|f| f["nature"] == "document" || f["nature"] == "index")
    {
        let pdf = dehors.join(f["chemin"].as_str().unwrap());
        let out = tool("pdfsig", &["-nocert", &pdf.to_string_lossy()]);
        let r = text(&out.stdout);
        assert!(
            r.contains("Signature Validation: Signature is Valid."),
            "pdfsig {} :\n{r}",
            pdf.display()
        );
        assert!(
            r.rsplit("Signature #")
                .next()
                .unwrap()
                .contains("Total document signed"),
            "pdfsig {} :\n{r}",
            pdf.display()
        );
    }
    let lisezmoi = std::fs::read_to_string(dehors.join("LISEZMOI.txt")).unwrap();
    let ancre = manifeste["journal"]["ancre"].as_str().unwrap();
    let racine = serde_json::from_slice::<Value>(&std::fs::read(dehors.join(ancre)).unwrap())
        .unwrap()["root"]
        .as_str()
        .unwrap()
        .to_owned();
    let jeton = manifeste["journal"]["jeton"].as_str().unwrap();
    assert!(
        lisezmoi.contains(&format!("openssl ts -verify -digest {racine}")),
        "{lisezmoi}"
    );
    for (donnees, jeton) in [
        (vec!["-data", "manifeste.json"], "manifeste.json.tsr"),
        (vec!["-digest", racine.as_str()], jeton),
    ] {
        let mut args = vec!["ts", "-verify", "-in", jeton, "-token_in"];
        args.extend(donnees);
        args.extend([
            "-CAfile",
            "certificats/autorites.pem",
            "-untrusted",
            "certificats/horodatage.pem",
        ]);
        let out = Command::new("openssl")
            .current_dir(&dehors)
            .args(&args)
            .output()
            .unwrap();
        let r = text(&out.stdout) + &text(&out.stderr);
        assert!(
            out.status.success() && r.contains("Verification: OK"),
            "openssl {args:?} :\n{r}"
        );
    }

    // The index: contents, the missing piece, hashes and paths; kept as pictures to look at.
    let index = dehors.join("index.pdf");
    let texte = pdf_text(&index);
    let sans = &personnes[SANS_PREUVE];
    assert!(
        texte.contains("Pack d'audit") && texte.contains("Sommaire"),
        "{texte}"
    );
    assert!(texte.contains("Pièces manquantes ou en retard"));
    // Named by the parcours identifier beside the pseudonym.
    assert!(texte.contains(&format!(
        "{} {} (UP-{SANS_PREUVE}, {})",
        sans.nom.to_uppercase(),
        sans.prenom,
        sans.reference
    )));
    assert!(texte.contains("Preuve de la sortie") && texte.contains("manquant"));
    let affiche = fichiers
        .iter()
        .find(|f| f["genre"] == "photo-affiche-fse")
        .unwrap();
    assert!(texte.contains(affiche["sha256"].as_str().unwrap()));
    assert!(texte.contains("Cofinancé par l'Union européenne"));
    // Each participant's part: a title (in the bookmarks), his folder, every
    // piece by its file name with its hash, and what he misses.
    let un = fichiers
        .iter()
        .find(|f| f["nature"] == "justificatif" && f["participant"] != Value::Null)
        .unwrap();
    let chemin = un["chemin"].as_str().unwrap();
    let (dossier, nom) = chemin.rsplit_once('/').unwrap();
    assert!(
        texte.contains(&format!("{dossier}/"))
            && texte.contains(nom)
            && texte.contains(un["sha256"].as_str().unwrap()),
        "{texte}"
    );
    assert!(texte.contains("Preuve de la sortie : manquant"), "{texte}");
    // Every participant in the PDF's bookmarks (the printed contents list the parts only).
    let signets = tool(
        "qpdf",
        &["--json", "--json-key=outlines", &index.to_string_lossy()],
    );
    let signets = text(&signets.stdout);
    assert!(
        personnes
            .iter()
            .all(|p| signets.contains(&format!("({})\"", p.reference))),
        "{signets}"
    );
    let images = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("index-pack");
    let (pdf, images) = (index.to_string_lossy(), images.to_string_lossy());
    let out = tool("pdftoppm", &["-png", "-r", "70", &pdf, &images]);
    assert!(out.status.success(), "pdftoppm : {}", text(&out.stderr));

    // One byte changed inside the ZIP: the verification fails and names the file.
    let emargement = fichiers
        .iter()
        .find(|f| f["genre"] == "emargement-individuel")
        .unwrap()["chemin"]
        .as_str()
        .unwrap()
        .to_owned();
    let altere = travail.path().join("altere.zip");
    reecrire_zip(&entrees, &altere, |nom, octets| {
        if nom == emargement {
            let milieu = octets.len() / 2;
            octets[milieu] ^= 0x01;
        }
    });
    let (ok, out, err) = run(&data, &["verify", &altere.to_string_lossy()]);
    assert!(
        !ok && err.contains(&emargement) && err.contains("modifié"),
        "{out}\n{err}"
    );
    // A journal entry rewritten: named too.
    let extrait = manifeste["journal"]["extrait"].as_str().unwrap().to_owned();
    reecrire_zip(&entrees, &altere, |nom, octets| {
        if nom == extrait {
            let t = String::from_utf8(octets.clone()).unwrap().replacen(
                "\"document_filed\"",
                "\"document_viewed\"",
                1,
            );
            *octets = t.into_bytes();
        }
    });
    let (ok, out, err) = run(&data, &["verify", &altere.to_string_lossy()]);
    assert!(
        !ok && (out + &err).contains(&extrait),
        "extrait altéré non signalé"
    );

    // A piece altered in the store itself: the export stops, names it, and leaves no pack.
    let sha = fichiers
        .iter()
        .find(|f| f["chemin"] == emargement.as_str())
        .unwrap()["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let objet = data.join("store/embedded/parafe").join(PLIE).join(format!(
        "sha256/{}/{}/{sha}",
        &sha[..2],
        &sha[2..4]
    ));
    let mut octets = std::fs::read(&objet).unwrap();
    let milieu = octets.len() / 2;
    octets[milieu] ^= 0x01;
    std::fs::write(&objet, &octets).unwrap();
    let compter_avant = compter(travail.path());
    let refuse = travail.path().join("refuse.zip");
    let (ok, out, err) = exporter(&data, &du, &au, &refuse);
    assert!(
        !ok && err.contains(&emargement) && err.contains("altérée dans le coffre"),
        "{out}\n{err}"
    );
    assert_eq!(compter(travail.path()), compter_avant, "rien de laissé");
}

/// Files under `dir`, recursively.
fn compter(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |it| {
        it.flatten()
            .map(|e| {
                if e.path().is_dir() {
                    compter(&e.path())
                } else {
                    1
                }
            })
            .sum()
    })
}

/// Files in the embedded store, journal entries and rows: what a refusal must leave unchanged.
async fn empreinte_du_monde(m: &Monde) -> (usize, usize, i64, usize) {
    let objets = compter(&m.data.join("store/embedded/parafe").join(PLIE));
    let entrees = m.vault.journal().entries(&plie()).map_or(0, |e| e.len());
    let lignes: i64 = sqlx::query_scalar("SELECT count(*) FROM justificatif")
        .fetch_one(&m.db)
        .await
        .unwrap();
    let temporaires = compter(&m.data.join("depots"));
    (objets, entrees, lignes, temporaires)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn les_mauvais_depots_sont_refuses_et_rien_n_est_depose() {
    let m = monde().await;
    let today = Utc::now().date_naive();
    let p = participant(&m, 1, "Benali", "Samira", today - Months::new(3), today).await;
    let limite = 1 << 20;
    let catalogue = Catalogue::lire(
        &parafe::justificatif::catalogue::PAR_DEFAUT
            .replace("taille_max = 52428800", &format!("taille_max = {limite}")),
        "essai",
    )
    .unwrap();
    let r = Some(p.reference.as_str());
    // A good piece first, so that the store and the journal are not empty.
    deposer(
        &m,
        &catalogue,
        r,
        "contrat-travail",
        "contrat.pdf",
        &pdf_simple("CDI", None),
        None,
    )
    .await
    .unwrap();
    let avant = empreinte_du_monde(&m).await;

    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
    exe.extend(std::iter::repeat_n(0u8, 4096));
    let js = pdf_simple(
        "Bulletin",
        Some(
            lopdf::dictionary! {"S" => "JavaScript", "JS" => lopdf::Object::string_literal("app.launchURL('http://x')")},
        ),
    );
    // The same, with the name written with an escape, and additional actions on the page.
    let mut js_echappe = pdf_simple("Bulletin", None);
    let fin = js_echappe.len() - b"%%EOF".len() - 1;
    js_echappe.truncate(fin.min(js_echappe.len()));
    js_echappe.extend_from_slice(
        b"\n99 0 obj\n<< /S /J#61vaScript /J#53 (app.alert(1)) >>\nendobj\n%%EOF\n",
    );
    let grand = {
        let mut v = b"%PDF-1.7\n".to_vec();
        v.extend(std::iter::repeat_n(b'0', limite as usize));
        v
    };
    let cas: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        ("setup.pdf", "contrat-travail", exe, "programme Windows"),
        ("vide.pdf", "contrat-travail", Vec::new(), "est vide"),
        (
            "enorme.pdf",
            "contrat-travail",
            grand,
            "dépasse la taille maximale de 1 Mio",
        ),
        ("bulletin.pdf", "bulletin-salaire", js, "JavaScript"),
        (
            "bulletin2.pdf",
            "bulletin-salaire",
            js_echappe,
            "JavaScript",
        ),
        (
            "contrat.docx",
            "contrat-travail",
            b"PK\x03\x04".to_vec(),
            "seuls les fichiers PDF, JPEG, PNG",
        ),
        (
            "affiche.pdf",
            "photo-affiche-fse",
            pdf_simple("Affiche", None),
            "doit être en JPEG ou PNG",
        ),
        (
            "tronque.pdf",
            "contrat-travail",
            pdf_simple("CDI tronqué", None)[..200].to_vec(),
            "endommagé",
        ),
    ];
    for (nom, genre, octets, attendu) in cas {
        let e = deposer(&m, &catalogue, r, genre, nom, &octets, None)
            .await
            .unwrap_err();
        assert!(e.est_refus(), "{nom} : {e}");
        let message = e.to_string();
        assert!(
            message.contains(attendu) && message.contains(nom),
            "{nom} : {message}"
        );
        assert_eq!(
            empreinte_du_monde(&m).await,
            avant,
            "{nom} a laissé une trace"
        );
    }
    // Read from a stream that never ends: cut off at the limit, nothing kept.
    let flux = b"%PDF-1.7\n".chain(std::io::repeat(0));
    let e = justificatif::recevoir(flux, &m.data.join("depots"), "flux.pdf", limite)
        .err()
        .unwrap();
    assert!(matches!(e, Refus::TropGros { .. }), "{e}");
    assert_eq!(empreinte_du_monde(&m).await, avant);
    // The same piece twice in the same dossier.
    let e = deposer(
        &m,
        &catalogue,
        r,
        "contrat-travail",
        "contrat.pdf",
        &pdf_simple("CDI", None),
        None,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("déjà déposée"), "{e}");
    assert_eq!(empreinte_du_monde(&m).await, avant);

    // 2 GB sent to `parafe justificatif deposer -` with a 1 GB limit: refused once 1 GB has
    // streamed through, the process never holding more than a few MB.
    std::fs::write(
        m.data.join("justificatifs.toml"),
        parafe::justificatif::catalogue::PAR_DEFAUT
            .replace("taille_max = 52428800", "taille_max = 1073741824"),
    )
    .unwrap();
    let data = m.data.to_string_lossy().into_owned();
    let mut enfant = Command::new(env!("CARGO_BIN_EXE_parafe"))
        .args([
            "justificatif",
            "deposer",
            "-",
            "--nom",
            "bulletin-enorme.pdf",
            "--operation",
            OPERATION,
            "--participant",
            &p.reference,
            "--genre",
            "bulletin-salaire",
            "--par",
            "t.garnier@plie-paysdelor.fr",
            "--data-dir",
            &data,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut entree = enfant.stdin.take().unwrap();
    let ecrivain = std::thread::spawn(move || {
        let mut envoye = 0u64;
        let bloc = vec![0u8; 1 << 20];
        if entree.write_all(b"%PDF-1.7\n").is_err() {
            return envoye;
        }
        while envoye < 2 << 30 {
            if entree.write_all(&bloc).is_err() {
                break;
            }
            envoye += bloc.len() as u64;
        }
        envoye
    });
    let statut = format!("/proc/{}/status", enfant.id());
    let mut pic_ko = 0u64;
    while enfant.try_wait().unwrap().is_none() {
        if let Ok(s) = std::fs::read_to_string(&statut) {
            if let Some(v) = s.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
                pic_ko = pic_ko.max(v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0));
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let sortie = enfant.wait_with_output().unwrap();
    let envoye = ecrivain.join().unwrap();
    let err = text(&sortie.stderr);
    assert_eq!(sortie.status.code(), Some(2), "{err}");
    assert!(err.contains("dépasse la taille maximale de 1 Gio"), "{err}");
    assert!(
        ((1 << 30) - (1 << 20)..2 << 30).contains(&envoye),
        "{envoye} octets envoyés"
    );
    assert!(
        pic_ko > 0 && pic_ko < 150 * 1024,
        "pic de mémoire {pic_ko} ko pour 1 Gio reçu"
    );
    assert_eq!(empreinte_du_monde(&m).await, avant);
}

/// A `multipart/form-data` body as a browser sends it: text fields, then the file.
pub(crate) fn multipart(
    champs: &[(&str, &str)],
    fichier: Option<(&str, &[u8])>,
) -> (String, Vec<u8>) {
    let limite = "----parafe-essai-7d1f0c";
    let mut corps = Vec::new();
    for (nom, valeur) in champs {
        write!(
            corps,
            "--{limite}\r\nContent-Disposition: form-data; name=\"{nom}\"\r\n\r\n{valeur}\r\n"
        )
        .unwrap();
    }
    if let Some((nom, octets)) = fichier {
        write!(corps, "--{limite}\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"{nom}\"\r\nContent-Type: application/octet-stream\r\n\r\n").unwrap();
        corps.extend_from_slice(octets);
        corps.extend_from_slice(b"\r\n");
    }
    write!(corps, "--{limite}--\r\n").unwrap();
    (format!("multipart/form-data; boundary={limite}"), corps)
}

/// `POST /api/justificatifs` with a piece, as `jeton`.
pub fn deposer_http(
    service: &crate::service::Service,
    jeton: &str,
    champs: &[(&str, &str)],
    fichier: (&str, &[u8]),
) -> (reqwest::StatusCode, Value) {
    let (type_, corps) = multipart(champs, Some(fichier));
    let reponse = service
        .client
        .post(format!("{}/api/justificatifs", service.url))
        .bearer_auth(jeton)
        .header("content-type", type_)
        .body(corps)
        .send()
        .unwrap();
    let status = reponse.status();
    (status, reponse.json().unwrap_or(Value::Null))
}

/// What a refused upload must leave as it was: objects in the embedded store, journal entries,
/// the participant's pieces, temporary files.
pub(crate) fn traces(
    service: &crate::service::Service,
    jeton: &str,
    participant: &str,
) -> (usize, usize, usize, usize) {
    let data = &service.data;
    let journal = parafe::journal::Journal::new(data.join("journal"), 10_000);
    let entrees = journal
        .entries(&PlieId::new("plie-test").unwrap())
        .map_or(0, |e| e.len());
    let v = service.ok(
        "GET",
        &format!("/api/participants/{participant}/justificatifs"),
        jeton,
        None,
    );
    (
        compter(&data.join("store/embedded/parafe/plie-test")),
        entrees,
        v["participant"]["pieces"].as_array().unwrap().len(),
        compter(&data.join("depots")),
    )
}

/// Asserts that the journal filed the sealed document `scelle` under `operation`, not under
/// « hors-operation ».
pub(crate) fn depose_sous(service: &crate::service::Service, scelle: &str, operation: &str) {
    let depot = evenements(service)
        .into_iter()
        .find(|e| {
            matches!(e.event, JournalEvent::DocumentFiled { .. })
                && e.objects.first().map(|o| o.to_hex()).as_deref() == Some(scelle)
        })
        .expect("dépôt du document au journal");
    assert!(
        matches!(&depot.event, JournalEvent::DocumentFiled { operation: o, .. } if o == operation),
        "{:?}",
        depot.event
    );
}

pub(crate) fn evenements(service: &crate::service::Service) -> Vec<parafe::model::JournalEntry> {
    parafe::journal::Journal::new(service.data.join("journal"), 10_000)
        .entries(&PlieId::new("plie-test").unwrap())
        .unwrap()
}

#[test]
fn par_http_depots_pieces_attendues_recherche_et_pack_en_arriere_plan() {
    use crate::service::{participant_ref, Plie, EXTRACTION};
    use reqwest::StatusCode;
    let Plie {
        dir: _dir,
        service,
        coordinateur,
        referent,
        ..
    } = Plie::pret(None);
    // A second référent with a participant of his own, an assistant, another PLIE.
    let ligne_lefort = "P-2025-0420;Madame;Roux;Claire;03/03/1990;claire.roux@exemple.fr;;34000;Montpellier;34;m.lefort@plie.fr;Lefort;Marion;202500417;CCAS Montpellier;;10/02/2025;Non;;;";
    let csv = format!("{}\n{ligne_lefort}\n", EXTRACTION.lines().next().unwrap());
    assert_eq!(service.importer(&coordinateur, &csv).0, StatusCode::OK);
    let lefort = service.compte("m.lefort@plie.fr", "referent", Some("plie-test"));
    let assistant = service.compte("assistant@plie.fr", "assistant", Some("plie-test"));
    let etranger = service.compte("assistant@autre-plie.fr", "assistant", Some("autre-plie"));
    let samira = participant_ref(&service, &referent, "Benali");
    let claire = participant_ref(&service, &lefort, "Roux");
    // Uploads past 1 MiB are refused.
    std::fs::write(
        service.data.join("justificatifs.toml"),
        parafe::justificatif::catalogue::PAR_DEFAUT
            .replace("taille_max = 52428800", "taille_max = 1048576"),
    )
    .unwrap();

    // A good piece: filed, hashed, journaled, downloadable (and the download journaled).
    let contrat = pdf_simple("Contrat de travail CDI", None);
    let (status, v) = deposer_http(
        &service,
        &referent,
        &[
            ("participant", &samira),
            ("genre", "contrat-travail"),
            ("date_piece", "2025-09-01"),
            ("etape", "emploi"),
        ],
        ("contrat-cdi.pdf", &contrat),
    );
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let depot = &v["justificatif"];
    assert_eq!(depot["sha256"], json!(sha256_hex(&contrat)));
    assert_eq!(depot["type_mime"], "application/pdf");
    let seq = depot["seq"].as_u64().unwrap();
    let depose = evenements(&service)
        .into_iter()
        .find(|e| e.seq == seq)
        .expect("dépôt inscrit au journal");
    assert!(
        matches!(depose.event, JournalEvent::DocumentFiled { ref kind, ref participant, .. } if kind == "justificatif" && participant.as_deref() == Some(samira.as_str())),
        "{:?}",
        depose.event
    );
    assert_eq!(depose.objects[0].to_hex(), sha256_hex(&contrat));
    let id = depot["id"].as_i64().unwrap();
    let reponse = service
        .client
        .get(format!("{}/api/justificatifs/{id}", service.url))
        .bearer_auth(&assistant)
        .send()
        .unwrap();
    assert_eq!(reponse.status(), StatusCode::OK);
    assert_eq!(reponse.bytes().unwrap().as_ref(), contrat.as_slice());
    assert!(matches!(
        evenements(&service).last().unwrap().event,
        JournalEvent::DocumentDownloaded { .. }
    ));

    // Bad pieces: refused with a French 4xx naming the file, and nothing left behind.
    let avant = traces(&service, &referent, &samira);
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
    exe.extend(std::iter::repeat_n(0u8, 4096));
    let js = pdf_simple(
        "Bulletin",
        Some(
            lopdf::dictionary! {"S" => "JavaScript", "JS" => lopdf::Object::string_literal("app.alert(1)")},
        ),
    );
    let mut trop = b"%PDF-1.7\n".to_vec();
    trop.extend(std::iter::repeat_n(b'0', 1536 * 1024));
    let cas: [(&str, &str, &[u8], StatusCode, &str); 5] = [
        (
            "setup.pdf",
            "contrat-travail",
            &exe,
            StatusCode::UNPROCESSABLE_ENTITY,
            "programme Windows",
        ),
        (
            "vide.pdf",
            "contrat-travail",
            b"",
            StatusCode::UNPROCESSABLE_ENTITY,
            "est vide",
        ),
        (
            "enorme.pdf",
            "contrat-travail",
            &trop,
            StatusCode::PAYLOAD_TOO_LARGE,
            "dépasse la taille maximale de 1 Mio",
        ),
        (
            "bulletin.pdf",
            "bulletin-salaire",
            &js,
            StatusCode::UNPROCESSABLE_ENTITY,
            "JavaScript",
        ),
        (
            "contrat.pdf",
            "genre-inconnu",
            &contrat,
            StatusCode::UNPROCESSABLE_ENTITY,
            "type de justificatif « genre-inconnu » inconnu",
        ),
    ];
    for (nom, genre, octets, attendu, message) in cas {
        let (status, v) = deposer_http(
            &service,
            &referent,
            &[("participant", &samira), ("genre", genre)],
            (nom, octets),
        );
        assert_eq!(status, attendu, "{nom} : {v}");
        let erreur = v["erreur"].as_str().unwrap_or_default();
        assert!(erreur.contains(message), "{nom} : {erreur}");
        assert_eq!(
            traces(&service, &referent, &samira),
            avant,
            "{nom} a laissé une trace"
        );
    }
    // The same piece twice: a conflict, nothing added.
    let (status, v) = deposer_http(
        &service,
        &referent,
        &[("participant", &samira), ("genre", "contrat-travail")],
        ("contrat-cdi.pdf", &contrat),
    );
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    // Another référent's participant, another PLIE: as if it did not exist.
    for (jeton, qui) in [(&lefort, "autre référent"), (&etranger, "autre PLIE")] {
        let (status, v) = deposer_http(
            &service,
            jeton,
            &[("participant", &samira), ("genre", "contrat-travail")],
            ("autre.pdf", &pdf_simple("autre", None)),
        );
        assert_eq!(status, StatusCode::NOT_FOUND, "{qui} : {v}");
        let (status, _) = service.appel(
            "GET",
            &format!("/api/participants/{samira}/justificatifs"),
            jeton,
            None,
        );
        assert_eq!(status, StatusCode::NOT_FOUND, "{qui}");
        let (status, _) = service.appel("GET", &format!("/api/justificatifs/{id}"), jeton, None);
        assert_eq!(status, StatusCode::NOT_FOUND, "{qui}");
    }
    assert_eq!(traces(&service, &referent, &samira), avant);

    // The checklists: the participant's, the opération's (a référent sees his own portfolio).
    let v = service.ok(
        "GET",
        &format!("/api/participants/{samira}/justificatifs"),
        &referent,
        None,
    );
    let lignes = v["lignes"].as_array().unwrap();
    let ligne = |exigence: &str| lignes.iter().find(|l| l["exigence"] == exigence).cloned();
    assert_eq!(
        ligne("contrat-engagement").unwrap()["etat"],
        "manquant",
        "{v}"
    );
    assert!(lignes
        .iter()
        .any(|l| l["exigence"] == "emargements" && l["etat"] == "manquant"));
    let pieces = v["participant"]["pieces"].as_array().unwrap();
    assert_eq!(pieces.len(), 1);
    assert_eq!(pieces[0]["genre"], "contrat-travail");
    assert_eq!(pieces[0]["disponible"], true);
    let v = service.ok(
        "GET",
        "/api/operations/202500417/justificatifs",
        &assistant,
        None,
    );
    assert_eq!(v["participants"].as_array().unwrap().len(), 3, "{v}");
    assert!(v["compte"]["manquantes"].as_u64().unwrap() > 0);
    assert!(
        v["lignes_operation"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["exigence"] == "affiche-fse" && l["etat"] == "manquant"),
        "{v}"
    );
    let v = service.ok(
        "GET",
        "/api/operations/202500417/justificatifs",
        &lefort,
        None,
    );
    let refs: Vec<&str> = v["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs, [claire.as_str()]);
    let (status, _) = service.appel(
        "GET",
        "/api/operations/202500417/justificatifs",
        &etranger,
        None,
    );
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The assistant's search: by kind, by state; a référent finds nothing of another's.
    let v = service.ok(
        "GET",
        "/api/recherche?genre=contrat-travail&du=2025-01-01&au=2025-12-31",
        &assistant,
        None,
    );
    let trouvees = v["pieces"].as_array().unwrap();
    assert_eq!(trouvees.len(), 1, "{v}");
    assert_eq!(trouvees[0]["participant"]["ref"], json!(samira));
    assert_eq!(trouvees[0]["participant"]["referent"], "Thomas GARNIER");
    assert!(
        trouvees[0]["preuve"]
            .as_str()
            .unwrap()
            .contains(&format!("entrée n° {seq}")),
        "{v}"
    );
    let v = service.ok(
        "GET",
        "/api/recherche?etat=manquant&participant=benali",
        &assistant,
        None,
    );
    assert!(v["pieces"].as_array().unwrap().is_empty());
    assert!(
        v["manques"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["participant"]["ref"] == json!(samira) && m["etat"] == "manquant"),
        "{v}"
    );
    assert!(!v["manques"].as_array().unwrap().is_empty());
    let v = service.ok("GET", "/api/recherche?genre=contrat-travail", &lefort, None);
    assert!(v["pieces"].as_array().unwrap().is_empty(), "{v}");
    let (status, v) = service.appel("GET", "/api/recherche?du=hier", &assistant, None);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["champ"], "du");

    // The audit pack, made in the background, followed, downloaded, verified.
    let demande = json!({ "operation": "202500417", "du": "2025-01-01", "au": "2026-12-31" });
    let v = service.ok("POST", "/api/exports", &assistant, Some(&demande));
    let reference = v["ref"].as_str().unwrap().to_owned();
    assert!(
        ["attente", "en_cours"].contains(&v["etat"].as_str().unwrap()),
        "{v}"
    );
    let debut = std::time::Instant::now();
    let fini = loop {
        let v = service.ok(
            "GET",
            &format!("/api/exports/{reference}"),
            &assistant,
            None,
        );
        if v["etat"] == "fini" {
            break v;
        }
        assert_ne!(v["etat"], "echec", "{v}");
        assert!(debut.elapsed().as_secs() < 120, "pack jamais fini : {v}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(fini["pourcent"], 100);
    assert_eq!(
        fini["telechargement"],
        json!(format!("/api/exports/{reference}/zip"))
    );
    // Not ready, not yours, not your PLIE.
    for jeton in [&lefort, &etranger] {
        let (status, _) = service.appel("GET", &format!("/api/exports/{reference}"), jeton, None);
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) =
            service.appel("GET", &format!("/api/exports/{reference}/zip"), jeton, None);
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let reponse = service
        .client
        .get(format!("{}/api/exports/{reference}/zip", service.url))
        .bearer_auth(&assistant)
        .send()
        .unwrap();
    assert_eq!(reponse.status(), StatusCode::OK);
    assert!(reponse.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(".zip"));
    let octets = reponse.bytes().unwrap();
    assert_eq!(json!(sha256_hex(&octets)), fini["sha256"]);
    let telecharge = service.data.parent().unwrap().join("telecharge.zip");
    std::fs::write(&telecharge, &octets).unwrap();
    let (ok, out, err) = run(&service.data, &["verify", &telecharge.to_string_lossy()]);
    assert!(
        ok && out.contains("VALIDE"),
        "parafe verify :\n{out}\n{err}"
    );
    let noms: Vec<String> = lire_zip(&telecharge).into_iter().map(|(n, _)| n).collect();
    assert!(
        noms.iter().any(|n| n.ends_with("-contrat-travail.pdf")),
        "{noms:?}"
    );
    // Both journaled: who, when (the entry's time), what (the export, the ZIP's hash).
    let journal = evenements(&service);
    let export = journal
        .iter()
        .find(|e| matches!(e.event, JournalEvent::ExportMade { ref operation, .. } if operation == "202500417"))
        .expect("export inscrit au journal");
    assert_eq!(export.objects[1].to_hex(), sha256_hex(&octets));
    let telechargement = journal.last().unwrap();
    match &telechargement.event {
        JournalEvent::ExportDownloaded { actor, export } => {
            assert_eq!(export, &reference);
            assert!(actor.starts_with("personnel-"));
            let JournalEvent::ExportMade { actor: auteur, .. } = &journal
                .iter()
                .rev()
                .find(|e| matches!(e.event, JournalEvent::ExportMade { .. }))
                .unwrap()
                .event
            else {
                unreachable!()
            };
            assert_eq!(actor, auteur, "l'assistante a exporté et téléchargé");
        }
        autre => panic!("dernière entrée : {autre:?}"),
    }
    assert_eq!(telechargement.objects[0].to_hex(), sha256_hex(&octets));

    // A référent exports his own portfolio only; never another's participant.
    let (status, v) = service.appel(
        "POST",
        "/api/exports",
        &lefort,
        Some(&json!({ "operation": "202500417", "du": "2025-01-01", "au": "2026-12-31", "participant": samira })),
    );
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    let v = service.ok("POST", "/api/exports", &lefort, Some(&demande));
    let sien = v["ref"].as_str().unwrap().to_owned();
    let debut = std::time::Instant::now();
    while service.ok("GET", &format!("/api/exports/{sien}"), &lefort, None)["etat"] != "fini" {
        assert!(debut.elapsed().as_secs() < 120);
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let octets = service
        .client
        .get(format!("{}/api/exports/{sien}/zip", service.url))
        .bearer_auth(&lefort)
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    std::fs::write(&telecharge, &octets).unwrap();
    let entrees = lire_zip(&telecharge);
    let noms: Vec<&String> = entrees.iter().map(|(n, _)| n).collect();
    // Claire has no piece yet: she is in the pack by what she misses, nobody else is.
    let manifeste = manifeste_de(&entrees);
    let manquants: HashSet<&str> = manifeste["manquants"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["participant"].as_str())
        .collect();
    assert_eq!(manquants, HashSet::from([claire.as_str()]), "{manifeste}");
    assert!(
        !noms
            .iter()
            .any(|n| n.contains("BENALI") || n.contains("DURAND")),
        "{noms:?}"
    );
    let (status, v) = service.appel("GET", "/api/exports", &lefort, None);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v["exports"].as_array().unwrap().len(),
        1,
        "ses seuls exports : {v}"
    );
    // The assistant sees both; a bad period is refused.
    let v = service.ok("GET", "/api/exports", &assistant, None);
    assert_eq!(v["exports"].as_array().unwrap().len(), 2);
    let (status, v) = service.appel(
        "POST",
        "/api/exports",
        &assistant,
        Some(&json!({ "operation": "202500417", "du": "2025-12-31", "au": "2025-01-01" })),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // Every route above is described for integrators.
    let api: Value = service
        .client
        .get(format!("{}/openapi.json", service.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    for chemin in [
        "/api/justificatifs",
        "/api/justificatifs/{id}",
        "/api/participants/{reference}/justificatifs",
        "/api/operations/{code}/justificatifs",
        "/api/recherche",
        "/api/exports",
        "/api/exports/{reference}",
        "/api/exports/{reference}/zip",
    ] {
        assert!(
            api["paths"].get(chemin).is_some(),
            "{chemin} absent de /openapi.json"
        );
    }
}

/// Issue 15, point 21: the controller follows LISEZMOI.txt, taken from a pack the service made
/// from a contract signed through its API. Every command it gives runs as written in the
/// unpacked folder, succeeds, and prints each thing the text after it quotes between « »; the
/// commands on index.pdf hold for every sealed document of the pack. Zero-setup default:
/// development CA, local timestamp authority.
#[test]
fn le_controleur_obtient_ce_que_le_lisezmoi_annonce() {
    let plie = crate::service::Plie::pret(None);
    let dehors = pack_du_service(&plie);
    let lisezmoi = controler_comme_le_lisezmoi(&dehors, true);
    // The development certificates declare no revocation source; their CA's CRL is joined.
    for sujet in [
        "CN=Cachet du PLIE (developpement),O=PLIE de developpement,C=FR",
        "CN=Horodatage local parafe (non qualifie),O=parafe,C=FR",
    ] {
        assert!(
            en_ligne(&lisezmoi).contains(&format!(
                "{sujet} : il ne déclare aucun service de révocation"
            )),
            "{lisezmoi}"
        );
    }
}

/// The same in production: the seal is a PKCS#12 issued by an outside CA, timestamps come from
/// its TSA (`openssl ts -reply`), both certificates declare the CA's CRL. Once the CA is out of
/// reach, the long-term validation LISEZMOI gives still holds on what the documents carry.
#[test]
fn le_controleur_obtient_ce_que_le_lisezmoi_annonce_en_production() {
    let mut ca = crate::seal::OutsideTsa::start(&["--crl"]);
    let plie = plie_scelle_par(&ca);
    let dehors = pack_du_service(&plie);
    let lisezmoi = controler_comme_le_lisezmoi(&dehors, true);
    let crl = format!("{}/ca.crl", ca.url.trim_end_matches("/tsa"));
    for sujet in ["Cachet du PLIE (AC de test openssl)", "TSA openssl de test"] {
        assert!(
            en_ligne(&lisezmoi).contains(&format!(
                "{sujet} : sa liste de révocation, {crl}, est interrogée en ligne"
            )),
            "{lisezmoi}"
        );
    }
    ca.stop();
    let (commande, citations) = commandes_du_lisezmoi(&lisezmoi)
        .into_iter()
        .find(|(c, _)| c.starts_with("pyhanko sign adesverify"))
        .expect("validation longue durée");
    lancer(&dehors, &commande, &citations);
}

/// A PLIE whose seal is the PKCS#12 `ca` issued, its password in the environment.
fn plie_scelle_par(ca: &crate::seal::OutsideTsa) -> crate::service::Plie {
    let reglages = crate::service::Reglages {
        toml: ca.configuration("CACHET_MDP"),
        env: vec![("CACHET_MDP".into(), "cachet".into())],
        ..Default::default()
    };
    crate::service::Plie::pret_avec(None, reglages)
}

/// A text on one line, its line breaks and indents as single spaces.
fn en_ligne(texte: &str) -> String {
    texte.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A TSA and CA that publish no revocation data at all (`openssl ts -reply` as it comes): no
/// certificate declares any, so pyHanko's check of today holds, but nothing could be joined
/// for the long term. LISEZMOI says which certificates the long-term validation cannot
/// conclude for, and gives no command that would not say what it announces.
#[test]
fn le_lisezmoi_dit_ce_que_la_validation_longue_ne_peut_pas_conclure() {
    let ca = crate::seal::OutsideTsa::start(&[]);
    let plie = plie_scelle_par(&ca);
    let dehors = pack_du_service(&plie);
    let lisezmoi = controler_comme_le_lisezmoi(&dehors, false);
    assert!(
        en_ligne(&lisezmoi).contains(
            "elle ne peut pas conclure pour C=FR,O=PLIE de test,CN=Cachet du PLIE (AC de test openssl) ; C=FR,O=Tiers,CN=TSA openssl de test, faute de donnée jointe"
        ),
        "{lisezmoi}"
    );
    let out = Command::new("pyhanko")
        .current_dir(&dehors)
        .args([
            "sign",
            "adesverify",
            "--trust",
            "certificats/autorites.pem",
            "index.pdf",
        ])
        .output()
        .unwrap();
    let sortie = text(&out.stdout) + &text(&out.stderr);
    assert!(
        !sortie.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"),
        "{sortie}"
    );
}

/// Makes a sealed contract through the API (signed on the tablet by the participant, then by
/// her référent), has the service export the opération's pack, downloads and unpacks it.
fn pack_du_service(plie: &crate::service::Plie) -> PathBuf {
    let (service, jeton) = (&plie.service, &plie.referent);
    let samira = crate::service::participant_ref(service, jeton, "Benali");
    let (reference, version) = service.creer_et_envoyer(
        jeton,
        &json!({ "workflow": "contrat-engagement", "participant": samira, "donnees": crate::service::contrat_donnees() }),
    );
    for rang in [0, 1] {
        service.ok(
            "POST",
            &format!("/api/documents/{reference}/signatures"),
            jeton,
            Some(&json!({ "rang": rang, "signature": crate::service::signature(&version) })),
        );
    }
    service.attendre_etat(jeton, &reference, "delivre");
    let aujourdhui = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let demande = json!({ "operation": OPERATION, "du": "2020-01-01", "au": jour(aujourdhui) });
    let octets = service.pack(&plie.coordinateur, &demande);
    let zip = plie.dir.path().join("pack.zip");
    std::fs::write(&zip, &octets).unwrap();
    let dehors = plie.dir.path().join("pack");
    let out = tool(
        "unzip",
        &[
            "-q",
            &zip.to_string_lossy(),
            "-d",
            &dehors.to_string_lossy(),
        ],
    );
    assert!(out.status.success(), "unzip : {}", text(&out.stderr));
    dehors
}

/// The commands of a LISEZMOI (lines indented by four spaces, a final `\` continuing one), each
/// with what the prose after it quotes between « », up to the next command or numbered part.
fn commandes_du_lisezmoi(texte: &str) -> Vec<(String, Vec<String>)> {
    let mut commandes: Vec<(String, String)> = Vec::new();
    let (mut suite, mut rattachee) = (false, false);
    for ligne in texte.lines() {
        if let Some(commande) = ligne.strip_prefix("    ") {
            let morceau = commande.trim().trim_end_matches('\\').trim();
            match commandes.last_mut() {
                Some((c, _)) if suite => {
                    c.push(' ');
                    c.push_str(morceau);
                }
                _ => commandes.push((morceau.to_owned(), String::new())),
            }
            suite = commande.trim_end().ends_with('\\');
            rattachee = true;
        } else if ligne
            .split_once(". ")
            .is_some_and(|(n, _)| n.parse::<u32>().is_ok())
        {
            rattachee = false;
        } else if let Some((_, prose)) = commandes.last_mut().filter(|_| rattachee) {
            prose.push_str(ligne);
            prose.push(' ');
        }
    }
    commandes
        .into_iter()
        .map(|(commande, prose)| {
            let citations = prose
                .split('«')
                .skip(1)
                .filter_map(|c| c.split_once('»'))
                .map(|(c, _)| en_ligne(c))
                .collect();
            (commande, citations)
        })
        .collect()
}

/// Runs one command as a shell in `dossier`: it must succeed and print every quote.
fn lancer(dossier: &Path, commande: &str, citations: &[String]) {
    let out = Command::new("sh")
        .current_dir(dossier)
        .args(["-c", commande])
        .output()
        .unwrap();
    let sortie = text(&out.stdout) + &text(&out.stderr);
    assert!(out.status.success(), "« {commande} » a échoué :\n{sortie}");
    for citation in citations {
        assert!(
            sortie.contains(citation.as_str()),
            "« {commande} » devait afficher « {citation} » :\n{sortie}"
        );
    }
}

/// Every command of the unpacked pack's LISEZMOI.txt, as written, then those on index.pdf on
/// every sealed document. `longue_duree`: every certificate has revocation data joined, so
/// LISEZMOI gives the long-term validation as a command. Returns the text.
fn controler_comme_le_lisezmoi(dehors: &Path, longue_duree: bool) -> String {
    let lisezmoi = std::fs::read_to_string(dehors.join("LISEZMOI.txt")).unwrap();
    let commandes = commandes_du_lisezmoi(&lisezmoi);
    let adesverify = "pyhanko sign adesverify --trust certificats/autorites.pem index.pdf";
    for outil in [
        "sha256sum -c manifeste.sha256",
        "openssl ts -verify -data manifeste.json",
        "openssl ts -verify -digest",
        "pdfsig index.pdf",
        "pyhanko sign validate --trust certificats/autorites.pem index.pdf",
    ] {
        assert!(
            commandes.iter().any(|(c, _)| c.starts_with(outil)),
            "LISEZMOI sans « {outil} » :\n{lisezmoi}"
        );
    }
    assert_eq!(
        commandes.iter().any(|(c, _)| c == adesverify),
        longue_duree,
        "{lisezmoi}"
    );
    for (commande, citations) in &commandes {
        lancer(dehors, commande, citations);
    }
    let manifeste: Value =
        serde_json::from_slice(&std::fs::read(dehors.join("manifeste.json")).unwrap()).unwrap();
    let scelles: Vec<&str> = manifeste["fichiers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["nature"] == "document" || f["nature"] == "index")
        .map(|f| f["chemin"].as_str().unwrap())
        .collect();
    assert!(scelles.len() >= 2, "le contrat et l'index : {scelles:?}");
    for chemin in scelles {
        for (commande, citations) in commandes.iter().filter(|(c, _)| c.ends_with(" index.pdf")) {
            lancer(
                dehors,
                &commande.replace(" index.pdf", &format!(" {chemin}")),
                citations,
            );
        }
    }
    lisezmoi
}

/// An audit pack asked for over HTTP as `jeton`, waited for, downloaded to `sortie`: its files.
pub(crate) fn pack_http(
    service: &crate::service::Service,
    jeton: &str,
    demande: &Value,
    sortie: &Path,
) -> Vec<(String, Vec<u8>)> {
    let octets = service.pack(jeton, demande);
    std::fs::write(sortie, &octets).unwrap();
    let (ok, out, err) = run(&service.data, &["verify", &sortie.to_string_lossy()]);
    assert!(
        ok && out.contains("VALIDE"),
        "parafe verify :\n{out}\n{err}"
    );
    lire_zip(sortie)
}

#[test]
fn une_feuille_d_atelier_signee_au_kiosque_appartient_aux_operations_de_ses_presents() {
    use crate::service::{participant_ref, signature, Plie};
    use reqwest::StatusCode;
    let Plie {
        dir,
        smtp,
        service,
        coordinateur,
        referent,
        ..
    } = Plie::pret(None);
    // Claire is Marion Lefort's, in the same opération; Hugo is hers too, in the next opération.
    let lignes = [
        "P-2025-0420;Madame;Roux;Claire;03/03/1990;claire.roux@exemple.fr;;34000;Montpellier;34;m.lefort@plie.fr;Lefort;Marion;202500417;CCAS Montpellier;;10/02/2025;Non;;;",
        "P-2026-0007;Monsieur;Leroy;Hugo;21/06/1995;;;34400;Lunel;34;m.lefort@plie.fr;Lefort;Marion;202600001;;;01/09/2025;Non;;;",
    ];
    assert_eq!(
        service.importer_lignes(&coordinateur, &lignes).0,
        StatusCode::OK
    );
    let lefort = service.compte("m.lefort@plie.fr", "referent", Some("plie-test"));
    let samira = participant_ref(&service, &referent, "Benali");
    let karim = participant_ref(&service, &referent, "Durand");
    let claire = participant_ref(&service, &lefort, "Roux");
    let hugo = participant_ref(&service, &lefort, "Leroy");

    // The coordinator runs the workshop on a tablet: three of the four expected come, and
    // someone the PLIE does not know is added on the spot.
    let tablette = service.connecter(&smtp, "coord@plie.fr");
    let f = tablette.ouvrir_atelier(
        "Atelier « Réussir son entretien d'embauche »",
        "2025-10-15",
        &[&samira, &claire, &karim, &hugo],
    );
    for nom in ["Claire ROUX", "Samira BENALI", "Hugo LEROY"] {
        let (status, v) = tablette.signer(&f, nom, json!({ "signataire": f.id(nom) }));
        assert_eq!(status, StatusCode::OK, "{nom} : {v}");
    }
    let (status, v) = tablette.signer(
        &f,
        "jeanne",
        json!({ "nouveau": { "prenom": "Jeanne", "nom": "Petit" } }),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = tablette.cloturer(&f, "cloture", signature(&f.version));
    assert_eq!(status, StatusCode::OK, "{v}");
    let fini = service.attendre_etat(&coordinateur, &f.document, "depose");
    let scelle = fini["document"]["sha256_scelle"]
        .as_str()
        .unwrap()
        .to_owned();
    service.attendre_outbox_vide(&coordinateur);
    // Filed in the store under its opération, not « hors-operation ».
    depose_sous(&service, &scelle, "202500417");

    // Each attendee's file, at each référent's desk: the sheet is there, and it opens.
    let garnier = service.connecter(&smtp, "t.garnier@plie.fr");
    let marion = service.connecter(&smtp, "m.lefort@plie.fr");
    for (bureau, jeton, participant) in [
        (&garnier, &referent, &samira),
        (&marion, &lefort, &claire),
        (&marion, &lefort, &hugo),
    ] {
        let (status, page) = bureau.get(&format!("/participants/{participant}"));
        assert_eq!(status, StatusCode::OK, "{participant}");
        assert!(
            page.contains(&format!("/documents/{}", f.document))
                && page.contains("Émargement — atelier collectif"),
            "feuille absente du dossier de {participant}"
        );
        // The sheet is the interview of October: present through the API, and the page's list
        // of missing months breaks around it.
        let v = service.ok(
            "GET",
            &format!("/api/participants/{participant}/justificatifs"),
            jeton,
            None,
        );
        assert!(
            v["lignes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["exigence"] == "emargements"
                    && l["precision"] == "octobre 2025"
                    && l["etat"] == "present"),
            "{participant} : {v}"
        );
        let manques = page
            .split("id=\"manques\"")
            .nth(1)
            .and_then(|s| s.split("</section>").next())
            .unwrap_or_default();
        assert!(
            manques.contains("septembre 2025") && manques.contains("de novembre 2025"),
            "{participant} : {manques}"
        );
        let (status, _) = bureau.get(&format!("/documents/{}", f.document));
        assert_eq!(
            status,
            StatusCode::OK,
            "la feuille s'ouvre depuis le dossier de {participant}"
        );
    }
    // Karim did not come: not his sheet.
    let (_, page) = garnier.get(&format!("/participants/{karim}"));
    assert!(
        !page.contains(&f.document),
        "feuille au dossier d'un absent"
    );

    // The opération's search finds it for each attendee of the opération, and the next
    // opération's for Hugo; a référent for his own participants only.
    let chercher = |jeton: &str, operation: &str| -> Vec<String> {
        let v = service.ok(
            "GET",
            &format!("/api/recherche?operation={operation}&genre=emargement-collectif&du=2025-01-01&au=2026-12-31"),
            jeton,
            None,
        );
        let mut qui: Vec<String> = v["pieces"]
            .as_array()
            .unwrap()
            .iter()
            .inspect(|p| assert_eq!(p["reference"], json!(f.document), "{v}"))
            .map(|p| {
                p["participant"]["ref"]
                    .as_str()
                    .unwrap_or("opération")
                    .to_owned()
            })
            .collect();
        qui.sort();
        qui
    };
    let mut attendus = vec![samira.clone(), claire.clone()];
    attendus.sort();
    assert_eq!(chercher(&coordinateur, "202500417"), attendus);
    assert_eq!(chercher(&coordinateur, "202600001"), [hugo.as_str()]);
    assert_eq!(chercher(&lefort, "202500417"), [claire.as_str()]);

    // The packs of both opérations, and Hugo's own, hold the sealed sheet once.
    let periode =
        |operation: &str| json!({ "operation": operation, "du": "2025-01-01", "au": "2026-12-31" });
    let mut hugo_seul = periode("202600001");
    hugo_seul["participant"] = json!(hugo);
    for (jeton, demande) in [
        (&coordinateur, periode("202500417")),
        (&coordinateur, periode("202600001")),
        (&lefort, hugo_seul),
    ] {
        let entrees = pack_http(&service, jeton, &demande, &dir.path().join("pack.zip"));
        let feuilles: Vec<&String> = entrees
            .iter()
            .filter(|(_, octets)| sha256_hex(octets) == scelle)
            .map(|(nom, _)| nom)
            .collect();
        assert_eq!(feuilles.len(), 1, "{demande} : {feuilles:?}");
        assert!(
            feuilles[0].starts_with("operation/emargements-collectifs/")
                && feuilles[0].ends_with("-emargement-collectif.pdf"),
            "{}",
            feuilles[0]
        );
        let manifeste = manifeste_de(&entrees);
        assert!(
            manifeste["fichiers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["sha256"] == json!(scelle) && l["nature"] == "document"),
            "{manifeste}"
        );
    }
}

/// Issue 19: every entry and exit is validated by the commission, and the controller asks for
/// its proof. The members present sign their own line (in the order they come), the président de
/// séance signs last; the sheet carries the decisions, is sealed, filed under the opération it
/// names, and handed over in that opération's pack.
#[test]
fn une_feuille_de_commission_signee_par_ses_membres_porte_ses_decisions_jusqu_au_pack() {
    use crate::service::{Plie, EXTRACTION};
    use reqwest::StatusCode;
    let Plie {
        dir,
        smtp: _smtp,
        service,
        coordinateur,
        ..
    } = Plie::pret(None);
    assert_eq!(
        service.importer(&coordinateur, EXTRACTION).0,
        StatusCode::OK
    );
    let membre = |nom: &str, prenom: &str, organisation: &str| json!({ "nom": nom, "prenom": prenom, "organisation": organisation });
    let mut demande = json!({
        "workflow": "commission",
        "donnees": {
            "operation": { "numero": "202500417" },
            "instance": "commission",
            "intitule": "Commission d'entrées et de sorties d'octobre",
            "date": "2025-10-21", "heure_debut": "14:00", "heure_fin": "16:00",
            "lieu": "Maison de l'emploi, salle Camargue, Mauguio",
            "president": { "nom": "Vidal", "prenom": "Hélène", "qualite": "Directrice du PLIE" },
            "membres": [
                membre("Vidal", "Hélène", "PLIE du Pays de l'Or"),
                membre("Garnier", "Thomas", "France Travail, agence de Lunel"),
                membre("Roche", "Nadia", "Département de l'Hérault"),
            ],
            "decisions": [
                { "identifiant": "P-2025-0412", "nom": "Benali", "prenom": "Samira",
                  "decision": "entree-validee", "motif": "Prescription France Travail", "date_effet": "2025-10-22" },
                { "identifiant": "P-2025-0413", "nom": "Durand", "prenom": "Karim",
                  "decision": "sortie-validee", "motif": "Sortie positive : CDI de cariste", "date_effet": "2025-10-31" },
            ],
        },
        "signataires": [{ "role": "president", "nom": "Hélène VIDAL" }],
    });
    // An opération the PLIE does not run is named as the field to fix, and nothing is created.
    let mut inconnue = demande.clone();
    inconnue["donnees"]["operation"]["numero"] = json!("209900001");
    let (status, v) = service.appel("POST", "/api/documents", &coordinateur, Some(&inconnue));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("operation.numero"), "{v}");
    let (reference, version) = service.creer_et_envoyer(&coordinateur, &demande);

    // The président cannot close before the members have signed; they sign in the order they
    // come (the third first).
    let (status, v) = service.signer_en_presence(&coordinateur, &reference, &version, 3);
    assert!(
        status.is_client_error(),
        "clôture avant les membres : {status} {v}"
    );
    for rang in [2, 0, 1, 3] {
        let (status, v) = service.signer_en_presence(&coordinateur, &reference, &version, rang);
        assert_eq!(status, StatusCode::OK, "rang {rang} : {v}");
    }
    // Sealed, filed, then sent to the coordinateurs (the workflow's recipients).
    let pdf = service.pdf_scelle(&coordinateur, &reference, "delivre");
    let scelle = sha256_hex(&pdf);

    // The sealed sheet: each member's line signed, the decisions, the président's block.
    let chemin = dir.path().join("commission.pdf");
    std::fs::write(&chemin, &pdf).unwrap();
    let texte = pdf_text(&chemin);
    for attendu in [
        "Commission d'entrées et de sorties",
        "France Travail, agence de Lunel",
        "Département de l'Hérault",
        "BENALI Samira",
        "Entrée validée",
        "DURAND Karim",
        "Sortie validée",
        "3 membre(s) présent(s), 2 décision(s).",
        "Le président de séance",
    ] {
        assert!(texte.contains(attendu), "« {attendu} » absent :\n{texte}");
    }
    // Each member's line carries its signature time; the président's block its own.
    assert_eq!(
        texte.matches("signé le ").count(),
        3,
        "trois lignes de membres signées :\n{texte}"
    );
    assert_eq!(texte.matches("Signé le ").count(), 1, "{texte}");

    // Filed under the opération it names, and in that opération's pack, once.
    depose_sous(&service, &scelle, "202500417");
    let entrees = pack_http(
        &service,
        &coordinateur,
        &json!({ "operation": "202500417", "du": "2025-01-01", "au": "2026-12-31" }),
        &dir.path().join("pack.zip"),
    );
    let feuilles: Vec<&String> = entrees
        .iter()
        .filter(|(_, octets)| sha256_hex(octets) == scelle)
        .map(|(nom, _)| nom)
        .collect();
    assert_eq!(feuilles.len(), 1, "{feuilles:?}");
    assert!(
        feuilles[0].starts_with("operation/") && feuilles[0].ends_with("-commission.pdf"),
        "{}",
        feuilles[0]
    );
    assert!(
        manifeste_de(&entrees)["fichiers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["sha256"] == json!(scelle) && l["nature"] == "document"),
        "feuille absente du manifeste"
    );
    demande["donnees"]["membres"] = json!([]);
    let (status, v) = service.appel("POST", "/api/documents", &coordinateur, Some(&demande));
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "une feuille sans membre : {v}"
    );
}

/// Issue 16, rules from configuration only: a PLIE that rewrites its catalogue (its own file in
/// `<data-dir>/justificatifs/`) sees the participant's page, his checklist and the API change
/// alike — no screen keeps rules of its own.
#[test]
fn le_catalogue_du_plie_change_la_page_du_participant_la_liste_et_l_api_pareil() {
    use crate::service::{participant_ref, Plie};
    use reqwest::StatusCode;
    let Plie {
        dir: _dir,
        smtp,
        service,
        referent,
        ..
    } = Plie::pret(None);
    let samira = participant_ref(&service, &referent, "Benali");
    let bureau = service.connecter(&smtp, "t.garnier@plie.fr");
    // What each reading says is missing (or late) for Samira, entered on 4 March 2025.
    let lire = || -> (String, String, Vec<String>) {
        let (status, page) = bureau.get(&format!("/participants/{samira}"));
        assert_eq!(status, StatusCode::OK, "{page}");
        let manques = page
            .split("id=\"manques\"")
            .nth(1)
            .and_then(|s| s.split("</section>").next())
            .expect("section « Ce qui manque »")
            .to_owned();
        let (status, liste) = bureau.get(&format!("/participants/{samira}/justificatifs"));
        assert_eq!(status, StatusCode::OK, "{liste}");
        let v = service.ok(
            "GET",
            &format!("/api/participants/{samira}/justificatifs"),
            &referent,
            None,
        );
        let api = v["lignes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| matches!(l["etat"].as_str(), Some("manquant" | "tardif")))
            .map(|l| l["libelle"].as_str().unwrap().to_owned())
            .collect();
        (manques, liste, api)
    };
    let contrat = "Contrat d'engagement signé";
    let identite = "Pièce d'identité en cours de validité";
    let (page, liste, api) = lire();
    for (ou, texte) in [("page", &page), ("liste", &liste)] {
        assert!(
            texte.contains(contrat) && !texte.contains(identite),
            "{ou} : {texte}"
        );
    }
    assert!(api.iter().any(|l| l == contrat), "{api:?}");

    // The PLIE asks for an identity document instead of the signed contract.
    let catalogue = parafe::justificatif::catalogue::PAR_DEFAUT
        .replace("version = \"2025.4\"", "version = \"2025.4-essai\"")
        .replace(
            "[genres.courrier]",
            "[genres.piece-identite]\nlibelle = \"Pièce d'identité\"\nformats = [\"pdf\", \"jpeg\", \"png\"]\n\n[genres.courrier]",
        )
        .replace(
            "id = \"contrat-engagement\"\nlibelle = \"Contrat d'engagement signé\"\nportee = \"participant\"\ndocuments = [\"contrat-engagement\"]",
            &format!("id = \"piece-identite\"\nlibelle = \"{identite}\"\nportee = \"participant\"\nune_parmi = [\"piece-identite\"]"),
        );
    assert!(
        catalogue.contains(identite),
        "le catalogue par défaut a changé"
    );
    let dossier = service.data.join("justificatifs");
    std::fs::create_dir_all(&dossier).unwrap();
    std::fs::write(dossier.join("plie-test.toml"), catalogue).unwrap();

    let (page, liste, api) = lire();
    for (ou, texte) in [("page", &page), ("liste", &liste)] {
        assert!(
            texte.contains(identite) && !texte.contains(contrat),
            "{ou} : {texte}"
        );
    }
    assert!(
        api.iter().any(|l| l == identite) && !api.iter().any(|l| l == contrat),
        "{api:?}"
    );
}

/// Issue 17: in a cluster, an instance keeps the document versions and the packs it makes in
/// the shared bucket. Its data directory lost (versions and packs gone), it signs the contract
/// from the version read back from the bucket and serves the pack byte for byte. PostgreSQL
/// only (a cluster refuses SQLite), on moto.
#[test]
fn en_grappe_versions_et_packs_survivent_a_la_perte_du_dossier_de_donnees() {
    use crate::service::signature;
    use crate::service::{base_postgres, confirmer_code, contrat_donnees, lien, participant_ref};
    use crate::store::{Moto, ACCESS, SECRET};
    use std::time::{Duration, Instant};
    if !base_postgres() {
        return;
    }
    let moto = Moto::start();
    let mut plie = crate::grappe::plie_en_grappe(&moto);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s3 = crate::store::client(&moto.endpoint(), (ACCESS, SECRET));
    let existe = |cle: &str| {
        rt.block_on(s3.head_object().bucket("grappe").key(cle).send())
            .is_ok()
    };
    let email = "samira.benali@exemple.fr";
    let (referent, coordinateur) = (plie.referent.clone(), plie.coordinateur.clone());

    // A contract sent by link: its version is in the bucket before anyone is invited.
    let p = participant_ref(&plie.service, &referent, "Benali");
    let deja = plie.smtp.recus(email, "/signer/").len();
    let (reference, version) = plie.service.creer_et_envoyer(
        &referent,
        &json!({
            "workflow": "contrat-engagement", "participant": p, "donnees": contrat_donnees(),
            "signataires": [{ "role": "participant", "methode": "lien" }],
        }),
    );
    let jeton = lien(&plie.smtp.attendre_nouveau(email, "/signer/", deja));
    assert!(existe(&format!("_versions/{version}.pdf")));

    // A pack, made then uploaded: in the bucket, no longer in the data directory.
    let demande = json!({ "operation": "202500417", "du": "2025-01-01", "au": "2026-12-31" });
    let v = plie
        .service
        .ok("POST", "/api/exports", &coordinateur, Some(&demande));
    let pack = v["ref"].as_str().unwrap().to_owned();
    assert_eq!(v["parametres"]["instance"], "a", "{v}");
    plie.service.attendre_pack(&coordinateur, &pack);
    let zip = plie.service.telecharger_pack(&coordinateur, &pack);
    assert!(zip.starts_with(b"PK"), "pas un ZIP");
    assert!(existe(&format!("_exports/plie-test/{pack}.zip")));

    // The instance stops; its versions and packs are lost with its disk; it starts again.
    plie.service.tuer();
    for dossier in ["versions", "exports"] {
        let chemin = plie.service.data.join(dossier);
        if chemin.exists() {
            std::fs::remove_dir_all(&chemin).unwrap();
        }
        assert!(!chemin.exists());
    }
    plie.service.redemarrer();
    let service = &plie.service;

    // The same pack, from the bucket, streamed.
    assert_eq!(
        service.telecharger_pack(&coordinateur, &pack),
        zip,
        "pack différent après la perte du disque"
    );

    // The signer reads the version and signs it by link; the référent signs; sealed.
    confirmer_code(service, &plie.smtp, email, &jeton);
    let pdf = service
        .client
        .get(format!("{}/api/signature/{jeton}/pdf", service.url))
        .send()
        .unwrap();
    assert!(pdf.status().is_success(), "{}", pdf.status());
    assert_eq!(sha256_hex(&pdf.bytes().unwrap()), version);
    service.ok(
        "POST",
        &format!("/api/signature/{jeton}"),
        "",
        Some(&signature(&version)),
    );
    let (status, v) = service.signer_en_presence(&referent, &reference, &version, 1);
    assert_eq!(status, reqwest::StatusCode::OK, "{v}");
    service.attendre_etat(&referent, &reference, "delivre");

    // Two unfinished exports of other instances: « b » is gone, « c » runs (its lock held by
    // another session). Asked about them, this instance fails the first only.
    let base = service.url_de_la_base().unwrap().to_owned();
    let mut c = std::process::Command::new("psql")
        .args(["-X", "-q", &base])
        .args([
            "-c",
            "SELECT pg_advisory_lock(hashtextextended('instance:c', 0))",
        ])
        .args(["-c", "SELECT pg_sleep(60)"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let debut = Instant::now();
    while crate::service::sql(
        service,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .trim()
        != "2"
    {
        assert!(
            debut.elapsed() < Duration::from_secs(20),
            "verrou de « c » jamais pris"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for instance in ["b", "c"] {
        crate::service::sql(
            service,
            &format!(
                "INSERT INTO export (plie, ref, demandeur, operation_id, parametres, etat, cree_le)
                 SELECT plie, ref || '{instance}', demandeur, operation_id,
                   replace(parametres, '\"instance\":\"a\"', '\"instance\":\"{instance}\"'),
                   'en_cours', cree_le
                 FROM export WHERE ref = '{pack}'"
            ),
        );
    }
    let b = service.ok("GET", &format!("/api/exports/{pack}b"), &coordinateur, None);
    assert_eq!(b["etat"], "echec", "{b}");
    assert!(b["erreur"].as_str().unwrap().contains("« b »"), "{b}");
    let c_vu = service.ok("GET", &format!("/api/exports/{pack}c"), &coordinateur, None);
    assert_eq!(c_vu["etat"], "en_cours", "{c_vu}");
    let _ = c.kill();
    let _ = c.wait();
    drop(moto);
}

/// Issue 20, people told apart: two « Jean MARTIN » of the same opération at one workshop. The
/// kiosk tells their lines apart by the year of birth (the PLIE's default), or by the parcours
/// identifier once the PLIE prefers it; each signs his own line; the pack's index and manifest
/// give each pseudonym beside the parcours identifier a controller matches against the
/// extraction; `parafe pack --participant` takes that identifier too.
#[test]
fn deux_homonymes_signent_chacun_leur_ligne_et_le_pack_les_nomme_par_leur_identifiant() {
    use crate::service::{signature, Plie};
    use reqwest::StatusCode;
    let Plie {
        dir,
        smtp,
        service,
        coordinateur,
        referent,
        ..
    } = Plie::pret(None);
    let lignes = [
        "P-HOM-1;Monsieur;Martin;Jean;17/05/1985;;;34400;Lunel;34;t.garnier@plie.fr;Garnier;Thomas;202500417;;;10/02/2025;Non;;;",
        "P-HOM-2;Monsieur;MARTIN;Jean;02/11/1992;;;34400;Lunel;34;t.garnier@plie.fr;Garnier;Thomas;202500417;;;03/03/2025;Non;;;",
    ];
    assert_eq!(
        service.importer_lignes(&coordinateur, &lignes).0,
        StatusCode::OK
    );

    // The référent's list: only the homonyms carry a year, never their full birth date.
    let garnier = service.connecter(&smtp, "t.garnier@plie.fr");
    let (_, liste) = garnier.get("/accueil");
    assert!(
        liste.contains("né(e) en 1985")
            && liste.contains("né(e) en 1992")
            && !liste.contains("né(e) en 1988")
            && !liste.contains("17/05/1985"),
        "{liste}"
    );
    // So does his « à faire » list, a line per action.
    let (_, a_faire) = garnier.get("/a-faire");
    assert!(
        a_faire.contains("né(e) en 1985") && a_faire.contains("né(e) en 1992"),
        "{a_faire}"
    );

    let tablette = service.connecter(&smtp, "coord@plie.fr");
    let f = tablette.ouvrir_atelier(
        "Atelier « Mon projet professionnel »",
        "2025-10-15",
        &["P-HOM-2", "P-HOM-1"],
    );
    let noms: Vec<&str> = f
        .signataires
        .iter()
        .filter(|s| s["role"] == "participant")
        .filter_map(|s| s["nom"].as_str())
        .collect();
    assert_eq!(
        noms,
        ["Jean MARTIN · né(e) en 1992", "Jean MARTIN · né(e) en 1985"]
    );
    // The one born in 1985 signs first: his line is signed, the other's still waits.
    let aine = "Jean MARTIN · né(e) en 1985";
    let cadet = "Jean MARTIN · né(e) en 1992";
    let (status, v) = tablette.signer(&f, "aine", json!({ "signataire": f.id(aine) }));
    assert_eq!(status, StatusCode::OK, "{v}");
    let apres = tablette.feuille(&f.kiosque);
    let etat = |nom: &str| {
        apres
            .signataires
            .iter()
            .find(|s| s["nom"] == nom)
            .map(|s| s["etat"].clone())
            .unwrap()
    };
    assert_eq!(
        (etat(aine), etat(cadet)),
        (json!("signe"), json!("attente"))
    );
    // The PLIE prefers the parcours identifier: the same lines, told apart by it.
    assert_eq!(
        service
            .appel(
                "PUT",
                "/api/plie/homonymes",
                &referent,
                Some(&json!({ "homonymes": "identifiant" }))
            )
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, v) = service.appel(
        "PUT",
        "/api/plie/homonymes",
        &coordinateur,
        Some(&json!({ "homonymes": "prenom" })),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    service.ok(
        "PUT",
        "/api/plie/homonymes",
        &coordinateur,
        Some(&json!({ "homonymes": "identifiant" })),
    );
    let f = tablette.feuille(&f.kiosque);
    let (status, v) = tablette.signer(
        &f,
        "cadet",
        json!({ "signataire": f.id("Jean MARTIN · P-HOM-2") }),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = tablette.cloturer(&f, "cloture", signature(&f.version));
    assert_eq!(status, StatusCode::OK, "{v}");
    let fini = service.attendre_etat(&coordinateur, &f.document, "depose");
    let scelle = fini["document"]["sha256_scelle"]
        .as_str()
        .unwrap()
        .to_owned();
    service.attendre_outbox_vide(&coordinateur);

    // The pack of the opération: both in the index and the manifest, each with his identifier.
    let zip = dir.path().join("pack.zip");
    let entrees = pack_http(
        &service,
        &coordinateur,
        &json!({ "operation": "202500417", "du": "2025-01-01", "au": "2025-12-31" }),
        &zip,
    );
    let feuille = entrees
        .iter()
        .find(|(_, octets)| sha256_hex(octets) == scelle)
        .expect("la feuille scellée dans le pack");
    let pdf = dir.path().join("feuille.pdf");
    std::fs::write(&pdf, &feuille.1).unwrap();
    let texte = pdf_text(&pdf);
    for identifiant in ["P-HOM-1", "P-HOM-2"] {
        let ligne = texte
            .lines()
            .skip_while(|l| !l.contains(identifiant))
            .take(3)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(ligne.contains("signé le"), "{identifiant} :\n{texte}");
    }
    let (_, index) = entrees.iter().find(|(n, _)| n == "index.pdf").unwrap();
    let chemin = dir.path().join("index.pdf");
    std::fs::write(&chemin, index).unwrap();
    let index = pdf_text(&chemin);
    let manifeste = manifeste_de(&entrees);
    let participants = manifeste["participants"].as_array().unwrap();
    for identifiant in ["P-HOM-1", "P-HOM-2"] {
        let p = participants
            .iter()
            .find(|p| p["identifiant"] == identifiant)
            .unwrap_or_else(|| panic!("{identifiant} absent du manifeste : {manifeste}"));
        let reference = p["participant"].as_str().unwrap();
        assert!(
            index.contains(&format!("MARTIN Jean — {identifiant} ({reference})")),
            "{identifiant} :\n{index}"
        );
        // The missing pieces name him by both too.
        assert!(
            manifeste["manquants"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["participant"] == reference && m["identifiant"] == identifiant),
            "{manifeste}"
        );
    }
    let (_, csv) = entrees.iter().find(|(n, _)| n == "manifeste.csv").unwrap();
    assert!(
        String::from_utf8_lossy(csv)
            .starts_with("chemin,sha256,taille,nature,genre,participant,identifiant,date,seq\n"),
        "en-tête du manifeste CSV"
    );

    // The command line names a participant by his parcours identifier, and says so when it
    // knows no one by it.
    let seul = dir.path().join("seul.zip");
    let commande = |participant: &str, sortie: &Path| {
        run(
            &service.data,
            &[
                "pack",
                "--operation",
                "202500417",
                "--from",
                "2025-01-01",
                "--to",
                "2025-12-31",
                "--participant",
                participant,
                "-o",
                &sortie.to_string_lossy(),
            ],
        )
    };
    let (ok, out, err) = commande("P-HOM-2", &seul);
    assert!(ok, "{out}\n{err}");
    let manifeste = manifeste_de(&lire_zip(&seul));
    let identifiants: Vec<&Value> = manifeste["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["identifiant"])
        .collect();
    assert_eq!(identifiants, [&json!("P-HOM-2")], "{manifeste}");
    let (ok, _, err) = commande("P-HOM-9", &dir.path().join("aucun.zip"));
    assert!(
        !ok && err.contains("participant « P-HOM-9 » inconnu dans cette opération"),
        "{err}"
    );
}
