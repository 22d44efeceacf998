//! Login, logout, forgotten password, account links (activation, reset), and the
//! administrators' screens: accounts, API tokens, the development mailbox.

use super::gabarit::{self, alerte, csrf, page, page_simple};
use super::{erreur, message, securise, Connecte, Page};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use parafe_service::auth::comptes::{self, NouveauCompte, NouveauMotDePasse, RefusConnexion};
use parafe_service::auth::session;
use parafe_service::roles::RolePersonnel;
use parafe_service::{App, Erreur};
use serde::Deserialize;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/", get(racine))
        .route("/connexion", get(connexion).post(se_connecter))
        .route("/deconnexion", post(deconnexion))
        .route("/mot-de-passe-oublie", get(oubli).post(demander))
        .route("/compte/{jeton}", get(lien).post(definir))
        .route("/admin/comptes", get(liste_comptes).post(creer_compte))
        .route("/admin/comptes/{id}/actif", post(changer_actif))
        .route("/admin/jetons", get(liste_jetons).post(creer_jeton))
        .route("/admin/jetons/revoquer", post(revoquer_jeton))
        .route("/admin/courriels", get(courriels))
        .route("/admin/courriels/{nom}", get(courriel))
}

async fn racine(State(app): State<App>, entetes: HeaderMap) -> Redirect {
    match session::de_la_requete(&app.db, &entetes, app.horloge.maintenant()).await {
        // The référent's home page is his « à faire », the coordinateur's the portfolios'.
        Ok(Some(s)) if s.acteur.role != RolePersonnel::Assistant => Redirect::to("/a-faire"),
        Ok(Some(_)) => Redirect::to("/accueil"),
        _ => Redirect::to("/connexion"),
    }
}

#[derive(Deserialize, Default)]
struct Suite {
    suite: Option<String>,
    message: Option<String>,
}

/// Screens a login may lead back to: the first segment of their path.
const SUITES: [&str; 9] = [
    "a-faire",
    "accueil",
    "participants",
    "documents",
    "controle",
    "kiosque",
    "operations",
    "reglages",
    "admin",
];

/// Only a path of one of parafe's screens, written with the characters of a URL path and query
/// (no control character, space or backslash a browser would strip or turn: `/\t/site`
/// becomes `//site`); anything else leads to the home screen.
fn suite_sure(suite: Option<&str>) -> String {
    let sure = |s: &&str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-._~?=&%+".contains(&b))
            && s.strip_prefix('/').is_some_and(|chemin| {
                let racine = chemin.split(['/', '?']).next().unwrap_or_default();
                SUITES.contains(&racine)
            })
    };
    suite.filter(sure).unwrap_or("/accueil").to_owned()
}

fn formulaire_connexion(email: &str, suite: &str, note: Option<Markup>) -> Markup {
    page_simple(
        "Connexion",
        html! {
            div.carte.etroite {
                h1 { "Connexion" }
                @if let Some(n) = note { (n) }
                form method="post" action="/connexion" {
                    input type="hidden" name="suite" value=(suite);
                    label for="email" { "Adresse e-mail" }
                    input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
                    label for="mot_de_passe" { "Mot de passe" }
                    input #mot_de_passe type="password" name="mot_de_passe" autocomplete="current-password" required;
                    button.principal type="submit" { "Se connecter" }
                }
                p { a href="/mot-de-passe-oublie" { "Mot de passe oublié ?" } }
            }
        },
    )
}

async fn connexion(Query(q): Query<Suite>) -> Markup {
    let note = match q.message.as_deref() {
        Some("mot-de-passe") => Some(alerte(
            "succes",
            "Mot de passe enregistré : connectez-vous.",
        )),
        Some("deconnecte") => Some(alerte("info", "Vous êtes déconnecté.")),
        _ => None,
    };
    formulaire_connexion("", &suite_sure(q.suite.as_deref()), note)
}

#[derive(Deserialize)]
struct Identifiants {
    email: String,
    mot_de_passe: String,
    suite: Option<String>,
}

