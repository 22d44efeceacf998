//! The JSON API (`/api/…`, described at `/openapi.json`): thin handlers turning requests into
//! calls of [`crate::service`] and its French errors into 4xx answers `{"erreur", "champ"}`.

pub(crate) mod controle;

use crate::auth::{Acteur, Refus};
use crate::db::{self, documents as docs, participants, referentiel};
use crate::roles::RolePersonnel;
use crate::service::documents::{self, Demande};
use crate::service::signature::{self, Contexte, Signature};
use crate::service::{App, Erreur};
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// An error answer: status, French message, and the field to fix when there is one.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub champ: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut corps = json!({ "erreur": self.message });
        if let Some(champ) = self.champ {
            corps["champ"] = json!(champ);
        }
        (self.status, Json(corps)).into_response()
    }
}

impl From<Erreur> for ApiError {
    fn from(e: Erreur) -> ApiError {
        let (status, champ) = match &e {
            Erreur::Introuvable(_) => (StatusCode::NOT_FOUND, None),
            Erreur::Interdit(_) => (StatusCode::FORBIDDEN, None),
            Erreur::Invalide { champ, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, Some(champ.clone()))
            }
            Erreur::Conflit(_) => (StatusCode::CONFLICT, None),
            Erreur::Stockage { panne, detail } => {
                tracing::error!("stockage : {detail}");
                return ApiError {
                    status: StatusCode::from_u16(panne.statut())
                        .unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                    message: panne.to_string(),
                    champ: None,
                };
            }
            Erreur::TropDeDemandes(_) => (StatusCode::TOO_MANY_REQUESTS, None),
            Erreur::Interne(detail) => {
                tracing::error!("erreur interne : {detail}");
                return ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message:
                        "erreur interne du service ; elle est consignée dans le journal du serveur"
                            .into(),
                    champ: None,
                };
            }
        };
        let message = match e {
            Erreur::Invalide { message, .. } => message,
            autre => autre.to_string(),
        };
        ApiError {
            status,
            message,
            champ,
        }
    }
}

impl From<Refus> for ApiError {
    fn from(r: Refus) -> ApiError {
        match r {
            Refus::NonAuthentifie => ApiError {
                status: StatusCode::UNAUTHORIZED,
                message: r.to_string(),
                champ: None,
            },
            Refus::Interdit => ApiError {
                status: StatusCode::FORBIDDEN,
                message: r.to_string(),
                champ: None,
            },
            Refus::Base(e) => Erreur::from(e).into(),
        }
    }
}

/// Largest JSON body accepted: axum's default limit, which every JSON route keeps.
const LIMITE_JSON: usize = 2 << 20;

/// A JSON body whose errors are answered in French with the faulty field.
pub struct Corps<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for Corps<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Corps(v)),
            Err(rejet) => {
                let (status, message) = match &rejet {
                    JsonRejection::MissingJsonContentType(_) => (
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "envoyez du JSON (Content-Type: application/json)".to_owned(),
                    ),
                    JsonRejection::JsonSyntaxError(_) => (
                        StatusCode::BAD_REQUEST,
                        format!("JSON mal formé : {}", cause(&rejet)),
                    ),
                    JsonRejection::JsonDataError(_) => (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        format!("JSON inattendu : {}", cause(&rejet)),
                    ),
                    _ if rejet.status() == StatusCode::PAYLOAD_TOO_LARGE => (
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!(
                            "corps de requête trop volumineux : {} Mo au plus pour du JSON",
                            LIMITE_JSON >> 20
                        ),
                    ),
                    _ => (
                        StatusCode::BAD_REQUEST,
                        "corps de requête illisible".to_owned(),
                    ),
                };
                // serde names the field first: « champ: message ».
                let champ = cause(&rejet)
                    .split_once(": ")
                    .map(|(c, _)| c.to_owned())
                    .filter(|c| !c.contains(' '));
                Err(ApiError {
                    status,
                    message,
                    champ,
                })
            }
        }
    }
}

fn cause(rejet: &JsonRejection) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(rejet);
    let mut dernier = rejet.body_text();
    while let Some(s) = source {
        dernier = s.to_string();
        source = s.source();
    }
    dernier
}

type Reponse<T> = Result<T, ApiError>;

fn contexte(adresse: SocketAddr, entetes: &HeaderMap) -> Contexte {
    Contexte {
        ip: adresse.ip().to_string(),
        agent: entetes
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    }
}

