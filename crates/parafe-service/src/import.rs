//! Import of participants and their référents from a parcours software extraction (UP Viesion
//! style: one line per participant, `;`-separated, dates `JJ/MM/AAAA`, headers in French; the
//! columns are listed in the README), in UTF-8 or Windows-1252 (what French spreadsheets still
//! save as « CSV »). Every line is checked first; one bad line and nothing is written, with the
//! list of lines and fields to fix. An import creates référents of its PLIE and updates those
//! only: never another role's account, never another PLIE's.

use crate::db;
use crate::db::participants::{self, Fiche};
use crate::db::personnel;
use crate::delivery::email_valide;
use crate::{App, Erreur};
use chrono::NaiveDate;
use encoding_rs::{UTF_8, WINDOWS_1252};
use parafe_core::model::Sha256Digest;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// Largest file taken in one request: 100 000 participants weigh 16 to 20 MB; room for four
/// times that, and for long lines.
pub const TAILLE_MAX: usize = 80 << 20;

/// The text encodings an extraction comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encodage {
    Utf8,
    /// What Excel and LibreOffice save as « CSV (séparateur : point-virgule) » in France, and
    /// many parcours tools export.
    Windows1252,
}

impl Encodage {
    /// The encoding a `charset` names, by the WHATWG labels browsers use (`latin1`,
    /// `iso-8859-1` and `cp1252` are Windows-1252); `None` for any other.
    pub fn par_charset(label: &str) -> Option<Encodage> {
        match encoding_rs::Encoding::for_label(label.trim().trim_matches('"').as_bytes()) {
            Some(e) if e == UTF_8 => Some(Encodage::Utf8),
            Some(e) if e == WINDOWS_1252 => Some(Encodage::Windows1252),
            _ => None,
        }
    }
}

/// Line (from 1) of a byte offset.
fn ligne_de(octets: &[u8], position: usize) -> usize {
    octets[..position].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The text of a file: in the encoding its BOM says, else the one declared (`charset`), else
/// UTF-8 when its bytes are UTF-8 and Windows-1252 otherwise. A workbook, UTF-16 or bytes that
/// are text in neither encoding are refused with what to do instead.
pub fn decoder(octets: &[u8], declare: Option<Encodage>) -> Result<Cow<'_, str>, Erreur> {
    let refus = |message: String| {
        Erreur::invalide(
            "fichier",
            format!("fichier refusé, rien n'a été importé : {message}"),
        )
    };
    const ENREGISTRER: &str = "ouvrez-le dans le tableur et enregistrez-le sous « CSV UTF-8 » ou « CSV (séparateur : point-virgule) »";
    if octets.starts_with(b"PK\x03\x04") || octets.starts_with(b"\xD0\xCF\x11\xE0") {
        return Err(refus(format!(
            "ce fichier est un classeur (Excel ou LibreOffice), pas un CSV : {ENREGISTRER}"
        )));
    }
    if octets.starts_with(b"\xFF\xFE") || octets.starts_with(b"\xFE\xFF") {
        return Err(refus(format!(
            "ce fichier est en UTF-16 (« texte Unicode ») : {ENREGISTRER}"
        )));
    }
    if let Some(i) = octets.iter().position(|&b| b == 0) {
        return Err(refus(format!(
            "ligne {} : octet nul, ce n'est pas un fichier texte (UTF-16 sans marque ?) : {ENREGISTRER}",
            ligne_de(octets, i)
        )));
    }
    let (encodage, corps) = match octets.strip_prefix(b"\xEF\xBB\xBF") {
        Some(reste) => (Some(Encodage::Utf8), reste),
        None => (declare, octets),
    };
    let texte = match encodage {
        Some(Encodage::Utf8) => match std::str::from_utf8(corps) {
            Ok(t) => Cow::Borrowed(t),
            Err(e) => {
                return Err(refus(format!(
                    "ligne {} : octets qui ne sont pas de l'UTF-8, alors que le fichier est annoncé en UTF-8 : \
                     enregistrez-le en « CSV UTF-8 », ou annoncez charset=windows-1252 s'il vient d'un tableur en Windows-1252",
                    ligne_de(corps, e.valid_up_to())
                )))
            }
        },
        Some(Encodage::Windows1252) => WINDOWS_1252.decode_without_bom_handling(corps).0,
        None => match std::str::from_utf8(corps) {
            Ok(t) => Cow::Borrowed(t),
            Err(_) => WINDOWS_1252.decode_without_bom_handling(corps).0,
        },
    };
    // The five bytes Windows-1252 leaves undefined come out as C1 controls: another encoding.
    if let Some(i) = texte.find(|c: char| ('\u{80}'..='\u{9f}').contains(&c)) {
        return Err(refus(format!(
            "ligne {} : caractère qui n'existe ni en UTF-8 ni en Windows-1252 (fichier dans un autre encodage ?) : {ENREGISTRER}",
            ligne_de(texte.as_bytes(), i)
        )));
    }
    Ok(texte)
}

