//! The import of the parcours software's extraction from the browser (coordinateurs and
//! administrateurs): the CSV is uploaded and previewed before anything is written (lines read,
//! participants new and updated, every faulty line with its column); without a fault, the very
//! text previewed, kept for the session under its SHA-256, is imported on confirmation.

use super::gabarit::{alerte, csrf, page};
use super::{erreur, refuser_autre_site, Connecte, Page};
use axum::extract::multipart::Multipart;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use parafe_service::auth::session::Session;
use parafe_service::import::{Apercu, ErreurLigne, ImportError, TAILLE_MAX};
use parafe_service::participants;
use parafe_service::App;
use serde::Deserialize;
use std::collections::BTreeSet;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/participants/import",
            // The file is bounded as it comes (`TAILLE_MAX`), like the API's import.
            get(ecran)
                .post(apercu)
                .layer(DefaultBodyLimit::max(TAILLE_MAX + (64 << 10))),
        )
        .route("/participants/import/confirmation", post(confirmer))
}

const TITRE: &str = "Import de l'extraction du parcours";

/// The upload form.
fn formulaire(s: &Session) -> Markup {
    html! {
        form.depot method="post" enctype="multipart/form-data" action="/participants/import" {
            (csrf(s))
            label for="fichier" { "Extraction du logiciel de parcours (CSV)" }
            p.aide #fichier-aide {
                "Une ligne par participant, séparateur « ; » (ou « , »), dates JJ/MM/AAAA, en UTF-8 ou tel que le tableur l'enregistre (« CSV (séparateur : point-virgule) »), "
                (TAILLE_MAX >> 20) " Mo au plus. Colonnes obligatoires : Identifiant, Nom, Prénom, Commune, Email référent, Nom référent, Prénom référent."
            }
            input #fichier type="file" name="fichier" required accept=".csv,.txt,text/csv,text/plain" aria-describedby="fichier-aide";
            div.actions { button.principal type="submit" { "Voir l'aperçu" } }
        }
    }
}

fn ecran_depot(s: &Session, note: Option<Markup>) -> Markup {
    let corps = html! {
        p { a href="/accueil" { "← Participants" } }
        h1 { (TITRE) }
        p.intro { "Le fichier est lu et vérifié ligne par ligne : l'aperçu dit ce que l'import fera, et rien n'est écrit avant que vous le confirmiez." }
        @if let Some(n) = note { (n) }
        section.carte { (formulaire(s)) }
    };
    page(s, TITRE, "accueil", &[], corps)
}

async fn ecran(Connecte(s): Connecte) -> Page {
    participants::import_permis(&s.acteur).map_err(erreur)?;
    Ok(ecran_depot(&s, None).into_response())
}

fn trop_gros() -> String {
    format!(
        "Fichier trop volumineux : {} Mo au plus par import (100 000 participants en font 16 à 20) ; découpez l'extraction en plusieurs fichiers.",
        TAILLE_MAX >> 20
    )
}

async fn apercu(
    State(app): State<App>,
    Connecte(s): Connecte,
    entetes: HeaderMap,
    multipart: Multipart,
) -> Page {
    refuser_autre_site(&app, &entetes)?;
    participants::import_permis(&s.acteur).map_err(erreur)?;
    let fichier =
        super::fichier_du_formulaire(&app, &entetes, multipart, TAILLE_MAX, trop_gros).await?;
    let refus = |message: &str| -> Page {
        let note = alerte("erreur", message);
        Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            ecran_depot(&s, Some(note)),
        )
            .into_response())
    };
    let Some((nom, octets)) = fichier.filter(|(nom, _)| !nom.is_empty()) else {
        return refus("Choisissez le fichier de l'extraction.");
    };
    let texte = match parafe_service::import::decoder(&octets, None) {
        Ok(t) => t.into_owned(),
        Err(e) => return refus(&super::message(&e)),
    };
    drop(octets);
    let apercu = participants::apercu_import(&app, &s.acteur, &s.empreinte, texte)
        .await
        .map_err(erreur)?;
    let statut = if apercu.erreurs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((statut, ecran_apercu(&s, &nom, &apercu)).into_response())
}