pub fn routes() -> Router<App> {
    Router::new()
        .merge(controle::routes())
        .route("/openapi.json", get(openapi))
        .route("/api/sante", get(sante))
        .route("/api/documents", post(creer).get(lister))
        .route("/api/documents/{reference}", get(detail))
        .route(
            "/api/documents/{reference}/donnees",
            patch(modifier_donnees),
        )
        .route("/api/documents/{reference}/envoi", post(envoyer))
        .route(
            "/api/documents/{reference}/signatures",
            post(signer_sur_place),
        )
        .route("/api/documents/{reference}/relance", post(relancer))
        .route("/api/documents/{reference}/annulation", post(annuler))
        .route("/api/documents/{reference}/pdf", get(pdf))
        .route("/api/participants", get(lister_participants))
        .route("/api/participants/import", post(importer))
        .route(
            "/api/participants/{reference}",
            get(participant).patch(modifier_participant),
        )
        .route("/api/bilans/en-retard", get(bilans_en_retard))
        .route("/api/departements/{code}", put(departement))
        .route("/api/plie", put(fiche_plie))
        .route(
            "/api/signature/{jeton}",
            get(ouvrir_lien).post(signer_par_lien),
        )
        .route("/api/signature/{jeton}/code", post(envoyer_code))
        .route("/api/signature/{jeton}/verification", post(verifier_code))
        .route("/api/signature/{jeton}/refus", post(refuser))
        .route("/api/signature/{jeton}/pdf", get(pdf_du_lien))
        .layer(axum::middleware::map_response(crate::web::entetes_api))
        .merge(crate::web::routes())
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

async fn sante(State(app): State<App>) -> Reponse<Json<Value>> {
    let outbox = crate::outbox::etat(&app.db).await.map_err(Erreur::from)?;
    Ok(Json(
        json!({ "outbox": outbox, "coffre_en_attente": app.vault.queue_len() }),
    ))
}

async fn vue(app: &App, document: docs::Document) -> Reponse<Json<Value>> {
    let signataires = docs::signataires(&app.db, document.id)
        .await
        .map_err(Erreur::from)?;
    let libelle = document.etat.libelle();
    Ok(Json(
        json!({ "document": document, "libelle_etat": libelle, "signataires": signataires }),
    ))
}

async fn creer(
    State(app): State<App>,
    acteur: Acteur,
    Corps(demande): Corps<Demande>,
) -> Reponse<(StatusCode, Json<Value>)> {
    let document = documents::creer(&app, &acteur, demande).await?;
    Ok((StatusCode::CREATED, vue(&app, document).await?))
}

async fn lister(
    State(app): State<App>,
    acteur: Acteur,
    Query(filtre): Query<docs::Filtre>,
) -> Reponse<Json<Value>> {
    let liste = docs::liste(
        &app.db,
        acteur.plie.as_str(),
        acteur.portefeuille(),
        &filtre,
        1000,
    )
    .await
    .map_err(Erreur::from)?;
    Ok(Json(json!({ "documents": liste })))
}

async fn detail(
    State(app): State<App>,
    acteur: Acteur,
    Path(reference): Path<String>,
) -> Reponse<Json<Value>> {
    let document = documents::charger(&app, &acteur, &reference).await?;
    vue(&app, document).await
}

async fn modifier_donnees(
    State(app): State<App>,
    acteur: Acteur,
    Path(reference): Path<String>,
    Corps(donnees): Corps<Value>,
) -> Reponse<Json<Value>> {
    let document = documents::modifier_donnees(&app, &acteur, &reference, donnees).await?;
    vue(&app, document).await
}

async fn envoyer(
    State(app): State<App>,
    acteur: Acteur,
    Path(reference): Path<String>,
) -> Reponse<Json<Value>> {
    let document = documents::envoyer(&app, &acteur, &reference).await?;
    vue(&app, document).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureSurPlace {
    rang: i64,
    signature: Signature,
}

async fn signer_sur_place(
    State(app): State<App>,
    acteur: Acteur,
    ConnectInfo(adresse): ConnectInfo<SocketAddr>,
    entetes: HeaderMap,
    Path(reference): Path<String>,
    Corps(corps): Corps<SignatureSurPlace>,
) -> Reponse<Json<Value>> {
    let document = signature::signer_sur_place(
        &app,
        &acteur,
        &reference,
        corps.rang,
        corps.signature,
        &contexte(adresse, &entetes),
    )
    .await?;
    vue(&app, document).await
}

async fn relancer(
    State(app): State<App>,
    acteur: Acteur,
    Path(reference): Path<String>,
) -> Reponse<Json<Value>> {
    let n = documents::relancer(&app, &acteur, &reference).await?;
    Ok(Json(json!({ "relances": n })))
}

async fn annuler(
    State(app): State<App>,
    acteur: Acteur,
    Path(reference): Path<String>,
) -> Reponse<Json<Value>> {
    let document = documents::annuler(&app, &acteur, &reference).await?;
    vue(&app, document).await
}

fn reponse_pdf(nom: &str, octets: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{nom}\""),
            ),
        ],
        octets,
    )
        .into_response()
}