/// The columns, as the extraction names them. Required ones first. Besides them, an extraction
/// may carry the columns the FSE questionnaires prefill from ([`colonnes_du_questionnaire`]).
pub const COLONNES: [(&str, bool); 21] = [
    ("Identifiant", true),
    ("Civilité", false),
    ("Nom", true),
    ("Prénom", true),
    ("Date de naissance", false),
    ("Email", false),
    ("Téléphone", false),
    ("Code postal", false),
    ("Commune", true),
    ("Département", false),
    ("Email référent", true),
    ("Nom référent", true),
    ("Prénom référent", true),
    ("Opération", false),
    ("Prescripteur", false),
    ("Email prescripteur", false),
    ("Date d'entrée", false),
    ("RSA", false),
    ("Début CER", false),
    ("Date de sortie", false),
    ("Motif de sortie", false),
];

/// The columns the programmes' questionnaires prefill entry answers from (their
/// `[[preremplissage]]`), in the order they declare them: an import takes them, and keeps their
/// values with the participant for his first entry questionnaire.
pub fn colonnes_du_questionnaire(app: &App) -> Result<Vec<String>, Erreur> {
    let mut colonnes: Vec<String> = Vec::new();
    for programme in crate::operations::Programme::COFINANCES {
        let q = parafe_fse::Questionnaire::charger(&app.config.data_dir, programme.code())
            .map_err(|e| Erreur::Interne(e.to_string()))?;
        for p in q.preremplissage {
            if !colonnes.iter().any(|c| c.eq_ignore_ascii_case(&p.colonne)) {
                colonnes.push(p.colonne);
            }
        }
    }
    Ok(colonnes)
}

/// The header line of an extraction, its columns in the order of [`COLONNES`].
pub fn en_tete() -> String {
    COLONNES.map(|(c, _)| c).join(";")
}

/// One thing to fix in the file.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ErreurLigne {
    /// Line in the file (the header is line 1).
    pub ligne: usize,
    pub colonne: String,
    pub message: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Rapport {
    pub participants: usize,
    pub referents: usize,
    pub bilans: crate::schedule::Planification,
}

/// A line read and checked, ready to be written.
pub struct Ligne {
    /// Its number in the file.
    numero: usize,
    fiche: Fiche,
    referent: (String, String, String),
    operation: Option<String>,
}

/// `JJ/MM/AAAA` (day and month of one or two digits), or `AAAA-MM-JJ`. Read by hand: chrono's
/// format parser costs more than the rest of a line.
fn date(s: &str) -> Option<NaiveDate> {
    let nombre = |t: &str, chiffres: std::ops::RangeInclusive<usize>| {
        (chiffres.contains(&t.len()) && t.bytes().all(|c| c.is_ascii_digit()))
            .then(|| t.parse::<u32>().ok())
            .flatten()
    };
    let (jour, mois, annee) = match s.split('/').collect::<Vec<_>>()[..] {
        [j, m, a] => (j, m, a),
        _ => match s.split('-').collect::<Vec<_>>()[..] {
            [a, m, j] => (j, m, a),
            _ => return None,
        },
    };
    NaiveDate::from_ymd_opt(
        nombre(annee, 4..=4)? as i32,
        nombre(mois, 1..=2)?,
        nombre(jour, 1..=2)?,
    )
}

