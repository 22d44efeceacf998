//! The assistant's screens for a contrôle: search the pieces of an opération (by participant,
//! référent, period, genre, state) with where each one's evidence stands, the checklist of an
//! opération, and the audit pack made in the background, its progress followed by the page
//! (`controle.js` polls the API), then downloaded. Référents see their own portfolio.

use super::gabarit::{alerte, csrf, page};
use super::{erreur, Connecte, Formulaire, Page};
use axum::extract::{Path, Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use chrono::{Datelike, NaiveDate};
use maud::{html, Markup};
use parafe_service::controle::{self, DemandeExport, Recherche, ETATS_RECHERCHE};
use parafe_service::db::exports::EtatExport;
use parafe_service::justificatif::etat::{
    precision_du_groupe, regrouper, EtatExigence, Ligne, Piece, Source,
};
use parafe_service::{App, Erreur};
use serde::Deserialize;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/controle", get(ecran))
        .route("/controle/operations/{code}", get(operation))
        .route("/controle/exports", post(lancer))
        .route("/controle/exports/{reference}", get(export))
}

/// `JJ/MM/AAAA`, or a dash.
pub(super) fn date(d: Option<NaiveDate>) -> String {
    d.map_or("—".into(), |d| d.format("%d/%m/%Y").to_string())
}

/// A checklist state as a coloured label.
pub(super) fn etiquette_ligne(etat: EtatExigence) -> Markup {
    let (classe, texte) = match etat {
        EtatExigence::Present => ("vert", "présente"),
        EtatExigence::Tardif => ("ambre", "en retard"),
        EtatExigence::Manquant => ("rouge", "manquante"),
        EtatExigence::AVenir => ("gris", "à venir"),
    };
    html! { span class=(format!("etiquette {classe}")) { (texte) } }
}

/// The cells of a group of expected pieces: what (and its precision), due day(s), state.
pub(super) fn cellules_ligne(groupe: &[&Ligne]) -> Markup {
    let (Some(premiere), Some(derniere)) = (groupe.first(), groupe.last()) else {
        return html! {};
    };
    html! {
        th scope="row" { (premiere.libelle) @if let Some(x) = precision_du_groupe(groupe) { br; span.aide { (x) } } }
        td {
            (date(premiere.echeance))
            @if groupe.len() > 1 { " → " (date(derniere.echeance)) }
        }
        td { (etiquette_ligne(premiere.etat)) }
    }
}

/// A group of expected pieces on one line: state, what, precision.
pub(super) fn ligne_courte(groupe: &[&Ligne]) -> Markup {
    let Some(premiere) = groupe.first() else {
        return html! {};
    };
    html! {
        (etiquette_ligne(premiere.etat)) " " (premiere.libelle)
        @if let Some(x) = precision_du_groupe(groupe) { " — " (x) }
    }
}

/// A piece, named and linked to its download (journaled).
pub(super) fn lien_piece(piece: &Piece) -> Markup {
    let href = match (&piece.source, piece.disponible) {
        (Source::Justificatif { id }, _) => Some(format!("/api/justificatifs/{id}")),
        (Source::Document { reference, .. }, true) => Some(format!("/documents/{reference}/pdf")),
        (Source::Document { .. }, false) => None,
    };
    html! {
        @match href {
            Some(h) => a href=(h) { (piece.libelle) },
            None => span { (piece.libelle) },
        }
        @if let Some(n) = &piece.nom_fichier { " " span.aide { "(" (n) ")" } }
    }
}

fn option_choisie(valeur: &str, choisie: Option<&str>, texte: &str) -> Markup {
    html! { option value=(valeur) selected[choisie == Some(valeur)] { (texte) } }
}

