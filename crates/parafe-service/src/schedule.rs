//! What comes due with time. Bilans BRSA: for each participant on RSA under a CER, a plan of
//! bilans due at the workflow's months after the CER start (or the Département's own months),
//! moved when the CER start changes, replaced by the "sortie anticipée" bilan at an early exit;
//! a bilan's draft is made when the référent opens it ([`rediger`]). Signature
//! requests: reminders, then expiry. The FSE questionnaire after an exit: one e-mail to the
//! référent when its exit data or its six-month situation comes due ([`questionnaires_dus`]).
//! Staff time sheets: one e-mail to the staff member for each month ended without his signed
//! sheet ([`feuilles_de_temps_manquantes`]). The clock is always passed in, so that tests and
//! the service share the same code.

use crate::auth::Acteur;
use crate::db::documents::{self as docs, Document};
use crate::db::participants::Participant;
use crate::db::{self, bilans, questionnaires, referentiel};
use crate::justificatif::{etat, Catalogue};
use crate::workflow::{bilans_brsa, Bilan};
use crate::{App, Erreur};
use chrono::{DateTime, NaiveDate, Utc};
use parafe_core::document::Etat;
use serde::Serialize;
use std::collections::HashMap;

/// The workflow of bilans BRSA.
pub const WORKFLOW_BILAN: &str = "bilan-brsa";

/// What a planning run changed.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Planification {
    pub crees: usize,
    pub deplaces: usize,
    pub annules: usize,
}

fn cle_bilan(b: Bilan) -> String {
    match b {
        Bilan::Mois(m) => m.to_string(),
        Bilan::SortieAnticipee => "sortie".into(),
    }
}

fn libelle_bilan(cle: &str) -> String {
    match cle {
        "sortie" => "sortie anticipée".into(),
        m => format!("{m} mois"),
    }
}

/// The data a bilan starts with (its template's fields).
#[derive(Serialize)]
struct DonneesBilan {
    echeance: String,
    date: NaiveDate,
    cer: Cer,
}

#[derive(Serialize)]
struct Cer {
    debut: NaiveDate,
}

/// Brings the bilans of these participants in line with their CER and exit dates, in one
/// transaction. Only drafts move or get cancelled: a bilan already sent or signed stays.
pub async fn planifier(
    app: &App,
    plie: &str,
    participants: &[Participant],
    maintenant: DateTime<Utc>,
) -> Result<Planification, Erreur> {
    let workflow = app
        .workflow(WORKFLOW_BILAN)
        .ok_or_else(|| Erreur::Interne(format!("workflow {WORKFLOW_BILAN} absent")))?;
    let mois_du_workflow = workflow.echeances_mois.clone();
    // Départements with their own months.
    let mut mois_departement: HashMap<String, Vec<u32>> = HashMap::new();
    for p in participants {
        if let Some(code) = &p.fiche.departement {
            if !mois_departement.contains_key(code) {
                let mois = referentiel::departement(&app.db, plie, code)
                    .await?
                    .and_then(|d| d.bilans_mois)
                    .and_then(|m| serde_json::from_str::<Vec<u32>>(&m).ok())
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| mois_du_workflow.clone());
                mois_departement.insert(code.clone(), mois);
            }
        }
    }
    let mut tx = app.db.begin().await?;
    let mut par_participant: HashMap<i64, Vec<bilans::Prevu>> = HashMap::new();
    for b in bilans::prevus(&mut tx, plie).await? {
        par_participant.entry(b.participant_id).or_default().push(b);
    }
    let mut bilan_avant = Planification::default();
    let mut nouveaux: Vec<bilans::NouveauBilan> = Vec::new();
    let mut a_retirer: Vec<bilans::Prevu> = Vec::new();
    for p in participants {
        let Some(debut) = p.fiche.cer_debut else {
            continue;
        };
        if !p.fiche.rsa {
            continue;
        }
        let mois = p
            .fiche
            .departement
            .as_ref()
            .and_then(|d| mois_departement.get(d))
            .unwrap_or(&mois_du_workflow);
        let prevues: Vec<_> = bilans_brsa(debut, mois, p.fiche.date_sortie)
            .into_iter()
            .filter(|e| !e.annule)
            .map(|e| (cle_bilan(e.bilan), e.due))
            .collect();
        let existants = par_participant.remove(&p.id).unwrap_or_default();
        for (cle, due) in &prevues {
            if !existants.iter().any(|b| &b.bilan == cle) {
                nouveaux.push(bilans::NouveauBilan {
                    participant_id: p.id,
                    bilan: cle.clone(),
                    due: *due,
                });
            }
        }
        // Only what is still to write moves or goes: a bilan sent or signed stays.
        for b in existants {
            match prevues.iter().find(|(cle, _)| *cle == b.bilan) {
                Some((_, due)) if b.brouillon() && b.echeance != *due => {
                    bilans::deplacer(&mut tx, &b, *due, debut, maintenant).await?;
                    bilan_avant.deplaces += 1;
                }
                None if b.brouillon() => a_retirer.push(b),
                _ => {}
            }
        }
    }
    let le = db::instant(maintenant);
    for b in &a_retirer {
        bilans::retirer(&mut tx, b).await?;
        if let Some(id) = b.document_id {
            docs::transition(
                &mut tx,
                id,
                Etat::Brouillon,
                Etat::Annule,
                "echeancier",
                &le,
            )
            .await?;
        }
    }
    bilan_avant.annules = a_retirer.len();
    bilan_avant.crees = nouveaux.len();
    bilans::prevoir(&mut tx, &nouveaux).await?;
    tx.commit().await?;
    Ok(bilan_avant)
}

