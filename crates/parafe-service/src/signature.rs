//! Collecting a signature: by a single-use link confirmed with a one-time code sent by e-mail,
//! or in person on the référent's tablet. Each signature keeps its evidence (time, IP, device,
//! SHA-256 of the version displayed, the drawn strokes with their timing, the consent text,
//! how identity was checked); the document is sealed once, when the last signer has signed.

use super::documents::{a_inviter, au_tour, inviter};
use super::pipeline::{demander_scellement, transition};
use super::secrets::{self, Secret};
use super::secrets::{empreinte_code, DUREE_CODE};
use super::trace::{Trace, CONSENTEMENT};
use super::{App, Erreur};
use crate::auth::Acteur;
use crate::db::documents::{self as docs, Document};
use crate::db::signataires::{self, EtatSignataire, Signataire};
use crate::db::{self};
use crate::delivery::Courriel;
use crate::outbox::{self, Genre};
use crate::roles::empreinte_secret;
use chrono::{DateTime, TimeDelta, Utc};
use parafe_core::document::Etat;
use serde::Deserialize;
use serde_json::json;

/// Wrong codes allowed before a link is locked.
pub const ESSAIS_CODE: i64 = 5;

/// What the signer's device sends with a signature.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The drawn signature; or `nom_tape`, the name typed instead.
    pub trace: Option<Trace>,
    pub nom_tape: Option<String>,
    /// PNG of the pad, base64 (kept as the picture the signer saw).
    pub png: Option<String>,
    /// The consent sentence, as displayed: must be [`CONSENTEMENT`].
    pub consentement: String,
    /// SHA-256 of the version the signer was shown.
    pub version: String,
    /// The return leg a partner fills when signing (fiche de liaison de positionnement: was
    /// the appointment kept, observations, who signs for the partner).
    #[serde(default)]
    pub retour: Option<serde_json::Value>,
}

/// Where the signature came from (the request, not the signer's word).
#[derive(Debug, Clone, Default)]
pub struct Contexte {
    pub ip: String,
    pub agent: String,
}

/// The link's signer and document, if the link is valid now and it is this signer's turn.
pub async fn ouvrir_lien(app: &App, jeton: &str) -> Result<(Document, Signataire), Erreur> {
    let introuvable = || Erreur::Introuvable("lien de signature inconnu ou déjà utilisé".into());
    let lien = signataires::par_jeton(&app.db, &empreinte_secret(jeton))
        .await?
        .ok_or_else(introuvable)?;
    if lien.jeton_utilise {
        return Err(introuvable());
    }
    if lien.code_essais >= ESSAIS_CODE {
        return Err(bloque());
    }
    if lien
        .jeton_expire_le
        .is_none_or(|e| e <= app.horloge.maintenant())
    {
        return Err(Erreur::Conflit(
            "ce lien de signature a expiré : demandez un nouvel envoi à votre référent".into(),
        ));
    }
    let document = docs::par_id(&app.db, lien.document_id)
        .await?
        .ok_or_else(introuvable)?;
    let signataire = a_son_tour(app, &document, |s| s.id == lien.id)
        .await?
        .ok_or_else(introuvable)?;
    Ok((document, signataire))
}

/// The signer of a document still collecting signatures that `qui` designates, if there is
/// one; an error if it is not his turn (he has signed, or the workflow's order puts someone
/// else first).
pub(crate) async fn a_son_tour(
    app: &App,
    document: &Document,
    qui: impl Fn(&Signataire) -> bool,
) -> Result<Option<Signataire>, Erreur> {
    let etat = document.etat;
    if !etat.en_signature() {
        return Err(Erreur::Conflit(if etat == Etat::Brouillon {
            "ce document est un brouillon : envoyez-le pour signature d'abord".into()
        } else {
            format!("ce document est {etat} : il ne se signe plus")
        }));
    }
    let signataires = signataires::du_document(&app.db, document.id).await?;
    let Some(signataire) = signataires.iter().find(|s| qui(s)) else {
        return Ok(None);
    };
    if signataire.etat != EtatSignataire::Attente {
        return Err(Erreur::Conflit(format!(
            "{} a déjà signé ce document",
            signataire.nom
        )));
    }
    if let Some(workflow) = app.workflow(&document.workflow) {
        let tour = au_tour(workflow, &signataires);
        if !tour.iter().any(|s| s.id == signataire.id) {
            let avant = tour
                .first()
                .map_or("un autre signataire", |s| s.nom.as_str());
            return Err(Erreur::Conflit(format!(
                "ce document se signe dans l'ordre : {avant} doit signer avant"
            )));
        }
    }
    Ok(Some(signataire.clone()))
}