async fn pdf(
    State(app): State<App>,
    acteur: Acteur,
    Path(reference): Path<String>,
) -> Reponse<Response> {
    let (document, octets) = documents::pdf(&app, &acteur, &reference).await?;
    Ok(reponse_pdf(
        &format!("{}-{}.pdf", document.modele, document.reference),
        octets,
    ))
}

#[derive(Deserialize)]
struct Recherche {
    recherche: Option<String>,
}

async fn lister_participants(
    State(app): State<App>,
    acteur: Acteur,
    Query(q): Query<Recherche>,
) -> Reponse<Json<Value>> {
    let liste = participants::liste(
        &app.db,
        acteur.plie.as_str(),
        acteur.portefeuille(),
        q.recherche.as_deref(),
        500,
    )
    .await
    .map_err(Erreur::from)?;
    Ok(Json(json!({ "participants": liste })))
}

async fn participant(
    State(app): State<App>,
    acteur: Acteur,
    Path(reference): Path<String>,
) -> Reponse<Json<Value>> {
    let p = crate::service::participant_a_portee(&app, &acteur, &reference).await?;
    let filtre = docs::Filtre {
        participant: Some(p.reference.clone()),
        ..Default::default()
    };
    let documents = docs::liste(
        &app.db,
        acteur.plie.as_str(),
        acteur.portefeuille(),
        &filtre,
        1000,
    )
    .await
    .map_err(Erreur::from)?;
    Ok(Json(json!({ "participant": p, "documents": documents })))
}

/// Changes that move the bilans: a new CER start, an exit.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangementParcours {
    cer_debut: Option<String>,
    date_sortie: Option<String>,
    motif_sortie: Option<String>,
}

async fn modifier_participant(
    State(app): State<App>,
    acteur: Acteur,
    Path(reference): Path<String>,
    Corps(c): Corps<ChangementParcours>,
) -> Reponse<Json<Value>> {
    documents::modification_permise(&acteur)?;
    let plie = acteur.plie.as_str();
    let p = crate::service::participant_a_portee(&app, &acteur, &reference).await?;
    let jour = |champ: &str, v: &Option<String>| -> Result<Option<String>, Erreur> {
        match v {
            None => Ok(None),
            Some(s) => db::parse_jour(s).map(|d| Some(db::jour(d))).ok_or_else(|| {
                Erreur::invalide(champ, format!("« {s} » : date AAAA-MM-JJ attendue"))
            }),
        }
    };
    let (cer, sortie) = (
        jour("cer_debut", &c.cer_debut)?,
        jour("date_sortie", &c.date_sortie)?,
    );
    let mut tx = app.db.begin().await.map_err(Erreur::from)?;
    if let Some(cer) = &cer {
        participants::changer_cer(&mut *tx, p.id, cer)
            .await
            .map_err(Erreur::from)?;
    }
    if let Some(sortie) = &sortie {
        participants::enregistrer_sortie(
            &mut *tx,
            p.id,
            sortie,
            c.motif_sortie.as_deref().unwrap_or_default(),
        )
        .await
        .map_err(Erreur::from)?;
    }
    tx.commit().await.map_err(Erreur::from)?;
    let p = participants::par_id(&app.db, plie, p.id)
        .await
        .map_err(Erreur::from)?
        .ok_or_else(|| Erreur::Interne("participant disparu".into()))?;
    let bilans = crate::schedule::planifier(
        &app,
        plie,
        std::slice::from_ref(&p),
        app.horloge.maintenant(),
    )
    .await?;
    Ok(Json(json!({ "participant": p, "bilans": bilans })))
}

/// Media types under which tools send a CSV file (Windows names it `application/vnd.ms-excel`;
/// `application/octet-stream`: the bytes as they are).
const TYPES_CSV: [&str; 6] = [
    "text/csv",
    "application/csv",
    "text/comma-separated-values",
    "text/plain",
    "application/vnd.ms-excel",
    "application/octet-stream",
];