/// Opens a planned bilan of a participant of the caller's reach to write it: its draft, made on
/// the first opening with the due day and the CER start as data and the participant's référent
/// of the moment as signer; the same draft on every later opening.
pub async fn rediger(
    app: &App,
    acteur: &Acteur,
    p: &Participant,
    bilan: &str,
) -> Result<Document, Erreur> {
    crate::documents::modification_permise(acteur)?;
    let plan = bilans::du_participant(&app.db, p.id).await?;
    let Some(prevu) = plan.iter().find(|b| b.bilan == bilan) else {
        let prevus: Vec<&str> = plan.iter().map(|b| b.bilan.as_str()).collect();
        return Err(Erreur::invalide(
            "bilan",
            if prevus.is_empty() {
                format!("aucun bilan BRSA n'est prévu pour ce participant (« {bilan} » demandé)")
            } else {
                format!(
                    "aucun bilan « {bilan} » n'est prévu pour ce participant ; bilans prévus : {}",
                    prevus.join(", ")
                )
            },
        ));
    };
    if let Some(reference) = &prevu.reference {
        return crate::documents::charger(app, acteur, reference).await;
    }
    let workflow = app
        .workflow(WORKFLOW_BILAN)
        .ok_or_else(|| Erreur::Interne(format!("workflow {WORKFLOW_BILAN} absent")))?;
    let reference = db::reference_triee("d");
    // What the dossier and the settings know (PLIE, opération, participant, référent, the
    // Département's Référent unique and SDI), then the bilan's own fields: the draft opens as a
    // form with only the référent's writing left to do.
    let mut donnees = crate::documents::prefill(
        app,
        &workflow.modele,
        acteur.plie.as_str(),
        Some(p),
        acteur,
        &reference,
    )
    .await?;
    if let serde_json::Value::Object(propres) = serde_json::to_value(DonneesBilan {
        echeance: libelle_bilan(&prevu.bilan),
        date: prevu.echeance,
        cer: Cer {
            debut: p.fiche.cer_debut.unwrap_or(prevu.echeance),
        },
    })? {
        donnees.extend(propres);
    }
    let donnees = serde_json::Value::Object(donnees);
    let signataires =
        crate::documents::resoudre_signataires(app, acteur, workflow, &[], Some(p), &donnees)
            .await?;
    let maintenant = db::instant(app.horloge.maintenant());
    let mut tx = app.db.begin().await?;
    let cree = docs::creer(
        &mut tx,
        &reference,
        &docs::NouveauDocument {
            plie: acteur.plie.as_str(),
            workflow: &workflow.nom,
            modele: &workflow.modele,
            participant_id: Some(p.id),
            operation_id: p.fiche.operation_id,
            auteur_id: Some(acteur.personnel_id),
            donnees: &donnees.to_string(),
            bilan: Some(&prevu.bilan),
            echeance: Some(&db::jour(prevu.echeance)),
        },
        &signataires,
        &maintenant,
    )
    .await;
    match cree {
        Ok(_) => {
            tx.commit().await?;
            crate::documents::charger(app, acteur, &reference).await
        }
        // Opened at the same moment from another screen: the unique index on (participant,
        // bilan) kept one draft; that one is the bilan.
        Err(e) if db::est_doublon(&e) => {
            drop(tx);
            let ouvert = bilans::du_participant(&app.db, p.id)
                .await?
                .into_iter()
                .find_map(|b| (b.bilan == bilan).then_some(b.reference).flatten())
                .ok_or_else(|| Erreur::Interne("bilan ouvert introuvable".into()))?;
            crate::documents::charger(app, acteur, &ouvert).await
        }
        Err(e) => Err(e.into()),
    }
}