/// How long a confirmed code lets its link read, sign or decline.
pub const DUREE_CONFIRMATION: TimeDelta = TimeDelta::minutes(30);
/// Codes a link may ask for: one a minute, five an hour; an address receives ten an hour at
/// most, whatever its links.
const INTERVALLE_CODES: TimeDelta = TimeDelta::minutes(1);
const CODES_PAR_HEURE_LIEN: i64 = 5;
const CODES_PAR_HEURE_ADRESSE: i64 = 10;

/// Queues a six-digit code for the link's signer, by e-mail; the code itself is drawn when the
/// message is sent ([`super::secrets`]) and valid [`DUREE_CODE`]. Sends are bounded per link
/// and per address.
pub async fn envoyer_code(app: &App, jeton: &str) -> Result<(), Erreur> {
    let (document, signataire) = ouvrir_lien(app, jeton).await?;
    let email = signataire
        .email
        .clone()
        .ok_or_else(|| Erreur::Conflit("aucune adresse e-mail pour ce signataire".into()))?;
    let lien = empreinte_secret(jeton);
    let maintenant = app.horloge.maintenant();
    let mut tx = app.db.begin().await?;
    limiter_codes(&mut tx, signataire.id, &lien, &email, maintenant).await?;
    let nonce = db::nouvelle_ref("c");
    let courriel = Courriel {
        a: vec![email],
        objet: "Votre code de signature".into(),
        texte: format!(
            "Bonjour {},\n\nVotre code pour signer le document : {}\n\nIl est valable {} minutes. \
             Ne le communiquez à personne.\n",
            signataire.nom,
            secrets::MARQUE,
            DUREE_CODE.num_minutes()
        ),
        message_id: format!("<{nonce}@parafe>"),
        piece_jointe: None,
        renvoi: false,
    };
    let secret = Secret::Code {
        signataire: signataire.id,
        lien,
    };
    outbox::ajouter(
        &mut tx,
        &format!("courriel:code:{nonce}"),
        Genre::Courriel,
        &document.plie,
        &json!({ "courriel": courriel, "document": document.reference, "secret": secret }),
        maintenant,
    )
    .await?;
    tx.commit().await?;
    app.reveil.sonner();
    Ok(())
}

/// Records a code sent, unless the link or the address asked too often: one statement, so that
/// concurrent requests (several instances of the service included) cannot all pass.
async fn limiter_codes(
    tx: &mut sqlx::AnyConnection,
    signataire: i64,
    lien: &str,
    email: &str,
    maintenant: DateTime<Utc>,
) -> Result<(), Erreur> {
    let minute = maintenant - INTERVALLE_CODES;
    // Sends older than an hour no longer count: they are not kept (an address's hash is
    // personal data).
    if signataires::admettre_code(
        tx,
        signataire,
        lien,
        &empreinte_secret(&email.to_lowercase()),
        maintenant,
        minute,
        maintenant - TimeDelta::hours(1),
        CODES_PAR_HEURE_LIEN,
        CODES_PAR_HEURE_ADRESSE,
    )
    .await?
    {
        return Ok(());
    }
    let recent = signataires::code_envoye_depuis(tx, lien, minute).await?;
    Err(Erreur::TropDeDemandes(if recent {
        format!(
            "un code vient de vous être envoyé (valable {} minutes) : regardez votre messagerie, \
             courriers indésirables compris ; vous pourrez en demander un autre dans une minute",
            DUREE_CODE.num_minutes()
        )
    } else {
        "trop de codes demandés en une heure pour ce lien ou cette adresse : réessayez dans une \
         heure, ou demandez à votre référent de vous renvoyer le document"
            .into()
    }))
}

