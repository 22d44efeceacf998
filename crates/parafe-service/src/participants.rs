//! The participants as staff reach them: the list and search, a participant with his documents,
//! the changes of his parcours that move his bilans BRSA (a new CER, an exit), and the import of
//! the parcours software's extraction.

use super::{App, Erreur};
use crate::auth::Acteur;
use crate::db::bilans::Prevu;
use crate::db::documents::{self as docs, Document};
use crate::db::participants::{self, Fiche, Participant};
use crate::db::referentiel::{self, Homonymes};
use crate::import::{Apercu, ImportError, Rapport};
use crate::roles::RolePersonnel;
use crate::schedule::Planification;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use std::collections::HashMap;

/// The participants of the caller's reach, searched by name, first name or identifier: every
/// word of `recherche` ([`plier`](crate::db::participants::plier)ed) somewhere in them, in any order.
pub async fn lister(
    app: &App,
    acteur: &Acteur,
    recherche: Option<&str>,
    limite: i64,
) -> Result<Vec<Participant>, Erreur> {
    Ok(participants::liste(
        &app.db,
        acteur.plie.as_str(),
        acteur.portefeuille(),
        recherche,
        limite,
    )
    .await?)
}

/// A person shown among others under her name (a kiosk button, a line of a list), with what may
/// tell her apart from a homonym.
#[derive(Debug, Clone, Copy)]
pub struct Nomme<'a> {
    pub prenom: &'a str,
    pub nom: &'a str,
    pub date_naissance: Option<NaiveDate>,
    pub commune: &'a str,
    /// The parcours software's identifier (empty for someone the PLIE does not know).
    pub identifiant: &'a str,
}

impl<'a> From<&'a Fiche> for Nomme<'a> {
    fn from(f: &'a Fiche) -> Nomme<'a> {
        Nomme {
            prenom: &f.prenom,
            nom: &f.nom,
            date_naissance: f.date_naissance,
            commune: &f.commune,
            identifiant: &f.identifiant_externe,
        }
    }
}

/// A mark of `n` of this kind, if he has one. The year of birth only: the kiosk shows it to
/// everyone at the workshop, the full date would tell more than the need.
fn repere(n: &Nomme, genre: Homonymes) -> Option<String> {
    match genre {
        Homonymes::AnneeNaissance => n.date_naissance.map(|d| format!("né(e) en {}", d.year())),
        Homonymes::Commune => (!n.commune.trim().is_empty()).then(|| n.commune.trim().to_owned()),
        Homonymes::Identifiant => {
            (!n.identifiant.trim().is_empty()).then(|| n.identifiant.trim().to_owned())
        }
    }
}

/// What tells each person apart from the others of `personnes` who bear the same name (first
/// and last names [`plier`](participants::plier)ed): the PLIE's preferred mark, else the next one
/// in the order year of birth, commune, parcours identifier (round to the first) that every
/// homonym has and no two share, else the first one each has. `None` for a name that no one else bears: a list without homonyms
/// reads as before, and no personal data is shown where the name alone is enough (a kiosk
/// screen is seen by the whole workshop).
pub fn reperes(preference: Homonymes, personnes: &[Nomme]) -> Vec<Option<String>> {
    // The preferred mark, then the ones after it in this order, round to those before.
    let ordre = [
        Homonymes::AnneeNaissance,
        Homonymes::Commune,
        Homonymes::Identifiant,
    ];
    let debut = ordre.iter().position(|g| *g == preference).unwrap_or(0);
    let genres: Vec<Homonymes> = ordre.iter().cycle().skip(debut).take(3).copied().collect();
    let mut homonymes: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, n) in personnes.iter().enumerate() {
        homonymes
            .entry(participants::plier(&format!("{} {}", n.prenom, n.nom)))
            .or_default()
            .push(i);
    }
    let mut sortie = vec![None; personnes.len()];
    for groupe in homonymes.values().filter(|g| g.len() > 1) {
        let distinctif = genres.iter().find_map(|&genre| {
            let valeurs: Option<Vec<String>> = groupe
                .iter()
                .map(|&i| repere(&personnes[i], genre))
                .collect();
            let valeurs = valeurs?;
            let differentes: std::collections::HashSet<String> =
                valeurs.iter().map(|v| participants::plier(v)).collect();
            (differentes.len() == valeurs.len()).then_some(valeurs)
        });
        for (k, &i) in groupe.iter().enumerate() {
            sortie[i] = match &distinctif {
                Some(valeurs) => valeurs.get(k).cloned(),
                None => genres.iter().find_map(|&g| repere(&personnes[i], g)),
            };
        }
    }
    sortie
}

