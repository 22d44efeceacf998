//! The PLIE's figures of an opération: the coordinator's screen per period (presets for the
//! interim and final bilans), its charts drawn here as SVG (no script), every number a link to
//! the participants behind it, and the same tables as a spreadsheet (XLSX).

use super::gabarit::{self, page};
use super::{erreur, Connecte, Page};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use chrono::{Datelike, NaiveDate};
use maud::{html, Markup};
use parafe_service::chiffres::{self, nom_du_mois, Compte, Demande, Preset, Tableau};
use parafe_service::{App, Erreur};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/operations/{numero}/chiffres", get(ecran))
        .route("/operations/{numero}/chiffres.xlsx", get(tableur))
        .route("/operations/{numero}/chiffres/{mesure}", get(liste))
}

/// Where the participants behind count `code` are listed.
fn lien_liste(t: &Tableau, code: &str) -> String {
    format!(
        "/operations/{}/chiffres/{}?{}",
        crate::lien::encoder(&t.operation),
        crate::lien::encoder(code),
        Demande::requete(&t.chiffres.periode)
    )
}

/// A count, linked to its participants where the caller may open them.
fn nombre(t: &Tableau, c: &Compte) -> Markup {
    html! {
        @if t.liste_permise(c) {
            a.nombre href=(lien_liste(t, &c.code)) data-mesure=(c.code) { (c.nombre) }
        } @else {
            span.nombre data-mesure=(c.code) title="Réponse sensible : le nombre seulement" { (c.nombre) }
        }
    }
}

fn pourcentage(x: f64) -> String {
    format!("{x:.1} %").replace('.', ",")
}