/// A CSV reader of the extraction: `;`-separated when its header line has one, else `,`.
fn lecteur(texte: &str) -> csv::Reader<&[u8]> {
    let separateur = if texte.lines().next().is_some_and(|l| l.contains(';')) {
        b';'
    } else {
        b','
    };
    csv::ReaderBuilder::new()
        .delimiter(separateur)
        .flexible(false)
        .from_reader(texte.as_bytes())
}

/// Lines handed over together while a file is read: a dozen statements each, so that the
/// statement left waiting between two lots is a small share.
const LIGNES_PAR_LOT: usize = 16384;

/// Reads and checks the whole file, handing its lines over by lots (`remettre`) as long as
/// every line so far is usable; the errors of all lines if any is not. The columns
/// `du_questionnaire` are taken too, their values kept as given for the prefill.
pub fn lire(
    texte: &str,
    du_questionnaire: &[String],
    mut remettre: impl FnMut(Vec<Ligne>),
) -> Result<(), Vec<ErreurLigne>> {
    let mut lecteur = lecteur(texte);
    let erreur = |ligne: usize, colonne: &str, message: String| ErreurLigne {
        ligne,
        colonne: colonne.to_owned(),
        message,
    };
    let entetes = match lecteur.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_owned()).collect::<Vec<_>>(),
        Err(e) => return Err(vec![erreur(1, "", format!("en-tête illisible : {e}"))]),
    };
    let mut erreurs = Vec::new();
    // The position in the file of each column of COLONNES.
    let mut index = [None; COLONNES.len()];
    for (i, (nom, requis)) in COLONNES.iter().enumerate() {
        index[i] = entetes.iter().position(|h| h.eq_ignore_ascii_case(nom));
        if index[i].is_none() && *requis {
            erreurs.push(erreur(1, nom, "colonne absente de l'en-tête".into()));
        }
    }
    // Where the questionnaire's columns are in the file, with their names.
    let prefill: Vec<(usize, &str)> = du_questionnaire
        .iter()
        .filter_map(|c| {
            let i = entetes.iter().position(|h| h.eq_ignore_ascii_case(c))?;
            Some((i, c.as_str()))
        })
        .collect();
    for inconnue in entetes.iter().filter(|h| {
        !COLONNES.iter().any(|(c, _)| c.eq_ignore_ascii_case(h))
            && !du_questionnaire.iter().any(|c| c.eq_ignore_ascii_case(h))
    }) {
        erreurs.push(erreur(
            1,
            inconnue,
            "colonne inconnue (voir la liste des colonnes dans le README)".into(),
        ));
    }
    if !erreurs.is_empty() {
        return Err(erreurs);
    }
    // Where each column of COLONNES is in the file, by name.
    let [identifiant, civilite, nom, prenom, naissance, email, telephone, code_postal, commune, departement, email_referent, nom_referent, prenom_referent, operation, prescripteur, email_prescripteur, entree, rsa, cer, sortie, motif] =
        index;
    let mut lignes = Vec::new();
    let mut vus: HashMap<String, usize> = HashMap::new();
    let mut enregistrement = csv::StringRecord::new();
    let mut n = 1;
    loop {
        n += 1;
        match lecteur.read_record(&mut enregistrement) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                erreurs.push(erreur(n, "", format!("ligne illisible : {e}")));
                continue;
            }
        }
        let champ = |colonne: Option<usize>| -> &str {
            colonne
                .and_then(|i| enregistrement.get(i))
                .unwrap_or_default()
                .trim()
        };
        let facultatif = |colonne| Some(champ(colonne)).filter(|v| !v.is_empty());
        let mut ok = true;
        for ((nom, requis), colonne) in COLONNES.iter().zip(index) {
            if *requis && champ(colonne).is_empty() {
                erreurs.push(erreur(n, nom, "valeur obligatoire manquante".into()));
                ok = false;
            }
        }
        let mut jour = |nom: &str, colonne| -> Option<NaiveDate> {
            let v = facultatif(colonne)?;
            let d = date(v);
            if d.is_none() {
                erreurs.push(erreur(
                    n,
                    nom,
                    format!("« {v} » n'est pas une date JJ/MM/AAAA"),
                ));
                ok = false;
            }
            d
        };
        let dates = (
            jour("Date de naissance", naissance),
            jour("Date d'entrée", entree),
            jour("Début CER", cer),
            jour("Date de sortie", sortie),
        );
        for (nom, colonne) in [
            ("Email", email),
            ("Email référent", email_referent),
            ("Email prescripteur", email_prescripteur),
        ] {
            if let Some(v) = facultatif(colonne) {
                if !email_valide(v) {
                    erreurs.push(erreur(
                        n,
                        nom,
                        format!("« {v} » n'est pas une adresse e-mail"),
                    ));
                    ok = false;
                }
            }
        }
        let au_rsa = match champ(rsa).to_lowercase().as_str() {
            "" | "non" | "n" | "0" | "false" => false,
            "oui" | "o" | "1" | "true" => true,
            autre => {
                erreurs.push(erreur(
                    n,
                    "RSA",
                    format!("« {autre} » : attendu Oui ou Non"),
                ));
                ok = false;
                false
            }
        };
        if au_rsa && dates.2.is_none() {
            erreurs.push(erreur(
                n,
                "Début CER",
                "un participant au RSA a un CER : indiquez sa date de début".into(),
            ));
            ok = false;
        }
        let id = champ(identifiant);
        if let Some(premiere) = vus.insert(id.to_owned(), n) {
            erreurs.push(erreur(
                n,
                "Identifiant",
                format!("« {id} » figure déjà ligne {premiere}"),
            ));
            ok = false;
        }
        // After a first error, lines are only checked: the import will write none.
        if ok && erreurs.is_empty() {
            let texte = |colonne| champ(colonne).to_owned();
            let option = |colonne| facultatif(colonne).map(str::to_owned);
            let (date_naissance, date_entree, cer_debut, date_sortie) = dates;
            let valeurs: std::collections::BTreeMap<&str, &str> = prefill
                .iter()
                .map(|(i, c)| (*c, champ(Some(*i))))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            let extraction = (!valeurs.is_empty())
                .then(|| serde_json::to_string(&valeurs).ok())
                .flatten();
            lignes.push(Ligne {
                numero: n,
                fiche: Fiche {
                    identifiant_externe: texte(identifiant),
                    civilite: texte(civilite),
                    nom: texte(nom),
                    prenom: texte(prenom),
                    date_naissance,
                    email: option(email),
                    telephone: option(telephone),
                    commune: texte(commune),
                    code_postal: texte(code_postal),
                    departement: option(departement),
                    referent_id: None,
                    operation_id: None,
                    prescripteur: texte(prescripteur),
                    email_prescripteur: option(email_prescripteur),
                    date_entree,
                    rsa: au_rsa,
                    cer_debut,
                    date_sortie,
                    motif_sortie: option(motif),
                    extraction,
                },
                referent: (
                    champ(email_referent).to_lowercase(),
                    texte(nom_referent),
                    texte(prenom_referent),
                ),
                operation: option(operation),
            });
            if lignes.len() == LIGNES_PAR_LOT {
                remettre(std::mem::take(&mut lignes));
            }
        }
    }
    if !erreurs.is_empty() {
        return Err(erreurs);
    }
    if !lignes.is_empty() {
        remettre(lignes);
    }
    Ok(())
}

