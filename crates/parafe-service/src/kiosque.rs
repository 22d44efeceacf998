//! The émargement kiosk: a référent opens a sheet (individual interview or collective workshop)
//! on a tablet, which is then locked on it; each attendee taps their name (or is added on the
//! spot) and signs; the animator (or the référent) signs last and closes the sheet, which the
//! outbox then renders, seals and files. Leaving the kiosk asks the référent's password.
//!
//! Signatures arrive with a key chosen by the tablet: a signature kept on the tablet during a
//! network outage and sent again is recorded once. Attendees sign in the order they come, each
//! on his own line of the sheet (the workflow's `plusieurs` group signs in any order), the
//! time of each signature beside it. The version every signer is shown is the sheet as opened (its SHA-256);
//! attendees added on the spot and absentees removed at closing appear in the sealed version
//! and its evidence. A person signs a sheet once: the same participant of the PLIE, or, for
//! someone it does not know, the same name ([`nom_compare`]). Closing is all or nothing.
//! A tablet locked on a sheet sees that sheet only.

use super::documents::{self, DemandeDocument, SignataireDemande};
use super::signature::{self, Contexte, Signature};
use super::{App, Erreur};
use crate::auth::session::{self, Session};
use crate::auth::Acteur;
use crate::db::documents::{self as docs, Document};
use crate::db::kiosque::{self as seances, EtatKiosque, Kiosque};
use crate::db::signataires::{self, EtatSignataire, Signataire};
use crate::db::{self, participants, personnel, referentiel};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

pub const WORKFLOW_COLLECTIF: &str = "emargement-collectif";
pub const WORKFLOW_INDIVIDUEL: &str = "emargement-individuel";

/// What the référent fills in to open a sheet.
#[derive(Debug, Clone, Deserialize)]
pub struct Ouverture {
    /// `individuel` or `collectif`.
    pub genre: String,
    /// Participants' references: the one interviewed, or those expected at the workshop.
    pub participants: Vec<String>,
    pub date: String,
    pub heure_debut: String,
    pub heure_fin: String,
    pub lieu: String,
    /// Workshop title (collective).
    #[serde(default)]
    pub intitule: String,
    /// Interview (individual): `sur place` or `à distance`, subject and short content.
    #[serde(default)]
    pub modalite: String,
    #[serde(default)]
    pub objet: String,
    #[serde(default)]
    pub contenu: String,
    #[serde(default)]
    pub suite: String,
}

/// A signature sent by the tablet.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envoi {
    /// Chosen by the tablet, the same on every resend.
    pub cle: String,
    /// The attendee on the sheet (the signer's id, which stays his when places change); or
    /// `nouveau`, a person added on the spot.
    pub signataire: Option<i64>,
    pub nouveau: Option<NouveauPresent>,
    pub signature: Signature,
    /// The tablet's clock when the signature was drawn (kept, not trusted).
    pub capture_le: Option<String>,
    /// At the closing of a collective sheet: the expected attendees (signer ids) who did not
    /// come and are excused; the others who did not sign are absent without excuse.
    #[serde(default)]
    pub excuses: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NouveauPresent {
    pub prenom: String,
    pub nom: String,
    #[serde(default)]
    pub commune: String,
}

/// What the tablet is told after a signature.
#[derive(Debug, Clone, Serialize)]
pub struct Recu {
    /// Place of the signer on the sheet.
    pub rang: i64,
    /// True when this key had already been recorded (a resend).
    pub deja: bool,
    /// The sheet's state after it.
    pub etat: parafe_core::document::Etat,
}

/// One operation at a time per sheet (a tablet sends in order; a resend may race its original,
/// a phone may sign while the animator closes), in this process. Several instances of a cluster
/// also take the database's lock ([`verrouiller`]).
fn verrou(kiosque: i64) -> Arc<tokio::sync::Mutex<()>> {
    static V: OnceLock<Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut carte = V
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if carte.len() > 10_000 {
        carte.retain(|_, v| Arc::strong_count(v) > 1);
    }
    carte.entry(kiosque).or_default().clone()
}