fn bloque() -> Erreur {
    Erreur::Interdit(
        "trop de codes erronés : ce lien est bloqué, demandez un nouvel envoi à votre référent"
            .into(),
    )
}

/// Checks the one-time code. An attempt is counted before the code is compared, in one
/// statement: however many requests arrive at once, no more than [`ESSAIS_CODE`] wrong codes are
/// ever compared; the fifth locks the link. A right code gives its attempt back and confirms the
/// code on this link.
pub async fn verifier_code(app: &App, jeton: &str, code: &str) -> Result<(), Erreur> {
    let (_, signataire) = ouvrir_lien(app, jeton).await?;
    let lien = empreinte_secret(jeton);
    let Some(essai) = signataires::essayer_code(&app.db, signataire.id, &lien, ESSAIS_CODE).await?
    else {
        return Err(bloque());
    };
    let essais = essai.code_essais;
    let maintenant = app.horloge.maintenant();
    let valide = essai
        .code_sha256
        .is_some_and(|a| a == empreinte_code(&lien, code.trim()))
        && essai.code_expire_le.is_some_and(|e| e > maintenant);
    if valide {
        signataires::confirmer_code(&app.db, signataire.id, &lien, maintenant).await?;
        return Ok(());
    }
    Err(if essais >= ESSAIS_CODE {
        Erreur::Interdit(format!(
            "code erroné, le {ESSAIS_CODE}e : trop de codes erronés, ce lien est maintenant \
             bloqué ; demandez un nouvel envoi à votre référent"
        ))
    } else {
        Erreur::invalide(
            "code",
            format!(
                "code erroné ou expiré ; il vous reste {} essai(s)",
                ESSAIS_CODE - essais
            ),
        )
    })
}

/// When the code was confirmed on this very link, if that confirmation still holds.
pub async fn confirmation(
    app: &App,
    signataire: &Signataire,
    jeton: &str,
) -> Result<Option<DateTime<Utc>>, Erreur> {
    let c = signataires::confirmation(&app.db, signataire.id).await?;
    let maintenant = app.horloge.maintenant();
    Ok(c.code_verifie_le
        .filter(|_| c.code_lien.as_deref() == Some(empreinte_secret(jeton).as_str()))
        .filter(|le| *le + DUREE_CONFIRMATION > maintenant))
}

/// The link's document and signer once the code is confirmed on this link, with when: what a
/// link reads (the document, its pages) or does (sign, decline) needs it; only asking for the
/// code does not.
pub async fn ouvrir_confirme(
    app: &App,
    jeton: &str,
) -> Result<(Document, Signataire, DateTime<Utc>), Erreur> {
    let (document, signataire) = ouvrir_lien(app, jeton).await?;
    let le = confirmation(app, &signataire, jeton)
        .await?
        .ok_or_else(|| {
            Erreur::Interdit(format!(
            "confirmez d'abord le code reçu par courriel (une confirmation vaut {} minutes, sur \
             ce lien seulement)",
            DUREE_CONFIRMATION.num_minutes()
        ))
        })?;
    Ok((document, signataire, le))
}

/// What a signing link shows: before its code is confirmed, only the title of the document
/// (nothing of whom it concerns); after, the document, the signer and when the code was confirmed.
pub struct Apercu {
    pub titre: String,
    pub confirme: Option<(Document, Signataire, DateTime<Utc>)>,
}

pub async fn apercu_du_lien(app: &App, jeton: &str) -> Result<Apercu, Erreur> {
    let (document, signataire) = ouvrir_lien(app, jeton).await?;
    let titre = app
        .workflow(&document.workflow)
        .map_or(document.workflow.clone(), |w| w.titre.clone());
    let confirme = confirmation(app, &signataire, jeton)
        .await?
        .map(|le| (document, signataire, le));
    Ok(Apercu { titre, confirme })
}