/// The line whose référent's e-mail is another account's (another role, another PLIE): whose
/// it is is not the importer's business.
fn adresse_refusee(ligne: usize, email: &str) -> ErreurLigne {
    ErreurLigne {
        ligne,
        colonne: "Email référent".into(),
        message: format!(
            "l'adresse « {email} » ne peut pas être utilisée pour un référent de ce PLIE : \
             indiquez l'adresse professionnelle du référent"
        ),
    }
}

/// Why an import wrote nothing.
#[derive(Debug)]
pub enum ImportError {
    Lignes(Vec<ErreurLigne>),
    Service(Erreur),
}

impl From<Erreur> for ImportError {
    fn from(e: Erreur) -> Self {
        ImportError::Service(e)
    }
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Service(e.into())
    }
}

/// Imports the file into the PLIE in one transaction (the caller then schedules the bilans
/// BRSA: see [`importer_et_planifier`]). The file is read and checked on a thread of its own
/// while the lines already checked are written: one wrong line, and the transaction is dropped
/// with everything written so far.
pub async fn importer(app: &App, plie: &str, texte: &str) -> Result<Rapport, ImportError> {
    let le = db::instant(app.horloge.maintenant());
    let (envoi, mut lots) = tokio::sync::mpsc::channel(4);
    let texte = texte.to_owned();
    let du_questionnaire = colonnes_du_questionnaire(app)?;
    let lecture = tokio::task::spawn_blocking(move || {
        lire(&texte, &du_questionnaire, |lot| {
            // A closed channel: the writer gave up (a database error); the file is still read.
            let _ = envoi.blocking_send(lot);
        })
    });
    let mut tx = crate::db::ecriture(&app.db).await?;
    let mut referents: HashMap<String, i64> = HashMap::new();
    let mut operations: HashMap<String, i64> = HashMap::new();
    let mut erreurs = Vec::new();
    let mut ecrits = 0;
    while let Some(lot) = lots.recv().await {
        let mut fiches = Vec::with_capacity(lot.len());
        for mut ligne in lot {
            let (email, nom, prenom) = &ligne.referent;
            let id = match referents.get(email) {
                Some(id) => Some(*id),
                None => {
                    let id =
                        personnel::enregistrer_referent(&mut *tx, plie, email, nom, prenom, &le)
                            .await?;
                    if let Some(id) = id {
                        referents.insert(email.clone(), id);
                    }
                    id
                }
            };
            let Some(id) = id else {
                erreurs.push(adresse_refusee(ligne.numero, email));
                continue;
            };
            ligne.fiche.referent_id = Some(id);
            if let Some(code) = &ligne.operation {
                let id = match operations.get(code) {
                    Some(id) => *id,
                    None => {
                        let id = db::referentiel::operation_par_code_ou_creee(&mut *tx, plie, code)
                            .await?;
                        operations.insert(code.clone(), id);
                        id
                    }
                };
                ligne.fiche.operation_id = Some(id);
            }
            fiches.push(ligne.fiche);
        }
        if erreurs.is_empty() {
            participants::enregistrer(&mut tx, plie, &fiches, &le).await?;
            ecrits += fiches.len();
        }
    }
    lecture
        .await
        .map_err(|e| Erreur::Interne(format!("lecture du fichier interrompue : {e}")))?
        .map_err(ImportError::Lignes)?;
    if !erreurs.is_empty() {
        return Err(ImportError::Lignes(erreurs));
    }
    tx.commit().await?;
    Ok(Rapport {
        participants: ecrits,
        referents: referents.len(),
        bilans: Default::default(),
    })
}

