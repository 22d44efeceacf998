//! The participants as staff reach them: the list and search, a participant with his documents,
//! the changes of his parcours that move his bilans BRSA (a new CER, an exit), and the import of
//! the parcours software's extraction.

use super::{App, Erreur};
use crate::auth::Acteur;
use crate::db::bilans::Prevu;
use crate::db::documents::{self as docs, Document};
use crate::db::participants::{self, Participant};
use crate::import::{ImportError, Rapport};
use crate::roles::RolePersonnel;
use crate::schedule::Planification;
use serde::Deserialize;

/// The participants of the caller's reach, searched by name, first name or identifier: every
/// word of `recherche` ([`plier`]ed) somewhere in them, in any order.
pub async fn lister(
    app: &App,
    acteur: &Acteur,
    recherche: Option<&str>,
    limite: i64,
) -> Result<Vec<Participant>, Erreur> {
    Ok(participants::liste(
        &app.db,
        acteur.plie.as_str(),
        acteur.portefeuille(),
        recherche,
        limite,
    )
    .await?)
}

/// A participant within the caller's reach ([`participants::a_portee`]: his reference or the
/// parcours software's identifier), else "introuvable": the one scope check of the screens,
/// the API and the command line.
pub async fn participant(app: &App, acteur: &Acteur, cle: &str) -> Result<Participant, Erreur> {
    participants::a_portee(&app.db, acteur.plie.as_str(), acteur.portefeuille(), cle)
        .await?
        .ok_or_else(|| {
            // The refusal names what the caller gave, never the pseudonymous reference.
            Erreur::Introuvable(format!(
                "aucun participant « {cle} » dans votre portefeuille"
            ))
        })
}

/// A participant of the caller's reach, his documents and his planned bilans BRSA.
pub async fn avec_documents(
    app: &App,
    acteur: &Acteur,
    reference: &str,
) -> Result<(Participant, Vec<Document>, Vec<Prevu>), Erreur> {
    let p = participant(app, acteur, reference).await?;
    let filtre = docs::Filtre {
        participant: Some(reference.to_owned()),
        ..Default::default()
    };
    let documents = docs::liste(
        &app.db,
        acteur.plie.as_str(),
        acteur.portefeuille(),
        &filtre,
        1000,
    )
    .await?;
    let bilans = crate::db::bilans::du_participant(&app.db, p.id).await?;
    Ok((p, documents, bilans))
}

/// Changes that move the bilans: a new CER start, an exit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangementParcours {
    pub cer_debut: Option<String>,
    pub date_sortie: Option<String>,
    pub motif_sortie: Option<String>,
}

/// Records a new CER start or an exit, then brings the participant's bilans BRSA up to date.
pub async fn changer_parcours(
    app: &App,
    acteur: &Acteur,
    reference: &str,
    c: ChangementParcours,
) -> Result<(Participant, Planification), Erreur> {
    super::documents::modification_permise(acteur)?;
    let plie = acteur.plie.as_str();
    let p = participant(app, acteur, reference).await?;
    let jour = |champ: &str, v: &Option<String>| -> Result<Option<chrono::NaiveDate>, Erreur> {
        match v {
            None => Ok(None),
            Some(s) => crate::db::parse_jour(s).map(Some).ok_or_else(|| {
                Erreur::invalide(champ, format!("« {s} » : date AAAA-MM-JJ attendue"))
            }),
        }
    };
    let (cer, sortie) = (
        jour("cer_debut", &c.cer_debut)?,
        jour("date_sortie", &c.date_sortie)?,
    );
    let mut tx = app.db.begin().await?;
    if let Some(cer) = cer {
        participants::changer_cer(&mut *tx, p.id, cer).await?;
    }
    if let Some(sortie) = sortie {
        participants::enregistrer_sortie(
            &mut *tx,
            p.id,
            sortie,
            c.motif_sortie.as_deref().unwrap_or_default(),
        )
        .await?;
    }
    tx.commit().await?;
    let p = participants::par_id(&app.db, plie, p.id)
        .await?
        .ok_or_else(|| Erreur::Interne("participant disparu".into()))?;
    let bilans = crate::schedule::planifier(
        app,
        plie,
        std::slice::from_ref(&p),
        app.horloge.maintenant(),
    )
    .await?;
    Ok((p, bilans))
}

