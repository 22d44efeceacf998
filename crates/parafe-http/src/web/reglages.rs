//! The PLIE's settings (coordinateurs and administrateurs): its card as documents print it, how
//! homonyms are told apart, and the Départements that receive the bilans BRSA. The service
//! checks everything ([`parafe_service::reglages`]); a refusal shows the form again with the
//! French error beside its field and the values typed, nothing written.

use super::formulaire::{self, EtatFormulaire};
use super::gabarit::{alerte, csrf, page};
use super::{erreur, Connecte, Formulaire, Page};
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use parafe_service::auth::session::Session;
use parafe_service::db::referentiel::{Departement, Homonymes};
use parafe_service::reglages::{self, ReglageDepartement, Reglages};
use parafe_service::{App, Erreur};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/reglages", get(ecran).post(enregistrer))
        .route(
            "/reglages/logo",
            get(logo)
                .post(deposer_logo)
                .layer(DefaultBodyLimit::max(LOGO_MAX + (64 << 10))),
        )
        .route("/reglages/logo/retrait", post(retirer_logo))
}

/// The logo file read from the form: the service refuses beyond 2 Mo, with its message.
const LOGO_MAX: usize = 4 << 20;

/// The three ways of telling homonyms apart, in words, with what a list then shows.
const HOMONYMES: [(Homonymes, &str, &str); 3] = [
    (
        Homonymes::AnneeNaissance,
        "L'année de naissance",
        "Jean MARTIN · né(e) en 1985 (l'année seule, jamais la date entière)",
    ),
    (
        Homonymes::Commune,
        "La commune de résidence",
        "Jean MARTIN · Lunel",
    ),
    (
        Homonymes::Identifiant,
        "L'identifiant du logiciel de parcours",
        "Jean MARTIN · P-2025-0412",
    ),
];

#[derive(Deserialize, Default)]
struct Retour {
    /// What was just saved: `fiche`, `homonymes`, or a Département's code (`departement-34`).
    enregistre: Option<String>,
    /// The Département to edit in the form.
    departement: Option<String>,
}

/// What a refused form gives back: which form, its values and its error by field.
struct Refus {
    formulaire: &'static str,
    etat: EtatFormulaire,
    message: String,
}

async fn ecran(State(app): State<App>, Connecte(s): Connecte, Query(r): Query<Retour>) -> Page {
    let actuels = reglages::lire(&app, &s.acteur).await.map_err(erreur)?;
    let note = r.enregistre.as_deref().map(|quoi| {
        let texte = match quoi {
            "fiche" => {
                "Fiche du PLIE enregistrée : les prochains documents la porteront.".to_owned()
            }
            "homonymes" => "Repère des homonymes enregistré.".to_owned(),
            "logo" => "Logo enregistré : les prochains documents le porteront.".to_owned(),
            "logo-retire" => "Logo retiré : les prochains documents n'en portent plus.".to_owned(),
            autre if autre.starts_with("retire-") => {
                format!("Département {} retiré.", &autre["retire-".len()..])
            }
            autre => format!(
                "Département {} enregistré.",
                autre.strip_prefix("departement-").unwrap_or(autre)
            ),
        };
        alerte("succes", &texte)
    });
    let edite = r
        .departement
        .as_deref()
        .and_then(|c| actuels.departements.iter().find(|d| d.code == c));
    let corps = ecran_reglages(&app, &s, &actuels, note, None, edite)?;
    Ok(corps.into_response())
}