/// Imports, then brings the bilans BRSA of the PLIE's participants on RSA up to date.
pub async fn importer_et_planifier(
    app: &App,
    plie: &str,
    texte: &str,
) -> Result<Rapport, ImportError> {
    let mut rapport = importer(app, plie, texte).await?;
    let au_rsa = participants::au_rsa(&app.db, plie).await?;
    rapport.bilans =
        crate::schedule::planifier(app, plie, &au_rsa, app.horloge.maintenant()).await?;
    Ok(rapport)
}

/// What an import of a file would do, read before anything is written.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Apercu {
    /// Lines of participants in the file (its header aside).
    pub lignes: usize,
    /// Participants the PLIE does not know yet (by identifier), and those whose fiche is updated.
    pub nouveaux: usize,
    pub mis_a_jour: usize,
    /// Référents the file names, and among them those without an account (created).
    pub referents: usize,
    pub referents_nouveaux: usize,
    /// Opération numbers the PLIE does not have yet: created under a provisional title.
    pub operations_nouvelles: Vec<String>,
    /// Every line to fix; any of them and the import writes nothing.
    pub erreurs: Vec<ErreurLigne>,
    /// SHA-256 of the text previewed: what the confirmation names.
    pub sha256: String,
}

/// What the PLIE already has, as the preview compares the file's lines with it.
#[derive(Default)]
struct Existant {
    identifiants: HashSet<String>,
    operations: HashSet<String>,
    /// By référent's e-mail: see [`personnel::referent_importable`].
    referents: HashMap<String, Option<bool>>,
}