/// Imports an extraction of the parcours software (coordinateurs and administrateurs only),
/// then brings the bilans BRSA up to date.
pub async fn importer(app: &App, acteur: &Acteur, texte: &str) -> Result<Rapport, ImportError> {
    if !matches!(
        acteur.role,
        RolePersonnel::Coordinateur | RolePersonnel::Admin
    ) {
        return Err(Erreur::Interdit(
            "l'import des participants est réservé aux coordinateurs et administrateurs".into(),
        )
        .into());
    }
    crate::import::importer_et_planifier(app, acteur.plie.as_str(), texte).await
}

/// A text as the search compares it: accents and other marks taken off (é → e, Ç → c), letters
/// written as two (œ → oe, æ → ae, ß → ss), lowercase; apostrophes, hyphens and any other run of
/// characters that are neither letters nor digits make one space, none at either end
/// (« N'DIAYE » → « n diaye », « Jean-Baptiste » → « jean baptiste »).
pub fn plier(texte: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    // Most names are ASCII: no decomposition to run through.
    if texte.is_ascii() {
        plier_les(texte.chars())
    } else {
        plier_les(texte.nfkd())
    }
}

fn plier_les(caracteres: impl Iterator<Item = char>) -> String {
    let mut plie = String::new();
    // A separator seen since the last letter: written before the next one only.
    let mut separe = false;
    let ecrire = |plie: &mut String, separe: &mut bool, lettres: &str| {
        if *separe && !plie.is_empty() {
            plie.push(' ');
        }
        *separe = false;
        plie.push_str(lettres);
    };
    for c in caracteres {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        // Letters the decomposition keeps whole.
        let double = match c {
            'œ' | 'Œ' => Some("oe"),
            'æ' | 'Æ' => Some("ae"),
            'ß' | 'ẞ' => Some("ss"),
            'ø' | 'Ø' => Some("o"),
            'đ' | 'Đ' => Some("d"),
            'ł' | 'Ł' => Some("l"),
            _ => None,
        };
        if let Some(lettres) = double {
            ecrire(&mut plie, &mut separe, lettres);
        } else if c.is_alphanumeric() {
            let mut tampon = [0u8; 4];
            for minuscule in c.to_lowercase() {
                ecrire(&mut plie, &mut separe, minuscule.encode_utf8(&mut tampon));
            }
        } else {
            separe = true;
        }
    }
    plie
}

#[cfg(test)]
mod essais {
    use super::plier;

    #[test]
    fn accents_casse_et_ponctuation_plies() {
        for (texte, attendu) in [
            ("LEFÈVRE", "lefevre"),
            ("Lefèvre", "lefevre"),
            ("lefevre", "lefevre"),
            ("Amélie", "amelie"),
            ("FRANÇOIS", "francois"),
            ("Cœur", "coeur"),
            ("ŒUVRAY", "oeuvray"),
            ("Lætitia", "laetitia"),
            ("Strauß", "strauss"),
            ("Søren", "soren"),
            ("N'DIAYE", "n diaye"),
            ("N’Diaye", "n diaye"),
            ("Jean-Baptiste", "jean baptiste"),
            ("  Jean -- Baptiste  ", "jean baptiste"),
            ("St. Étienne", "st etienne"),
            ("Lefèvre-Œuvray", "lefevre oeuvray"),
            ("P-2025-0412", "p 2025 0412"),
            ("ﬁlipe", "filipe"),
            // Decomposed already (macOS file names, some exports).
            ("Le\u{0301}a", "lea"),
            ("%", ""),
            ("_", ""),
            ("'", ""),
            ("", ""),
        ] {
            assert_eq!(plier(texte), attendu, "{texte:?}");
        }
    }

    #[test]
    fn le_texte_de_recherche_garde_aussi_les_mots_accoles() {
        use crate::db::participants::texte_de_recherche;
        assert_eq!(
            texte_de_recherche("Awa", "N'DIAYE", "P-7"),
            "awa n diaye p 7 ndiaye p7"
        );
        assert_eq!(
            texte_de_recherche("Amélie", "LEFÈVRE", "W1"),
            "amelie lefevre w1"
        );
        assert_eq!(texte_de_recherche("", "Œ", ""), "oe");
    }
}