/// A sheet's locks, held until dropped (after the transaction of [`verrouiller`] ends).
pub struct Verrou {
    _tenu: tokio::sync::OwnedMutexGuard<()>,
    _place: tokio::sync::OwnedSemaphorePermit,
}

/// Opens the transaction that writes to the sheet, holding its locks until it ends: this
/// process's, then the database's (PostgreSQL; SQLite has one writer, one process), so that a
/// send answered by another instance waits for this one. What decides the write is read after,
/// from the committed state (the send keys too: they are in the database, whatever instance
/// recorded them).
///
/// The reads under the lock take a second connection of the pool while the transaction holds
/// one: at most half the pool goes to sheets' transactions, so that those reads always find a
/// connection (with 50 tablets on 8 or 16 connections, every connection could otherwise be a
/// transaction waiting for a second one, until the pool's timeout).
pub async fn verrouiller(
    app: &App,
    kiosque: i64,
) -> Result<(Verrou, sqlx::Transaction<'static, sqlx::Any>), Erreur> {
    static PLACES: OnceLock<Arc<tokio::sync::Semaphore>> = OnceLock::new();
    let tenu = verrou(kiosque).lock_owned().await;
    let places = PLACES.get_or_init(|| {
        let pool = app.db.options().get_max_connections() as usize;
        Arc::new(tokio::sync::Semaphore::new((pool / 2).max(1)))
    });
    let place = places
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| Erreur::Interne(e.to_string()))?;
    let mut tx = app.db.begin().await?;
    db::verrouiller(&mut tx, &format!("feuille:{kiosque}")).await?;
    Ok((
        Verrou {
            _tenu: tenu,
            _place: place,
        },
        tx,
    ))
}

fn modification_permise(acteur: &Acteur) -> Result<(), Erreur> {
    if acteur.peut_modifier() {
        Ok(())
    } else {
        Err(Erreur::Interdit(
            "un assistant n'ouvre pas de feuille d'émargement".into(),
        ))
    }
}

fn requis(champ: &str, valeur: &str, libelle: &str) -> Result<(), Erreur> {
    if valeur.trim().is_empty() {
        Err(Erreur::invalide(champ, format!("indiquez {libelle}")))
    } else {
        Ok(())
    }
}