pub use bilans::BilanDu;

/// Bilans not signed yet whose due date has passed (`aujourdhui` excluded), for the caller's
/// portfolio.
pub async fn en_retard(
    app: &App,
    plie: &str,
    portefeuille: Option<i64>,
    aujourdhui: NaiveDate,
) -> Result<Vec<BilanDu>, Erreur> {
    Ok(bilans::en_retard(&app.db, plie, portefeuille, aujourdhui).await?)
}

/// One pass of the time-driven work, for every PLIE: reminders to référents before a bilan's
/// due date, reminders to link signers, expiry of unsigned requests. Each reminder is an outbox
/// task keyed by what it is about, so a pass run twice sends nothing twice.
pub async fn veiller(app: &App) -> Result<(), Erreur> {
    let maintenant = app.horloge.maintenant();
    let (expires, en_cours): (Vec<_>, Vec<_>) = docs::en_signature(&app.db)
        .await?
        .into_iter()
        .partition(|d| d.expire_le.is_some_and(|e| e <= maintenant));
    // Expiry.
    let mut tx = app.db.begin().await?;
    for d in &expires {
        crate::pipeline::transition(app, &mut tx, d, Etat::Expire, "echeancier").await?;
    }
    tx.commit().await?;
    // Reminders of bilans to the référent, N days before the due date.
    if let Some(workflow) = app.workflow(WORKFLOW_BILAN) {
        let mut tx = app.db.begin().await?;
        for (i, rappel) in workflow.rappels_avant_echeance.iter().enumerate() {
            let jusqua = parafe_core::horloge::jour_a_paris(maintenant + rappel.0);
            let dus = bilans::a_rappeler(&mut tx, app.horloge.aujourdhui(), jusqua, i).await?;
            for bilans::ARappeler {
                plie,
                participant_ref,
                bilan,
                echeance,
                email,
                participant,
            } in dus
            {
                let jour = echeance.format("%d/%m/%Y");
                let courriel = crate::delivery::Courriel {
                    a: vec![email],
                    objet: format!("Bilan BRSA à rédiger pour le {jour}"),
                    texte: format!(
                        "Bonjour,\n\nLe bilan BRSA de {participant} est dû le {jour}.\nRédigez-le et signez-le dans parafe : {}/participants/{participant_ref}\n",
                        app.url_publique()
                    ),
                    message_id: format!("<rappel.{i}.{bilan}.{participant_ref}@parafe>"),
                    piece_jointe: None,
                    renvoi: false,
                };
                crate::outbox::ajouter(
                    &mut tx,
                    &format!("rappel:{participant_ref}:{bilan}:{i}"),
                    crate::outbox::Genre::Courriel,
                    &plie,
                    &serde_json::json!({ "courriel": courriel, "participant": participant_ref, "bilan": bilan }),
                    maintenant,
                )
                .await?;
            }
        }
        tx.commit().await?;
    }
    // Reminders to link signers, at the workflow's delays after sending: those due, less those
    // already made (their marker task is in the outbox), looked up together.
    let mut dues = Vec::new();
    for document in &en_cours {
        let (Some(workflow), Some(envoye)) = (app.workflow(&document.workflow), document.envoye_le)
        else {
            continue;
        };
        for (i, relance) in workflow.relances.iter().enumerate() {
            if envoye + relance.0 <= maintenant {
                dues.push((
                    document,
                    workflow,
                    i,
                    format!("relance:{}:{i}", document.reference),
                ));
            }
        }
    }
    let cles: Vec<&str> = dues.iter().map(|d| d.3.as_str()).collect();
    let faites = crate::db::outbox::cles_connues(&app.db, &cles).await?;
    let mut tx = app.db.begin().await?;
    for (document, workflow, i, cle) in dues.iter().filter(|d| !faites.contains(&d.3)) {
        // The marker task records that this reminder was made.
        crate::outbox::ajouter(&mut tx, cle, crate::outbox::Genre::Journal, &document.plie, &serde_json::json!({
            "evenement": parafe_core::model::JournalEvent::DocumentTransition { document: document.reference.clone(), from: document.etat.code().into(), to: document.etat.code().into(), actor: format!("relance-{}", i + 1) },
            "objets": [document.sha256_rendu],
        }), maintenant).await?;
        let signataires = crate::db::signataires::du_document(&mut *tx, document.id).await?;
        for s in crate::documents::a_inviter(workflow, &signataires) {
            crate::documents::inviter(app, &mut tx, document, s, maintenant, true).await?;
        }
    }
    tx.commit().await?;
    questionnaires_dus(app, maintenant).await?;
    feuilles_de_temps_manquantes(app, maintenant).await?;
    app.reveil.sonner();
    Ok(())
}

