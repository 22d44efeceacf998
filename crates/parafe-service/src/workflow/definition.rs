//! Parsing and checking of `workflows/*.toml`.

use chrono::TimeDelta;
use parafe_template::template::Catalogue;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Who takes part in a workflow. A closed set: a role the service does not know is a mistake
/// in the file, not a new kind of person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Participant,
    Referent,
    ReferentEtape,
    EquipeAnimation,
    Animateur,
    Coordinateur,
    Partenaire,
    Prescripteur,
    ReferentUniqueRsa,
    Sdi,
    /// A member of a commission or of a steering committee (COPIL), one per member listed.
    Membre,
    /// Who chairs the commission's session and signs its decisions.
    President,
    /// A staff member partly assigned to the opération, whose time sheet it is.
    Salarie,
    /// The staff member's line manager, who countersigns his time sheet.
    Responsable,
}

impl Role {
    const ALL: [(&'static str, Role); 14] = [
        ("participant", Role::Participant),
        ("referent", Role::Referent),
        ("referent_etape", Role::ReferentEtape),
        ("equipe_animation", Role::EquipeAnimation),
        ("animateur", Role::Animateur),
        ("coordinateur", Role::Coordinateur),
        ("partenaire", Role::Partenaire),
        ("prescripteur", Role::Prescripteur),
        ("referent_unique_rsa", Role::ReferentUniqueRsa),
        ("sdi", Role::Sdi),
        ("membre", Role::Membre),
        ("president", Role::President),
        ("salarie", Role::Salarie),
        ("responsable", Role::Responsable),
    ];

    pub fn parse(s: &str) -> Option<Role> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, role)| *role)
    }

    /// The role as written in workflow files.
    pub fn nom(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, role)| *role == self)
            .map_or("", |(name, _)| *name)
    }

    /// Where the template's data lists the people of a role that signs once per person
    /// (`plusieurs`): the attendees of a workshop, the members of a commission.
    pub fn liste(self) -> Option<&'static str> {
        match self {
            Role::Participant => Some("participants"),
            Role::Membre => Some("membres"),
            _ => None,
        }
    }

    /// People without an account of parafe, who sign on the tablet in the presence of the
    /// staff member holding it: a participant, a commission's members and its président. Staff
    /// sign from their own account only.
    pub fn sans_compte(self) -> bool {
        matches!(self, Role::Participant | Role::Membre | Role::President)
    }

    fn names() -> String {
        Self::ALL
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How a signer signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Methode {
    /// In person, on the référent's tablet.
    Tablette,
    /// Through a single-use link received by e-mail.
    Lien,
}

/// Whether signers sign one after another or in any order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordre {
    Sequentiel,
    Parallele,
}

/// A duration written `15j`, `48h`, `30min` or `2sem` in a workflow file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duree(pub TimeDelta);

impl Duree {
    fn parse(s: &str) -> Option<Duree> {
        let split = s.find(|c: char| !c.is_ascii_digit())?;
        let n: i64 = s[..split].parse().ok().filter(|n| *n > 0)?;
        let delta = match &s[split..] {
            "min" => TimeDelta::try_minutes(n),
            "h" => TimeDelta::try_hours(n),
            "j" => TimeDelta::try_days(n),
            "sem" => TimeDelta::try_weeks(n),
            _ => None,
        }?;
        Some(Duree(delta))
    }
}

#[derive(Debug, Clone)]
pub struct Signataire {
    pub role: Role,
    pub methodes: Vec<Methode>,
    /// A third signer of the contrat, for instance, is only there for a targeted step.
    pub facultatif: bool,
    /// One signature per person listed in the document (each attendee of a workshop).
    pub plusieurs: bool,
    /// A staff member the document names rather than its author (a time sheet's employee and
    /// manager, `designe = true` in the file): his account is found by the e-mail the data
    /// gives for his role, he signs from it only, and is told by e-mail when his turn comes.
    pub designe: bool,
}

/// A checked workflow definition.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// The file name without `.toml`: how the API and the screens name it.
    pub nom: String,
    pub titre: String,
    pub modele: String,
    pub signataires: Vec<Signataire>,
    pub ordre: Ordre,
    /// Time allowed to sign, from sending.
    pub delai: Duree,
    /// Reminders, counted from sending.
    pub relances: Vec<Duree>,
    /// Past this, an unsigned request expires.
    pub expiration: Duree,
    /// Who receives the sealed document.
    pub destinataires: Vec<Role>,
    /// Months after the CER start at which the document is due (bilans BRSA), with reminders
    /// before each due date.
    pub echeances_mois: Vec<u32>,
    pub rappels_avant_echeance: Vec<Duree>,
}

