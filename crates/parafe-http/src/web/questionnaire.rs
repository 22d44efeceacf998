//! The FSE questionnaire's screens: the state of each moment on the participant's file, and a
//! moment's form generated from the programme's definition (its sections, labels, choices as
//! radio buttons, « ne se prononce pas » only where the definition allows it, conditional
//! questions shown as their condition holds), and the recorded answers made into a sealed PDF. The service checks and records ([`parafe_service::questionnaire`]);
//! a refusal shows each question's fault beside it, with everything typed kept.

use super::gabarit::{self, alerte, csrf, page};
use super::{erreur, Connecte, Page};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use parafe_service::auth::session::Session;
use parafe_service::questionnaire::{
    self as q, Dossier, Echeance, EtatSixMois, EtatSortie, Genre, Moment, Question, Reponse, Saisie,
};
use parafe_service::{App, Erreur};
use std::collections::BTreeMap;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/participants/{reference}/questionnaire/{moment}",
            get(ecran).post(enregistrer),
        )
        .route(
            "/participants/{reference}/questionnaire/{moment}/pdf",
            post(faire_pdf),
        )
}

/// What a radio button sends for « ne se prononce pas »: not a code a definition gives (codes
/// are its choices'), so never taken for an answer.
const NSP: &str = "__nsp";

fn code(m: Moment) -> &'static str {
    match m {
        Moment::Entree => "entree",
        Moment::Sortie => "sortie",
        Moment::SixMois => "six_mois",
    }
}

/// The section of the participant's file: each moment's state and its form's link. Reads no
/// answer (nothing journaled).
pub(super) async fn section(app: &App, s: &Session, reference: &str) -> Result<Markup, Response> {
    let d = match q::dossier(app, &s.acteur, reference).await {
        Ok(d) => d,
        Err(e @ Erreur::Conflit(_)) => {
            return Ok(html! {
                section.carte aria-labelledby="questionnaire" {
                    h2 #questionnaire { "Questionnaire FSE" }
                    p { (e.to_string()) }
                }
            })
        }
        Err(e) => return Err(erreur(e)),
    };
    let etats = q::etat(app, &s.acteur, &d).await.map_err(erreur)?;
    Ok(html! {
        section.carte aria-labelledby="questionnaire" {
            h2 #questionnaire { "Questionnaire FSE" }
            p.aide { (d.definition.libelle) " — opération " (d.operation.code) }
            ul.questionnaire {
                @for e in &etats {
                    @if e.moment == Moment::Entree || d.parcours.sortie.is_some() {
                        li data-moment=(code(e.moment)) {
                            a href=(format!("/participants/{}/questionnaire/{}", d.participant.reference, code(e.moment))) {
                                "Données " (if e.moment == Moment::Entree { "à l'" } else { "de " }) (e.moment.libelle())
                            }
                            " — " (etat(e.recueilli_le, e.echeance.as_ref()))
                        }
                    }
                }
            }
        }
    })
}

/// A moment's state in words, with its label's colour.
fn etat(recueilli_le: Option<chrono::NaiveDate>, echeance: Option<&Echeance>) -> Markup {
    let (texte, couleur) = match (recueilli_le, echeance) {
        (Some(le), _) => (format!("recueillies le {}", gabarit::date(le)), "vert"),
        (None, None) => ("à recueillir".to_owned(), "bleu"),
        (None, Some(Echeance::Sortie(e))) => match e.etat {
            EtatSortie::EnRetard => (
                format!("en retard (limite du {})", gabarit::date(e.limite)),
                "rouge",
            ),
            _ => (
                format!("à recueillir au plus tard le {}", gabarit::date(e.limite)),
                "bleu",
            ),
        },
        (None, Some(Echeance::SixMois(e))) => match e.etat {
            EtatSixMois::AVenir => (format!("à venir (due le {})", gabarit::date(e.due)), "gris"),
            EtatSixMois::Du => (
                format!("due : à recueillir d'ici le {}", gabarit::date(e.limite)),
                "bleu",
            ),
            _ => (
                format!("en retard (limite du {})", gabarit::date(e.limite)),
                "rouge",
            ),
        },
    };
    html! { span class=(format!("etiquette {couleur}")) { (texte) } }
}

/// The answers as the form shows them: a value, or [`NSP`].
fn valeurs(reponses: &Saisie) -> BTreeMap<String, String> {
    reponses
        .iter()
        .map(|(id, r)| {
            let v = match r {
                Reponse::Valeur(v) => v.clone(),
                Reponse::NeSePrononcePas => NSP.to_owned(),
            };
            (id.clone(), v)
        })
        .collect()
}