/// [`reperes`] by the preference of the PLIE `plie` (its setting).
pub async fn reperes_du_plie(
    app: &App,
    plie: &str,
    personnes: &[Nomme<'_>],
) -> Result<Vec<Option<String>>, Erreur> {
    let preference = referentiel::homonymes(&app.db, plie).await?;
    Ok(reperes(preference, personnes))
}

/// [`reperes_du_plie`] for lines that carry a participant's reference and name only, several
/// lines a participant (the « à faire » list): `(reference, prenom, nom)` each. Only the fiches
/// of participants whose name another one bears are read, so a list without homonyms costs
/// no query.
pub async fn reperes_des_lignes(
    app: &App,
    acteur: &Acteur,
    lignes: &[(&str, &str, &str)],
) -> Result<Vec<Option<String>>, Erreur> {
    let mut distincts: Vec<(&str, &str, &str)> = Vec::new();
    for l in lignes {
        if !distincts.iter().any(|d| d.0 == l.0) {
            distincts.push(*l);
        }
    }
    let mut porteurs: HashMap<String, usize> = HashMap::new();
    for (_, prenom, nom) in &distincts {
        *porteurs
            .entry(participants::plier(&format!("{prenom} {nom}")))
            .or_default() += 1;
    }
    let mut fiches: Vec<Option<Participant>> = Vec::with_capacity(distincts.len());
    for (reference, prenom, nom) in &distincts {
        let homonyme = porteurs
            .get(&participants::plier(&format!("{prenom} {nom}")))
            .is_some_and(|n| *n > 1);
        fiches.push(match homonyme {
            true => {
                participants::a_portee(
                    &app.db,
                    acteur.plie.as_str(),
                    acteur.portefeuille(),
                    reference,
                )
                .await?
            }
            false => None,
        });
    }
    let personnes: Vec<Nomme> = distincts
        .iter()
        .zip(&fiches)
        .map(|((_, prenom, nom), f)| match f {
            Some(p) => Nomme::from(&p.fiche),
            None => Nomme {
                prenom,
                nom,
                date_naissance: None,
                commune: "",
                identifiant: "",
            },
        })
        .collect();
    let reperes = reperes_du_plie(app, acteur.plie.as_str(), &personnes).await?;
    Ok(lignes
        .iter()
        .map(|l| {
            distincts
                .iter()
                .position(|d| d.0 == l.0)
                .and_then(|i| reperes.get(i).cloned().flatten())
        })
        .collect())
}

/// A participant within the caller's reach ([`participants::a_portee`]: his reference or the
/// parcours software's identifier), else "introuvable": the one scope check of the screens,
/// the API and the command line.
pub async fn participant(app: &App, acteur: &Acteur, cle: &str) -> Result<Participant, Erreur> {
    participants::a_portee(&app.db, acteur.plie.as_str(), acteur.portefeuille(), cle)
        .await?
        .ok_or_else(|| {
            // The refusal names what the caller gave, never the pseudonymous reference.
            Erreur::Introuvable(format!(
                "aucun participant « {cle} » dans votre portefeuille"
            ))
        })
}

/// A participant of the caller's reach, his documents and his planned bilans BRSA.
pub async fn avec_documents(
    app: &App,
    acteur: &Acteur,
    reference: &str,
) -> Result<(Participant, Vec<Document>, Vec<Prevu>), Erreur> {
    let p = participant(app, acteur, reference).await?;
    let filtre = docs::Filtre {
        participant: Some(reference.to_owned()),
        ..Default::default()
    };
    let documents = crate::documents::lister(app, acteur, &filtre).await?;
    let bilans = crate::db::bilans::du_participant(&app.db, p.id).await?;
    Ok((p, documents, bilans))
}

/// Changes that move the bilans: a new CER start, an exit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangementParcours {
    pub cer_debut: Option<String>,
    pub date_sortie: Option<String>,
    pub motif_sortie: Option<String>,
}

