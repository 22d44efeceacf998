//! The FSE questionnaire of a participant in his opération ([`parafe_fse`]): its definition
//! chosen by the opération's programme, a moment's answers recorded once they pass every check,
//! read on a need-to-know basis with each read journaled, the state of the exit and six-month
//! collections, and the export of an opération to Ma Démarche FSE with its completeness report.

use super::{App, Erreur};
use crate::auth::{Acteur, Refus};
use crate::db::participants::Participant;
use crate::db::questionnaires::{self as lignes, LigneOperation, NouvelleLigne};
use crate::db::referentiel::{self, Operation};
use crate::operations::Programme;
use crate::roles::RolePersonnel;
use chrono::{DateTime, NaiveDate, Utc};
use parafe_core::model::JournalEvent;
pub use parafe_fse::{
    echeance_six_mois, echeance_sortie, Defaut, EcheanceSixMois, EcheanceSortie, EtatSixMois,
    EtatSortie, Faute, Genre, Moment, Question, Questionnaire, Rapport, Reponse, Reponses,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// Answers by question id, as the API and the table carry them (the crate's `Reponses`, whose
/// map is its own: this one is walked, to check its ids and to hide answers).
pub type Saisie = BTreeMap<String, Reponse>;

fn reponses(saisie: Saisie) -> Reponses {
    let mut r = Reponses::new();
    for (id, x) in saisie {
        r.inserer(id, x);
    }
    r
}

/// The definition of an opération's programme, the deployment's file first (the programme's
/// code names its file); an opération without FSE co-funding has no questionnaire.
pub fn definition(app: &App, operation: &Operation) -> Result<Questionnaire, Erreur> {
    if operation.programme == Programme::Aucun {
        return Err(Erreur::Conflit(format!(
            "l'opération {} n'est pas cofinancée par le FSE : elle n'a pas de questionnaire",
            operation.code
        )));
    }
    Questionnaire::charger(&app.config.data_dir, operation.programme.code())
        .map_err(|e| Erreur::Interne(e.to_string()))
}

/// A moment named in a URL: `entree`, `sortie` or `six_mois`.
pub fn moment(code: &str) -> Result<Moment, Erreur> {
    match code {
        "entree" => Ok(Moment::Entree),
        "sortie" => Ok(Moment::Sortie),
        "six_mois" => Ok(Moment::SixMois),
        _ => Err(Erreur::Introuvable(format!(
            "moment du questionnaire « {code} » inconnu (entree, sortie ou six_mois)"
        ))),
    }
}

/// A participant of the caller's reach with his opération, its definition and his parcours.
pub struct Dossier {
    pub participant: Participant,
    pub operation: Operation,
    pub definition: Questionnaire,
    pub parcours: parafe_fse::Parcours,
}

/// The questionnaire's frame for the participant `cle` of the caller's reach (else
/// « introuvable », as every read of a dossier).
pub async fn dossier(app: &App, acteur: &Acteur, cle: &str) -> Result<Dossier, Erreur> {
    let participant = crate::participants::participant(app, acteur, cle).await?;
    let operation = match participant.fiche.operation_id {
        Some(id) => referentiel::operation(&app.db, acteur.plie.as_str(), id).await?,
        None => None,
    }
    .ok_or_else(|| {
        Erreur::Conflit(format!(
            "le participant « {cle} » n'est rattaché à aucune opération : donnez-la dans l'extraction du logiciel de parcours (colonne Opération)"
        ))
    })?;
    let entree = participant.fiche.date_entree.ok_or_else(|| {
        Erreur::Conflit(format!(
            "le participant « {cle} » n'a pas de date d'entrée : donnez-la dans l'extraction du logiciel de parcours (colonne Date d'entrée)"
        ))
    })?;
    let definition = definition(app, &operation)?;
    let parcours = parafe_fse::Parcours {
        entree,
        sortie: participant.fiche.date_sortie,
    };
    Ok(Dossier {
        participant,
        operation,
        definition,
        parcours,
    })
}

/// Where the exit or six-month collection stands (none at entry, or before an exit).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Echeance {
    Sortie(EcheanceSortie),
    SixMois(EcheanceSixMois),
}