/// Opens a sheet and locks the staff member's session (the tablet) on it.
pub async fn ouvrir(
    app: &App,
    session: &Session,
    o: &Ouverture,
    tablette: &str,
) -> Result<Kiosque, Erreur> {
    let acteur = &session.acteur;
    modification_permise(acteur)?;
    requis("date", &o.date, "la date")?;
    requis("heure_debut", &o.heure_debut, "l'heure de début")?;
    requis("heure_fin", &o.heure_fin, "l'heure de fin")?;
    requis("lieu", &o.lieu, "le lieu")?;
    let plie = acteur.plie.as_str();
    let mut presents = Vec::new();
    for r in &o.participants {
        let p = participants::a_portee(&app.db, plie, acteur.portefeuille(), r)
            .await?
            .ok_or_else(|| {
                Erreur::invalide(
                    "participants",
                    format!("aucun participant « {r} » dans votre portefeuille"),
                )
            })?;
        presents.push(p);
    }
    let mut donnees = Map::new();
    for (k, v) in [
        ("date", &o.date),
        ("heure_debut", &o.heure_debut),
        ("heure_fin", &o.heure_fin),
        ("lieu", &o.lieu),
    ] {
        donnees.insert(k.into(), json!(v.trim()));
    }
    let demande = match o.genre.as_str() {
        "individuel" => {
            let [p] = presents.as_slice() else {
                return Err(Erreur::invalide(
                    "participants",
                    "choisissez le participant reçu en entretien",
                ));
            };
            requis("objet", &o.objet, "l'objet de l'entretien")?;
            requis("contenu", &o.contenu, "le contenu de l'entretien")?;
            let modalite = if o.modalite.is_empty() {
                "sur place"
            } else {
                o.modalite.as_str()
            };
            donnees.insert("modalite".into(), json!(modalite));
            donnees.insert("objet".into(), json!(o.objet.trim()));
            donnees.insert("contenu".into(), json!(o.contenu.trim()));
            if !o.suite.trim().is_empty() {
                donnees.insert("suite".into(), json!(o.suite.trim()));
            }
            DemandeDocument {
                workflow: WORKFLOW_INDIVIDUEL.into(),
                participant: Some(p.reference.clone()),
                donnees: Value::Object(donnees),
                signataires: ["participant", "referent"]
                    .into_iter()
                    .map(|role| SignataireDemande {
                        role: role.into(),
                        nom: None,
                        email: None,
                        methode: Some("tablette".into()),
                    })
                    .collect(),
            }
        }
        "collectif" => {
            requis("intitule", &o.intitule, "l'intitulé de l'atelier")?;
            if presents.is_empty() {
                return Err(Erreur::invalide(
                    "participants",
                    "choisissez au moins un participant attendu (d'autres pourront être ajoutés sur place)",
                ));
            }
            donnees.insert("intitule".into(), json!(o.intitule.trim()));
            donnees.insert(
                "participants".into(),
                json!(presents
                    .iter()
                    .map(|p| json!({ "identifiant": p.fiche.identifiant_externe, "nom": p.fiche.nom, "prenom": p.fiche.prenom, "commune": p.fiche.commune }))
                    .collect::<Vec<_>>()),
            );
            let operation = presents
                .iter()
                .find_map(|p| p.fiche.operation_id)
                .ok_or_else(|| {
                    Erreur::invalide(
                        "participants",
                        "aucun des participants choisis n'est rattaché à une opération FSE",
                    )
                })?;
            let op = referentiel::operation(&app.db, plie, operation)
                .await?
                .ok_or_else(|| Erreur::Interne("opération disparue".into()))?;
            donnees.insert("operation".into(), op.pour_les_modeles());
            let animateur = personnel::par_id(&app.db, plie, acteur.personnel_id)
                .await?
                .ok_or_else(|| Erreur::Interne("compte disparu".into()))?;
            let qualite = if animateur.structure.is_empty() {
                "Animateur de l'atelier".to_owned()
            } else {
                format!("Animateur de l'atelier, {}", animateur.structure)
            };
            donnees.insert(
                "animateur".into(),
                json!({ "nom": animateur.nom, "prenom": animateur.prenom, "qualite": qualite, "email": animateur.email }),
            );
            DemandeDocument {
                workflow: WORKFLOW_COLLECTIF.into(),
                participant: None,
                donnees: Value::Object(donnees),
                signataires: Vec::new(),
            }
        }
        autre => {
            return Err(Erreur::invalide(
                "genre",
                format!("« {autre} » : individuel ou collectif attendu"),
            ))
        }
    };
    let document = documents::creer(app, acteur, demande).await?;
    let document = documents::envoyer(app, acteur, &document.reference).await?;
    let reference = db::reference_triee("k");
    let maintenant = db::instant(app.horloge.maintenant());
    let mut tx = app.db.begin().await?;
    let id = seances::ouvrir(
        &mut tx,
        plie,
        &reference,
        document.id,
        &tablette.chars().take(300).collect::<String>(),
        acteur.personnel_id,
        &maintenant,
    )
    .await?;
    session::verrouiller(&mut *tx, &session.empreinte, Some(id)).await?;
    tx.commit().await?;
    charger(app, acteur, &reference).await
}

