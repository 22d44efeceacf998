//! Staff accounts: logging in (with lock-out after repeated failures), activation and password
//! reset by single-use e-mail links, the first administrator created at first start, accounts
//! and API tokens managed by administrators.

use super::{mots_de_passe, session};
use crate::db::{self, personnel};
use crate::delivery::{email_valide, Courriel};
use crate::outbox::{self, Genre};
use crate::roles::{empreinte_secret, RolePersonnel};
use crate::secrets::{self, Secret};
use crate::{App, Erreur};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

/// Failed logins in a row before the account is locked.
pub const ECHECS_MAX: i64 = 5;
/// How long a lock lasts.
pub const VERROU: TimeDelta = TimeDelta::minutes(15);
/// Validity of a password reset link.
pub const DUREE_REINITIALISATION: TimeDelta = TimeDelta::hours(1);
/// Validity of an activation link (new account).
pub const DUREE_ACTIVATION: TimeDelta = TimeDelta::days(7);

/// The one answer of a refused login, whether the account exists, is locked or not: the form
/// never tells who has an account.
const REFUS_CONNEXION: &str = "adresse e-mail ou mot de passe incorrect ; après 5 essais erronés, un compte est verrouillé 15 minutes (« Mot de passe oublié » le débloque aussitôt)";

/// Why a login is refused.
#[derive(Debug, thiserror::Error)]
pub enum RefusConnexion {
    #[error("{REFUS_CONNEXION}")]
    Identifiants,
    #[error("trop d'essais erronés : ce compte est verrouillé jusqu'à {0} (heure de Paris) ; vous pouvez aussi réinitialiser votre mot de passe")]
    Verrouille(String),
    #[error(transparent)]
    Erreur(#[from] Erreur),
}

impl From<sqlx::Error> for RefusConnexion {
    fn from(e: sqlx::Error) -> Self {
        RefusConnexion::Erreur(e.into())
    }
}

fn heure(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono_tz::Europe::Paris)
        .format("%H:%M")
        .to_string()
}

/// Checks a password against an account, counting failures: the fifth wrong one in a row locks
/// the account for [`VERROU`]. Used by the login and by leaving the kiosk.
pub async fn verifier_mot_de_passe(
    app: &App,
    personnel_id: Option<i64>,
    mot_de_passe: &str,
) -> Result<(), RefusConnexion> {
    let maintenant = app.horloge.maintenant();
    let ligne = match personnel_id {
        Some(id) => personnel::identifiants(&app.db, id).await?,
        None => None,
    };
    let (phc, verrou) = match &ligne {
        Some(l) => (l.mot_de_passe.clone(), l.verrouille_jusqua),
        None => (None, None),
    };
    // Always hash, so that an unknown or locked account answers as slowly as a known one.
    let mot_de_passe = mot_de_passe.to_owned();
    let bon =
        tokio::task::spawn_blocking(move || mots_de_passe::verifier(&mot_de_passe, phc.as_deref()))
            .await
            .map_err(Erreur::from)?;
    let (Some(id), Some(_)) = (personnel_id, ligne) else {
        return Err(RefusConnexion::Identifiants);
    };
    if let Some(jusqua) = verrou.filter(|v| *v > maintenant) {
        return Err(RefusConnexion::Verrouille(heure(jusqua)));
    }
    if bon {
        personnel::connexion_reussie(&app.db, id).await?;
        return Ok(());
    }
    let echecs = personnel::connexion_echouee(&app.db, id).await?;
    if echecs >= ECHECS_MAX {
        let jusqua = maintenant + VERROU;
        personnel::verrouiller(&app.db, id, jusqua).await?;
        tracing::warn!(
            personnel = id,
            "compte verrouillé après {ECHECS_MAX} échecs"
        );
        return Err(RefusConnexion::Verrouille(heure(jusqua)));
    }
    Err(RefusConnexion::Identifiants)
}