async fn ecran(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(numero): Path<String>,
    Query(demande): Query<Demande>,
) -> Page {
    let t = chiffres::tableau(&app, &s.acteur, &numero, &demande)
        .await
        .map_err(erreur)?;
    let c = &t.chiffres;
    let p = c.periode;
    let base = format!(
        "/operations/{}/chiffres",
        crate::lien::encoder(&t.operation)
    );
    let corps = html! {
        h1 { "Chiffres de l'opération " (t.operation) }
        p.intro { (t.intitule) }
        nav.periodes aria-label="Période" {
            ul.boutons {
                @for preset in Preset::TOUS {
                    @let courant = preset == p.preset;
                    li { a.bouton.principal[courant].secondaire[!courant] href=(format!("{base}?periode={}&annee={}", preset.code(), p.annee)) aria-current=[courant.then_some("page")] data-periode=(preset.code()) { (preset.libelle()) } }
                }
            }
            form.annee method="get" action=(base) {
                input type="hidden" name="periode" value=(p.preset.code());
                label for="annee" { "Année" }
                input #annee type="number" name="annee" min="2000" max="2100" value=(p.annee);
                button.secondaire type="submit" { "Afficher" }
            }
        }
        p {
            strong { (p.preset.libelle()) " " (p.annee) } " : du " (gabarit::date(p.du)) " au " (gabarit::date(p.au))
            ", calculés le " (gabarit::date(t.au)) " depuis la base. "
            a.bouton.secondaire href=(format!("{base}.xlsx?{}", Demande::requete(&p))) download { "Télécharger le tableur (XLSX)" }
        }
        section.carte aria-labelledby="titre-synthese" {
            h2 #titre-synthese { "Synthèse" }
            div.chiffres-cles {
                @for k in [&c.entrees, &c.en_parcours, &c.sorties, &c.sorties_positives] {
                    div.chiffre-cle { span.valeur { (nombre(&t, k)) } span.libelle { (k.libelle) } }
                }
                div.chiffre-cle {
                    span.valeur #taux { @match c.taux_sorties_positives { Some(x) => (pourcentage(x)), None => "—" } }
                    span.libelle { "Taux de sorties positives" }
                }
            }
            p.aide { "Une sortie est positive quand son motif contient un des motifs de la règle de suivi dans l'emploi (emploi, CDI, CDD, intérim, création…)." }
        }
        section.carte aria-labelledby="titre-mois" {
            h2 #titre-mois { "Entrées et sorties par mois" }
            (graphique_mois(&t))
            div.tableau-defilant {
                table.par-mois {
                    thead { tr { th scope="col" { "Mois" } th scope="col" { "Entrées" } th scope="col" { "Sorties" } } }
                    tbody {
                        @for (e, s) in c.entrees_par_mois.iter().zip(&c.sorties_par_mois) {
                            tr { th scope="row" { (mois_de(&e.code)) } td { (nombre(&t, e)) } td { (nombre(&t, s)) } }
                        }
                    }
                }
            }
        }
        section.carte aria-labelledby="titre-motifs" {
            h2 #titre-motifs { "Sorties par motif" }
            p.aide { "En vert, les motifs de sortie positive ; en orange, les autres." }
            @if c.sorties_par_motif.is_empty() {
                p { "Aucune sortie dans la période." }
            } @else {
                (graphique_barres(&t, "Sorties par motif", &c.sorties_par_motif.iter().map(|m| (&m.compte, if m.positif { "positive" } else { "autre" })).collect::<Vec<_>>()))
                div.tableau-defilant {
                    table.motifs {
                        thead { tr { th scope="col" { "Motif" } th scope="col" { "Sorties" } th scope="col" { "Positive" } } }
                        tbody {
                            @for m in &c.sorties_par_motif {
                                tr { th scope="row" { (m.compte.libelle) } td { (nombre(&t, &m.compte)) } td { @if m.positif { span.etiquette.vert { "oui" } } @else { "non" } } }
                            }
                        }
                    }
                }
            }
        }
        section.carte aria-labelledby="titre-indicateurs" {
            h2 #titre-indicateurs { "Indicateurs communs" }
            p.aide { "Calculés depuis les questionnaires FSE des personnes en parcours pendant la période. "
                @if !t.lit_les_sensibles { "Les indicateurs marqués « sensible » reposent sur une réponse sensible : leur nombre seulement." } }
            @if c.indicateurs.is_empty() {
                p { "Le questionnaire de ce programme ne déclare aucun indicateur." }
            } @else {
                (graphique_barres(&t, "Indicateurs communs", &c.indicateurs.iter().map(|i| (i, "indicateur")).collect::<Vec<_>>()))
                div.tableau-defilant {
                    table.indicateurs {
                        thead { tr { th scope="col" { "Code" } th scope="col" { "Indicateur" } th scope="col" { "Participants" } } }
                        tbody {
                            @for i in &c.indicateurs {
                                tr data-indicateur=(i.code) { td { code { (i.code) } } th scope="row" { (i.libelle) @if i.sensible { " " span.etiquette.gris { "sensible" } } } td { (nombre(&t, i)) } }
                            }
                        }
                    }
                }
            }
        }
        section.carte aria-labelledby="titre-manques" {
            h2 #titre-manques { "Questionnaires manquants" }
            div.tableau-defilant {
                table.manques {
                    tbody {
                        @for k in [&c.sans_questionnaire_entree, &c.sans_questionnaire_sortie] {
                            tr { th scope="row" { (k.libelle) } td { (nombre(&t, k)) } }
                        }
                    }
                }
            }
        }
        section.carte aria-labelledby="titre-feuilles" {
            h2 #titre-feuilles { "Feuilles de temps manquantes" }
            p.aide { "Par membre du personnel de l'opération (référents de ses participants, salariés ayant une feuille de temps) : les mois finis de la période sans feuille de temps signée." }
            @if t.feuilles_temps.is_empty() {
                p { "Aucune : chaque mois fini a sa feuille signée." }
            } @else {
                div.tableau-defilant {
                    table.feuilles {
                        thead { tr { th scope="col" { "Personnel" } th scope="col" { "Mois sans feuille signée" } } }
                        tbody {
                            @for f in &t.feuilles_temps {
                                tr data-personnel=(f.personnel) { th scope="row" { (f.prenom) " " (f.nom.to_uppercase()) } td { (f.mois.iter().map(|m| nom_du_mois(*m)).collect::<Vec<_>>().join(", ")) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        &s,
        &format!("Chiffres {}", t.operation),
        "chiffres",
        &[],
        corps,
    )
    .into_response())
}

/// The month of a monthly count (`entrees-2025-03`).
fn parse_mois(code: &str) -> Option<NaiveDate> {
    let (a, m) = code.rsplit_once('-')?;
    let annee = a.rsplit_once('-')?.1;
    NaiveDate::parse_from_str(&format!("{annee}-{m}-01"), "%Y-%m-%d").ok()
}

/// « mars 2025 » from a monthly count's code.
fn mois_de(code: &str) -> String {
    parse_mois(code).map_or_else(|| code.to_owned(), nom_du_mois)
}

const MOIS_COURTS: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
    "déc.",
];

/// A scale's top: the smallest of 1, 2, 5 × 10ⁿ at or above `max`, split in four steps.
fn echelle(max: usize) -> (usize, usize) {
    let mut pas = 1;
    loop {
        for m in [1, 2, 5] {
            if m * pas * 4 >= max.max(1) {
                return (m * pas * 4, m * pas);
            }
        }
        pas *= 10;
    }
}

/// Entries and exits of each month, side by side, with a scale.
fn graphique_mois(t: &Tableau) -> Markup {
    let c = &t.chiffres;
    let n = c.entrees_par_mois.len().max(1);
    let max = c
        .entrees_par_mois
        .iter()
        .chain(&c.sorties_par_mois)
        .map(|x| x.nombre)
        .max()
        .unwrap_or(0);
    let (haut, pas) = echelle(max);
    let (gauche, droite, sommet, bas) = (48.0, 12.0, 36.0, 216.0);
    let largeur = 760.0;
    let colonne = (largeur - gauche - droite) / n as f64;
    let barre = (colonne * 0.36).min(26.0);
    let y = |v: usize| bas - (bas - sommet) * v as f64 / haut as f64;
    let plusieurs_annees = c.periode.du.year() != c.periode.au.year();
    html! {
        svg.graphique viewBox=(format!("0 0 {largeur} 250")) role="img" aria-labelledby="g-mois-titre" {
            title #g-mois-titre { "Entrées et sorties par mois, de " (gabarit::date(c.periode.du)) " au " (gabarit::date(c.periode.au)) }
            g.legende {
                rect.entrees x=(gauche) y="8" width="14" height="14" rx="2" {}
                text x=(gauche + 20.0) y="20" { "Entrées" }
                rect.sorties x=(gauche + 110.0) y="8" width="14" height="14" rx="2" {}
                text x=(gauche + 130.0) y="20" { "Sorties" }
            }
            @for k in 0..=4 {
                @let v = k * pas;
                line.grille x1=(gauche) x2=(largeur - droite) y1=(y(v)) y2=(y(v)) {}
                text.graduation x=(gauche - 8.0) y=(y(v) + 4.0) text-anchor="end" { (v) }
            }
            @for (i, (e, s)) in c.entrees_par_mois.iter().zip(&c.sorties_par_mois).enumerate() {
                @let x = gauche + colonne * i as f64 + colonne / 2.0;
                @for (k, classe, dx) in [(e, "entrees", -barre - 1.0), (s, "sorties", 1.0)] {
                    a href=(lien_liste(t, &k.code)) {
                        rect class=(classe) x=(x + dx) y=(y(k.nombre)) width=(barre) height=(bas - y(k.nombre)) { title { (k.libelle) " : " (k.nombre) } }
                        @if k.nombre > 0 { text.valeur x=(x + dx + barre / 2.0) y=(y(k.nombre) - 4.0) text-anchor="middle" { (k.nombre) } }
                    }
                }
                @let mois = mois_de(&e.code);
                @let court = parse_mois(&e.code).map(|d| {
                    let m = MOIS_COURTS[d.month0() as usize];
                    if plusieurs_annees { format!("{m} {}", d.year() % 100) } else { m.to_owned() }
                }).unwrap_or(mois);
                text.axe x=(x) y=(bas + 20.0) text-anchor="middle" { (court) }
            }
            line.axe x1=(gauche) x2=(largeur - droite) y1=(bas) y2=(bas) {}
        }
    }
}

/// Horizontal bars, one count each: its label above its bar, the number at the bar's end.
fn graphique_barres(t: &Tableau, titre: &str, comptes: &[(&Compte, &str)]) -> Markup {
    let max = comptes
        .iter()
        .map(|(c, _)| c.nombre)
        .max()
        .unwrap_or(0)
        .max(1);
    let (gauche, largeur, ligne) = (8.0, 760.0, 44.0);
    let utile = largeur - gauche - 70.0;
    let hauteur = ligne * comptes.len() as f64 + 8.0;
    let id = format!("g-{}", titre.to_lowercase().replace(' ', "-"));
    html! {
        svg.graphique viewBox=(format!("0 0 {largeur} {hauteur}")) role="img" aria-labelledby=(id) {
            title #(id) { (titre) }
            @for (i, (c, classe)) in comptes.iter().enumerate() {
                @let y = ligne * i as f64 + 4.0;
                @let l = utile * c.nombre as f64 / max as f64;
                @let libelle = if c.libelle.chars().count() > 95 { format!("{}…", c.libelle.chars().take(94).collect::<String>()) } else { c.libelle.clone() };
                g {
                    text.etiquette-barre x=(gauche) y=(y + 13.0) {
                        @if c.code.starts_with("EE") || c.code.starts_with("CO") || c.code.starts_with("CR") { (c.code) " · " }
                        (libelle)
                    }
                    @if t.liste_permise(c) {
                        a href=(lien_liste(t, &c.code)) {
                            rect class=(*classe) x=(gauche) y=(y + 19.0) width=(l.max(2.0)) height="16" rx="2" { title { (c.libelle) " : " (c.nombre) } }
                        }
                    } @else {
                        rect class=(*classe) x=(gauche) y=(y + 19.0) width=(l.max(2.0)) height="16" rx="2" { title { (c.libelle) " : " (c.nombre) } }
                    }
                    text.valeur x=(gauche + l.max(2.0) + 6.0) y=(y + 32.0) { (c.nombre) }
                }
            }
        }
    }
}

async fn liste(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path((numero, mesure)): Path<(String, String)>,
    Query(demande): Query<Demande>,
) -> Page {
    let t = chiffres::tableau(&app, &s.acteur, &numero, &demande)
        .await
        .map_err(erreur)?;
    let (compte, personnes) = chiffres::liste(&app, &s.acteur, &t, &mesure)
        .await
        .map_err(erreur)?;
    let p = t.chiffres.periode;
    let retour = format!(
        "/operations/{}/chiffres?{}",
        crate::lien::encoder(&t.operation),
        Demande::requete(&p)
    );
    let corps = html! {
        p { a href=(retour) { "← Chiffres de l'opération " (t.operation) } }
        h1 { (compte.libelle) }
        p.intro { (compte.nombre) " participant" @if compte.nombre > 1 { "s" } " — " (p.preset.libelle()) " " (p.annee) ", du " (gabarit::date(p.du)) " au " (gabarit::date(p.au)) "." }
        @if !personnes.is_empty() {
            div.tableau-defilant {
                table.participants-chiffre {
                    thead { tr {
                        th scope="col" { "Participant" } th scope="col" { "Identifiant du parcours" } th scope="col" { "Référence parafe" }
                        th scope="col" { "Entrée" } th scope="col" { "Sortie" } th scope="col" { "Motif de sortie" }
                    } }
                    tbody {
                        @for x in &personnes {
                            tr data-participant=(x.reference) {
                                th scope="row" { a href=(format!("/participants/{}", x.reference)) { (x.prenom) " " (x.nom.to_uppercase()) } }
                                td { (x.identifiant_externe) }
                                td { code { (x.reference) } }
                                td { (gabarit::date(x.date_entree)) }
                                td { (x.date_sortie.map(gabarit::date).unwrap_or_default()) }
                                td { (x.motif_sortie.clone().unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&s, &compte.libelle, "chiffres", &[], corps).into_response())
}

async fn tableur(
    State(app): State<App>,
    Connecte(s): Connecte,
    Path(numero): Path<String>,
    Query(demande): Query<Demande>,
) -> Page {
    let t = chiffres::tableau(&app, &s.acteur, &numero, &demande)
        .await
        .map_err(erreur)?;
    let octets =
        classeur(&t).map_err(|e| erreur(Erreur::Interne(format!("tableur des chiffres : {e}"))))?;
    let p = t.chiffres.periode;
    let nom: String = format!(
        "chiffres-{}-{}-{}.xlsx",
        t.operation,
        p.preset.code(),
        p.annee
    )
    .chars()
    .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
    .collect();
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{nom}\""),
            ),
        ],
        octets,
    )
        .into_response())
}

fn date_excel(d: NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
}

/// A new sheet named `nom`, its header row in bold.
fn feuille<'a>(
    classeur: &'a mut Workbook,
    nom: &str,
    titres: &[&str],
) -> Result<&'a mut Worksheet, XlsxError> {
    let entete = Format::new().set_bold();
    let f = classeur.add_worksheet();
    f.set_name(nom)?;
    for (i, titre) in titres.iter().enumerate() {
        f.write_string_with_format(0, i as u16, *titre, &entete)?;
    }
    Ok(f)
}

/// The screen's tables, one sheet each, a header row on top, days as dates.
fn classeur(t: &Tableau) -> Result<Vec<u8>, XlsxError> {
    let c = &t.chiffres;
    let p = c.periode;
    let mut classeur = Workbook::new();
    let jour = Format::new().set_num_format("dd/mm/yyyy");
    let mois = Format::new().set_num_format("mmmm yyyy");

    let f = feuille(
        &mut classeur,
        "Période",
        &["Opération", "Intitulé", "Période", "Du", "Au", "Calculé le"],
    )?;
    f.write_string(1, 0, &t.operation)?;
    f.write_string(1, 1, &t.intitule)?;
    f.write_string(1, 2, format!("{} {}", p.preset.libelle(), p.annee))?;
    f.write_datetime_with_format(1, 3, date_excel(p.du)?, &jour)?;
    f.write_datetime_with_format(1, 4, date_excel(p.au)?, &jour)?;
    f.write_datetime_with_format(1, 5, date_excel(t.au)?, &jour)?;
    f.set_column_width(1, 50)?;
    f.set_column_width(2, 36)?;
    for col in 3..=5 {
        f.set_column_width(col, 12)?;
    }

    let f = feuille(&mut classeur, "Synthèse", &["Code", "Mesure", "Nombre"])?;
    let mut ligne = 1;
    for k in [
        &c.entrees,
        &c.en_parcours,
        &c.sorties,
        &c.sorties_positives,
        &c.sans_questionnaire_entree,
        &c.sans_questionnaire_sortie,
    ] {
        f.write_string(ligne, 0, &k.code)?;
        f.write_string(ligne, 1, &k.libelle)?;
        f.write_number(ligne, 2, k.nombre as f64)?;
        ligne += 1;
    }
    f.write_string(ligne, 0, "taux-sorties-positives")?;
    f.write_string(ligne, 1, "Taux de sorties positives (%)")?;
    if let Some(x) = c.taux_sorties_positives {
        f.write_number(ligne, 2, (x * 10.0).round() / 10.0)?;
    }
    f.set_column_width(0, 28)?;
    f.set_column_width(1, 44)?;

    let f = feuille(&mut classeur, "Par mois", &["Mois", "Entrées", "Sorties"])?;
    for (i, (e, s)) in c
        .entrees_par_mois
        .iter()
        .zip(&c.sorties_par_mois)
        .enumerate()
    {
        let l = i as u32 + 1;
        if let Some(m) = parse_mois(&e.code) {
            f.write_datetime_with_format(l, 0, date_excel(m)?, &mois)?;
        }
        f.write_number(l, 1, e.nombre as f64)?;
        f.write_number(l, 2, s.nombre as f64)?;
    }
    f.set_column_width(0, 18)?;

    let f = feuille(
        &mut classeur,
        "Sorties par motif",
        &["Motif", "Sorties", "Sortie positive"],
    )?;
    for (i, m) in c.sorties_par_motif.iter().enumerate() {
        let l = i as u32 + 1;
        f.write_string(l, 0, &m.compte.libelle)?;
        f.write_number(l, 1, m.compte.nombre as f64)?;
        f.write_string(l, 2, if m.positif { "oui" } else { "non" })?;
    }
    f.set_column_width(0, 40)?;

    let f = feuille(
        &mut classeur,
        "Indicateurs",
        &["Code", "Indicateur", "Participants"],
    )?;
    for (i, k) in c.indicateurs.iter().enumerate() {
        let l = i as u32 + 1;
        f.write_string(l, 0, &k.code)?;
        f.write_string(l, 1, &k.libelle)?;
        f.write_number(l, 2, k.nombre as f64)?;
    }
    f.set_column_width(1, 90)?;

    let f = feuille(
        &mut classeur,
        "Feuilles de temps",
        &["Personnel", "Mois sans feuille signée"],
    )?;
    let mut l = 1;
    for x in &t.feuilles_temps {
        for m in &x.mois {
            f.write_string(l, 0, format!("{} {}", x.prenom, x.nom.to_uppercase()))?;
            f.write_datetime_with_format(l, 1, date_excel(*m)?, &mois)?;
            l += 1;
        }
    }
    f.set_column_width(0, 30)?;
    f.set_column_width(1, 24)?;

    classeur.save_to_buffer()
}