/// A kiosk session of the caller's PLIE (and portfolio: a référent sees the sheets he opened).
pub async fn charger(app: &App, acteur: &Acteur, reference: &str) -> Result<Kiosque, Erreur> {
    let k = seances::par_ref(
        &app.db,
        acteur.plie.as_str(),
        reference,
        acteur.portefeuille(),
    )
    .await?;
    k.ok_or_else(|| Erreur::Introuvable(format!("aucune feuille d'émargement « {reference} »")))
}

/// A sheet the session may see: [`charger`], and on a tablet locked on a sheet, that sheet only.
pub async fn lisible(app: &App, session: &Session, reference: &str) -> Result<Kiosque, Erreur> {
    let k = charger(app, &session.acteur, reference).await?;
    if session.kiosque.is_some_and(|id| id != k.id) {
        return Err(Erreur::Interdit(
            "cette tablette est verrouillée sur une autre feuille".into(),
        ));
    }
    Ok(k)
}

/// The sheet's document.
pub async fn document(app: &App, k: &Kiosque) -> Result<Document, Erreur> {
    docs::par_id(&app.db, k.document_id)
        .await?
        .ok_or_else(|| Erreur::Interne("feuille sans document".into()))
}

/// The kiosk's sheet, if the session is locked on it and it is still open.
async fn ouvert(
    app: &App,
    session: &Session,
    reference: &str,
) -> Result<(Kiosque, Document), Erreur> {
    let k = lisible(app, session, reference).await?;
    if session.kiosque != Some(k.id) {
        return Err(Erreur::Interdit(
            "cette tablette n'est pas verrouillée sur cette feuille : rouvrez-la depuis le document".into(),
        ));
    }
    if k.etat == EtatKiosque::Clos {
        return Err(Erreur::Conflit("cette feuille est déjà close".into()));
    }
    let d = document(app, &k).await?;
    Ok((k, d))
}

/// The signer a tablet's send was recorded for, if this key was seen already.
async fn envoi_connu(app: &App, k: &Kiosque, cle: &str) -> Result<Option<i64>, Erreur> {
    if cle.is_empty() || cle.len() > 100 {
        return Err(Erreur::invalide(
            "cle",
            "clé d'envoi de 1 à 100 caractères attendue",
        ));
    }
    Ok(seances::envoi(&app.db, k.id, cle).await?)
}

/// Records a tablet's send key and the signer it concerns (with the tablet's own clock, kept
/// as evidence of when a signature captured offline was drawn).
async fn noter_envoi<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    k: &Kiosque,
    envoi: &Envoi,
    signataire: i64,
    le: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    let capture: Option<String> = envoi
        .capture_le
        .as_deref()
        .map(|c| c.chars().take(40).collect());
    seances::noter_envoi(
        db,
        k.id,
        envoi.cle.trim(),
        signataire,
        le,
        capture.as_deref(),
    )
    .await
}

/// Whether the tablet drew this signature a while before sending it (network outage).
fn capture_differee(app: &App, envoi: &Envoi) -> bool {
    envoi
        .capture_le
        .as_deref()
        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
        .is_some_and(|c| {
            app.horloge.maintenant() - c.with_timezone(&chrono::Utc)
                > chrono::TimeDelta::seconds(30)
        })
}