/// Logs in by e-mail and password; returns the new session's cookie secret.
pub async fn connexion(
    app: &App,
    email: &str,
    mot_de_passe: &str,
    ip: &str,
    agent: &str,
) -> Result<String, RefusConnexion> {
    let compte = personnel::par_email(&app.db, email.trim()).await?;
    verifier_mot_de_passe(app, compte.as_ref().map(|c| c.id), mot_de_passe)
        .await
        .map_err(|refus| match refus {
            RefusConnexion::Verrouille(_) => RefusConnexion::Identifiants,
            autre => autre,
        })?;
    let compte = compte.ok_or(RefusConnexion::Identifiants)?;
    Ok(session::ouvrir(&app.db, compte.id, app.horloge.maintenant(), ip, agent).await?)
}

/// An account link (activation or reset) that is still usable.
#[derive(Debug, Clone)]
pub struct LienCompte {
    pub empreinte: String,
    pub genre: String,
    pub personnel: personnel::Personnel,
}

/// The account link of a token, if unused and unexpired.
pub async fn lien(app: &App, jeton: &str) -> Result<Option<LienCompte>, Erreur> {
    let empreinte = empreinte_secret(jeton);
    let Some(db::liens_compte::Lien {
        personnel_id: id,
        genre,
        plie,
    }) = db::liens_compte::valide(&app.db, &empreinte, app.horloge.maintenant()).await?
    else {
        return Ok(None);
    };
    Ok(personnel::par_id(&app.db, &plie, id)
        .await?
        .map(|personnel| LienCompte {
            empreinte,
            genre,
            personnel,
        }))
}

/// Creates a single-use link for an account (earlier unused links of the same kind stop
/// working); returns its row. Its token is drawn when the e-mail carrying it is sent
/// ([`Secret::LienCompte`]).
async fn creer_lien(
    tx: &mut sqlx::AnyConnection,
    personnel_id: i64,
    genre: &str,
    duree: TimeDelta,
    maintenant: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    db::liens_compte::creer(tx, personnel_id, genre, maintenant, maintenant + duree).await
}

/// Queues an e-mail to a staff member carrying an account link (through the outbox, like every
/// message parafe sends); `texte` holds [`secrets::MARQUE`] where the link goes.
async fn courriel(
    app: &App,
    tx: &mut sqlx::AnyConnection,
    plie: &str,
    a: &str,
    objet: String,
    texte: String,
    lien: i64,
) -> Result<(), Erreur> {
    let nonce = db::nouvelle_ref("m");
    let courriel = Courriel {
        a: vec![a.to_owned()],
        objet,
        texte,
        message_id: format!("<compte.{nonce}@parafe>"),
        piece_jointe: None,
        renvoi: false,
    };
    outbox::ajouter(
        tx,
        &format!("courriel:compte:{nonce}"),
        Genre::Courriel,
        plie,
        &json!({ "courriel": courriel, "secret": Secret::LienCompte { lien } }),
        app.horloge.maintenant(),
    )
    .await?;
    Ok(())
}

/// Sends a password reset link if the address belongs to an active account. The answer is the
/// same either way, so that the form does not tell who has an account.
pub async fn demander_reinitialisation(app: &App, email: &str) -> Result<(), Erreur> {
    let Some(compte) = personnel::par_email(&app.db, email.trim()).await? else {
        return Ok(());
    };
    let actif = personnel::est_actif(&app.db, &compte.plie, compte.id).await?;
    if !actif || !email_valide(&compte.email) {
        return Ok(());
    }
    let maintenant = app.horloge.maintenant();
    let mut tx = app.db.begin().await?;
    let lien = creer_lien(
        &mut tx,
        compte.id,
        "reinitialisation",
        DUREE_REINITIALISATION,
        maintenant,
    )
    .await?;
    courriel(
        app,
        &mut tx,
        &compte.plie,
        &compte.email,
        "Réinitialisation de votre mot de passe parafe".into(),
        format!(
            "Bonjour {},\n\nPour choisir un nouveau mot de passe, ouvrez ce lien (valable une heure, \
             une seule fois) :\n{}\n\nSi vous n'avez rien demandé, ignorez ce message : votre \
             mot de passe actuel reste valable.\n",
            compte.prenom,
            secrets::MARQUE
        ),
        lien,
    )
    .await?;
    tx.commit().await?;
    app.reveil.sonner();
    Ok(())
}

