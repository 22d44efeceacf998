//! Participants: identity, commune, référent, RSA and CER dates, prescripteur, exit.

use super::Pool;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// A participant of the PLIE: his parafe reference and what the parcours software says of him.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Participant {
    #[serde(skip)]
    pub id: i64,
    #[sqlx(rename = "ref")]
    #[serde(rename = "ref")]
    pub reference: String,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub fiche: Fiche,
}

const COLONNES: &str = "id, ref, identifiant_externe, civilite, nom, prenom, date_naissance, email,
    telephone, commune, code_postal, departement, referent_id, operation_id, prescripteur,
    email_prescripteur, date_entree, rsa, cer_debut, date_sortie, motif_sortie, extraction";

/// A participant as imported (a line of the parcours software's extraction).
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct Fiche {
    pub identifiant_externe: String,
    pub civilite: String,
    pub nom: String,
    pub prenom: String,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub date_naissance: Option<NaiveDate>,
    pub email: Option<String>,
    pub telephone: Option<String>,
    pub commune: String,
    pub code_postal: String,
    pub departement: Option<String>,
    pub referent_id: Option<i64>,
    pub operation_id: Option<i64>,
    pub prescripteur: String,
    pub email_prescripteur: Option<String>,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub date_entree: Option<NaiveDate>,
    #[sqlx(try_from = "super::Lu<bool>")]
    pub rsa: bool,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub cer_debut: Option<NaiveDate>,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub date_sortie: Option<NaiveDate>,
    pub motif_sortie: Option<String>,
    /// The extraction's columns the FSE questionnaire prefills from (JSON: header → value):
    /// disability, minima sociaux… never shown with the record, read for the prefill only.
    #[serde(skip)]
    #[sqlx(default)]
    pub extraction: Option<String>,
}

/// Columns an import writes, in the order [`enregistrer`] binds them.
const COLONNES_IMPORT: usize = 24;

/// What the search looks into (the column `recherche`): first name, name and identifier
/// [`plier`]ed, then, for each of them cut by the folding, its words
/// run together: « N'Diaye » is found as « n diaye » and as « ndiaye », « Jean-Baptiste » as
/// « jeanbaptiste ».
pub fn texte_de_recherche(prenom: &str, nom: &str, identifiant: &str) -> String {
    let plies = [prenom, nom, identifiant].map(plier);
    let mut texte = String::new();
    for plie in plies.iter().filter(|p| !p.is_empty()) {
        if !texte.is_empty() {
            texte.push(' ');
        }
        texte.push_str(plie);
    }
    for plie in plies.iter().filter(|p| p.contains(' ')) {
        texte.push(' ');
        texte.extend(plie.split(' '));
    }
    texte
}

/// Creates or updates participants by the parcours software's identifier, many rows per
/// statement (see [`super::PARAMETRES_PAR_REQUETE`]). Identifiers are unique among `fiches`.
pub async fn enregistrer(
    tx: &mut sqlx::AnyConnection,
    plie: &str,
    fiches: &[Fiche],
    le: &str,
) -> Result<(), sqlx::Error> {
    let dialecte = super::Dialecte::de(tx);
    let lots = fiches
        .chunks(super::PARAMETRES_PAR_REQUETE / COLONNES_IMPORT)
        .map(|lot| requete(dialecte, plie, lot, le));
    super::executer_en_serie(tx, lots).await
}

/// The upsert of `lot`.
fn requete<'a>(
    dialecte: super::Dialecte,
    plie: &'a str,
    lot: &'a [Fiche],
    le: &'a str,
) -> crate::db::Requete<'a> {
    let mut requete = crate::db::Requete::new(
        dialecte,
        "INSERT INTO participant (plie, ref, identifiant_externe, civilite, nom, prenom,
           date_naissance, email, telephone, commune, code_postal, departement, referent_id,
           operation_id, prescripteur, email_prescripteur, date_entree, rsa, cer_debut,
           date_sortie, motif_sortie, extraction, cree_le, recherche) ",
    );
    requete.push_values(lot, |mut ligne, f| {
        ligne
            .push_bind(plie)
            .push_bind(super::reference_triee("p"))
            .push_bind(&f.identifiant_externe)
            .push_bind(&f.civilite)
            .push_bind(&f.nom)
            .push_bind(&f.prenom)
            .push_bind(f.date_naissance.map(super::jour))
            .push_bind(&f.email)
            .push_bind(&f.telephone)
            .push_bind(&f.commune)
            .push_bind(&f.code_postal)
            .push_bind(&f.departement)
            .push_bind(f.referent_id)
            .push_bind(f.operation_id)
            .push_bind(&f.prescripteur)
            .push_bind(&f.email_prescripteur)
            .push_bind(f.date_entree.map(super::jour))
            .push_bind(i64::from(f.rsa))
            .push_bind(f.cer_debut.map(super::jour))
            .push_bind(f.date_sortie.map(super::jour))
            .push_bind(&f.motif_sortie)
            .push_bind(&f.extraction)
            .push_bind(le)
            .push_bind(texte_de_recherche(
                &f.prenom,
                &f.nom,
                &f.identifiant_externe,
            ));
    });
    requete.push(
        " ON CONFLICT (plie, identifiant_externe) DO UPDATE SET civilite = excluded.civilite,
           nom = excluded.nom, prenom = excluded.prenom, date_naissance = excluded.date_naissance,
           email = excluded.email, telephone = excluded.telephone, commune = excluded.commune,
           code_postal = excluded.code_postal, departement = excluded.departement,
           referent_id = excluded.referent_id, operation_id = excluded.operation_id,
           prescripteur = excluded.prescripteur, email_prescripteur = excluded.email_prescripteur,
           date_entree = excluded.date_entree, rsa = excluded.rsa, cer_debut = excluded.cer_debut,
           date_sortie = excluded.date_sortie, motif_sortie = excluded.motif_sortie,
           extraction = excluded.extraction, recherche = excluded.recherche",
    );
    requete
}