async fn ecran(
    State(app): State<App>,
    Connecte(s): Connecte,
    Query(r): Query<Recherche>,
    RawQuery(brute): RawQuery,
) -> Page {
    let a = &s.acteur;
    let operations = controle::operations(&app, &a.plie).await.map_err(erreur)?;
    let referents = controle::referents(&app, a).await.map_err(erreur)?;
    let catalogue = controle::catalogue(&app, &a.plie).map_err(erreur)?;
    let exports = controle::exports(&app, a).await.map_err(erreur)?;
    let cherche = brute.is_some_and(|q| !q.is_empty());
    let (resultats, probleme) = if cherche {
        match controle::rechercher(&app, a, &r).await {
            Ok(r) => (Some(r), None),
            Err(e @ Erreur::Invalide { .. }) => (None, Some(super::message(&e))),
            Err(e) => return Err(erreur(e)),
        }
    } else {
        (None, None)
    };
    let operation_choisie = r
        .operation
        .clone()
        .or_else(|| operations.first().map(|o| o.code.clone()));
    let v = |x: &Option<String>| x.clone().unwrap_or_default();
    let mut modeles: Vec<(&str, &str)> = app
        .workflows
        .values()
        .map(|w| (w.modele.as_str(), w.titre.as_str()))
        .collect();
    modeles.sort();
    modeles.dedup_by(|x, y| x.0 == y.0);
    let aujourdhui = app.horloge.aujourdhui();
    let debut_annee = aujourdhui.with_ordinal(1).unwrap_or(aujourdhui);
    let corps = html! {
        h1 { "Contrôle et pack d'audit" }
        p.intro { "Retrouvez les pièces d'une opération et ce qui manque, puis préparez le pack à remettre au contrôleur : un ZIP vérifiable sans parafe." }
        section.carte aria-labelledby="titre-recherche" {
            h2 #titre-recherche { "Rechercher des pièces" }
            form.recherche-pieces method="get" action="/controle" role="search" {
                div.grille {
                    div {
                        label for="r-operation" { "Opération" }
                        select #r-operation name="operation" {
                            @for o in &operations { (option_choisie(&o.code, operation_choisie.as_deref(), &format!("{} — {}", o.code, o.intitule))) }
                        }
                    }
                    div {
                        label for="r-participant" { "Participant " span.facultatif { "(nom ou identifiant)" } }
                        input #r-participant type="search" name="participant" value=(v(&r.participant)) autocomplete="off";
                    }
                    @if a.portefeuille().is_none() {
                        div {
                            label for="r-referent" { "Référent" }
                            select #r-referent name="referent" {
                                option value="" { "Tous" }
                                @for x in &referents { (option_choisie(&x.id.to_string(), r.referent.as_deref(), &format!("{} {}", x.prenom, x.nom.to_uppercase()))) }
                            }
                        }
                    }
                    div {
                        label for="r-du" { "Du" }
                        input #r-du type="date" name="du" value=(v(&r.du));
                    }
                    div {
                        label for="r-au" { "Au" }
                        input #r-au type="date" name="au" value=(v(&r.au));
                    }
                    div {
                        label for="r-genre" { "Type de pièce" }
                        select #r-genre name="genre" {
                            option value="" { "Tous" }
                            optgroup label="Documents parafe" {
                                @for (m, t) in &modeles { (option_choisie(m, r.genre.as_deref(), t)) }
                            }
                            optgroup label="Justificatifs" {
                                @for (id, g) in &catalogue.genres { (option_choisie(id, r.genre.as_deref(), &g.libelle)) }
                            }
                        }
                    }
                    div {
                        label for="r-etat" { "État" }
                        select #r-etat name="etat" {
                            option value="" { "Tous : pièces, manques, retards" }
                            @for (code, texte) in ETATS_RECHERCHE { (option_choisie(code, r.etat.as_deref(), texte)) }
                        }
                    }
                    div.actions { button.principal type="submit" { "Rechercher" } }
                }
            }
            @if let Some(code) = &operation_choisie {
                p { a href=(format!("/controle/operations/{code}")) { "Pièces attendues de l'opération " (code) ", participant par participant" } }
                @if a.portefeuille().is_none() {
                    p { a href=(format!("/operations/{code}/chiffres")) { "Chiffres de l'opération " (code) " : entrées, sorties, indicateurs" } }
                }
            }
        }
        @if let Some(p) = &probleme { (alerte("erreur", p)) }
        @if let Some(res) = &resultats { (resultats_html(res)) }
        section.carte aria-labelledby="titre-pack" {
            h2 #titre-pack { "Préparer un pack d'audit" }
            p.aide { "Le pack se prépare en arrière-plan : vous suivez sa progression et le téléchargez quand il est prêt. Chaque export et chaque téléchargement est inscrit au journal des preuves." }
            form.pack method="post" action="/controle/exports" {
                (csrf(&s))
                div.grille {
                    div {
                        label for="p-operation" { "Opération" }
                        select #p-operation name="operation" required {
                            @for o in &operations { (option_choisie(&o.code, operation_choisie.as_deref(), &format!("{} — {}", o.code, o.intitule))) }
                        }
                    }
                    div {
                        label for="p-du" { "Du" }
                        input #p-du type="date" name="du" required value=(debut_annee.format("%Y-%m-%d"));
                    }
                    div {
                        label for="p-au" { "Au" }
                        input #p-au type="date" name="au" required value=(aujourdhui.format("%Y-%m-%d"));
                    }
                    div {
                        label for="p-participant" { "Un seul participant " span.facultatif { "(identifiant, facultatif)" } }
                        input #p-participant type="text" name="participant" autocomplete="off";
                    }
                }
                @if parafe_service::questionnaire::lit_les_reponses_sensibles(&s.acteur) {
                    label.case {
                        input type="checkbox" name="donnees_sensibles" value="oui";
                        "Joindre les pièces sensibles (santé, handicap, justice, questionnaire FSE) : seulement si le contrôleur les demande"
                    }
                }
                div.actions { button.principal type="submit" { "Préparer le pack" } }
            }
        }
        @if !exports.is_empty() {
            section aria-labelledby="titre-packs" {
                h2 #titre-packs { "Packs d'audit" }
                div.tableau-defilant {
                    table {
                        caption.visuellement-cache { "Packs d'audit demandés" }
                        thead { tr { th scope="col" { "Pack" } th scope="col" { "Opération et période" } th scope="col" { "Demandé le" } th scope="col" { "État" } } }
                        tbody {
                            @for e in &exports {
                                @let vue = controle::vue_export(e);
                                tr {
                                    th scope="row" { a href=(format!("/controle/exports/{}", e.reference)) { (e.reference) } }
                                    td { (parametres(&vue)) }
                                    td { (super::gabarit::paris(e.cree_le)) }
                                    td { (etiquette_export(e.etat)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&s, "Contrôle", "controle", &[], corps).into_response())
}

fn resultats_html(res: &controle::Resultats) -> Markup {
    html! {
        section.resultats aria-labelledby="titre-resultats" {
            h2 #titre-resultats {
                "Résultats"
                @if let Some(o) = &res.operation { " — opération " (o.code) }
            }
            p role="status" {
                (res.pieces.len()) " pièce(s), " (res.manques.len()) " pièce(s) attendue(s) manquante(s), en retard ou à venir"
                @if res.tronque { " (seules les 500 premières de chaque sorte sont affichées : précisez la recherche)" }
                "."
            }
            @if !res.pieces.is_empty() {
                div.tableau-defilant {
                    table.resultats-pieces {
                        caption.visuellement-cache { "Pièces trouvées" }
                        thead { tr { th scope="col" { "Participant" } th scope="col" { "Date" } th scope="col" { "Pièce" } th scope="col" { "État" } th scope="col" { "Preuve" } } }
                        tbody {
                            @for (i, t) in res.pieces.iter().enumerate() {
                                @let nouveau = i == 0 || cle(res.pieces[i - 1].participant.as_ref()) != cle(t.participant.as_ref());
                                tr.nouveau[nouveau] {
                                    td { @if nouveau { (qui(t.participant.as_ref())) } }
                                    td { (date(t.piece.date)) }
                                    th scope="row" { (lien_piece(&t.piece)) }
                                    td { span class=(format!("etiquette {}", if t.piece.disponible { "vert" } else { "bleu" })) { (t.libelle_etat) } }
                                    td.empreinte { (t.preuve) }
                                }
                            }
                        }
                    }
                }
            }
            @if !res.manques.is_empty() {
                h3 { "Pièces attendues" }
                div.tableau-defilant {
                    table.resultats-manques {
                        caption.visuellement-cache { "Pièces attendues manquantes, en retard ou à venir" }
                        thead { tr { th scope="col" { "Participant" } th scope="col" { "Pièce attendue" } th scope="col" { "Échéance" } th scope="col" { "État" } } }
                        tbody {
                            @for (nouveau, participant, groupe) in groupes_manques(&res.manques) {
                                tr.nouveau[nouveau] {
                                    td { @if nouveau { (qui(participant)) } }
                                    (cellules_ligne(&groupe))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// How many expected pieces are in each state.
pub(super) fn compte(c: &controle::Compte) -> Markup {
    html! {
        ul.compte aria-label="Pièces attendues, par état" {
            li { span.etiquette.vert { (c.presentes) " présente(s)" } }
            li { span.etiquette.rouge { (c.manquantes) " manquante(s)" } }
            li { span.etiquette.ambre { (c.en_retard) " en retard" } }
            li { span.etiquette.gris { (c.a_venir) " à venir" } }
        }
    }
}

fn cle(q: Option<&controle::Qui>) -> Option<&str> {
    q.map(|q| q.reference.as_str())
}

/// The missing pieces found, one line per participant and run of one requirement; `true` for the
/// first line of a participant (who is named once).
fn groupes_manques(
    manques: &[controle::ManqueTrouve],
) -> Vec<(bool, Option<&controle::Qui>, Vec<&Ligne>)> {
    let mut precedent = None;
    manques
        .chunk_by(|a, b| {
            cle(a.participant.as_ref()) == cle(b.participant.as_ref())
                && a.ligne.exigence == b.ligne.exigence
                && a.ligne.etat == b.ligne.etat
        })
        .filter_map(|g| {
            let premier = g.first()?;
            let qui = premier.participant.as_ref();
            let nouveau = precedent != Some(cle(qui));
            precedent = Some(cle(qui));
            Some((nouveau, qui, g.iter().map(|m| &m.ligne).collect()))
        })
        .collect()
}

fn qui(q: Option<&controle::Qui>) -> Markup {
    html! {
        @match q {
            Some(q) => {
                a href=(format!("/participants/{}/justificatifs", q.reference)) { (q.prenom) " " (q.nom.to_uppercase()) }
                br;
                span.aide { (q.identifiant) @if let Some(r) = &q.referent { " · " (r) } }
            },
            None => span { "Opération" },
        }
    }
}

fn etiquette_export(etat: EtatExport) -> Markup {
    let classe = match etat {
        EtatExport::Fini => "vert",
        EtatExport::Echec => "rouge",
        EtatExport::Attente | EtatExport::EnCours => "bleu",
    };
    html! { span class=(format!("etiquette {classe}")) { (etat.libelle()) } }
}

/// « 202500417, du 01/01/2025 au 31/12/2025 (P-2025-0412) ».
fn parametres(vue: &serde_json::Value) -> String {
    let p = &vue["parametres"];
    let jour = |k: &str| {
        p[k].as_str()
            .and_then(parafe_service::db::parse_jour)
            .map_or("?".into(), |d| d.format("%d/%m/%Y").to_string())
    };
    let mut t = format!(
        "{}, du {} au {}",
        p["operation"].as_str().unwrap_or_default(),
        jour("du"),
        jour("au")
    );
    if let Some(x) = p["participant"].as_str() {
        t.push_str(&format!(" ({x})"));
    }
    if p["donnees_sensibles"] == true {
        t.push_str(", pièces sensibles comprises");
    }
    t
}

async fn operation(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(code): Path<String>,
) -> Page {
    let etat = controle::etat_operation(&app, &s.acteur, &code)
        .await
        .map_err(erreur)?;
    let titre = format!("Pièces attendues — opération {}", etat.operation.code);
    let corps = html! {
        p { a href="/controle" { "← Contrôle" } }
        h1 { (titre) }
        p.intro { (etat.operation.intitule) ". État au " (etat.au.format("%d/%m/%Y")) ", " (etat.participants.len()) " participant(s)." }
        (compte(&etat.compte))
        section.carte aria-labelledby="titre-op" {
            h2 #titre-op { "Pièces de l'opération" }
            (pieces_de_l_operation(&etat))
        }
        section aria-labelledby="titre-participants" {
            h2 #titre-participants { "Participants" }
            @if etat.participants.is_empty() { p { "Aucun participant dans cette opération." } }
            @else {
                div.tableau-defilant {
                    table.liste-operation {
                        caption.visuellement-cache { "Pièces attendues par participant" }
                        thead { tr { th scope="col" { "Participant" } th scope="col" { "Présentes" } th scope="col" { "Manquantes ou en retard" } th scope="col" { "À venir" } } }
                        tbody {
                            @for p in &etat.participants {
                                tr {
                                    th scope="row" {
                                        a href=(format!("/participants/{}/justificatifs", p.reference)) { (p.prenom) " " (p.nom.to_uppercase()) }
                                        br; span.aide { (p.identifiant) }
                                    }
                                    td { (p.compte.presentes) }
                                    td {
                                        @if p.manques.is_empty() { span.etiquette.vert { "aucune" } }
                                        ul.attendues {
                                            @for g in regrouper(&p.manques.iter().collect::<Vec<_>>()) { li { (ligne_courte(&g)) } }
                                        }
                                    }
                                    td { (p.compte.a_venir) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&s, &titre, "controle", &[], corps).into_response())
}

/// The pieces expected of the opération itself, each with its state and the pieces filed for it.
pub(super) fn pieces_de_l_operation(etat: &controle::EtatOperation) -> Markup {
    html! {
        @if etat.lignes_operation.is_empty() { p { "Aucune pièce attendue pour l'opération elle-même." } }
        @else {
            ul.attendues {
                @for g in regrouper(&etat.lignes_operation.iter().collect::<Vec<_>>()) {
                    li data-exigence=(g.first().map_or("", |l| l.exigence.as_str())) data-etat=(g.first().map_or("", |l| l.etat.code())) {
                        (ligne_courte(&g))
                        @for &i in g.iter().flat_map(|l| &l.pieces) { @if let Some(p) = etat.pieces_operation.get(i) { " — " (lien_piece(p)) } }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct FormulairePack {
    operation: String,
    du: String,
    au: String,
    participant: Option<String>,
    donnees_sensibles: Option<String>,
}

async fn lancer(
    State(app): State<App>,
    Connecte(s): Connecte,
    Formulaire(f): Formulaire<FormulairePack>,
) -> Page {
    let jour = |champ: &str, v: String| {
        controle::jour_de(champ, &Some(v))
            .and_then(|d| d.ok_or_else(|| Erreur::invalide(champ, "date obligatoire")))
            .map_err(erreur)
    };
    let demande = DemandeExport {
        operation: f.operation,
        du: jour("du", f.du)?,
        au: jour("au", f.au)?,
        participant: f.participant,
        donnees_sensibles: f.donnees_sensibles.is_some(),
    };
    let e = controle::lancer_export(&app, &s.acteur, demande)
        .await
        .map_err(erreur)?;
    Ok(Redirect::to(&format!("/controle/exports/{}", e.reference)).into_response())
}

async fn export(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(reference): Path<String>,
) -> Page {
    let e = controle::export_de(&app, &s.acteur, &reference)
        .await
        .map_err(erreur)?;
    let vue = controle::vue_export(&e);
    let fini = e.etat == EtatExport::Fini;
    let operation = vue["parametres"]["operation"].as_str().unwrap_or_default();
    let titre = format!("Pack d'audit — opération {operation}");
    let corps = html! {
        p { a href="/controle" { "← Contrôle" } }
        h1 { (titre) }
        p.intro { "Référence " strong { (e.reference) } " — " (parametres(&vue)) "." }
        section.carte #suivi-pack data-suivi=(format!("/api/exports/{}", e.reference)) data-etat=(e.etat.code()) aria-labelledby="titre-suivi" {
            h2 #titre-suivi { "Préparation" }
            p #etat-pack role="status" aria-live="polite" {
                (etiquette_export(e.etat))
                " " span #fichiers-pack { @if e.total > 0 { (e.progression) " / " (e.total) " fichiers" } }
            }
            progress #progression-pack max="100" value=(vue["pourcent"].as_i64().unwrap_or(0)) { (vue["pourcent"]) " %" }
            @if let Some(err) = &e.erreur { (alerte("erreur", &format!("Le pack n'a pas pu être fait : {err}"))) }
            // Shown once the pack is ready: the page reloads itself then.
            @if fini {
                div.actions {
                    a.bouton.principal #telecharger-pack href=(format!("/api/exports/{}/zip", e.reference)) download { "Télécharger le pack (ZIP)" }
                }
                dl.fiche {
                    dt { "Taille" } dd { (e.taille.map(|t| parafe_service::justificatif::examen::taille_lisible(t as u64)).unwrap_or_default()) }
                    dt { "SHA-256 du ZIP" } dd { code #sha-pack { (e.sha256.clone().unwrap_or_default()) } }
                    dt { "SHA-256 du manifeste" } dd { code { (e.manifeste_sha256.clone().unwrap_or_default()) } }
                }
            }
            p.aide { "Le contrôleur vérifie le pack sans parafe : la marche à suivre est dans LISEZMOI.txt, à la racine du ZIP (sha256sum, openssl, pdfsig, pyHanko)." }
            noscript { p { a href=(format!("/controle/exports/{}", e.reference)) { "Actualiser la page" } } }
        }
    };
    Ok(page(&s, &titre, "controle", &["controle.js"], corps).into_response())
}