/// The signers' names as the tablet shows them, in their order: attendees bearing the same name
/// carry what tells them apart, as the PLIE prefers ([`super::participants::reperes`]), so
/// that each taps his own line.
pub async fn noms_affiches(
    app: &App,
    d: &Document,
    signataires: &[Signataire],
) -> Result<Vec<String>, Erreur> {
    let mut fiches = Vec::with_capacity(signataires.len());
    for x in signataires {
        fiches.push(match x.participant_id {
            Some(id) if x.role == "participant" => participants::par_id(&app.db, &d.plie, id)
                .await?
                .map(|p| p.fiche),
            _ => None,
        });
    }
    let attendus: Vec<(usize, super::participants::Nomme)> = signataires
        .iter()
        .zip(&fiches)
        .enumerate()
        .filter(|(_, (x, _))| x.role == "participant")
        .map(|(i, (x, f))| {
            let nomme = match f {
                Some(f) => super::participants::Nomme::from(f),
                // Someone added on the spot: his name only, as written on the sheet.
                None => super::participants::Nomme {
                    prenom: "",
                    nom: &x.nom,
                    date_naissance: None,
                    commune: "",
                    identifiant: "",
                },
            };
            (i, nomme)
        })
        .collect();
    let personnes: Vec<_> = attendus.iter().map(|(_, n)| *n).collect();
    let reperes = super::participants::reperes_du_plie(app, &d.plie, &personnes).await?;
    let mut noms: Vec<String> = signataires.iter().map(|x| x.nom.clone()).collect();
    for ((i, _), repere) in attendus.iter().zip(reperes) {
        if let (Some(nom), Some(r)) = (noms.get_mut(*i), repere) {
            *nom = format!("{nom} · {r}");
        }
    }
    Ok(noms)
}

/// The attendees' entries of a sheet's data, in the order of the attendee signers.
fn presents_de(donnees: &Value) -> Vec<Value> {
    donnees
        .get("participants")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// A person's name as the kiosk compares names: the words of first and last name, in any
/// order, accents, case, hyphens and apostrophes aside (« Bénali Samira » is « Samira BENALI »).
fn nom_compare(nom: &str) -> Vec<String> {
    let mut mots: Vec<String> = crate::pack::plan::ascii(nom)
        .to_lowercase()
        .split('-')
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    mots.sort();
    mots
}

/// The one participant of the sheet opener's portfolio with this name ([`nom_compare`]), if
/// there is exactly one.
async fn participant_du_nom(
    app: &App,
    d: &Document,
    nom: &[String],
) -> Result<Option<participants::Participant>, Erreur> {
    let portefeuille = seances::referent_du_document(&app.db, d.id).await?;
    let candidats = participants::liste(&app.db, &d.plie, portefeuille, None, 5000).await?;
    let mut trouves = candidats
        .into_iter()
        .filter(|c| nom_compare(&format!("{} {}", c.fiche.prenom, c.fiche.nom)) == nom);
    Ok(match (trouves.next(), trouves.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    })
}

/// Adds a person on the spot and takes her signature, in one transaction: a refused signature
/// adds nobody.
async fn ajouter_et_signer(
    app: &App,
    session: &Session,
    k: &Kiosque,
    d: &Document,
    envoi: &Envoi,
    contexte: &Contexte,
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
) -> Result<Recu, Erreur> {
    let n = envoi
        .nouveau
        .as_ref()
        .ok_or_else(|| Erreur::invalide("nouveau", "la personne à ajouter manque"))?;
    let id = ajouter_present(app, &mut tx, k, d, envoi, n).await?;
    let present = signataires::du_document(&mut *tx, d.id)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| Erreur::Interne("présent ajouté introuvable".into()))?;
    let recueillie = signature::recueillir_sur_place(
        app,
        &session.acteur,
        d,
        &present,
        &envoi.signature,
        contexte,
    )?;
    signature::inscrire(app, &mut tx, &recueillie).await?;
    tx.commit().await?;
    app.reveil.sonner();
    Ok(Recu {
        rang: present.rang,
        deja: false,
        etat: document(app, k).await?.etat,
    })
}