async fn se_connecter(
    State(app): State<App>,
    crate::acteur::Temoin(ctx): crate::acteur::Temoin,
    super::FormulairePublic(f): super::FormulairePublic<Identifiants>,
) -> Response {
    let suite = suite_sure(f.suite.as_deref());
    match comptes::connexion(&app, &f.email, &f.mot_de_passe, &ctx.ip, &ctx.agent).await {
        Ok(secret) => (
            [(header::SET_COOKIE, session::cookie(&secret, securise(&app)))],
            Redirect::to(&suite),
        )
            .into_response(),
        Err(RefusConnexion::Erreur(e)) => erreur(e),
        Err(refus) => (
            StatusCode::UNAUTHORIZED,
            formulaire_connexion(&f.email, &suite, Some(alerte("erreur", &refus.to_string()))),
        )
            .into_response(),
    }
}

async fn deconnexion(
    State(app): State<App>,
    Connecte(s): Connecte,
    _: super::Formulaire<super::Vide>,
) -> Response {
    if let Err(e) = session::fermer(&app.db, &s.empreinte).await {
        return erreur(e.into());
    }
    (
        [(header::SET_COOKIE, session::cookie_efface(securise(&app)))],
        Redirect::to("/connexion?message=deconnecte"),
    )
        .into_response()
}

async fn oubli() -> Markup {
    page_simple(
        "Mot de passe oublié",
        html! {
            div.carte.etroite {
                h1 { "Mot de passe oublié" }
                p { "Indiquez l'adresse e-mail de votre compte : vous recevrez un lien, valable une heure, pour choisir un nouveau mot de passe." }
                form method="post" action="/mot-de-passe-oublie" {
                    label for="email" { "Adresse e-mail" }
                    input #email type="email" name="email" autocomplete="username" required autofocus;
                    button.principal type="submit" { "Recevoir le lien" }
                }
                p { a href="/connexion" { "Retour à la connexion" } }
            }
        },
    )
}

#[derive(Deserialize)]
struct Email {
    email: String,
}

async fn demander(
    State(app): State<App>,
    super::FormulairePublic(f): super::FormulairePublic<Email>,
) -> Response {
    if let Err(e) = comptes::demander_reinitialisation(&app, &f.email).await {
        return erreur(e);
    }
    page_simple(
        "Mot de passe oublié",
        html! {
            div.carte.etroite {
                h1 { "Vérifiez votre messagerie" }
                (alerte("succes", "Si cette adresse est celle d'un compte actif, un lien vient de lui être envoyé. Il est valable une heure."))
                p { a href="/connexion" { "Retour à la connexion" } }
            }
        },
    )
    .into_response()
}

fn formulaire_mot_de_passe(
    lien: &comptes::LienCompte,
    jeton: &str,
    identite: Option<(&str, &str, &str)>,
    probleme: Option<&Erreur>,
) -> Markup {
    let activation = lien.genre == "activation";
    let titre = if activation {
        "Activer votre compte"
    } else {
        "Choisir un nouveau mot de passe"
    };
    let champ_fautif = match probleme {
        Some(Erreur::Invalide { champ, .. }) => champ.as_str(),
        _ => "",
    };
    let p = &lien.personnel;
    let (prenom, nom, email) = identite.unwrap_or((&p.prenom, &p.nom, &p.email));
    let email = if email.ends_with(".invalid") {
        ""
    } else {
        email
    };
    page_simple(
        titre,
        html! {
            div.carte.etroite {
                h1 { (titre) }
                @if activation {
                    p { "Compte " strong { (gabarit::libelle_role(p.role)) } ". Vérifiez votre identité et choisissez un mot de passe d'au moins "
                        (parafe_service::auth::mots_de_passe::LONGUEUR_MIN) " caractères (une courte phrase est facile à retenir)." }
                } @else {
                    p { "Compte " strong { (p.email) } ". Le nouveau mot de passe doit compter au moins "
                        (parafe_service::auth::mots_de_passe::LONGUEUR_MIN) " caractères ; vos autres sessions seront fermées." }
                }
                @if let Some(e) = probleme { (alerte("erreur", &message(e))) }
                form method="post" action=(format!("/compte/{jeton}")) {
                    @if activation {
                        label for="prenom" { "Prénom" }
                        input #prenom name="prenom" value=(prenom) required autocomplete="given-name" aria-invalid=[(champ_fautif == "prenom").then_some("true")];
                        label for="nom" { "Nom" }
                        input #nom name="nom" value=(nom) required autocomplete="family-name" aria-invalid=[(champ_fautif == "nom").then_some("true")];
                        label for="email" { "Adresse e-mail (votre identifiant)" }
                        input #email type="email" name="email" value=(email) required autocomplete="email" aria-invalid=[(champ_fautif == "email").then_some("true")];
                    }
                    label for="mot_de_passe" { "Nouveau mot de passe" }
                    input #mot_de_passe type="password" name="mot_de_passe" required minlength=(parafe_service::auth::mots_de_passe::LONGUEUR_MIN) autocomplete="new-password" aria-invalid=[(champ_fautif == "mot_de_passe").then_some("true")];
                    label for="confirmation" { "Le même, une seconde fois" }
                    input #confirmation type="password" name="confirmation" required autocomplete="new-password" aria-invalid=[(champ_fautif == "confirmation").then_some("true")];
                    button.principal type="submit" { "Enregistrer le mot de passe" }
                }
            }
        },
    )
}

