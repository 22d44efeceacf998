//! The facts the follow-up rules read ([`crate::suivi`]), for a référent's portfolio or for
//! every portfolio of a PLIE: eight statements whatever the number of participants (one per
//! kind of fact, joined from `participant` by its indexes), run side by side on the pool. The
//! last signature of each participant on each workflow is kept with the signature
//! (`derniere_signature`): only the month's are read one by one. The FSE questionnaire's
//! moments come with the participant's row (three lookups of its unique index).
//! Absences recorded at a sheet's closing and written reminders are kept here too.

use super::Pool;
use crate::suivi::{Absence, BilanDu, Definitions, Faits, QuestionnaireFse};
use chrono::NaiveDate;
use parafe_fse::Delais;
use std::collections::HashMap;
use std::sync::Arc;

/// Whose facts: a référent's portfolio, or every portfolio of the PLIE.
#[derive(Debug, Clone, Copy)]
pub enum Portee {
    Referent(i64),
    Plie,
}

/// The participants read, by référent; each with his facts.
pub type ParReferent = HashMap<i64, Vec<Faits>>;

fn paris(t: &str) -> Option<NaiveDate> {
    super::parse_instant(t).map(parafe_core::horloge::jour_a_paris)
}

/// `participant p` restricted to the scope, exits before `depuis` left out ($1 the PLIE, $2
/// the cut-off day, $3 the référent).
fn portee_sql(portee: Portee) -> &'static str {
    match portee {
        Portee::Referent(_) => {
            "p.plie = $1 AND (p.date_sortie IS NULL OR p.date_sortie >= $2) AND p.referent_id = $3"
        }
        Portee::Plie => {
            "p.plie = $1 AND (p.date_sortie IS NULL OR p.date_sortie >= $2) AND p.referent_id IS NOT NULL"
        }
    }
}

/// `IN ($n, $n+1, …)` for `k` values from `$premier`.
fn dans(premier: usize, k: usize) -> String {
    if k == 0 {
        return "(NULL)".into();
    }
    let p: Vec<String> = (premier..premier + k).map(|i| format!("${i}")).collect();
    format!("({})", p.join(", "))
}

/// Binds the scope's parameters ($1, $2, and $3 for a référent) then `liste`.
macro_rules! lier {
    ($q:expr, $plie:expr, $depuis:expr, $portee:expr, $liste:expr) => {{
        let mut q = $q.bind($plie.to_owned()).bind($depuis.clone());
        if let Portee::Referent(r) = $portee {
            q = q.bind(r);
        }
        for w in $liste {
            q = q.bind(w.clone());
        }
        q
    }};
}