/// Longest exit reason kept (a sentence, not a report).
const MOTIF_MAX: usize = 200;

/// The days of a change, checked against the participant's file and today (Paris): an exit
/// has its reason, is not in the future and does not precede the entry. Nothing is written.
pub fn verifier_changement(
    p: &Participant,
    c: &ChangementParcours,
    aujourdhui: NaiveDate,
) -> Result<(Option<NaiveDate>, Option<NaiveDate>), Erreur> {
    let jour = |champ: &str, v: &Option<String>| -> Result<Option<NaiveDate>, Erreur> {
        match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => crate::db::parse_jour(s).map(Some).ok_or_else(|| {
                Erreur::invalide(champ, format!("« {s} » : date AAAA-MM-JJ attendue"))
            }),
        }
    };
    let (cer, sortie) = (
        jour("cer_debut", &c.cer_debut)?,
        jour("date_sortie", &c.date_sortie)?,
    );
    let motif = c.motif_sortie.as_deref().map(str::trim).unwrap_or_default();
    let francais = |d: NaiveDate| d.format("%d/%m/%Y").to_string();
    match sortie {
        None if !motif.is_empty() => {
            return Err(Erreur::invalide(
                "date_sortie",
                "indiquez la date de la sortie dont vous donnez le motif",
            ))
        }
        None => {}
        Some(_) if motif.is_empty() => {
            return Err(Erreur::invalide(
                "motif_sortie",
                "indiquez le motif de la sortie",
            ))
        }
        Some(_) if motif.chars().count() > MOTIF_MAX => {
            return Err(Erreur::invalide(
                "motif_sortie",
                format!("motif de {MOTIF_MAX} caractères au plus"),
            ))
        }
        Some(d) if d > aujourdhui => {
            return Err(Erreur::invalide(
                "date_sortie",
                format!(
                "le {} est à venir : une sortie s'enregistre une fois faite (nous sommes le {})",
                francais(d),
                francais(aujourdhui)
            ),
            ))
        }
        Some(d) => {
            if let Some(entree) = p.fiche.date_entree.filter(|e| d < *e) {
                return Err(Erreur::invalide(
                    "date_sortie",
                    format!(
                        "la sortie ({}) ne peut précéder l'entrée dans le PLIE ({})",
                        francais(d),
                        francais(entree)
                    ),
                ));
            }
        }
    }
    Ok((cer, sortie))
}

/// Records a new CER start or an exit, then brings the participant's bilans BRSA up to date.
pub async fn changer_parcours(
    app: &App,
    acteur: &Acteur,
    reference: &str,
    c: ChangementParcours,
) -> Result<(Participant, Planification), Erreur> {
    super::documents::modification_permise(acteur)?;
    let plie = acteur.plie.as_str();
    let p = participant(app, acteur, reference).await?;
    let (cer, sortie) = verifier_changement(&p, &c, app.horloge.aujourdhui())?;
    let mut tx = app.db.begin().await?;
    if let Some(cer) = cer {
        participants::changer_cer(&mut *tx, p.id, cer).await?;
    }
    if let Some(sortie) = sortie {
        participants::enregistrer_sortie(
            &mut *tx,
            p.id,
            sortie,
            c.motif_sortie.as_deref().unwrap_or_default().trim(),
        )
        .await?;
    }
    tx.commit().await?;
    let p = participants::par_id(&app.db, plie, p.id)
        .await?
        .ok_or_else(|| Erreur::Interne("participant disparu".into()))?;
    let bilans = crate::schedule::planifier(
        app,
        plie,
        std::slice::from_ref(&p),
        app.horloge.maintenant(),
    )
    .await?;
    Ok((p, bilans))
}

/// Only coordinateurs and administrateurs import the parcours software's extraction.
pub fn import_permis(acteur: &Acteur) -> Result<(), Erreur> {
    if matches!(
        acteur.role,
        RolePersonnel::Coordinateur | RolePersonnel::Admin
    ) {
        Ok(())
    } else {
        Err(Erreur::Interdit(
            "l'import des participants est réservé aux coordinateurs et administrateurs".into(),
        ))
    }
}