/// The encoding a CSV request declares (`charset`), checked with its media type; no
/// `Content-Type` is taken as bytes to recognise.
fn encodage_declare(entetes: &HeaderMap) -> Reponse<Option<crate::import::Encodage>> {
    let refus = |message: String| ApiError {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        message,
        champ: None,
    };
    let Some(valeur) = entetes.get(header::CONTENT_TYPE) else {
        return Ok(None);
    };
    let valeur = valeur.to_str().unwrap_or_default();
    let mut parties = valeur.split(';');
    let media = parties
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !TYPES_CSV.contains(&media.as_str()) {
        return Err(refus(format!(
            "envoyez le fichier CSV lui-même, avec l'en-tête Content-Type: text/csv (reçu : « {valeur} »)"
        )));
    }
    let charset = parties
        .filter_map(|p| p.split_once('='))
        .find(|(nom, _)| nom.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"'));
    match charset {
        None => Ok(None),
        Some(c) => crate::import::Encodage::par_charset(c).map(Some).ok_or_else(|| {
            refus(format!(
                "jeu de caractères « {c} » non pris en charge : enregistrez le fichier en UTF-8 ou en \
                 Windows-1252 (charset=utf-8 ou charset=windows-1252), ou n'indiquez pas de charset"
            ))
        }),
    }
}

/// The body, up to `limite` bytes; a larger one is refused before it is read when its size is
/// declared, as soon as it passes the limit otherwise.
async fn corps_borne(
    entetes: &HeaderMap,
    corps: axum::body::Body,
    limite: usize,
) -> Reponse<axum::body::Bytes> {
    let trop = || {
        ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: format!(
            "fichier trop volumineux : {} Mo au plus par import (100 000 participants en font 16 à 20) ; \
             découpez l'extraction en plusieurs fichiers",
            limite >> 20
        ),
        champ: None,
    }
    };
    let annonce = entetes
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if annonce.is_some_and(|n| n > limite as u64) {
        return Err(trop());
    }
    axum::body::to_bytes(corps, limite).await.map_err(|e| {
        if e.into_inner().is::<http_body_util::LengthLimitError>() {
            trop()
        } else {
            ApiError {
                status: StatusCode::BAD_REQUEST,
                message: "envoi du fichier interrompu : recommencez".into(),
                champ: None,
            }
        }
    })
}

async fn importer(
    State(app): State<App>,
    acteur: Acteur,
    entetes: HeaderMap,
    corps: axum::body::Body,
) -> Reponse<Json<Value>> {
    if !matches!(
        acteur.role,
        RolePersonnel::Coordinateur | RolePersonnel::Admin
    ) {
        return Err(Erreur::Interdit(
            "l'import des participants est réservé aux coordinateurs et administrateurs".into(),
        )
        .into());
    }
    let declare = encodage_declare(&entetes)?;
    let octets = corps_borne(&entetes, corps, crate::import::TAILLE_MAX).await?;
    let texte = crate::import::decoder(&octets, declare)?;
    match crate::import::importer_et_planifier(&app, acteur.plie.as_str(), &texte).await {
        Ok(rapport) => Ok(Json(json!(rapport))),
        Err(crate::import::ImportError::Service(e)) => Err(e.into()),
        Err(crate::import::ImportError::Lignes(erreurs)) => Err(ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: format!(
                "fichier refusé, rien n'a été importé : {}",
                erreurs
                    .iter()
                    .map(|e| match e.colonne.as_str() {
                        "" => format!("ligne {} : {}", e.ligne, e.message),
                        c => format!("ligne {} ({c}) : {}", e.ligne, e.message),
                    })
                    .collect::<Vec<_>>()
                    .join(" ; ")
            ),
            champ: erreurs.first().map(|e| e.colonne.clone()),
        }),
    }
}

async fn bilans_en_retard(State(app): State<App>, acteur: Acteur) -> Reponse<Json<Value>> {
    let liste = crate::schedule::en_retard(
        &app,
        acteur.plie.as_str(),
        acteur.portefeuille(),
        app.horloge.aujourdhui(),
    )
    .await?;
    Ok(Json(json!({ "bilans": liste })))
}

