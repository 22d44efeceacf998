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
/// word of `recherche` ([`plier`](crate::db::participants::plier)ed) somewhere in them, in any order.
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
    let documents = crate::documents::lister(app, acteur, &filtre).await?;
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