async fn ecran(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path((reference, moment)): Path<(String, String)>,
) -> Page {
    let moment = q::moment(&moment).map_err(erreur)?;
    let (d, lecture) = q::lire(&app, &s.acteur, &reference, moment)
        .await
        .map_err(erreur)?;
    let vues = valeurs(&lecture.reponses);
    // Proposed, not recorded: the référent confirms each answer with the participant.
    let proposees: Vec<&str> = lecture
        .preremplies
        .iter()
        .filter_map(|id| d.definition.question(id))
        .map(|x| x.libelle.as_str())
        .collect();
    let note = (!proposees.is_empty()).then(|| {
        format!(
            "Réponses proposées par l'extraction du logiciel de parcours, à confirmer avec le participant avant d'enregistrer : {}",
            proposees.join(" ; ")
        )
    });
    Ok(formulaire(
        &s,
        &d,
        moment,
        &vues,
        &lecture.masquees,
        &BTreeMap::new(),
        Avis {
            probleme: None,
            note: note.as_deref(),
            enregistre: lecture.enregistre,
        },
    )
    .into_response())
}

/// The recorded answers as a sealed PDF (a document of the participant), then its page.
async fn faire_pdf(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path((reference, moment)): Path<(String, String)>,
    _: super::Formulaire<super::Vide>,
) -> Page {
    let moment = q::moment(&moment).map_err(erreur)?;
    let document = q::pdf(&app, &s.acteur, &reference, moment)
        .await
        .map_err(erreur)?;
    Ok(Redirect::to(&format!("/documents/{}", document.reference)).into_response())
}

async fn enregistrer(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path((reference, moment)): Path<(String, String)>,
    super::Formulaire(saisie): super::Formulaire<Vec<(String, String)>>,
) -> Page {
    let moment = q::moment(&moment).map_err(erreur)?;
    let tapees: BTreeMap<String, String> =
        saisie.into_iter().filter(|(k, _)| k != "csrf").collect();
    // An input left empty is no answer.
    let reponses: Saisie = tapees
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(id, v)| {
            let r = if v == NSP {
                Reponse::NeSePrononcePas
            } else {
                Reponse::Valeur(v.clone())
            };
            (id.clone(), r)
        })
        .collect();
    match q::enregistrer(&app, &s.acteur, &reference, moment, reponses.clone()).await {
        Ok(fait) => Ok(
            Redirect::to(&format!("/participants/{}#questionnaire", fait.participant))
                .into_response(),
        ),
        Err(Erreur::Invalide { champ, message }) => {
            let d = q::dossier(&app, &s.acteur, &reference)
                .await
                .map_err(erreur)?;
            // Each question's faults beside it, by the same checks the recording made.
            let mut erreurs: BTreeMap<String, String> = BTreeMap::new();
            for f in q::defauts(&d, moment, &reponses, app.horloge.aujourdhui()) {
                let prefixe = format!("{} « {} » : ", f.question, f.libelle);
                let detail = f.message.strip_prefix(&prefixe).unwrap_or(&f.message);
                erreurs
                    .entry(f.question.clone())
                    .and_modify(|m| {
                        m.push_str(" ; ");
                        m.push_str(detail);
                    })
                    .or_insert_with(|| detail.to_owned());
            }
            if erreurs.is_empty() {
                erreurs.insert(champ, message);
            }
            let probleme = format!(
                "Questionnaire non enregistré : {} question(s) à corriger.",
                erreurs.len()
            );
            let avis = Avis {
                probleme: Some(&probleme),
                note: None,
                enregistre: false,
            };
            let ecran = formulaire(&s, &d, moment, &tapees, &[], &erreurs, avis);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, ecran).into_response())
        }
        Err(e) => Err(erreur(e)),
    }
}

/// What the form says besides its questions: why it was refused, what the extraction proposed,
/// and whether its answers are recorded (they can then be made into a PDF).
struct Avis<'a> {
    probleme: Option<&'a str>,
    note: Option<&'a str>,
    enregistre: bool,
}