/// Imports an extraction of the parcours software (coordinateurs and administrateurs only),
/// then brings the bilans BRSA up to date.
pub async fn importer(app: &App, acteur: &Acteur, texte: &str) -> Result<Rapport, ImportError> {
    import_permis(acteur)?;
    crate::import::importer_et_planifier(app, acteur.plie.as_str(), texte).await
}

/// What importing this extraction would do, nothing written (coordinateurs and administrateurs
/// only). Without a faulty line, the text is kept for `garde` (the session that previewed it)
/// until [`importer_apercu`] imports it.
pub async fn apercu_import(
    app: &App,
    acteur: &Acteur,
    garde: &str,
    texte: String,
) -> Result<Apercu, Erreur> {
    import_permis(acteur)?;
    let apercu = crate::import::apercu(app, acteur.plie.as_str(), texte.clone()).await?;
    if apercu.erreurs.is_empty() {
        crate::import::garder(app, garde, &apercu.sha256, &texte).await?;
    }
    Ok(apercu)
}

/// Imports the very text `garde`'s preview showed under `sha256`, then brings the bilans BRSA up
/// to date. A preview expired, already imported, of another session or altered is refused.
pub async fn importer_apercu(
    app: &App,
    acteur: &Acteur,
    garde: &str,
    sha256: &str,
) -> Result<Rapport, ImportError> {
    import_permis(acteur)?;
    let texte = crate::import::reprendre(app, garde, sha256).await?;
    let fait = crate::import::importer_et_planifier(app, acteur.plie.as_str(), &texte).await;
    // Imported, or refused by the data as it now stands: this preview has served.
    if matches!(fait, Ok(_) | Err(ImportError::Lignes(_))) {
        if let Err(e) = crate::import::oublier(app, garde).await {
            // Imported all the same: the row goes with the next preview or past its hour.
            tracing::warn!("aperçu d'import servi, non effacé : {e}");
        }
    }
    fait
}

#[cfg(test)]
mod essais {
    use super::{reperes, Homonymes, Nomme};
    use chrono::NaiveDate;

    fn jean<'a>(annee: Option<i32>, commune: &'a str, identifiant: &'a str) -> Nomme<'a> {
        Nomme {
            prenom: "Jean",
            nom: "MARTIN",
            date_naissance: annee.and_then(|a| NaiveDate::from_ymd_opt(a, 5, 17)),
            commune,
            identifiant,
        }
    }

    #[test]
    fn les_homonymes_seuls_portent_un_repere() {
        let autre = Nomme {
            prenom: "Awa",
            nom: "N'DIAYE",
            ..jean(Some(1990), "Lunel", "P-3")
        };
        let liste = [
            jean(Some(1985), "Lunel", "P-1"),
            autre,
            Nomme {
                nom: "Martin",
                ..jean(Some(1992), "Lunel", "P-2")
            },
        ];
        assert_eq!(
            reperes(Homonymes::AnneeNaissance, &liste),
            [
                Some("né(e) en 1985".into()),
                None,
                Some("né(e) en 1992".into())
            ]
        );
        assert_eq!(
            reperes(Homonymes::Identifiant, &liste),
            [Some("P-1".into()), None, Some("P-2".into())]
        );
        // Same commune: the next mark that tells them apart.
        assert_eq!(
            reperes(Homonymes::Commune, &liste),
            [Some("P-1".into()), None, Some("P-2".into())]
        );
    }

    #[test]
    fn une_annee_absente_ou_partagee_passe_au_repere_suivant() {
        let liste = [
            jean(None, "Lunel", "P-1"),
            jean(Some(1985), "Mauguio", "P-2"),
        ];
        assert_eq!(
            reperes(Homonymes::AnneeNaissance, &liste),
            [Some("Lunel".into()), Some("Mauguio".into())]
        );
        let liste = [
            jean(Some(1985), "Lunel", "P-1"),
            jean(Some(1985), "lunel", "P-2"),
        ];
        assert_eq!(
            reperes(Homonymes::AnneeNaissance, &liste),
            [Some("P-1".into()), Some("P-2".into())]
        );
    }
}
