//! Signing on the signer's own phone. The référent's screen shows a QR code of
//! `/telephone/<jeton>` and a short code to type at `/telephone`, and asks every few seconds for
//! the token's state, which keeps it alive; the phone opens the signing page of the link (pages,
//! pad, consent) without the e-mail code: the référent's session is the second factor
//! ([`parafe_service::telephone`]). Tokens travel only in paths and redirects, never in a log.

use super::dossiers::{bloc_signature, pages};
use super::gabarit::{alerte, page, page_publique, page_simple};
use super::{apercu, erreur, erreur_json, page_de, page_erreur, qr, Connecte, Page};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use maud::{html, Markup};
use parafe_service::signature::Signature;
use parafe_service::telephone::{self, EtatTelephone};
use parafe_service::{App, Erreur};
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/documents/{reference}/telephone/{rang}", post(afficher))
        .route("/documents/{reference}/telephones/{id}", post(etat))
        .route("/telephone", get(saisie).post(echanger))
        .route("/telephone/{jeton}", get(accueil))
        .route("/telephone/{jeton}/pages/{page}", get(image_page))
        .route("/telephone/{jeton}/signer/{reference}", post(signer))
        .route("/signature-telephone-enregistree", get(merci))
}

fn titre(app: &App, workflow: &str) -> String {
    app.workflow(workflow)
        .map_or(workflow.to_owned(), |w| w.titre.clone())
}

/// The référent's screen: the QR code, the short code, the token's state.
async fn afficher(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path((reference, rang)): Path<(String, i64)>,
    _: super::Formulaire<super::Vide>,
) -> Page {
    let a = telephone::afficher(&app, &s.acteur, &reference, rang)
        .await
        .map_err(erreur)?;
    let d = &a.document;
    let retour = format!("/documents/{}", d.reference);
    let etat = format!("/documents/{}/telephones/{}", d.reference, a.id);
    let corps = ecran(
        &app,
        &s.csrf,
        &a,
        (&retour, "← Retour au document"),
        &etat,
        false,
    )?;
    Ok(page(
        &s,
        &titre(&app, &d.workflow),
        "accueil",
        &["telephone.js"],
        corps,
    )
    .into_response())
}

/// What a screen showing a token draws: the QR code of its URL, the short code and the token's
/// state, asked at `etat`; `retour` leads back to where it was shown from, by itself once signed
/// if `revenir` (the sheet of a workshop, where the next attendee waits).
pub(super) fn ecran(
    app: &App,
    csrf: &str,
    a: &telephone::Affichage,
    (retour, libelle_retour): (&str, &str),
    etat: &str,
    revenir: bool,
) -> Result<Markup, Response> {
    let url = format!("{}/telephone/{}", app.url_publique(), a.jeton);
    let dessin =
        qr::svg(&url, "QR code à scanner avec l'appareil photo du téléphone").map_err(|e| {
            erreur(Erreur::Conflit(format!(
                "QR code impossible à dessiner : {e}"
            )))
        })?;
    let nom = &a.signataire.nom;
    Ok(html! {
        p { a #retour-telephone href=(retour) { (libelle_retour) } }
        h1 { "Signature sur le téléphone de " (nom) }
        p.intro { (titre(app, &a.document.workflow)) " : demandez à " strong { (nom) } " de scanner ce QR code avec l'appareil photo de son téléphone." }
        div.telephone #telephone data-url=(url) data-csrf=(csrf) data-etat=(etat) data-revenir=[revenir.then_some(retour)] {
            div.cadre-qr { (dessin) }
            p.code-lien { "Sans appareil photo : ouvrir " strong { (app.url_publique()) "/telephone" } " et taper ce code :" }
            p.code-court #code-court { (a.code) }
            p.etat-telephone #etat-telephone role="status" aria-live="polite" { (EtatTelephone::Attente.libelle()) }
        }
        p.aide {
            "Ce code sert une seule fois, pour ce document et ce signataire, jusqu'à "
            (super::gabarit::paris(a.expire_le).split(' ').nth(1).unwrap_or_default())
            ", et seulement tant que cette page reste affichée. Aucune adresse e-mail ni compte n'est demandé : votre présence en tient lieu et figure dans les preuves."
        }
    })
}

/// The token's state for the page that shows it; each asking keeps the token alive.
async fn etat(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path((reference, id)): Path<(String, i64)>,
    _: super::JsonSur<super::Vide>,
) -> Response {
    etat_json(telephone::etat(&app, &s.acteur, &reference, id).await)
}

/// The token's state as the screen's script reads it.
pub(super) fn etat_json(etat: Result<EtatTelephone, Erreur>) -> Response {
    match etat {
        Ok(e) => Json(json!({ "etat": e.code(), "libelle": e.libelle(), "fini": e.fini() }))
            .into_response(),
        Err(e) => erreur_json(e),
    }
}