/// Adds a person on the spot in `tx`: a new attendee line and a signer placed before the
/// animator, unless she is on the sheet already (a person signs a sheet once).
async fn ajouter_present(
    app: &App,
    tx: &mut sqlx::AnyConnection,
    k: &Kiosque,
    d: &Document,
    envoi: &Envoi,
    n: &NouveauPresent,
) -> Result<i64, Erreur> {
    if d.workflow != WORKFLOW_COLLECTIF {
        return Err(Erreur::invalide(
            "nouveau",
            "on n'ajoute personne à un entretien individuel",
        ));
    }
    let (prenom, nom) = (n.prenom.trim(), n.nom.trim());
    if prenom.is_empty()
        || nom.is_empty()
        || prenom.chars().count() > 80
        || nom.chars().count() > 80
    {
        return Err(Erreur::invalide(
            "nouveau",
            "indiquez le prénom et le nom de la personne (80 caractères au plus)",
        ));
    }
    let compare = nom_compare(&format!("{prenom} {nom}"));
    // Someone of the portfolio who was not expected: his file gets the sheet too.
    let connu = participant_du_nom(app, d, &compare).await?;
    let signataires = signataires::du_document(&app.db, d.id).await?;
    let meme_personne = |s: &&Signataire| {
        s.role == "participant"
            && (connu
                .as_ref()
                .is_some_and(|p| s.participant_id == Some(p.id))
                || nom_compare(&s.nom) == compare)
    };
    if let Some(deja) = signataires.iter().find(meme_personne) {
        return Err(Erreur::Conflit(if deja.etat == EtatSignataire::Signe {
            format!(
                "{} a déjà signé cette feuille : une personne ne signe qu'une fois",
                deja.nom
            )
        } else {
            format!(
                "{} est déjà sur la feuille : touchez son nom pour signer",
                deja.nom
            )
        }));
    }
    let mut donnees: Value = serde_json::from_str(&d.donnees)?;
    let mut liste = presents_de(&donnees);
    let mut entree = match &connu {
        Some(p) => {
            json!({ "identifiant": p.fiche.identifiant_externe, "nom": p.fiche.nom, "prenom": p.fiche.prenom, "commune": p.fiche.commune })
        }
        None => json!({ "identifiant": "ajouté sur place", "nom": nom, "prenom": prenom }),
    };
    if connu.is_none() && !n.commune.trim().is_empty() {
        entree["commune"] = json!(n.commune.trim());
    }
    liste.push(entree);
    donnees["participants"] = Value::Array(liste);
    if let Some(w) = app.workflow(&d.workflow) {
        documents::valider(app, w, &donnees)?;
    }
    let le = app.horloge.maintenant();
    // A write first: the transaction takes the write lock (waiting for it) before it reads, so
    // that another writer's commit cannot invalidate its reads half-way (SQLITE_BUSY).
    docs::changer_donnees(tx, d.id, &donnees.to_string(), Some(&db::instant(le))).await?;
    let id = signataires::ajouter_present(
        tx,
        d.id,
        &format!("{prenom} {}", nom.to_uppercase()),
        connu.as_ref().map(|p| p.id),
    )
    .await?;
    // The key goes with the person: a resend signs her, it does not add her twice.
    noter_envoi(&mut *tx, k, envoi, id, le).await?;
    Ok(id)
}

