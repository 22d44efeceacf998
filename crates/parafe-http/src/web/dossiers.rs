//! The référent's screens: participants and search, a participant's file (documents, bilans due,
//! what is missing), a document created from a workflow through a form generated from its
//! template, its preview as page pictures, sending, reminding, cancelling, and signing in person
//! (on the tablet, or on the signer's own phone: [`super::telephone`]).

use super::controle::ligne_courte;
use super::formulaire::{self, EtatFormulaire, REPRIS_DU_DOSSIER};
use super::gabarit::{self, alerte, csrf, page};
use super::{
    apercu, erreur, erreur_json, exiger_csrf, message, refuser_autre_site, Connecte, Page,
};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use maud::{html, Markup};
use parafe_core::document::Etat;
use parafe_service::auth::session::Session;
use parafe_service::controle::{self, DepotRefuse};
use parafe_service::db::documents::{self as docs, Document};
use parafe_service::db::kiosque::EtatKiosque;
use parafe_service::db::participants::{self, Participant};
use parafe_service::db::remises::{ModeRemise, Remise};
use parafe_service::db::signataires::{self, EtatSignataire, Signataire};
use parafe_service::documents::{self, DemandeDocument, SignataireDemande};
use parafe_service::justificatif::etat::{regrouper, Ligne};
use parafe_service::participants::ChangementParcours;
use parafe_service::signature::{self, Signature};
use parafe_service::sortie;
use parafe_service::trace::CONSENTEMENT;
use parafe_service::workflow::{Methode, Role, Workflow};
use parafe_service::{App, Erreur};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/accueil", get(accueil))
        .route("/accueil/participants.csv", get(export))
        .route("/participants/{reference}", get(dossier))
        .route(
            "/participants/{reference}/sortie",
            // The proof streams to disk, its size checked against the catalogue's limit.
            post(sortie).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/participants/{reference}/nouveau/{workflow}",
            get(nouveau).post(creer),
        )
        .route(
            "/participants/{reference}/bilans/{bilan}",
            post(rediger_bilan),
        )
        .route("/documents/{reference}", get(document))
        .route(
            "/documents/{reference}/modifier",
            get(modifier).post(enregistrer),
        )
        .route("/documents/{reference}/pages/{page}", get(image_page))
        .route("/documents/{reference}/pdf", get(pdf))
        .route("/documents/{reference}/envoyer", post(envoyer))
        .route("/documents/{reference}/relancer", post(relancer))
        .route("/documents/{reference}/remise", post(remettre_copie))
        .route("/documents/{reference}/annuler", post(annuler))
        .route(
            "/documents/{reference}/signer/{rang}",
            get(signer_ici).post(signature_ici),
        )
}

/// Workflows a référent starts from a participant's file (the collective sheet is opened from
/// the kiosk, bilans from their plan, the questionnaire's PDF from its screen, the poster and the
/// staff time sheet have no participant).
fn workflows_du_dossier(app: &App) -> Vec<&Workflow> {
    app.workflows
        .values()
        .filter(|w| {
            !matches!(
                w.nom.as_str(),
                "emargement-collectif" | "affiche-fse" | "feuille-temps" | "questionnaire-fse"
            )
        })
        .collect()
}

fn titre_workflow(app: &App, nom: &str) -> String {
    app.workflow(nom)
        .map_or(nom.to_owned(), |w| w.titre.clone())
}

#[derive(Deserialize, Default)]
struct Recherche {
    q: Option<String>,
    message: Option<String>,
}

