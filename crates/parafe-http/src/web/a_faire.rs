//! « À faire »: the référent's home page (his portfolio's actions, late first, one line per
//! action with the button that does it) and, for the coordinateur, each référent's load.

use super::gabarit::{self, csrf, page};
use super::{erreur, Connecte, Page};
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use parafe_service::a_faire::{self, ChargeReferent};
use parafe_service::auth::session::Session;
use parafe_service::roles::RolePersonnel;
use parafe_service::suivi::{Echeance, Urgence};
use parafe_service::App;

pub fn routes() -> Router<App> {
    Router::new().route("/a-faire", get(a_faire))
}

async fn a_faire(State(app): State<App>, Connecte(s): Connecte) -> Page {
    let corps = match s.acteur.role {
        RolePersonnel::Referent => {
            let (jour, lignes) = a_faire::liste(&app, &s.acteur).await.map_err(erreur)?;
            let noms: Vec<(&str, &str, &str)> = lignes
                .iter()
                .map(|e| (e.participant.as_str(), e.prenom.as_str(), e.nom.as_str()))
                .collect();
            let reperes = parafe_service::participants::reperes_des_lignes(&app, &s.acteur, &noms)
                .await
                .map_err(erreur)?;
            liste(&s, jour, &lignes, &reperes)
        }
        RolePersonnel::Coordinateur | RolePersonnel::Admin => {
            let (jour, charges) = a_faire::charges(&app, &s.acteur).await.map_err(erreur)?;
            let operations = parafe_service::controle::operations(&app, &s.acteur.plie)
                .await
                .map_err(erreur)?;
            html! {
                (portefeuilles(jour, &charges))
                @if !operations.is_empty() {
                    section.carte aria-labelledby="titre-chiffres" {
                        h2 #titre-chiffres { "Chiffres des opérations" }
                        ul {
                            @for o in &operations {
                                li { a href=(format!("/operations/{}/chiffres", o.code)) { (o.code) " — " (o.intitule) } }
                            }
                        }
                    }
                }
            }
        }
        RolePersonnel::Assistant => html! {
            h1 { "À faire" }
            p { "Les actions de suivi sont celles des référents. " a href="/accueil" { "Participants du PLIE" } }
        },
    };
    Ok(page(&s, "À faire", "a-faire", &[], corps).into_response())
}

fn bouton(s: &Session, e: &Echeance) -> Markup {
    if e.bouton.formulaire {
        html! {
            form.en-ligne method="post" action=(e.bouton.url) {
                (csrf(s)) button.principal type="submit" { (e.bouton.libelle) }
            }
        }
    } else {
        html! { a.bouton.principal href=(e.bouton.url) { (e.bouton.libelle) } }
    }
}

/// `reperes`: what tells each line's participant from a homonym, line by line.
fn liste(
    s: &Session,
    jour: chrono::NaiveDate,
    lignes: &[Echeance],
    reperes: &[Option<String>],
) -> Markup {
    let groupes = [Urgence::EnRetard, Urgence::CetteSemaine, Urgence::AVenir];
    html! {
        h1 { "À faire" }
        p { "Au " (gabarit::date(jour)) " : " (lignes.len()) " action" @if lignes.len() > 1 { "s" } " pour votre portefeuille." }
        @for u in groupes {
            @let du_groupe: Vec<(&Echeance, &Option<String>)> = lignes.iter().zip(reperes).filter(|(e, _)| e.urgence == u).collect();
            @let id = match u { Urgence::EnRetard => "en-retard", Urgence::CetteSemaine => "cette-semaine", Urgence::AVenir => "a-venir" };
            section.carte.a-faire.attention[u == Urgence::EnRetard] aria-labelledby=(id) data-urgence=(id) {
                h2 id=(id) { (u.libelle()) " (" (du_groupe.len()) ")" }
                @if du_groupe.is_empty() {
                    p { "Rien." }
                } @else {
                    div.tableau-defilant {
                        table {
                            thead { tr { th scope="col" { "Échéance" } th scope="col" { "Participant" } th scope="col" { "Action" } th scope="col" { span.visuellement-cache { "Faire" } } } }
                            tbody {
                                @for (e, repere) in du_groupe {
                                    tr data-participant=(e.participant) data-action=(serde_json::to_value(e.action).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()) data-echeance=(e.echeance.to_string()) {
                                        td { (gabarit::date(e.echeance)) }
                                        th scope="row" {
                                            @if e.participant.is_empty() { "Vous" }
                                            @else {
                                                a href=(format!("/participants/{}", e.participant)) { (e.prenom) " " (e.nom.to_uppercase()) }
                                                @if let Some(r) = repere { span.aide { " · " (r) } }
                                            }
                                        }
                                        td { (e.libelle) }
                                        td { (bouton(s, e)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn portefeuilles(jour: chrono::NaiveDate, charges: &[ChargeReferent]) -> Markup {
    html! {
        h1 { "Portefeuilles des référents" }
        p { "Au " (gabarit::date(jour)) ". Le détail des actions est sur la page « À faire » de chaque référent." }
        div.tableau-defilant {
            table {
                thead { tr {
                    th scope="col" { "Référent" }
                    th scope="col" { "En parcours" }
                    th scope="col" { "Participants en retard" }
                    th scope="col" { "Actions en retard" }
                    th scope="col" { "Dues cette semaine" }
                } }
                tbody {
                    @for c in charges {
                        tr data-referent=(c.referent.id) {
                            th scope="row" { (c.referent.prenom) " " (c.referent.nom.to_uppercase()) }
                            td { (c.charge.en_parcours) }
                            td { (c.charge.participants_en_retard) }
                            td { @if c.charge.en_retard > 0 { span.etiquette.rouge { (c.charge.en_retard) } } @else { "0" } }
                            td { (c.charge.cette_semaine) }
                        }
                    }
                }
            }
        }
    }
}