/// What the activation or reset form sends.
#[derive(Debug, Default)]
pub struct NouveauMotDePasse {
    pub mot_de_passe: String,
    pub confirmation: String,
    /// Activation only: the person completes or corrects the name and e-mail of the account.
    pub identite: Option<(String, String, String)>,
}

/// Sets the password of the link's account (activation or reset), uses up the link, unlocks the
/// account and ends its other sessions. Returns the account id.
pub async fn definir_mot_de_passe(
    app: &App,
    jeton: &str,
    saisie: &NouveauMotDePasse,
) -> Result<i64, Erreur> {
    let lien = lien(app, jeton).await?.ok_or_else(|| {
        Erreur::Introuvable(
            "ce lien n'est plus valable (déjà utilisé ou expiré) : demandez-en un nouveau".into(),
        )
    })?;
    let mut email = lien.personnel.email.clone();
    if let Some((prenom, nom, nouvel_email)) = &saisie.identite {
        if prenom.trim().is_empty() {
            return Err(Erreur::invalide("prenom", "indiquez votre prénom"));
        }
        if nom.trim().is_empty() {
            return Err(Erreur::invalide("nom", "indiquez votre nom"));
        }
        if !email_valide(nouvel_email.trim()) {
            return Err(Erreur::invalide(
                "email",
                format!("« {} » n'est pas une adresse e-mail", nouvel_email.trim()),
            ));
        }
        email = nouvel_email.trim().to_owned();
    }
    let (prenom, nom) = match &saisie.identite {
        Some((prenom, nom, _)) => (prenom.as_str(), nom.as_str()),
        None => (lien.personnel.prenom.as_str(), lien.personnel.nom.as_str()),
    };
    if let Some(raison) = mots_de_passe::refus(&saisie.mot_de_passe, &[&email, prenom, nom]) {
        return Err(Erreur::invalide("mot_de_passe", raison));
    }
    if saisie.mot_de_passe != saisie.confirmation {
        return Err(Erreur::invalide(
            "confirmation",
            "les deux mots de passe saisis ne sont pas identiques",
        ));
    }
    let mot_de_passe = saisie.mot_de_passe.clone();
    let phc = tokio::task::spawn_blocking(move || mots_de_passe::hacher(&mot_de_passe))
        .await?
        .map_err(Erreur::Interne)?;
    let id = lien.personnel.id;
    let mut tx = app.db.begin().await?;
    if !db::liens_compte::utiliser(&mut *tx, &lien.empreinte, app.horloge.maintenant()).await? {
        return Err(Erreur::Conflit("ce lien vient d'être utilisé".into()));
    }
    if let Some((prenom, nom, _)) = &saisie.identite {
        if personnel::email_pris(&mut *tx, &email, id).await? {
            return Err(Erreur::invalide(
                "email",
                "cette adresse est déjà celle d'un autre compte",
            ));
        }
        personnel::changer_identite(&mut *tx, id, prenom.trim(), nom.trim(), &email).await?;
    }
    personnel::changer_mot_de_passe(&mut *tx, id, &phc).await?;
    session::fermer_toutes(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(id)
}

/// E-mail of the first administrator until the person who opens the setup link gives theirs.
fn email_provisoire(plie: &str) -> String {
    format!("administrateur@{plie}.invalid")
}

/// At start: while the PLIE has no administrator with a password, creates the first
/// administrator account (if needed) and a fresh one-time setup link, valid 24 hours, written
/// to the log. Returns that link. Call it from `App::open` (or right after it).
pub async fn premier_administrateur(app: &App) -> Result<Option<String>, Erreur> {
    let plie = app.config.service.plie.clone();
    if personnel::a_un_administrateur(&app.db, &plie).await? {
        return Ok(None);
    }
    let maintenant = app.horloge.maintenant();
    let mut tx = app.db.begin().await?;
    let email = email_provisoire(&plie);
    let id = match personnel::par_email(&app.db, &email).await? {
        Some(p) => p.id,
        None => personnel::enregistrer(
            &mut *tx,
            &personnel::NouveauPersonnel {
                plie: &plie,
                email: &email,
                nom: "Administrateur",
                prenom: "Premier",
                role: RolePersonnel::Admin,
                structure: "",
                identifiant_externe: None,
            },
            &db::instant(maintenant),
        )
        .await?
        .ok_or_else(|| Erreur::Conflit(format!("l'adresse {email} appartient à un autre PLIE")))?,
    };
    let lien = creer_lien(&mut tx, id, "activation", TimeDelta::hours(24), maintenant).await?;
    tx.commit().await?;
    let url = Secret::LienCompte { lien }
        .tirer(app)
        .await?
        .ok_or_else(|| Erreur::Interne("lien d'activation aussitôt périmé".into()))?;
    tracing::warn!(
        "aucun administrateur n'a encore de mot de passe : ouvrez {url} pour créer le premier \
         compte (lien valable 24 heures, une seule fois ; un nouveau lien est écrit à chaque démarrage)"
    );
    eprintln!("parafe : première connexion de l'administrateur : {url}");
    Ok(Some(url))
}

fn admin_seulement(acteur: &super::Acteur) -> Result<(), Erreur> {
    if acteur.role == RolePersonnel::Admin {
        Ok(())
    } else {
        Err(Erreur::Interdit(
            "seul un administrateur gère les comptes".into(),
        ))
    }
}

pub async fn comptes(app: &App, acteur: &super::Acteur) -> Result<Vec<personnel::Compte>, Erreur> {
    admin_seulement(acteur)?;
    Ok(personnel::comptes(&app.db, acteur.plie.as_str()).await?)
}

/// A new account, by an administrator: the person receives an activation link by e-mail.
pub struct NouveauCompte {
    pub email: String,
    pub prenom: String,
    pub nom: String,
    pub role: String,
    pub structure: String,
}

pub async fn creer_compte(
    app: &App,
    acteur: &super::Acteur,
    c: &NouveauCompte,
) -> Result<i64, Erreur> {
    admin_seulement(acteur)?;
    let mut tx = app.db.begin().await?;
    let id = ouvrir_compte(app, &mut tx, acteur.plie.as_str(), c).await?;
    tx.commit().await?;
    app.reveil.sonner();
    Ok(id)
}

/// Opens `c`'s account in `plie` within `tx` and queues the e-mail of its activation link
/// (the outbox must be woken once `tx` is committed).
pub(crate) async fn ouvrir_compte(
    app: &App,
    tx: &mut sqlx::AnyConnection,
    plie: &str,
    c: &NouveauCompte,
) -> Result<i64, Erreur> {
    let email = c.email.trim();
    if !email_valide(email) {
        return Err(Erreur::invalide(
            "email",
            format!("« {email} » n'est pas une adresse e-mail"),
        ));
    }
    if c.prenom.trim().is_empty() || c.nom.trim().is_empty() {
        return Err(Erreur::invalide("nom", "indiquez le prénom et le nom"));
    }
    let role = RolePersonnel::parse(&c.role).ok_or_else(|| {
        Erreur::invalide(
            "role",
            "rôle attendu : referent, assistant, coordinateur ou admin",
        )
    })?;
    if personnel::par_email(&app.db, email).await?.is_some() {
        return Err(Erreur::invalide(
            "email",
            "un compte existe déjà avec cette adresse",
        ));
    }
    let maintenant = app.horloge.maintenant();
    let id = personnel::enregistrer(
        &mut *tx,
        &personnel::NouveauPersonnel {
            plie,
            email,
            nom: c.nom.trim(),
            prenom: c.prenom.trim(),
            role,
            structure: c.structure.trim(),
            identifiant_externe: None,
        },
        &db::instant(maintenant),
    )
    .await?
    .ok_or_else(|| Erreur::invalide("email", "un compte existe déjà avec cette adresse"))?;
    let lien = creer_lien(tx, id, "activation", DUREE_ACTIVATION, maintenant).await?;
    let nom_plie = db::referentiel::nom_plie(&mut *tx, plie)
        .await?
        .unwrap_or_default();
    courriel(
        app,
        tx,
        plie,
        email,
        format!("Votre compte parafe — {nom_plie}"),
        format!(
            "Bonjour {},\n\nUn compte parafe a été ouvert pour vous ({nom_plie}). Pour choisir votre \
             mot de passe, ouvrez ce lien (valable 7 jours, une seule fois) :\n{}\n",
            c.prenom.trim(),
            secrets::MARQUE
        ),
        lien,
    )
    .await?;
    Ok(id)
}

/// Disables or re-enables an account (never deleted: evidence refers to it). Disabling ends its
/// sessions; an administrator cannot disable himself.
pub async fn changer_actif(
    app: &App,
    acteur: &super::Acteur,
    id: i64,
    actif: bool,
) -> Result<(), Erreur> {
    admin_seulement(acteur)?;
    if id == acteur.personnel_id && !actif {
        return Err(Erreur::Conflit(
            "vous ne pouvez pas désactiver votre propre compte".into(),
        ));
    }
    let mut tx = app.db.begin().await?;
    if !personnel::changer_actif(&mut *tx, acteur.plie.as_str(), id, actif).await? {
        return Err(Erreur::Introuvable("compte introuvable".into()));
    }
    if !actif {
        session::fermer_toutes(&mut *tx, id).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn jetons(
    app: &App,
    acteur: &super::Acteur,
) -> Result<Vec<db::jetons_api::JetonApi>, Erreur> {
    admin_seulement(acteur)?;
    Ok(db::jetons_api::liste(&app.db, acteur.plie.as_str()).await?)
}

/// Creates an API token acting as one account of the PLIE (so with that account's role).
pub async fn creer_jeton(
    app: &App,
    acteur: &super::Acteur,
    personnel_id: i64,
    libelle: &str,
    jours: Option<i64>,
) -> Result<String, Erreur> {
    admin_seulement(acteur)?;
    if libelle.trim().is_empty() {
        return Err(Erreur::invalide(
            "libelle",
            "nommez le jeton (l'outil qui l'utilisera)",
        ));
    }
    if personnel::par_id(&app.db, acteur.plie.as_str(), personnel_id)
        .await?
        .is_none()
    {
        return Err(Erreur::invalide("titulaire", "compte introuvable"));
    }
    let maintenant = app.horloge.maintenant();
    let jeton = super::creer_jeton_api(&app.db, personnel_id, libelle.trim(), maintenant).await?;
    if let Some(jours) = jours.filter(|j| *j > 0) {
        db::jetons_api::expirer(
            &app.db,
            &empreinte_secret(jeton.trim_start_matches("pfa_")),
            maintenant + TimeDelta::days(jours.min(3650)),
        )
        .await?;
    }
    Ok(jeton)
}

pub async fn revoquer_jeton(app: &App, acteur: &super::Acteur, sha256: &str) -> Result<(), Erreur> {
    admin_seulement(acteur)?;
    db::jetons_api::revoquer(&app.db, acteur.plie.as_str(), sha256).await?;
    Ok(())
}
