//! The JSON API (`/api/…`, described at `/openapi.json`): thin handlers turning requests into
//! calls of [`crate::service`] and its French errors into answers `{"erreur", "champ"}`
//! ([`ApiError`], the one mapping of errors to HTTP, screens included).

pub(crate) mod chiffres;
pub(crate) mod controle;
pub(crate) mod questionnaire;

use crate::acteur::{Appelant, Temoin};
use crate::corps::Corps;
use crate::erreur::ApiError;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use parafe_service::db::documents as docs;
use parafe_service::documents::{self, DemandeDocument};
use parafe_service::operations::{self, FicheOperation, NouvelleOperation};
use parafe_service::participants::{self, ChangementParcours};
use parafe_service::reglages::{self, ReglageDepartement};
use parafe_service::signature::{self, Signature};
use parafe_service::{App, Erreur};
use serde::Deserialize;
use serde_json::{json, Value};

type Reponse<T> = Result<T, ApiError>;

pub fn routes() -> Router<App> {
    Router::new()
        .merge(chiffres::routes())
        .merge(controle::routes())
        .merge(questionnaire::routes())
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
        .route("/api/documents/{reference}/remise", post(remettre_copie))
        .route("/api/documents/{reference}/annulation", post(annuler))
        .route("/api/documents/{reference}/pdf", get(pdf))
        .route("/api/participants", get(lister_participants))
        .route("/api/participants/import", post(importer))
        .route(
            "/api/participants/{reference}",
            get(participant).patch(modifier_participant),
        )
        .route(
            "/api/participants/{reference}/bilans/{bilan}",
            post(rediger_bilan),
        )
        .route("/api/bilans/en-retard", get(bilans_en_retard))
        .route("/api/a-faire", get(a_faire))
        .route("/api/a-faire/referents", get(charges_des_referents))
        .route("/api/departements/{code}", put(departement))
        .route(
            "/api/operations",
            post(creer_operation).get(lister_operations),
        )
        .route("/api/operations/{code}", put(modifier_operation))
        .route("/api/plie", put(fiche_plie))
        .route("/api/plie/homonymes", put(homonymes))
        .route(
            "/api/signature/{jeton}",
            get(ouvrir_lien).post(signer_par_lien),
        )
        .route("/api/signature/{jeton}/code", post(envoyer_code))
        .route("/api/signature/{jeton}/verification", post(verifier_code))
        .route("/api/signature/{jeton}/refus", post(refuser))
        .route("/api/signature/{jeton}/pdf", get(pdf_du_lien))
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

async fn sante(State(app): State<App>) -> Reponse<Json<Value>> {
    let outbox = parafe_service::outbox::decompte(&app.db)
        .await
        .map_err(Erreur::from)?;
    Ok(Json(
        json!({ "outbox": outbox, "coffre_en_attente": app.vault.queue_len() }),
    ))
}

async fn vue(app: &App, document: docs::Document) -> Reponse<Json<Value>> {
    let (document, signataires) = documents::avec_signataires(app, document).await?;
    let echecs = parafe_service::db::outbox::abandons_du_document(
        &app.db,
        &document.plie,
        &document.reference,
    )
    .await
    .map_err(Erreur::from)?;
    let libelle = document.etat.libelle();
    Ok(Json(
        json!({ "document": document, "libelle_etat": libelle, "signataires": signataires, "echecs": echecs }),
    ))
}

async fn creer(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Corps(demande): Corps<DemandeDocument>,
) -> Reponse<(StatusCode, Json<Value>)> {
    let document = documents::creer(&app, &acteur, demande).await?;
    Ok((StatusCode::CREATED, vue(&app, document).await?))
}

async fn lister(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Query(filtre): Query<docs::Filtre>,
) -> Reponse<Json<Value>> {
    let liste = documents::lister(&app, &acteur, &filtre).await?;
    Ok(Json(json!({ "documents": liste })))
}

async fn detail(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(reference): Path<String>,
) -> Reponse<Json<Value>> {
    let document = documents::charger(&app, &acteur, &reference).await?;
    vue(&app, document).await
}

async fn modifier_donnees(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(reference): Path<String>,
    Corps(donnees): Corps<Value>,
) -> Reponse<Json<Value>> {
    let document = documents::modifier_donnees(&app, &acteur, &reference, donnees).await?;
    vue(&app, document).await
}

async fn envoyer(
    State(app): State<App>,
    Appelant(acteur): Appelant,
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
    Appelant(acteur): Appelant,
    Temoin(ctx): Temoin,
    Path(reference): Path<String>,
    Corps(corps): Corps<SignatureSurPlace>,
) -> Reponse<Json<Value>> {
    let document =
        signature::signer_sur_place(&app, &acteur, &reference, corps.rang, corps.signature, &ctx)
            .await?;
    vue(&app, document).await
}

async fn relancer(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(reference): Path<String>,
) -> Reponse<Json<Value>> {
    let n = documents::relancer(&app, &acteur, &reference).await?;
    Ok(Json(json!({ "relances": n })))
}

async fn remettre_copie(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(reference): Path<String>,
    Json(remise): Json<documents::RemiseCopie>,
) -> Reponse<Json<Value>> {
    let d = documents::remettre_copie(&app, &acteur, &reference, remise).await?;
    Ok(Json(
        json!({ "document": d.reference, "etat": d.etat.code() }),
    ))
}

async fn annuler(
    State(app): State<App>,
    Appelant(acteur): Appelant,
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
    Appelant(acteur): Appelant,
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
    Appelant(acteur): Appelant,
    Query(q): Query<Recherche>,
) -> Reponse<Json<Value>> {
    let liste = participants::lister(&app, &acteur, q.recherche.as_deref(), 500).await?;
    Ok(Json(json!({ "participants": liste })))
}

async fn participant(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(reference): Path<String>,
) -> Reponse<Json<Value>> {
    let (p, documents, bilans) = participants::avec_documents(&app, &acteur, &reference).await?;
    Ok(Json(
        json!({ "participant": p, "documents": documents, "bilans": bilans }),
    ))
}

/// Opens a planned bilan to write it: its draft, made on the first call.
async fn rediger_bilan(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path((reference, bilan)): Path<(String, String)>,
) -> Reponse<Json<Value>> {
    let p = participants::participant(&app, &acteur, &reference).await?;
    let document = parafe_service::schedule::rediger(&app, &acteur, &p, &bilan).await?;
    vue(&app, document).await
}

async fn modifier_participant(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(reference): Path<String>,
    Corps(c): Corps<ChangementParcours>,
) -> Reponse<Json<Value>> {
    let (p, bilans) = participants::changer_parcours(&app, &acteur, &reference, c).await?;
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
fn encodage_declare(entetes: &HeaderMap) -> Reponse<Option<parafe_service::import::Encodage>> {
    let refus = |message: String| ApiError {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        message,
        champ: None,
        champs: Vec::new(),
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
        Some(c) => parafe_service::import::Encodage::par_charset(c).map(Some).ok_or_else(|| {
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
        champs: Vec::new(),
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
                champs: Vec::new(),
            }
        }
    })
}

async fn importer(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    entetes: HeaderMap,
    corps: axum::body::Body,
) -> Reponse<Json<Value>> {
    let declare = encodage_declare(&entetes)?;
    let octets = corps_borne(&entetes, corps, parafe_service::import::TAILLE_MAX).await?;
    let texte = parafe_service::import::decoder(&octets, declare)?;
    match participants::importer(&app, &acteur, &texte).await {
        Ok(rapport) => Ok(Json(json!(rapport))),
        Err(parafe_service::import::ImportError::Service(e)) => Err(e.into()),
        Err(parafe_service::import::ImportError::Lignes(erreurs)) => Err(ApiError {
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
            champs: Vec::new(),
        }),
    }
}

async fn bilans_en_retard(
    State(app): State<App>,
    Appelant(acteur): Appelant,
) -> Reponse<Json<Value>> {
    let liste = parafe_service::schedule::en_retard(
        &app,
        acteur.plie.as_str(),
        acteur.portefeuille(),
        app.horloge.aujourdhui(),
    )
    .await?;
    Ok(Json(json!({ "bilans": liste })))
}

async fn a_faire(State(app): State<App>, Appelant(acteur): Appelant) -> Reponse<Json<Value>> {
    let (au, echeances) = parafe_service::a_faire::liste(&app, &acteur).await?;
    Ok(Json(json!({ "au": au, "echeances": echeances })))
}

async fn charges_des_referents(
    State(app): State<App>,
    Appelant(acteur): Appelant,
) -> Reponse<Json<Value>> {
    let (au, referents) = parafe_service::a_faire::charges(&app, &acteur).await?;
    Ok(Json(json!({ "au": au, "referents": referents })))
}

async fn departement(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(code): Path<String>,
    Corps(d): Corps<ReglageDepartement>,
) -> Reponse<Json<Value>> {
    let departement = reglages::enregistrer_departement(&app, &acteur, code, d).await?;
    Ok(Json(json!(departement)))
}

async fn creer_operation(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Corps(nouvelle): Corps<NouvelleOperation>,
) -> Reponse<(StatusCode, Json<Value>)> {
    let operation =
        operations::enregistrer(&app, &acteur, &nouvelle.numero, nouvelle.fiche, true).await?;
    Ok((StatusCode::CREATED, Json(json!(operation))))
}

async fn modifier_operation(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(code): Path<String>,
    Corps(fiche): Corps<FicheOperation>,
) -> Reponse<Json<Value>> {
    let operation = operations::enregistrer(&app, &acteur, &code, fiche, false).await?;
    Ok(Json(json!(operation)))
}

async fn lister_operations(
    State(app): State<App>,
    Appelant(acteur): Appelant,
) -> Reponse<Json<Value>> {
    let liste = operations::lister(&app, &acteur).await?;
    Ok(Json(json!({ "operations": liste })))
}

async fn fiche_plie(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Corps(fiche): Corps<Value>,
) -> Reponse<Json<Value>> {
    reglages::enregistrer_fiche_plie(&app, &acteur, &fiche).await?;
    Ok(Json(json!({ "plie": fiche })))
}

/// `{"homonymes": "commune"}`: what the PLIE's screens show beside two identical names.
async fn homonymes(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Corps(choix): Corps<Value>,
) -> Reponse<Json<Value>> {
    let choix = choix
        .get("homonymes")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let choix = reglages::enregistrer_homonymes(&app, &acteur, choix).await?;
    Ok(Json(json!({ "homonymes": choix })))
}

async fn ouvrir_lien(State(app): State<App>, Path(jeton): Path<String>) -> Reponse<Json<Value>> {
    let apercu = signature::apercu_du_lien(&app, &jeton).await?;
    let titre = apercu.titre;
    let Some((document, signataire, confirme)) = apercu.confirme else {
        return Ok(Json(json!({ "titre": titre, "code_confirme": false })));
    };
    Ok(Json(json!({
        "document": document.reference, "titre": titre, "version": document.sha256_rendu,
        "signataire": signataire.nom, "consentement": parafe_service::trace::CONSENTEMENT,
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
    Temoin(ctx): Temoin,
    Path(jeton): Path<String>,
    Corps(s): Corps<Signature>,
) -> Reponse<Json<Value>> {
    let document = signature::signer_par_lien(&app, &jeton, s, &ctx).await?;
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
    let (document, octets) = signature::pdf_du_lien(&app, &jeton).await?;
    Ok(reponse_pdf(&format!("{}.pdf", document.modele), octets))
}