/// The PDF a signer reads through his link, once the code is confirmed on it.
pub async fn pdf_du_lien(app: &App, jeton: &str) -> Result<(Document, Vec<u8>), Erreur> {
    let (document, _, _) = ouvrir_confirme(app, jeton).await?;
    let sha = document
        .sha256_rendu
        .clone()
        .ok_or_else(|| Erreur::Conflit("document non composé".into()))?;
    let octets = super::pipeline::lire_version(app, &sha).await?;
    Ok((document, octets))
}

/// Signs through a link whose code was confirmed; the evidence names the link (the start of
/// its SHA-256, never the token) and when the code was confirmed on it.
pub async fn signer_par_lien(
    app: &App,
    jeton: &str,
    signature: Signature,
    contexte: &Contexte,
) -> Result<Document, Erreur> {
    let (document, signataire, confirme) = ouvrir_confirme(app, jeton).await?;
    let verification = format!(
        "lien personnel n° {} envoyé à {} ; code à usage unique reçu à cette adresse et confirmé \
         sur ce lien le {}",
        empreinte_secret(jeton).get(..12).unwrap_or_default(),
        masquer_email(signataire.email.as_deref().unwrap_or_default()),
        parafe_core::model::heure_de_paris(confirme)
    );
    let recueillie = verifier(
        app,
        &document,
        &signataire,
        &signature,
        contexte,
        &verification,
        "participant-lien",
    )?;
    enregistrer(app, &recueillie).await
}

/// Declines through the link, with the reason given.
pub async fn refuser_par_lien(app: &App, jeton: &str, motif: &str) -> Result<Document, Erreur> {
    let (document, signataire, _) = ouvrir_confirme(app, jeton).await?;
    let motif = motif.trim();
    if motif.is_empty() {
        return Err(Erreur::invalide(
            "motif",
            "indiquez pourquoi vous refusez de signer",
        ));
    }
    let mut tx = app.db.begin().await?;
    signataires::refuser(&mut tx, signataire.id, motif).await?;
    if !transition(
        app,
        &mut tx,
        &document,
        Etat::Refuse,
        &format!("signataire-{}", signataire.id),
    )
    .await?
    {
        return Err(Erreur::Conflit("le document a changé entre-temps".into()));
    }
    tx.commit().await?;
    app.reveil.sonner();
    Ok(docs::par_id(&app.db, document.id)
        .await?
        .unwrap_or(document))
}

/// Signs in person on the tablet of a logged-in staff member: a participant's line, the staff
/// member vouching for his presence; or the staff member's own line, never another's. The
/// evidence names how the staff member was authenticated (browser session or API token).
pub async fn signer_sur_place(
    app: &App,
    acteur: &Acteur,
    reference: &str,
    rang: i64,
    signature: Signature,
    contexte: &Contexte,
) -> Result<Document, Erreur> {
    let document = super::documents::charger(app, acteur, reference).await?;
    let signataire = a_son_tour(app, &document, |s| s.rang == rang)
        .await?
        .ok_or_else(|| Erreur::invalide("rang", format!("aucun signataire au rang {rang}")))?;
    let recueillie =
        recueillir_sur_place(app, acteur, &document, &signataire, &signature, contexte)?;
    enregistrer(app, &recueillie).await
}

/// Checks a signature taken on the tablet of `acteur` for `signataire` (whose turn it is),
/// before anything is written.
pub fn recueillir_sur_place(
    app: &App,
    acteur: &Acteur,
    document: &Document,
    signataire: &Signataire,
    signature: &Signature,
    contexte: &Contexte,
) -> Result<Recueillie, Erreur> {
    super::documents::modification_permise(acteur)?;
    if signataire.methode != "tablette" {
        return Err(Erreur::invalide(
            "rang",
            format!("{} signe par lien, pas sur la tablette", signataire.nom),
        ));
    }
    let moyen = acteur.moyen.libelle();
    let verification = if signataire.personnel_id == Some(acteur.personnel_id) {
        format!("signataire authentifié ({moyen})")
    } else if signataire.personnel_id.is_none()
        && crate::workflow::Role::parse(&signataire.role).is_some_and(|r| r.sans_compte())
    {
        format!("signature en présence de {} ({moyen})", acteur.pseudonyme())
    } else {
        return Err(Erreur::Interdit(format!(
            "seul(e) {} signe cette case, depuis son propre compte : un membre du personnel ne \
             signe pas à la place d'un autre",
            signataire.nom
        )));
    };
    verifier(
        app,
        document,
        signataire,
        signature,
        contexte,
        &verification,
        &acteur.pseudonyme(),
    )
}

