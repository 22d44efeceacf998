//! The life cycle of a document, as a checked enum: which state follows which, and nothing
//! else. Every transition the service makes goes through [`Etat::vers`], is stored with the
//! document and recorded in the evidence journal.
//!
//! ```text
//! brouillon → envoye → partiellement_signe → signe → scelle → depose → delivre
//!                 ↘ refuse, expire, annule (tant que rien n'est signé par tous)
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Etat {
    Brouillon,
    Envoye,
    PartiellementSigne,
    Signe,
    Scelle,
    Depose,
    Delivre,
    Refuse,
    Expire,
    Annule,
}

impl Etat {
    const ALL: [(Etat, &'static str, &'static str); 10] = [
        (Etat::Brouillon, "brouillon", "brouillon"),
        (Etat::Envoye, "envoye", "envoyé pour signature"),
        (
            Etat::PartiellementSigne,
            "partiellement_signe",
            "signé en partie",
        ),
        (Etat::Signe, "signe", "signé"),
        (Etat::Scelle, "scelle", "scellé"),
        (Etat::Depose, "depose", "déposé au coffre"),
        (Etat::Delivre, "delivre", "remis aux destinataires"),
        (Etat::Refuse, "refuse", "refusé"),
        (Etat::Expire, "expire", "expiré"),
        (Etat::Annule, "annule", "annulé"),
    ];

    /// The state as stored and in the API (`partiellement_signe`).
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(e, ..)| *e == self)
            .map_or("", |t| t.1)
    }

    /// The state as a person reads it.
    pub fn libelle(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(e, ..)| *e == self)
            .map_or("", |t| t.2)
    }

    pub fn parse(code: &str) -> Option<Etat> {
        Self::ALL.iter().find(|(_, c, _)| *c == code).map(|t| t.0)
    }
}

/// A stored state the life cycle does not know: a corrupted row, never read as another state.
#[derive(Debug, thiserror::Error)]
#[error("état de document inconnu « {0} » dans la base : ligne altérée ou écrite par une autre version de parafe")]
pub struct EtatInconnu(pub String);

/// How a row's state is read (`#[sqlx(try_from = "String")]`): an unknown value is an error.
impl TryFrom<String> for Etat {
    type Error = EtatInconnu;

    fn try_from(code: String) -> Result<Etat, EtatInconnu> {
        Etat::parse(&code).ok_or(EtatInconnu(code))
    }
}

impl Etat {
    /// Whether the document may still collect signatures.
    pub fn en_signature(self) -> bool {
        matches!(self, Etat::Envoye | Etat::PartiellementSigne)
    }

    /// Whether the document's content may still change (data, signers): drafts only.
    pub fn modifiable(self) -> bool {
        self == Etat::Brouillon
    }

    /// The next state, if the life cycle allows going there from here.
    pub fn vers(self, suivant: Etat) -> Result<Etat, TransitionInterdite> {
        use Etat::*;
        let permise = matches!(
            (self, suivant),
            (Brouillon, Envoye | Annule)
                | (
                    Envoye | PartiellementSigne,
                    PartiellementSigne | Signe | Refuse | Expire | Annule
                )
                | (Signe, Scelle)
                | (Scelle, Depose)
                | (Depose, Delivre)
        );
        if permise {
            Ok(suivant)
        } else {
            Err(TransitionInterdite {
                de: self,
                vers: suivant,
            })
        }
    }
}

impl fmt::Display for Etat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.libelle())
    }
}

/// A transition the life cycle does not allow (signing a cancelled document, editing a sealed
/// one…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("un document {de} ne peut pas passer à l'état « {vers} »")]
pub struct TransitionInterdite {
    pub de: Etat,
    pub vers: Etat,
}

#[cfg(test)]
mod tests {
    use super::Etat;
    use super::Etat::*;

    #[test]
    fn un_etat_inconnu_est_une_erreur() {
        assert_eq!(Etat::try_from("scelle".to_owned()).ok(), Some(Scelle));
        let e = Etat::try_from("egare".to_owned()).unwrap_err();
        assert!(e.to_string().contains("« egare »"), "{e}");
    }

    #[test]
    fn le_cycle_de_vie_refuse_les_retours_en_arriere() {
        assert!(Brouillon.vers(Envoye).is_ok());
        assert!(Signe.vers(Scelle).is_ok());
        assert!(Scelle.vers(Brouillon).is_err());
        assert!(Annule.vers(Envoye).is_err());
        assert!(Delivre.vers(Annule).is_err());
        assert!(Brouillon.vers(Signe).is_err());
        let erreur = Scelle.vers(Envoye).unwrap_err().to_string();
        assert_eq!(
            erreur,
            "un document scellé ne peut pas passer à l'état « envoyé pour signature »"
        );
        for (etat, code, _) in super::Etat::ALL {
            assert_eq!(super::Etat::parse(code), Some(etat));
        }
    }
}