/// The counts of [`Apercu`] for lines that [`lire`] found right, and the lines whose référent's
/// e-mail the import would refuse (the one check made at writing).
fn decompter(lignes: &[Ligne], existant: &Existant) -> Apercu {
    let mut apercu = Apercu {
        lignes: lignes.len(),
        ..Apercu::default()
    };
    let mut referents = HashSet::new();
    let mut operations = std::collections::BTreeSet::new();
    for l in lignes {
        if existant.identifiants.contains(&l.fiche.identifiant_externe) {
            apercu.mis_a_jour += 1;
        } else {
            apercu.nouveaux += 1;
        }
        let email = &l.referent.0;
        match existant.referents.get(email) {
            Some(Some(false)) => apercu.erreurs.push(adresse_refusee(l.numero, email)),
            etat => {
                if referents.insert(email) {
                    apercu.referents += 1;
                    apercu.referents_nouveaux += usize::from(etat == Some(&None));
                }
            }
        }
        if let Some(code) = l
            .operation
            .as_ref()
            .filter(|c| !existant.operations.contains(*c))
        {
            operations.insert(code.clone());
        }
    }
    apercu.operations_nouvelles = operations.into_iter().collect();
    if lignes.is_empty() {
        apercu.erreurs.push(ErreurLigne {
            ligne: 2,
            colonne: String::new(),
            message: "aucune ligne de participant sous l'en-tête : rien à importer".into(),
        });
    }
    apercu
}

/// Reads and checks the file as [`importer`] would, and compares it with what the PLIE has
/// (read-only queries): nothing is written.
pub async fn apercu(app: &App, plie: &str, texte: String) -> Result<Apercu, Erreur> {
    let sha256 = Sha256Digest::of(texte.as_bytes()).to_hex();
    let du_questionnaire = colonnes_du_questionnaire(app)?;
    let (lu, texte) = tokio::task::spawn_blocking(move || {
        let mut lignes = Vec::new();
        let lu = lire(&texte, &du_questionnaire, |lot| lignes.extend(lot)).map(|()| lignes);
        (lu, texte)
    })
    .await
    .map_err(|e| Erreur::Interne(format!("lecture du fichier interrompue : {e}")))?;
    let lignes = match lu {
        Ok(lignes) => lignes,
        Err(erreurs) => {
            return Ok(Apercu {
                lignes: lecteur(&texte).records().count(),
                erreurs,
                sha256,
                ..Apercu::default()
            })
        }
    };
    let mut existant = Existant {
        identifiants: participants::identifiants(&app.db, plie)
            .await?
            .into_iter()
            .collect(),
        operations: db::referentiel::operations(&app.db, plie)
            .await?
            .into_iter()
            .map(|o| o.code)
            .collect(),
        referents: HashMap::new(),
    };
    for l in &lignes {
        let email = &l.referent.0;
        if !existant.referents.contains_key(email) {
            let etat = personnel::referent_importable(&app.db, plie, email).await?;
            existant.referents.insert(email.clone(), etat);
        }
    }
    Ok(Apercu {
        sha256,
        ..decompter(&lignes, &existant)
    })
}

/// How long a preview waits for its confirmation.
const APERCU_VALABLE: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The session `garde` as the previews' table names it: a hash of its own name.
fn prefixe_garde(garde: &str) -> String {
    let h = Sha256Digest::of(format!("import:{garde}").as_bytes()).to_hex();
    h[..32].to_owned()
}

/// The instant before which a preview is past its hour.
fn perime_avant(app: &App) -> String {
    db::instant(app.horloge.maintenant() - APERCU_VALABLE)
}

/// Keeps the previewed text for its session in the database (any instance of a cluster takes
/// the confirmation; it holds personal data, never evidence until imported), in place of that
/// session's earlier preview; previews past their hour are removed.
pub async fn garder(app: &App, garde: &str, sha256: &str, texte: &str) -> Result<(), Erreur> {
    let le = db::instant(app.horloge.maintenant());
    db::apercus::garder(
        &app.db,
        &prefixe_garde(garde),
        sha256,
        texte,
        &le,
        &perime_avant(app),
    )
    .await?;
    Ok(())
}

