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
use serde::Serialize;
use std::borrow::Cow;
use std::collections::HashMap;

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

/// The columns, as the extraction names them. Required ones first.
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
    fiche: Fiche,
    referent: (String, String, String),
    operation: Option<String>,
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%d/%m/%Y")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d"))
        .ok()
}

/// Reads and checks the whole file; either every line is usable, or the errors of all lines.
pub fn lire(texte: &str) -> Result<Vec<Ligne>, Vec<ErreurLigne>> {
    let separateur = if texte.lines().next().is_some_and(|l| l.contains(';')) {
        b';'
    } else {
        b','
    };
    let mut lecteur = csv::ReaderBuilder::new()
        .delimiter(separateur)
        .flexible(false)
        .from_reader(texte.as_bytes());
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
    let mut index = HashMap::new();
    for (nom, requis) in COLONNES {
        match entetes.iter().position(|h| h.eq_ignore_ascii_case(nom)) {
            Some(i) => {
                index.insert(nom, i);
            }
            None if requis => erreurs.push(erreur(1, nom, "colonne absente de l'en-tête".into())),
            None => {}
        }
    }
    for inconnue in entetes
        .iter()
        .filter(|h| !COLONNES.iter().any(|(c, _)| c.eq_ignore_ascii_case(h)))
    {
        erreurs.push(erreur(
            1,
            inconnue,
            "colonne inconnue (voir la liste des colonnes dans le README)".into(),
        ));
    }
    if !erreurs.is_empty() {
        return Err(erreurs);
    }
    let mut lignes = Vec::new();
    let mut vus: HashMap<String, usize> = HashMap::new();
    for (i, enregistrement) in lecteur.records().enumerate() {
        let n = i + 2;
        let enregistrement = match enregistrement {
            Ok(e) => e,
            Err(e) => {
                erreurs.push(erreur(n, "", format!("ligne illisible : {e}")));
                continue;
            }
        };
        let champ = |nom: &str| -> String {
            index
                .get(nom)
                .and_then(|&i| enregistrement.get(i))
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        let facultatif = |nom: &str| Some(champ(nom)).filter(|v| !v.is_empty());
        let mut ok = true;
        for (nom, requis) in COLONNES {
            if requis && champ(nom).is_empty() {
                erreurs.push(erreur(n, nom, "valeur obligatoire manquante".into()));
                ok = false;
            }
        }
        let mut jour = |nom: &str| -> Option<NaiveDate> {
            let v = facultatif(nom)?;
            let d = date(&v);
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
        let (naissance, entree, cer, sortie) = (
            jour("Date de naissance"),
            jour("Date d'entrée"),
            jour("Début CER"),
            jour("Date de sortie"),
        );
        for nom in ["Email", "Email référent", "Email prescripteur"] {
            if let Some(v) = facultatif(nom) {
                if !email_valide(&v) {
                    erreurs.push(erreur(
                        n,
                        nom,
                        format!("« {v} » n'est pas une adresse e-mail"),
                    ));
                    ok = false;
                }
            }
        }
        let rsa = match champ("RSA").to_lowercase().as_str() {
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
        if rsa && cer.is_none() {
            erreurs.push(erreur(
                n,
                "Début CER",
                "un participant au RSA a un CER : indiquez sa date de début".into(),
            ));
            ok = false;
        }
        let identifiant = champ("Identifiant");
        if let Some(premiere) = vus.insert(identifiant.clone(), n) {
            erreurs.push(erreur(
                n,
                "Identifiant",
                format!("« {identifiant} » figure déjà ligne {premiere}"),
            ));
            ok = false;
        }
        if ok {
            lignes.push(Ligne {
                fiche: Fiche {
                    identifiant_externe: identifiant,
                    civilite: champ("Civilité"),
                    nom: champ("Nom"),
                    prenom: champ("Prénom"),
                    date_naissance: naissance,
                    email: facultatif("Email"),
                    telephone: facultatif("Téléphone"),
                    commune: champ("Commune"),
                    code_postal: champ("Code postal"),
                    departement: facultatif("Département"),
                    referent_id: None,
                    operation_id: None,
                    prescripteur: champ("Prescripteur"),
                    email_prescripteur: facultatif("Email prescripteur"),
                    date_entree: entree,
                    rsa,
                    cer_debut: cer,
                    date_sortie: sortie,
                    motif_sortie: facultatif("Motif de sortie"),
                },
                referent: (
                    champ("Email référent").to_lowercase(),
                    champ("Nom référent"),
                    champ("Prénom référent"),
                ),
                operation: facultatif("Opération"),
            });
        }
    }
    if erreurs.is_empty() {
        Ok(lignes)
    } else {
        Err(erreurs)
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
/// BRSA: see [`importer_et_planifier`]).
pub async fn importer(app: &App, plie: &str, texte: &str) -> Result<Rapport, ImportError> {
    let lignes = lire(texte).map_err(ImportError::Lignes)?;
    let maintenant = app.horloge.maintenant();
    let le = db::instant(maintenant);
    let mut tx = app.db.begin().await?;
    let mut referents: HashMap<String, i64> = HashMap::new();
    let mut operations: HashMap<String, i64> = HashMap::new();
    let mut erreurs = Vec::new();
    let mut fiches = Vec::with_capacity(lignes.len());
    for (i, mut ligne) in lignes.into_iter().enumerate() {
        let (email, nom, prenom) = &ligne.referent;
        let id = match referents.get(email) {
            Some(id) => Some(*id),
            None => {
                let id = personnel::enregistrer_referent(&mut *tx, plie, email, nom, prenom, &le)
                    .await?;
                if let Some(id) = id {
                    referents.insert(email.clone(), id);
                }
                id
            }
        };
        // Whose account it is (another role, another PLIE) is not the importer's business.
        let Some(id) = id else {
            erreurs.push(ErreurLigne {
                ligne: i + 2,
                colonne: "Email référent".into(),
                message: format!(
                    "l'adresse « {email} » ne peut pas être utilisée pour un référent de ce PLIE : \
                     indiquez l'adresse professionnelle du référent"
                ),
            });
            continue;
        };
        ligne.fiche.referent_id = Some(id);
        if let Some(code) = &ligne.operation {
            let id = match operations.get(code) {
                Some(id) => *id,
                None => {
                    let id =
                        db::referentiel::operation_par_code_ou_creee(&mut *tx, plie, code).await?;
                    operations.insert(code.clone(), id);
                    id
                }
            };
            ligne.fiche.operation_id = Some(id);
        }
        fiches.push(ligne.fiche);
    }
    if !erreurs.is_empty() {
        return Err(ImportError::Lignes(erreurs));
    }
    for fiche in &fiches {
        participants::enregistrer(&mut *tx, plie, fiche, &le).await?;
    }
    tx.commit().await?;
    Ok(Rapport {
        participants: fiches.len(),
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

#[cfg(test)]
mod tests {
    use super::*;

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
