//! An exit recorded from the participant's screen: its date and reason checked first, then its
//! proof (if given) filed as a justificatif of the catalogue's exit requirement, then the exit
//! written and the bilans BRSA brought up to date (the sortie anticipée one created, the later
//! ones cancelled) by [`participants::changer_parcours`].

use super::{App, Erreur};
use crate::auth::Acteur;
use crate::controle::{self, ChampsDepot, DepotRefuse};
use crate::db::participants::Participant;
use crate::justificatif::examen::Recu;
use crate::justificatif::JustificatifDepose;
use crate::participants::{self, ChangementParcours};
use crate::schedule::Planification;

/// What the exit form offers: the PLIE's exit reasons (its follow-up rules) and the kinds of
/// piece that prove an exit (its catalogue's requirement), `(type, label)` each.
pub struct Choix {
    pub motifs: Vec<String>,
    pub preuves: Vec<(String, String)>,
}

pub fn choix(app: &App, acteur: &Acteur) -> Result<Choix, Erreur> {
    let catalogue = controle::catalogue(app, &acteur.plie)?;
    let regles = crate::a_faire::regles(app, acteur, &catalogue)?;
    let preuves = regles
        .preuve_sortie
        .preuves
        .iter()
        .filter_map(|id| {
            let g = catalogue.genres.get(id)?;
            Some((id.clone(), g.libelle.clone()))
        })
        .collect();
    Ok(Choix {
        motifs: regles.sortie.motifs,
        preuves,
    })
}

/// An exit and what it led to.
pub struct SortieEnregistree {
    pub participant: Participant,
    pub bilans: Planification,
    pub preuve: Option<JustificatifDepose>,
}

/// Records the exit of the participant `reference` (date `AAAA-MM-JJ` and reason), with its
/// proof when a piece is given (`preuve.genre`: one of [`Choix::preuves`]). A refused date,
/// reason or piece writes nothing.
pub async fn enregistrer(
    app: &App,
    acteur: &Acteur,
    reference: &str,
    changement: ChangementParcours,
    preuve: ChampsDepot,
    piece: Option<Recu>,
) -> Result<SortieEnregistree, DepotRefuse> {
    crate::documents::modification_permise(acteur)?;
    let p = participants::participant(app, acteur, reference).await?;
    let changement = ChangementParcours {
        cer_debut: None,
        ..changement
    };
    let (_, sortie) = participants::verifier_changement(&p, &changement, app.horloge.aujourdhui())?;
    if sortie.is_none() {
        return Err(Erreur::invalide("date_sortie", "indiquez la date de la sortie").into());
    }
    let preuve = match piece {
        None => None,
        Some(recu) => {
            let choix = choix(app, acteur)?;
            if !choix
                .preuves
                .iter()
                .any(|(id, _)| preuve.genre.as_deref() == Some(id.as_str()))
            {
                let types: Vec<&str> = choix.preuves.iter().map(|(_, l)| l.as_str()).collect();
                return Err(Erreur::invalide(
                    "genre",
                    format!("choisissez ce que prouve la pièce : {}", types.join(", ")),
                )
                .into());
            }
            let catalogue = controle::catalogue(app, &acteur.plie)?;
            let champs = ChampsDepot {
                participant: Some(p.reference.clone()),
                ..preuve
            };
            Some(controle::deposer(app, acteur, &catalogue, champs, Some(recu)).await?)
        }
    };
    let (participant, bilans) =
        participants::changer_parcours(app, acteur, &p.reference, changement).await?;
    Ok(SortieEnregistree {
        participant,
        bilans,
        preuve,
    })
}
