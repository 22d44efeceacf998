//! The PLIEs of the deployment (its administrator only): each with its accounts and its seal,
//! and the form that opens another PLIE with its first administrator
//! ([`parafe_service::plies`]). A refusal shows the form again, the values typed, nothing
//! written.

use super::gabarit::{alerte, csrf, page};
use super::{erreur, message, Connecte, Formulaire, Page};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use parafe_service::auth::session::Session;
use parafe_service::plies::{self, NouveauPlie, PlieDuDeploiement};
use parafe_service::{App, Erreur};
use serde::Deserialize;

pub fn routes() -> Router<App> {
    Router::new().route("/admin/plies", get(ecran).post(creer))
}

#[derive(Deserialize, Default)]
struct PlieForm {
    id: String,
    nom: String,
    prenom_admin: String,
    nom_admin: String,
    email_admin: String,
}

fn jour(t: chrono::DateTime<chrono::Utc>) -> String {
    parafe_core::horloge::jour_a_paris(t)
        .format("%d/%m/%Y")
        .to_string()
}

/// Where a PLIE's seal stands: its certificate, or the lines of parafe.toml that give it one.
fn cachet(app: &App, p: &PlieDuDeploiement) -> Markup {
    match &p.cachet {
        Some(c) => html! {
            strong { (c.titulaire) }
            br;
            span.aide { "certifié par « " (c.emetteur) " », valable jusqu'au " (jour(c.jusqua)) }
        },
        None if !app.keys.developpement() => html! {
            span.etiquette.rouge { "aucun cachet" }
            p.aide { "Ses documents attendent d'être scellés. Indiquez son certificat dans parafe.toml, puis redémarrez parafe :" }
            pre.courriel { "[seal.plies." (p.plie.id) "]\npkcs12 = \"cles/" (p.plie.id) ".p12\"\npkcs12_mot_de_passe_env = \"PARAFE_PKCS12_" (p.plie.id.to_uppercase().replace('-', "_")) "\"" }
        },
        None => html! { span.aide { "émis par l'AC de développement au premier scellement" } },
    }
}

async fn rendre(
    app: &App,
    s: &Session,
    note: Option<Markup>,
    saisie: &PlieForm,
    statut: StatusCode,
) -> Page {
    let liste = plies::liste(app, &s.acteur).await.map_err(erreur)?;
    let corps = html! {
        h1 { "PLIE du déploiement" }
        p { "Chaque PLIE a ses comptes, ses participants, son journal et son propre cachet : ses documents et ses packs sont scellés en son nom, jamais au nom d'un autre." }
        @if let Some(n) = note { (n) }
        div.tableau-defilant {
            table {
                caption.visuellement-cache { "PLIE du déploiement" }
                thead { tr { th scope="col" { "PLIE" } th scope="col" { "Ouvert le" } th scope="col" { "Comptes" } th scope="col" { "Cachet" } } }
                tbody {
                    @for p in &liste {
                        tr {
                            td { strong { (p.plie.nom) } br; code { (p.plie.id) }
                                @if p.plie.id == app.config.service.plie { " " span.etiquette.bleu { "ce déploiement" } } }
                            td { (jour(p.plie.cree_le)) }
                            td { (p.plie.actives) " actif(s) sur " (p.plie.comptes) }
                            td { (cachet(app, p)) }
                        }
                    }
                }
            }
        }
        section.carte {
            h2 { "Ouvrir un PLIE" }
            p { "Son premier administrateur reçoit par courriel un lien (valable 7 jours) pour choisir son mot de passe ; il ouvre ensuite les comptes de son équipe et remplit la fiche du PLIE dans ses réglages. L'identifiant (minuscules sans accent, chiffres et tirets) ne change plus." }
            form.grille method="post" action="/admin/plies" {
                (csrf(s))
                div { label for="nom" { "Nom du PLIE" } input #nom name="nom" value=(saisie.nom) required maxlength="120" placeholder="PLIE de l'Agglomération de Béziers"; }
                div { label for="id" { "Identifiant" } input #id name="id" value=(saisie.id) required maxlength="63" pattern="[a-z0-9][a-z0-9\\-]*" placeholder="plie-beziers"; }
                div { label for="prenom_admin" { "Prénom de son administrateur" } input #prenom_admin name="prenom_admin" value=(saisie.prenom_admin) required; }
                div { label for="nom_admin" { "Nom de son administrateur" } input #nom_admin name="nom_admin" value=(saisie.nom_admin) required; }
                div { label for="email_admin" { "Adresse e-mail de son administrateur" } input #email_admin type="email" name="email_admin" value=(saisie.email_admin) required; }
                div.actions { button.principal type="submit" { "Ouvrir le PLIE" } }
            }
        }
    };
    Ok((
        statut,
        page(s, "PLIE du déploiement", "comptes", &[], corps),
    )
        .into_response())
}

async fn ecran(State(app): State<App>, Connecte(s): Connecte) -> Page {
    rendre(&app, &s, None, &PlieForm::default(), StatusCode::OK).await
}

async fn creer(
    State(app): State<App>,
    Connecte(s): Connecte,
    Formulaire(f): Formulaire<PlieForm>,
) -> Page {
    let n = NouveauPlie {
        id: f.id.clone(),
        nom: f.nom.clone(),
        prenom_admin: f.prenom_admin.clone(),
        nom_admin: f.nom_admin.clone(),
        email_admin: f.email_admin.clone(),
    };
    match plies::creer(&app, &s.acteur, &n).await {
        Ok(()) => {
            let note = alerte(
                "succes",
                &format!(
                    "PLIE « {} » ouvert : un lien d'activation part vers {}.",
                    n.nom.trim(),
                    n.email_admin.trim()
                ),
            );
            rendre(&app, &s, Some(note), &PlieForm::default(), StatusCode::OK).await
        }
        Err(e @ Erreur::Invalide { .. }) => {
            let note = alerte("erreur", &message(&e));
            rendre(&app, &s, Some(note), &f, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(erreur(e)),
    }
}
