//! The coordinator's screens for the PLIE's opérations: the list with a creation form, and each
//! opération's record as an edit form, with its retention (how it is computed; extended, never
//! shortened), its legal hold, the pieces expected of the opération itself and a form that files
//! one. The assistant reads them without any form; référents do not see them (403).

use super::controle::pieces_de_l_operation;
use super::gabarit::{alerte, csrf, date, page};
use super::{erreur, exiger_csrf, page_de, refuser_autre_site, Connecte, Formulaire, Page};
use crate::erreur::ApiError;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use parafe_service::auth::session::Session;
use parafe_service::controle::{self, DepotRefuse};
use parafe_service::db::referentiel::Operation;
use parafe_service::justificatif::examen::taille_lisible;
use parafe_service::justificatif::{Catalogue, Format};
use parafe_service::operations::{self, FicheOperation, Programme, VueOperation};
use parafe_service::{App, Erreur};
use serde::Deserialize;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/operations", get(liste).post(creer))
        .route("/operations/{numero}", get(fiche).post(modifier))
        .route(
            "/operations/{numero}/pieces",
            // The piece streams to disk, its size checked against the catalogue's limit.
            post(deposer).layer(DefaultBodyLimit::disable()),
        )
        .route("/operations/{numero}/gel", post(geler))
}

fn lien(numero: &str) -> String {
    format!("/operations/{}", crate::lien::encoder(numero))
}

/// The form's fields as typed: shown again as they were when the service refuses them.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Saisie {
    numero: String,
    intitule: String,
    programme: String,
    debut: String,
    fin: String,
    cofinanceurs: String,
    dernier_paiement: String,
}

impl Saisie {
    fn de(o: &Operation) -> Saisie {
        let jour = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        Saisie {
            numero: o.code.clone(),
            intitule: o.intitule.clone(),
            programme: o.programme.code().to_owned(),
            debut: jour(o.debut),
            fin: jour(o.fin),
            cofinanceurs: o.cofinanceurs.clone(),
            dernier_paiement: jour(o.dernier_paiement),
        }
    }

    fn fiche(&self) -> Result<FicheOperation, Erreur> {
        let jour = |champ: &str, v: &str| controle::jour_de(champ, &Some(v.to_owned()));
        Ok(FicheOperation {
            intitule: self.intitule.clone(),
            programme: Programme::parse(&self.programme).ok_or_else(|| {
                Erreur::invalide("programme", "choisissez le programme de l'opération")
            })?,
            debut: jour("debut", &self.debut)?,
            fin: jour("fin", &self.fin)?,
            cofinanceurs: self.cofinanceurs.clone(),
            dernier_paiement: jour("dernier_paiement", &self.dernier_paiement)?,
        })
    }
}

/// A refusal to show beside the form (a field to fix, a conflict); any other error is a page.
fn refus_du_formulaire(e: Erreur) -> Result<ApiError, axum::response::Response> {
    match e {
        e @ (Erreur::Invalide { .. } | Erreur::Conflit(_)) => Ok(ApiError::from(e)),
        autre => Err(erreur(autre)),
    }
}