fn echeance(
    d: &Dossier,
    moment: Moment,
    recueilli: Option<NaiveDate>,
    aujourdhui: NaiveDate,
) -> Option<Echeance> {
    let sortie = d.parcours.sortie?;
    let delais = &d.definition.delais;
    match moment {
        Moment::Entree => None,
        Moment::Sortie => Some(Echeance::Sortie(echeance_sortie(
            delais, sortie, recueilli, aujourdhui,
        ))),
        Moment::SixMois => Some(Echeance::SixMois(echeance_six_mois(
            delais, sortie, recueilli, aujourdhui,
        ))),
    }
}

/// One moment's state, without its answers.
#[derive(Debug, Clone, Serialize)]
pub struct EtatMoment {
    pub moment: Moment,
    pub libelle: &'static str,
    pub recueilli_le: Option<NaiveDate>,
    pub echeance: Option<Echeance>,
}

const MOMENTS: [Moment; 3] = [Moment::Entree, Moment::Sortie, Moment::SixMois];

/// The state of each moment of the participant's questionnaire: reads no answer.
pub async fn etat(app: &App, acteur: &Acteur, d: &Dossier) -> Result<Vec<EtatMoment>, Erreur> {
    let recueils = lignes::recueils(
        &app.db,
        acteur.plie.as_str(),
        d.participant.id,
        d.operation.id,
    )
    .await?;
    let aujourdhui = app.horloge.aujourdhui();
    Ok(MOMENTS
        .into_iter()
        .map(|moment| {
            let recueilli_le = recueils
                .iter()
                .find(|(m, _)| Moment::from(*m) == moment)
                .map(|(_, le)| *le);
            EtatMoment {
                moment,
                libelle: moment.libelle(),
                recueilli_le,
                echeance: echeance(d, moment, recueilli_le, aujourdhui),
            }
        })
        .collect())
}

/// Whether the caller reads the sensitive answers (and packs the sensitive pieces): the
/// participant's référent (his reach is his portfolio), the coordinateur, the administrateur;
/// not the assistant.
pub fn lit_les_reponses_sensibles(acteur: &Acteur) -> bool {
    acteur.role != RolePersonnel::Assistant
}

/// A moment's answers as the caller may read them.
#[derive(Debug, Clone, Serialize)]
pub struct Lecture {
    pub participant: String,
    pub operation: String,
    pub programme: String,
    pub version: String,
    pub moment: Moment,
    /// False: nothing recorded yet; `reponses` is what the participant's record prefills.
    pub enregistre: bool,
    /// Questions whose answer the parcours software's extraction proposes (not recorded yet):
    /// the référent confirms each with the participant.
    pub preremplies: Vec<String>,
    pub recueilli_le: Option<NaiveDate>,
    #[serde(serialize_with = "crate::db::en_instant_option")]
    pub saisi_le: Option<DateTime<Utc>>,
    /// Who recorded them (the PDF names him); not served, as the journal never names staff.
    #[serde(skip)]
    pub saisi_par: Option<i64>,
    pub reponses: Saisie,
    /// Sensitive questions whose answers this caller does not read.
    pub masquees: Vec<String>,
    pub echeance: Option<Echeance>,
}