fn lien_perime() -> Response {
    super::page_erreur(
        StatusCode::NOT_FOUND,
        "Ce lien n'est plus valable (déjà utilisé ou expiré). Demandez-en un nouveau depuis « Mot de passe oublié », ou à un administrateur.",
    )
}

async fn lien(State(app): State<App>, Path(jeton): Path<String>) -> Response {
    match comptes::lien(&app, &jeton).await {
        Ok(Some(l)) => formulaire_mot_de_passe(&l, &jeton, None, None).into_response(),
        Ok(None) => lien_perime(),
        Err(e) => erreur(e),
    }
}

#[derive(Deserialize)]
struct MotDePasse {
    mot_de_passe: String,
    confirmation: String,
    prenom: Option<String>,
    nom: Option<String>,
    email: Option<String>,
}

async fn definir(
    State(app): State<App>,
    Path(jeton): Path<String>,
    super::FormulairePublic(f): super::FormulairePublic<MotDePasse>,
) -> Response {
    let lien = match comptes::lien(&app, &jeton).await {
        Ok(Some(l)) => l,
        Ok(None) => return lien_perime(),
        Err(e) => return erreur(e),
    };
    let identite = (lien.genre == "activation").then(|| {
        (
            f.prenom.clone().unwrap_or_default(),
            f.nom.clone().unwrap_or_default(),
            f.email.clone().unwrap_or_default(),
        )
    });
    let saisie = NouveauMotDePasse {
        mot_de_passe: f.mot_de_passe,
        confirmation: f.confirmation,
        identite: identite.clone(),
    };
    match comptes::definir_mot_de_passe(&app, &jeton, &saisie).await {
        Ok(_) => Redirect::to("/connexion?message=mot-de-passe").into_response(),
        Err(e @ Erreur::Invalide { .. }) => {
            let id = identite
                .as_ref()
                .map(|(p, n, m)| (p.as_str(), n.as_str(), m.as_str()));
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                formulaire_mot_de_passe(&lien, &jeton, id, Some(&e)),
            )
                .into_response()
        }
        Err(e) => erreur(e),
    }
}

// ——— Administration ———

fn admin(s: &session::Session) -> Result<(), Response> {
    if s.acteur.role == RolePersonnel::Admin {
        Ok(())
    } else {
        Err(erreur(Erreur::Interdit(
            "cet écran est réservé aux administrateurs".into(),
        )))
    }
}

const ROLES: [(&str, &str); 4] = [
    ("referent", "Référent de parcours"),
    ("assistant", "Assistant(e) administratif(ve)"),
    ("coordinateur", "Coordinateur"),
    ("admin", "Administrateur"),
];