/// An attendee's signature from the tablet. A resend (same key), or a second tap on someone
/// who has signed, answers what was recorded and records nothing more.
pub async fn signer(
    app: &App,
    session: &Session,
    reference: &str,
    envoi: Envoi,
    contexte: &Contexte,
) -> Result<Recu, Erreur> {
    let (k, _) = ouvert(app, session, reference).await?;
    let (_verrou, mut tx) = verrouiller(app, k.id).await?;
    // Read under the sheet's lock: another send may have changed it meanwhile.
    let d = document(app, &k).await?;
    let connu = envoi_connu(app, &k, envoi.cle.trim()).await?;
    let id = match (connu, &envoi.nouveau, envoi.signataire) {
        (Some(id), _, _) => id,
        (None, Some(_), _) => {
            return ajouter_et_signer(app, session, &k, &d, &envoi, contexte, tx).await
        }
        (None, None, Some(id)) => id,
        (None, None, None) => {
            return Err(Erreur::invalide(
                "signataire",
                "qui signe ? signataire ou nouveau attendu",
            ))
        }
    };
    let present = signataires::sur_le_document(&app.db, d.id, id)
        .await?
        .ok_or_else(|| Erreur::invalide("signataire", "cette personne n'est pas sur la feuille"))?;
    let rang = present.rang;
    if present.role != "participant" {
        return Err(Erreur::invalide(
            "signataire",
            "l'animateur signe en clôturant la feuille",
        ));
    }
    if present.etat == EtatSignataire::Signe {
        return Ok(Recu {
            rang,
            deja: true,
            etat: document(app, &k).await?.etat,
        });
    }
    // The checks of a signature on the spot, against the state read under the lock, then the
    // signature written in the lock's transaction.
    signature::a_son_tour(app, &d, |s| s.id == present.id).await?;
    let recueillie = signature::recueillir_sur_place(
        app,
        &session.acteur,
        &d,
        &present,
        &envoi.signature,
        contexte,
    )?;
    signature::inscrire(app, &mut tx, &recueillie).await?;
    if connu.is_none() && capture_differee(app, &envoi) {
        noter_envoi(&mut *tx, &k, &envoi, id, app.horloge.maintenant()).await?;
    }
    tx.commit().await?;
    app.reveil.sonner();
    Ok(Recu {
        rang,
        deja: false,
        etat: document(app, &k).await?.etat,
    })
}

/// The closing signature (the animator, or the référent of an interview): the last signer
/// signs, absentees are taken off the sheet, the document goes to sealing and the tablet is
/// unlocked — all in one transaction, once the signature is checked: a refused closing leaves
/// the sheet as it was. A resend after it went through answers what was recorded.
pub async fn cloturer(
    app: &App,
    session: &Session,
    reference: &str,
    envoi: Envoi,
    contexte: &Contexte,
) -> Result<Recu, Erreur> {
    let k = lisible(app, session, reference).await?;
    let (_verrou, tx) = verrouiller(app, k.id).await?;
    // Read under the sheet's lock: the closing may have gone through meanwhile, on any instance.
    let k = lisible(app, session, reference).await?;
    if k.etat == EtatKiosque::Clos {
        if let Some(id) = envoi_connu(app, &k, envoi.cle.trim()).await? {
            let d = document(app, &k).await?;
            let rang = signataires::sur_le_document(&app.db, d.id, id)
                .await?
                .ok_or_else(|| Erreur::Interne("signataire de la clôture introuvable".into()))?
                .rang;
            return Ok(Recu {
                rang,
                deja: true,
                etat: d.etat,
            });
        }
    }
    let (k, _) = ouvert(app, session, reference).await?;
    let d = document(app, &k).await?;
    let signataires = signataires::du_document(&app.db, d.id).await?;
    let dernier = signataires
        .iter()
        .filter(|s| s.role != "participant")
        .max_by_key(|s| s.rang)
        .cloned()
        .ok_or_else(|| Erreur::Interne("feuille sans animateur".into()))?;
    // Signed already (on the document's page): only the unlocking is left.
    let deja = dernier.etat == EtatSignataire::Signe;
    let mut tx = if deja {
        tx
    } else {
        let signes = signataires
            .iter()
            .filter(|s| s.role == "participant" && s.etat == EtatSignataire::Signe)
            .count();
        let absents: Vec<i64> = signataires
            .iter()
            .filter(|s| s.role == "participant" && s.etat == EtatSignataire::Attente)
            .map(|s| s.id)
            .collect();
        if signes == 0 {
            return Err(Erreur::Conflit(
                "personne n'a encore signé : la feuille ne peut pas être close".into(),
            ));
        }
        if d.workflow == WORKFLOW_INDIVIDUEL && !absents.is_empty() {
            return Err(Erreur::Conflit(
                "le participant n'a pas encore signé".into(),
            ));
        }
        let recueillie = signature::recueillir_sur_place(
            app,
            &session.acteur,
            &d,
            &dernier,
            &envoi.signature,
            contexte,
        )?;
        let mut tx = tx;
        if d.workflow == WORKFLOW_COLLECTIF {
            // Absentees leave the sheet: their lines, in the order of the attendee signers.
            let lignes = signataires.iter().filter(|s| s.role == "participant");
            let mut donnees: Value = serde_json::from_str(&d.donnees)?;
            let liste: Vec<Value> = presents_de(&donnees)
                .into_iter()
                .zip(lignes)
                .filter(|(_, s)| !absents.contains(&s.id))
                .map(|(v, _)| v)
                .collect();
            // Who did not come, excused or not: the follow-up rules count them.
            let jour = donnees
                .get("date")
                .and_then(Value::as_str)
                .and_then(db::parse_jour)
                .unwrap_or_else(|| app.horloge.aujourdhui());
            let absences: Vec<(i64, bool)> = signataires
                .iter()
                .filter(|s| absents.contains(&s.id))
                .filter_map(|s| Some((s.participant_id?, envoi.excuses.contains(&s.id))))
                .collect();
            donnees["participants"] = Value::Array(liste);
            donnees["cloture"] = json!(recueillie.le().to_rfc3339());
            crate::db::suivi::noter_absences(
                &mut tx,
                &d.plie,
                d.id,
                jour,
                &absences,
                &db::instant(app.horloge.maintenant()),
            )
            .await?;
            signataires::retirer_absents(&mut tx, &absents).await?;
            docs::changer_donnees(&mut tx, d.id, &donnees.to_string(), None).await?;
        }
        signature::inscrire(app, &mut tx, &recueillie).await?;
        tx
    };
    let le = app.horloge.maintenant();
    seances::clore(&mut tx, k.id, &db::instant(le)).await?;
    noter_envoi(&mut *tx, &k, &envoi, dernier.id, le).await?;
    session::verrouiller(&mut *tx, &session.empreinte, None).await?;
    tx.commit().await?;
    app.reveil.sonner();
    Ok(Recu {
        rang: dernier.rang,
        deja,
        etat: document(app, &k).await?.etat,
    })
}