/// Reads a moment's answers (the recorded ones, else the prefill of the participant's record),
/// without the sensitive ones for an assistant; the read is journaled, whoever reads.
pub async fn lire(
    app: &App,
    acteur: &Acteur,
    cle: &str,
    moment: Moment,
) -> Result<(Dossier, Lecture), Erreur> {
    let d = dossier(app, acteur, cle).await?;
    let ligne = lignes::un(
        &app.db,
        acteur.plie.as_str(),
        d.participant.id,
        d.operation.id,
        moment,
    )
    .await?;
    let mut preremplies = Vec::new();
    let (mut reponses, recueilli_le, saisi_le, saisi_par, programme, version) = match ligne {
        Some(l) => (
            serde_json::from_str::<Saisie>(&l.reponses)?,
            Some(l.recueilli_le),
            Some(l.saisi_le),
            Some(l.saisi_par),
            l.programme,
            l.version,
        ),
        None => {
            let mut saisie = Saisie::new();
            if moment == Moment::Entree {
                preremplir(&d, &mut saisie);
                preremplies = proposer(&d, &mut saisie);
            }
            (
                saisie,
                None,
                None,
                None,
                d.definition.programme.clone(),
                d.definition.version.clone(),
            )
        }
    };
    let mut masquees = Vec::new();
    if !lit_les_reponses_sensibles(acteur) {
        for q in d
            .definition
            .toutes()
            .filter(|q| q.sensible && q.moment == moment)
        {
            reponses.remove(&q.id);
            preremplies.retain(|id| *id != q.id);
            masquees.push(q.id.clone());
        }
    }
    // Before the answers leave: a read that could not be journaled is not served.
    let evenement = JournalEvent::QuestionnaireRead {
        actor: acteur.pseudonyme(),
        participant: d.participant.reference.clone(),
    };
    app.vault
        .record(&acteur.plie, evenement, Vec::new())
        .await?;
    let lecture = Lecture {
        participant: d.participant.reference.clone(),
        operation: d.operation.code.clone(),
        programme,
        version,
        moment,
        enregistre: recueilli_le.is_some(),
        preremplies,
        recueilli_le,
        saisi_le,
        saisi_par,
        reponses,
        masquees,
        echeance: echeance(&d, moment, recueilli_le, app.horloge.aujourdhui()),
    };
    Ok((d, lecture))
}

/// The workflow of a moment's answers as a sealed PDF (`workflows/questionnaire-fse.toml`,
/// which says whether the participant signs it).
const WORKFLOW_PDF: &str = "questionnaire-fse";

/// Makes the PDF of a moment's recorded answers: every question asked, by the definition's
/// sections, with its label and its answer's; sent at once, so sealed and filed under the
/// participant's opération (its retention), or first signed by the participant when the PLIE's
/// workflow says so. The answers are read for it as by the screen: journaled, need-to-know
/// (an assistant, who does not read the sensitive ones, makes no document).
pub async fn pdf(
    app: &App,
    acteur: &Acteur,
    cle: &str,
    moment: Moment,
) -> Result<crate::db::documents::Document, Erreur> {
    crate::documents::modification_permise(acteur)?;
    let workflow = app.workflow(WORKFLOW_PDF).ok_or_else(|| {
        Erreur::Interne(format!("le workflow « {WORKFLOW_PDF} » est introuvable"))
    })?;
    let signe = workflow
        .signataires
        .iter()
        .any(|s| s.role == crate::workflow::Role::Participant);
    let (d, lecture) = lire(app, acteur, cle, moment).await?;
    let (Some(recueilli_le), Some(saisi_le), Some(saisi_par)) =
        (lecture.recueilli_le, lecture.saisi_le, lecture.saisi_par)
    else {
        return Err(Erreur::Conflit(format!(
            "aucune réponse enregistrée pour les données {} de ce participant : enregistrez le questionnaire d'abord",
            moment.libelle()
        )));
    };
    let qui = crate::db::personnel::par_id(&app.db, acteur.plie.as_str(), saisi_par)
        .await?
        .map_or_else(
            || "un ancien membre du personnel".to_owned(),
            |p| format!("{} {}", p.prenom, p.nom.to_uppercase()),
        );
    let donnees = serde_json::json!({
        "questionnaire": { "libelle": d.definition.libelle, "version": lecture.version },
        "moment": moment,
        "recueilli_le": crate::db::jour(recueilli_le),
        "saisi_par": qui,
        "saisi_le": saisi_le.to_rfc3339(),
        "sections": sections(&d.definition, moment, &reponses(lecture.reponses)),
        "signature_participant": signe,
    });
    let document = crate::documents::creer(
        app,
        acteur,
        crate::documents::DemandeDocument {
            workflow: WORKFLOW_PDF.into(),
            participant: Some(d.participant.reference.clone()),
            donnees,
            signataires: Vec::new(),
        },
    )
    .await?;
    crate::documents::envoyer(app, acteur, &document.reference).await
}