/// The facts of the participants in scope whose exit, if any, is on or after `depuis`; those of
/// an opération whose programme is in `questionnaires` (its code → the delays of its
/// questionnaire) with their questionnaire's moments.
pub async fn faits(
    db: &Pool,
    plie: &str,
    portee: Portee,
    depuis: NaiveDate,
    mois: NaiveDate,
    def: &Definitions,
    questionnaires: &HashMap<String, Arc<Delais>>,
) -> Result<ParReferent, sqlx::Error> {
    let ou = portee_sql(portee);
    let suivant = if matches!(portee, Portee::Referent(_)) {
        4
    } else {
        3
    };
    let depuis = super::jour(depuis);
    let vide: Vec<String> = Vec::new();
    let signes: Vec<String> = def
        .entretiens
        .iter()
        .chain(&def.ateliers)
        .cloned()
        .collect();
    // Signatures one by one only from the month's start (a day early: instants are UTC, days
    // Paris's); before it, the last one of each kind is all the rules read.
    let borne = super::instant(
        (mois - chrono::TimeDelta::days(1))
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc(),
    );
    let borne_et_signes: Vec<String> = std::iter::once(borne.clone())
        .chain(signes.iter().cloned())
        .collect();

    // One row a participant: his record, and the last interview, workshop and étape before
    // the month as scalars (the rows' count, not the statements', is what a page costs), his
    // opération's programme and the day each moment of its questionnaire was collected.
    let (ne, na) = (def.entretiens.len(), def.ateliers.len());
    let derniers: Vec<String> = def
        .entretiens
        .iter()
        .chain(&def.ateliers)
        .chain(&def.etapes)
        .cloned()
        .collect();
    let recueil = |moment: &str| {
        format!(
            "(SELECT q.recueilli_le FROM questionnaire q WHERE q.participant_id = p.id
              AND q.operation_id = p.operation_id AND q.moment = '{moment}')"
        )
    };
    let sql_participants = format!(
        "SELECT p.id, p.referent_id, p.ref, p.nom, p.prenom, p.date_entree, p.date_sortie, p.motif_sortie,
           (SELECT max(ds.signe_le) FROM derniere_signature ds
            WHERE ds.participant_id = p.id AND ds.workflow IN {}),
           (SELECT max(ds.signe_le) FROM derniere_signature ds
            WHERE ds.participant_id = p.id AND ds.workflow IN {}),
           (SELECT max(d.cree_le) FROM document d
            WHERE d.plie = p.plie AND d.participant_id = p.id
              AND d.etat NOT IN ('brouillon', 'annule') AND d.workflow IN {}),
           o.programme, {}, {}, {}
         FROM participant p LEFT JOIN operation o ON o.id = p.operation_id WHERE {ou}",
        dans(suivant, ne),
        dans(suivant + ne, na),
        dans(suivant + ne + na, def.etapes.len()),
        recueil("entree"),
        recueil("sortie"),
        recueil("six_mois"),
    );
    let sql_du_mois = format!(
        "SELECT s.participant_id, d.workflow, s.signe_le
         FROM participant p JOIN signataire s ON s.participant_id = p.id
         JOIN document d ON d.id = s.document_id
         WHERE {ou} AND s.etat = 'signe' AND s.signe_le >= ${suivant} AND d.workflow IN {}",
        dans(suivant + 1, signes.len())
    );
    let sql_pieces = format!(
        "SELECT j.participant_id, j.genre, j.etape, j.date_piece, j.depose_le
         FROM participant p JOIN justificatif j ON j.plie = p.plie AND j.participant_id = p.id
         WHERE {ou}"
    );
    // Only what the loss-of-contact rule counts: absences without excuse since the last
    // interview (its UTC day, a day early at most: the rule compares Paris days).
    let sql_absences = format!(
        "SELECT a.participant_id, a.jour, a.excusee
         FROM participant p JOIN absence a ON a.participant_id = p.id
         WHERE {ou} AND a.excusee = 0 AND a.jour >= coalesce((
             SELECT substr(max(ds.signe_le), 1, 10) FROM derniere_signature ds
             WHERE ds.participant_id = p.id AND ds.workflow IN {}), '')",
        dans(suivant, def.entretiens.len())
    );
    let sql_relances = format!(
        "SELECT s.participant_id, r.le
         FROM participant p JOIN signataire s ON s.participant_id = p.id
         JOIN relance r ON r.signataire_id = s.id JOIN document d ON d.id = s.document_id
         WHERE {ou} AND s.etat = 'attente' AND d.etat <> 'annule'"
    );
    let sql_bilans = format!(
        "SELECT b.participant_id, b.bilan, b.echeance, d.ref, d.etat
         FROM participant p JOIN bilan_prevu b ON b.participant_id = p.id {}
         WHERE {ou} AND (d.id IS NULL OR d.etat IN ('brouillon', 'envoye', 'partiellement_signe'))",
        super::bilans::DOCUMENT_DU_BILAN
    );

    type Participant = (
        i64,
        i64,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let (participants, du_mois, pieces, absences, relances, bilans) = tokio::try_join!(
        lier!(
            sqlx::query_as::<_, Participant>(&sql_participants),
            plie,
            depuis,
            portee,
            &derniers
        )
        .fetch_all(db),
        lier!(
            sqlx::query_as::<_, (i64, String, Option<String>)>(&sql_du_mois),
            plie,
            depuis,
            portee,
            &borne_et_signes
        )
        .fetch_all(db),
        lier!(
            sqlx::query_as::<_, (i64, String, Option<String>, Option<String>, String)>(&sql_pieces),
            plie,
            depuis,
            portee,
            &vide
        )
        .fetch_all(db),
        lier!(
            sqlx::query_as::<_, (i64, String, i64)>(&sql_absences),
            plie,
            depuis,
            portee,
            &def.entretiens
        )
        .fetch_all(db),
        lier!(
            sqlx::query_as::<_, (i64, String)>(&sql_relances),
            plie,
            depuis,
            portee,
            &vide
        )
        .fetch_all(db),
        lier!(
            sqlx::query_as::<_, (i64, String, String, Option<String>, Option<String>)>(&sql_bilans),
            plie,
            depuis,
            portee,
            &vide
        )
        .fetch_all(db),
    )?;

    let jour = |s: &Option<String>| s.as_deref().and_then(super::parse_jour);
    // participant id → (référent, index in his list)
    let mut places: HashMap<i64, (i64, usize)> = HashMap::with_capacity(participants.len());
    let mut par_referent = ParReferent::new();
    // The last before the month's start (the later ones come with the month's).
    let avant = |le: &Option<String>| {
        le.as_deref()
            .filter(|le| *le < borne.as_str())
            .and_then(paris)
    };
    for (
        id,
        referent,
        reference,
        nom,
        prenom,
        entree,
        sortie,
        motif,
        entretien,
        atelier,
        fiche,
        programme,
        q_entree,
        q_sortie,
        q_six_mois,
    ) in participants
    {
        let questionnaire = programme
            .and_then(|p| questionnaires.get(&p))
            .map(|delais| QuestionnaireFse {
                delais: Arc::clone(delais),
                entree: jour(&q_entree),
                sortie: jour(&q_sortie),
                six_mois: jour(&q_six_mois),
            });
        let liste = par_referent.entry(referent).or_default();
        places.insert(id, (referent, liste.len()));
        liste.push(Faits {
            participant: reference,
            nom,
            prenom,
            date_entree: jour(&entree),
            date_sortie: jour(&sortie),
            motif_sortie: motif,
            entretiens: avant(&entretien).into_iter().collect(),
            etapes: avant(&atelier)
                .into_iter()
                .chain(fiche.as_deref().and_then(paris))
                .collect(),
            questionnaire,
            ..Faits::default()
        });
    }
    fn place<'a>(
        par: &'a mut ParReferent,
        places: &HashMap<i64, (i64, usize)>,
        id: i64,
    ) -> Option<&'a mut Faits> {
        let (r, i) = places.get(&id)?;
        par.get_mut(r)?.get_mut(*i)
    }
    macro_rules! de {
        ($id:expr) => {
            place(&mut par_referent, &places, $id)
        };
    }
    for (id, workflow, signe_le) in du_mois {
        let (Some(f), Some(d)) = (de!(id), signe_le.as_deref().and_then(paris)) else {
            continue;
        };
        if def.entretiens.contains(&workflow) {
            f.entretiens.push(d);
        }
        if def.ateliers.contains(&workflow) {
            f.etapes.push(d);
        }
    }
    for (id, genre, etape, date_piece, depose_le) in pieces {
        let Some(f) = de!(id) else { continue };
        let Some(d) = jour(&date_piece).or_else(|| paris(&depose_le)) else {
            continue;
        };
        if etape.is_some_and(|e| !e.trim().is_empty()) {
            f.etapes.push(d);
        }
        f.pieces.push((genre, d));
    }
    for (id, j, excusee) in absences {
        if let (Some(f), Some(jour)) = (de!(id), super::parse_jour(&j)) {
            f.absences.push(Absence {
                jour,
                excusee: excusee != 0,
            });
        }
    }
    for (id, le) in relances {
        if let (Some(f), Some(d)) = (de!(id), paris(&le)) {
            f.relances_sans_reponse.push(d);
        }
    }
    for (id, bilan, echeance, reference, etat) in bilans {
        if let (Some(f), Some(echeance)) = (de!(id), super::parse_jour(&echeance)) {
            f.bilans.push(BilanDu {
                bilan,
                echeance,
                document: reference.zip(etat),
            });
        }
    }
    Ok(par_referent)
}