/// The faulty lines as a table, with how many lines they are.
fn table_erreurs(erreurs: &[ErreurLigne]) -> Markup {
    let lignes: BTreeSet<usize> = erreurs.iter().map(|e| e.ligne).collect();
    html! {
        (alerte("erreur", &format!(
            "{} à corriger ({} erreur{}) : rien n'a été importé. Corrigez le fichier dans le tableur, puis déposez-le de nouveau.",
            if lignes.len() == 1 { "1 ligne".to_owned() } else { format!("{} lignes", lignes.len()) },
            erreurs.len(),
            if erreurs.len() > 1 { "s" } else { "" },
        )))
        div.tableau-defilant {
            table #erreurs-import {
                caption.visuellement-cache { "Lignes à corriger" }
                thead { tr { th scope="col" { "Ligne" } th scope="col" { "Colonne" } th scope="col" { "À corriger" } } }
                tbody {
                    @for e in erreurs {
                        tr {
                            td { (e.ligne) }
                            td { @if e.colonne.is_empty() { "—" } @else { (e.colonne) } }
                            td { (e.message) }
                        }
                    }
                }
            }
        }
    }
}

fn ecran_apercu(s: &Session, nom: &str, a: &Apercu) -> Markup {
    let corps = html! {
        p { a href="/participants/import" { "← Choisir un autre fichier" } }
        h1 { (TITRE) " : aperçu" }
        p.intro { "Fichier « " (nom) " » : " strong { (a.lignes) } " ligne" @if a.lignes != 1 { "s" } " de participant lue" @if a.lignes != 1 { "s" } ". Rien n'est encore écrit." }
        @if a.erreurs.is_empty() {
            section.carte aria-labelledby="ce-que-fera" {
                h2 #ce-que-fera { "Ce que fera l'import" }
                dl.fiche #apercu-import {
                    dt { "Nouveaux participants" } dd { (a.nouveaux) }
                    dt { "Participants mis à jour" } dd { (a.mis_a_jour) }
                    dt { "Référents" } dd {
                        (a.referents)
                        @if a.referents_nouveaux > 0 {
                            ", dont " (a.referents_nouveaux) " sans compte "
                            span.aide { "(le compte est créé ; la personne choisit son mot de passe par « Mot de passe oublié »)" }
                        }
                    }
                    @if !a.operations_nouvelles.is_empty() {
                        dt { "Opérations nouvelles" } dd {
                            (a.operations_nouvelles.join(", ")) " "
                            span.aide { "(créées sous un intitulé provisoire : à décrire dans « Opérations » avant que les documents de leurs participants partent)" }
                        }
                    }
                }
                p.aide { "Les bilans BRSA des participants au RSA sont prévus dans la foulée. Empreinte du fichier (SHA-256) : " code { (a.sha256) } }
                form method="post" action="/participants/import/confirmation" {
                    (csrf(s))
                    input type="hidden" name="sha256" value=(a.sha256);
                    div.actions {
                        button.principal type="submit" { "Importer ces " (a.lignes) " participant" @if a.lignes != 1 { "s" } }
                        a.bouton.secondaire href="/participants/import" { "Abandonner" }
                    }
                }
            }
        } @else {
            (table_erreurs(&a.erreurs))
            section.carte { h2 { "Déposer le fichier corrigé" } (formulaire(s)) }
        }
    };
    page(s, TITRE, "accueil", &[], corps)
}

#[derive(Deserialize)]
struct Confirmation {
    sha256: String,
}

async fn confirmer(
    State(app): State<App>,
    Connecte(s): Connecte,
    super::Formulaire(c): super::Formulaire<Confirmation>,
) -> Page {
    match participants::importer_apercu(&app, &s.acteur, &s.empreinte, &c.sha256).await {
        Ok(r) => {
            let b = &r.bilans;
            let corps = html! {
                h1 { (TITRE) " : fait" }
                (alerte("succes", &format!(
                    "{} participant{} importé{} (créés ou mis à jour), {} référent{}.",
                    r.participants, if r.participants != 1 { "s" } else { "" }, if r.participants != 1 { "s" } else { "" },
                    r.referents, if r.referents != 1 { "s" } else { "" },
                )))
                dl.fiche #rapport-import {
                    dt { "Bilans BRSA prévus" } dd { (b.crees) }
                    dt { "Bilans BRSA déplacés" } dd { (b.deplaces) }
                    dt { "Bilans BRSA annulés" } dd { (b.annules) }
                }
                p { a.bouton.principal href="/accueil" { "Voir les participants" } }
            };
            Ok(page(&s, TITRE, "accueil", &[], corps).into_response())
        }
        Err(ImportError::Lignes(erreurs)) => {
            let corps = html! {
                p { a href="/accueil" { "← Participants" } }
                h1 { (TITRE) }
                p.intro { "Depuis l'aperçu, les données du service ont changé : le fichier ne s'importe plus tel quel." }
                (table_erreurs(&erreurs))
                section.carte { (formulaire(&s)) }
            };
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                page(&s, TITRE, "accueil", &[], corps),
            )
                .into_response())
        }
        Err(ImportError::Service(e)) => Err(erreur(e)),
    }
}