/// The template's sections: the questions the answers make applicable, each with its answer's
/// label (« Non renseigné » for an optional one left blank); a section left empty is dropped.
fn sections(q: &Questionnaire, moment: Moment, reponses: &Reponses) -> Vec<serde_json::Value> {
    q.rubriques(moment)
        .into_iter()
        .filter_map(|r| {
            let questions: Vec<serde_json::Value> = r
                .questions
                .iter()
                .filter(|x| q.applicable(x, reponses))
                .map(|x| {
                    let (reponse, nsp) = match reponses.get(&x.id) {
                        Some(rep) => (x.reponse_lisible(rep), *rep == Reponse::NeSePrononcePas),
                        None => ("Non renseigné".to_owned(), false),
                    };
                    serde_json::json!({ "libelle": x.libelle, "reponse": reponse, "nsp": nsp })
                })
                .collect();
            (!questions.is_empty())
                .then(|| serde_json::json!({ "titre": r.titre, "questions": questions }))
        })
        .collect()
}

/// What the participant's record already knows of the identity questions the definition asks,
/// put beneath the answers given (never over one).
fn preremplir(d: &Dossier, saisie: &mut Saisie) {
    let f = &d.participant.fiche;
    let connus = [
        ("nom", Some(f.nom.to_uppercase())),
        ("prenom", Some(f.prenom.to_uppercase())),
        ("date_naissance", f.date_naissance.map(crate::db::jour)),
        ("commune", Some(f.commune.clone())),
        ("code_postal", Some(f.code_postal.clone())),
        ("telephone_mobile", f.telephone.clone()),
        ("courriel", f.email.clone()),
    ];
    for (id, valeur) in connus {
        let Some(v) = valeur.filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        if d.definition.identite.iter().any(|q| q.id == id) {
            saisie.entry(id.to_owned()).or_insert(Reponse::Valeur(v));
        }
    }
}

/// The answers the import's extraction proposes for the entry questions (the definition's
/// `[[preremplissage]]`), put beneath those given; the ids of the questions it answered. Shown
/// on the screen only: a recording takes what the référent confirms, nothing from here.
fn proposer(d: &Dossier, saisie: &mut Saisie) -> Vec<String> {
    let colonnes: BTreeMap<String, String> = d
        .participant
        .fiche
        .extraction
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default();
    let mut preremplies = Vec::new();
    for (id, code) in d.definition.preremplir(&colonnes) {
        if !saisie.contains_key(&id) {
            saisie.insert(id.clone(), Reponse::Valeur(code));
            preremplies.push(id);
        }
    }
    preremplies
}

/// The faults of a moment's answers on the service's day, each naming its question: answers to
/// questions the moment does not ask first, then the crate's checks.
pub fn defauts(d: &Dossier, moment: Moment, saisie: &Saisie, aujourdhui: NaiveDate) -> Vec<Defaut> {
    let q = &d.definition;
    let mut defauts: Vec<Defaut> = saisie
        .keys()
        .filter_map(|id| match q.question(id) {
            Some(question) if question.moment == moment => None,
            Some(question) => Some(Defaut {
                question: id.clone(),
                libelle: question.libelle.clone(),
                moment,
                faute: Faute::SansObjet,
                message: format!(
                    "{id} « {} » : question du moment « {} », pas de celui-ci ({})",
                    question.libelle,
                    question.moment.libelle(),
                    moment.libelle()
                ),
            }),
            None => Some(Defaut {
                question: id.clone(),
                libelle: id.clone(),
                moment,
                faute: Faute::SansObjet,
                message: format!(
                    "{id} : question inconnue du questionnaire « {} »",
                    q.libelle
                ),
            }),
        })
        .collect();
    defauts.extend(parafe_fse::verifier(
        q,
        moment,
        &d.parcours,
        &reponses(saisie.clone()),
        aujourdhui,
    ));
    defauts
}

