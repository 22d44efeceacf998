//! The émargement kiosk on a tablet: the référent opens a sheet, the tablet shows nothing else
//! until the sheet is closed or the référent types his password. Signatures are queued on the
//! tablet (`kiosque.js`, localStorage) and sent with a key, so that a network outage loses and
//! duplicates nothing.

use super::dossiers::bloc_signature;
use super::gabarit::{self, alerte, csrf, page};
use super::{erreur, erreur_json, message, Connecte, EnKiosque, Page};
use parafe_service::auth::session::{self, Session};

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use maud::{html, PreEscaped, DOCTYPE};
use parafe_service::db::kiosque::EtatKiosque;
use parafe_service::db::participants;
use parafe_service::db::signataires::{self, EtatSignataire};
use parafe_service::kiosque::{self, Envoi, Ouverture};
use parafe_service::{App, Erreur};
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/kiosque/nouveau", get(nouveau))
        .route("/kiosque", post(ouvrir))
        .route("/kiosque/{reference}", get(kiosque_page))
        .route("/kiosque/{reference}/etat", get(etat))
        .route("/kiosque/{reference}/signatures", post(signer))
        .route("/kiosque/{reference}/cloture", post(cloturer))
        .route("/kiosque/{reference}/sortir", post(sortir))
        .route("/kiosque/{reference}/reprendre", post(reprendre))
        .route("/kiosque/{reference}/pages/{page}", get(image_page))
        .route("/kiosque/{reference}/telephone/{rang}", post(telephone))
        .route("/kiosque/{reference}/telephones/{id}", post(etat_telephone))
}

#[derive(Deserialize, Default)]
struct Choix {
    participant: Option<String>,
}