/// The record's form: creation (`numero` typed) or change (`numero` fixed).
fn formulaire(
    s: &Session,
    action: &str,
    saisie: &Saisie,
    creation: bool,
    refus: Option<&ApiError>,
) -> Markup {
    let message = |champ: &str| {
        refus
            .filter(|r| r.champ.as_deref() == Some(champ))
            .map(|r| r.message.clone())
    };
    let champ = |nom: &str, libelle: &str, genre: &str, valeur: &str, aide: Option<&str>| {
        let probleme = message(nom);
        let id_erreur = format!("{nom}-erreur");
        html! {
            div {
                label for=(nom) { (libelle) @if let Some(a) = aide { " " span.facultatif { (a) } } }
                input id=(nom) name=(nom) type=(genre) value=(valeur)
                    aria-invalid=[probleme.is_some().then_some("true")] aria-describedby=(id_erreur);
                p.message-champ id=(id_erreur) { @if let Some(m) = &probleme { (m) } }
            }
        }
    };
    let probleme_programme = message("programme");
    html! {
        form.fiche-operation method="post" action=(action) novalidate {
            (csrf(s))
            @if let Some(r) = refus {
                p.alerte.erreur role="alert" { "Rien n'a été enregistré : " (r.message) }
            }
            div.grille {
                @if creation {
                    (champ("numero", "Numéro Ma Démarche FSE", "text", &saisie.numero, None))
                } @else {
                    div {
                        label for="numero" { "Numéro Ma Démarche FSE" }
                        input #numero type="text" value=(saisie.numero) readonly aria-describedby="numero-aide";
                        p.aide #numero-aide { "Le numéro ne change pas." }
                    }
                }
                (champ("intitule", "Intitulé", "text", &saisie.intitule, None))
                div {
                    label for="programme" { "Programme" }
                    select #programme name="programme" aria-invalid=[probleme_programme.is_some().then_some("true")] aria-describedby="programme-erreur" {
                        @for p in Programme::TOUS {
                            option value=(p.code()) selected[saisie.programme == p.code()] { (p.libelle()) }
                        }
                    }
                    p.message-champ #programme-erreur { @if let Some(m) = &probleme_programme { (m) } }
                }
                (champ("debut", "Début de la période", "date", &saisie.debut, None))
                (champ("fin", "Fin de la période", "date", &saisie.fin, None))
                (champ("cofinanceurs", "Cofinanceurs", "text", &saisie.cofinanceurs, Some("(Département, État…)")))
                (champ("dernier_paiement", "Dernier paiement", "date", &saisie.dernier_paiement, Some("(quand il est fait)")))
                div.actions {
                    button.principal type="submit" { @if creation { "Créer l'opération" } @else { "Enregistrer" } }
                }
            }
        }
    }
}

fn periode(o: &Operation) -> String {
    match (o.debut, o.fin) {
        (Some(d), Some(f)) => format!("du {} au {}", date(d), date(f)),
        (Some(d), None) => format!("depuis le {}", date(d)),
        (None, Some(f)) => format!("jusqu'au {}", date(f)),
        (None, None) => "—".into(),
    }
}

fn conservation(v: &VueOperation) -> String {
    match &v.conservation_jusqu_au {
        Some(j) => format!("pièces conservées jusqu'au {j}"),
        None => "aucune règle de conservation".into(),
    }
}

async fn ecran_liste(
    app: &App,
    s: &Session,
    saisie: Option<Saisie>,
    refus: Option<ApiError>,
) -> Page {
    let liste = operations::lister(app, &s.acteur).await.map_err(erreur)?;
    let modifiable = operations::modification_permise(&s.acteur).is_ok();
    let statut = refus.as_ref().map_or(StatusCode::OK, |r| r.status);
    let saisie = saisie.unwrap_or_else(|| Saisie {
        programme: Programme::FsePlus20212027.code().into(),
        ..Saisie::default()
    });
    let corps = html! {
        h1 { "Opérations du PLIE" }
        p.intro { "Les opérations telles que le FSE les connaît : leur programme donne la mention FSE des documents et la durée de conservation de leurs pièces." }
        @if liste.is_empty() {
            p { "Aucune opération pour l'instant." }
        } @else {
            div.tableau-defilant {
                table.liste-operations {
                    caption.visuellement-cache { "Opérations du PLIE" }
                    thead { tr {
                        th scope="col" { "Numéro MDFSE" } th scope="col" { "Intitulé" } th scope="col" { "Programme" }
                        th scope="col" { "Période" } th scope="col" { "Cofinanceurs" } th scope="col" { "Dernier paiement" }
                        th scope="col" { "Conservation" }
                    } }
                    tbody {
                        @for v in &liste {
                            @let o = &v.operation;
                            tr data-operation=(o.code) {
                                th scope="row" { a href=(lien(&o.code)) { (o.code) } }
                                td { (o.intitule) @if !o.decrite { br; span.etiquette.rouge { "à décrire" } } }
                                td { (o.programme.libelle()) }
                                td { (periode(o)) }
                                td { @if o.cofinanceurs.is_empty() { "—" } @else { (o.cofinanceurs) } }
                                td { (o.dernier_paiement.map_or("—".into(), date)) }
                                td.conservation { (conservation(v)) @if v.gel_juridique { br; span.etiquette.rouge { "gel juridique" } } }
                            }
                        }
                    }
                }
            }
        }
        @if modifiable {
            section.carte aria-labelledby="titre-nouvelle" {
                h2 #titre-nouvelle { "Nouvelle opération" }
                p.aide { "FSE+ : indiquez la fin de la période tant que le dernier paiement n'est pas connu, la conservation de ses pièces en part." }
                (formulaire(s, "/operations", &saisie, true, refus.as_ref()))
            }
        }
    };
    Ok((statut, page(s, "Opérations", "operations", &[], corps)).into_response())
}