/// The moment's form.
fn formulaire(
    s: &Session,
    d: &Dossier,
    moment: Moment,
    valeurs: &BTreeMap<String, String>,
    masquees: &[String],
    erreurs: &BTreeMap<String, String>,
    avis: Avis<'_>,
) -> Markup {
    let p = &d.participant;
    let titre = format!("Questionnaire FSE — {}", moment.libelle());
    let rubriques = d.definition.rubriques(moment);
    let corps = html! {
        p { a href=(format!("/participants/{}", p.reference)) { "← Dossier de " (p.fiche.prenom) " " (p.fiche.nom.to_uppercase()) } }
        h1 { (titre) }
        p.intro { (d.definition.libelle) " (version " (d.definition.version) "), opération " (d.operation.code) "." }
        @if let Some(m) = avis.probleme { (alerte("erreur", m)) }
        @if let Some(m) = avis.note { (alerte("info", m)) }
        form.document method="post" action=(format!("/participants/{}/questionnaire/{}", p.reference, code(moment))) novalidate data-valider="1" {
            (csrf(s))
            p.aide { "Chaque question posée a sa réponse ; « Ne se prononce pas » n'est proposé que là où les règles le permettent. Rien n'est enregistré tant que tout n'est pas juste." }
            // The definition's sections, as its PDF groups them.
            @for r in &rubriques {
                section.carte {
                    h2 { (r.titre) }
                    @for x in &r.questions {
                        (question(
                            x,
                            valeurs.get(&x.id).map(String::as_str).unwrap_or_default(),
                            erreurs.get(&x.id).map(String::as_str),
                            masquees.contains(&x.id),
                        ))
                    }
                }
            }
            @if s.acteur.peut_modifier() {
                div.actions {
                    button.principal type="submit" { "Enregistrer le questionnaire" }
                    a.bouton.secondaire href=(format!("/participants/{}", p.reference)) { "Abandonner" }
                }
            }
        }
        @if avis.enregistre && s.acteur.peut_modifier() {
            form.barre method="post" action=(format!("/participants/{}/questionnaire/{}/pdf", p.reference, code(moment))) {
                (csrf(s))
                p.aide { "Le PDF reprend les réponses enregistrées (pas celles modifiées ci-dessus sans les enregistrer) ; scellé, il est rangé au dossier et remis au participant." }
                button.secondaire #pdf-questionnaire type="submit" { "Faire le PDF des réponses" }
            }
        }
    };
    page(s, &titre, "accueil", &["formulaire.js"], corps)
}

/// One question: radio buttons for a choice, an input of its kind otherwise; a conditional one
/// carries its condition for the form's script.
fn question(x: &Question, valeur: &str, erreur: Option<&str>, masquee: bool) -> Markup {
    let id = format!("q-{}", x.id);
    let id_erreur = format!("{id}-erreur");
    let si = x.si.as_ref();
    let invalide = erreur.map(|_| "true");
    let facultatif = html! { @if !x.obligatoire { span.facultatif { " (facultatif)" } } };
    let message = html! {
        p.message-champ id=(id_erreur) aria-live="polite" { @if let Some(e) = erreur { (e) } }
    };
    html! {
        div.champ data-chemin=(x.id) data-si=[si.map(|c| c.question.as_str())] data-parmi=[si.map(|c| c.parmi.join(" "))] {
            @if masquee {
                p { strong { (x.libelle) } }
                p.aide { "Réponse réservée au référent du participant, au coordinateur et à l'administrateur." }
            } @else if matches!(x.genre, Genre::Choix | Genre::OuiNon) {
                fieldset.question aria-describedby=(id_erreur) {
                    legend { (x.libelle) (facultatif) }
                    @for c in &x.choix {
                        label.radio {
                            input type="radio" name=(x.id) value=(c.code) checked[valeur == c.code] aria-invalid=[invalide];
                            (c.libelle)
                        }
                    }
                    @if x.nsp {
                        label.radio {
                            input type="radio" name=(x.id) value=(NSP) checked[valeur == NSP] aria-invalid=[invalide];
                            "Ne se prononce pas"
                        }
                    }
                }
            } @else {
                @let (genre, verification, mode) = match x.genre {
                    Genre::Date => ("date", "date", None),
                    Genre::Nombre => ("number", "entier", Some("numeric")),
                    Genre::Courriel => ("email", "email", Some("email")),
                    Genre::Telephone => ("tel", "texte", Some("tel")),
                    Genre::CodePostal => ("text", "texte", Some("numeric")),
                    _ => ("text", "texte", None),
                };
                label for=(id) { (x.libelle) (facultatif) }
                input id=(id) type=(genre) name=(x.id) value=(valeur) inputmode=[mode]
                    data-type=(verification) data-requis=[x.obligatoire.then_some("1")]
                    data-min=[x.min] data-max=[x.max]
                    aria-invalid=[invalide] aria-describedby=(id_erreur);
            }
            (message)
        }
    }
}
