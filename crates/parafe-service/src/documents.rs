//! Documents made from workflows: creation (data prefilled from the participant's file),
//! sending for signature, cancelling, reminding. Every step goes through the life cycle of
//! [`parafe_core::document::Etat`] and queues its journal entry in the outbox.

use super::pipeline::transition;
use super::{App, Erreur};
use crate::auth::Acteur;
use crate::db::documents::{self as docs, Document, NouveauDocument, NouveauSignataire};
use crate::db::participants::Participant;
use crate::db::signataires::{self, EtatSignataire, Signataire};
use crate::db::{self, participants, personnel, referentiel};
use crate::delivery::{email_valide, Courriel};
use crate::outbox::{self, Genre};
use crate::workflow::{Methode, Ordre, Role, Workflow};
use parafe_core::document::Etat;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// A request to create a document from a workflow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandeDocument {
    /// Workflow name (`contrat-engagement`, `bilan-brsa`…).
    pub workflow: String,
    /// The participant's reference (`p-…`), when the document concerns one.
    pub participant: Option<String>,
    /// The template's data; what the participant's file knows is filled in when absent.
    #[serde(default)]
    pub donnees: Value,
    /// Who signs, by role, when the file does not say (a partner's e-mail…), and how.
    #[serde(default)]
    pub signataires: Vec<SignataireDemande>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignataireDemande {
    pub role: String,
    pub nom: Option<String>,
    pub email: Option<String>,
    /// `tablette` or `lien`; default: the workflow's first.
    pub methode: Option<String>,
}

fn methode_code(m: Methode) -> &'static str {
    match m {
        Methode::Tablette => "tablette",
        Methode::Lien => "lien",
    }
}