async fn ecran_comptes(
    app: &App,
    s: &session::Session,
    note: Option<Markup>,
    statut: StatusCode,
) -> Page {
    admin(s)?;
    let liste = comptes::comptes(app, &s.acteur).await.map_err(erreur)?;
    let deploiement = parafe_service::plies::deploiement_permis(app, &s.acteur).is_ok();
    let corps = html! {
        h1 { "Comptes du personnel" }
        @if deploiement {
            p { "Vous administrez aussi le déploiement : " a href="/admin/plies" { "les PLIE du déploiement et leurs cachets" } "." }
        }
        @if let Some(n) = note { (n) }
        div.tableau-defilant {
            table {
                caption.visuellement-cache { "Comptes du PLIE" }
                thead { tr { th scope="col" { "Nom" } th scope="col" { "Adresse" } th scope="col" { "Rôle" } th scope="col" { "État" } th scope="col" { span.visuellement-cache { "Action" } } } }
                tbody {
                    @for c in &liste {
                        tr {
                            td { (c.prenom) " " (c.nom.to_uppercase()) }
                            td { (c.email) }
                            td { (gabarit::libelle_role(c.role)) }
                            td {
                                @if !c.actif { span.etiquette.gris { "désactivé" } }
                                @else if !c.active { span.etiquette.bleu { "en attente d'activation" } }
                                @else if c.verrouille_jusqua.is_some_and(|v| v > app.horloge.maintenant()) { span.etiquette.rouge { "verrouillé" } }
                                @else { span.etiquette.vert { "actif" } }
                            }
                            td {
                                @if c.id != s.acteur.personnel_id {
                                    form method="post" action=(format!("/admin/comptes/{}/actif", c.id)) {
                                        (csrf(s))
                                        input type="hidden" name="actif" value=(if c.actif { "0" } else { "1" });
                                        button.secondaire type="submit" { @if c.actif { "Désactiver" } @else { "Réactiver" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.carte {
            h2 { "Ouvrir un compte" }
            p { "La personne reçoit par courriel un lien (valable 7 jours) pour choisir son mot de passe." }
            form.grille method="post" action="/admin/comptes" {
                (csrf(s))
                div { label for="prenom" { "Prénom" } input #prenom name="prenom" required; }
                div { label for="nom" { "Nom" } input #nom name="nom" required; }
                div { label for="email" { "Adresse e-mail" } input #email type="email" name="email" required; }
                div { label for="role" { "Rôle" }
                    select #role name="role" { @for (code, nom) in ROLES { option value=(code) { (nom) } } }
                }
                div { label for="structure" { "Structure (facultatif)" } input #structure name="structure"; }
                div.actions { button.principal type="submit" { "Ouvrir le compte" } }
            }
        }
    };
    Ok((statut, page(s, "Comptes", "comptes", &[], corps)).into_response())
}

async fn liste_comptes(State(app): State<App>, Connecte(s): Connecte) -> Page {
    ecran_comptes(&app, &s, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct CompteForm {
    prenom: String,
    nom: String,
    email: String,
    role: String,
    #[serde(default)]
    structure: String,
}

async fn creer_compte(
    State(app): State<App>,
    Connecte(s): Connecte,
    super::Formulaire(f): super::Formulaire<CompteForm>,
) -> Page {
    admin(&s)?;
    let c = NouveauCompte {
        email: f.email.clone(),
        prenom: f.prenom,
        nom: f.nom,
        role: f.role,
        structure: f.structure,
    };
    match comptes::creer_compte(&app, &s.acteur, &c).await {
        Ok(_) => {
            let note = alerte(
                "succes",
                &format!(
                    "Compte ouvert : un lien d'activation part vers {}.",
                    f.email
                ),
            );
            ecran_comptes(&app, &s, Some(note), StatusCode::OK).await
        }
        Err(e @ Erreur::Invalide { .. }) => {
            let note = alerte("erreur", &message(&e));
            ecran_comptes(&app, &s, Some(note), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(erreur(e)),
    }
}

#[derive(Deserialize)]
struct Actif {
    actif: String,
}

async fn changer_actif(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(id): Path<i64>,
    super::Formulaire(f): super::Formulaire<Actif>,
) -> Page {
    comptes::changer_actif(&app, &s.acteur, id, f.actif == "1")
        .await
        .map_err(erreur)?;
    Ok(Redirect::to("/admin/comptes").into_response())
}

async fn ecran_jetons(
    app: &App,
    s: &session::Session,
    nouveau: Option<(String, String)>,
    note: Option<Markup>,
) -> Page {
    admin(s)?;
    let jetons = comptes::jetons(app, &s.acteur).await.map_err(erreur)?;
    let personnes = comptes::comptes(app, &s.acteur).await.map_err(erreur)?;
    let corps = html! {
        h1 { "Jetons d'API" }
        p { "Un jeton donne à un outil (logiciel de parcours, script d'import) les droits du compte choisi, ni plus ni moins : celui d'un assistant ne peut que lire." }
        @if let Some(n) = note { (n) }
        @if let Some((libelle, jeton)) = &nouveau {
            div.alerte.succes role="status" {
                p { "Jeton « " (libelle) " » créé. Copiez-le maintenant : il ne sera plus jamais affiché." }
                p { code #nouveau-jeton { (jeton) } }
            }
        }
        div.tableau-defilant {
            table {
                caption.visuellement-cache { "Jetons existants" }
                thead { tr { th scope="col" { "Libellé" } th scope="col" { "Compte" } th scope="col" { "Rôle" } th scope="col" { "Créé le" } th scope="col" { "Expire le" } th scope="col" { span.visuellement-cache { "Action" } } } }
                tbody {
                    @if jetons.is_empty() { tr { td colspan="6" { "Aucun jeton." } } }
                    @for j in &jetons {
                        tr {
                            td { (j.libelle) } td { (j.titulaire) }
                            td { (gabarit::libelle_role(j.role)) }
                            td { (gabarit::paris(j.cree_le)) }
                            td { (j.expire_le.map(gabarit::paris).unwrap_or_else(|| "jamais".into())) }
                            td {
                                form method="post" action="/admin/jetons/revoquer" {
                                    (csrf(s))
                                    input type="hidden" name="sha256" value=(j.sha256);
                                    button.danger type="submit" data-confirmer="Révoquer ce jeton ? L'outil qui l'utilise n'aura plus accès." { "Révoquer" }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.carte {
            h2 { "Créer un jeton" }
            form.grille method="post" action="/admin/jetons" {
                (csrf(s))
                div { label for="libelle" { "Libellé (l'outil qui l'utilisera)" } input #libelle name="libelle" required; }
                div { label for="titulaire" { "Compte dont il prend les droits" }
                    select #titulaire name="titulaire" {
                        @for p in personnes.iter().filter(|p| p.actif) {
                            option value=(p.id) { (p.prenom) " " (p.nom.to_uppercase()) " — " (gabarit::libelle_role(p.role)) }
                        }
                    }
                }
                div { label for="jours" { "Durée de validité en jours (vide : sans fin)" } input #jours name="jours" type="number" min="1" max="3650" inputmode="numeric"; }
                div.actions { button.principal type="submit" { "Créer le jeton" } }
            }
        }
    };
    Ok(page(s, "Jetons d'API", "jetons", &[], corps).into_response())
}

async fn liste_jetons(State(app): State<App>, Connecte(s): Connecte) -> Page {
    ecran_jetons(&app, &s, None, None).await
}

#[derive(Deserialize)]
struct JetonForm {
    libelle: String,
    titulaire: i64,
    jours: Option<String>,
}

async fn creer_jeton(
    State(app): State<App>,
    Connecte(s): Connecte,
    super::Formulaire(f): super::Formulaire<JetonForm>,
) -> Page {
    let jours = f.jours.as_deref().and_then(|j| j.trim().parse().ok());
    match comptes::creer_jeton(&app, &s.acteur, f.titulaire, &f.libelle, jours).await {
        Ok(jeton) => ecran_jetons(&app, &s, Some((f.libelle.trim().to_owned(), jeton)), None).await,
        Err(e @ Erreur::Invalide { .. }) => {
            ecran_jetons(&app, &s, None, Some(alerte("erreur", &message(&e)))).await
        }
        Err(e) => Err(erreur(e)),
    }
}

#[derive(Deserialize)]
struct Revocation {
    sha256: String,
}

async fn revoquer_jeton(
    State(app): State<App>,
    Connecte(s): Connecte,
    super::Formulaire(f): super::Formulaire<Revocation>,
) -> Page {
    comptes::revoquer_jeton(&app, &s.acteur, &f.sha256)
        .await
        .map_err(erreur)?;
    Ok(Redirect::to("/admin/jetons").into_response())
}

// ——— Development mailbox ———

/// The development mailbox of the administrator's own PLIE: another PLIE's mail (its account
/// links) is never shown.
fn boite(app: &App, s: &session::Session) -> Result<std::path::PathBuf, Response> {
    admin(s)?;
    app.courrier.boite(&s.acteur.plie).ok_or_else(|| {
        super::page_erreur(
            StatusCode::NOT_FOUND,
            "Les courriels partent par un vrai serveur SMTP ([courriel] smtp) : il n'y a pas de boîte de développement.",
        )
    })
}

/// Recipient, subject and text of a message of the development mailbox (the benchmark reads
/// its account links there).
pub fn lire_courriel(octets: &[u8]) -> (String, String, String) {
    let m = lire_message(octets);
    (m.a, m.objet, m.texte)
}

/// A decoded message: headers of interest and the text part.
struct Message {
    de: String,
    a: String,
    objet: String,
    date: String,
    texte: String,
}

fn lire_message(octets: &[u8]) -> Message {
    let brut = String::from_utf8_lossy(octets);
    let (entete, corps) = brut
        .split_once("\r\n\r\n")
        .or_else(|| brut.split_once("\n\n"))
        .unwrap_or((&brut, ""));
    // Unfold continuation lines.
    let entete = entete
        .replace("\r\n ", " ")
        .replace("\r\n\t", " ")
        .replace("\n ", " ");
    let champ = |nom: &str| {
        entete
            .lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(nom))
                    .map(|(_, v)| decoder_mot(v.trim()))
            })
            .unwrap_or_default()
    };
    let texte = texte_du_corps(&entete, corps);
    Message {
        de: champ("From"),
        a: champ("To"),
        objet: champ("Subject"),
        date: champ("Date"),
        texte,
    }
}

/// RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`), as lettre writes subjects.
fn decoder_mot(v: &str) -> String {
    use base64::Engine;
    let mut out = String::new();
    // Whitespace between two encoded words is dropped (RFC 2047 § 6.2), kept elsewhere.
    let mut precedent_encode = false;
    for morceau in v.split_whitespace() {
        let decode = morceau
            .strip_prefix("=?")
            .and_then(|m| m.strip_suffix("?="))
            .and_then(|m| {
                let mut p = m.splitn(3, '?');
                let (_, enc, texte) = (p.next()?, p.next()?, p.next()?);
                let octets = match enc {
                    "b" | "B" => base64::engine::general_purpose::STANDARD
                        .decode(texte)
                        .ok()?,
                    "q" | "Q" => quoted_printable(&texte.replace('_', " ")),
                    _ => return None,
                };
                Some(String::from_utf8_lossy(&octets).into_owned())
            });
        let encode = decode.is_some();
        if !(out.is_empty() || (encode && precedent_encode)) {
            out.push(' ');
        }
        out.push_str(&decode.unwrap_or_else(|| morceau.to_owned()));
        precedent_encode = encode;
    }
    out
}

fn quoted_printable(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if b.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if let Some(h) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(h);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// The text of a message: a single text part, or the first text/plain part of a multipart one.
fn texte_du_corps(entete: &str, corps: &str) -> String {
    use base64::Engine;
    let valeur = |entete: &str, nom: &str| {
        entete
            .lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.trim().eq_ignore_ascii_case(nom))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let genre = valeur(entete, "Content-Type");
    if let Some(frontiere) = genre
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_owned())
    {
        for partie in corps.split(&format!("--{frontiere}")) {
            let partie = partie.trim_start_matches(['\r', '\n']);
            let (e, c) = partie
                .split_once("\r\n\r\n")
                .or_else(|| partie.split_once("\n\n"))
                .unwrap_or(("", ""));
            if valeur(e, "Content-Type").starts_with("text/plain") {
                return texte_du_corps(e, c);
            }
        }
        return String::new();
    }
    let codage = valeur(entete, "Content-Transfer-Encoding").to_ascii_lowercase();
    let octets = match codage.as_str() {
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(corps.split_whitespace().collect::<String>())
            .unwrap_or_default(),
        "quoted-printable" => quoted_printable(corps),
        _ => corps.as_bytes().to_vec(),
    };
    String::from_utf8_lossy(&octets).into_owned()
}

fn avertissement_boite(dossier: &std::path::Path) -> Markup {
    html! {
        div.alerte.erreur role="note" {
            p { strong { "Développement uniquement." } " Aucun serveur SMTP n'est configuré : rien ne part, chaque message de votre PLIE est rangé dans "
                code { (dossier.display()) } ", liens de signature et de compte compris. En service réel, configurez "
                code { "[courriel] smtp" } " dans parafe.toml." }
        }
    }
}

async fn courriels(State(app): State<App>, Connecte(s): Connecte) -> Page {
    let dossier = boite(&app, &s)?;
    let mut noms: Vec<String> = match std::fs::read_dir(&dossier) {
        Ok(d) => d
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".eml"))
            .collect(),
        Err(_) => Vec::new(),
    };
    noms.sort();
    noms.reverse();
    noms.truncate(200);
    let messages: Vec<(String, Message)> = noms
        .into_iter()
        .filter_map(|n| {
            let octets = std::fs::read(dossier.join(&n)).ok()?;
            Some((n, lire_message(&octets)))
        })
        .collect();
    let corps = html! {
        h1 { "Courriels envoyés (boîte de développement)" }
        (avertissement_boite(&dossier))
        p { "Les 200 derniers messages de votre PLIE :" }
        div.tableau-defilant {
            table {
                thead { tr { th scope="col" { "Date" } th scope="col" { "Destinataire" } th scope="col" { "Objet" } } }
                tbody {
                    @if messages.is_empty() { tr { td colspan="3" { "Aucun message." } } }
                    @for (nom, m) in &messages {
                        tr { td { (m.date) } td { (m.a) } td { a href=(format!("/admin/courriels/{nom}")) { (m.objet) } } }
                    }
                }
            }
        }
    };
    Ok(page(&s, "Courriels", "courriels", &[], corps).into_response())
}

async fn courriel(State(app): State<App>, Connecte(s): Connecte, Path(nom): Path<String>) -> Page {
    let dossier = boite(&app, &s)?;
    if !nom.ends_with(".eml") || nom.contains('/') || nom.contains("..") {
        return Err(super::page_erreur(StatusCode::NOT_FOUND, "message inconnu"));
    }
    let octets = std::fs::read(dossier.join(&nom))
        .map_err(|_| super::page_erreur(StatusCode::NOT_FOUND, "message inconnu"))?;
    let m = lire_message(&octets);
    let corps = html! {
        p { a href="/admin/courriels" { "← Tous les courriels" } }
        (avertissement_boite(&dossier))
        h1 { (m.objet) }
        dl.fiche {
            dt { "De" } dd { (m.de) }
            dt { "À" } dd { (m.a) }
            dt { "Date" } dd { (m.date) }
        }
        pre.courriel { (m.texte) }
    };
    Ok(page(&s, "Courriel", "courriels", &[], corps).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn les_objets_encodes_se_lisent_avec_leurs_espaces() {
        assert_eq!(
            decoder_mot("Votre compte parafe =?utf-8?b?4oCU?= Mon PLIE"),
            "Votre compte parafe — Mon PLIE"
        );
        assert_eq!(decoder_mot("=?utf-8?b?QQ==?= =?utf-8?q?B_=C3=A9?="), "AB é");
    }

    #[test]
    fn un_message_de_la_boite_donne_destinataire_objet_et_texte() {
        let eml = b"From: parafe <parafe@localhost>\r\nTo: t.garnier@plie.fr\r\nSubject: =?utf-8?b?UsOpaW5pdGlhbGlzYXRpb24=?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nBonjour Thomas,=0D=0Alien : http://x/compte/abc\r\n";
        let (a, objet, texte) = lire_courriel(eml);
        assert_eq!(a, "t.garnier@plie.fr");
        assert_eq!(objet, "Réinitialisation");
        assert!(texte.contains("/compte/abc"));
    }

    #[test]
    fn la_suite_apres_connexion_reste_sur_parafe() {
        assert_eq!(suite_sure(Some("/documents/d-1")), "/documents/d-1");
        assert_eq!(
            suite_sure(Some("/controle?operation=202500417&du=2025-01-01")),
            "/controle?operation=202500417&du=2025-01-01"
        );
        for attaque in [
            "//attaquant.exemple",
            "https://attaquant.exemple",
            "/\t/attaquant.exemple",
            "/\n/attaquant.exemple",
            "/\\attaquant.exemple",
            "/ /attaquant.exemple",
            "/attaquant.exemple",
            "/%09/attaquant.exemple",
        ] {
            assert_eq!(suite_sure(Some(attaque)), "/accueil", "{attaque:?}");
        }
        assert_eq!(suite_sure(None), "/accueil");
    }
}
