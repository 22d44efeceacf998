//! Signing on the signer's own phone, during an interview or a workshop: the référent's screen
//! shows a QR code of `/telephone/<jeton>` and a short code to type at `/telephone` instead; the
//! signer reads and signs on his phone with the same evidence as a link (time, IP, device,
//! strokes, consent). There is no code by e-mail: the référent's logged-in session, which
//! displays the token and must keep showing it, is the second factor, and the evidence says so.
//!
//! A token is 160 random bits (only its SHA-256 is stored), bound to one document and one
//! signer, valid [`DUREE`], once, and only while the référent's page beats ([`BATTEMENT`]).

use super::documents::{charger, modification_permise};
use super::signature::{self, a_son_tour, Contexte, Signature};
use super::{App, Erreur};
use crate::auth::{nouveau_secret, Acteur};
use crate::db::documents::{self as docs, Document};
use crate::db::signataires::{self, EtatSignataire, Signataire};
use crate::db::telephone::{self as jetons, JetonTelephone};
use crate::roles::empreinte_secret;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

/// How long a token shown may be used: the time to hand over, read and sign, no more.
pub const DUREE: TimeDelta = TimeDelta::minutes(10);
/// A token dies when the référent's page has not asked for its state for this long (the page
/// asks every few seconds): closing the page ends it.
pub const BATTEMENT: TimeDelta = TimeDelta::seconds(30);
/// The short code's letters: no 0/O, 1/I/L, read aloud or typed on a phone without doubt.
const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// 31⁸ ≈ 8.5·10¹¹ codes: with at most [`ESSAIS_PARTOUT`] wrong guesses a quarter of an hour,
/// guessing one of the few codes alive during its [`DUREE`] is out of reach.
pub const LONGUEUR_CODE: usize = 8;
/// Wrong short codes counted over this window, then forgotten.
const FENETRE_ESSAIS: TimeDelta = TimeDelta::minutes(15);
/// Wrong short codes allowed from one address in the window.
const ESSAIS_PAR_ADRESSE: i64 = 10;
/// Wrong short codes allowed from all addresses together (addresses are cheap to change).
const ESSAIS_PARTOUT: i64 = 100;

/// Whether a signer may sign on his own phone: the participant, or a signer from outside who
/// signs by link; never a staff member (he signs from his own account).
pub fn par_telephone(s: &Signataire) -> bool {
    s.personnel_id.is_none() && (s.role == "participant" || s.methode == "lien")
}

/// A token just made, to show once: the référent's page draws the QR code of its URL.
pub struct Affichage {
    pub id: i64,
    pub jeton: String,
    /// `ABCD-EFGH`.
    pub code: String,
    pub expire_le: DateTime<Utc>,
    pub document: Document,
    pub signataire: Signataire,
}

/// Makes a token for the signer at `rang`, whose turn it is, on a document the staff member
/// may have signed in person; the ones shown before for this signer stop working.
pub async fn afficher(
    app: &App,
    acteur: &Acteur,
    reference: &str,
    rang: i64,
) -> Result<Affichage, Erreur> {
    modification_permise(acteur)?;
    let document = charger(app, acteur, reference).await?;
    let signataire = a_son_tour(app, &document, |s| s.rang == rang)
        .await?
        .ok_or_else(|| Erreur::invalide("rang", format!("aucun signataire au rang {rang}")))?;
    if !par_telephone(&signataire) {
        return Err(Erreur::Interdit(format!(
            "{} signe depuis son propre compte, pas sur un téléphone",
            signataire.nom
        )));
    }
    let (jeton, empreinte) = nouveau_secret();
    let code = code_court();
    let maintenant = app.horloge.maintenant();
    let expire_le = maintenant + DUREE;
    let mut tx = app.db.begin().await?;
    let id = jetons::creer(
        &mut tx,
        document.id,
        signataire.id,
        acteur.personnel_id,
        &empreinte,
        &empreinte_code(&code),
        maintenant,
        expire_le,
    )
    .await?;
    tx.commit().await?;
    let code = format!("{}-{}", &code[..4], &code[4..]);
    Ok(Affichage {
        id,
        jeton,
        code,
        expire_le,
        document,
        signataire,
    })
}