/// A participant within the caller's reach: of his PLIE and, for a référent (`portefeuille`:
/// `Some(his id)`), of his own portfolio; named by its parafe reference or by the identifier of
/// the parcours software (as staff know him). Screens, API and command line all ask this.
pub async fn a_portee(
    db: &Pool,
    plie: &str,
    portefeuille: Option<i64>,
    cle: &str,
) -> Result<Option<Participant>, sqlx::Error> {
    // A reference wins over an identifier that would happen to spell it.
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM participant WHERE plie = $1 AND (ref = $2 OR identifiant_externe = $2)
         AND ($3 IS NULL OR referent_id = $3) ORDER BY ref = $2 DESC LIMIT 1"
    ))
    .bind(plie)
    .bind(cle)
    .bind(portefeuille)
    .fetch_optional(db)
    .await
}

pub async fn par_id(db: &Pool, plie: &str, id: i64) -> Result<Option<Participant>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM participant WHERE plie = $1 AND id = $2"
    ))
    .bind(plie)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The parcours software's identifiers of the PLIE's participants (what an import's preview
/// tells new participants from updated ones by).
pub async fn identifiants(db: &Pool, plie: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT identifiant_externe FROM participant WHERE plie = $1")
        .bind(plie)
        .fetch_all(db)
        .await
}

/// Words of a search looked for at most: beyond, the list is already down to a few people.
const MOTS_RECHERCHES: usize = 5;

/// Participants of the PLIE (of a référent's portfolio), optionally searched: each word of
/// `recherche`, folded, within [`texte_de_recherche`] (any part of a name, in any order). A
/// search without a letter or a digit (« % », « - ») finds no one.
pub async fn liste(
    db: &Pool,
    plie: &str,
    referent: Option<i64>,
    recherche: Option<&str>,
    limite: i64,
) -> Result<Vec<Participant>, sqlx::Error> {
    let recherche = recherche.map(str::trim).filter(|r| !r.is_empty());
    let pliee = recherche.map(plier);
    let mots: Vec<&str> = pliee
        .iter()
        .flat_map(|p| p.split(' '))
        .filter(|m| !m.is_empty())
        .take(MOTS_RECHERCHES)
        .collect();
    if recherche.is_some() && mots.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = format!(
        "SELECT {COLONNES} FROM participant WHERE plie = $1 AND ($2 IS NULL OR referent_id = $3)"
    );
    for i in 0..mots.len() {
        // The folding leaves neither `%` nor `_`; escaped all the same, so that a word is only
        // ever itself whatever the folding becomes.
        sql.push_str(&format!(" AND recherche LIKE ${} ESCAPE '\\'", 4 + i));
    }
    sql.push_str(&format!(" ORDER BY nom, prenom LIMIT ${}", 4 + mots.len()));
    let mut requete = sqlx::query_as(&sql)
        .bind(plie)
        .bind(referent)
        .bind(referent);
    for mot in &mots {
        let echappe = mot
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        requete = requete.bind(format!("%{echappe}%"));
    }
    requete.bind(limite).fetch_all(db).await
}

/// Fills the search text of the participants written before it existed (migration 0010), by
/// batches; those that have one are left alone, so it runs at every start at the cost of a scan.
/// Instances starting together take turns (one batch each), and a row an import wrote meanwhile
/// keeps the text the import gave it.
pub async fn remplir_la_recherche(db: &Pool) -> Result<(), sqlx::Error> {
    const PAR_LOT: i64 = 1000;
    let dialecte = super::Dialecte::du_pool(db);
    let mut apres = 0i64;
    loop {
        let mut tx = super::ecriture(db).await?;
        super::verrouiller(&mut tx, "participant.recherche").await?;
        let lot: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT id, prenom, nom, identifiant_externe FROM participant
             WHERE recherche = '' AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(apres)
        .bind(PAR_LOT)
        .fetch_all(&mut *tx)
        .await?;
        let Some((dernier, ..)) = lot.last() else {
            return tx.commit().await;
        };
        apres = *dernier;
        // One statement a batch; VALUES names its columns column1, column2 on both databases.
        let mut requete = super::Requete::new(
            dialecte,
            "UPDATE participant SET recherche = v.column2 FROM (",
        );
        requete.push_values(&lot, |mut ligne, (id, prenom, nom, identifiant)| {
            ligne
                .push_bind(*id)
                .push_bind(texte_de_recherche(prenom, nom, identifiant));
        });
        requete.push(") AS v WHERE participant.id = v.column1 AND participant.recherche = ''");
        requete.build().execute(&mut *tx).await?;
        tx.commit().await?;
    }
}

/// Participants on RSA with a CER start: those whose bilans BRSA the schedule keeps.
pub async fn au_rsa(db: &Pool, plie: &str) -> Result<Vec<Participant>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM participant WHERE plie = $1 AND rsa = 1 AND cer_debut IS NOT NULL"
    ))
    .bind(plie)
    .fetch_all(db)
    .await
}

