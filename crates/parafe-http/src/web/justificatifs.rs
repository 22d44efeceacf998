//! A participant's justificatifs: what the PLIE's catalogue expects of him (present, missing,
//! late, to come), every piece of his dossier with where its evidence stands, and the form that
//! files an outside piece (streamed to disk, checked like `parafe justificatif deposer`).

use super::controle::{cellules_ligne, compte, date, lien_piece};
use super::gabarit::{alerte, csrf, page};
use super::{erreur, exiger_csrf, refuser_autre_site, Connecte, Page};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use parafe_service::auth::session::Session;
use parafe_service::controle::{self, DepotRefuse, EtatParticipant};
use parafe_service::justificatif::etat::regrouper;
use parafe_service::justificatif::{Catalogue, Format};
use parafe_service::App;
use serde::Deserialize;

pub fn routes() -> Router<App> {
    Router::new().route(
        "/participants/{reference}/justificatifs",
        // The piece streams to disk, its size checked against the catalogue's limit as it comes.
        get(ecran).post(deposer).layer(DefaultBodyLimit::disable()),
    )
}

#[derive(Deserialize, Default)]
struct Retour {
    /// The justificatif just filed (its id).
    depose: Option<i64>,
}

async fn ecran(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(reference): Path<String>,
    Query(r): Query<Retour>,
) -> Page {
    let etat = controle::etat_participant(&app, &s.acteur, &reference)
        .await
        .map_err(erreur)?;
    let catalogue = controle::catalogue(&app, &s.acteur.plie).map_err(erreur)?;
    let note = r.depose.and_then(|id| {
        etat.participant.pieces.iter().find(|p| {
            matches!(p.source, parafe_service::justificatif::etat::Source::Justificatif { id: i } if i == id)
        })
    });
    let note = note.map(|p| {
        alerte(
            "succes",
            &format!(
                "« {} » déposé : {}, SHA-256 {}, {}.",
                p.nom_fichier.as_deref().unwrap_or_default(),
                p.libelle,
                p.sha256.as_deref().unwrap_or_default(),
                controle::preuve(p)
            ),
        )
    });
    Ok(ecran_participant(&s, &etat, &catalogue, note, None).into_response())
}

