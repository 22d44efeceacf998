//! Signing by link (`/signer/<jeton>`): the signer, who has no account, asks for a one-time
//! code by e-mail, types it, reads the document as page pictures, draws (or types) a signature,
//! ticks the consent sentence and signs — or declines with a reason. Before the code is
//! confirmed on this link, the page shows nothing of the document nor whom it concerns.

use super::dossiers::{bloc_signature, pages};
use super::gabarit::{alerte, page_publique, page_simple};
use super::{apercu, erreur_json, message, page_erreur, Page};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use maud::html;
use parafe_service::db::documents::Document;
use parafe_service::signature::{self, Signature};
use parafe_service::{App, Erreur};
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/signer/{jeton}", get(accueil).post(signer))
        .route("/signer/{jeton}/code", post(envoyer_code))
        .route("/signer/{jeton}/verification", post(verifier))
        .route("/signer/{jeton}/pages/{page}", get(image_page))
        .route("/signer/{jeton}/refus", post(refuser))
        .route("/signature-enregistree", get(merci))
}

fn refus_du_lien(e: Erreur) -> Response {
    super::refus_de_signer(
        e,
        "Lien de signature",
        "Ce lien ne permet plus de signer",
        "Si vous devez encore signer, contactez votre référent : il peut vous envoyer un nouveau lien.",
    )
}

fn titre(app: &App, d: &Document) -> String {
    app.workflow(&d.workflow)
        .map_or(d.workflow.clone(), |w| w.titre.clone())
}

#[derive(Deserialize, Default)]
struct Note {
    etape: Option<String>,
    erreur: Option<String>,
}