fn ecran_ouverture(
    app: &App,
    s: &Session,
    liste: &[participants::Participant],
    choisi: Option<&str>,
    saisie: &[(String, String)],
    probleme: Option<&str>,
) -> Markup {
    let valeur = |k: &str| saisie.iter().find(|(c, _)| c == k).map(|(_, v)| v.clone());
    let coches: Vec<&str> = saisie
        .iter()
        .filter(|(k, _)| k == "participants")
        .map(|(_, v)| v.as_str())
        .collect();
    let genre = valeur("genre").unwrap_or_else(|| {
        if choisi.is_some() {
            "individuel".into()
        } else {
            "collectif".into()
        }
    });
    let maintenant = app
        .horloge
        .maintenant()
        .with_timezone(&chrono_tz::Europe::Paris);
    let date = valeur("date").unwrap_or_else(|| maintenant.format("%Y-%m-%d").to_string());
    let debut = valeur("heure_debut").unwrap_or_else(|| maintenant.format("%H:00").to_string());
    let fin = valeur("heure_fin").unwrap_or_else(|| {
        (maintenant + chrono::TimeDelta::hours(1))
            .format("%H:00")
            .to_string()
    });
    let corps = html! {
        h1 { "Émargement sur la tablette" }
        p.intro { "Remplissez la feuille, puis passez la tablette : elle n'affichera plus que cette feuille jusqu'à sa clôture. Pour en sortir avant, votre mot de passe sera demandé." }
        @if let Some(p) = probleme { (alerte("erreur", p)) }
        form.document method="post" action="/kiosque" data-valider="1" {
            (csrf(s))
            fieldset.groupe {
                legend { "Séance" }
                div.choix-methode role="radiogroup" aria-label="Genre de séance" {
                    label.radio { input type="radio" name="genre" value="individuel" checked[genre == "individuel"]; "Entretien individuel" }
                    label.radio { input type="radio" name="genre" value="collectif" checked[genre == "collectif"]; "Atelier collectif" }
                }
                div.champ.seulement-collectif {
                    label for="intitule" { "Intitulé de l'atelier" }
                    input #intitule name="intitule" value=[valeur("intitule")];
                }
                div.grille {
                    div.champ { label for="date" { "Date" } input #date type="date" name="date" value=(date) required data-type="date" data-requis="1"; p.message-champ {} }
                    div.champ { label for="heure_debut" { "Début" } input #heure_debut type="time" name="heure_debut" value=(debut) required data-type="heure" data-requis="1"; p.message-champ {} }
                    div.champ { label for="heure_fin" { "Fin" } input #heure_fin type="time" name="heure_fin" value=(fin) required data-type="heure" data-requis="1"; p.message-champ {} }
                }
                div.champ { label for="lieu" { "Lieu (ou téléphone, visio)" } input #lieu name="lieu" value=[valeur("lieu")] required data-type="texte" data-requis="1"; p.message-champ {} }
                div.seulement-individuel {
                    div.choix-methode role="radiogroup" aria-label="Modalité" {
                        @let modalite = valeur("modalite").unwrap_or_else(|| "sur place".into());
                        label.radio { input type="radio" name="modalite" value="sur place" checked[modalite == "sur place"]; "Sur place" }
                        label.radio { input type="radio" name="modalite" value="à distance" checked[modalite == "à distance"]; "À distance" }
                    }
                    div.champ { label for="objet" { "Objet de l'entretien" } input #objet name="objet" value=[valeur("objet")] maxlength="120" data-type="texte" data-max="120"; p.message-champ {} }
                    div.champ { label for="contenu-entretien" { "Contenu (court)" } textarea #contenu-entretien name="contenu" rows="4" maxlength="900" data-type="texte" data-max="900" { (valeur("contenu").unwrap_or_default()) } p.message-champ {} }
                    div.champ { label for="suite" { "Suite donnée, prochain rendez-vous" span.facultatif { " (facultatif)" } } input #suite name="suite" value=[valeur("suite")]; }
                }
            }
            fieldset.groupe {
                legend { "Participants" }
                p.aide.seulement-collectif { "Cochez les participants attendus ; d'autres pourront être ajoutés sur place." }
                p.aide.seulement-individuel { "Cochez le participant reçu." }
                label for="filtre-participants" { "Filtrer la liste" }
                input #filtre-participants type="search" autocomplete="off" data-filtre=".liste-participants li";
                ul.liste-participants {
                    @for p in liste {
                        li {
                            label.case {
                                input type="checkbox" name="participants" value=(p.reference)
                                    checked[coches.contains(&p.reference.as_str()) || choisi == Some(p.reference.as_str())];
                                (p.fiche.prenom) " " (p.fiche.nom.to_uppercase()) span.aide { " — " (p.fiche.identifiant_externe) ", " (p.fiche.commune) }
                            }
                        }
                    }
                }
            }
            div.actions { button.principal.grand type="submit" { "Ouvrir la feuille sur cette tablette" } }
        }
    };
    page(s, "Émargement", "kiosque", &["formulaire.js"], corps)
}

use maud::Markup;

async fn portefeuille(app: &App, s: &Session) -> Result<Vec<participants::Participant>, Response> {
    let liste = participants::liste(
        &app.db,
        s.acteur.plie.as_str(),
        s.acteur.portefeuille(),
        None,
        2000,
    )
    .await
    .map_err(|e| erreur(e.into()))?;
    Ok(liste
        .into_iter()
        .filter(|p| p.fiche.date_sortie.is_none())
        .collect())
}

async fn nouveau(State(app): State<App>, Connecte(s): Connecte, Query(c): Query<Choix>) -> Page {
    if !s.acteur.peut_modifier() {
        return Err(erreur(Erreur::Interdit(
            "un assistant n'ouvre pas de feuille d'émargement".into(),
        )));
    }
    let liste = portefeuille(&app, &s).await?;
    Ok(ecran_ouverture(&app, &s, &liste, c.participant.as_deref(), &[], None).into_response())
}

async fn ouvrir(
    State(app): State<App>,
    Connecte(s): Connecte,
    entetes: HeaderMap,
    super::Formulaire(saisie): super::Formulaire<Vec<(String, String)>>,
) -> Page {
    let valeur = |k: &str| {
        saisie
            .iter()
            .find(|(c, _)| c == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let o = Ouverture {
        genre: valeur("genre"),
        participants: saisie
            .iter()
            .filter(|(k, _)| k == "participants")
            .map(|(_, v)| v.clone())
            .collect(),
        date: valeur("date"),
        heure_debut: valeur("heure_debut"),
        heure_fin: valeur("heure_fin"),
        lieu: valeur("lieu"),
        intitule: valeur("intitule"),
        modalite: valeur("modalite"),
        objet: valeur("objet"),
        contenu: valeur("contenu"),
        suite: valeur("suite"),
    };
    let tablette = entetes
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match kiosque::ouvrir(&app, &s, &o, tablette).await {
        Ok(k) => Ok(Redirect::to(&format!("/kiosque/{}", k.reference)).into_response()),
        Err(e @ (Erreur::Invalide { .. } | Erreur::Conflit(_))) => {
            let liste = portefeuille(&app, &s).await?;
            let ecran = ecran_ouverture(&app, &s, &liste, None, &saisie, Some(&message(&e)));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, ecran).into_response())
        }
        Err(e) => Err(erreur(e)),
    }
}

#[derive(Deserialize, Default)]
struct Note {
    erreur: Option<String>,
}

async fn kiosque_page(
    State(app): State<App>,
    EnKiosque(s): EnKiosque,
    Path(reference): Path<String>,
    Query(note): Query<Note>,
) -> Page {
    let k = kiosque::lisible(&app, &s, &reference)
        .await
        .map_err(erreur)?;
    let d = kiosque::document(&app, &k).await.map_err(erreur)?;
    if s.kiosque != Some(k.id) {
        // Not (or no longer) locked on this sheet: offer to take it up again.
        let corps = html! {
            h1 { "Feuille d'émargement" }
            @if k.etat == EtatKiosque::Clos {
                (alerte("info", "Cette feuille est close."))
            } @else {
                p { "Cette feuille est encore ouverte. Reprenez-la sur cette tablette pour continuer à recueillir les signatures." }
                form method="post" action=(format!("/kiosque/{}/reprendre", k.reference)) {
                    (csrf(&s)) button.principal type="submit" { "Reprendre sur cette tablette" }
                }
            }
            p { a href=(format!("/documents/{}", d.reference)) { "Voir le document" } }
        };
        return Ok(page(&s, "Émargement", "kiosque", &[], corps).into_response());
    }
    let signataires = signataires::du_document(&app.db, d.id)
        .await
        .map_err(|e| erreur(e.into()))?;
    let noms = kiosque::noms_affiches(&app, &d, &signataires)
        .await
        .map_err(erreur)?;
    let nb_pages = match &d.sha256_rendu {
        Some(sha) => super::apercu::nombre_de_pages(&app, sha)
            .await
            .map_err(erreur)?,
        None => 0,
    };
    let donnees: serde_json::Value = serde_json::from_str(&d.donnees).unwrap_or_default();
    let texte = |k: &str| {
        donnees
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let collectif = d.workflow == kiosque::WORKFLOW_COLLECTIF;
    let titre = if collectif {
        texte("intitule")
    } else {
        format!("Entretien — {}", texte("objet"))
    };
    let etat_initial = json!({
        "ref": k.reference,
        "document": d.reference,
        "version": d.sha256_rendu,
        "csrf": s.csrf,
        "collectif": collectif,
        "signataires": signataires.iter().zip(&noms).map(|(x, nom)| json!({ "id": x.id, "rang": x.rang, "nom": nom, "role": x.role, "etat": x.etat })).collect::<Vec<_>>(),
    });
    let donnees_json = etat_initial.to_string().replace('<', "\\u003c");
    // Who may still sign on a phone: the attendees who have not signed.
    let attendus = signataires
        .iter()
        .zip(&noms)
        .filter(|(x, _)| x.role == "participant" && x.etat == EtatSignataire::Attente);
    let corps = html! {
        (DOCTYPE)
        html lang="fr" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="same-origin";
                title { "Émargement — " (titre) }
                link rel="stylesheet" href=(super::actifs::url("parafe.css"));
                link rel="icon" href=(super::actifs::url("parafe.svg")) type="image/svg+xml";
                script src=(super::actifs::url("parafe.js")) defer {}
                script src=(super::actifs::url("signature.js")) defer {}
                script src=(super::actifs::url("kiosque.js")) defer {}
            }
            body.kiosque {
                script #donnees-kiosque type="application/json" { (PreEscaped(donnees_json)) }
                header.bandeau-kiosque {
                    h1 { (titre) }
                    p { (gabarit::jour(&texte("date"))) ", " (texte("heure_debut")) "–" (texte("heure_fin")) " · " (texte("lieu")) }
                }
                main #contenu {
                    section #liste aria-labelledby="titre-liste" {
                        h2 #titre-liste { "Touchez votre nom pour signer" }
                        ul.presents #presents {
                            @for (x, nom) in signataires.iter().zip(&noms).filter(|(x, _)| x.role == "participant") {
                                li {
                                    button.present type="button" data-id=(x.id) disabled[x.etat == EtatSignataire::Signe] {
                                        span.nom { (nom) }
                                        span.etat { @if x.etat == EtatSignataire::Signe { "signé ✓" } @else { "à signer" } }
                                    }
                                }
                            }
                        }
                        @if attendus.clone().next().is_some() {
                            details.telephones #telephones {
                                summary { "Signer sur son propre téléphone, sans passer la tablette" }
                                p.aide { "Touchez le nom : la tablette montre un QR code pour cette personne seule ; elle le scanne, lit la feuille et signe sur son téléphone, puis la tablette revient ici." }
                                ul.telephones {
                                    @for (x, nom) in attendus.clone() {
                                        li data-id=(x.id) {
                                            form method="post" action=(format!("/kiosque/{}/telephone/{}", k.reference, x.rang)) {
                                                (csrf(&s)) button.secondaire type="submit" { "QR code de " (nom) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        div.actions.kiosque-actions {
                            @if collectif { button.secondaire.grand #ajouter type="button" { "+ Je ne suis pas dans la liste" } }
                            button.principal.grand #cloturer type="button" {
                                @if collectif { "Clôturer la feuille (animateur)" } @else { "Signature du référent et clôture" }
                            }
                        }
                    }
                    section #panneau hidden aria-live="polite" {
                        form #formulaire-kiosque novalidate {
                            div #nouveau-present hidden {
                                h2 { "Ajouter une personne présente" }
                                label for="np-prenom" { "Prénom" } input #np-prenom autocomplete="off";
                                label for="np-nom" { "Nom" } input #np-nom autocomplete="off";
                            }
                            @if collectif {
                                fieldset #absents hidden {
                                    legend { "Absents (n'ont pas signé)" }
                                    p.aide { "Cochez les absences excusées ; les autres comptent comme absences injustifiées." }
                                    ul.absents {}
                                }
                            }
                            details.feuille {
                                summary { "Lire la feuille d'émargement" }
                                (super::dossiers::pages(&format!("/kiosque/{}/pages", k.reference), nb_pages, &titre, d.sha256_rendu.as_deref().unwrap_or_default()))
                            }
                            (bloc_signature("…", true))
                            div.actions {
                                button.principal.grand #signer type="submit" { "Signer" }
                                button.secondaire.grand #retour type="button" { "Retour à la liste" }
                            }
                        }
                    }
                    p.etat-reseau #etat-reseau role="status" {}
                }
                footer.pied-kiosque {
                    details #sortie open[note.erreur.is_some()] {
                        summary { "Quitter le mode tablette (référent)" }
                        @if let Some(e) = &note.erreur { (alerte("erreur", e)) }
                        form method="post" action=(format!("/kiosque/{}/sortir", k.reference)) {
                            (csrf(&s))
                            label for="mdp-sortie" { "Mot de passe de " (s.nom) }
                            input #mdp-sortie type="password" name="mot_de_passe" autocomplete="current-password" required;
                            button.secondaire type="submit" { "Quitter" }
                        }
                    }
                }
            }
        }
    };
    Ok(corps.into_response())
}

/// The session of a JSON request, or a JSON 401 (a script must not follow a login redirect).
/// The session of the tablet's calls (JSON): expired, a 401 the page shows without losing the
/// signatures it holds.
struct Tablette(Session);

impl FromRequestParts<App> for Tablette {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        match session::de_la_requete(&app.db, &parts.headers, app.horloge.maintenant()).await {
            Ok(Some(s)) => Ok(Tablette(s)),
            Ok(None) => Err(crate::erreur::ApiError {
                status: StatusCode::UNAUTHORIZED,
                message: "session expirée : le référent doit se reconnecter ; les signatures restent gardées sur la tablette".into(),
                champ: None,
                champs: Vec::new(),
            }
            .into_response()),
            Err(e) => Err(erreur_json(e.into())),
        }
    }
}

async fn etat(
    State(app): State<App>,
    Tablette(s): Tablette,
    Path(reference): Path<String>,
) -> Response {
    let resultat = async {
        let k = kiosque::lisible(&app, &s, &reference).await?;
        let d = kiosque::document(&app, &k).await?;
        let signataires = signataires::du_document(&app.db, d.id).await?;
        let noms = kiosque::noms_affiches(&app, &d, &signataires).await?;
        Ok::<_, Erreur>(json!({
            "etat": k.etat, "document": d.reference, "etat_document": d.etat,
            "signataires": signataires.iter().zip(&noms).map(|(x, nom)| json!({ "id": x.id, "rang": x.rang, "nom": nom, "role": x.role, "etat": x.etat })).collect::<Vec<_>>(),
        }))
    }
    .await;
    match resultat {
        Ok(v) => Json(v).into_response(),
        Err(e) => erreur_json(e),
    }
}

async fn signer(
    State(app): State<App>,
    Tablette(s): Tablette,
    crate::acteur::Temoin(ctx): crate::acteur::Temoin,
    Path(reference): Path<String>,
    super::JsonSur(envoi): super::JsonSur<Envoi>,
) -> Response {
    match kiosque::signer(&app, &s, &reference, envoi, &ctx).await {
        Ok(recu) => Json(recu).into_response(),
        Err(e) => erreur_json(e),
    }
}

async fn cloturer(
    State(app): State<App>,
    Tablette(s): Tablette,
    crate::acteur::Temoin(ctx): crate::acteur::Temoin,
    Path(reference): Path<String>,
    super::JsonSur(envoi): super::JsonSur<Envoi>,
) -> Response {
    match kiosque::cloturer(&app, &s, &reference, envoi, &ctx).await {
        Ok(recu) => {
            let document = match kiosque::charger(&app, &s.acteur, &reference).await {
                Ok(k) => kiosque::document(&app, &k)
                    .await
                    .map(|d| d.reference)
                    .unwrap_or_default(),
                Err(_) => String::new(),
            };
            Json(json!({ "rang": recu.rang, "deja": recu.deja, "etat": recu.etat, "suite": format!("/documents/{document}?message=signe") })).into_response()
        }
        Err(e) => erreur_json(e),
    }
}

#[derive(Deserialize)]
struct MotDePasse {
    mot_de_passe: String,
}

async fn sortir(
    State(app): State<App>,
    EnKiosque(s): EnKiosque,
    Path(reference): Path<String>,
    super::Formulaire(f): super::Formulaire<MotDePasse>,
) -> Page {
    let k = kiosque::lisible(&app, &s, &reference)
        .await
        .map_err(erreur)?;
    match kiosque::quitter(&app, &s, &f.mot_de_passe).await {
        Ok(()) => {
            let d = kiosque::document(&app, &k).await.map_err(erreur)?;
            Ok(Redirect::to(&format!("/documents/{}", d.reference)).into_response())
        }
        Err(e @ (Erreur::Invalide { .. } | Erreur::Interdit(_))) => Ok(Redirect::to(&format!(
            "/kiosque/{reference}?erreur={}",
            crate::lien::encoder(&message(&e))
        ))
        .into_response()),
        Err(e) => Err(erreur(e)),
    }
}

async fn reprendre(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(reference): Path<String>,
    _: super::Formulaire<super::Vide>,
) -> Page {
    let k = kiosque::reprendre(&app, &s, &reference)
        .await
        .map_err(erreur)?;
    Ok(Redirect::to(&format!("/kiosque/{}", k.reference)).into_response())
}

/// A page of the sheet as it was opened (the version every signer is shown).
async fn image_page(
    State(app): State<App>,
    EnKiosque(s): EnKiosque,
    Path((reference, page)): Path<(String, usize)>,
) -> Page {
    let k = kiosque::lisible(&app, &s, &reference)
        .await
        .map_err(erreur)?;
    let d = kiosque::document(&app, &k).await.map_err(erreur)?;
    let sha = d
        .sha256_rendu
        .ok_or_else(|| erreur(Erreur::Conflit("feuille non composée".into())))?;
    let png = super::apercu::page(&app, &sha, page)
        .await
        .map_err(erreur)?;
    Ok(super::apercu::reponse(png))
}

/// An attendee signs on his own phone instead of the tablet: the tablet (or the animator's
/// screen) shows the QR code of his line, and comes back to the sheet once he has signed.
async fn telephone(
    State(app): State<App>,
    EnKiosque(s): EnKiosque,
    Path((reference, rang)): Path<(String, i64)>,
    _: super::Formulaire<super::Vide>,
) -> Page {
    let k = kiosque::lisible(&app, &s, &reference)
        .await
        .map_err(erreur)?;
    let d = kiosque::document(&app, &k).await.map_err(erreur)?;
    let a = parafe_service::telephone::afficher(&app, &s.acteur, &d.reference, rang)
        .await
        .map_err(erreur)?;
    let retour = format!("/kiosque/{}", k.reference);
    let etat = format!("/kiosque/{}/telephones/{}", k.reference, a.id);
    let corps = super::telephone::ecran(
        &app,
        &s.csrf,
        &a,
        (&retour, "← Retour à la feuille"),
        &etat,
        true,
    )?;
    let titre = format!("Émargement — {}", a.signataire.nom);
    Ok(gabarit::page_publique(&titre, &["telephone.js"], corps).into_response())
}

async fn etat_telephone(
    State(app): State<App>,
    EnKiosque(s): EnKiosque,
    Path((reference, id)): Path<(String, i64)>,
    _: super::JsonSur<super::Vide>,
) -> Response {
    let etat = async {
        let k = kiosque::lisible(&app, &s, &reference).await?;
        let d = kiosque::document(&app, &k).await?;
        parafe_service::telephone::etat(&app, &s.acteur, &d.reference, id).await
    };
    super::telephone::etat_json(etat.await)
}