pub async fn changer_cer<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    id: i64,
    cer_debut: NaiveDate,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE participant SET cer_debut = $1 WHERE id = $2")
        .bind(super::jour(cer_debut))
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn enregistrer_sortie<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    id: i64,
    date: NaiveDate,
    motif: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE participant SET date_sortie = $1, motif_sortie = $2 WHERE id = $3")
        .bind(super::jour(date))
        .bind(motif)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// A participant with where his parcours stands (the participants' spreadsheet).
#[derive(sqlx::FromRow)]
pub struct Suivi {
    pub identifiant_externe: String,
    pub civilite: String,
    pub nom: String,
    pub prenom: String,
    pub commune: String,
    pub code_postal: String,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub date_entree: Option<NaiveDate>,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub date_sortie: Option<NaiveDate>,
    pub motif_sortie: Option<String>,
    #[sqlx(try_from = "super::Lu<bool>")]
    pub rsa: bool,
    /// A contrat d'engagement signed.
    #[sqlx(try_from = "super::Lu<bool>")]
    pub contrat: bool,
    /// The last émargement signed, as an attendee of a sheet or alone.
    #[sqlx(try_from = "super::Lu<Option<DateTime<Utc>>>")]
    pub dernier_emargement: Option<DateTime<Utc>>,
    /// Bilans not signed yet due before today.
    pub bilans_en_retard: i64,
}

/// The participants of the PLIE (of a référent's portfolio) with where their parcours stands
/// on `aujourdhui`.
pub async fn suivi(
    db: &Pool,
    plie: &str,
    portefeuille: Option<i64>,
    aujourdhui: NaiveDate,
) -> Result<Vec<Suivi>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT p.identifiant_externe, p.civilite, p.nom, p.prenom, p.commune, p.code_postal,
           p.date_entree, p.date_sortie, p.motif_sortie, p.rsa,
           EXISTS (SELECT 1 FROM document d WHERE d.participant_id = p.id AND d.workflow = 'contrat-engagement'
                   AND d.etat IN ('signe', 'scelle', 'depose', 'delivre')) AS contrat,
           (SELECT max(d.modifie_le) FROM document d WHERE d.plie = p.plie AND d.workflow LIKE 'emargement%'
                   AND d.etat IN ('signe', 'scelle', 'depose', 'delivre')
                   AND (d.participant_id = p.id OR EXISTS (SELECT 1 FROM json_each(d.donnees, '$.participants') j
                        WHERE json_extract(j.value, '$.identifiant') = p.identifiant_externe))) AS dernier_emargement,
           (SELECT count(*) FROM bilan_prevu b {} WHERE b.participant_id = p.id AND b.echeance < $1
                   AND (d.id IS NULL OR d.etat IN ('brouillon', 'envoye', 'partiellement_signe'))) AS bilans_en_retard
         FROM participant p WHERE p.plie = $2 AND ($3 IS NULL OR p.referent_id = $4)
         ORDER BY p.nom, p.prenom",
        super::bilans::DOCUMENT_DU_BILAN
    ))
    .bind(super::jour(aujourdhui))
    .bind(plie)
    .bind(portefeuille)
    .bind(portefeuille)
    .fetch_all(db)
    .await
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
        use super::texte_de_recherche;
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