async fn accueil(
    State(app): State<App>,
    Connecte(s): Connecte,
    Query(r): Query<Recherche>,
) -> Page {
    let a = &s.acteur;
    let q = r.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let liste = parafe_service::participants::lister(&app, a, q, 300)
        .await
        .map_err(erreur)?;
    let retards = parafe_service::schedule::en_retard(
        &app,
        a.plie.as_str(),
        a.portefeuille(),
        app.horloge.aujourdhui(),
    )
    .await
    .map_err(erreur)?;
    let noms: Vec<parafe_service::participants::Nomme> =
        liste.iter().map(|p| (&p.fiche).into()).collect();
    let reperes = parafe_service::participants::reperes_du_plie(&app, a.plie.as_str(), &noms)
        .await
        .map_err(erreur)?;
    let titre = if a.portefeuille().is_some() {
        "Mes participants"
    } else {
        "Participants du PLIE"
    };
    let corps = html! {
        h1 { (titre) }
        @if r.message.as_deref() == Some("kiosque-clos") {
            (alerte("succes", "Feuille d'émargement close : elle est scellée puis rangée au coffre."))
        }
        @if !retards.is_empty() {
            section.carte.attention aria-labelledby="retards" {
                h2 #retards { "Bilans BRSA en retard (" (retards.len()) ")" }
                ul {
                    @for b in &retards {
                        li {
                            @let lien = match &b.document {
                                Some(d) => format!("/documents/{d}"),
                                None => format!("/participants/{}#bilans", b.participant),
                            };
                            a href=(lien) { (b.prenom) " " (b.nom.to_uppercase()) " — bilan " (libelle_bilan(Some(&b.bilan))) }
                            " : dû le " (b.echeance.format("%d/%m/%Y"))
                        }
                    }
                }
            }
        }
        form.recherche role="search" method="get" action="/accueil" {
            label for="q" { "Rechercher un participant (nom, prénom ou identifiant)" }
            div.ligne {
                input #q type="search" name="q" value=[q] autocomplete="off";
                button.principal type="submit" { "Rechercher" }
            }
        }
        p.boutons {
            a.bouton.secondaire href="/accueil/participants.csv" download { "Exporter la liste (CSV, tableur)" }
            @if parafe_service::participants::import_permis(a).is_ok() {
                " " a.bouton.secondaire href="/participants/import" { "Importer l'extraction du logiciel de parcours" }
            }
        }
        @if liste.is_empty() {
            p { @if q.is_some() { "Aucun participant ne correspond." } @else { "Aucun participant pour l'instant : ils arrivent par l'import du logiciel de parcours." } }
        } @else {
            div.tableau-defilant {
                table {
                    caption.visuellement-cache { (titre) }
                    thead { tr { th scope="col" { "Nom" } th scope="col" { "Identifiant" } th scope="col" { "Commune" } th scope="col" { "Entrée" } th scope="col" { "Situation" } } }
                    tbody {
                        @for (p, repere) in liste.iter().zip(&reperes) {
                            tr {
                                th scope="row" {
                                    a href=(format!("/participants/{}", p.reference)) { (p.fiche.prenom) " " (p.fiche.nom.to_uppercase()) }
                                    @if let Some(r) = repere { span.aide { " · " (r) } }
                                }
                                td { (p.fiche.identifiant_externe) }
                                td { (p.fiche.commune) }
                                td { (p.fiche.date_entree.map(gabarit::date).unwrap_or_default()) }
                                td {
                                    @if p.fiche.date_sortie.is_some() { span.etiquette.gris { "sorti" } }
                                    @else { span.etiquette.vert { "en parcours" } }
                                    @if p.fiche.rsa { " " span.etiquette.bleu { "RSA" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&s, titre, "accueil", &[], corps).into_response())
}

async fn participant_de(app: &App, s: &Session, reference: &str) -> Result<Participant, Response> {
    parafe_service::participants::participant(app, &s.acteur, reference)
        .await
        .map_err(erreur)
}

/// The documents of a participant (of the caller's portfolio): his own, and the sheets he
/// signed among several attendees, whoever opened them.
async fn documents_du_participant(
    app: &App,
    p: &Participant,
    plie: &str,
) -> Result<Vec<Document>, Erreur> {
    let mut liste = docs::liste(
        &app.db,
        plie,
        None,
        &docs::Filtre {
            participant: Some(p.reference.clone()),
            ..Default::default()
        },
        1000,
    )
    .await?;
    liste.sort_by_key(|d| std::cmp::Reverse(d.cree_le));
    Ok(liste)
}

fn signe(e: Etat) -> bool {
    matches!(e, Etat::Signe | Etat::Scelle | Etat::Depose | Etat::Delivre)
}

/// What the file asks for besides the catalogue's pieces: a CER start to fill for a participant
/// on RSA, a refused or expired document to redo.
fn a_reprendre(app: &App, p: &Participant, liste: &[Document]) -> Vec<String> {
    let mut m = Vec::new();
    if p.fiche.date_sortie.is_none() && p.fiche.rsa && p.fiche.cer_debut.is_none() {
        m.push("Participant au RSA : date de début du CER à renseigner (bilans BRSA).".to_owned());
    }
    for d in liste {
        if matches!(d.etat, Etat::Refuse | Etat::Expire) {
            m.push(format!(
                "{} {} : à refaire.",
                titre_workflow(app, &d.workflow),
                d.etat.libelle()
            ));
        }
    }
    m
}

fn libelle_bilan(bilan: Option<&str>) -> String {
    match bilan {
        Some("sortie") => "de sortie anticipée".into(),
        Some(m) => format!("à {m} mois"),
        None => String::new(),
    }
}

#[derive(Deserialize, Default)]
struct RetourDossier {
    /// An exit just recorded: the bilans it created and cancelled, whether its proof was filed.
    sortie: Option<u8>,
    crees: Option<usize>,
    annules: Option<usize>,
    preuve: Option<u8>,
}

async fn dossier(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(reference): Path<String>,
    Query(r): Query<RetourDossier>,
) -> Page {
    let note = r.sortie.map(|_| {
        let mut texte = "Sortie enregistrée.".to_owned();
        if r.crees.unwrap_or(0) + r.annules.unwrap_or(0) > 0 {
            texte.push_str(&format!(
                " Bilans BRSA : {} bilan de sortie anticipée prévu, {} bilan(s) suivant(s) annulé(s).",
                r.crees.unwrap_or(0),
                r.annules.unwrap_or(0)
            ));
        }
        if r.preuve.is_some() {
            texte.push_str(" La preuve de la sortie est déposée au dossier.");
        }
        alerte("succes", &texte)
    });
    let corps = ecran_dossier(&app, &s, &reference, note, None).await?;
    Ok(corps.into_response())
}

/// An exit refused, shown again in its form: what was typed, and the error by field.
struct SaisieSortie {
    valeurs: HashMap<String, String>,
    champ: String,
    message: String,
}

async fn ecran_dossier(
    app: &App,
    s: &Session,
    reference: &str,
    note: Option<Markup>,
    saisie: Option<&SaisieSortie>,
) -> Result<Markup, Response> {
    let p = participant_de(app, s, reference).await?;
    let plie = s.acteur.plie.as_str();
    let liste = documents_du_participant(app, &p, plie)
        .await
        .map_err(erreur)?;
    // The catalogue's requirements, read as the checklist and the API read them.
    let attendues = controle::pieces_attendues(app, &s.acteur, &p)
        .await
        .map_err(erreur)?;
    let lignes: Vec<&Ligne> = attendues.iter().flat_map(|a| &a.lignes).collect();
    // Grouped before filtering: a month in order between two missing ones splits them.
    let manques: Vec<Vec<&Ligne>> = regrouper(&lignes)
        .into_iter()
        .filter(|g| g[0].etat.est_un_manque())
        .collect();
    let a_reprendre = a_reprendre(app, &p, &liste);
    let aujourdhui = app.horloge.aujourdhui();
    let bilans = parafe_service::db::bilans::du_participant(&app.db, p.id)
        .await
        .map_err(|e| erreur(e.into()))?;
    let questionnaire = super::questionnaire::section(app, s, &p.reference).await?;
    let nom = format!("{} {}", p.fiche.prenom, p.fiche.nom.to_uppercase());
    // The exit form, for whoever may record it, while the participant is in the PLIE.
    let sortie = match s.acteur.peut_modifier() && p.fiche.date_sortie.is_none() {
        true => Some(sortie::choix(app, &s.acteur).map_err(erreur)?),
        false => None,
    };
    let corps = html! {
        p { a href="/accueil" { "← Participants" } }
        h1 { (nom) }
        @if let Some(n) = note { (n) }
        dl.fiche {
            dt { "Identifiant" } dd { (p.fiche.identifiant_externe) }
            dt { "Commune" } dd { (p.fiche.commune) " " (p.fiche.code_postal) }
            @if let Some(d) = &p.fiche.date_entree { dt { "Entrée dans le PLIE" } dd { (gabarit::date(*d)) } }
            @if let Some(e) = &p.fiche.email { dt { "Courriel" } dd { (e) } }
            @if let Some(t) = &p.fiche.telephone { dt { "Téléphone" } dd { (t) } }
            @if !p.fiche.prescripteur.is_empty() { dt { "Prescripteur" } dd { (p.fiche.prescripteur) } }
            @if p.fiche.rsa { dt { "RSA" } dd { "oui" @if let Some(c) = &p.fiche.cer_debut { ", CER depuis le " (gabarit::date(*c)) } } }
            @if let Some(d) = &p.fiche.date_sortie { dt { "Sortie" } dd { (gabarit::date(*d)) @if let Some(m) = &p.fiche.motif_sortie { " — " (m) } } }
        }
        section.carte.attention[!manques.is_empty() || !a_reprendre.is_empty()] aria-labelledby="manques" {
            h2 #manques { "Ce qui manque" }
            @if manques.is_empty() && a_reprendre.is_empty() { p { "Rien : le dossier est à jour." } }
            @else {
                ul {
                    @for g in &manques { li data-etat=(g[0].etat.code()) { (ligne_courte(g)) } }
                    @for m in &a_reprendre { li { (m) } }
                }
            }
            p { a href=(format!("/participants/{}/justificatifs", p.reference)) { "Pièces justificatives : pièces attendues, dépôt d'une pièce" } }
        }
        (questionnaire)
        @if !bilans.is_empty() {
            section.carte aria-labelledby="bilans" {
                h2 #bilans { "Bilans BRSA" }
                ul.bilans {
                    @for b in &bilans {
                        @let retard = !b.etat().is_some_and(signe) && b.echeance < aujourdhui;
                        li {
                            @match (&b.reference, b.etat()) {
                                (Some(r), Some(etat)) => {
                                    a href=(format!("/documents/{r}")) { "Bilan " (libelle_bilan(Some(&b.bilan))) }
                                    " — dû le " (gabarit::date(b.echeance)) " " (gabarit::etat(etat))
                                }
                                _ => {
                                    "Bilan " (libelle_bilan(Some(&b.bilan))) " — dû le " (gabarit::date(b.echeance)) ", à rédiger"
                                }
                            }
                            @if retard { " " span.etiquette.rouge { "en retard" } }
                            @if b.reference.is_none() && s.acteur.peut_modifier() {
                                form.en-ligne method="post" action=(format!("/participants/{}/bilans/{}", p.reference, b.bilan)) {
                                    (csrf(s)) button.secondaire type="submit" { "Rédiger le bilan" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if s.acteur.peut_modifier() && p.fiche.date_sortie.is_none() {
            section.carte aria-labelledby="nouveau" {
                h2 #nouveau { "Nouveau document" }
                ul.boutons {
                    @for w in workflows_du_dossier(app) {
                        @if w.nom != parafe_service::schedule::WORKFLOW_BILAN {
                            li { a.bouton.secondaire href=(format!("/participants/{}/nouveau/{}", p.reference, w.nom)) { (w.titre) } }
                        }
                    }
                    li { a.bouton.principal href=(format!("/kiosque/nouveau?participant={}", p.reference)) { "Émarger un entretien sur la tablette" } }
                }
            }
        }
        @if let Some(choix) = &sortie {
            (formulaire_sortie(s, &p, choix, aujourdhui, saisie))
        }
        section aria-labelledby="documents" {
            h2 #documents { "Documents" }
            (table_documents(app, &liste))
        }
    };
    Ok(page(s, &nom, "accueil", &[], corps))
}

/// The exit form: date (not after today), reason among the PLIE's, and the piece that proves
/// it, filed as a justificatif of the exit requirement.
fn formulaire_sortie(
    s: &Session,
    p: &Participant,
    choix: &sortie::Choix,
    aujourdhui: chrono::NaiveDate,
    saisie: Option<&SaisieSortie>,
) -> Markup {
    let valeur = |c: &str| {
        saisie
            .and_then(|x| x.valeurs.get(c))
            .cloned()
            .unwrap_or_default()
    };
    let erreur_de = |c: &str| saisie.filter(|x| x.champ == c).map(|x| x.message.clone());
    let attributs = |c: &str| erreur_de(c).map(|_| "true");
    let message = |c: &str| {
        html! { p.message-champ id=(format!("sortie-{c}-erreur")) aria-live="polite" { @if let Some(m) = erreur_de(c) { (m) } } }
    };
    html! {
        section.carte aria-labelledby="sortie" {
            h2 #sortie { "Enregistrer la sortie" }
            p.aide {
                "La sortie validée en commission, à sa date. "
                @if p.fiche.rsa { "Participant au RSA : le bilan BRSA de sortie anticipée est prévu, les bilans suivants sont annulés. " }
                "La preuve (contrat de travail, attestation de formation…) est déposée au dossier comme pièce justificative de la sortie ; vous pouvez aussi la déposer plus tard."
            }
            @if let Some(x) = saisie {
                (alerte("erreur", &format!("Sortie non enregistrée, rien n'a été écrit : {}", x.message)))
            }
            form.depot method="post" enctype="multipart/form-data" action=(format!("/participants/{}/sortie#sortie", p.reference)) novalidate {
                (csrf(s))
                div.grille.haut {
                    div.champ {
                        label for="sortie-date_sortie" { "Date de sortie" }
                        input #sortie-date_sortie type="date" name="date_sortie" value=(valeur("date_sortie"))
                            max=(aujourdhui.format("%Y-%m-%d").to_string()) required
                            aria-invalid=[attributs("date_sortie")] aria-describedby="sortie-date_sortie-erreur";
                        (message("date_sortie"))
                    }
                    div.champ {
                        label for="sortie-motif_sortie" { "Motif de sortie" }
                        select #sortie-motif_sortie name="motif_sortie" required
                            aria-invalid=[attributs("motif_sortie")] aria-describedby="sortie-motif_sortie-erreur" {
                            option value="" { "— choisir —" }
                            @for m in &choix.motifs {
                                option value=(m) selected[valeur("motif_sortie") == *m] { (m) }
                            }
                        }
                        (message("motif_sortie"))
                    }
                }
                fieldset.groupe {
                    legend { "Preuve de la sortie " span.facultatif { "(facultatif)" } }
                    div.grille.haut {
                        div.champ {
                            label for="sortie-genre" { "Type de pièce" }
                            select #sortie-genre name="genre" aria-invalid=[attributs("genre")] aria-describedby="sortie-genre-erreur" {
                                option value="" { "— choisir —" }
                                @for (id, libelle) in &choix.preuves {
                                    option value=(id) selected[valeur("genre") == *id] { (libelle) }
                                }
                            }
                            (message("genre"))
                        }
                        div.champ {
                            label for="sortie-fichier" { "Fichier (PDF, JPEG, PNG ou courriel .eml)" }
                            input #sortie-fichier type="file" name="fichier" accept=".pdf,.jpg,.jpeg,.png,.eml,application/pdf,image/jpeg,image/png,message/rfc822"
                                aria-invalid=[attributs("fichier")] aria-describedby="sortie-fichier-erreur";
                            (message("fichier"))
                        }
                    }
                }
                div.actions { button.principal type="submit" { "Enregistrer la sortie" } }
            }
        }
    }
}

async fn sortie(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(reference): Path<String>,
    entetes: HeaderMap,
    multipart: Multipart,
) -> Page {
    refuser_autre_site(&app, &entetes)?;
    documents::modification_permise(&s.acteur).map_err(erreur)?;
    let catalogue = controle::catalogue(&app, &s.acteur.plie).map_err(erreur)?;
    const CHAMPS: [&str; 2] = ["date_sortie", "motif_sortie"];
    let recu = controle::recevoir_avec(&app, catalogue.depot.taille_max, multipart, &CHAMPS).await;
    let (champs, piece) = match recu {
        Ok(r) => r,
        Err(refus) => return refuser_sortie(&app, &s, &reference, HashMap::new(), refus).await,
    };
    // The session's token came as a form field: checked before anything is written.
    exiger_csrf(&app, &entetes, champs.csrf.as_deref()).await?;
    let mut valeurs: HashMap<String, String> = champs.autres.clone().into_iter().collect();
    if let Some(g) = &champs.genre {
        valeurs.insert("genre".into(), g.clone());
    }
    let changement = ChangementParcours {
        cer_debut: None,
        date_sortie: champs.autres.get("date_sortie").cloned(),
        motif_sortie: champs.autres.get("motif_sortie").cloned(),
    };
    match sortie::enregistrer(&app, &s.acteur, &reference, changement, champs, piece).await {
        Ok(fait) => Ok(Redirect::to(&format!(
            "/participants/{}?sortie=1&crees={}&annules={}{}#bilans",
            fait.participant.reference,
            fait.bilans.crees,
            fait.bilans.annules,
            if fait.preuve.is_some() {
                "&preuve=1"
            } else {
                ""
            }
        ))
        .into_response()),
        Err(refus) => refuser_sortie(&app, &s, &reference, valeurs, refus).await,
    }
}

/// The file again, with why the exit was refused beside its field, under the status that says
/// it; out of reach or broken: the plain error page.
async fn refuser_sortie(
    app: &App,
    s: &Session,
    reference: &str,
    valeurs: HashMap<String, String>,
    refus: DepotRefuse,
) -> Page {
    let refus = crate::erreur::ApiError::from(refus);
    if matches!(refus.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN)
        || refus.status.is_server_error()
    {
        return Err(super::page_de(refus));
    }
    let saisie = SaisieSortie {
        valeurs,
        champ: refus.champ.clone().unwrap_or_default(),
        message: refus.message.clone(),
    };
    let corps = ecran_dossier(app, s, reference, None, Some(&saisie)).await?;
    Ok((refus.status, corps).into_response())
}

fn table_documents(app: &App, liste: &[Document]) -> Markup {
    html! {
        @if liste.is_empty() { p { "Aucun document." } }
        @else {
            div.tableau-defilant {
                table {
                    thead { tr { th scope="col" { "Document" } th scope="col" { "État" } th scope="col" { "Créé le" } th scope="col" { "Envoyé le" } } }
                    tbody {
                        @for d in liste {
                            tr {
                                th scope="row" { a href=(format!("/documents/{}", d.reference)) { (titre_workflow(app, &d.workflow)) @if d.bilan.is_some() { " " (libelle_bilan(d.bilan.as_deref())) } } }
                                td { (gabarit::etat(d.etat)) }
                                td { (gabarit::paris(d.cree_le)) }
                                td { (d.envoye_le.map(gabarit::paris).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn libelle_role(role: &str) -> &'static str {
    match role {
        "participant" => "Participant",
        "referent" => "Référent de parcours",
        "referent_etape" => "Référent d'étape",
        "equipe_animation" => "Équipe d'animation du PLIE",
        "animateur" => "Animateur",
        "coordinateur" => "Coordinateur",
        "partenaire" => "Partenaire",
        "prescripteur" => "Prescripteur",
        _ => "Signataire",
    }
}

/// Values of the form from data (a draft's, or what the file gives), by input name.
pub(super) fn aplatir(prefixe: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let chemin = if prefixe.is_empty() {
                    k.clone()
                } else {
                    format!("{prefixe}.{k}")
                };
                aplatir(&chemin, v, out);
            }
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object()) => {
            let lignes: Vec<String> = items
                .iter()
                .map(|i| i.as_str().map_or(i.to_string(), str::to_owned))
                .collect();
            out.push((prefixe.to_owned(), lignes.join("\n")));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                aplatir(&format!("{prefixe}[{i}]"), item, out);
            }
        }
        Value::String(s) => out.push((prefixe.to_owned(), s.clone())),
        Value::Bool(b) => out.push((prefixe.to_owned(), b.to_string())),
        Value::Number(n) => out.push((prefixe.to_owned(), n.to_string())),
        Value::Null => {}
    }
}

/// What the file gives, shown above the form.
fn repris(donnees: &Value) -> Markup {
    let texte = |v: &Value, cles: &[&str]| {
        cles.iter()
            .filter_map(|k| v.get(*k).and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    };
    html! {
        dl.fiche.repris {
            @if let Some(p) = donnees.get("participant") { dt { "Participant" } dd { (texte(p, &["civilite", "prenom", "nom"])) " — " (texte(p, &["commune"])) } }
            @if let Some(r) = donnees.get("referent") { dt { "Référent" } dd { (texte(r, &["prenom", "nom"])) " — " (texte(r, &["qualite"])) } }
            @if let Some(o) = donnees.get("operation") { dt { "Opération FSE" } dd { (texte(o, &["numero"])) " — " (texte(o, &["intitule"])) } }
            @if let Some(p) = donnees.get("plie") { dt { "PLIE" } dd { (texte(p, &["nom"])) } }
        }
    }
}

fn bloc_signataires(w: &Workflow, p: &Participant, valeurs: &HashMap<String, String>) -> Markup {
    html! {
        fieldset.groupe {
            legend { "Signataires" }
            @for sig in w.signataires.iter().filter(|s| !s.plusieurs) {
                @let role = sig.role.nom();
                @let cle = |c: &str| format!("sig.{role}.{c}");
                @let methode = valeurs.get(&cle("methode")).cloned().unwrap_or_else(|| methode_par_defaut(sig, p).to_owned());
                fieldset.element {
                    legend { (libelle_role(role)) @if sig.facultatif { span.facultatif { " (facultatif)" } } }
                    @if sig.methodes.len() > 1 {
                        div.choix-methode role="radiogroup" aria-label=(format!("Comment signe : {}", libelle_role(role))) {
                            @for m in &sig.methodes {
                                @let code = if *m == Methode::Tablette { "tablette" } else { "lien" };
                                label.radio {
                                    input type="radio" name=(cle("methode")) value=(code) checked[methode == code];
                                    @if *m == Methode::Tablette { "Sur la tablette, en rendez-vous" } @else { "Par un lien envoyé par courriel" }
                                }
                            }
                        }
                    } @else {
                        p.aide { @if sig.methodes.first() == Some(&Methode::Lien) { "Signe par un lien envoyé par courriel." } @else { "Signe sur la tablette." } }
                    }
                    @match sig.role {
                        Role::Participant => {
                            @if let Some(e) = &p.fiche.email { p.aide { "Courriel du dossier : " (e) } }
                            @else { p.aide { "Pas de courriel au dossier : pour signer par lien, indiquez-en un." } }
                            label for=(format!("c-{role}-email")) { "Courriel (si différent)" }
                            input id=(format!("c-{role}-email")) type="email" name=(cle("email")) value=[valeurs.get(&cle("email"))] data-type="email";
                        }
                        Role::Referent | Role::Animateur => {}
                        _ => {
                            label for=(format!("c-{role}-nom")) { "Nom" }
                            input id=(format!("c-{role}-nom")) name=(cle("nom")) value=[valeurs.get(&cle("nom"))];
                            label for=(format!("c-{role}-email")) { "Courriel" }
                            input id=(format!("c-{role}-email")) type="email" name=(cle("email")) value=[valeurs.get(&cle("email"))] data-type="email";
                        }
                    }
                }
            }
        }
    }
}

fn methode_par_defaut(sig: &parafe_service::workflow::Signataire, p: &Participant) -> &'static str {
    let lien_possible = sig.methodes.contains(&Methode::Lien);
    let tablette_possible = sig.methodes.contains(&Methode::Tablette);
    if sig.role == Role::Participant && p.fiche.email.is_some() && lien_possible {
        "lien"
    } else if tablette_possible {
        "tablette"
    } else {
        "lien"
    }
}

/// The signers asked in the form, as the service expects them.
fn signataires_demandes(w: &Workflow, saisie: &[(String, String)]) -> Vec<SignataireDemande> {
    let v: HashMap<&str, &str> = saisie.iter().map(|(k, v)| (k.as_str(), v.trim())).collect();
    w.signataires
        .iter()
        .filter(|s| !s.plusieurs)
        .filter_map(|s| {
            let role = s.role.nom();
            let get = |c: &str| {
                v.get(format!("sig.{role}.{c}").as_str())
                    .filter(|x| !x.is_empty())
                    .map(|x| x.to_string())
            };
            let (nom, email, methode) = (get("nom"), get("email"), get("methode"));
            if s.facultatif && nom.is_none() && email.is_none() {
                return None;
            }
            (nom.is_some() || email.is_some() || methode.is_some()).then(|| SignataireDemande {
                role: role.to_owned(),
                nom,
                email,
                methode,
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn ecran_formulaire(
    app: &App,
    s: &Session,
    w: &Workflow,
    p: &Participant,
    action: &str,
    prerempli: &Value,
    etat: &EtatFormulaire,
    probleme: Option<String>,
    avec_signataires: bool,
) -> Result<Markup, Response> {
    let schema = app.catalogue.get(&w.modele).map_err(|e| erreur(e.into()))?;
    let valeurs: HashMap<String, String> = etat.valeurs.clone().into_iter().collect();
    let corps = html! {
        p { a href=(format!("/participants/{}", p.reference)) { "← Dossier de " (p.fiche.prenom) " " (p.fiche.nom.to_uppercase()) } }
        h1 { (w.titre) }
        @if !schema.description.is_empty() { p.intro { (schema.description) } }
        @if let Some(m) = &probleme { (alerte("erreur", m)) }
        form.document method="post" action=(action) novalidate data-valider="1" {
            (csrf(s))
            section.carte {
                h2 { "Repris du dossier" }
                (repris(prerempli))
            }
            section.carte {
                h2 { "À compléter" }
                p.aide { "Les champs sont vérifiés pendant la saisie ; rien n'est enregistré tant que tout n'est pas juste." }
                (formulaire::champs(schema, etat))
            }
            @if avec_signataires { section.carte { (bloc_signataires(w, p, &valeurs)) } }
            div.actions {
                button.principal type="submit" { "Enregistrer le brouillon et voir l'aperçu" }
                a.bouton.secondaire href=(format!("/participants/{}", p.reference)) { "Abandonner" }
            }
        }
    };
    Ok(page(s, &w.titre, "accueil", &["formulaire.js"], corps))
}

fn workflow_de<'a>(app: &'a App, nom: &str) -> Result<&'a Workflow, Response> {
    app.workflow(nom)
        .ok_or_else(|| erreur(Erreur::Introuvable(format!("workflow « {nom} » inconnu"))))
}

async fn prerempli(
    app: &App,
    s: &Session,
    w: &Workflow,
    p: &Participant,
) -> Result<Value, Response> {
    documents::prefill(
        app,
        &w.modele,
        s.acteur.plie.as_str(),
        Some(p),
        &s.acteur,
        "(à la création)",
    )
    .await
    .map(Value::Object)
    .map_err(erreur)
}

async fn nouveau(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path((reference, workflow)): Path<(String, String)>,
) -> Page {
    let p = participant_de(&app, &s, &reference).await?;
    let w = workflow_de(&app, &workflow)?;
    parafe_service::documents::modification_permise(&s.acteur).map_err(erreur)?;
    let donnees = prerempli(&app, &s, w, &p).await?;
    let mut valeurs = Vec::new();
    aplatir("", &donnees, &mut valeurs);
    let etat = EtatFormulaire::depuis(&valeurs);
    let action = format!("/participants/{}/nouveau/{}", p.reference, w.nom);
    Ok(ecran_formulaire(&app, &s, w, &p, &action, &donnees, &etat, None, true)?.into_response())
}

/// Checks what the person typed against the template (the fields the file fills excepted), so
/// that every faulty input is named beside itself.
fn erreurs_de_saisie(
    app: &App,
    w: &Workflow,
    donnees: &Value,
) -> Vec<parafe_template::template::FieldError> {
    let Ok(schema) = app.catalogue.get(&w.modele) else {
        return Vec::new();
    };
    match parafe_template::template::validate(schema, donnees) {
        Ok(_) => Vec::new(),
        Err(erreurs) => erreurs
            .into_iter()
            .filter(|e| {
                let racine = e.chemin.split(['.', '[']).next().unwrap_or_default();
                !(REPRIS_DU_DOSSIER.contains(&racine) || racine == "reference")
                    || donnees.get(racine).is_some()
            })
            .collect(),
    }
}

async fn creer(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path((reference, workflow)): Path<(String, String)>,
    super::Formulaire(saisie): super::Formulaire<Vec<(String, String)>>,
) -> Page {
    let p = participant_de(&app, &s, &reference).await?;
    let w = workflow_de(&app, &workflow)?;
    let schema = app.catalogue.get(&w.modele).map_err(|e| erreur(e.into()))?;
    let donnees = formulaire::donnees(schema, &saisie);
    let action = format!("/participants/{}/nouveau/{}", p.reference, w.nom);
    let mut etat = EtatFormulaire::depuis(&saisie);
    let erreurs = erreurs_de_saisie(&app, w, &donnees);
    let refus = if erreurs.is_empty() {
        let demande = DemandeDocument {
            workflow: w.nom.clone(),
            participant: Some(p.reference.clone()),
            donnees,
            signataires: signataires_demandes(w, &saisie),
        };
        match documents::creer(&app, &s.acteur, demande).await {
            Ok(d) => {
                return Ok(
                    Redirect::to(&format!("/documents/{}?message=cree", d.reference))
                        .into_response(),
                )
            }
            Err(Erreur::Champs { champs }) => {
                etat.ajouter_erreurs(&champs);
                Some("Le document n'a pas été créé : corrigez les champs signalés.".to_owned())
            }
            Err(e @ Erreur::Invalide { .. }) => Some(e.to_string()),
            Err(e) => return Err(erreur(e)),
        }
    } else {
        etat.ajouter_erreurs(&erreurs);
        Some(format!(
            "Le document n'a pas été créé : {} champ(s) à corriger.",
            erreurs.len()
        ))
    };
    let prerempli = prerempli(&app, &s, w, &p).await?;
    let ecran = ecran_formulaire(&app, &s, w, &p, &action, &prerempli, &etat, refus, true)?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, ecran).into_response())
}

async fn charger(app: &App, s: &Session, reference: &str) -> Result<Document, Response> {
    documents::charger(app, &s.acteur, reference)
        .await
        .map_err(erreur)
}

async fn participant_du_document(app: &App, d: &Document) -> Result<Option<Participant>, Response> {
    match d.participant_id {
        Some(id) => participants::par_id(&app.db, &d.plie, id)
            .await
            .map_err(|e| erreur(e.into())),
        None => Ok(None),
    }
}

async fn modifier(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(reference): Path<String>,
) -> Page {
    let d = charger(&app, &s, &reference).await?;
    let w = workflow_de(&app, &d.workflow)?;
    let p = participant_du_document(&app, &d).await?.ok_or_else(|| {
        erreur(Erreur::Conflit(
            "ce document ne concerne pas un participant".into(),
        ))
    })?;
    if !d.etat.modifiable() {
        return Err(erreur(Erreur::Conflit(format!(
            "un document {} ne se modifie plus",
            d.etat
        ))));
    }
    let donnees: Value = serde_json::from_str(&d.donnees).unwrap_or(Value::Null);
    let mut valeurs = Vec::new();
    aplatir("", &donnees, &mut valeurs);
    let etat = EtatFormulaire::depuis(&valeurs);
    let action = format!("/documents/{}/modifier", d.reference);
    Ok(ecran_formulaire(&app, &s, w, &p, &action, &donnees, &etat, None, false)?.into_response())
}

async fn enregistrer(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(reference): Path<String>,
    super::Formulaire(saisie): super::Formulaire<Vec<(String, String)>>,
) -> Page {
    let d = charger(&app, &s, &reference).await?;
    let w = workflow_de(&app, &d.workflow)?;
    let schema = app.catalogue.get(&w.modele).map_err(|e| erreur(e.into()))?;
    let donnees = formulaire::donnees(schema, &saisie);
    let mut etat = EtatFormulaire::depuis(&saisie);
    let erreurs = erreurs_de_saisie(&app, w, &donnees);
    let mut refus = "Corrigez les champs signalés.".to_owned();
    if erreurs.is_empty() {
        match documents::modifier_donnees(&app, &s.acteur, &reference, donnees).await {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/documents/{reference}?message=modifie"))
                        .into_response(),
                )
            }
            Err(Erreur::Champs { champs }) => etat.ajouter_erreurs(&champs),
            Err(e @ Erreur::Invalide { .. }) => refus = e.to_string(),
            Err(e) => return Err(erreur(e)),
        }
    } else {
        etat.ajouter_erreurs(&erreurs);
    }
    let p = participant_du_document(&app, &d).await?.ok_or_else(|| {
        erreur(Erreur::Conflit(
            "ce document ne concerne pas un participant".into(),
        ))
    })?;
    let courant: Value = serde_json::from_str(&d.donnees).unwrap_or(Value::Null);
    let action = format!("/documents/{}/modifier", d.reference);
    let ecran = ecran_formulaire(
        &app,
        &s,
        w,
        &p,
        &action,
        &courant,
        &etat,
        Some(refus),
        false,
    )?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, ecran).into_response())
}

/// The participant's copy owed by hand (no e-mail): the form to record its hand-over, or how
/// it was handed over.
fn section_remises(s: &Session, d: &Document, remises: &[Remise], aujourdhui: NaiveDate) -> Markup {
    html! {
        section.carte aria-labelledby="remise" {
            h2 #remise { "Copie du participant" }
            @for r in remises {
                @match r.mode {
                    None => {
                        p { "Le participant n'a pas d'adresse e-mail : sa copie scellée est à lui remettre. Imprimez-la (« Télécharger le PDF scellé »), remettez-la-lui ou à son contact, puis consignez la remise." }
                        @if s.acteur.peut_modifier() {
                            form method="post" action=(format!("/documents/{}/remise", d.reference)) {
                                (csrf(s))
                                fieldset.question {
                                    legend { "Comment la copie a-t-elle été remise ?" }
                                    label.radio { input type="radio" name="mode" value="main_propre" checked; " Imprimée et remise en main propre" }
                                    label.radio { input type="radio" name="mode" value="contact"; " Remise à son contact" }
                                }
                                label for="remis-a" { "Contact qui l'a reçue (un proche, le service social…), si remise à son contact" }
                                input #remis-a type="text" name="remis_a" maxlength="200";
                                label for="remis-le" { "Date de la remise" }
                                input #remis-le type="date" name="remis_le" required value=(aujourdhui.format("%Y-%m-%d")) max=(aujourdhui.format("%Y-%m-%d"));
                                div.actions { button.principal type="submit" { "Consigner la remise" } }
                            }
                        }
                    }
                    Some(mode) => {
                        p {
                            span.etiquette.vert { "remise" } " "
                            @match mode {
                                ModeRemise::MainPropre => { "Copie imprimée et remise en main propre" }
                                ModeRemise::Contact => { "Copie remise à son contact, " (r.remis_a.as_deref().unwrap_or_default()) }
                            }
                            " le " (r.remis_le.map(gabarit::date).unwrap_or_default())
                            @if let Some(par) = &r.par { " — consignée par " (par) }
                            "."
                        }
                    }
                }
            }
        }
    }
}

/// A draft's preview hash, by document and last change.
type Apercus = HashMap<(String, DateTime<Utc>), String>;

/// Draft previews, by document and last change: rendered once, kept by hash like any version.
fn brouillons() -> &'static Mutex<Apercus> {
    static B: std::sync::OnceLock<Mutex<Apercus>> = std::sync::OnceLock::new();
    B.get_or_init(Default::default)
}

/// The version a document shows: sealed, else presented to signers, else the draft rendered now.
async fn version_affichee(app: &App, d: &Document) -> Result<String, Erreur> {
    if let Some(sha) = d.sha256_scelle.clone().or_else(|| d.sha256_rendu.clone()) {
        return Ok(sha);
    }
    let cle = (d.reference.clone(), d.modifie_le);
    if let Some(sha) = brouillons().lock().ok().and_then(|b| b.get(&cle).cloned()) {
        return Ok(sha);
    }
    let donnees: Value = serde_json::from_str(&d.donnees)?;
    let rendu = parafe_service::pipeline::rendre(
        app,
        &d.plie,
        &d.modele,
        donnees,
        d.modifie_le,
        Vec::new(),
    )
    .await?;
    parafe_service::pipeline::garder_version(app, rendu.bytes()).await?;
    let sha = rendu.sha256().to_hex();
    if let Ok(mut b) = brouillons().lock() {
        if b.len() > 500 {
            b.clear();
        }
        b.insert(cle, sha.clone());
    }
    Ok(sha)
}

/// The pictures of a version's pages, with their text alternative.
pub(crate) fn pages(base: &str, n: usize, titre: &str, version: &str) -> Markup {
    // The version in the address: a browser never shows a draft's picture for a sealed page.
    let v = version.get(..16).unwrap_or(version);
    html! {
        div.pages {
            @for i in 1..=n {
                img src=(format!("{base}/{i}?v={v}")) alt=(format!("{titre}, page {i} sur {n}")) loading="lazy" width="1190" height="1684";
            }
        }
    }
}

#[derive(Deserialize, Default)]
struct Note {
    message: Option<String>,
}

async fn document(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(reference): Path<String>,
    Query(note): Query<Note>,
) -> Page {
    let d = charger(&app, &s, &reference).await?;
    let signataires = signataires::du_document(&app.db, d.id)
        .await
        .map_err(|e| erreur(e.into()))?;
    let p = participant_du_document(&app, &d).await?;
    let titre = titre_workflow(&app, &d.workflow);
    let (sha, apercu_echec) = match version_affichee(&app, &d).await {
        Ok(sha) => (Some(sha), None),
        Err(e) => (None, Some(e)),
    };
    let nb_pages = match &sha {
        Some(sha) => apercu::nombre_de_pages(&app, sha).await.map_err(erreur)?,
        None => 0,
    };
    let historique = docs::evenements(&app.db, d.id)
        .await
        .map_err(|e| erreur(e.into()))?;
    let remises = parafe_service::db::remises::du_document(&app.db, d.id)
        .await
        .map_err(|e| erreur(e.into()))?;
    let echecs = parafe_service::db::outbox::abandons_du_document(&app.db, &d.plie, &d.reference)
        .await
        .map_err(|e| erreur(e.into()))?;
    let etat = d.etat;
    let modifiable = s.acteur.peut_modifier();
    let en_attente_lien = signataires
        .iter()
        .any(|x| x.etat == EtatSignataire::Attente && x.methode == "lien");
    let a_son_tour = prochain_a_la_tablette(&app, &d, &signataires);
    let au_telephone = prochain_au_telephone(&app, &d, &signataires);
    let kiosque_ouvert = parafe_service::kiosque::de_document(&app, d.id)
        .await
        .map_err(erreur)?;
    let info = match note.message.as_deref() {
        Some("cree") => {
            Some("Brouillon enregistré. Vérifiez l'aperçu, puis envoyez-le pour signature.")
        }
        Some("modifie") => Some("Brouillon modifié."),
        Some("envoye") => {
            Some("Envoyé pour signature : les signataires par lien reçoivent leur courriel.")
        }
        Some("relance") => Some("Relance envoyée."),
        Some("remise") => Some("Remise de la copie consignée."),
        Some("annule") => Some("Document annulé : les liens envoyés ne fonctionnent plus."),
        Some("signe") => Some("Signature enregistrée."),
        _ => None,
    };
    let corps = html! {
        @if let Some(p) = &p { p { a href=(format!("/participants/{}", p.reference)) { "← Dossier de " (p.fiche.prenom) " " (p.fiche.nom.to_uppercase()) } } }
        h1 { (titre) @if d.bilan.is_some() { " " (libelle_bilan(d.bilan.as_deref())) } }
        @if let Some(i) = info { (alerte("succes", i)) }
        div.entete-document {
            p { "État : " (gabarit::etat(etat)) }
            p.reference { "Référence " code { (d.reference.to_uppercase()) } }
        }
        @for echec in &echecs {
            (alerte("erreur", &format!(
                "{} a échoué définitivement le {} et ne sera plus réessayé : {}",
                match echec.genre.as_str() {
                    "sceller" => "Le scellement de ce document",
                    "deposer" => "Le dépôt de ce document au coffre",
                    _ => "L'envoi d'un courriel pour ce document",
                },
                gabarit::paris(echec.le),
                echec.raison
            )))
        }
        @if modifiable && (etat == Etat::Brouillon || etat.en_signature()) {
            div.actions.barre {
                @if etat == Etat::Brouillon {
                    @if p.is_some() { a.bouton.secondaire href=(format!("/documents/{}/modifier", d.reference)) { "Modifier" } }
                    form method="post" action=(format!("/documents/{}/envoyer", d.reference)) {
                        (csrf(&s)) button.principal type="submit" { "Envoyer pour signature" }
                    }
                }
                @if let Some(k) = kiosque_ouvert.as_ref().filter(|k| k.etat != EtatKiosque::Clos).map(|k| &k.reference) {
                    form method="post" action=(format!("/kiosque/{k}/reprendre")) {
                        (csrf(&s)) button.principal type="submit" { "Reprendre la feuille sur la tablette" }
                    }
                } @else {
                    @if let Some(sig) = a_son_tour {
                        a.bouton.principal href=(format!("/documents/{}/signer/{}", d.reference, sig.rang)) {
                            "Faire signer sur la tablette : " (sig.nom)
                        }
                    }
                    @if let Some(sig) = au_telephone {
                        form method="post" action=(format!("/documents/{}/telephone/{}", d.reference, sig.rang)) {
                            (csrf(&s)) button.secondaire type="submit" { "Faire signer sur son téléphone : " (sig.nom) }
                        }
                    }
                }
                @if etat.en_signature() && en_attente_lien {
                    form method="post" action=(format!("/documents/{}/relancer", d.reference)) {
                        (csrf(&s)) button.secondaire type="submit" { "Relancer par courriel" }
                    }
                }
                @if etat == Etat::Brouillon || etat.en_signature() {
                    form method="post" action=(format!("/documents/{}/annuler", d.reference)) {
                        (csrf(&s)) button.danger type="submit" data-confirmer="Annuler ce document ? Les liens déjà envoyés ne fonctionneront plus." { "Annuler le document" }
                    }
                }
            }
        }
        @if d.sha256_rendu.is_some() || d.sha256_scelle.is_some() {
            p { a.bouton.secondaire href=(format!("/documents/{}/pdf", d.reference)) download { "Télécharger le PDF" @if d.sha256_scelle.is_some() { " scellé" } } }
        }
        section.carte aria-labelledby="signataires" {
            h2 #signataires { "Signataires" }
            // A document nobody signs (sealed only): said, rather than an empty table.
            @if signataires.is_empty() {
                p { "Aucun signataire : le document est scellé par le PLIE dès son envoi." }
            } @else {
                div.tableau-defilant {
                    table {
                        thead { tr { th scope="col" { "Ordre" } th scope="col" { "Nom" } th scope="col" { "Qualité" } th scope="col" { "Méthode" } th scope="col" { "État" } } }
                        tbody {
                            @for (i, x) in signataires.iter().enumerate() {
                                tr {
                                    td { (i + 1) }
                                    td { (x.nom) }
                                    td { (libelle_role(&x.role)) }
                                    td { @if x.methode == "lien" { "lien par courriel" } @else { "tablette" } }
                                    td {
                                        @match x.etat {
                                            EtatSignataire::Signe => { span.etiquette.vert { "signé" } " " (x.signe_le.map(gabarit::paris).unwrap_or_default()) }
                                            EtatSignataire::Refuse => { span.etiquette.rouge { "refusé" } @if let Some(m) = &x.motif_refus { " — « " (m) " »" } }
                                            _ => { span.etiquette.gris { "en attente" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !remises.is_empty() {
            (section_remises(&s, &d, &remises, app.horloge.aujourdhui()))
        }
        section aria-labelledby="apercu" {
            h2 #apercu { "Aperçu" @if d.sha256_scelle.is_some() { " de la version scellée" } @else if d.sha256_rendu.is_some() { " de la version présentée aux signataires" } @else { " du brouillon" } }
            @if let Some(sha) = &sha { p.empreinte { "Empreinte SHA-256 : " code { (sha) } } }
            @match &apercu_echec {
                // A draft still missing what the référent writes: the fields to fill, by their
                // labels, rather than a composition failure.
                Some(Erreur::Champs { champs }) => {
                    div.alerte.info role="status" {
                        p { "L'aperçu viendra quand le brouillon sera complet. À remplir :" }
                        ul { @for c in champs { li { strong { (c.libelle) } " — " (c.message) } } }
                        @if modifiable && p.is_some() && etat == Etat::Brouillon {
                            p { a.bouton.principal href=(format!("/documents/{}/modifier", d.reference)) { "Compléter le brouillon" } }
                        }
                    }
                }
                Some(e) => { (alerte("erreur", &message(e))) }
                None => {}
            }
            (pages(&format!("/documents/{}/pages", d.reference), nb_pages, &titre, sha.as_deref().unwrap_or_default()))
        }
        section.carte aria-labelledby="historique" {
            h2 #historique { "Historique" }
            ol.historique {
                li { (gabarit::paris(d.cree_le)) " — brouillon créé" }
                @for e in &historique {
                    li { (gabarit::paris(e.le)) " — " (e.vers.libelle()) " (" (e.acteur) ")" }
                }
            }
        }
    };
    Ok(page(&s, &titre, "accueil", &[], corps).into_response())
}

/// The tablet signer whose turn it is, if any (in a sequential workflow, the first waiting).
fn prochain_a_la_tablette<'a>(
    app: &App,
    d: &Document,
    signataires: &'a [Signataire],
) -> Option<&'a Signataire> {
    prochain(app, d, signataires, |x| x.methode == "tablette")
}

/// The signer whose turn it is and who may sign on his own phone (the participant, or a signer
/// from outside who signs by link), if any.
fn prochain_au_telephone<'a>(
    app: &App,
    d: &Document,
    signataires: &'a [Signataire],
) -> Option<&'a Signataire> {
    prochain(
        app,
        d,
        signataires,
        parafe_service::telephone::par_telephone,
    )
}

/// The waiting signer whose turn it is and who `peut` sign this way: in a sequential workflow
/// the first waiting only, else any.
fn prochain<'a>(
    app: &App,
    d: &Document,
    signataires: &'a [Signataire],
    peut: impl Fn(&Signataire) -> bool,
) -> Option<&'a Signataire> {
    if !d.etat.en_signature() {
        return None;
    }
    let sequentiel = app
        .workflow(&d.workflow)
        .is_some_and(|w| w.ordre == parafe_service::workflow::Ordre::Sequentiel);
    let mut attente = signataires
        .iter()
        .filter(|x| x.etat == EtatSignataire::Attente);
    if sequentiel {
        attente.next().filter(|x| peut(x))
    } else {
        attente.find(|x| peut(x))
    }
}

async fn image_page(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path((reference, page)): Path<(String, usize)>,
) -> Page {
    let d = charger(&app, &s, &reference).await?;
    let sha = version_affichee(&app, &d).await.map_err(erreur)?;
    let png = apercu::page(&app, &sha, page).await.map_err(erreur)?;
    Ok(apercu::reponse(png))
}

async fn pdf(State(app): State<App>, Connecte(s): Connecte, Path(reference): Path<String>) -> Page {
    let (d, octets) = documents::pdf(&app, &s.acteur, &reference)
        .await
        .map_err(erreur)?;
    let scelle = if d.sha256_scelle.is_some() {
        "-scelle"
    } else {
        ""
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}-{}{scelle}.pdf\"",
                    d.modele, d.reference
                ),
            ),
        ],
        octets,
    )
        .into_response())
}

/// Opens a planned bilan to write it (its draft is made on the first opening).
async fn rediger_bilan(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path((reference, bilan)): Path<(String, String)>,
    _: super::Formulaire<super::Vide>,
) -> Page {
    let p = participant_de(&app, &s, &reference).await?;
    let document = parafe_service::schedule::rediger(&app, &s.acteur, &p, &bilan)
        .await
        .map_err(erreur)?;
    Ok(Redirect::to(&format!("/documents/{}/modifier", document.reference)).into_response())
}

async fn envoyer(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(reference): Path<String>,
    _: super::Formulaire<super::Vide>,
) -> Page {
    documents::envoyer(&app, &s.acteur, &reference)
        .await
        .map_err(erreur)?;
    Ok(Redirect::to(&format!("/documents/{reference}?message=envoye")).into_response())
}

async fn relancer(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(reference): Path<String>,
    _: super::Formulaire<super::Vide>,
) -> Page {
    documents::relancer(&app, &s.acteur, &reference)
        .await
        .map_err(erreur)?;
    Ok(Redirect::to(&format!("/documents/{reference}?message=relance")).into_response())
}

async fn remettre_copie(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(reference): Path<String>,
    super::Formulaire(remise): super::Formulaire<documents::RemiseCopie>,
) -> Page {
    documents::remettre_copie(&app, &s.acteur, &reference, remise)
        .await
        .map_err(erreur)?;
    Ok(Redirect::to(&format!("/documents/{reference}?message=remise")).into_response())
}

async fn annuler(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(reference): Path<String>,
    _: super::Formulaire<super::Vide>,
) -> Page {
    documents::annuler(&app, &s.acteur, &reference)
        .await
        .map_err(erreur)?;
    Ok(Redirect::to(&format!("/documents/{reference}?message=annule")).into_response())
}

/// The signing pad and consent, shared by the link page, the in-person page and the kiosk.
pub(crate) fn bloc_signature(nom: &str, avec_nom_tape: bool) -> Markup {
    html! {
        section.signature aria-labelledby="titre-signature" {
            h2 #titre-signature { "Signature de " (nom) }
            p.aide #aide-pad { "Signez avec le doigt, un stylet ou la souris dans le cadre ci-dessous." }
            div.cadre-pad {
                canvas.pad #pad width="600" height="240" role="img" aria-label="Zone de signature" aria-describedby="aide-pad" tabindex="0" {}
            }
            div.actions {
                button.secondaire #effacer type="button" { "Effacer" }
            }
            @if avec_nom_tape {
                details.nom-tape {
                    summary { "Je ne peux pas tracer : je tape mon nom" }
                    label for="nom-tape" { "Nom et prénom" }
                    input #nom-tape name="nom_tape" autocomplete="name";
                }
            }
            div.consentement {
                input #consentement type="checkbox" required;
                label for="consentement" #texte-consentement { (CONSENTEMENT) }
            }
            p.message-champ #erreur-signature role="alert" {}
        }
    }
}

async fn signer_ici(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path((reference, rang)): Path<(String, i64)>,
) -> Page {
    let d = charger(&app, &s, &reference).await?;
    let signataires = signataires::du_document(&app.db, d.id)
        .await
        .map_err(|e| erreur(e.into()))?;
    let sig = signataires.iter().find(|x| x.rang == rang).ok_or_else(|| {
        erreur(Erreur::Introuvable(format!(
            "aucun signataire au rang {rang}"
        )))
    })?;
    let sha = d.sha256_rendu.clone().ok_or_else(|| {
        erreur(Erreur::Conflit(
            "envoyez d'abord le document pour signature".into(),
        ))
    })?;
    let n = apercu::nombre_de_pages(&app, &sha).await.map_err(erreur)?;
    let titre = titre_workflow(&app, &d.workflow);
    let corps = html! {
        p { a href=(format!("/documents/{}", d.reference)) { "← Retour au document" } }
        h1 { (titre) }
        p.intro { "Faites lire le document à " strong { (sig.nom) } ", puis recueillez sa signature." }
        (pages(&format!("/documents/{}/pages", d.reference), n, &titre, &sha))
        form #formulaire-signature novalidate data-mode="sur-place"
            data-url=(format!("/documents/{}/signer/{}", d.reference, rang))
            data-version=(sha) data-csrf=(s.csrf)
            data-suite=(format!("/documents/{}?message=signe", d.reference)) {
            (bloc_signature(&sig.nom, true))
            div.actions { button.principal.grand #signer type="submit" { "Signer" } }
        }
    };
    Ok(page(&s, &titre, "accueil", &["signature.js", "signer.js"], corps).into_response())
}

async fn signature_ici(
    State(app): State<App>,
    Connecte(s): Connecte,
    crate::acteur::Temoin(ctx): crate::acteur::Temoin,
    Path((reference, rang)): Path<(String, i64)>,
    super::JsonSur(signature): super::JsonSur<Signature>,
) -> Response {
    match signature::signer_sur_place(&app, &s.acteur, &reference, rang, signature, &ctx).await {
        Ok(d) => Json(json!({ "etat": d.etat, "libelle_etat": d.etat.libelle() })).into_response(),
        Err(e) => erreur_json(e),
    }
}

/// The participants of the caller's reach as a spreadsheet (`;`, UTF-8 with BOM, as French
/// spreadsheets expect; no cell run as a formula): identity, entry and exit, contract, last
/// émargement, bilans overdue. The export is recorded in the evidence journal.
async fn export(State(app): State<App>, Connecte(s): Connecte) -> Page {
    let a = &s.acteur;
    let aujourdhui = app.horloge.aujourdhui();
    let lignes = participants::suivi(&app.db, a.plie.as_str(), a.portefeuille(), aujourdhui)
        .await
        .map_err(|e| erreur(e.into()))?;
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(vec![0xEF, 0xBB, 0xBF]);
    let entete = [
        "Identifiant",
        "Civilité",
        "Nom",
        "Prénom",
        "Commune",
        "Code postal",
        "Date d'entrée",
        "Date de sortie",
        "Motif de sortie",
        "RSA",
        "Contrat d'engagement signé",
        "Dernier émargement",
        "Bilans BRSA en retard",
    ];
    let ecrire = |w: &mut csv::Writer<Vec<u8>>, champs: &[String]| {
        parafe_core::tableur::ecrire_ligne(w, champs)
            .map_err(|e| erreur(Erreur::Interne(format!("export : {e}"))))
    };
    ecrire(&mut w, &entete.map(str::to_owned))?;
    let oui = |b: bool| if b { "oui" } else { "non" }.to_owned();
    for l in &lignes {
        ecrire(
            &mut w,
            &[
                l.identifiant_externe.clone(),
                l.civilite.clone(),
                l.nom.clone(),
                l.prenom.clone(),
                l.commune.clone(),
                l.code_postal.clone(),
                l.date_entree.map(gabarit::date).unwrap_or_default(),
                l.date_sortie.map(gabarit::date).unwrap_or_default(),
                l.motif_sortie.clone().unwrap_or_default(),
                oui(l.rsa),
                oui(l.contrat),
                l.dernier_emargement.map(gabarit::paris).unwrap_or_default(),
                l.bilans_en_retard.to_string(),
            ],
        )?;
    }
    let octets = w
        .into_inner()
        .map_err(|e| erreur(Erreur::Interne(format!("export : {e}"))))?;
    let evenement = parafe_core::model::JournalEvent::ExportMade {
        actor: a.pseudonyme(),
        operation: format!("liste des participants ({} lignes)", lignes.len()),
    };
    app.vault
        .record(&a.plie, evenement, Vec::new())
        .await
        .map_err(|e| erreur(e.into()))?;
    let nom = format!("participants-{aujourdhui}.csv");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{nom}\""),
            ),
        ],
        octets,
    )
        .into_response())
}