/// What a recording answers: the moment's state, not its answers (no read to journal).
#[derive(Debug, Clone, Serialize)]
pub struct Enregistrement {
    pub participant: String,
    pub moment: Moment,
    pub recueilli_le: NaiveDate,
    pub echeance: Option<Echeance>,
}

/// Records a moment's answers (at creation, the participant's record prefills the identity
/// questions left out). Any fault refuses the whole, naming its question in French; nothing
/// is written. A second recording replaces the first.
pub async fn enregistrer(
    app: &App,
    acteur: &Acteur,
    cle: &str,
    moment: Moment,
    mut saisie: Saisie,
) -> Result<Enregistrement, Erreur> {
    crate::documents::modification_permise(acteur)?;
    let d = dossier(app, acteur, cle).await?;
    let plie = acteur.plie.as_str();
    let deja = lignes::un(&app.db, plie, d.participant.id, d.operation.id, moment)
        .await?
        .is_some();
    if !deja && moment == Moment::Entree {
        preremplir(&d, &mut saisie);
    }
    let aujourdhui = app.horloge.aujourdhui();
    let defauts = defauts(&d, moment, &saisie, aujourdhui);
    if let Some(premier) = defauts.first() {
        return Err(Erreur::invalide(
            &premier.question,
            format!(
                "questionnaire non enregistré : {}",
                defauts
                    .iter()
                    .map(|x| x.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" ; ")
            ),
        ));
    }
    let recueilli_le = d
        .definition
        .date_du_recueil(moment, &reponses(saisie.clone()))
        .ok_or_else(|| {
            let champ = d
                .definition
                .question_du_recueil(moment)
                .map_or("recueil", |q| q.id.as_str());
            Erreur::invalide(
                champ,
                format!(
                    "questionnaire non enregistré : {champ} : la date du recueil ({}) est à donner",
                    moment.libelle()
                ),
            )
        })?;
    let reponses = serde_json::to_string(&saisie)?;
    lignes::enregistrer(
        &app.db,
        &NouvelleLigne {
            plie,
            participant_id: d.participant.id,
            operation_id: d.operation.id,
            moment,
            programme: &d.definition.programme,
            version: &d.definition.version,
            reponses: &reponses,
            recueilli_le,
            saisi_par: acteur.personnel_id,
            saisi_le: app.horloge.maintenant(),
        },
    )
    .await?;
    Ok(Enregistrement {
        participant: d.participant.reference.clone(),
        moment,
        recueilli_le,
        echeance: echeance(&d, moment, Some(recueilli_le), aujourdhui),
    })
}

/// An opération's file for Ma Démarche FSE's bulk integration, and who was left out.
pub struct ExportMdfse {
    /// The CSV in the declared encoding.
    pub csv: Vec<u8>,
    /// The declared encoding's name, for `charset`.
    pub encodage: &'static str,
    pub nom: String,
    pub rapport: Rapport,
}

/// The participants of opération `numero`, as the crate's export takes them; those the export
/// cannot take (no entry date) go straight to the report.
async fn preparer(
    app: &App,
    acteur: &Acteur,
    numero: &str,
) -> Result<
    (
        Questionnaire,
        Operation,
        Vec<parafe_fse::Participant>,
        Vec<parafe_fse::Incomplet>,
    ),
    Erreur,