fn ecran_reglages(
    app: &App,
    s: &Session,
    actuels: &Reglages,
    note: Option<Markup>,
    refus: Option<&Refus>,
    edite: Option<&Departement>,
) -> Result<Markup, axum::response::Response> {
    let schema = reglages::schema_fiche(app).map_err(erreur)?;
    let refus_de = |f: &str| refus.filter(|r| r.formulaire == f);
    // The card's inputs: what was typed before a refusal, else the card saved.
    let etat_fiche = match refus_de("fiche") {
        Some(r) => html! { (formulaire::champ_seul(schema, "plie", &r.etat)) },
        None => {
            let mut valeurs = Vec::new();
            if let Some(f) = &actuels.fiche {
                super::dossiers::aplatir("", &serde_json::json!({ "plie": f }), &mut valeurs);
            }
            html! { (formulaire::champ_seul(schema, "plie", &EtatFormulaire::depuis(&valeurs))) }
        }
    };
    let homonymes = match refus_de("homonymes") {
        Some(r) => r.etat.valeurs.get("homonymes").cloned().unwrap_or_default(),
        None => actuels.homonymes.code().to_owned(),
    };
    // The Département form: values typed before a refusal, else the one edited, else empty.
    let dep = |champ: &str| -> String {
        match refus_de("departement") {
            Some(r) => r.etat.valeurs.get(champ).cloned().unwrap_or_default(),
            None => edite
                .map(|d| match champ {
                    "code" => d.code.clone(),
                    "nom" => d.nom.clone(),
                    "email_referent_unique" => d.email_referent_unique.clone(),
                    "email_sdi" => d.email_sdi.clone(),
                    _ => mois_lisibles(d.bilans_mois.as_deref()),
                })
                .unwrap_or_default(),
        }
    };
    let erreur_dep = |champ: &str| -> Option<String> {
        refus_de("departement").and_then(|r| r.etat.erreurs.get(champ).cloned())
    };
    let champ_dep = |champ: &str, libelle: &str, genre: &str, aide: Option<&str>| {
        let id = format!("dep-{champ}");
        let e = erreur_dep(champ);
        html! {
            div.champ {
                label for=(id) { (libelle) }
                input id=(id) type=(genre) name=(champ) value=(dep(champ))
                    aria-invalid=[e.as_ref().map(|_| "true")]
                    aria-describedby=(format!("{id}-aide {id}-erreur"));
                @if let Some(a) = aide { p.aide id=(format!("{id}-aide")) { (a) } }
                p.message-champ id=(format!("{id}-erreur")) aria-live="polite" { @if let Some(e) = &e { (e) } }
            }
        }
    };
    let corps = html! {
        h1 { "Réglages du PLIE" }
        @if let Some(n) = note { (n) }
        @if let Some(r) = refus { (alerte("erreur", &format!("Rien n'a été enregistré : {}", r.message))) }
        section.carte aria-labelledby="fiche" {
            h2 #fiche { "Fiche du PLIE" }
            p.aide { "Nom, structure porteuse, adresse et contact, tels que les documents du PLIE les impriment en en-tête." }
            form method="post" action="/reglages#fiche" novalidate {
                (csrf(s))
                input type="hidden" name="formulaire" value="fiche";
                (etat_fiche)
                div.actions { button.principal type="submit" { "Enregistrer la fiche" } }
            }
        }
        section.carte aria-labelledby="logo" {
            h2 #logo { "Logo du PLIE" }
            p.aide { "Imprimé à gauche de l'en-tête de chaque document et sur l'affiche FSE. Une image PNG ou JPEG de 2 Mo au plus ; elle est ramenée à 600 pixels de côté au plus. Les documents déjà faits gardent le logo qu'ils portent." }
            @if let Some(nom) = actuels.fiche.as_ref().and_then(|f| f.get("logo")).and_then(Value::as_str) {
                p { img.logo-plie src=(format!("/reglages/logo?v={}", &nom[..nom.len().min(12)])) alt="Logo actuel du PLIE"; }
                form method="post" action="/reglages/logo/retrait" {
                    (csrf(s))
                    button.secondaire type="submit" { "Retirer le logo" }
                }
            }
            form.depot method="post" enctype="multipart/form-data" action="/reglages/logo" {
                (csrf(s))
                label for="fichier-logo" { "Nouveau logo" }
                input #fichier-logo type="file" name="fichier" required accept="image/png,image/jpeg";
                div.actions { button.principal type="submit" { "Déposer le logo" } }
            }
        }
        section.carte aria-labelledby="homonymes" {
            h2 #homonymes { "Homonymes" }
            p.aide { "Quand deux participants portent le même prénom et le même nom, les listes et la tablette d'émargement les distinguent par :" }
            form method="post" action="/reglages#homonymes" {
                (csrf(s))
                input type="hidden" name="formulaire" value="homonymes";
                fieldset.groupe {
                    legend { "Repère des homonymes" }
                    @for (choix, libelle, exemple) in HOMONYMES {
                        label.radio {
                            input type="radio" name="homonymes" value=(choix.code()) checked[homonymes == choix.code()];
                            span { strong { (libelle) } br; span.aide { "« " (exemple) " »" } }
                        }
                    }
                    p.aide { "Si ce repère manque à l'un d'eux ou ne les sépare pas, le suivant dans cet ordre est pris." }
                }
                div.actions { button.principal type="submit" { "Enregistrer le repère" } }
            }
        }
        section.carte aria-labelledby="departements" {
            h2 #departements { "Départements" }
            p.aide { "Les bilans BRSA signés partent au Référent unique et au SDI du Département du participant, aux mois que le Département fixe (sinon ceux du workflow : 5, 11 et 17 mois)." }
            @if actuels.departements.is_empty() {
                p { "Aucun Département pour l'instant." }
            } @else {
                div.tableau-defilant {
                    table {
                        caption.visuellement-cache { "Départements du PLIE" }
                        thead { tr { th scope="col" { "Code" } th scope="col" { "Nom" } th scope="col" { "Référent unique RSA" } th scope="col" { "SDI" } th scope="col" { "Bilans à" } th scope="col" { span.visuellement-cache { "Action" } } } }
                        tbody {
                            @for d in &actuels.departements {
                                tr {
                                    td { (d.code) }
                                    th scope="row" { (d.nom) }
                                    td { (d.email_referent_unique) }
                                    td { (d.email_sdi) }
                                    td { @match d.bilans_mois.as_deref() { Some(m) => { (mois_lisibles(Some(m))) " mois" } None => { span.aide { "ceux du workflow" } } } }
                                    td.ligne {
                                        a href=(format!("/reglages?departement={}#departement", d.code)) { "Modifier" span.visuellement-cache { " " (d.nom) } }
                                        form method="post" action="/reglages#departements" {
                                            (csrf(s))
                                            input type="hidden" name="formulaire" value="retirer-departement";
                                            input type="hidden" name="code" value=(d.code);
                                            button.lien type="submit" { "Retirer" span.visuellement-cache { " " (d.nom) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h3 #departement { @if edite.is_some() { "Modifier un Département" } @else { "Ajouter ou modifier un Département" } }
            form method="post" action="/reglages#departement" novalidate {
                (csrf(s))
                input type="hidden" name="formulaire" value="departement";
                div.grille.haut {
                    (champ_dep("code", "Code", "text", Some("34, 2A, 974… ; un code enregistré est mis à jour.")))
                    (champ_dep("nom", "Nom", "text", None))
                    (champ_dep("email_referent_unique", "E-mail du Référent unique RSA", "email", None))
                    (champ_dep("email_sdi", "E-mail du SDI", "email", None))
                    (champ_dep("bilans_mois", "Mois des bilans BRSA", "text", Some("Facultatif : 6, 12, 18 ; vide, ceux du workflow.")))
                }
                div.actions {
                    button.principal type="submit" { "Enregistrer le Département" }
                    @if edite.is_some() { a.bouton.secondaire href="/reglages#departements" { "Annuler" } }
                }
            }
        }
    };
    Ok(page(s, "Réglages du PLIE", "reglages", &[], corps))
}

/// The PLIE's current logo (its staff only).
async fn logo(State(app): State<App>, Connecte(s): Connecte) -> Page {
    let nom = reglages::logo_actuel(&app, s.acteur.plie.as_str())
        .await
        .map_err(erreur)?;
    let octets = match nom {
        Some(nom) => parafe_service::db::referentiel::logo(&app.db, s.acteur.plie.as_str(), &nom)
            .await
            .map_err(|e| erreur(e.into()))?,
        None => None,
    };
    match octets {
        Some(o) => Ok((
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "private, max-age=3600"),
            ],
            o,
        )
            .into_response()),
        None => Err(super::page_erreur(
            StatusCode::NOT_FOUND,
            "Le PLIE n'a pas de logo.",
        )),
    }
}

fn logo_trop_gros() -> String {
    "Logo trop volumineux : 2 Mo au plus ; enregistrez-le plus petit (PNG ou JPEG).".into()
}

async fn deposer_logo(
    State(app): State<App>,
    Connecte(s): Connecte,
    entetes: HeaderMap,
    multipart: Multipart,
) -> Page {
    super::refuser_autre_site(&app, &entetes)?;
    reglages::reglage_permis(&s.acteur).map_err(erreur)?;
    let fichier =
        super::fichier_du_formulaire(&app, &entetes, multipart, LOGO_MAX, logo_trop_gros).await?;
    let fait = match fichier {
        Some((_, octets)) => reglages::deposer_logo(&app, &s.acteur, octets).await,
        None => Err(Erreur::invalide("logo", "choisissez l'image du logo")),
    };
    match fait {
        Ok(_) => Ok(Redirect::to("/reglages?enregistre=logo#logo").into_response()),
        Err(Erreur::Invalide { champ, message }) => {
            refuser(&app, &s, "logo", EtatFormulaire::default(), champ, message).await
        }
        Err(e) => Err(erreur(e)),
    }
}

async fn retirer_logo(
    State(app): State<App>,
    Connecte(s): Connecte,
    _: Formulaire<super::Vide>,
) -> Page {
    reglages::retirer_logo(&app, &s.acteur)
        .await
        .map_err(erreur)?;
    Ok(Redirect::to("/reglages?enregistre=logo-retire#logo").into_response())
}

/// Stored months (`[5,11,17]`) as a person types them: `5, 11, 17`.
fn mois_lisibles(json: Option<&str>) -> String {
    json.and_then(|m| serde_json::from_str::<Vec<u32>>(m).ok())
        .map(|m| m.iter().map(u32::to_string).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

async fn enregistrer(
    State(app): State<App>,
    Connecte(s): Connecte,
    Formulaire(saisie): Formulaire<Vec<(String, String)>>,
) -> Page {
    let valeurs: BTreeMap<String, String> = saisie.iter().cloned().collect();
    let champ = |c: &str| {
        valeurs
            .get(c)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let (formulaire, fait) = match champ("formulaire").as_str() {
        "fiche" => {
            let schema = reglages::schema_fiche(&app).map_err(erreur)?;
            let fiche = formulaire::donnee(schema, "plie", &saisie)
                .unwrap_or(Value::Object(Default::default()));
            let fait = reglages::enregistrer_fiche_plie(&app, &s.acteur, &fiche).await;
            ("fiche", fait.map(|()| "fiche".to_owned()))
        }
        "homonymes" => {
            let fait = reglages::enregistrer_homonymes(&app, &s.acteur, &champ("homonymes")).await;
            ("homonymes", fait.map(|_| "homonymes".to_owned()))
        }
        "departement" => {
            let fait = match lire_mois(&champ("bilans_mois")) {
                Ok(bilans_mois) => {
                    let d = ReglageDepartement {
                        nom: champ("nom"),
                        email_referent_unique: champ("email_referent_unique"),
                        email_sdi: champ("email_sdi"),
                        bilans_mois,
                    };
                    reglages::enregistrer_departement(&app, &s.acteur, champ("code"), d)
                        .await
                        .map(|d| format!("departement-{}", d.code))
                }
                Err(e) => Err(e),
            };
            ("departement", fait)
        }
        "retirer-departement" => {
            let code = champ("code");
            let fait = reglages::retirer_departement(&app, &s.acteur, &code).await;
            ("departement", fait.map(|()| format!("retire-{code}")))
        }
        autre => {
            return Err(super::page_erreur(
                StatusCode::BAD_REQUEST,
                &format!("Formulaire inconnu « {autre} »."),
            ))
        }
    };
    match fait {
        Ok(quoi) => {
            let ancre = if formulaire == "departement" {
                "departements"
            } else {
                formulaire
            };
            Ok(Redirect::to(&format!("/reglages?enregistre={quoi}#{ancre}")).into_response())
        }
        Err(Erreur::Invalide { champ, message }) => {
            let etat = EtatFormulaire::depuis(&saisie);
            refuser(&app, &s, formulaire, etat, champ, message).await
        }
        Err(e) => Err(erreur(e)),
    }
}

/// The settings again (422), the refused form with what was typed and why beside its field.
async fn refuser(
    app: &App,
    s: &Session,
    formulaire: &'static str,
    mut etat: EtatFormulaire,
    champ: String,
    message: String,
) -> Page {
    etat.erreurs.insert(champ, message.clone());
    let refus = Refus {
        formulaire,
        message,
        etat,
    };
    let actuels = reglages::lire(app, &s.acteur).await.map_err(erreur)?;
    let corps = ecran_reglages(app, s, &actuels, None, Some(&refus), None)?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, corps).into_response())
}

/// Months typed as `5, 11, 17` (spaces or semicolons too); empty: the workflow's.
fn lire_mois(texte: &str) -> Result<Option<Vec<u32>>, Erreur> {
    let morceaux: Vec<&str> = texte
        .split([',', ';', ' '])
        .filter(|m| !m.is_empty())
        .collect();
    if morceaux.is_empty() {
        return Ok(None);
    }
    morceaux
        .iter()
        .map(|m| {
            m.parse::<u32>().map_err(|_| {
                Erreur::invalide(
                    "bilans_mois",
                    format!("« {m} » n'est pas un nombre de mois : écrivez par exemple 6, 12, 18"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}