/// Creates a draft. Bad input names its field; nothing is written unless all of it holds.
pub async fn creer(
    app: &App,
    acteur: &Acteur,
    demande: DemandeDocument,
) -> Result<Document, Erreur> {
    modification_permise(acteur)?;
    let plie = acteur.plie.as_str();
    let workflow = app.workflow(&demande.workflow).ok_or_else(|| {
        Erreur::invalide(
            "workflow",
            format!(
                "workflow « {} » inconnu ; workflows disponibles : {}",
                demande.workflow,
                app.workflows.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    let participant = match &demande.participant {
        None => None,
        Some(r) => Some(
            participants::a_portee(&app.db, plie, acteur.portefeuille(), r)
                .await?
                .ok_or_else(|| {
                    Erreur::invalide(
                        "participant",
                        format!("aucun participant « {r} » dans votre portefeuille"),
                    )
                })?,
        ),
    };
    let Value::Object(fournies) = (match demande.donnees {
        Value::Null => Value::Object(Map::new()),
        v => v,
    }) else {
        return Err(Erreur::invalide(
            "donnees",
            "attendu un objet JSON des champs du modèle",
        ));
    };
    let reference = db::reference_triee("d");
    let mut donnees = prefill(
        app,
        &workflow.modele,
        plie,
        participant.as_ref(),
        acteur,
        &reference,
    )
    .await?;
    donnees.extend(fournies);
    let mut donnees = Value::Object(donnees);
    let signataires = resoudre_signataires(
        app,
        acteur,
        workflow,
        &demande.signataires,
        participant.as_ref(),
        &donnees,
    )
    .await?;
    let operation_id = match &participant {
        Some(p) => p.fiche.operation_id,
        None => match operation_des_presents(app, plie, &signataires).await? {
            Some(id) => Some(id),
            None => operation_nommee(app, plie, &mut donnees).await?,
        },
    };
    valider(app, workflow, &donnees)?;
    let maintenant = db::instant(app.horloge.maintenant());
    let mut tx = app.db.begin().await?;
    let id = docs::creer(
        &mut tx,
        &reference,
        &NouveauDocument {
            plie,
            workflow: &workflow.nom,
            modele: &workflow.modele,
            participant_id: participant.as_ref().map(|p| p.id),
            operation_id,
            auteur_id: Some(acteur.personnel_id),
            donnees: &donnees.to_string(),
            bilan: None,
            echeance: None,
        },
        &signataires,
        &maintenant,
    )
    .await?;
    tx.commit().await?;
    docs::par_id(&app.db, id)
        .await?
        .ok_or_else(|| Erreur::Interne("document créé introuvable".into()))
}

/// The opération a document of the opération itself (a commission's sheet) names by its number
/// in its data, completed from the PLIE's record; an unknown number names the field to fix.
async fn operation_nommee(
    app: &App,
    plie: &str,
    donnees: &mut Value,
) -> Result<Option<i64>, Erreur> {
    let Some(numero) = donnees
        .get("operation")
        .and_then(|o| o.get("numero"))
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Ok(None);
    };
    let op = referentiel::operation_par_code(&app.db, plie, &numero)
        .await?
        .ok_or_else(|| {
            Erreur::invalide(
                "operation.numero",
                format!("aucune opération « {numero} » dans ce PLIE"),
            )
        })?;
    donnees["operation"] = op.pour_les_modeles();
    Ok(Some(op.id))
}

/// The opération a sheet of several attendees names: the first attendee's who has one (each
/// attendee's opération holds the sheet too, see `justificatif::etat::charger`).
async fn operation_des_presents(
    app: &App,
    plie: &str,
    signataires: &[NouveauSignataire],
) -> Result<Option<i64>, Erreur> {
    for id in signataires.iter().filter_map(|s| s.participant_id) {
        if let Some(op) = participants::par_id(&app.db, plie, id)
            .await?
            .and_then(|p| p.fiche.operation_id)
        {
            return Ok(Some(op));
        }
    }
    Ok(None)
}

/// Checks data against the workflow's template; every faulty field is named.
pub fn valider(app: &App, workflow: &Workflow, donnees: &Value) -> Result<(), Erreur> {
    let schema = app.catalogue.get(&workflow.modele).map_err(Erreur::from)?;
    parafe_template::template::validate(schema, donnees)
        .map(|_| ())
        .map_err(|champs| Erreur::Champs { champs })
}

/// What the service knows for the template's common fields: the PLIE, the opération, the
/// participant, the référent, the document's own reference.
pub async fn prefill(
    app: &App,
    modele: &str,
    plie: &str,
    participant: Option<&Participant>,
    acteur: &Acteur,
    reference: &str,
) -> Result<Map<String, Value>, Erreur> {
    let mut d = Map::new();
    d.insert("reference".into(), json!(reference.to_uppercase()));
    let fiche = referentiel::fiche_plie(&app.db, plie).await?;
    if let Some(Value::Object(f)) = fiche.and_then(|f| serde_json::from_str(&f).ok()) {
        if !f.is_empty() {
            d.insert("plie".into(), Value::Object(f));
        }
    }
    let Some(p) = participant else {
        return Ok(d);
    };
    if let Some(op) = match p.fiche.operation_id {
        Some(id) => referentiel::operation(&app.db, plie, id).await?,
        None => None,
    } {
        d.insert("operation".into(), op.pour_les_modeles());
    }
    let mut fiche = json!({
        "identifiant": p.fiche.identifiant_externe,
        "nom": p.fiche.nom,
        "prenom": p.fiche.prenom,
        "commune": p.fiche.commune,
    });
    if !p.fiche.civilite.is_empty() {
        fiche["civilite"] = json!(p.fiche.civilite);
    }
    d.insert("participant".into(), fiche);
    let referent_id = p.fiche.referent_id.unwrap_or(acteur.personnel_id);
    if let Some(r) = personnel::par_id(&app.db, plie, referent_id).await? {
        let qualite = if r.structure.is_empty() {
            "Référent de parcours".to_owned()
        } else {
            format!("Référent de parcours, {}", r.structure)
        };
        d.insert(
            "referent".into(),
            json!({ "nom": r.nom, "prenom": r.prenom, "qualite": qualite, "email": r.email }),
        );
    }
    if let Some(date) = &p.fiche.date_entree {
        d.insert("date_entree".into(), json!(date));
    }
    if let Some(dep) = match &p.fiche.departement {
        Some(code) => referentiel::departement(&app.db, plie, code).await?,
        None => None,
    } {
        d.insert("referent_unique".into(), json!({ "nom": "Référent unique RSA", "structure": format!("Département {}", dep.nom), "email": dep.email_referent_unique }));
        d.insert("sdi".into(), json!({ "nom": "Service départemental d'insertion", "structure": format!("Département {}", dep.nom), "email": dep.email_sdi }));
    }
    // Only what the template declares: an unknown field would be refused.
    if let Ok(schema) = app.catalogue.get(modele) {
        d.retain(|k, _| schema.champs.iter().any(|(nom, _)| nom == k));
    }
    Ok(d)
}

/// The signers of a new document, in the workflow's order: names and e-mails from the file
/// (participant, référent) or from the request (partner, third signer).
pub(crate) async fn resoudre_signataires(
    app: &App,
    acteur: &Acteur,
    workflow: &Workflow,
    demandes: &[SignataireDemande],
    participant: Option<&Participant>,
    donnees: &Value,
) -> Result<Vec<NouveauSignataire>, Erreur> {
    for (i, d) in demandes.iter().enumerate() {
        if !workflow.signataires.iter().any(|s| s.role.nom() == d.role) {
            return Err(Erreur::invalide(
                &format!("signataires[{i}].role"),
                format!(
                    "le workflow « {} » n'a pas de signataire « {} »",
                    workflow.nom, d.role
                ),
            ));
        }
    }
    let mut out: Vec<NouveauSignataire> = Vec::new();
    for s in &workflow.signataires {
        let trouve = demandes
            .iter()
            .enumerate()
            .find(|(_, d)| d.role == s.role.nom());
        if s.facultatif && trouve.is_none() {
            continue;
        }
        let champ = |suffixe: &str| match trouve {
            Some((i, _)) => format!("signataires[{i}].{suffixe}"),
            None => format!("signataires({}).{suffixe}", s.role.nom()),
        };
        let demande = trouve.map(|(_, d)| d);
        let methode = match demande.and_then(|d| d.methode.as_deref()) {
            None => s.methodes[0],
            Some("tablette") if s.methodes.contains(&Methode::Tablette) => Methode::Tablette,
            Some("lien") if s.methodes.contains(&Methode::Lien) => Methode::Lien,
            Some(autre) => {
                return Err(Erreur::invalide(
                    &champ("methode"),
                    format!(
                        "méthode « {autre} » non prévue pour le rôle {} ; possibles : {}",
                        s.role.nom(),
                        s.methodes
                            .iter()
                            .map(|m| methode_code(*m))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
        };
        if let Some(liste) = s.role.liste().filter(|_| s.plusieurs) {
            // One signer per person listed in the data (the attendees of a workshop, the members
            // of a commission).
            let presents = donnees
                .get(liste)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for p in presents {
                let nom = format!(
                    "{} {}",
                    p.get("prenom").and_then(Value::as_str).unwrap_or_default(),
                    p.get("nom")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_uppercase()
                );
                // An attendee of the caller's portfolio: the sheet is his too (his file, his
                // opération's pack).
                let participant_id = match p.get("identifiant").and_then(Value::as_str) {
                    Some(identifiant) => participants::a_portee(
                        &app.db,
                        acteur.plie.as_str(),
                        acteur.portefeuille(),
                        identifiant,
                    )
                    .await?
                    .map(|p| p.id),
                    None => None,
                };
                // A person signs a sheet once: one line each.
                if participant_id.is_some()
                    && out.iter().any(|o| o.participant_id == participant_id)
                {
                    return Err(Erreur::invalide(
                        "participants",
                        format!("{nom} figure deux fois parmi les présents : une personne signe une fois"),
                    ));
                }
                out.push(NouveauSignataire {
                    role: s.role.nom().into(),
                    nom,
                    email: None,
                    methode: methode_code(methode).into(),
                    personnel_id: None,
                    participant_id,
                });
            }
            continue;
        }
        let (mut nom, mut email, mut personnel_id, mut participant_id) = (None, None, None, None);
        match s.role {
            role if s.designe => {
                let r = personnel_designe(app, acteur, role, demande, donnees).await?;
                nom = Some(format!("{} {}", r.prenom, r.nom.to_uppercase()));
                email = Some(r.email);
                personnel_id = Some(r.id);
            }
            Role::Participant => {
                if let Some(p) = participant {
                    nom = Some(format!("{} {}", p.fiche.prenom, p.fiche.nom.to_uppercase()));
                    email = p.fiche.email.clone();
                    participant_id = Some(p.id);
                }
            }
            Role::Referent => {
                let id = participant
                    .and_then(|p| p.fiche.referent_id)
                    .unwrap_or(acteur.personnel_id);
                if let Some(r) = personnel::par_id(&app.db, acteur.plie.as_str(), id).await? {
                    nom = Some(format!("{} {}", r.prenom, r.nom.to_uppercase()));
                    email = Some(r.email);
                    personnel_id = Some(r.id);
                }
            }
            Role::Animateur => {
                if let Some(r) =
                    personnel::par_id(&app.db, acteur.plie.as_str(), acteur.personnel_id).await?
                {
                    nom = Some(format!("{} {}", r.prenom, r.nom.to_uppercase()));
                    email = Some(r.email);
                    personnel_id = Some(r.id);
                }
            }
            _ => {}
        }
        if let Some(d) = demande {
            nom = d.nom.clone().or(nom);
            email = d.email.clone().or(email);
        }
        if let Some(e) = &email {
            if !email_valide(e) {
                return Err(Erreur::invalide(
                    &champ("email"),
                    format!("« {e} » n'est pas une adresse e-mail"),
                ));
            }
        }
        if methode == Methode::Lien && email.is_none() {
            return Err(Erreur::invalide(
                &champ("email"),
                format!(
                    "le signataire {} signe par lien : indiquez son adresse e-mail",
                    s.role.nom()
                ),
            ));
        }
        let nom = nom.ok_or_else(|| {
            Erreur::invalide(
                &champ("nom"),
                format!("indiquez le nom du signataire {}", s.role.nom()),
            )
        })?;
        out.push(NouveauSignataire {
            role: s.role.nom().into(),
            nom,
            email,
            methode: methode_code(methode).into(),
            personnel_id,
            participant_id,
        });
    }
    Ok(out)
}

/// The account of a staff member the document names (a time sheet's employee, his manager):
/// by the e-mail of the request, else of the data (`salarie.email`). He signs from this account
/// only, so a document naming someone without an active account of the PLIE is refused.
async fn personnel_designe(
    app: &App,
    acteur: &Acteur,
    role: Role,
    demande: Option<&SignataireDemande>,
    donnees: &Value,
) -> Result<personnel::Personnel, Erreur> {
    let champ = format!("{}.email", role.nom());
    let adresse = demande
        .and_then(|d| d.email.clone())
        .or_else(|| {
            donnees
                .get(role.nom())
                .and_then(|p| p.get("email"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .ok_or_else(|| {
            Erreur::invalide(
                &champ,
                format!(
                    "indiquez l'e-mail du compte parafe du signataire {} : il signe depuis son \
                     propre compte",
                    role.nom()
                ),
            )
        })?;
    let plie = acteur.plie.as_str();
    let compte = match personnel::par_email(&app.db, &adresse).await? {
        Some(p) if p.plie == plie && personnel::est_actif(&app.db, plie, p.id).await? => Some(p),
        _ => None,
    };
    compte.ok_or_else(|| {
        Erreur::invalide(
            &champ,
            format!(
                "aucun compte actif du personnel « {adresse} » dans ce PLIE : le signataire {} \
                 signe depuis son propre compte",
                role.nom()
            ),
        )
    })
}

/// A document of the caller's reach, or "not found" (another PLIE's look absent).
pub async fn charger(app: &App, acteur: &Acteur, reference: &str) -> Result<Document, Erreur> {
    docs::par_ref(
        &app.db,
        acteur.plie.as_str(),
        reference,
        acteur.portefeuille(),
    )
    .await?
    .filter(|d| lecture_des_modeles(app, acteur)(&d.modele))
    .ok_or_else(|| {
        Erreur::Introuvable(format!(
            "aucun document « {reference} » dans votre portefeuille"
        ))
    })
}

/// Which templates the caller reads documents of. An assistant reads no sensitive answer of a
/// questionnaire, so none of the templates the PLIE's catalogue keeps out of packs as sensitive
/// (`modeles_sensibles`: the questionnaire's PDF); an unreadable catalogue reads as sensitive.
/// The catalogue is read once for a whole list.
pub fn lecture_des_modeles(app: &App, acteur: &Acteur) -> impl Fn(&str) -> bool {
    let catalogue = (!acteur.peut_modifier())
        .then(|| crate::justificatif::Catalogue::charger(&app.config.data_dir, &acteur.plie).ok());
    move |modele| match &catalogue {
        None => true,
        Some(c) => c.as_ref().is_some_and(|c| !c.est_sensible(modele)),
    }
}

/// Refuses an assistant what only the other roles do to documents ([`Acteur::peut_modifier`]).
pub fn modification_permise(acteur: &Acteur) -> Result<(), Erreur> {
    if acteur.peut_modifier() {
        Ok(())
    } else {
        Err(Erreur::Interdit(crate::auth::DROITS_ASSISTANTE.into()))
    }
}

/// Sends a draft for signature: renders the version the signers will see, keeps it by hash,
/// and mails a single-use link to the first signer(s) who sign by link.
/// The document's opération, refused while it is « à décrire » (only an import named it): its
/// programme and title would be printed wrong.
async fn operation_decrite(
    app: &App,
    document: &Document,
) -> Result<Option<referentiel::Operation>, Erreur> {
    let Some(id) = document.operation_id else {
        return Ok(None);
    };
    let operation = referentiel::operation(&app.db, &document.plie, id)
        .await?
        .ok_or_else(|| Erreur::Interne("opération du document disparue".into()))?;
    if !operation.decrite {
        return Err(Erreur::Conflit(format!(
            "l'opération {} n'est pas encore décrite : un coordinateur donne son intitulé et son programme dans « Opérations », puis le document pourra partir (sans quoi il imprimerait le bloc FSE d'un autre programme)",
            operation.code
        )));
    }
    Ok(Some(operation))
}

pub async fn envoyer(app: &App, acteur: &Acteur, reference: &str) -> Result<Document, Erreur> {
    modification_permise(acteur)?;
    let document = charger(app, acteur, reference).await?;
    document.etat.vers(Etat::Envoye)?;
    let workflow = app.workflow(&document.workflow).ok_or_else(|| {
        Erreur::Conflit(format!(
            "le workflow « {} » n'existe plus",
            document.workflow
        ))
    })?;
    let mut donnees: Value = serde_json::from_str(&document.donnees)?;
    let operation = operation_decrite(app, &document).await?;
    // The opération as it is described now: the draft may predate its description.
    let decrite = operation.map(|o| o.pour_les_modeles());
    let reprise = match (&decrite, donnees.get("operation")) {
        (Some(o), Some(ancienne)) if ancienne != o => {
            donnees["operation"] = o.clone();
            Some(donnees.to_string())
        }
        _ => None,
    };
    valider(app, workflow, &donnees)?;
    let maintenant = app.horloge.maintenant();
    let rendu = super::pipeline::rendre(
        app,
        &document.plie,
        &document.modele,
        donnees,
        maintenant,
        Vec::new(),
    )
    .await?;
    super::pipeline::garder_version(app, rendu.bytes()).await?;
    let expire = maintenant + workflow.expiration.0;
    let le = db::instant(maintenant);
    let mut tx = app.db.begin().await?;
    docs::ajouter_version(
        &mut tx,
        document.id,
        "rendu",
        &rendu.sha256().to_hex(),
        rendu.bytes().len() as i64,
        &le,
    )
    .await?;
    if let Some(donnees) = reprise {
        docs::changer_donnees(&mut tx, document.id, &donnees, None).await?;
    }
    docs::marquer_envoye(&mut tx, document.id, &le, &db::instant(expire)).await?;
    if !transition(app, &mut tx, &document, Etat::Envoye, &acteur.pseudonyme()).await? {
        return Err(Erreur::Conflit(
            "le document a changé entre-temps : rechargez-le".into(),
        ));
    }
    let signataires = signataires::du_document(&mut *tx, document.id).await?;
    for s in a_inviter(workflow, &signataires) {
        inviter(app, &mut tx, &document, s, maintenant, false).await?;
    }
    if signataires.is_empty() {
        // Nobody signs it (the FSE poster, a questionnaire's PDF sealed only): signed by all
        // as soon as sent, then sealed and filed like any other.
        let envoye = docs::par_id(&mut *tx, document.id)
            .await?
            .ok_or_else(|| Erreur::Interne("document envoyé introuvable".into()))?;
        if !transition(app, &mut tx, &envoye, Etat::Signe, &acteur.pseudonyme()).await? {
            return Err(Erreur::Conflit(
                "le document a changé entre-temps : rechargez-le".into(),
            ));
        }
        super::pipeline::demander_scellement(&mut tx, &envoye, maintenant).await?;
    }
    tx.commit().await?;
    app.reveil.sonner();
    charger(app, acteur, reference).await
}

/// The signers whose turn it is: everyone waiting in a parallel workflow; in a sequential one,
/// the first waiting, with the others of his group when his role signs as a group
/// (`plusieurs`: the attendees of a workshop sign in the order they come).
pub fn au_tour<'a>(workflow: &Workflow, signataires: &'a [Signataire]) -> Vec<&'a Signataire> {
    let mut attente = signataires
        .iter()
        .filter(|s| s.etat == EtatSignataire::Attente);
    match workflow.ordre {
        Ordre::Parallele => attente.collect(),
        Ordre::Sequentiel => {
            let Some(premier) = attente.next() else {
                return Vec::new();
            };
            let groupe = workflow
                .signataires
                .iter()
                .any(|d| d.plusieurs && d.role.nom() == premier.role);
            std::iter::once(premier)
                .chain(attente.take_while(|s| groupe && s.role == premier.role))
                .collect()
        }
    }
}

/// The signers to invite now: those whose turn it is ([`au_tour`]) who sign by link, and the
/// staff members the document names (`designe` in the workflow), told to sign from their
/// account; the others sign on the tablet of whoever holds it.
pub fn a_inviter<'a>(workflow: &Workflow, signataires: &'a [Signataire]) -> Vec<&'a Signataire> {
    au_tour(workflow, signataires)
        .into_iter()
        .filter(|s| s.methode == "lien" || signe_depuis_son_compte(workflow, s))
        .collect()
}

/// A staff member the workflow has the document name (`designe`), with his account.
fn signe_depuis_son_compte(workflow: &Workflow, s: &Signataire) -> bool {
    s.personnel_id.is_some()
        && workflow
            .signataires
            .iter()
            .any(|d| d.designe && d.role.nom() == s.role)
}

/// Gives a link signer a new invitation — the previous link and any code confirmed on it stop
/// working at once — and queues the e-mail that will carry its single-use link, drawn when the
/// message is sent ([`super::secrets`]).
pub async fn inviter(
    app: &App,
    tx: &mut sqlx::AnyConnection,
    document: &Document,
    signataire: &Signataire,
    maintenant: chrono::DateTime<chrono::Utc>,
    relance: bool,
) -> Result<(), Erreur> {
    let Some(email) = &signataire.email else {
        return Ok(());
    };
    if app
        .workflow(&document.workflow)
        .is_some_and(|w| signe_depuis_son_compte(w, signataire))
    {
        return aviser(app, tx, document, signataire, email, maintenant, relance).await;
    }
    let invitation = db::nouvelle_ref("i");
    let expire = maintenant + chrono::TimeDelta::hours(app.config.service.duree_lien_heures);
    let expire = document
        .expire_le
        .map_or(expire, |e| e.min(expire).max(maintenant));
    signataires::inviter(tx, signataire.id, &invitation, expire).await?;
    if relance && signataire.participant_id.is_some() {
        // A written reminder to the participant: unanswered while he does not sign (the
        // follow-up rules' « perte de contact »), whether a référent or the schedule sent it.
        db::suivi::noter_relance(tx, signataire.id, &db::instant(maintenant)).await?;
    }
    let workflow_titre = app
        .workflow(&document.workflow)
        .map_or(document.workflow.clone(), |w| w.titre.clone());
    // In the caller's transaction: taking a second connection while holding one could
    // exhaust the pool.
    let plie = referentiel::nom_plie(&mut *tx, &document.plie)
        .await?
        .unwrap_or_default();
    let courriel = Courriel {
        a: vec![email.clone()],
        objet: format!(
            "{}{workflow_titre} à signer — {plie}",
            if relance { "Rappel : " } else { "" }
        ),
        texte: format!(
            "Bonjour {},\n\n{plie} vous invite à signer le document « {workflow_titre} ».\n\n\
             Ouvrez ce lien personnel pour le lire et le signer :\n{}\n\n\
             Le lien ne sert qu'une fois et expire le {}. Un code de confirmation vous sera \
             envoyé par courriel au moment de signer.\n\nSi vous n'attendiez pas ce message, ignorez-le.\n",
            signataire.nom,
            super::secrets::MARQUE,
            parafe_core::model::heure_de_paris(expire),
        ),
        message_id: format!("<{invitation}.{}@parafe>", document.reference),
        piece_jointe: None,
        renvoi: false,
    };
    let secret = super::secrets::Secret::LienSignature {
        signataire: signataire.id,
        invitation: invitation.clone(),
    };
    outbox::ajouter(
        tx,
        &format!("courriel:lien:{invitation}"),
        Genre::Courriel,
        &document.plie,
        &json!({ "courriel": courriel, "document": document.reference, "secret": secret }),
        maintenant,
    )
    .await?;
    Ok(())
}

/// Tells a staff member that a document awaits his signature (or reminds him): no link that
/// signs, the document's page, where he signs once logged in to his own account.
async fn aviser(
    app: &App,
    tx: &mut sqlx::AnyConnection,
    document: &Document,
    signataire: &Signataire,
    email: &str,
    maintenant: chrono::DateTime<chrono::Utc>,
    relance: bool,
) -> Result<(), Erreur> {
    let titre = app
        .workflow(&document.workflow)
        .map_or(document.workflow.clone(), |w| w.titre.clone());
    let plie = referentiel::nom_plie(&mut *tx, &document.plie)
        .await?
        .unwrap_or_default();
    let avis = db::nouvelle_ref("a");
    let courriel = Courriel {
        a: vec![email.to_owned()],
        objet: format!(
            "{}{titre} à signer — {plie}",
            if relance { "Rappel : " } else { "" }
        ),
        texte: format!(
            "Bonjour {},\n\nLe document « {titre} » (référence {}) attend votre signature.\n\n\
             Signez-le depuis votre compte parafe :\n{}/documents/{}\n{}",
            signataire.nom,
            document.reference.to_uppercase(),
            app.url_publique(),
            document.reference,
            // Known from the sending on: the first notice goes out in the sending's transaction.
            document.expire_le.map_or_else(String::new, |e| format!(
                "\nLa demande expire le {}.\n",
                parafe_core::model::heure_de_paris(e)
            )),
        ),
        message_id: format!("<{avis}.{}@parafe>", document.reference),
        piece_jointe: None,
        renvoi: false,
    };
    outbox::ajouter(
        tx,
        &format!("courriel:avis:{avis}"),
        Genre::Courriel,
        &document.plie,
        &json!({ "courriel": courriel, "document": document.reference }),
        maintenant,
    )
    .await?;
    Ok(())
}

/// Cancels a document that is not signed by all yet (a draft, or one waiting for signatures).
pub async fn annuler(app: &App, acteur: &Acteur, reference: &str) -> Result<Document, Erreur> {
    modification_permise(acteur)?;
    let document = charger(app, acteur, reference).await?;
    let mut tx = app.db.begin().await?;
    if !transition(app, &mut tx, &document, Etat::Annule, &acteur.pseudonyme()).await? {
        return Err(Erreur::Conflit(
            "le document a changé entre-temps : rechargez-le".into(),
        ));
    }
    tx.commit().await?;
    app.reveil.sonner();
    charger(app, acteur, reference).await
}

/// How a participant's copy was handed over, as the référent records it (a screen's form, its
/// CSRF field beside).
#[derive(Debug, Deserialize)]
pub struct RemiseCopie {
    /// `main_propre` (printed and handed over) or `contact` (handed to the contact they named).
    pub mode: String,
    /// The contact who received it (mode `contact`).
    #[serde(default)]
    pub remis_a: String,
    /// `AAAA-MM-JJ`.
    pub remis_le: String,
}

/// Records how the participant's copy of a filed document was handed over (they have no
/// e-mail): journaled without the contact's name; the document is « remis aux destinataires »
/// once every copy has reached its recipient.
pub async fn remettre_copie(
    app: &App,
    acteur: &Acteur,
    reference: &str,
    r: RemiseCopie,
) -> Result<Document, Erreur> {
    use crate::db::remises::{self, ModeRemise};
    modification_permise(acteur)?;
    let document = charger(app, acteur, reference).await?;
    let mode = ModeRemise::try_from(r.mode.clone()).map_err(|_| {
        Erreur::invalide(
            "mode",
            "choisissez « imprimée et remise en main propre » (main_propre) ou « remise à son contact » (contact)",
        )
    })?;
    let remis_a = r.remis_a.trim();
    match mode {
        ModeRemise::Contact if remis_a.is_empty() => {
            return Err(Erreur::invalide(
                "remis_a",
                "indiquez à qui la copie a été remise (un proche, le service social…)",
            ))
        }
        _ if remis_a.chars().count() > 200 => {
            return Err(Erreur::invalide("remis_a", "200 caractères au plus"))
        }
        _ => {}
    }
    let remis_le = db::parse_jour(&r.remis_le).ok_or_else(|| {
        Erreur::invalide(
            "remis_le",
            format!("« {} » : date AAAA-MM-JJ attendue", r.remis_le),
        )
    })?;
    if remis_le > app.horloge.aujourdhui() {
        return Err(Erreur::invalide(
            "remis_le",
            "la date de remise ne peut pas être après aujourd'hui",
        ));
    }
    let role = Role::Participant.nom();
    let Some(due) = remises::du_document(&app.db, document.id)
        .await?
        .into_iter()
        .find(|x| x.destinataire == role && x.mode.is_none())
    else {
        return Err(Erreur::Conflit(
            "aucune copie n'est à remettre en main propre pour ce document".into(),
        ));
    };
    let deposee_le = parafe_core::horloge::jour_a_paris(due.du_le);
    if remis_le < deposee_le {
        return Err(Erreur::invalide(
            "remis_le",
            format!(
                "la copie n'existait pas encore : le document a été scellé le {}",
                deposee_le.format("%d/%m/%Y")
            ),
        ));
    }
    let mut tx = app.db.begin().await?;
    let remis_a = (mode == ModeRemise::Contact).then_some(remis_a);
    if !remises::faite(
        &mut tx,
        document.id,
        role,
        mode,
        remis_a,
        remis_le,
        acteur.personnel_id,
    )
    .await?
    {
        return Err(Erreur::Conflit(
            "la remise de cette copie vient d'être consignée : rechargez la page".into(),
        ));
    }
    let evenement = parafe_core::model::JournalEvent::DocumentHandedOver {
        document: document.reference.clone(),
        recipient: role.into(),
        mode: mode.code().into(),
        handed_on: remis_le,
        actor: acteur.pseudonyme(),
    };
    outbox::ajouter(
        &mut tx,
        &format!("journal:remise-en-main:{}:{role}", document.reference),
        Genre::Journal,
        &document.plie,
        &json!({ "evenement": evenement, "objets": [document.sha256_scelle] }),
        app.horloge.maintenant(),
    )
    .await?;
    if document.etat == Etat::Depose && super::pipeline::tout_remis(&mut tx, &document).await? {
        transition(app, &mut tx, &document, Etat::Delivre, &acteur.pseudonyme()).await?;
    }
    tx.commit().await?;
    app.reveil.sonner();
    charger(app, acteur, reference).await
}

/// Sends the waiting link signers a new link (the previous one stops working).
pub async fn relancer(app: &App, acteur: &Acteur, reference: &str) -> Result<usize, Erreur> {
    modification_permise(acteur)?;
    let document = charger(app, acteur, reference).await?;
    if !document.etat.en_signature() {
        return Err(Erreur::Conflit(format!(
            "un document {} ne se relance pas",
            document.etat
        )));
    }
    let workflow = app
        .workflow(&document.workflow)
        .ok_or_else(|| Erreur::Conflit("workflow disparu".into()))?;
    let mut tx = app.db.begin().await?;
    // A write first: the transaction takes SQLite's write lock (waiting for it) before it
    // reads, so that the outbox's commits meanwhile cannot invalidate its reads (SQLITE_BUSY).
    docs::toucher(&mut tx, document.id, &db::instant(app.horloge.maintenant())).await?;
    let signataires = signataires::du_document(&mut *tx, document.id).await?;
    let invites = a_inviter(workflow, &signataires);
    for s in &invites {
        inviter(app, &mut tx, &document, s, app.horloge.maintenant(), true).await?;
    }
    tx.commit().await?;
    app.reveil.sonner();
    Ok(invites.len())
}

/// The documents of the caller's reach that match the filter.
pub async fn lister(
    app: &App,
    acteur: &Acteur,
    filtre: &docs::Filtre,
) -> Result<Vec<Document>, Erreur> {
    let mut documents = docs::liste(
        &app.db,
        acteur.plie.as_str(),
        acteur.portefeuille(),
        filtre,
        1000,
    )
    .await?;
    let lit = lecture_des_modeles(app, acteur);
    documents.retain(|d| lit(&d.modele));
    Ok(documents)
}

/// A document of the caller's reach with its signers.
pub async fn avec_signataires(
    app: &App,
    document: Document,
) -> Result<(Document, Vec<crate::db::signataires::Signataire>), Erreur> {
    let signataires = crate::db::signataires::du_document(&app.db, document.id).await?;
    Ok((document, signataires))
}

/// The PDF of a document: the sealed one once sealed, else the version shown to signers.
pub async fn pdf(
    app: &App,
    acteur: &Acteur,
    reference: &str,
) -> Result<(Document, Vec<u8>), Erreur> {
    let document = charger(app, acteur, reference).await?;
    let sha = document
        .sha256_scelle
        .clone()
        .or_else(|| document.sha256_rendu.clone())
        .ok_or_else(|| {
            Erreur::Conflit("ce brouillon n'a pas encore été composé : envoyez-le".into())
        })?;
    let octets = super::pipeline::lire_version(app, &sha).await?;
    let evenement = parafe_core::model::JournalEvent::DocumentDownloaded {
        actor: acteur.pseudonyme(),
    };
    let plie = acteur.plie.clone();
    let objet = parafe_core::model::Sha256Digest::from_hex(&sha)
        .into_iter()
        .collect();
    app.vault.record(&plie, evenement, objet).await?;
    Ok((document, octets))
}

/// Completes or corrects a draft's data (an opened bilan is written this way).
/// What the file knows is filled beneath; every field is checked when the document is sent.
pub async fn modifier_donnees(
    app: &App,
    acteur: &Acteur,
    reference: &str,
    donnees: Value,
) -> Result<Document, Erreur> {
    modification_permise(acteur)?;
    let document = charger(app, acteur, reference).await?;
    if !document.etat.modifiable() {
        return Err(Erreur::Conflit(format!(
            "un document {} ne se modifie plus",
            document.etat
        )));
    }
    let Value::Object(nouvelles) = donnees else {
        return Err(Erreur::invalide(
            "donnees",
            "attendu un objet JSON des champs du modèle",
        ));
    };
    let schema = app.catalogue.get(&document.modele).map_err(Erreur::from)?;
    if let Some(inconnu) = nouvelles
        .keys()
        .find(|k| !schema.champs.iter().any(|(n, _)| n == *k))
    {
        return Err(Erreur::invalide(
            &format!("donnees.{inconnu}"),
            format!(
                "le modèle « {} » n'a pas de champ « {inconnu} »",
                document.modele
            ),
        ));
    }
    let participant = match document.participant_id {
        Some(id) => participants::par_id(&app.db, acteur.plie.as_str(), id).await?,
        None => None,
    };
    let mut fusion = prefill(
        app,
        &document.modele,
        acteur.plie.as_str(),
        participant.as_ref(),
        acteur,
        &document.reference,
    )
    .await?;
    if let Ok(Value::Object(actuelles)) = serde_json::from_str(&document.donnees) {
        fusion.extend(actuelles);
    }
    fusion.extend(nouvelles);
    if !docs::modifier_brouillon(
        &app.db,
        document.id,
        &Value::Object(fusion).to_string(),
        &db::instant(app.horloge.maintenant()),
    )
    .await?
    {
        return Err(Erreur::Conflit(
            "le document a changé entre-temps : rechargez-le".into(),
        ));
    }
    charger(app, acteur, reference).await
}