fn refus(e: Erreur) -> Response {
    super::refus_de_signer(
        e,
        "Signature sur téléphone",
        "Ce code ne permet pas de signer",
        "Votre référent peut afficher un nouveau code depuis le document.",
    )
}

fn formulaire_code(probleme: Option<&str>) -> Markup {
    html! {
        div.carte.etroite {
            h1 { "Signer sur mon téléphone" }
            p.intro { "Tapez le code de " (telephone::LONGUEUR_CODE) " caractères affiché sur l'écran de votre référent." }
            @if let Some(p) = probleme { (alerte("erreur", p)) }
            form method="post" action="/telephone" {
                label for="code" { "Code affiché" }
                input.code-court #code name="code" autocomplete="off" autocapitalize="characters"
                    spellcheck="false" maxlength="16" required autofocus;
                button.principal.grand type="submit" { "Continuer" }
            }
        }
    }
}

async fn saisie() -> Response {
    page_simple("Signer sur mon téléphone", formulaire_code(None)).into_response()
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

/// The short code spent for a token of the phone's own: on to the signing page.
async fn echanger(
    State(app): State<App>,
    crate::acteur::Temoin(ctx): crate::acteur::Temoin,
    super::FormulairePublic(c): super::FormulairePublic<Code>,
) -> Response {
    match telephone::echanger_code(&app, &c.code, &ctx.ip).await {
        Ok(jeton) => Redirect::to(&format!("/telephone/{jeton}")).into_response(),
        Err(e) => {
            let refus = crate::erreur::ApiError::from(e);
            if refus.status.is_server_error() {
                return page_de(refus);
            }
            let statut = match refus.status {
                StatusCode::CONFLICT => StatusCode::GONE,
                s => s,
            };
            let page = page_simple(
                "Signer sur mon téléphone",
                formulaire_code(Some(&refus.message)),
            );
            (statut, page).into_response()
        }
    }
}

/// The phone's signing page: the link's page without its e-mail code step.
async fn accueil(State(app): State<App>, Path(jeton): Path<String>) -> Page {
    let (d, s, _) = telephone::ouvrir_la_page(&app, &jeton)
        .await
        .map_err(refus)?;
    let titre = titre(&app, &d.workflow);
    let sha = d
        .sha256_rendu
        .clone()
        .ok_or_else(|| refus(Erreur::Conflit("document non composé".into())))?;
    let n = apercu::nombre_de_pages(&app, &sha).await.map_err(erreur)?;
    let corps = html! {
        h1 { (titre) }
        p.intro { "Bonjour " strong { (s.nom) } ". Lisez le document jusqu'au bout, puis signez en bas de la page." }
        p.empreinte { "Empreinte SHA-256 de cette version : " code { (sha) } }
        (pages(&format!("/telephone/{jeton}/pages"), n, &titre, &sha))
        form #formulaire-signature novalidate data-mode="telephone"
            data-url=(format!("/telephone/{jeton}/signer/{}", d.reference))
            data-version=(sha) data-suite="/signature-telephone-enregistree" {
            (bloc_signature(&s.nom, true))
            div.actions { button.principal.grand #signer type="submit" { "Je signe" } }
        }
    };
    Ok(page_publique(&titre, &["signature.js", "signer.js"], corps).into_response())
}

async fn image_page(State(app): State<App>, Path((jeton, page)): Path<(String, usize)>) -> Page {
    let (d, _, _) = telephone::ouvrir(&app, &jeton)
        .await
        .map_err(|e| page_erreur(StatusCode::FORBIDDEN, &super::message(&e)))?;
    let sha = d
        .sha256_rendu
        .ok_or_else(|| page_erreur(StatusCode::CONFLICT, "document non composé"))?;
    let png = apercu::page(&app, &sha, page).await.map_err(erreur)?;
    Ok(apercu::reponse(png))
}

async fn signer(
    State(app): State<App>,
    crate::acteur::Temoin(ctx): crate::acteur::Temoin,
    entetes: HeaderMap,
    Path((jeton, reference)): Path<(String, String)>,
    crate::corps::Corps(s): crate::corps::Corps<Signature>,
) -> Response {
    if !super::meme_origine(&app, &entetes) {
        return erreur_json(Erreur::Interdit("requête venue d'un autre site".into()));
    }
    match telephone::signer(&app, &jeton, &reference, s, &ctx).await {
        Ok(d) => Json(json!({ "etat": d.etat, "libelle_etat": d.etat.libelle() })).into_response(),
        Err(e) => erreur_json(e),
    }
}

async fn merci() -> Response {
    page_simple(
        "Signature enregistrée",
        html! {
            div.carte.etroite {
                h1 { "Merci, votre signature est enregistrée" }
                (alerte("succes", "Votre référent la voit sur son écran. Quand tous les signataires auront signé, le document sera scellé et versé à votre dossier."))
                p { "Vous pouvez fermer cette page." }
            }
        },
    )
    .into_response()
}