async fn liste(State(app): State<App>, Connecte(s): Connecte) -> Page {
    ecran_liste(&app, &s, None, None).await
}

async fn creer(
    State(app): State<App>,
    Connecte(s): Connecte,
    Formulaire(saisie): Formulaire<Saisie>,
) -> Page {
    let fait = match saisie.fiche() {
        Ok(fiche) => operations::enregistrer(&app, &s.acteur, &saisie.numero, fiche, true).await,
        Err(e) => Err(e),
    };
    match fait {
        Ok(v) => {
            Ok(Redirect::to(&format!("{}?enregistree=1", lien(&v.operation.code))).into_response())
        }
        Err(e) => {
            let refus = refus_du_formulaire(e)?;
            ecran_liste(&app, &s, Some(saisie), Some(refus)).await
        }
    }
}

/// How the opération's retention is computed, from the programme's rule in force.
fn regle_en_mots(app: &App, o: &Operation) -> String {
    let regles = app.vault.programme_rules();
    match o.programme {
        Programme::Pon20142020 => format!(
            "PON 2014-2020 : les pièces sont conservées jusqu'à la clôture du programme, fixée au {}.",
            date(regles.closure_2014_2020)
        ),
        Programme::FsePlus20212027 => {
            let mut phrase = format!(
                "FSE+ 2021-2027 : les pièces sont conservées {} ans à compter du 31 décembre de l'année du dernier paiement",
                regles.years_fse_plus
            );
            if o.dernier_paiement.is_none() {
                phrase.push_str(" ; tant qu'il n'est pas saisi, à compter du 31 décembre de l'année de fin de la période (les paiements viennent après elle : saisir le dernier paiement prolonge la conservation)");
            }
            phrase.push('.');
            phrase
        }
        Programme::Aucun => {
            "Hors FSE : la règle de conservation par défaut du coffre s'applique.".into()
        }
    }
}

#[derive(Deserialize, Default)]
struct Retour {
    enregistree: Option<String>,
    /// The justificatif just filed (its id).
    depose: Option<i64>,
    gel: Option<String>,
}

/// What the record's page shows besides the opération: the form as typed, a note, a refusal.
#[derive(Default)]
struct Etat {
    saisie: Option<Saisie>,
    note: Option<Markup>,
    refus: Option<ApiError>,
    /// The type chosen before a piece was refused.
    genre: Option<String>,
}

async fn ecran_fiche(app: &App, s: &Session, numero: &str, etat: Etat) -> Page {
    let v = operations::lire(app, &s.acteur, numero)
        .await
        .map_err(erreur)?;
    let pieces = controle::etat_operation(app, &s.acteur, numero)
        .await
        .map_err(erreur)?;
    let catalogue = controle::catalogue(app, &s.acteur.plie).map_err(erreur)?;
    let modifiable = operations::modification_permise(&s.acteur).is_ok();
    let o = &v.operation;
    let statut = etat.refus.as_ref().map_or(StatusCode::OK, |r| r.status);
    let saisie = etat.saisie.unwrap_or_else(|| Saisie::de(o));
    let titre = format!("Opération {}", o.code);
    let corps = html! {
        p { a href="/operations" { "← Opérations" } }
        h1 { (titre) }
        p.intro { (o.intitule) " — " (o.programme.libelle()) }
        @if !o.decrite {
            (alerte("erreur", "Opération créée par l'import, à décrire : donnez son intitulé et son programme ci-dessous. D'ici là, aucun document de ses participants ne part (il imprimerait le bloc FSE d'un autre programme)."))
        }
        @if let Some(n) = etat.note { (n) }
        p.liens-operation {
            a href=(format!("{}/chiffres", lien(&o.code))) { "Chiffres de l'opération" }
            " · "
            a href=(format!("/controle/operations/{}", crate::lien::encoder(&o.code))) { "Pièces attendues, participant par participant" }
        }
        section.carte aria-labelledby="titre-conservation" {
            h2 #titre-conservation { "Conservation des pièces" }
            p.conservation-date { strong { (conservation(&v)) } }
            p.regle { (regle_en_mots(app, o)) }
            p.aide { "La conservation peut être prolongée, jamais raccourcie : une saisie qui l'avancerait est refusée et rien n'est changé." }
            (gel(s, &v, modifiable))
        }
        section.carte aria-labelledby="titre-fiche" {
            h2 #titre-fiche { "Fiche de l'opération" }
            @if modifiable {
                (formulaire(s, &lien(&o.code), &saisie, false, etat.refus.as_ref()))
            } @else {
                dl.fiche {
                    dt { "Numéro Ma Démarche FSE" } dd { (o.code) }
                    dt { "Intitulé" } dd { (o.intitule) }
                    dt { "Programme" } dd { (o.programme.libelle()) }
                    dt { "Période" } dd { (periode(o)) }
                    dt { "Cofinanceurs" } dd { @if o.cofinanceurs.is_empty() { "—" } @else { (o.cofinanceurs) } }
                    dt { "Dernier paiement" } dd { (o.dernier_paiement.map_or("—".into(), date)) }
                }
            }
        }
        section.carte #pieces aria-labelledby="titre-pieces" {
            h2 #titre-pieces { "Pièces de l'opération" }
            p.aide { "État au " (date(pieces.au)) "." }
            (pieces_de_l_operation(&pieces))
            @if modifiable { (formulaire_depot(s, o, &catalogue, etat.genre.as_deref())) }
        }
    };
    Ok((statut, page(s, &titre, "operations", &[], corps)).into_response())
}