/// The page; `saisie`: the type chosen before a refusal, kept in the form.
fn ecran_participant(
    s: &Session,
    etat: &EtatParticipant,
    catalogue: &Catalogue,
    note: Option<Markup>,
    saisie: Option<&str>,
) -> Markup {
    let p = &etat.participant;
    let nom = format!("{} {}", p.prenom, p.nom.to_uppercase());
    let titre = format!("Pièces justificatives — {nom}");
    let limite = parafe_service::justificatif::examen::taille_lisible(catalogue.depot.taille_max);
    let corps = html! {
        p { a href=(format!("/participants/{}", p.reference)) { "← Dossier de " (nom) } }
        h1 { (titre) }
        p.intro {
            "Opération n° " (etat.operation.code) " — " (etat.operation.intitule)
            ". État au " (etat.au.format("%d/%m/%Y")) "."
        }
        @if let Some(n) = note { (n) }
        section.carte aria-labelledby="attendues" {
            h2 #attendues { "Pièces attendues" }
            (compte(&controle::Compte::de(&etat.lignes)))
            @if etat.lignes.is_empty() {
                p { "Le catalogue du PLIE n'attend aucune pièce pour ce participant." }
            } @else {
                div.tableau-defilant {
                    table.liste-attendues {
                        caption.visuellement-cache { "Pièces attendues et leur état" }
                        thead { tr { th scope="col" { "Pièce attendue" } th scope="col" { "Échéance" } th scope="col" { "État" } th scope="col" { "Pièce au dossier" } } }
                        tbody {
                            @for g in regrouper(&etat.lignes.iter().collect::<Vec<_>>()) {
                                tr data-etat=(g.first().map_or("", |l| l.etat.code())) {
                                    (cellules_ligne(&g))
                                    td {
                                        @for &i in g.iter().flat_map(|l| &l.pieces) {
                                            @if let Some(piece) = p.pieces.get(i) { (lien_piece(piece)) br; }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.carte aria-labelledby="deposer" {
            h2 #deposer { "Déposer une pièce" }
            p.aide { "PDF, JPEG, PNG ou courriel enregistré (.eml), " (limite) " au plus. Le contenu doit correspondre à l'extension ; un PDF contenant du JavaScript est refusé. La pièce est rangée au coffre, sous son empreinte, et son dépôt inscrit au journal des preuves." }
            form.depot method="post" enctype="multipart/form-data" action=(format!("/participants/{}/justificatifs", p.reference)) {
                (csrf(s))
                div.grille {
                    div {
                        label for="genre" { "Type de pièce" }
                        select #genre name="genre" required {
                            option value="" { "— choisir —" }
                            @for (id, g) in &catalogue.genres {
                                option value=(id) selected[saisie == Some(id.as_str())] {
                                    (g.libelle) " (" (g.formats.iter().map(Format::to_string).collect::<Vec<_>>().join(", ")) ")"
                                }
                            }
                        }
                    }
                    div {
                        label for="date_piece" { "Date que porte la pièce " span.facultatif { "(facultatif)" } }
                        input #date_piece type="date" name="date_piece";
                    }
                    div {
                        label for="etape" { "Étape du parcours " span.facultatif { "(facultatif)" } }
                        input #etape type="text" name="etape" maxlength="200" placeholder="formation, immersion, emploi…";
                    }
                }
                label for="fichier" { "Fichier" }
                input #fichier type="file" name="fichier" required accept=".pdf,.jpg,.jpeg,.png,.eml,application/pdf,image/jpeg,image/png,message/rfc822";
                div.actions { button.principal type="submit" { "Déposer la pièce" } }
            }
        }
        section aria-labelledby="pieces" {
            h2 #pieces { "Pièces au dossier (" (p.pieces.len()) ")" }
            @if p.pieces.is_empty() { p { "Aucune pièce pour l'instant." } }
            @else {
                div.tableau-defilant {
                    table {
                        caption.visuellement-cache { "Pièces du dossier" }
                        thead { tr { th scope="col" { "Date" } th scope="col" { "Pièce" } th scope="col" { "Preuve" } } }
                        tbody {
                            @for piece in &p.pieces {
                                tr {
                                    td { (date(piece.date)) }
                                    th scope="row" { (lien_piece(piece)) }
                                    td.empreinte { (controle::preuve(piece)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(s, &titre, "controle", &[], corps)
}

async fn deposer(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(reference): Path<String>,
    entetes: HeaderMap,
    multipart: Multipart,
) -> Page {
    refuser_autre_site(&app, &entetes)?;
    let catalogue = controle::catalogue(&app, &s.acteur.plie).map_err(erreur)?;
    let recu = controle::recevoir(&app, catalogue.depot.taille_max, multipart).await;
    let (mut champs, piece) = match recu {
        Ok(r) => r,
        Err(refus) => return refuser(&app, &s, &reference, &catalogue, None, refus).await,
    };
    // The session's token came as a form field: checked before anything is filed.
    exiger_csrf(&app, &entetes, champs.csrf.as_deref()).await?;
    champs.participant = Some(reference.clone());
    let genre = champs.genre.clone();
    match controle::deposer(&app, &s.acteur, &catalogue, champs, piece).await {
        Ok(d) => Ok(Redirect::to(&format!(
            "/participants/{reference}/justificatifs?depose={}",
            d.id
        ))
        .into_response()),
        Err(refus) => refuser(&app, &s, &reference, &catalogue, genre.as_deref(), refus).await,
    }
}

/// The page again, with why the piece was refused, under the status that says it.
async fn refuser(
    app: &App,
    s: &Session,
    reference: &str,
    catalogue: &Catalogue,
    genre: Option<&str>,
    refus: DepotRefuse,
) -> Page {
    let (statut, texte) = match refus {
        DepotRefuse::Piece(r) => (crate::erreur::statut_refus(&r), r.to_string()),
        DepotRefuse::Demande(e) => {
            let refus = crate::erreur::ApiError::from(e);
            // Out of reach, or broken: the plain error page.
            if matches!(
                refus.status,
                StatusCode::NOT_FOUND | StatusCode::INTERNAL_SERVER_ERROR
            ) {
                return Err(super::page_de(refus));
            }
            (refus.status, refus.message)
        }
    };
    let etat = controle::etat_participant(app, &s.acteur, reference)
        .await
        .map_err(erreur)?;
    let note = html! {
        p.alerte.erreur role="alert" { "Pièce refusée, rien n'a été déposé : " (texte) }
    };
    Ok((
        statut,
        ecran_participant(s, &etat, catalogue, Some(note), genre),
    )
        .into_response())
}