async fn accueil(
    State(app): State<App>,
    Path(jeton): Path<String>,
    Query(note): Query<Note>,
) -> Page {
    let (d, s) = signature::ouvrir_lien(&app, &jeton)
        .await
        .map_err(refus_du_lien)?;
    let titre = titre(&app, &d);
    let nom_plie = parafe_service::db::referentiel::nom_plie(&app.db, &d.plie)
        .await
        .map_err(|e| super::erreur(e.into()))?
        .unwrap_or_default();
    let confirme = signature::confirmation(&app, &s, &jeton)
        .await
        .map_err(super::erreur)?;
    let probleme = note.erreur.as_deref().map(|e| alerte("erreur", e));
    if confirme.is_none() {
        let code_envoye = note.etape.as_deref() == Some("code");
        let corps = html! {
            div.carte.etroite {
                h1 { (titre) }
                p.intro { "Bonjour, " (nom_plie) " vous demande de signer un document. Il s'affichera une fois le code confirmé." }
                @if let Some(p) = probleme { (p) }
                ol.etapes {
                    li aria-current=[(!code_envoye).then_some("step")] { "Recevoir un code par courriel" }
                    li aria-current=[code_envoye.then_some("step")] { "Saisir le code" }
                    li { "Lire et signer" }
                }
                @if code_envoye {
                    (alerte("succes", "Un code à 6 chiffres vient d'être envoyé à votre adresse e-mail. Il est valable 10 minutes."))
                    form method="post" action=(format!("/signer/{jeton}/verification")) {
                        label for="code" { "Code reçu par courriel" }
                        input #code name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required autofocus;
                        button.principal.grand type="submit" { "Valider le code" }
                    }
                    form method="post" action=(format!("/signer/{jeton}/code")) {
                        button.lien type="submit" { "Je n'ai rien reçu : renvoyer un code" }
                    }
                } @else {
                    p { "Pour vérifier que c'est bien vous, nous envoyons un code à votre adresse e-mail." }
                    form method="post" action=(format!("/signer/{jeton}/code")) {
                        button.principal.grand type="submit" { "Recevoir mon code" }
                    }
                }
            }
        };
        return Ok(page_simple(&titre, corps).into_response());
    }
    let sha = d
        .sha256_rendu
        .clone()
        .ok_or_else(|| refus_du_lien(Erreur::Conflit("document non composé".into())))?;
    let n = apercu::nombre_de_pages(&app, &sha)
        .await
        .map_err(super::erreur)?;
    let corps = html! {
        h1 { (titre) }
        p.intro { "Bonjour " strong { (s.nom) } ". Lisez le document jusqu'au bout, puis signez en bas de la page." }
        p.empreinte { "Empreinte SHA-256 de cette version : " code { (sha) } }
        (pages(&format!("/signer/{jeton}/pages"), n, &titre, &sha))
        form #formulaire-signature novalidate data-mode="lien" data-url=(format!("/signer/{jeton}"))
            data-version=(sha) data-suite="/signature-enregistree" {
            (bloc_signature(&s.nom, true))
            div.actions { button.principal.grand #signer type="submit" { "Je signe" } }
        }
        details.refus.carte {
            summary { "Je ne veux pas signer ce document" }
            form method="post" action=(format!("/signer/{jeton}/refus")) {
                label for="motif" { "Pourquoi ? (votre référent lira ce message)" }
                textarea #motif name="motif" rows="3" required maxlength="1000" {}
                button.danger type="submit" { "Refuser de signer" }
            }
        }
    };
    Ok(page_publique(&titre, &["signature.js", "signer.js"], corps).into_response())
}

async fn envoyer_code(
    State(app): State<App>,
    Path(jeton): Path<String>,
    _: super::FormulairePublic<super::Vide>,
) -> Page {
    let note = match signature::envoyer_code(&app, &jeton).await {
        Ok(()) => String::new(),
        Err(e @ Erreur::TropDeDemandes(_)) => {
            format!("&erreur={}", crate::lien::encoder(&message(&e)))
        }
        Err(e) => return Err(refus_du_lien(e)),
    };
    Ok(Redirect::to(&format!("/signer/{jeton}?etape=code{note}")).into_response())
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

async fn verifier(
    State(app): State<App>,
    Path(jeton): Path<String>,
    super::FormulairePublic(c): super::FormulairePublic<Code>,
) -> Page {
    match signature::verifier_code(&app, &jeton, &c.code).await {
        Ok(()) => Ok(Redirect::to(&format!("/signer/{jeton}")).into_response()),
        Err(e @ Erreur::Invalide { .. }) => Ok(Redirect::to(&format!(
            "/signer/{jeton}?etape=code&erreur={}",
            crate::lien::encoder(&message(&e))
        ))
        .into_response()),
        Err(e) => Err(refus_du_lien(e)),
    }
}

async fn image_page(State(app): State<App>, Path((jeton, page)): Path<(String, usize)>) -> Page {
    let (d, _, _) = signature::ouvrir_confirme(&app, &jeton)
        .await
        .map_err(|e| page_erreur(StatusCode::FORBIDDEN, &message(&e)))?;
    let sha = d
        .sha256_rendu
        .ok_or_else(|| page_erreur(StatusCode::CONFLICT, "document non composé"))?;
    let png = apercu::page(&app, &sha, page)
        .await
        .map_err(super::erreur)?;
    Ok(apercu::reponse(png))
}

async fn signer(
    State(app): State<App>,
    crate::acteur::Temoin(ctx): crate::acteur::Temoin,
    entetes: HeaderMap,
    Path(jeton): Path<String>,
    crate::corps::Corps(s): crate::corps::Corps<Signature>,
) -> Response {
    if !super::meme_origine(&app, &entetes) {
        return erreur_json(Erreur::Interdit("requête venue d'un autre site".into()));
    }
    match signature::signer_par_lien(&app, &jeton, s, &ctx).await {
        Ok(d) => Json(json!({ "etat": d.etat, "libelle_etat": d.etat.libelle() })).into_response(),
        Err(e) => erreur_json(e),
    }
}

#[derive(Deserialize)]
struct Motif {
    motif: String,
}

async fn refuser(
    State(app): State<App>,
    Path(jeton): Path<String>,
    super::FormulairePublic(m): super::FormulairePublic<Motif>,
) -> Page {
    match signature::refuser_par_lien(&app, &jeton, &m.motif).await {
        Ok(_) => Ok(page_simple(
            "Refus enregistré",
            html! {
                div.carte.etroite {
                    h1 { "Refus enregistré" }
                    (alerte("info", "Votre refus et son motif ont été transmis à votre référent. Le document ne sera pas signé."))
                }
            },
        )
        .into_response()),
        Err(e @ Erreur::Invalide { .. }) => Ok(Redirect::to(&format!(
            "/signer/{jeton}?erreur={}",
            crate::lien::encoder(&message(&e))
        ))
        .into_response()),
        Err(e) => Err(refus_du_lien(e)),
    }
}

async fn merci() -> Response {
    page_simple(
        "Signature enregistrée",
        html! {
            div.carte.etroite {
                h1 { "Merci, votre signature est enregistrée" }
                (alerte("succes", "Quand tous les signataires auront signé, le document sera scellé et vous le recevrez par courriel."))
                p { "Vous pouvez fermer cette page." }
            }
        },
    )
    .into_response()
}