fn masquer_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domaine)) => format!("{}…@{domaine}", local.chars().next().unwrap_or('?')),
        None => "?".into(),
    }
}

/// The document's data with the partner's return leg, checked against the template; None
/// when the signer has nothing to fill. A partner must fill it where the template has one.
fn completer_retour(
    app: &App,
    document: &Document,
    signataire: &Signataire,
    retour: Option<&serde_json::Value>,
) -> Result<Option<serde_json::Value>, Erreur> {
    let schema = app.catalogue.get(&document.modele).map_err(Erreur::from)?;
    let attendu =
        signataire.role == "partenaire" && schema.champs.iter().any(|(n, _)| n == "retour");
    let retour = match (attendu, retour) {
        (false, None) => return Ok(None),
        (false, Some(_)) => {
            return Err(Erreur::invalide(
                "retour",
                "ce signataire n'a pas de retour à remplir",
            ))
        }
        (true, None) => {
            return Err(Erreur::invalide(
                "retour",
                "indiquez le retour du partenaire (rendez-vous tenu, observations, signataire)",
            ))
        }
        (true, Some(r)) => r,
    };
    let mut donnees: serde_json::Value = serde_json::from_str(&document.donnees)?;
    donnees["retour"] = retour.clone();
    parafe_template::template::validate(schema, &donnees).map_err(|erreurs| Erreur::Invalide {
        champ: erreurs
            .first()
            .map_or("retour".into(), |e| e.chemin.clone()),
        message: erreurs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ; "),
    })?;
    Ok(Some(donnees))
}

/// A signature checked against its document and signer, and the instant it is taken:
/// what [`inscrire`] records. Nothing is written while it is being checked.
pub struct Recueillie {
    document: Document,
    signataire: Signataire,
    le: chrono::DateTime<chrono::Utc>,
    traits: serde_json::Value,
    png: Option<Vec<u8>>,
    /// The document's data with the partner's return leg.
    donnees: Option<serde_json::Value>,
    contexte: Contexte,
    acteur: String,
}

impl Recueillie {
    /// When the signature is taken (the signer's time on the document).
    pub fn le(&self) -> chrono::DateTime<chrono::Utc> {
        self.le
    }

    /// Adds a piece of evidence kept with the strokes (how the signature was collected).
    pub(crate) fn preuve(&mut self, cle: &str, valeur: serde_json::Value) {
        self.traits[cle] = valeur;
    }
}

/// Checks what the signer's device sent: the consent sentence, the version shown, a drawing
/// or a typed name, its picture, the partner's return leg.
pub(crate) fn verifier(
    app: &App,
    document: &Document,
    signataire: &Signataire,
    signature: &Signature,
    contexte: &Contexte,
    verification: &str,
    acteur: &str,
) -> Result<Recueillie, Erreur> {
    if signature.consentement.trim() != CONSENTEMENT {
        return Err(Erreur::invalide(
            "consentement",
            format!("le consentement doit être la phrase affichée : « {CONSENTEMENT} »"),
        ));
    }
    let presentee = document.sha256_rendu.clone().unwrap_or_default();
    if signature.version != presentee {
        return Err(Erreur::invalide(
            "version",
            "le document a changé depuis son affichage : rechargez la page",
        ));
    }
    let trace = match (
        &signature.trace,
        signature.nom_tape.as_deref().map(str::trim),
    ) {
        (Some(t), _)
            if t.traits.iter().any(|s| !s.is_empty())
                && t.traits.len() <= 200
                && t.traits.iter().map(Vec::len).sum::<usize>() <= 20_000 =>
        {
            Some(t.clone())
        }
        (_, Some(nom)) if !nom.is_empty() && nom.chars().count() <= 120 => None,
        _ => {
            return Err(Erreur::invalide(
                "trace",
                "tracez votre signature (ou tapez votre nom)",
            ))
        }
    };
    let png = match &signature.png {
        None => None,
        Some(b64) => {
            use base64::Engine;
            let octets = base64::engine::general_purpose::STANDARD
                .decode(b64.trim_start_matches("data:image/png;base64,"))
                .map_err(|_| Erreur::invalide("png", "image de signature illisible"))?;
            if !octets.starts_with(b"\x89PNG\r\n\x1a\n") || octets.len() > 2_000_000 {
                return Err(Erreur::invalide(
                    "png",
                    "image de signature : PNG de 2 Mo au plus attendu",
                ));
            }
            Some(octets)
        }
    };
    Ok(Recueillie {
        document: document.clone(),
        signataire: signataire.clone(),
        le: app.horloge.maintenant(),
        traits: json!({ "trace": trace, "nom_tape": signature.nom_tape, "verification": verification }),
        png,
        donnees: completer_retour(app, document, signataire, signature.retour.as_ref())?,
        contexte: contexte.clone(),
        acteur: acteur.to_owned(),
    })
}