/// The text `garde` previewed under `sha256`, checked against it: absent, past its hour or
/// altered, it is refused and nothing is imported.
pub async fn reprendre(app: &App, garde: &str, sha256: &str) -> Result<String, Erreur> {
    let perime = || {
        Erreur::Conflit(
            "cet aperçu n'est plus valable (importé, remplacé par un autre, vieux de plus d'une heure \
             ou ouvert dans une autre session) : déposez de nouveau le fichier pour le revoir"
                .into(),
        )
    };
    if Sha256Digest::from_hex(sha256).is_none_or(|d| d.to_hex() != sha256) {
        return Err(perime());
    }
    let garde = prefixe_garde(garde);
    let texte = db::apercus::texte(&app.db, &garde, sha256, &perime_avant(app))
        .await?
        .ok_or_else(perime)?;
    if Sha256Digest::of(texte.as_bytes()).to_hex() != sha256 {
        db::apercus::oublier(&app.db, &garde).await?;
        return Err(Erreur::Conflit(
            "le texte gardé depuis l'aperçu a été modifié : rien n'a été importé ; déposez de nouveau le fichier"
                .into(),
        ));
    }
    Ok(texte)
}

/// Removes a preview that has served.
pub async fn oublier(app: &App, garde: &str) -> Result<(), Erreur> {
    db::apercus::oublier(&app.db, &prefixe_garde(garde)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line of the extraction: identifier, référent's e-mail, opération.
    fn ligne(id: &str, referent: &str, operation: &str) -> String {
        format!(
            "{id};;Martin;Jean;;;;34400;Lunel;34;{referent};Garnier;Thomas;{operation};;;;Non;;;"
        )
    }

    #[test]
    fn l_apercu_compte_nouveaux_mis_a_jour_referents_operations_et_adresses_refusees() {
        let texte = [
            en_tete(),
            ligne("P-1", "t.garnier@plie.fr", "202500417"),
            ligne("P-2", "m.lefort@plie.fr", "202500999"),
            ligne("P-3", "M.Lefort@plie.fr", "202500417"),
            ligne("P-4", "direction@plie.fr", ""),
        ]
        .join("\n");
        let mut lignes = Vec::new();
        lire(&texte, &[], |lot| lignes.extend(lot)).unwrap();
        let existant = Existant {
            identifiants: ["P-1".to_owned(), "P-9".to_owned()].into(),
            operations: ["202500417".to_owned()].into(),
            referents: [
                ("t.garnier@plie.fr".to_owned(), Some(true)),
                ("m.lefort@plie.fr".to_owned(), None),
                // A coordinateur's address: the import would refuse the line.
                ("direction@plie.fr".to_owned(), Some(false)),
            ]
            .into(),
        };
        let a = decompter(&lignes, &existant);
        assert_eq!(
            (a.lignes, a.nouveaux, a.mis_a_jour),
            (4, 3, 1),
            "P-1 est connu"
        );
        assert_eq!(
            (a.referents, a.referents_nouveaux),
            (2, 1),
            "une adresse en majuscules est la même"
        );
        assert_eq!(a.operations_nouvelles, ["202500999"]);
        assert_eq!(a.erreurs, [adresse_refusee(5, "direction@plie.fr")]);
    }

    #[test]
    fn encodages_reconnus_ou_refuses_avec_la_ligne() {
        let cp1252 = b"Nom;Pr\xe9nom\nC\x9cur;\x80\n";
        assert_eq!(decoder(cp1252, None).unwrap(), "Nom;Prénom\nCœur;€\n");
        assert_eq!(decoder("Prénom\n".as_bytes(), None).unwrap(), "Prénom\n");
        // The BOM wins over the declared charset.
        assert_eq!(
            decoder(b"\xEF\xBB\xBFPr\xC3\xA9nom", Some(Encodage::Windows1252)).unwrap(),
            "Prénom"
        );
        let message = |octets: &[u8], declare| match decoder(octets, declare) {
            Err(Erreur::Invalide { message, .. }) => message,
            autre => panic!("{autre:?}"),
        };
        assert!(message(b"Nom\nA\x81B\n", None).contains(": ligne 2 : caractère"));
        assert!(message(b"Nom\nok\nA\0B", None).contains(": ligne 3 : octet nul"));
        assert!(message(cp1252, Some(Encodage::Utf8)).contains(": ligne 1 : octets"));
        assert_eq!(
            Encodage::par_charset("\"ISO-8859-1\""),
            Some(Encodage::Windows1252)
        );
        assert_eq!(Encodage::par_charset("UTF8"), Some(Encodage::Utf8));
        assert_eq!(Encodage::par_charset("utf-16le"), None);
    }
}