/// Queues, once each (the task's key says which), the e-mail that tells the référent a
/// questionnaire item of his portfolio has come due: the exit data from the definition's first
/// reminder day, the six-month situation from its due day. The participant by first name and
/// pseudonymous reference only; no answer.
async fn questionnaires_dus(app: &App, maintenant: DateTime<Utc>) -> Result<(), Erreur> {
    let aujourdhui = app.horloge.aujourdhui();
    let questionnaires = crate::a_faire::delais_des_questionnaires(app)?;
    let depuis = crate::a_faire::depuis(aujourdhui);
    let mut dus = Vec::new();
    for s in questionnaires::sorties(&app.db, depuis, aujourdhui).await? {
        let Some(delais) = questionnaires.get(&s.programme) else {
            continue;
        };
        let sortie = parafe_fse::echeance_sortie(delais, s.date_sortie, None, aujourdhui);
        if !s.sortie_recueillie
            && matches!(
                sortie.etat,
                parafe_fse::EtatSortie::Relance | parafe_fse::EtatSortie::EnRetard
            )
        {
            let quoi = format!(
                "les données de sortie, à recueillir au plus tard le {}",
                sortie.limite.format("%d/%m/%Y")
            );
            dus.push((
                format!("questionnaire:{}:sortie", s.reference),
                s.clone(),
                "sortie",
                quoi,
            ));
        }
        let six = parafe_fse::echeance_six_mois(delais, s.date_sortie, None, aujourdhui);
        if !s.six_mois_recueillie && aujourdhui >= six.due {
            let quoi = format!(
                "la situation six mois après la sortie, à recueillir du {} au {}",
                six.due.format("%d/%m/%Y"),
                six.limite.format("%d/%m/%Y")
            );
            dus.push((
                format!("questionnaire:{}:six_mois", s.reference),
                s,
                "six_mois",
                quoi,
            ));
        }
    }
    let cles: Vec<&str> = dus.iter().map(|d| d.0.as_str()).collect();
    let faites = crate::db::outbox::cles_connues(&app.db, &cles).await?;
    let mut tx = app.db.begin().await?;
    for (cle, s, moment, quoi) in dus.iter().filter(|d| !faites.contains(&d.0)) {
        let courriel = crate::delivery::Courriel {
            a: vec![s.referent_email.clone()],
            objet: format!("Questionnaire FSE à compléter ({})", s.reference.to_uppercase()),
            texte: format!(
                "Bonjour,\n\n{} ({}) a quitté l'opération le {}. Son questionnaire FSE attend {quoi}.\n\
                 Remplissez-le dans parafe : {}/participants/{}/questionnaire/{moment}\n",
                s.prenom,
                s.reference.to_uppercase(),
                s.date_sortie.format("%d/%m/%Y"),
                app.url_publique(),
                s.reference,
            ),
            message_id: format!("<{}.{moment}.questionnaire@parafe>", s.reference),
            piece_jointe: None,
            renvoi: false,
        };
        mettre_en_boite(&mut tx, cle, &s.plie, &courriel, maintenant).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Queues, once for each staff member, opération and month (the task's key), the e-mail that
/// tells him a month has ended without his signed time sheet ([`etat::mois_sans_feuille`]).
async fn feuilles_de_temps_manquantes(app: &App, maintenant: DateTime<Utc>) -> Result<(), Erreur> {
    let mut manquants = Vec::new();
    for plie in referentiel::plies(&app.db).await? {
        // A stored PLIE id is valid (checked when it was created).
        let Ok(plie) = parafe_core::model::PlieId::new(&plie) else {
            continue;
        };
        let catalogue = Catalogue::charger(&app.config.data_dir, &plie)?;
        let siens =
            etat::mois_sans_feuille(&app.db, &catalogue, &plie, None, app.horloge.aujourdhui())
                .await
                .map_err(|e| Erreur::Interne(e.to_string()))?;
        manquants.extend(siens);
    }
    let cle = |m: &etat::MoisSansFeuille| {
        format!(
            "feuille-temps:{}:{}:{}:{}",
            m.plie, m.operation, m.personnel_id, m.fin
        )
    };
    let cles: Vec<String> = manquants.iter().map(cle).collect();
    let faites = crate::db::outbox::cles_connues(
        &app.db,
        &cles.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await?;
    let mut tx = app.db.begin().await?;
    for (m, cle) in manquants
        .iter()
        .zip(&cles)
        .filter(|(_, c)| !faites.contains(*c))
    {
        let courriel = crate::delivery::Courriel {
            a: vec![m.email.clone()],
            objet: format!("Feuille de temps {} à signer — opération {}", m.du_mois(), m.operation),
            texte: format!(
                "Bonjour {},\n\nLe mois {} est échu et votre feuille de temps signée pour l'opération {} manque ({}).\n\
                 Établissez-la et signez-la depuis votre compte parafe : {}/a-faire\n",
                m.nom,
                m.du_mois(),
                m.operation,
                m.libelle.to_lowercase(),
                app.url_publique(),
            ),
            message_id: format!(
                "<feuille-temps.{}.{}.{}@parafe>",
                m.operation, m.personnel_id, m.fin
            ),
            piece_jointe: None,
            renvoi: false,
        };
        mettre_en_boite(&mut tx, cle, &m.plie, &courriel, maintenant).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Queues a reminder e-mail under its key (a key already queued: nothing).
async fn mettre_en_boite(
    tx: &mut sqlx::AnyConnection,
    cle: &str,
    plie: &str,
    courriel: &crate::delivery::Courriel,
    maintenant: DateTime<Utc>,
) -> Result<(), Erreur> {
    crate::outbox::ajouter(
        tx,
        cle,
        crate::outbox::Genre::Courriel,
        plie,
        &serde_json::json!({ "courriel": courriel }),
        maintenant,
    )
    .await?;
    Ok(())
}

/// Whether this instance does the periodic job `nom` this period: it holds the job's lease
/// (one conditional write, [`db::grappe::prendre_veille`]) for one period, and keeps it from
/// one period to the next while it lives. Another instance takes it over once it expires, a
/// period at most after its holder stopped. Two passes overlapping (one longer than a period)
/// would do no harm: a pass run twice does nothing twice.
async fn a_moi(app: &App, nom: &str, periode: std::time::Duration) -> bool {
    let maintenant = app.horloge.maintenant();
    let jusqu_a = maintenant + chrono::TimeDelta::from_std(periode).unwrap_or_default();
    match db::grappe::prendre_veille(&app.db, nom, app.instance(), maintenant, jusqu_a).await {
        Ok(pris) => pris,
        Err(e) => {
            tracing::warn!("veille {nom} : bail illisible : {e}");
            false
        }
    }
}

/// Every `veille_secondes`: reminders, expiries, and the journal anchor when its interval has
/// passed; each by one instance only when several share the database.
pub fn veilleur(app: App) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let secondes = app.config.service.veille_secondes.max(1);
        let periode = std::time::Duration::from_secs(secondes);
        let mut minute = tokio::time::interval(periode);
        loop {
            minute.tick().await;
            if a_moi(&app, "echeancier", periode).await {
                if let Err(e) = veiller(&app).await {
                    tracing::warn!("échéancier : {e}");
                }
            }
            if a_moi(&app, "ancrage", periode).await {
                if let Err(e) = app.vault.anchor_if_due(app.tsa.as_ref()).await {
                    tracing::warn!("ancrage du journal : {e}");
                }
            }
        }
    })
}