/// The legal hold: its state, and the button that places or lifts it.
fn gel(s: &Session, v: &VueOperation, modifiable: bool) -> Markup {
    html! {
        h3 { "Gel juridique" }
        @if v.gel_juridique {
            p #etat-gel { span.etiquette.rouge { "gel juridique en place" } " Aucune pièce de l'opération ne peut être supprimée, même après sa conservation, tant que le gel dure ; les pièces déposées pendant le gel le reçoivent aussi." }
        } @else {
            p #etat-gel { span.etiquette.gris { "pas de gel juridique" } " À placer pendant un contrôle ou un litige : il bloque la suppression de toutes les pièces de l'opération, déjà déposées ou à venir." }
        }
        @if modifiable {
            form method="post" action=(format!("{}/gel", lien(&v.operation.code))) {
                (csrf(s))
                input type="hidden" name="gel" value=(if v.gel_juridique { "non" } else { "oui" });
                @if v.gel_juridique {
                    button.secondaire type="submit" data-confirmer="Lever le gel juridique ? Les pièces redeviennent supprimables à la fin de leur conservation." { "Lever le gel juridique" }
                } @else {
                    button.danger type="submit" { "Placer le gel juridique" }
                }
            }
        }
    }
}

/// The form that files a piece of the opération itself, among the catalogue's types for it.
fn formulaire_depot(
    s: &Session,
    o: &Operation,
    catalogue: &Catalogue,
    choisi: Option<&str>,
) -> Markup {
    let limite = taille_lisible(catalogue.depot.taille_max);
    html! {
        h3 { "Déposer une pièce de l'opération" }
        p.aide { "Photo de l'affiche FSE, preuves de publicité, conventions… " (limite) " au plus. La pièce est rangée au coffre sous son empreinte, conservée selon la règle ci-dessus, et son dépôt inscrit au journal des preuves." }
        form.depot method="post" enctype="multipart/form-data" action=(format!("{}/pieces", lien(&o.code))) {
            (csrf(s))
            div.grille {
                div {
                    label for="genre" { "Type de pièce" }
                    select #genre name="genre" required {
                        option value="" { "— choisir —" }
                        @for (id, g) in catalogue.genres_de_l_operation() {
                            option value=(id) selected[choisi == Some(id)] {
                                (g.libelle) " (" (g.formats.iter().map(Format::to_string).collect::<Vec<_>>().join(", ")) ")"
                            }
                        }
                    }
                }
                div {
                    label for="date_piece" { "Date que porte la pièce " span.facultatif { "(facultatif)" } }
                    input #date_piece type="date" name="date_piece";
                }
            }
            label for="fichier" { "Fichier" }
            input #fichier type="file" name="fichier" required accept=".pdf,.jpg,.jpeg,.png,.eml,application/pdf,image/jpeg,image/png,message/rfc822";
            div.actions { button.principal type="submit" { "Déposer la pièce" } }
        }
    }
}