/// Records the attendees expected on a sheet who did not sign it, excused or not.
pub async fn noter_absences(
    tx: &mut sqlx::AnyConnection,
    plie: &str,
    document_id: i64,
    jour: NaiveDate,
    absents: &[(i64, bool)],
    le: &str,
) -> Result<(), sqlx::Error> {
    for (participant_id, excusee) in absents {
        sqlx::query(
            "INSERT INTO absence (plie, participant_id, document_id, jour, excusee, note_le)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(plie)
        .bind(*participant_id)
        .bind(document_id)
        .bind(super::jour(jour))
        .bind(i64::from(*excusee))
        .bind(le)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// A written reminder sent to a signer (a new link).
pub async fn noter_relance(
    tx: &mut sqlx::AnyConnection,
    signataire_id: i64,
    le: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO relance (signataire_id, le) VALUES ($1, $2)")
        .bind(signataire_id)
        .bind(le)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The absences of a participant, in order (for his file and the tests).
pub async fn absences(db: &Pool, participant_id: i64) -> Result<Vec<Absence>, sqlx::Error> {
    let lignes: Vec<(String, i64)> =
        sqlx::query_as("SELECT jour, excusee FROM absence WHERE participant_id = $1 ORDER BY jour")
            .bind(participant_id)
            .fetch_all(db)
            .await?;
    Ok(lignes
        .into_iter()
        .filter_map(|(j, e)| {
            Some(Absence {
                jour: super::parse_jour(&j)?,
                excusee: e != 0,
            })
        })
        .collect())
}