fn code_court() -> String {
    use rand::Rng;
    let mut hasard = rand::rngs::OsRng;
    (0..LONGUEUR_CODE)
        .map(|_| char::from(ALPHABET[hasard.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// A short code as stored: its SHA-256, apart from any other secret's.
fn empreinte_code(code: &str) -> String {
    empreinte_secret(&format!("telephone:{code}"))
}

/// A token whose use is refused, and why, in the signer's words.
fn vivant(j: &JetonTelephone, maintenant: DateTime<Utc>) -> Result<(), Erreur> {
    let nouveau = "demandez à votre référent d'en afficher un nouveau";
    if j.utilise_le.is_some() {
        return Err(Erreur::Conflit(format!(
            "ce code a déjà servi, il ne vaut qu'une fois : {nouveau}"
        )));
    }
    if j.expire_le <= maintenant {
        return Err(Erreur::Conflit(format!(
            "ce code a expiré (il vaut {} minutes) : {nouveau}",
            DUREE.num_minutes()
        )));
    }
    if j.battement_le + BATTEMENT <= maintenant {
        return Err(Erreur::Conflit(format!(
            "le référent a fermé la page qui affichait ce code : {nouveau}"
        )));
    }
    Ok(())
}

/// The token's document and signer, if the token is alive and it is this signer's turn.
pub async fn ouvrir(
    app: &App,
    jeton: &str,
) -> Result<(Document, Signataire, JetonTelephone), Erreur> {
    let inconnu = || {
        Erreur::Introuvable(
            "code de signature inconnu : demandez à votre référent d'en afficher un nouveau".into(),
        )
    };
    let j = jetons::par_jeton(&app.db, &empreinte_secret(jeton))
        .await?
        .ok_or_else(inconnu)?;
    vivant(&j, app.horloge.maintenant())?;
    let document = docs::par_id(&app.db, j.document_id)
        .await?
        .ok_or_else(inconnu)?;
    let signataire = a_son_tour(app, &document, |s| s.id == j.signataire_id)
        .await?
        .ok_or_else(inconnu)?;
    Ok((document, signataire, j))
}

/// The phone's page: as [`ouvrir`], and the référent's screen learns it was opened.
pub async fn ouvrir_la_page(
    app: &App,
    jeton: &str,
) -> Result<(Document, Signataire, JetonTelephone), Erreur> {
    let ouvert = ouvrir(app, jeton).await?;
    jetons::ouvrir(&app.db, ouvert.2.id, app.horloge.maintenant()).await?;
    Ok(ouvert)
}

/// The short code typed at `/telephone`, from the address `ip`: spent for a fresh token, which
/// the phone then uses as if it had scanned the QR code. Each attempt is counted before the
/// code is compared; too many from one address, or from everywhere, lock the typing for a while.
pub async fn echanger_code(app: &App, code: &str, ip: &str) -> Result<String, Erreur> {
    let code: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let maintenant = app.horloge.maintenant();
    let (essai, par_adresse, partout) = jetons::compter_essai(
        &app.db,
        &empreinte_secret(&format!("ip:{ip}")),
        maintenant,
        maintenant - FENETRE_ESSAIS,
    )
    .await?;
    let attendre = format!(
        "réessayez dans {} minutes, ou scannez le QR code affiché par votre référent",
        FENETRE_ESSAIS.num_minutes()
    );
    if par_adresse > ESSAIS_PAR_ADRESSE {
        return Err(Erreur::TropDeDemandes(format!(
            "trop de codes erronés depuis cet appareil : {attendre}"
        )));
    }
    if partout > ESSAIS_PARTOUT {
        return Err(Erreur::TropDeDemandes(format!(
            "trop de codes erronés ces dernières minutes, la saisie est suspendue : {attendre}"
        )));
    }
    let inconnu = || {
        Erreur::invalide(
            "code",
            format!(
                "code inconnu : vérifiez les {LONGUEUR_CODE} caractères affichés par votre référent"
            ),
        )
    };
    if code.len() != LONGUEUR_CODE {
        return Err(inconnu());
    }
    let empreinte = empreinte_code(&code);
    let j = jetons::par_code(&app.db, &empreinte)
        .await?
        .ok_or_else(inconnu)?;
    // The right code, even if it can no longer be used, was not a guess.
    jetons::rendre_essai(&app.db, essai).await?;
    vivant(&j, maintenant)?;
    let (jeton, empreinte_jeton) = nouveau_secret();
    if !jetons::echanger_code(&app.db, j.id, &empreinte, &empreinte_jeton).await? {
        return Err(inconnu());
    }
    Ok(jeton)
}

/// Signs on the phone. The token carries its document: it signs `reference` only if that is
/// its own. The token is spent in the signature's transaction; the document then moves on
/// exactly as after a link signature (partly signed, or signed and queued for sealing).
pub async fn signer(
    app: &App,
    jeton: &str,
    reference: &str,
    signature: Signature,
    contexte: &Contexte,
) -> Result<Document, Erreur> {
    let (document, signataire, j) = ouvrir(app, jeton).await?;
    if document.reference != reference {
        return Err(Erreur::Interdit(
            "ce code de signature a été affiché pour un autre document : il ne signe que celui-là"
                .into(),
        ));
    }
    let referent = format!("personnel-{}", j.personnel_id);
    let verification = format!(
        "signé sur son téléphone, ouvert par le code n° {} affiché le {} par {referent} dans sa \
         session du navigateur ouverte par mot de passe, présent ; cette session tient lieu de \
         second facteur (pas de code par courriel)",
        empreinte_secret(jeton).get(..12).unwrap_or_default(),
        parafe_core::model::heure_de_paris(j.cree_le),
    );
    let mut recueillie = signature::verifier(
        app,
        &document,
        &signataire,
        &signature,
        contexte,
        &verification,
        &format!("telephone-{referent}"),
    )?;
    recueillie.preuve("moyen", json!("telephone"));
    recueillie.preuve("referent", json!(referent));
    let le = recueillie.le();
    // On an émargement sheet, under the sheet's locks like the tablet's sends: the animator's
    // closing then either sees this signature or takes the attendee off before it.
    let (_verrou, mut tx) = match super::kiosque::de_document(app, document.id).await? {
        Some(k) => {
            let (verrou, tx) = super::kiosque::verrouiller(app, k.id).await?;
            let maintenant = docs::par_id(&app.db, document.id).await?;
            let encore = match &maintenant {
                Some(d) => a_son_tour(app, d, |s| s.id == signataire.id).await?,
                None => None,
            };
            if encore.is_none() {
                return Err(Erreur::Conflit(
                    "la feuille a été close sans votre ligne : signalez-vous à l'animateur".into(),
                ));
            }
            (Some(verrou), tx)
        }
        None => (None, app.db.begin().await?),
    };
    if !jetons::utiliser(&mut tx, j.id, le, le - BATTEMENT).await? {
        return Err(Erreur::Conflit(
            "ce code vient d'expirer ou de servir : demandez à votre référent d'en afficher un \
             nouveau"
                .into(),
        ));
    }
    signature::inscrire(app, &mut tx, &recueillie).await?;
    tx.commit().await?;
    app.reveil.sonner();
    Ok(docs::par_id(&app.db, document.id)
        .await?
        .unwrap_or(document))
}

/// What the référent's page shows of the token it displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtatTelephone {
    Attente,
    Ouvert,
    Signe,
    Expire,
    /// The page stopped asking long enough for the token to die.
    Interrompu,
    /// The signer or the document has moved on otherwise (refused, cancelled…).
    Clos,
}

impl EtatTelephone {
    pub fn code(self) -> &'static str {
        match self {
            Self::Attente => "attente",
            Self::Ouvert => "ouvert",
            Self::Signe => "signe",
            Self::Expire => "expire",
            Self::Interrompu => "interrompu",
            Self::Clos => "clos",
        }
    }
    pub fn libelle(self) -> &'static str {
        match self {
            Self::Attente => "En attente : le téléphone n'a pas encore ouvert le code.",
            Self::Ouvert => "Ouvert sur le téléphone : lecture et signature en cours.",
            Self::Signe => "Signé sur le téléphone.",
            Self::Expire => "Code expiré : affichez-en un nouveau depuis le document.",
            Self::Interrompu => {
                "Code interrompu (page restée sans réponse) : affichez-en un nouveau depuis le document."
            }
            Self::Clos => "Ce signataire ne signe plus ce document.",
        }
    }
    pub fn fini(self) -> bool {
        !matches!(self, Self::Attente | Self::Ouvert)
    }
}

/// The state of the token `id` for the référent's page that shows it, whose asking keeps it
/// alive: only the staff member who displayed it, on a document still in his reach.
pub async fn etat(
    app: &App,
    acteur: &Acteur,
    reference: &str,
    id: i64,
) -> Result<EtatTelephone, Erreur> {
    let document = charger(app, acteur, reference).await?;
    let introuvable = || Erreur::Introuvable("aucun code affiché sous ce numéro".into());
    let j = jetons::du_personnel(&app.db, id, document.id, acteur.personnel_id)
        .await?
        .ok_or_else(introuvable)?;
    let signataire = signataires::sur_le_document(&app.db, document.id, j.signataire_id)
        .await?
        .ok_or_else(introuvable)?;
    let maintenant = app.horloge.maintenant();
    if signataire.etat == EtatSignataire::Signe && j.utilise_le.is_some() {
        return Ok(EtatTelephone::Signe);
    }
    if signataire.etat != EtatSignataire::Attente || !document.etat.en_signature() {
        return Ok(EtatTelephone::Clos);
    }
    if jetons::battre(&app.db, j.id, maintenant, maintenant - BATTEMENT).await? {
        return Ok(if j.ouvert_le.is_some() {
            EtatTelephone::Ouvert
        } else {
            EtatTelephone::Attente
        });
    }
    Ok(if j.utilise_le.is_some() {
        // Spent between the two reads: the signature is being committed.
        EtatTelephone::Ouvert
    } else if j.expire_le <= maintenant {
        EtatTelephone::Expire
    } else {
        EtatTelephone::Interrompu
    })
}