async fn fiche(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(numero): Path<String>,
    Query(r): Query<Retour>,
) -> Page {
    let note = if r.enregistree.is_some() {
        Some(alerte("succes", "Opération enregistrée."))
    } else if let Some(id) = r.depose {
        Some(alerte(
            "succes",
            &format!("Pièce n° {id} déposée au coffre, son dépôt inscrit au journal."),
        ))
    } else {
        r.gel.as_deref().map(|g| {
            alerte(
                "succes",
                if g == "oui" {
                    "Gel juridique placé sur les pièces de l'opération."
                } else {
                    "Gel juridique levé."
                },
            )
        })
    };
    ecran_fiche(
        &app,
        &s,
        &numero,
        Etat {
            note,
            ..Etat::default()
        },
    )
    .await
}

async fn modifier(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(numero): Path<String>,
    Formulaire(saisie): Formulaire<Saisie>,
) -> Page {
    let fait = match saisie.fiche() {
        Ok(fiche) => operations::enregistrer(&app, &s.acteur, &numero, fiche, false).await,
        Err(e) => Err(e),
    };
    match fait {
        Ok(_) => Ok(Redirect::to(&format!("{}?enregistree=1", lien(&numero))).into_response()),
        Err(e) => {
            let refus = refus_du_formulaire(e)?;
            let saisie = Saisie {
                numero: numero.clone(),
                ..saisie
            };
            ecran_fiche(
                &app,
                &s,
                &numero,
                Etat {
                    saisie: Some(saisie),
                    refus: Some(refus),
                    ..Etat::default()
                },
            )
            .await
        }
    }
}

async fn deposer(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(numero): Path<String>,
    entetes: HeaderMap,
    multipart: Multipart,
) -> Page {
    refuser_autre_site(&app, &entetes)?;
    operations::modification_permise(&s.acteur).map_err(erreur)?;
    let catalogue = controle::catalogue(&app, &s.acteur.plie).map_err(erreur)?;
    let (mut champs, piece) =
        match controle::recevoir(&app, catalogue.depot.taille_max, multipart).await {
            Ok(r) => r,
            Err(refus) => return piece_refusee(&app, &s, &numero, None, refus).await,
        };
    // The session's token came as a form field: checked before anything is filed.
    exiger_csrf(&app, &entetes, champs.csrf.as_deref()).await?;
    champs.operation = Some(numero.clone());
    champs.participant = None;
    let genre = champs.genre.clone();
    match controle::deposer(&app, &s.acteur, &catalogue, champs, piece).await {
        Ok(d) => {
            Ok(Redirect::to(&format!("{}?depose={}#pieces", lien(&numero), d.id)).into_response())
        }
        Err(refus) => piece_refusee(&app, &s, &numero, genre, refus).await,
    }
}

/// The page again, with why the piece was refused, under the status that says it.
async fn piece_refusee(
    app: &App,
    s: &Session,
    numero: &str,
    genre: Option<String>,
    refus: DepotRefuse,
) -> Page {
    let (statut, texte) = match refus {
        DepotRefuse::Piece(r) => (crate::erreur::statut_refus(&r), r.to_string()),
        DepotRefuse::Demande(e) => {
            let refus = ApiError::from(e);
            if matches!(
                refus.status,
                StatusCode::NOT_FOUND | StatusCode::INTERNAL_SERVER_ERROR
            ) {
                return Err(page_de(refus));
            }
            (refus.status, refus.message)
        }
    };
    let note = html! {
        p.alerte.erreur role="alert" { "Pièce refusée, rien n'a été déposé : " (texte) }
    };
    let reponse = ecran_fiche(
        app,
        s,
        numero,
        Etat {
            note: Some(note),
            genre,
            ..Etat::default()
        },
    )
    .await?;
    Ok((statut, reponse).into_response())
}

#[derive(Deserialize)]
struct Gel {
    gel: String,
}

async fn geler(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(numero): Path<String>,
    Formulaire(f): Formulaire<Gel>,
) -> Page {
    let gel = f.gel == "oui";
    operations::geler(&app, &s.acteur, &numero, gel)
        .await
        .map_err(erreur)?;
    Ok(Redirect::to(&format!(
        "{}?gel={}",
        lien(&numero),
        if gel { "oui" } else { "non" }
    ))
    .into_response())
}