/// A workflow file that cannot be used, with where to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{}:{} : {message}", file.display(), line)]
pub struct WorkflowError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkflow {
    titre: String,
    modele: Spanned<String>,
    #[serde(default)]
    signataires: Vec<RawSignataire>,
    ordre: Option<Spanned<String>>,
    delai: Spanned<String>,
    #[serde(default)]
    relances: Vec<Spanned<String>>,
    expiration: Spanned<String>,
    #[serde(default)]
    destinataires: Vec<Spanned<String>>,
    echeances: Option<RawEcheances>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignataire {
    role: Spanned<String>,
    methodes: Spanned<Vec<String>>,
    #[serde(default)]
    facultatif: bool,
    #[serde(default)]
    plusieurs: bool,
    #[serde(default)]
    designe: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEcheances {
    mois: Spanned<Vec<u32>>,
    #[serde(default)]
    rappels: Vec<Spanned<String>>,
}

mod embarques {
    include!(concat!(env!("OUT_DIR"), "/workflows.rs"));
}

/// The workflows of the binary (`workflows/*.toml` of the repository), then those of `dossier`
/// when one is given: a file there replaces the embedded workflow of the same name, or adds one.
/// Every file is checked; the first bad one stops the load and is named.
pub fn load(dossier: Option<&Path>, catalogue: &Catalogue) -> Result<Vec<Workflow>, WorkflowError> {
    let mut workflows = std::collections::BTreeMap::new();
    for (nom, source) in embarques::WORKFLOWS {
        let file = Path::new("workflows").join(nom);
        let w = parse(&file, source, catalogue)?;
        workflows.insert(w.nom.clone(), w);
    }
    if let Some(dir) = dossier {
        for w in load_dir(dir, catalogue)? {
            workflows.insert(w.nom.clone(), w);
        }
    }
    Ok(workflows.into_values().collect())
}

/// Reads and checks every `*.toml` of `dir`, in name order; the first bad file stops the load.
fn load_dir(dir: &Path, catalogue: &Catalogue) -> Result<Vec<Workflow>, WorkflowError> {
    let unreadable = |message: String| WorkflowError {
        file: dir.to_path_buf(),
        line: 0,
        message,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| {
            unreadable(format!(
                "dossier des workflows illisible ({e}) : donnez un dossier qui existe, ou retirez \
                 `workflows` de parafe.toml (et --workflows) pour n'utiliser que les workflows \
                 intégrés"
            ))
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|file| {
            let source = std::fs::read_to_string(file).map_err(|e| WorkflowError {
                file: file.to_path_buf(),
                line: 0,
                message: format!("fichier illisible : {e}"),
            })?;
            parse(file, &source, catalogue)
        })
        .collect()
}

fn parse(file: &Path, source: &str, catalogue: &Catalogue) -> Result<Workflow, WorkflowError> {
    let at = |offset: usize, message: String| WorkflowError {
        file: file.to_path_buf(),
        line: source[..offset.min(source.len())].matches('\n').count() + 1,
        message,
    };
    let raw: RawWorkflow = toml::from_str(source)
        .map_err(|e| at(e.span().map_or(0, |s| s.start), e.message().to_owned()))?;

    let duree = |d: &Spanned<String>| {
        Duree::parse(d.get_ref()).ok_or_else(|| {
            at(
                d.span().start,
                format!(
                    "durée « {} » invalide : écrivez par exemple 30min, 48h, 15j ou 2sem",
                    d.get_ref()
                ),
            )
        })
    };
    let role = |r: &Spanned<String>| {
        Role::parse(r.get_ref()).ok_or_else(|| {
            at(
                r.span().start,
                format!(
                    "rôle inconnu « {} » ; rôles possibles : {}",
                    r.get_ref(),
                    Role::names()
                ),
            )
        })
    };

    catalogue
        .get(raw.modele.get_ref())
        .map_err(|e| at(raw.modele.span().start, e.to_string()))?;
    let signataires = raw
        .signataires
        .iter()
        .map(|s| {
            let methodes = s
                .methodes
                .get_ref()
                .iter()
                .map(|m| match m.as_str() {
                    "tablette" => Ok(Methode::Tablette),
                    "lien" => Ok(Methode::Lien),
                    other => Err(at(s.methodes.span().start, format!("méthode de signature inconnue « {other} » ; possibles : tablette, lien"))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            if methodes.is_empty() {
                return Err(at(s.methodes.span().start, "au moins une méthode de signature est attendue".into()));
            }
            let role = role(&s.role)?;
            if s.plusieurs && role.liste().is_none() {
                return Err(at(s.role.span().start, format!("le rôle « {} » ne signe pas une fois par personne listée (plusieurs) ; possibles : participant, membre", role.nom())));
            }
            if s.designe && role.sans_compte() {
                return Err(at(s.role.span().start, format!("le rôle « {} » n'a pas de compte parafe : il ne peut être désigné (designe)", role.nom())));
            }
            Ok(Signataire { role, methodes, facultatif: s.facultatif, plusieurs: s.plusieurs, designe: s.designe })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ordre = match raw
        .ordre
        .as_ref()
        .map(|o| (o.get_ref().as_str(), o.span().start))
    {
        None | Some(("sequentiel", _)) => Ordre::Sequentiel,
        Some(("parallele", _)) => Ordre::Parallele,
        Some((other, offset)) => {
            return Err(at(
                offset,
                format!("ordre « {other} » inconnu ; possibles : sequentiel, parallele"),
            ))
        }
    };
    let (echeances_mois, rappels_avant_echeance) = match &raw.echeances {
        Some(e) if e.mois.get_ref().is_empty() || e.mois.get_ref().contains(&0) => {
            return Err(at(
                e.mois.span().start,
                "les mois d'échéance doivent être des entiers positifs".into(),
            ))
        }
        Some(e) => (
            e.mois.get_ref().clone(),
            e.rappels.iter().map(duree).collect::<Result<_, _>>()?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    Ok(Workflow {
        nom: file
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
        titre: raw.titre,
        modele: raw.modele.into_inner(),
        signataires,
        ordre,
        delai: duree(&raw.delai)?,
        relances: raw.relances.iter().map(duree).collect::<Result<_, _>>()?,
        expiration: duree(&raw.expiration)?,
        destinataires: raw
            .destinataires
            .iter()
            .map(role)
            .collect::<Result<_, _>>()?,
        echeances_mois,
        rappels_avant_echeance,
    })
}

impl fmt::Display for Duree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let minutes = self.0.num_minutes();
        match minutes {
            m if m % (7 * 24 * 60) == 0 => write!(f, "{} sem.", m / (7 * 24 * 60)),
            m if m % (24 * 60) == 0 => write!(f, "{} j", m / (24 * 60)),
            m if m % 60 == 0 => write!(f, "{} h", m / 60),
            m => write!(f, "{m} min"),
        }
    }
}