/// Leaves kiosk mode with the password of the staff member who is logged in on the tablet
/// (wrong passwords count towards the account's lock-out). The sheet stays open.
pub async fn quitter(app: &App, session: &Session, mot_de_passe: &str) -> Result<(), Erreur> {
    match crate::auth::comptes::verifier_mot_de_passe(
        app,
        Some(session.acteur.personnel_id),
        mot_de_passe,
    )
    .await
    {
        Ok(()) => {}
        Err(crate::auth::comptes::RefusConnexion::Erreur(e)) => return Err(e),
        Err(crate::auth::comptes::RefusConnexion::Identifiants) => {
            return Err(Erreur::invalide(
                "mot_de_passe",
                "mot de passe incorrect : la tablette reste verrouillée",
            ))
        }
        Err(autre) => return Err(Erreur::Interdit(autre.to_string())),
    }
    session::verrouiller(&app.db, &session.empreinte, None).await?;
    Ok(())
}

/// Locks the session on an open sheet again (the référent takes the tablet back to it).
pub async fn reprendre(app: &App, session: &Session, reference: &str) -> Result<Kiosque, Erreur> {
    modification_permise(&session.acteur)?;
    let k = charger(app, &session.acteur, reference).await?;
    if k.etat == EtatKiosque::Clos {
        return Err(Erreur::Conflit("cette feuille est déjà close".into()));
    }
    session::verrouiller(&app.db, &session.empreinte, Some(k.id)).await?;
    Ok(k)
}

/// The sheet of a document, if it has one.
pub async fn de_document(app: &App, document_id: i64) -> Result<Option<Kiosque>, Erreur> {
    Ok(seances::du_document(&app.db, document_id).await?)
}