/// Records a checked signature and moves the document on, in one transaction.
async fn enregistrer(app: &App, r: &Recueillie) -> Result<Document, Erreur> {
    let mut tx = app.db.begin().await?;
    inscrire(app, &mut tx, r).await?;
    tx.commit().await?;
    app.reveil.sonner();
    Ok(docs::par_id(&app.db, r.document.id)
        .await?
        .unwrap_or_else(|| r.document.clone()))
}

/// Writes a checked signature in `tx` and moves the document on: partly signed, or signed
/// (sealing queued for the outbox, to ring once committed); in a sequential workflow the next
/// link signer is invited.
pub async fn inscrire(
    app: &App,
    tx: &mut sqlx::AnyConnection,
    r: &Recueillie,
) -> Result<(), Erreur> {
    let (document, signataire, maintenant) = (&r.document, &r.signataire, r.le);
    let presentee = document.sha256_rendu.clone().unwrap_or_default();
    let ip: String = r.contexte.ip.chars().take(64).collect();
    let agent: String = r.contexte.agent.chars().take(300).collect();
    let signature = signataires::NouvelleSignature {
        le: maintenant,
        ip: &ip,
        agent: &agent,
        version_sha256: &presentee,
        png: r.png.as_deref(),
        traits: &r.traits.to_string(),
        consentement: CONSENTEMENT,
    };
    if !signataires::signer(tx, signataire.id, &signature).await? {
        return Err(Erreur::Conflit(format!(
            "{} a déjà signé ce document",
            signataire.nom
        )));
    }
    if let Some(donnees) = &r.donnees {
        docs::changer_donnees(tx, document.id, &donnees.to_string(), None).await?;
    }
    let signataires = signataires::du_document(&mut *tx, document.id).await?;
    let reste = signataires
        .iter()
        .filter(|s| s.etat == EtatSignataire::Attente)
        .count();
    let vers = if reste == 0 {
        Etat::Signe
    } else {
        Etat::PartiellementSigne
    };
    if !transition(app, tx, document, vers, &r.acteur).await? {
        return Err(Erreur::Conflit(
            "le document a changé entre-temps : rechargez-le".into(),
        ));
    }
    let evenement = parafe_core::model::JournalEvent::DocumentSigned {
        signer: format!("signataire-{}", signataire.id),
    };
    outbox::ajouter(
        tx,
        &format!("journal:signature:{}", signataire.id),
        Genre::Journal,
        &document.plie,
        &json!({ "evenement": evenement, "objets": [presentee] }),
        maintenant,
    )
    .await?;
    if reste == 0 {
        demander_scellement(tx, document, maintenant).await?;
    } else if let Some(workflow) = app.workflow(&document.workflow) {
        if workflow.ordre == crate::workflow::Ordre::Sequentiel {
            for suivant in a_inviter(workflow, &signataires) {
                inviter(app, tx, document, suivant, maintenant, false).await?;
            }
        }
    }
    Ok(())
}
