//! Delivery by e-mail: signing links, reminders and sealed documents. One seam, two
//! transports: a real SMTP server (`[courriel] smtp = "hôte:port"`), or — the zero-setup
//! default, for development only — the development mailbox, which keeps each message as an
//! `.eml` file under `<data-dir>/courriels/<plie>/`, where the PLIE's administrators (and only
//! they) read it. Nothing here retries: the outbox does.

use chrono::{DateTime, Utc};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use parafe_core::model::PlieId;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[courriel]` in parafe.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CourrielConfig {
    /// `hôte:port` of the SMTP server; absent: the development mailbox.
    pub smtp: Option<String>,
    /// `aucune` (loopback, or a relay on a private network), `starttls` or `tls`.
    pub securite: String,
    pub utilisateur: Option<String>,
    /// Name of the environment variable holding the SMTP password (never the password itself).
    pub mot_de_passe_env: String,
    /// Sender of every message.
    pub expediteur: String,
    /// SMTP connections kept open to the server.
    pub connexions: u32,
}

impl Default for CourrielConfig {
    fn default() -> Self {
        Self {
            smtp: None,
            securite: "aucune".into(),
            utilisateur: None,
            mot_de_passe_env: "PARAFE_SMTP_MOT_DE_PASSE".into(),
            expediteur: "parafe <parafe@localhost>".into(),
            connexions: 16,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("configuration [courriel] invalide : {0}")]
    Config(String),
    #[error("adresse « {0} » invalide")]
    Adresse(String),
    #[error("message impossible à composer : {0}")]
    Message(String),
    #[error("serveur SMTP : {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("boîte de développement : {0}")]
    Boite(#[from] std::io::Error),
}

impl DeliveryError {
    /// Sending it again cannot succeed: the SMTP server refused it for good (5xx: unknown
    /// mailbox, refused domain…), or the address or the message is malformed.
    pub fn permanente(&self) -> bool {
        match self {
            DeliveryError::Smtp(e) => e.is_permanent(),
            DeliveryError::Adresse(_) | DeliveryError::Message(_) => true,
            DeliveryError::Config(_) | DeliveryError::Boite(_) => false,
        }
    }
}

/// A message to send.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Courriel {
    pub a: Vec<String>,
    pub objet: String,
    pub texte: String,
    /// `<…@…>`, fixed by the caller so that a resent message keeps its identity.
    pub message_id: String,
    /// Sent again after a crash left its first sending without a known answer: marked so that
    /// the receiver, who may have it already, recognises it by its `Message-ID`.
    #[serde(default)]
    pub renvoi: bool,
    /// Name and bytes of an attached PDF.
    #[serde(skip)]
    pub piece_jointe: Option<(String, Vec<u8>)>,
}

/// What proves a message left: the server's answer, kept as evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Accuse {
    pub message_id: String,
    /// SMTP reply to the end of data (`250 …`), or the mailbox file.
    pub reponse: String,
    pub accepte_le: DateTime<Utc>,
}

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Boite(PathBuf),
}

pub struct Courrier {
    expediteur: Mailbox,
    transport: Transport,
    /// Dates each acceptance, like every other piece of evidence.
    horloge: parafe_core::horloge::Horloge,
}

impl Courrier {
    pub fn from_config(
        config: &CourrielConfig,
        data_dir: &std::path::Path,
    ) -> Result<Courrier, DeliveryError> {
        let expediteur: Mailbox = config
            .expediteur
            .parse()
            .map_err(|_| DeliveryError::Config(format!("expediteur « {} »", config.expediteur)))?;
        let transport = match &config.smtp {
            None => Transport::Boite(data_dir.join("courriels")),
            Some(adresse) => {
                let (hote, port) = adresse
                    .rsplit_once(':')
                    .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
                    .ok_or_else(|| {
                        DeliveryError::Config(format!("smtp « {adresse} » : attendu hôte:port"))
                    })?;
                let builder = match config.securite.as_str() {
                    "aucune" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(hote),
                    "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(hote)
                        .map_err(|e| DeliveryError::Config(e.to_string()))?,
                    "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(hote)
                        .map_err(|e| DeliveryError::Config(e.to_string()))?,
                    autre => {
                        return Err(DeliveryError::Config(format!(
                            "securite « {autre} » : aucune, starttls ou tls"
                        )))
                    }
                };
                let mut builder = builder
                    .port(port)
                    .pool_config(PoolConfig::new().max_size(config.connexions.max(1)));
                if let Some(utilisateur) = &config.utilisateur {
                    let mot_de_passe = std::env::var(&config.mot_de_passe_env).map_err(|_| {
                        DeliveryError::Config(format!(
                            "mot de passe SMTP attendu dans la variable {}",
                            config.mot_de_passe_env
                        ))
                    })?;
                    builder =
                        builder.credentials(Credentials::new(utilisateur.clone(), mot_de_passe));
                }
                Transport::Smtp(builder.build())
            }
        };
        Ok(Courrier {
            expediteur,
            transport,
            horloge: parafe_core::horloge::Horloge::systeme(),
        })
    }

    /// Acceptances dated by `horloge`, the clock of the rest of the process.
    pub fn avec_horloge(self, horloge: parafe_core::horloge::Horloge) -> Courrier {
        Courrier { horloge, ..self }
    }

    /// Where the development mailbox keeps a PLIE's messages (None with a real SMTP server).
    pub fn boite(&self, plie: &PlieId) -> Option<PathBuf> {
        match &self.transport {
            Transport::Boite(dir) => Some(dir.join(plie.as_str())),
            Transport::Smtp(_) => None,
        }
    }

    /// Sends a message on behalf of a PLIE (whose development mailbox keeps it, if any).
    pub async fn envoyer(
        &self,
        courriel: &Courriel,
        plie: &PlieId,
    ) -> Result<Accuse, DeliveryError> {
        let message = self.composer(courriel)?;
        let reponse = match &self.transport {
            Transport::Smtp(smtp) => {
                let reponse = smtp.send(message).await?;
                format!(
                    "{} {}",
                    reponse.code(),
                    reponse.message().collect::<Vec<_>>().join(" ")
                )
            }
            Transport::Boite(boites) => {
                let dir = boites.join(plie.as_str());
                let nom = format!(
                    "{}-{}.eml",
                    self.horloge.maintenant().format("%Y%m%dT%H%M%S%.3f"),
                    crate::roles::empreinte_secret(&courriel.message_id)
                        .get(..12)
                        .unwrap_or_default()
                );
                let chemin = dir.join(nom);
                let octets = message.formatted();
                tokio::task::spawn_blocking(move || {
                    std::fs::create_dir_all(chemin.parent().unwrap_or(&chemin))?;
                    parafe_core::files::write_durably(&chemin, &octets)?;
                    Ok::<_, std::io::Error>(chemin)
                })
                .await
                .map_err(std::io::Error::other)??
                .display()
                .to_string()
            }
        };
        Ok(Accuse {
            message_id: courriel.message_id.clone(),
            reponse,
            accepte_le: self.horloge.maintenant(),
        })
    }

    fn composer(&self, c: &Courriel) -> Result<Message, DeliveryError> {
        let mut builder = Message::builder()
            .from(self.expediteur.clone())
            .subject(&c.objet)
            .message_id(Some(c.message_id.clone()));
        if c.renvoi {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-Parafe-Renvoi"),
                "possible doublon d'un envoi interrompu ; meme Message-ID".into(),
            ));
        }
        for a in &c.a {
            let boite: Mailbox = a.parse().map_err(|_| DeliveryError::Adresse(a.clone()))?;
            builder = builder.to(boite);
        }
        let texte = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(c.texte.clone());
        let message = match &c.piece_jointe {
            None => builder.singlepart(texte),
            Some((nom, octets)) => builder.multipart(
                MultiPart::mixed().singlepart(texte).singlepart(
                    Attachment::new(nom.clone()).body(
                        octets.clone(),
                        ContentType::parse("application/pdf")
                            .map_err(|e| DeliveryError::Message(e.to_string()))?,
                    ),
                ),
            ),
        };
        message.map_err(|e| DeliveryError::Message(e.to_string()))
    }
}

/// Whether a string is an e-mail address parafe can send to.
pub fn email_valide(s: &str) -> bool {
    s.parse::<lettre::Address>().is_ok() && !s.contains(char::is_whitespace)
}