> {
    if !matches!(
        acteur.role,
        RolePersonnel::Coordinateur | RolePersonnel::Admin
    ) {
        return Err(Erreur::Interdit(Refus::Interdit.to_string()));
    }
    let plie = acteur.plie.as_str();
    let operation = crate::operations::de_numero(app, plie, numero).await?;
    let q = definition(app, &operation)?;
    let lignes = lignes::de_l_operation(&app.db, plie, operation.id).await?;
    let mut participants: Vec<parafe_fse::Participant> = Vec::new();
    let mut sans_entree = Vec::new();
    for l in lignes {
        let saisie = match &l.reponses {
            Some(json) => serde_json::from_str::<Saisie>(json)?,
            None => Saisie::new(),
        };
        match participants.last_mut() {
            // A further moment of the same participant: ids are unique across moments.
            Some(p) if p.reference == l.reference => {
                for (id, r) in saisie {
                    p.reponses.inserer(id, r);
                }
            }
            _ => {
                let LigneOperation {
                    reference,
                    date_entree,
                    date_sortie,
                    referent_nom,
                    referent_prenom,
                    ..
                } = l;
                let referent = match (referent_prenom, referent_nom) {
                    (Some(prenom), Some(nom)) => format!("{prenom} {}", nom.to_uppercase()),
                    _ => "aucun référent désigné".to_owned(),
                };
                let Some(entree) = date_entree else {
                    sans_entree.push(parafe_fse::Incomplet {
                        participant: reference,
                        referent,
                        defauts: vec![Defaut {
                            question: "date_entree".into(),
                            libelle: "Date d'entrée".into(),
                            moment: Moment::Entree,
                            faute: Faute::SansReponse,
                            message: "date d'entrée inconnue : à donner dans l'extraction du logiciel de parcours (colonne Date d'entrée)".into(),
                        }],
                    });
                    continue;
                };
                participants.push(parafe_fse::Participant {
                    reference,
                    referent,
                    operation: parafe_fse::Operation {
                        numero: operation.code.clone(),
                        nom: operation.intitule.clone(),
                    },
                    parcours: parafe_fse::Parcours {
                        entree,
                        sortie: date_sortie,
                    },
                    reponses: reponses(saisie),
                });
            }
        }
    }
    Ok((q, operation, participants, sans_entree))
}

/// The export of opération `numero` to Ma Démarche FSE (coordinateurs and administrateurs):
/// the complete participants in the file, the others in the report; journaled.
pub async fn exporter_mdfse(
    app: &App,
    acteur: &Acteur,
    numero: &str,
) -> Result<ExportMdfse, Erreur> {
    mdfse(app, acteur, numero, "fichier Ma Démarche FSE").await
}

/// The completeness report of opération `numero` before its export: what is missing, for whom,
/// who must act (coordinateurs and administrateurs); journaled as the file is.
pub async fn rapport_mdfse(app: &App, acteur: &Acteur, numero: &str) -> Result<Rapport, Erreur> {
    Ok(
        mdfse(app, acteur, numero, "rapport de complétude Ma Démarche FSE")
            .await?
            .rapport,
    )
}

/// The export and its report, journaled as `quoi` (the file, or its report alone).
async fn mdfse(
    app: &App,
    acteur: &Acteur,
    numero: &str,
    quoi: &str,
) -> Result<ExportMdfse, Erreur> {
    let (q, operation, participants, sans_entree) = preparer(app, acteur, numero).await?;
    let carte = parafe_fse::CarteMdfse::charger(&app.config.data_dir, &q.programme, &q)
        .map_err(|e| Erreur::Interne(e.to_string()))?;
    let aujourdhui = app.horloge.aujourdhui();
    let export = parafe_fse::exporter(&carte, &q, &participants, aujourdhui)
        .map_err(|e| Erreur::Interne(e.to_string()))?;
    let mut rapport = export.rapport;
    rapport.incomplets.extend(sans_entree);
    let evenement = JournalEvent::ExportMade {
        actor: acteur.pseudonyme(),
        operation: format!(
            "{} : {quoi} ({} participants complets, {} incomplets)",
            operation.code,
            rapport.exportes.len(),
            rapport.incomplets.len()
        ),
    };
    app.vault
        .record(&acteur.plie, evenement, Vec::new())
        .await?;
    Ok(ExportMdfse {
        csv: export.csv,
        encodage: carte.encodage(),
        nom: format!("mdfse-{}-{aujourdhui}.csv", operation.code),
        rapport,
    })
}
