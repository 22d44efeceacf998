//! The page frame shared by every screen: head (styles, scripts, no inline code), the staff
//! header with its navigation, and small pieces reused across screens.

use maud::{html, Markup, PreEscaped, DOCTYPE};
use parafe_service::auth::session::Session;
use parafe_service::roles::RolePersonnel;

fn tete(titre: &str, scripts: &[&str]) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="same-origin";
            title { (titre) " — parafe" }
            link rel="stylesheet" href=(super::actifs::url("parafe.css"));
            link rel="icon" href=(super::actifs::url("parafe.svg")) type="image/svg+xml";
            script src=(super::actifs::url("parafe.js")) defer {}
            @for s in scripts {
                script src=(super::actifs::url(s)) defer {}
            }
        }
    }
}

/// A page for someone not logged in (login, account link, signing link).
pub fn page_simple(titre: &str, corps: Markup) -> Markup {
    page_publique(titre, &[], corps)
}

pub fn page_publique(titre: &str, scripts: &[&str], corps: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="fr" {
            (tete(titre, scripts))
            body.publique {
                a.evitement href="#contenu" { "Aller au contenu" }
                header.bandeau {
                    span.marque { (marque()) "parafe" }
                }
                main #contenu tabindex="-1" { (corps) }
            }
        }
    }
}

/// A staff screen: header with the person, navigation by role, logout.
pub fn page(
    session: &Session,
    titre: &str,
    actif: &str,
    scripts: &[&str],
    corps: Markup,
) -> Markup {
    let role = session.acteur.role;
    let lien = |href: &str, nom: &str, cle: &str| {
        html! {
            a href=(href) aria-current=[(cle == actif).then_some("page")] { (nom) }
        }
    };
    html! {
        (DOCTYPE)
        html lang="fr" {
            (tete(titre, scripts))
            body {
                a.evitement href="#contenu" { "Aller au contenu" }
                header.bandeau {
                    a.marque href="/accueil" { (marque()) "parafe" }
                    nav aria-label="Navigation principale" {
                        @if role != RolePersonnel::Assistant {
                            (lien("/a-faire", "À faire", "a-faire"))
                        }
                        (lien("/accueil", "Participants", "accueil"))
                        (lien("/controle", "Contrôle", "controle"))
                        @if role != RolePersonnel::Assistant {
                            (lien("/kiosque/nouveau", "Émargement", "kiosque"))
                        }
                        @if matches!(role, RolePersonnel::Coordinateur | RolePersonnel::Admin) {
                            (lien("/operations", "Opérations", "operations"))
                            (lien("/reglages", "Réglages", "reglages"))
                        }
                        @if role == RolePersonnel::Admin {
                            (lien("/admin/comptes", "Comptes", "comptes"))
                            (lien("/admin/jetons", "Jetons d'API", "jetons"))
                            (lien("/admin/courriels", "Courriels", "courriels"))
                        }
                    }
                    div.qui {
                        span { (session.nom) " · " (libelle_role(role)) }
                        form method="post" action="/deconnexion" {
                            (csrf(session))
                            button.lien type="submit" { "Se déconnecter" }
                        }
                    }
                }
                main #contenu tabindex="-1" { (corps) }
            }
        }
    }
}

pub fn libelle_role(role: RolePersonnel) -> &'static str {
    match role {
        RolePersonnel::Referent => "référent",
        RolePersonnel::Assistant => "assistant",
        RolePersonnel::Coordinateur => "coordinateur",
        RolePersonnel::Admin => "administrateur",
    }
}

/// The hidden CSRF field every staff form carries.
pub fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

fn marque() -> Markup {
    PreEscaped(
        r##"<svg class="logo" viewBox="0 0 32 32" aria-hidden="true" focusable="false"><path d="M5 24c4-1 6-9 9-15 2 6 2 12 5 12 2 0 3-4 5-7 1 3 2 6 4 6" fill="none" stroke="currentColor" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></svg>"##
            .to_owned(),
    )
}

/// A state as a coloured label.
pub fn etat(etat: parafe_core::document::Etat) -> Markup {
    use parafe_core::document::Etat::*;
    let classe = match etat {
        Brouillon => "gris",
        Envoye | PartiellementSigne => "bleu",
        Signe | Scelle | Depose | Delivre => "vert",
        Refuse | Expire | Annule => "rouge",
    };
    html! { span class=(format!("etiquette {classe}")) { (etat.libelle()) } }
}

/// An instant as a person in France reads it: `JJ/MM/AAAA HH:MM`, Paris time.
pub fn paris(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono_tz::Europe::Paris)
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

/// A stored day (`AAAA-MM-JJ`) as `JJ/MM/AAAA`.
pub fn jour(s: &str) -> String {
    parafe_service::db::parse_jour(s)
        .map(date)
        .unwrap_or_else(|| s.to_owned())
}

/// A day as a person in France reads it: `JJ/MM/AAAA`.
pub fn date(d: chrono::NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// A message box (`info`, `succes`, `erreur`).
pub fn alerte(genre: &str, message: &str) -> Markup {
    let role = if genre == "erreur" { "alert" } else { "status" };
    html! { p class=(format!("alerte {genre}")) role=(role) { (message) } }
}