fn reglage_permis(acteur: &Acteur) -> Result<(), ApiError> {
    if matches!(
        acteur.role,
        RolePersonnel::Coordinateur | RolePersonnel::Admin
    ) {
        Ok(())
    } else {
        Err(Refus::Interdit.into())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepartementCorps {
    nom: String,
    email_referent_unique: String,
    email_sdi: String,
    bilans_mois: Option<Vec<u32>>,
}

async fn departement(
    State(app): State<App>,
    acteur: Acteur,
    Path(code): Path<String>,
    Corps(d): Corps<DepartementCorps>,
) -> Reponse<Json<Value>> {
    reglage_permis(&acteur)?;
    for (champ, email) in [
        ("email_referent_unique", &d.email_referent_unique),
        ("email_sdi", &d.email_sdi),
    ] {
        if !crate::delivery::email_valide(email) {
            return Err(Erreur::invalide(
                champ,
                format!("« {email} » n'est pas une adresse e-mail"),
            )
            .into());
        }
    }
    if d.bilans_mois
        .as_ref()
        .is_some_and(|m| m.is_empty() || m.iter().any(|&m| m == 0 || m > 120))
    {
        return Err(Erreur::invalide("bilans_mois", "mois entre 1 et 120 attendus").into());
    }
    let departement = referentiel::Departement {
        code,
        nom: d.nom,
        email_referent_unique: d.email_referent_unique,
        email_sdi: d.email_sdi,
        bilans_mois: d.bilans_mois.map(|m| json!(m).to_string()),
    };
    referentiel::enregistrer_departement(&app.db, acteur.plie.as_str(), &departement)
        .await
        .map_err(Erreur::from)?;
    Ok(Json(json!(departement)))
}

async fn fiche_plie(
    State(app): State<App>,
    acteur: Acteur,
    Corps(fiche): Corps<Value>,
) -> Reponse<Json<Value>> {
    reglage_permis(&acteur)?;
    let schema = app
        .catalogue
        .get("contrat-engagement")
        .map_err(|e| Erreur::Interne(e.to_string()))?;
    // Checked as the templates' « plie » field, so that every document accepts it.
    let essai = json!({ "plie": fiche });
    if let Err(erreurs) = crate::template::validate(schema, &essai) {
        if let Some(e) = erreurs.iter().find(|e| e.chemin.starts_with("plie")) {
            return Err(Erreur::invalide(&e.chemin, e.message.clone()).into());
        }
    }
    referentiel::changer_fiche(&app.db, acteur.plie.as_str(), &fiche)
        .await
        .map_err(Erreur::from)?;
    Ok(Json(json!({ "plie": fiche })))
}

/// What a link shows: before its code is confirmed, only the kind of document (nothing of whom
/// it concerns); after, the document and the signer.
async fn ouvrir_lien(State(app): State<App>, Path(jeton): Path<String>) -> Reponse<Json<Value>> {
    let (document, signataire) = signature::ouvrir_lien(&app, &jeton).await?;
    let titre = app
        .workflow(&document.workflow)
        .map_or(document.workflow.clone(), |w| w.titre.clone());
    let Some(confirme) = signature::confirmation(&app, &signataire, &jeton).await? else {
        return Ok(Json(json!({ "titre": titre, "code_confirme": false })));
    };
    Ok(Json(json!({
        "document": document.reference, "titre": titre, "version": document.sha256_rendu,
        "signataire": signataire.nom, "consentement": signature::CONSENTEMENT,
        "code_confirme": true, "code_confirme_le": confirme,
    })))
}

async fn envoyer_code(State(app): State<App>, Path(jeton): Path<String>) -> Reponse<StatusCode> {
    signature::envoyer_code(&app, &jeton).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Code {
    code: String,
}

async fn verifier_code(
    State(app): State<App>,
    Path(jeton): Path<String>,
    Corps(c): Corps<Code>,
) -> Reponse<StatusCode> {
    signature::verifier_code(&app, &jeton, &c.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn signer_par_lien(
    State(app): State<App>,
    ConnectInfo(adresse): ConnectInfo<SocketAddr>,
    entetes: HeaderMap,
    Path(jeton): Path<String>,
    Corps(s): Corps<Signature>,
) -> Reponse<Json<Value>> {
    let document =
        signature::signer_par_lien(&app, &jeton, s, &contexte(adresse, &entetes)).await?;
    Ok(Json(
        json!({ "document": document.reference, "etat": document.etat, "libelle_etat": document.etat.libelle() }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Motif {
    motif: String,
}

async fn refuser(
    State(app): State<App>,
    Path(jeton): Path<String>,
    Corps(m): Corps<Motif>,
) -> Reponse<Json<Value>> {
    let document = signature::refuser_par_lien(&app, &jeton, &m.motif).await?;
    Ok(Json(
        json!({ "document": document.reference, "etat": document.etat }),
    ))
}

async fn pdf_du_lien(State(app): State<App>, Path(jeton): Path<String>) -> Reponse<Response> {
    let (document, _, _) = signature::ouvrir_confirme(&app, &jeton).await?;
    let sha = document
        .sha256_rendu
        .clone()
        .ok_or_else(|| Erreur::Conflit("document non composé".into()))?;
    let octets = crate::service::pipeline::lire_version(&app, &sha).await?;
    Ok(reponse_pdf(&format!("{}.pdf", document.modele), octets))
}
