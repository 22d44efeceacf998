//! `parafe serve` on loopback, with a real SMTP server (aiosmtpd): contracts signed by link and
//! on the tablet, bilans BRSA that come due by themselves, bad input, and a crash in the middle
//! of a batch.

use crate::support::{parafe, repo, text};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The SMTP server the service sends to: every message it accepted is a file.
pub struct Smtp {
    child: Child,
    pub port: u16,
    pub dossier: PathBuf,
}

impl Smtp {
    pub fn start(dossier: &Path) -> Smtp {
        Smtp::lancer(dossier, None)
    }

    /// The same on a given port (a server started again where the service knows it).
    pub fn start_sur(dossier: &Path, port: u16) -> Smtp {
        Smtp::lancer(dossier, Some(port))
    }

    fn lancer(dossier: &Path, port: Option<u16>) -> Smtp {
        let mut child = Command::new("python3")
            .arg(repo().join("tests/support/smtp.py"))
            .arg(dossier)
            .args(port.map(|p| p.to_string()))
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 (aiosmtpd) : lancez les tests par la commande du README");
        let mut ligne = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ligne)
            .unwrap();
        let port = ligne
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("serveur SMTP : « {ligne} » (aiosmtpd installé ?)"));
        Smtp {
            child,
            port,
            dossier: dossier.to_path_buf(),
        }
    }

    /// The recipients refused so far (addresses starting with « refuse »), one per refusal.
    pub fn refus(&self) -> Vec<String> {
        std::fs::read_to_string(self.dossier.join("refus.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Every message received so far, as the SMTP server's MIME parser decoded it.
    pub fn courriels(&self) -> Vec<String> {
        let mut fichiers: Vec<_> = std::fs::read_dir(&self.dossier)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        fichiers.sort_by_key(|p| p.file_stem().and_then(|s| s.to_str()?.parse::<u64>().ok()));
        fichiers
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// The attachment `nom` of a message (as decoded by the server side).
    pub fn piece_jointe(&self, courriel: &str, nom: &str) -> Vec<u8> {
        let numero = std::fs::read_dir(&self.dossier)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.extension().is_some_and(|e| e == "txt")
                    && std::fs::read_to_string(p).unwrap() == courriel
            })
            .and_then(|p| p.file_stem()?.to_str().map(str::to_owned))
            .unwrap();
        std::fs::read(self.dossier.join(format!("{numero}-{nom}"))).unwrap()
    }

    /// The messages received for `destinataire` whose text holds `contenant`, oldest first.
    pub fn recus(&self, destinataire: &str, contenant: &str) -> Vec<String> {
        self.courriels()
            .into_iter()
            .filter(|m| {
                m.lines().next().is_some_and(|l| l.contains(destinataire)) && m.contains(contenant)
            })
            .collect()
    }

    /// Waits until more than `deja` such messages arrived; the newest.
    pub fn attendre_nouveau(&self, destinataire: &str, contenant: &str, deja: usize) -> String {
        let debut = Instant::now();
        loop {
            let mut recus = self.recus(destinataire, contenant);
            if recus.len() > deja {
                return recus.pop().unwrap();
            }
            assert!(
                debut.elapsed() < Duration::from_secs(60),
                "pas de nouveau courriel pour {destinataire} contenant « {contenant} »"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for a message to `destinataire` whose text holds `contenant`.
    pub fn attendre(&self, destinataire: &str, contenant: &str) -> String {
        let debut = Instant::now();
        loop {
            if let Some(m) = self.courriels().into_iter().find(|m| {
                m.lines().next().is_some_and(|l| l.contains(destinataire)) && m.contains(contenant)
            }) {
                return m;
            }
            assert!(
                debut.elapsed() < Duration::from_secs(60),
                "aucun courriel pour {destinataire} contenant « {contenant} » ; reçus :\n{}",
                self.courriels().join("\n-----\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `parafe serve` in its own data directory.
pub struct Service {
    child: Option<Child>,
    pub data: PathBuf,
    pub url: String,
    pub client: Client,
    /// `PARAFE_HORLOGE` of the next start.
    pub horloge: Option<String>,
    /// Environment variables named by the configuration (a seal's password…).
    env: Vec<(String, String)>,
    /// Where the service's stderr goes, logging at debug level (`PARAFE_LOG=debug`).
    journal: Option<PathBuf>,
    /// Started as on a fresh machine: from the folder holding `data`, with no option.
    sans_configuration: bool,
    /// The URL of its PostgreSQL database; None: SQLite, `<data>/parafe.db`.
    base: Option<String>,
}

/// The scenarios run on SQLite, or on PostgreSQL when `PARAFE_ESSAIS_BASE=postgres` (the second
/// pass of tests/run), each service on a database of its own in the cluster
/// `PARAFE_ESSAIS_POSTGRES`.
pub fn base_postgres() -> bool {
    match std::env::var("PARAFE_ESSAIS_BASE").as_deref() {
        Err(_) | Ok("" | "sqlite") => false,
        Ok("postgres") => true,
        Ok(autre) => panic!("PARAFE_ESSAIS_BASE = « {autre} » : sqlite ou postgres"),
    }
}

/// The database of the data directory `data` on PostgreSQL: the one its parafe.toml already
/// names (the same service started again), else a new one, as empty as a new SQLite file.
pub fn base_du_dossier(data: &Path) -> String {
    let toml = std::fs::read_to_string(data.join("parafe.toml")).unwrap_or_default();
    if let Some(url) = url_de_la_base(&toml) {
        return url;
    }
    let grappe = std::env::var("PARAFE_ESSAIS_POSTGRES")
        .expect("PARAFE_ESSAIS_POSTGRES manquant : lancez les tests par tests/run");
    let grappe = grappe.trim_end_matches('/');
    // Random, not derived from the path: a cluster kept from an earlier run may hold the name.
    let nom = format!("parafe_{:016x}", rand::random::<u64>());
    let out = Command::new("psql")
        .args(["-X", "-v", "ON_ERROR_STOP=1"])
        .arg(format!("{grappe}/postgres"))
        .args([
            "-c",
            &format!(
                "CREATE DATABASE {nom} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            ),
        ])
        .output()
        .expect("psql introuvable : lancez les tests par tests/run");
    assert!(
        out.status.success(),
        "création de la base {nom} : {}",
        text(&out.stderr)
    );
    format!("{grappe}/{nom}")
}

/// The `url` of the `[base]` section, as `Service::lancer` writes it.
fn url_de_la_base(toml: &str) -> Option<String> {
    toml.lines()
        .map(str::trim)
        .skip_while(|l| *l != "[base]")
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .find_map(|l| Some(l.strip_prefix("url = \"")?.strip_suffix('"')?.to_owned()))
}

/// How a scenario starts the service, beyond the repository's workflows and the test PLIE.
#[derive(Default)]
pub struct Reglages<'a> {
    /// Port of the SMTP server; None: the development mailbox (`<data>/courriels/<plie>/`).
    pub smtp: Option<u16>,
    /// More lines of `[service]` (`url_publique = "https://…"`).
    pub service: &'a str,
    /// More sections of parafe.toml (a `[seal]` section) and the environment variables they name.
    pub toml: String,
    pub env: Vec<(String, String)>,
    pub horloge: Option<&'a str>,
    /// A file for the service's stderr, logged at debug level.
    pub journal: Option<PathBuf>,
}

impl Service {
    /// Writes the configuration (SMTP server, workflows of the repository) and starts.
    pub fn start(data: &Path, smtp_port: u16, horloge: Option<&str>) -> Service {
        Service::lancer(
            data,
            Reglages {
                smtp: Some(smtp_port),
                horloge,
                ..Reglages::default()
            },
        )
    }

    pub fn lancer(data: &Path, reglages: Reglages) -> Service {
        std::fs::create_dir_all(data).unwrap();
        // Before the file is written again: it names the database of a service started again.
        let base = base_postgres().then(|| base_du_dossier(data));
        let section_base = base
            .as_ref()
            .map(|url| format!("\n[base]\nurl = \"{url}\"\n"))
            .unwrap_or_default();
        let courriel = match reglages.smtp {
            Some(port) => format!("\n[courriel]\nsmtp = \"127.0.0.1:{port}\"\nexpediteur = \"PLIE <plie@exemple.fr>\"\n"),
            None => String::new(),
        };
        std::fs::write(
            data.join("parafe.toml"),
            format!(
                "[service]\nplie = \"plie-test\"\nnom_plie = \"PLIE du Pays de l'Or\"\nveille_secondes = 1\n{}\n{courriel}\n{}{section_base}",
                reglages.service,
                reglages.toml
            ),
        )
        .unwrap();
        let mut service = Service {
            child: None,
            data: data.to_path_buf(),
            url: String::new(),
            client: Client::builder()
                .timeout(Duration::from_secs(60))
                .user_agent("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) parafe-essais")
                .build()
                .unwrap(),
            horloge: reglages.horloge.map(str::to_owned),
            env: reglages.env,
            journal: reglages.journal,
            sans_configuration: false,
            base,
        };
        service.demarrer();
        service
    }

    /// `parafe serve` as a newcomer runs it on a fresh machine: from the empty folder `dossier`,
    /// no configuration file, no option but a free port; its data go to `dossier/parafe-data`.
    /// On SQLite whatever the pass: it is the default that is tested.
    pub fn dans_un_dossier_vide(dossier: &Path) -> Service {
        let mut service = Service {
            child: None,
            data: dossier.join("parafe-data"),
            url: String::new(),
            client: Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            horloge: None,
            env: Vec::new(),
            journal: None,
            sans_configuration: true,
            base: None,
        };
        service.demarrer();
        service
    }

    fn demarrer(&mut self) {
        let mut commande = Command::new(env!("CARGO_BIN_EXE_parafe"));
        commande.args(["serve", "--listen", "127.0.0.1:0"]);
        if self.sans_configuration {
            commande
                .current_dir(self.data.parent().unwrap())
                .env_remove("PARAFE_DATA_DIR");
        } else {
            commande
                .arg("--data-dir")
                .arg(&self.data)
                // Away from the repository, with no workflows folder: the embedded ones serve.
                .current_dir(&self.data);
        }
        commande.stdout(Stdio::piped());
        if let Some(h) = &self.horloge {
            commande.env("PARAFE_HORLOGE", h);
        }
        commande.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(journal) = &self.journal {
            let fichier = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(journal)
                .unwrap();
            commande.env("PARAFE_LOG", "debug").stderr(fichier);
        }
        let mut child = commande.spawn().unwrap();
        let mut lecteur = BufReader::new(child.stdout.take().unwrap());
        let mut ligne = String::new();
        lecteur.read_line(&mut ligne).unwrap();
        let url = ligne
            .split_whitespace()
            .find(|m| m.starts_with("http://"))
            .unwrap_or_else(|| panic!("parafe serve n'a pas démarré : « {ligne} »"))
            .trim_end_matches('/')
            .to_owned();
        // Keep reading stdout so the service never blocks on a full pipe.
        std::thread::spawn(move || for _ in lecteur.lines() {});
        self.url = url;
        self.child = Some(child);
    }

    /// The data of its database as `pg_dump` writes them, when the database is not a file of
    /// the data directory (PostgreSQL); None on SQLite.
    pub fn vidage_de_la_base(&self) -> Option<Vec<u8>> {
        let url = self.base.as_ref()?;
        let out = Command::new("pg_dump")
            .args(["--data-only", url])
            .output()
            .expect("pg_dump introuvable : lancez les tests par tests/run");
        assert!(out.status.success(), "pg_dump : {}", text(&out.stderr));
        Some(out.stdout)
    }

    /// The process id of `parafe serve`.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The URL of its PostgreSQL database; None on SQLite.
    pub fn url_de_la_base(&self) -> Option<&str> {
        self.base.as_deref()
    }

    /// Another instance of the same cluster (`[grappe]`), in the data directory `data`: the
    /// same configuration and seal keys, deployed to another machine, named `nom`.
    pub fn instance_voisine(&self, data: &Path, nom: &str) -> Service {
        self.configurer_voisine(data, nom);
        let mut voisine = Service {
            child: None,
            data: data.to_path_buf(),
            url: String::new(),
            client: self.client.clone(),
            horloge: self.horloge.clone(),
            env: self.env.clone(),
            journal: None,
            sans_configuration: false,
            base: self.base.clone(),
        };
        voisine.demarrer();
        voisine
    }

    /// The data directory of another instance, configured, not started (for a command line).
    pub fn configurer_voisine(&self, data: &Path, nom: &str) {
        std::fs::create_dir_all(data.join("cles")).unwrap();
        for cle in std::fs::read_dir(self.data.join("cles")).unwrap() {
            let cle = cle.unwrap();
            std::fs::copy(cle.path(), data.join("cles").join(cle.file_name())).unwrap();
        }
        let toml = std::fs::read_to_string(self.data.join("parafe.toml")).unwrap();
        let ici = toml
            .lines()
            .find(|l| l.starts_with("instance = "))
            .expect("une instance de grappe");
        std::fs::write(
            data.join("parafe.toml"),
            toml.replace(ici, &format!("instance = \"{nom}\"")),
        )
        .unwrap();
    }

    /// SIGKILL: no chance to finish anything.
    pub fn tuer(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    pub fn redemarrer(&mut self) {
        self.tuer();
        self.demarrer();
    }

    /// A staff account and its API token.
    pub fn compte(&self, email: &str, role: &str, plie: Option<&str>) -> String {
        let data = self.data.to_string_lossy().into_owned();
        let mut args = vec![
            "comptes",
            "ajouter",
            "--data-dir",
            &data,
            "--email",
            email,
            "--nom",
            "Garnier",
            "--prenom",
            "Thomas",
            "--role",
            role,
            "--jeton",
        ];
        if let Some(p) = plie {
            args.extend(["--plie", p]);
        }
        let out = parafe(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).lines().last().unwrap().trim().to_owned()
    }

    pub fn appel(
        &self,
        methode: &str,
        chemin: &str,
        jeton: &str,
        corps: Option<&Value>,
    ) -> (StatusCode, Value) {
        let requete = self
            .client
            .request(methode.parse().unwrap(), format!("{}{chemin}", self.url))
            .bearer_auth(jeton);
        envoyer_json(requete, corps)
    }

    /// A call that must succeed.
    pub fn ok(&self, methode: &str, chemin: &str, jeton: &str, corps: Option<&Value>) -> Value {
        let (status, v) = self.appel(methode, chemin, jeton, corps);
        assert!(status.is_success(), "{methode} {chemin} : {status} {v}");
        v
    }

    /// Creates a document and sends it for signature; its reference and the SHA-256 of the
    /// version its signers are shown.
    pub fn creer_et_envoyer(&self, jeton: &str, demande: &Value) -> (String, String) {
        let cree = self.ok("POST", "/api/documents", jeton, Some(demande));
        let reference = cree["document"]["ref"].as_str().unwrap().to_owned();
        let envoye = self.ok(
            "POST",
            &format!("/api/documents/{reference}/envoi"),
            jeton,
            None,
        );
        let version = envoye["document"]["sha256_rendu"]
            .as_str()
            .unwrap()
            .to_owned();
        (reference, version)
    }

    /// The contrat d'engagement of the participant named `nom`, created and sent by `referent`
    /// (both sign on the tablet): the participant's ref, the document's and its version's.
    pub fn contrat_sur_tablette(&self, referent: &str, nom: &str) -> (String, String, String) {
        let participant = participant_ref(self, referent, nom);
        let (reference, version) = self.creer_et_envoyer(
            referent,
            &json!({ "workflow": "contrat-engagement", "participant": participant, "donnees": contrat_donnees() }),
        );
        (participant, reference, version)
    }

    /// A document's PDF as the API gives it (the sealed version once there is one).
    pub fn pdf(&self, jeton: &str, reference: &str) -> Vec<u8> {
        self.client
            .get(format!("{}/api/documents/{reference}/pdf", self.url))
            .bearer_auth(jeton)
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            .to_vec()
    }

    /// The document once it reached `etat` and the outbox is empty: its sealed PDF, checked
    /// against the SHA-256 the API gives for the sealed version.
    pub fn pdf_scelle(&self, jeton: &str, reference: &str, etat: &str) -> Vec<u8> {
        let fini = self.attendre_etat(jeton, reference, etat);
        let scelle = fini["document"]["sha256_scelle"]
            .as_str()
            .unwrap()
            .to_owned();
        self.attendre_outbox_vide(jeton);
        let pdf = self.pdf(jeton, reference);
        assert_eq!(crate::support::sha256_hex(&pdf), scelle);
        pdf
    }

    pub fn importer(&self, jeton: &str, csv: &str) -> (StatusCode, Value) {
        let reponse = self
            .client
            .post(format!("{}/api/participants/import", self.url))
            .bearer_auth(jeton)
            .header("content-type", "text/csv")
            .body(csv.to_owned())
            .send()
            .unwrap();
        let status = reponse.status();
        (status, reponse.json().unwrap_or(Value::Null))
    }

    /// Imports `lignes` of the parcours software's extraction (its header added) as `jeton`.
    pub fn importer_lignes(&self, jeton: &str, lignes: &[&str]) -> (StatusCode, Value) {
        let entete = EXTRACTION.lines().next().unwrap_or_default();
        self.importer(jeton, &format!("{entete}\n{}\n", lignes.join("\n")))
    }

    /// Waits until the outbox has nothing left to do.
    pub fn attendre_outbox_vide(&self, jeton: &str) {
        let debut = Instant::now();
        loop {
            let v = self.ok("GET", "/api/sante", jeton, None);
            if v["outbox"]["en_attente"] == 0 {
                return;
            }
            assert!(
                debut.elapsed() < Duration::from_secs(120),
                "boîte d'envoi jamais vide : {v}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The signature of line `rang` of `version`, collected in person by `jeton`'s holder.
    pub fn signer_en_presence(
        &self,
        jeton: &str,
        reference: &str,
        version: &str,
        rang: i64,
    ) -> (StatusCode, Value) {
        self.appel(
            "POST",
            &format!("/api/documents/{reference}/signatures"),
            jeton,
            Some(&json!({ "rang": rang, "signature": signature(version) })),
        )
    }

    /// An audit pack asked for over HTTP as `jeton`, waited for and downloaded: its bytes.
    pub fn pack(&self, jeton: &str, demande: &Value) -> Vec<u8> {
        let v = self.ok("POST", "/api/exports", jeton, Some(demande));
        let reference = v["ref"].as_str().unwrap().to_owned();
        self.attendre_pack(jeton, &reference);
        self.telecharger_pack(jeton, &reference)
    }

    /// Waits until the export `reference` is made (by whichever instance).
    pub fn attendre_pack(&self, jeton: &str, reference: &str) {
        let debut = Instant::now();
        loop {
            let v = self.ok("GET", &format!("/api/exports/{reference}"), jeton, None);
            if v["etat"] == "fini" {
                return;
            }
            assert_ne!(v["etat"], "echec", "{v}");
            assert!(
                debut.elapsed() < Duration::from_secs(120),
                "pack jamais fini : {v}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The bytes of the finished export `reference`.
    pub fn telecharger_pack(&self, jeton: &str, reference: &str) -> Vec<u8> {
        let r = self
            .client
            .get(format!("{}/api/exports/{reference}/zip", self.url))
            .bearer_auth(jeton)
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "pack {reference}");
        r.bytes().unwrap().to_vec()
    }

    /// Waits until a document reaches `etat`.
    pub fn attendre_etat(&self, jeton: &str, reference: &str, etat: &str) -> Value {
        let debut = Instant::now();
        loop {
            let v = self.ok("GET", &format!("/api/documents/{reference}"), jeton, None);
            if v["document"]["etat"] == etat {
                return v;
            }
            assert!(
                debut.elapsed() < Duration::from_secs(120),
                "{reference} reste {} (attendu {etat})",
                v["document"]["etat"]
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.tuer();
    }
}

/// The password staff choose in the scenarios.
pub const MOT_DE_PASSE: &str = "une phrase de passe assez longue";

impl Service {
    /// A staff member chooses his password as a person does the first time: the reset link
    /// received by e-mail, then the form it opens.
    pub fn activer(&self, smtp: &Smtp, email: &str) {
        self.activer_par(email, || smtp.attendre(email, "/compte/"));
    }

    /// The same, the link read from the mail `courriel` waits for.
    pub fn activer_par(&self, email: &str, courriel: impl FnOnce() -> String) {
        let client = Navigateur::client();
        let reponse = client
            .post(format!("{}/mot-de-passe-oublie", self.url))
            .form(&[("email", email)])
            .send()
            .unwrap();
        assert!(reponse.status().is_redirection() || reponse.status().is_success());
        self.choisir_le_mot_de_passe(&courriel(), &[]);
    }

    /// The password chosen on the page the link of `courriel` opens (an activation asks the
    /// person's identity too: `identite`, its fields).
    pub fn choisir_le_mot_de_passe(&self, courriel: &str, identite: &[(&str, &str)]) {
        let debut = courriel.find("/compte/").unwrap() + "/compte/".len();
        let jeton: String = courriel[debut..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let mut champs = identite.to_vec();
        champs.extend([
            ("mot_de_passe", MOT_DE_PASSE),
            ("confirmation", MOT_DE_PASSE),
        ]);
        let reponse = Navigateur::client()
            .post(format!("{}/compte/{jeton}", self.url))
            .form(&champs)
            .send()
            .unwrap();
        assert!(
            reponse.status().is_redirection(),
            "mot de passe refusé : {}",
            reponse.text().unwrap()
        );
    }

    /// A new browser session of `email` (his password chosen already), through the login form.
    pub fn session(&self, email: &str) -> Navigateur {
        let client = Navigateur::client();
        let reponse = client
            .post(format!("{}/connexion", self.url))
            .form(&[("email", email), ("mot_de_passe", MOT_DE_PASSE)])
            .send()
            .unwrap();
        let cookie = reponse
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("parafe_session="))
            .and_then(|v| v.split(';').next())
            .unwrap_or_else(|| panic!("connexion de {email} refusée : {}", reponse.status()))
            .to_owned();
        let mut navigateur = Navigateur {
            client,
            url: self.url.clone(),
            cookie,
            csrf: String::new(),
        };
        let (_, accueil) = navigateur.get("/accueil");
        navigateur.csrf = entre(&accueil, "name=\"csrf\" value=\"", "\"")
            .expect("jeton anti-CSRF dans la page")
            .to_owned();
        navigateur
    }

    /// [`Service::activer`] then [`Service::session`].
    pub fn connecter(&self, smtp: &Smtp, email: &str) -> Navigateur {
        self.activer(smtp, email);
        self.session(email)
    }
}

fn entre<'a>(texte: &'a str, debut: &str, fin: &str) -> Option<&'a str> {
    let i = texte.find(debut)? + debut.len();
    let j = texte[i..].find(fin)? + i;
    Some(&texte[i..j])
}

/// A staff member's browser (a desk, or a tablet the kiosk locks): his session cookie and its
/// anti-CSRF token, sent the way parafe's pages and scripts send them.
pub struct Navigateur {
    client: Client,
    url: String,
    pub cookie: String,
    pub csrf: String,
}

/// A sheet open on a tablet, as the kiosk page gives it to its script.
#[derive(Debug, Clone)]
pub struct Feuille {
    pub kiosque: String,
    pub document: String,
    pub version: String,
    pub signataires: Vec<Value>,
}

impl Feuille {
    /// The signer id of the attendee line `nom` (« Samira BENALI »).
    pub fn id(&self, nom: &str) -> i64 {
        self.signataires
            .iter()
            .find(|s| s["nom"] == nom)
            .and_then(|s| s["id"].as_i64())
            .unwrap_or_else(|| panic!("{nom} n'est pas sur la feuille : {:?}", self.signataires))
    }
}

/// Sends `requete` with `corps` as JSON: the status and the JSON answered (or its text).
fn envoyer_json(
    mut requete: reqwest::blocking::RequestBuilder,
    corps: Option<&Value>,
) -> (StatusCode, Value) {
    if let Some(c) = corps {
        requete = requete.json(c);
    }
    let reponse = requete.send().unwrap();
    let status = reponse.status();
    let texte = reponse.text().unwrap();
    (
        status,
        serde_json::from_str(&texte).unwrap_or(Value::String(texte)),
    )
}

/// A page's answer: its status, and where it redirects (or its HTML).
fn lieu_ou_page(reponse: reqwest::blocking::Response) -> (StatusCode, String) {
    let status = reponse.status();
    let lieu = reponse
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    (status, lieu.unwrap_or_else(|| reponse.text().unwrap()))
}

impl Navigateur {
    /// The same session on another instance of the cluster.
    pub fn sur(&self, service: &Service) -> Navigateur {
        Navigateur {
            client: self.client.clone(),
            url: service.url.clone(),
            cookie: self.cookie.clone(),
            csrf: self.csrf.clone(),
        }
    }

    pub fn client() -> Client {
        Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .user_agent("Mozilla/5.0 (Linux; Android 14; SM-X710) parafe-essais")
            .build()
            .unwrap()
    }

    /// A page: its status and HTML (or where it redirects).
    pub fn get(&self, chemin: &str) -> (StatusCode, String) {
        lieu_ou_page(self.demander(chemin))
    }

    fn demander(&self, chemin: &str) -> reqwest::blocking::Response {
        self.client
            .get(format!("{}{chemin}", self.url))
            .header("cookie", &self.cookie)
            .send()
            .unwrap()
    }

    /// A download of a page (a spreadsheet…): status, content type and bytes.
    pub fn octets(&self, chemin: &str) -> (StatusCode, String, Vec<u8>) {
        let reponse = self.demander(chemin);
        let type_ = reponse
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (reponse.status(), type_, reponse.bytes().unwrap().to_vec())
    }

    /// A form of a page, with the session's token: status, and where it leads (or the page).
    pub fn formulaire(&self, chemin: &str, champs: &[(&str, &str)]) -> (StatusCode, String) {
        let mut champs = champs.to_vec();
        champs.push(("csrf", &self.csrf));
        let reponse = self
            .client
            .post(format!("{}{chemin}", self.url))
            .header("cookie", &self.cookie)
            .form(&champs)
            .send()
            .unwrap();
        lieu_ou_page(reponse)
    }

    /// A form with a file (`multipart/form-data`), its CSRF token first, as a page sends it.
    pub fn depot(&self, chemin: &str, fichier: (&str, &[u8])) -> (StatusCode, String) {
        let (type_, corps) = crate::pack::multipart(&[("csrf", &self.csrf)], Some(fichier));
        let reponse = self
            .client
            .post(format!("{}{chemin}", self.url))
            .header("cookie", &self.cookie)
            .header("content-type", type_)
            .body(corps)
            .send()
            .unwrap();
        lieu_ou_page(reponse)
    }

    /// A JSON request as a page's script sends it (`X-CSRF-Token`).
    pub fn json(&self, methode: &str, chemin: &str, corps: Option<&Value>) -> (StatusCode, Value) {
        let requete = self
            .client
            .request(methode.parse().unwrap(), format!("{}{chemin}", self.url))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .header("accept", "application/json");
        envoyer_json(requete, corps)
    }

    /// Opens a workshop sheet for `participants` (references) on this tablet, which the kiosk
    /// then locks on it.
    pub fn ouvrir_atelier(&self, intitule: &str, date: &str, participants: &[&str]) -> Feuille {
        let mut champs = vec![
            ("genre", "collectif"),
            ("intitule", intitule),
            ("date", date),
            ("heure_debut", "09:30"),
            ("heure_fin", "11:30"),
            ("lieu", "Maison de l'emploi, salle Camargue"),
        ];
        champs.extend(participants.iter().map(|p| ("participants", *p)));
        let (status, lieu) = self.formulaire("/kiosque", &champs);
        assert!(
            status.is_redirection(),
            "ouverture refusée : {status} {lieu}"
        );
        let kiosque = lieu.trim_start_matches("/kiosque/").to_owned();
        self.feuille(&kiosque)
    }

    /// The sheet as the kiosk page shows it now.
    pub fn feuille(&self, kiosque: &str) -> Feuille {
        let (status, page) = self.get(&format!("/kiosque/{kiosque}"));
        assert_eq!(status, StatusCode::OK, "{page}");
        let donnees = entre(
            &page,
            "id=\"donnees-kiosque\" type=\"application/json\">",
            "</script>",
        )
        .expect("données du kiosque dans la page");
        let v: Value = serde_json::from_str(donnees).unwrap();
        Feuille {
            kiosque: kiosque.to_owned(),
            document: v["document"].as_str().unwrap().to_owned(),
            version: v["version"].as_str().unwrap().to_owned(),
            signataires: v["signataires"].as_array().unwrap().clone(),
        }
    }

    /// A signature sent by the tablet for the attendee `signataire`, or for a person added on
    /// the spot (`nouveau`).
    pub fn signer(&self, f: &Feuille, cle: &str, qui: Value) -> (StatusCode, Value) {
        let mut corps = json!({ "cle": cle, "signature": signature(&f.version) });
        corps
            .as_object_mut()
            .unwrap()
            .extend(qui.as_object().unwrap().clone());
        self.json(
            "POST",
            &format!("/kiosque/{}/signatures", f.kiosque),
            Some(&corps),
        )
    }

    /// The closing signature (the animator).
    pub fn cloturer(&self, f: &Feuille, cle: &str, signature: Value) -> (StatusCode, Value) {
        self.json(
            "POST",
            &format!("/kiosque/{}/cloture", f.kiosque),
            Some(&json!({ "cle": cle, "signature": signature })),
        )
    }
}

/// A participants file in the parcours software's shape.
pub const EXTRACTION: &str = "\
Identifiant;Civilité;Nom;Prénom;Date de naissance;Email;Téléphone;Code postal;Commune;Département;Email référent;Nom référent;Prénom référent;Opération;Prescripteur;Email prescripteur;Date d'entrée;RSA;Début CER;Date de sortie;Motif de sortie
P-2025-0412;Madame;Benali;Samira;12/05/1988;samira.benali@exemple.fr;0601020304;34400;Lunel;34;t.garnier@plie.fr;Garnier;Thomas;202500417;France Travail Lunel;conseil@francetravail.exemple;04/03/2025;Non;;;
P-2025-0413;Monsieur;Durand;Karim;01/02/1979;karim.durand@exemple.fr;;34130;Mauguio;34;t.garnier@plie.fr;Garnier;Thomas;202500417;Département de l'Hérault;sdi@herault.exemple;20/01/2025;Oui;15/01/2025;;
";

/// A drawn signature as the tablet sends it (strokes with timing and pressure).
pub fn signature(version: &str) -> Value {
    json!({
        "trace": { "largeur": 600, "hauteur": 200, "traits": [
            [ { "x": 20, "y": 150, "t": 0, "p": 0.4 }, { "x": 120, "y": 40, "t": 35, "p": 0.6 }, { "x": 220, "y": 160, "t": 70, "p": 0.5 } ],
            [ { "x": 260, "y": 120, "t": 300 }, { "x": 520, "y": 90, "t": 380 } ]
        ] },
        "consentement": "J'ai lu ce document et je le signe électroniquement. Je sais que ma signature, l'heure, mon adresse IP et mon appareil sont conservés comme preuve.",
        "version": version,
    })
}

pub fn contrat_donnees() -> Value {
    let mut d = crate::support::example("contrat-engagement");
    let o = d.as_object_mut().unwrap();
    for cle in [
        "reference",
        "participant",
        "referent",
        "operation",
        "date_entree",
    ] {
        o.remove(cle);
    }
    d
}

pub fn fiche_plie(service: &Service, jeton: &str) {
    let plie = crate::support::example("contrat-engagement")["plie"].clone();
    service.ok("PUT", "/api/plie", jeton, Some(&plie));
    service.ok("PUT", "/api/departements/34", jeton, Some(&json!({
        "nom": "Hérault", "email_referent_unique": "ru@herault.exemple", "email_sdi": "sdi@herault.exemple"
    })));
}

/// What the coordinateur does after the first import: he describes the opération it named
/// (title, programme), without which no document for its participants leaves.
pub fn decrire_l_operation(service: &Service, jeton: &str) {
    service.ok(
        "PUT",
        "/api/operations/202500417",
        jeton,
        Some(&json!({
            "intitule": "Accompagnement renforcé vers l'emploi 2025-2026", "programme": "fse-plus-2021-2027",
            "debut": "2025-01-01", "fin": "2026-12-31",
        })),
    );
}

pub fn participant_ref(service: &Service, jeton: &str, nom: &str) -> String {
    let v = service.ok(
        "GET",
        &format!("/api/participants?recherche={nom}"),
        jeton,
        None,
    );
    v["participants"][0]["ref"].as_str().unwrap().to_owned()
}

/// The files of the PLIE's journal segments, in order (anchoring closes segments).
pub fn segments_du_journal(data: &Path) -> Vec<PathBuf> {
    let mut segments: Vec<_> = std::fs::read_dir(data.join("journal/plie-test"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    segments.sort();
    segments
}

/// Every segment of the PLIE's journal, in order.
pub fn journal(data: &Path) -> String {
    segments_du_journal(data)
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

pub fn lien(courriel: &str) -> String {
    let debut = courriel
        .find("/signer/")
        .expect("lien de signature dans le courriel");
    courriel[debut + "/signer/".len()..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}

/// The name of the PDF attached to a message.
fn nom_piece_jointe(courriel: &str) -> &str {
    courriel
        .lines()
        .find_map(|l| l.strip_prefix("Piece-Jointe: "))
        .expect("une pièce jointe")
}

/// A service whose PLIE is set up: its fiche, the Département 34, the participants of
/// [`EXTRACTION`] imported by a coordinateur, and their référent's token.
pub struct Plie {
    /// Keep it bound (`dir: _dir`): dropping it deletes the service's files.
    pub dir: tempfile::TempDir,
    pub smtp: Smtp,
    pub service: Service,
    pub coordinateur: String,
    pub referent: String,
    /// What the import answered.
    pub import: Value,
}

impl Plie {
    pub fn pret(horloge: Option<&str>) -> Plie {
        Plie::pret_avec(horloge, Reglages::default())
    }

    pub fn pret_avec(horloge: Option<&str>, reglages: Reglages<'_>) -> Plie {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        Plie::pret_dans(dir, &data, horloge, reglages)
    }

    /// The same, with the service's data directory at `data` (a small filesystem…).
    pub fn pret_dans(
        dir: tempfile::TempDir,
        data: &Path,
        horloge: Option<&str>,
        reglages: Reglages<'_>,
    ) -> Plie {
        let smtp = Smtp::start(&dir.path().join("smtp"));
        let service = Service::lancer(
            data,
            Reglages {
                smtp: Some(smtp.port),
                horloge,
                ..reglages
            },
        );
        let coordinateur = service.compte("coord@plie.fr", "coordinateur", Some("plie-test"));
        fiche_plie(&service, &coordinateur);
        let (status, import) = service.importer(&coordinateur, EXTRACTION);
        assert_eq!(status, StatusCode::OK, "{import}");
        decrire_l_operation(&service, &coordinateur);
        let referent = service.compte("t.garnier@plie.fr", "referent", Some("plie-test"));
        Plie {
            dir,
            smtp,
            service,
            coordinateur,
            referent,
            import,
        }
    }
}

#[test]
fn contrat_signe_par_lien_puis_sur_tablette_scelle_depose_et_remis() {
    let Plie {
        dir,
        smtp,
        service,
        referent,
        import,
        ..
    } = Plie::pret(None);
    assert_eq!(import["participants"], 2);
    let samira = participant_ref(&service, &referent, "Benali");

    let cree = service.ok(
        "POST",
        "/api/documents",
        &referent,
        Some(&json!({
            "workflow": "contrat-engagement", "participant": samira, "donnees": contrat_donnees(),
            "signataires": [{ "role": "participant", "methode": "lien" }],
        })),
    );
    let reference = cree["document"]["ref"].as_str().unwrap().to_owned();
    assert_eq!(cree["document"]["etat"], "brouillon");
    let envoye = service.ok(
        "POST",
        &format!("/api/documents/{reference}/envoi"),
        &referent,
        None,
    );
    assert_eq!(envoye["document"]["etat"], "envoye");
    let version = envoye["document"]["sha256_rendu"]
        .as_str()
        .unwrap()
        .to_owned();

    // The participant's mail: subject and personal link.
    let invitation = smtp.attendre("samira.benali@exemple.fr", "/signer/");
    assert!(
        invitation.contains("Subject: Contrat d'engagement à signer — PLIE du Pays de l'Or"),
        "{invitation}"
    );
    let jeton = lien(&invitation);
    // Before the code, the link shows nothing of the document nor whom it concerns.
    let ouvert = service.ok("GET", &format!("/api/signature/{jeton}"), "", None);
    assert_eq!(ouvert["code_confirme"], false, "{ouvert}");
    assert!(ouvert.get("version").is_none() && ouvert.get("signataire").is_none());
    // Signing before the code is confirmed is refused.
    let (status, v) = service.appel(
        "POST",
        &format!("/api/signature/{jeton}"),
        "",
        Some(&signature(&version)),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    let code = code_recu(&service, &smtp, "samira.benali@exemple.fr", &jeton);
    let (status, v) = service.appel(
        "POST",
        &format!("/api/signature/{jeton}/verification"),
        "",
        Some(&json!({ "code": "000000x" })),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["erreur"]
            .as_str()
            .unwrap()
            .contains("il vous reste 4 essai"),
        "{v}"
    );
    service.ok(
        "POST",
        &format!("/api/signature/{jeton}/verification"),
        "",
        Some(&json!({ "code": code })),
    );
    let ouvert = service.ok("GET", &format!("/api/signature/{jeton}"), "", None);
    assert_eq!(ouvert["version"], version.as_str());
    let signe = service.ok(
        "POST",
        &format!("/api/signature/{jeton}"),
        "",
        Some(&signature(&version)),
    );
    assert_eq!(signe["etat"], "partiellement_signe");
    // The link is single use.
    let (status, _) = service.appel("GET", &format!("/api/signature/{jeton}"), "", None);
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The référent signs on the tablet; the outbox seals, files and delivers.
    service.ok(
        "POST",
        &format!("/api/documents/{reference}/signatures"),
        &referent,
        Some(&json!({ "rang": 1, "signature": signature(&version) })),
    );
    let fini = service.attendre_etat(&referent, &reference, "delivre");
    service.attendre_outbox_vide(&referent);
    let scelle = fini["document"]["sha256_scelle"]
        .as_str()
        .unwrap()
        .to_owned();

    // Delivered to the participant and the prescripteur, sealed PDF attached.
    for destinataire in ["samira.benali@exemple.fr", "conseil@francetravail.exemple"] {
        let remise = smtp.attendre(destinataire, "signé et scellé");
        let pdf = smtp.piece_jointe(&remise, nom_piece_jointe(&remise));
        assert_eq!(
            crate::support::sha256_hex(&pdf),
            scelle,
            "la pièce jointe est la version scellée"
        );
        let chemin = dir.path().join(format!("remis-{destinataire}.pdf"));
        std::fs::write(&chemin, &pdf).unwrap();
        let out = parafe(&[
            "verify",
            &chemin.to_string_lossy(),
            "--data-dir",
            &service.data.to_string_lossy(),
        ]);
        assert!(
            out.status.success(),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let contenu = crate::support::pdf_text(&chemin);
        assert!(contenu.contains("Samira"), "{contenu}");
        assert!(
            contenu.contains("Certificat de preuve") || contenu.contains("CERTIFICAT DE PREUVE"),
            "{contenu}"
        );
        assert!(
            contenu.contains(&version[..16]),
            "l'empreinte de la version présentée figure au certificat"
        );
    }
    // The downloaded PDF is the same, and the journal holds the whole life of the document.
    let octets = service.pdf(&referent, &reference);
    assert_eq!(crate::support::sha256_hex(&octets), scelle);
    let journal = journal(&service.data);
    for etape in [
        "\"to\":\"envoye\"",
        "\"to\":\"partiellement_signe\"",
        "\"to\":\"signe\"",
        "\"to\":\"scelle\"",
        "\"to\":\"depose\"",
        "\"to\":\"delivre\"",
        "document_delivered",
        "document_filed",
        "document_signed",
        "document_downloaded",
    ] {
        assert!(journal.contains(etape), "journal sans {etape}");
    }
    assert!(
        !journal.contains("Benali") && !journal.contains("samira.benali"),
        "pas de donnée personnelle en clair au journal"
    );
    let out = parafe(&[
        "verify",
        "--store",
        "--data-dir",
        &service.data.to_string_lossy(),
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // A sealed document cannot be cancelled.
    let (status, v) = service.appel(
        "POST",
        &format!("/api/documents/{reference}/annulation"),
        &referent,
        None,
    );
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
}

#[test]
fn mauvaises_entrees_refusees_en_francais_sans_rien_ecrire() {
    let Plie {
        dir: _dir,
        service,
        coordinateur,
        referent,
        ..
    } = Plie::pret(None);
    let samira = participant_ref(&service, &referent, "Benali");
    // Another PLIE on the same service, with its own participant.
    let autre = service.compte("coord@autre-plie.fr", "coordinateur", Some("autre-plie"));
    let ligne_autre = EXTRACTION
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join("\n")
        .replace("P-2025-0412", "X-1")
        .replace("t.garnier@plie.fr", "ref@autre-plie.fr");
    assert_eq!(service.importer(&autre, &ligne_autre).0, StatusCode::OK);
    let etranger = participant_ref(&service, &autre, "Benali");
    let avant = service.ok("GET", "/api/documents", &coordinateur, None);

    let brut = service
        .client
        .post(format!("{}/api/documents", service.url))
        .bearer_auth(&referent)
        .header("content-type", "application/json")
        .body("{\"workflow\": \"contrat-engagement\",")
        .send()
        .unwrap();
    assert_eq!(brut.status(), StatusCode::BAD_REQUEST);
    let v: Value = brut.json().unwrap();
    assert!(
        v["erreur"].as_str().unwrap().starts_with("JSON mal formé"),
        "{v}"
    );

    let cas = [
        (
            json!({ "workflow": "contrat-inconnu", "participant": samira }),
            "workflow",
            "workflow « contrat-inconnu » inconnu",
        ),
        (
            json!({ "workflow": "contrat-engagement", "participant": etranger, "donnees": contrat_donnees() }),
            "participant",
            "aucun participant",
        ),
        (
            json!({ "workflow": "contrat-engagement", "participant": samira, "donnees": contrat_donnees(), "signataires": [{ "role": "participant", "methode": "lien", "email": "samira-at-exemple" }] }),
            "signataires[0].email",
            "n'est pas une adresse e-mail",
        ),
        (
            json!({ "workflow": "contrat-engagement", "participant": samira, "donnees": { "date_entree": "04/03/2025" } }),
            "donnees.",
            "date_entree",
        ),
        (
            json!({ "workflow": "contrat-engagement", "participant": samira, "inconnu": 1 }),
            "inconnu",
            "unknown field",
        ),
    ];
    for (corps, champ, message) in cas {
        let (status, v) = service.appel("POST", "/api/documents", &referent, Some(&corps));
        assert!(status.is_client_error(), "{corps} → {status}");
        assert!(
            v["champ"].as_str().unwrap_or_default().starts_with(champ),
            "{corps} → {v}"
        );
        assert!(
            v["erreur"].as_str().unwrap().contains(message),
            "{corps} → {v}"
        );
    }
    // The other PLIE's participant is invisible, not forbidden.
    let (status, _) = service.appel(
        "GET",
        &format!("/api/participants/{etranger}"),
        &referent,
        None,
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A bad import writes nothing and names line and column.
    let mauvais = EXTRACTION
        .replace("12/05/1988", "31/02/1988")
        .replace("karim.durand@exemple.fr", "karim");
    let (status, v) = service.importer(&coordinateur, &mauvais);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let erreur = v["erreur"].as_str().unwrap();
    assert!(
        erreur.contains("ligne 2 (Date de naissance)") && erreur.contains("ligne 3 (Email)"),
        "{erreur}"
    );
    // An assistant reads but never creates.
    let assistant = service.compte("assistant@plie.fr", "assistant", Some("plie-test"));
    let (status, _) = service.appel("POST", "/api/documents", &assistant, Some(&json!({ "workflow": "contrat-engagement", "participant": samira, "donnees": contrat_donnees() })));
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = service.appel("GET", "/api/documents", "pfa_faux", None);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        service.ok("GET", "/api/documents", &coordinateur, None),
        avant,
        "base inchangée"
    );
}

#[test]
fn bilans_brsa_dus_a_5_11_17_mois_remis_au_departement_et_sortie_anticipee() {
    // The service's clock reads 20 June 2025: the 5-month bilan (15 June) is overdue.
    let Plie {
        dir: _dir,
        smtp,
        service,
        referent,
        import,
        ..
    } = Plie::pret(Some("2025-06-20T08:00:00Z"));
    assert_eq!(import["bilans"]["crees"], 3, "{import}");
    let karim = participant_ref(&service, &referent, "Durand");
    // The plan: (bilan, due day, document once opened).
    let plan = |service: &Service| -> Vec<(String, String, Option<String>)> {
        service.ok(
            "GET",
            &format!("/api/participants/{karim}"),
            &referent,
            None,
        )["bilans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["bilan"].as_str().unwrap().to_owned(),
                    b["echeance"].as_str().unwrap().to_owned(),
                    b["document"].as_str().map(str::to_owned),
                )
            })
            .collect()
    };
    assert_eq!(
        plan(&service),
        [
            ("5".into(), "2025-06-15".into(), None),
            ("11".into(), "2025-12-15".into(), None),
            ("17".into(), "2026-06-15".into(), None)
        ],
        "planifiés, aucun document avant que le référent les ouvre"
    );
    let retard = service.ok("GET", "/api/bilans/en-retard", &referent, None);
    assert_eq!(retard["bilans"].as_array().unwrap().len(), 1);
    assert_eq!(retard["bilans"][0]["bilan"], "5");
    assert_eq!(retard["bilans"][0]["document"], Value::Null);

    // The référent opens the 11-month bilan: its draft, the same one on a second opening, his
    // name as signer. A bilan that is not planned names those that are.
    let ouvrir = |bilan: &str| {
        service.ok(
            "POST",
            &format!("/api/participants/{karim}/bilans/{bilan}"),
            &referent,
            None,
        )
    };
    let onze = ouvrir("11");
    assert_eq!(onze["document"]["etat"], "brouillon");
    assert_eq!(onze["document"]["echeance"], "2025-12-15");
    assert_eq!(onze["signataires"][0]["role"], "referent");
    assert_eq!(onze["signataires"][0]["nom"], "Thomas GARNIER");
    let onze = onze["document"]["ref"].as_str().unwrap().to_owned();
    assert_eq!(ouvrir("11")["document"]["ref"], onze.as_str());
    // The draft starts from the dossier and the settings: the Département's Référent unique
    // and SDI, the participant; its page names, in French, what is left to write, never a
    // composition failure.
    let navigateur = service.connecter(&smtp, "t.garnier@plie.fr");
    let (_, formulaire) = navigateur.get(&format!("/documents/{onze}/modifier"));
    for attendu in [
        "ru@herault.exemple",
        "sdi@herault.exemple",
        "Durand",
        "11 mois",
    ] {
        assert!(
            formulaire.contains(attendu),
            "« {attendu} » absent : {formulaire}"
        );
    }
    let (status, page) = navigateur.get(&format!("/documents/{onze}"));
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("erreur interne"), "{page}");
    for attendu in [
        "L'aperçu viendra quand le brouillon sera complet",
        "Synthèse du parcours",
        "Objectifs",
        "Compléter le brouillon",
    ] {
        assert!(page.contains(attendu), "« {attendu} » absent : {page}");
    }
    for deja_connu in [
        "Référent unique RSA",
        "Service départemental d'insertion",
        "Opération FSE",
    ] {
        assert!(!page.contains(&format!("<strong>{deja_connu}")), "{page}");
    }
    // Opened from several screens at the same moment: one draft, the same for all.
    let ouverts: Vec<Value> = std::thread::scope(|s| {
        let fils: Vec<_> = (0..6).map(|_| s.spawn(|| ouvrir("17"))).collect();
        fils.into_iter().map(|f| f.join().unwrap()).collect()
    });
    let dix_sept = &ouverts[0]["document"]["ref"];
    assert!(
        ouverts.iter().all(|o| &o["document"]["ref"] == dix_sept),
        "{ouverts:?}"
    );
    let documents = service.ok(
        "GET",
        &format!("/api/documents?participant={karim}&bilan=17"),
        &referent,
        None,
    );
    assert_eq!(documents["documents"].as_array().unwrap().len(), 1);
    let (status, refus) = service.appel(
        "POST",
        &format!("/api/participants/{karim}/bilans/24"),
        &referent,
        None,
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refus}");
    assert!(
        refus.to_string().contains("bilans prévus : 5, 11, 17"),
        "{refus}"
    );

    // The CER start moves: pending bilans follow, the opened draft with them.
    let change = service.ok(
        "PATCH",
        &format!("/api/participants/{karim}"),
        &referent,
        Some(&json!({ "cer_debut": "2025-01-31" })),
    );
    assert_eq!(change["bilans"]["deplaces"], 3, "{change}");
    let echeances: Vec<String> = plan(&service).into_iter().map(|b| b.1).collect();
    assert_eq!(
        echeances,
        ["2025-06-30", "2025-12-31", "2026-06-30"],
        "fin de mois : dernier jour du mois plus court"
    );
    let brouillon = service.ok("GET", &format!("/api/documents/{onze}"), &referent, None);
    assert_eq!(brouillon["document"]["echeance"], "2025-12-31");

    // Due in 10 days: the référent is reminded (15 days before), once.
    let rappel = smtp.attendre(
        "t.garnier@plie.fr",
        "Subject: Bilan BRSA à rédiger pour le 30/06/2025",
    );
    assert!(
        rappel.contains(&format!("/participants/{karim}")),
        "le rappel mène au dossier où le bilan s'ouvre : {rappel}"
    );

    // The référent writes and signs the 5-month bilan: sealed, filed, sent to RU and SDI.
    let cinq = ouvrir("5")["document"]["ref"].as_str().unwrap().to_owned();
    let mut donnees = crate::support::example("bilan-brsa");
    for cle in [
        "reference",
        "plie",
        "operation",
        "participant",
        "referent",
        "referent_unique",
        "sdi",
        "echeance",
        "date",
        "cer",
    ] {
        donnees.as_object_mut().unwrap().remove(cle);
    }
    donnees["cer"] = json!({ "debut": "2025-01-31", "fin": "2026-01-30" });
    service.ok(
        "PATCH",
        &format!("/api/documents/{cinq}/donnees"),
        &referent,
        Some(&donnees),
    );
    let envoye = service.ok(
        "POST",
        &format!("/api/documents/{cinq}/envoi"),
        &referent,
        None,
    );
    let version = envoye["document"]["sha256_rendu"]
        .as_str()
        .unwrap()
        .to_owned();
    service.ok(
        "POST",
        &format!("/api/documents/{cinq}/signatures"),
        &referent,
        Some(&json!({ "rang": 0, "signature": signature(&version) })),
    );
    service.attendre_etat(&referent, &cinq, "delivre");
    service.attendre_outbox_vide(&referent);
    for destinataire in ["ru@herault.exemple", "sdi@herault.exemple"] {
        let m = smtp.attendre(destinataire, "Subject: Bilan BRSA signé et scellé");
        assert!(nom_piece_jointe(&m).ends_with(".pdf"));
    }
    let journal = journal(&service.data);
    assert_eq!(
        journal
            .matches("\"recipient\":\"referent_unique_rsa\"")
            .count(),
        1
    );
    assert_eq!(journal.matches("\"recipient\":\"sdi\"").count(), 1);
    assert!(
        journal.contains("250 OK message accepte"),
        "la réponse SMTP est gardée en preuve"
    );

    // An exit is recorded once made: a day to come, or before the entry, is refused.
    for (jour, refus) in [
        ("2025-09-20", "à venir"),
        ("2024-12-31", "précéder l'entrée"),
    ] {
        let (status, v) = service.appel(
            "PATCH",
            &format!("/api/participants/{karim}"),
            &referent,
            Some(&json!({ "date_sortie": jour, "motif_sortie": "emploi durable" })),
        );
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["erreur"].as_str().unwrap().contains(refus), "{v}");
    }
    // Exit today, in month 5: the sortie anticipée bilan, the 11- and 17-month ones cancelled.
    let sortie = service.ok(
        "PATCH",
        &format!("/api/participants/{karim}"),
        &referent,
        Some(&json!({ "date_sortie": "2025-06-20", "motif_sortie": "emploi durable" })),
    );
    assert_eq!(
        sortie["bilans"],
        json!({ "crees": 1, "deplaces": 0, "annules": 2 })
    );
    let tous = service.ok(
        "GET",
        &format!("/api/documents?participant={karim}&workflow=bilan-brsa"),
        &referent,
        None,
    );
    let mut etats: Vec<(String, String)> = tous["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["bilan"].as_str().unwrap().to_owned(),
                d["etat"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    etats.sort();
    assert_eq!(
        etats,
        [
            ("11".into(), "annule".into()),
            ("17".into(), "annule".into()),
            ("5".into(), "delivre".into())
        ],
        "les brouillons ouverts des bilans à 11 et 17 mois sont annulés, le bilan signé reste"
    );
    assert_eq!(
        plan(&service),
        [
            ("sortie".into(), "2025-06-20".into(), None),
            ("5".into(), "2025-06-30".into(), Some(cinq.clone()))
        ]
    );
}

#[test]
fn les_brouillons_de_bilans_d_une_version_precedente_forment_l_echeancier() {
    // The rows of an earlier SQLite version (json_object, its migration 7): no PostgreSQL past.
    if base_postgres() {
        return;
    }
    let Plie {
        dir: _dir,
        mut service,
        referent,
        ..
    } = Plie::pret(Some("2025-06-20T08:00:00Z"));
    let karim = participant_ref(&service, &referent, "Durand");
    service.tuer();
    // The data directory as the version before the plan left it: every bilan a draft document
    // with the référent as signer, and no plan (its migration not applied yet).
    let ancien = "
      INSERT INTO document (plie, ref, workflow, modele, participant_id, operation_id, etat,
          donnees, bilan, echeance, cree_le, modifie_le)
        SELECT p.plie, 'd-ancien' || b.bilan, 'bilan-brsa', 'bilan-brsa', p.id, p.operation_id,
          'brouillon', json_object('echeance', b.bilan || ' mois', 'date', b.echeance,
          'cer', json_object('debut', p.cer_debut)), b.bilan, b.echeance,
          '2025-06-01T00:00:00Z', '2025-06-01T00:00:00Z'
        FROM bilan_prevu b JOIN participant p ON p.id = b.participant_id;
      INSERT INTO signataire (document_id, rang, role, nom, email, methode, personnel_id)
        SELECT d.id, 0, 'referent', r.prenom || ' ' || upper(r.nom), r.email, 'tablette', r.id
        FROM document d JOIN participant p ON p.id = d.participant_id
        JOIN personnel r ON r.id = p.referent_id WHERE d.bilan IS NOT NULL;
      DROP TABLE bilan_prevu;
      DELETE FROM _sqlx_migrations WHERE version = 7;";
    alterer_la_base(&service, ancien);
    service.redemarrer();
    let dossier = service.ok(
        "GET",
        &format!("/api/participants/{karim}"),
        &referent,
        None,
    );
    let plan: Vec<(&str, &str, &str)> = dossier["bilans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["bilan"].as_str().unwrap(),
                b["echeance"].as_str().unwrap(),
                b["document"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        plan,
        [
            ("5", "2025-06-15", "d-ancien5"),
            ("11", "2025-12-15", "d-ancien11"),
            ("17", "2026-06-15", "d-ancien17")
        ],
        "chaque brouillon garde sa place dans l'échéancier"
    );
    let ouvert = service.ok(
        "POST",
        &format!("/api/participants/{karim}/bilans/11"),
        &referent,
        None,
    );
    assert_eq!(
        ouvert["document"]["ref"], "d-ancien11",
        "pas de second brouillon"
    );
    let retard = service.ok("GET", "/api/bilans/en-retard", &referent, None);
    assert_eq!(retard["bilans"][0]["document"], "d-ancien5");
    assert_eq!(retard["bilans"].as_array().unwrap().len(), 1);
}

#[test]
fn arret_brutal_pendant_le_scellement_rien_perdu_rien_en_double() {
    let Plie {
        dir: _dir,
        smtp,
        mut service,
        referent,
        ..
    } = Plie::pret(None);
    let samira = participant_ref(&service, &referent, "Benali");
    const LOT: usize = 24;
    let mut references = Vec::new();
    for _ in 0..LOT {
        let (reference, version) = service.creer_et_envoyer(&referent, &json!({
            "workflow": "contrat-engagement", "participant": samira, "donnees": contrat_donnees(),
        }));
        service.ok(
            "POST",
            &format!("/api/documents/{reference}/signatures"),
            &referent,
            Some(&json!({ "rang": 0, "signature": signature(&version) })),
        );
        references.push((reference, version));
    }
    // The last signatures of the whole batch, then SIGKILL while the outbox seals and sends.
    for (reference, version) in &references {
        service.ok(
            "POST",
            &format!("/api/documents/{reference}/signatures"),
            &referent,
            Some(&json!({ "rang": 1, "signature": signature(version) })),
        );
    }
    let debut = Instant::now();
    while smtp
        .courriels()
        .iter()
        .filter(|m| m.contains("signé et scellé"))
        .count()
        < 3
        && debut.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    service.tuer();
    let avant = smtp
        .courriels()
        .iter()
        .filter(|m| m.contains("signé et scellé"))
        .count();
    assert!(
        avant < 2 * LOT,
        "l'arrêt doit tomber au milieu du lot ({avant} remises déjà faites)"
    );
    service.redemarrer();
    for (reference, _) in &references {
        service.attendre_etat(&referent, reference, "delivre");
    }
    service.attendre_outbox_vide(&referent);
    verifier_les_remises(&smtp, &journal(&service.data), &references);
    let out = parafe(&[
        "verify",
        "--store",
        "--data-dir",
        &service.data.to_string_lossy(),
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Asks for a link's one-time code and reads it in the mail, as the signer would.
pub fn code_recu(service: &Service, smtp: &Smtp, email: &str, jeton: &str) -> String {
    let deja = smtp.recus(email, "Votre code").len();
    service.ok("POST", &format!("/api/signature/{jeton}/code"), "", None);
    let message = smtp.attendre_nouveau(email, "Votre code", deja);
    message
        .split("Votre code pour signer le document : ")
        .nth(1)
        .unwrap()
        .chars()
        .take(6)
        .collect()
}

pub fn confirmer_code(service: &Service, smtp: &Smtp, email: &str, jeton: &str) {
    let code = code_recu(service, smtp, email, jeton);
    service.ok(
        "POST",
        &format!("/api/signature/{jeton}/verification"),
        "",
        Some(&json!({ "code": code })),
    );
}

#[test]
fn fiche_de_liaison_le_partenaire_remplit_son_retour_et_signe() {
    let Plie {
        dir,
        smtp,
        service,
        referent,
        ..
    } = Plie::pret(None);
    let samira = participant_ref(&service, &referent, "Benali");
    let mut donnees = crate::support::example("fiche-liaison-positionnement");
    let retour = donnees["retour"].clone();
    for cle in [
        "reference",
        "plie",
        "operation",
        "participant",
        "referent",
        "date_entree",
        "retour",
    ] {
        donnees.as_object_mut().unwrap().remove(cle);
    }
    let (reference, version) = service.creer_et_envoyer(&referent, &json!({
        "workflow": "fiche-liaison-positionnement", "participant": samira, "donnees": donnees,
        "signataires": [{ "role": "partenaire", "nom": "Karim BENOÎT", "email": "clauses@entreprise.exemple" }],
    }));
    // Sequential: the partner is invited only once the référent has signed.
    service.ok(
        "POST",
        &format!("/api/documents/{reference}/signatures"),
        &referent,
        Some(&json!({ "rang": 0, "signature": signature(&version) })),
    );
    let invitation = smtp.attendre("clauses@entreprise.exemple", "/signer/");
    let jeton = lien(&invitation);
    confirmer_code(&service, &smtp, "clauses@entreprise.exemple", &jeton);
    // Signing without the return leg is refused, naming it.
    let (status, v) = service.appel(
        "POST",
        &format!("/api/signature/{jeton}"),
        "",
        Some(&signature(&version)),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["champ"], "retour");
    let mut avec_retour = signature(&version);
    let mut retour = retour;
    retour["partenaire"]
        .as_object_mut()
        .unwrap()
        .remove("signature");
    avec_retour["retour"] = retour;
    service.ok(
        "POST",
        &format!("/api/signature/{jeton}"),
        "",
        Some(&avec_retour),
    );
    let fini = service.attendre_etat(&referent, &reference, "delivre");
    let scelle = fini["document"]["sha256_scelle"]
        .as_str()
        .unwrap()
        .to_owned();
    let remise = smtp.attendre("clauses@entreprise.exemple", "signé et scellé");
    let pdf = smtp.piece_jointe(&remise, nom_piece_jointe(&remise));
    assert_eq!(crate::support::sha256_hex(&pdf), scelle);
    let chemin = dir.path().join("fiche.pdf");
    std::fs::write(&chemin, &pdf).unwrap();
    let contenu = crate::support::pdf_text(&chemin);
    assert!(
        contenu.contains("Entretien positif"),
        "le retour du partenaire figure au document scellé"
    );
    smtp.attendre("t.garnier@plie.fr", "signé et scellé");
}

#[test]
fn emargement_collectif_les_presents_signent_dans_l_ordre_ou_ils_arrivent() {
    let Plie {
        dir,
        service,
        referent,
        ..
    } = Plie::pret(None);
    let mut donnees = crate::support::example("emargement-collectif");
    let o = donnees.as_object_mut().unwrap();
    for cle in ["reference", "plie", "cloture"] {
        o.remove(cle);
    }
    o["animateur"].as_object_mut().unwrap().remove("signature");
    let presents: Vec<Value> = o["participants"].as_array().unwrap()[..3]
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.as_object_mut().unwrap().remove("signature");
            p
        })
        .collect();
    o.insert("participants".into(), Value::Array(presents));
    // Attendees unknown to the PLIE: the sheet is the opération's it names by its number, and
    // that number must be one of the PLIE's.
    o["operation"] = json!({ "numero": "209900001" });
    let demande = json!({ "workflow": "emargement-collectif", "donnees": donnees });
    let (status, v) = service.appel("POST", "/api/documents", &referent, Some(&demande));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["champ"], "operation.numero", "{v}");
    let mut donnees = demande["donnees"].clone();
    donnees["operation"] = json!({ "numero": "202500417" });
    let (reference, version) = service.creer_et_envoyer(
        &referent,
        &json!({ "workflow": "emargement-collectif", "donnees": donnees }),
    );
    let signer = |rang: i64| service.signer_en_presence(&referent, &reference, &version, rang);
    // The animator signs last: before the attendees, refused, naming who comes first.
    let (status, v) = signer(3);
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(
        v["erreur"].as_str().unwrap().contains("Samira BENALI"),
        "{v}"
    );
    // The attendees come in any order: the third, the first, the second.
    for rang in [2, 0, 1] {
        let (status, v) = signer(rang);
        assert!(status.is_success(), "rang {rang} : {status} {v}");
    }
    let (status, v) = signer(0);
    assert_eq!(status, StatusCode::CONFLICT, "signé deux fois : {v}");
    let (status, v) = signer(3);
    assert!(status.is_success(), "{status} {v}");
    let fini = service.attendre_etat(&referent, &reference, "depose");
    // Each signature on its attendee's line of the sheet, in the order they signed.
    let signataires = fini["signataires"].as_array().unwrap();
    let noms: Vec<&str> = signataires
        .iter()
        .map(|s| s["nom"].as_str().unwrap())
        .collect();
    assert_eq!(noms[0], "Samira BENALI", "{noms:?}");
    let heure = |i: usize| signataires[i]["signe_le"].as_str().unwrap().to_owned();
    assert!(heure(2) < heure(0) && heure(0) < heure(1) && heure(1) < heure(3));
    let chemin = dir.path().join("emargement.pdf");
    std::fs::write(&chemin, service.pdf(&referent, &reference)).unwrap();
    // The sealed sheet lists the attendees as expected, not in the order they signed.
    let texte = crate::support::pdf_text(&chemin);
    let ligne = |nom: &str| texte.find(nom).unwrap_or_else(|| panic!("{nom} : {texte}"));
    assert!(ligne("BENALI") < ligne("MARTIN") && ligne("MARTIN") < ligne("NGUYEN"));
}

#[test]
fn une_demande_non_signee_est_relancee_puis_expire() {
    let Plie {
        dir: _dir,
        smtp,
        mut service,
        referent,
        ..
    } = Plie::pret(Some("2025-06-02T08:00:00Z"));
    let samira = participant_ref(&service, &referent, "Benali");
    let (reference, _) = service.creer_et_envoyer(
        &referent,
        &json!({
            "workflow": "contrat-engagement", "participant": samira, "donnees": contrat_donnees(),
            "signataires": [{ "role": "participant", "methode": "lien" }],
        }),
    );
    let premier = lien(&smtp.attendre("samira.benali@exemple.fr", "/signer/"));
    // Four days later (reminders at 3 and 7 days): one reminder, with a fresh link; the first
    // one stops working. Restarting again does not remind twice.
    service.horloge = Some("2025-06-06T08:00:00Z".into());
    service.redemarrer();
    let rappel = smtp.attendre("samira.benali@exemple.fr", "Rappel : Contrat d'engagement");
    let second = lien(&rappel);
    assert_ne!(premier, second);
    let (status, _) = service.appel("GET", &format!("/api/signature/{premier}"), "", None);
    assert_eq!(status, StatusCode::NOT_FOUND);
    service.ok("GET", &format!("/api/signature/{second}"), "", None);
    // The reminder's task recorded as done first: a kill between the SMTP server's answer and
    // that record sends again (at least once), which is not what this restart is about.
    service.attendre_outbox_vide(&referent);
    service.redemarrer();
    std::thread::sleep(Duration::from_secs(3));
    service.attendre_outbox_vide(&referent);
    let rappels = |smtp: &Smtp| {
        smtp.courriels()
            .iter()
            .filter(|m| m.contains("Rappel : Contrat d'engagement"))
            .count()
    };
    assert_eq!(rappels(&smtp), 1);
    // Past the workflow's expiry (30 days): expired, its link refused.
    service.horloge = Some("2025-07-03T08:00:00Z".into());
    service.redemarrer();
    service.attendre_etat(&referent, &reference, "expire");
    let (status, _) = service.appel("GET", &format!("/api/signature/{second}"), "", None);
    assert!(status.is_client_error(), "{status}");
    service.attendre_outbox_vide(&referent);
    let journal = journal(&service.data);
    assert_eq!(journal.matches("\"actor\":\"relance-1\"").count(), 1);
    assert_eq!(journal.matches("\"actor\":\"relance-2\"").count(), 0);
    assert_eq!(journal.matches("\"to\":\"expire\"").count(), 1);
}

/// A state the life cycle does not know, found in a row (altered by hand, or written by another
/// version), is an error the server logs: never read as another state (it once became
/// « annulé »).
#[test]
fn un_etat_inconnu_en_base_n_est_lu_comme_aucun_autre() {
    let (plie, journal) = plie_journalise();
    let service = &plie.service;
    let (_, reference, _) = service.contrat_sur_tablette(&plie.referent, "Benali");
    alterer(
        service,
        &format!("UPDATE document SET etat = 'egare' WHERE ref = '{reference}'"),
    );
    let (status, v) = service.appel(
        "GET",
        &format!("/api/documents/{reference}"),
        &plie.referent,
        None,
    );
    refuse_l_etat_inconnu(
        status,
        &v.to_string(),
        &journal,
        "état de document inconnu « egare »",
    );
    assert!(!v.to_string().contains("annul"), "{v}");
}

/// Alters the service's database behind its back, as a corrupted row or another version of
/// parafe would, past the CHECK constraints of the tables it updates. SQLite ignores them for
/// this connection; PostgreSQL cannot: they are dropped for the statement and put back
/// `NOT VALID`, the rows already there unchecked and later writes checked, as on SQLite.
fn alterer(service: &Service, requete: &str) {
    if !base_postgres() {
        sql(
            service,
            &format!("PRAGMA ignore_check_constraints = ON; {requete};"),
        );
        return;
    }
    let mots: Vec<&str> = requete.split_whitespace().collect();
    let tables: Vec<String> = mots
        .windows(2)
        .filter(|m| m[0].eq_ignore_ascii_case("update"))
        .map(|m| format!("'{}'", m[1].to_lowercase()))
        .collect();
    assert!(
        !tables.is_empty(),
        "une requête UPDATE attendue : {requete}"
    );
    sql(
        service,
        &format!(
            "BEGIN;
             CREATE TEMPORARY TABLE contraintes_levees ON COMMIT DROP AS
               SELECT conrelid::regclass AS t, conname AS nom,
                 pg_get_constraintdef(oid) || CASE WHEN convalidated THEN ' NOT VALID' ELSE '' END
                   AS definition
               FROM pg_constraint
               WHERE contype = 'c' AND conrelid::regclass::text IN ({});
             DO $$ DECLARE c record; BEGIN
               FOR c IN SELECT * FROM contraintes_levees LOOP
                 EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.t, c.nom);
               END LOOP;
             END $$;
             {requete};
             DO $$ DECLARE c record; BEGIN
               FOR c IN SELECT * FROM contraintes_levees LOOP
                 EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.t, c.nom, c.definition);
               END LOOP;
             END $$;
             COMMIT;",
            tables.join(", ")
        ),
    );
}

/// A PLIE whose service logs to a file (the returned path), for the errors that only staff
/// reads.
fn plie_journalise() -> (Plie, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (journal, data) = (dir.path().join("parafe.log"), dir.path().join("data"));
    let plie = Plie::pret_dans(
        dir,
        &data,
        None,
        Reglages {
            journal: Some(journal.clone()),
            ..Reglages::default()
        },
    );
    (plie, journal)
}

/// The request failed on the unknown state, and the server's log names it.
fn refuse_l_etat_inconnu(status: StatusCode, reponse: &str, journal: &Path, attendu: &str) {
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{reponse}");
    let log = std::fs::read_to_string(journal).unwrap();
    assert!(
        log.contains(attendu),
        "{attendu} absent du journal :\n{log}"
    );
}

#[test]
fn un_etat_de_signataire_inconnu_en_base_est_une_erreur() {
    let (plie, journal) = plie_journalise();
    let service = &plie.service;
    let (_, reference, _) = service.contrat_sur_tablette(&plie.referent, "Benali");
    alterer(
        service,
        &format!(
            "UPDATE signataire SET etat = 'perdu'
             WHERE document_id = (SELECT id FROM document WHERE ref = '{reference}') AND rang = 0"
        ),
    );
    let (status, v) = service.appel(
        "GET",
        &format!("/api/documents/{reference}"),
        &plie.referent,
        None,
    );
    refuse_l_etat_inconnu(
        status,
        &v.to_string(),
        &journal,
        "état de signataire inconnu « perdu »",
    );
}

/// A date that does not read as a date fails the request and the log names the column and
/// the value, instead of showing a made-up date; the JSON keeps the stored text's format.
#[test]
fn une_date_illisible_en_base_est_une_erreur() {
    let (plie, journal) = plie_journalise();
    let service = &plie.service;
    let (_, reference, _) = service.contrat_sur_tablette(&plie.referent, "Benali");
    let route = format!("/api/documents/{reference}");
    let (status, v) = service.appel("GET", &route, &plie.referent, None);
    assert_eq!(status, StatusCode::OK, "{v}");
    let cree_le = v["document"]["cree_le"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // `AAAA-MM-JJTHH:MM:SS.mmmZ`, milliseconds always shown.
    assert!(
        cree_le.len() == 24 && &cree_le[19..20] == "." && cree_le.ends_with('Z'),
        "{v}"
    );
    alterer(
        service,
        &format!("UPDATE document SET cree_le = 'hier soir' WHERE ref = '{reference}'"),
    );
    let (status, v) = service.appel("GET", &route, &plie.referent, None);
    refuse_l_etat_inconnu(status, &v.to_string(), &journal, "hier soir");
    let log = std::fs::read_to_string(&journal).unwrap();
    assert!(
        log.contains("cree_le"),
        "colonne absente du journal :\n{log}"
    );
}

/// The same for a day: a participant's entry day that is not `AAAA-MM-JJ` fails his record.
#[test]
fn un_jour_illisible_en_base_est_une_erreur() {
    let (plie, journal) = plie_journalise();
    let service = &plie.service;
    let (participant, _, _) = service.contrat_sur_tablette(&plie.referent, "Benali");
    let route = format!("/api/participants/{participant}");
    let (status, v) = service.appel("GET", &route, &plie.referent, None);
    assert_eq!(status, StatusCode::OK, "{v}");
    alterer(
        service,
        &format!("UPDATE participant SET date_entree = '31/02/2025' WHERE ref = '{participant}'"),
    );
    let (status, v) = service.appel("GET", &route, &plie.referent, None);
    // The log names the column that does not read.
    refuse_l_etat_inconnu(status, &v.to_string(), &journal, "\"date_entree\"");
}

#[test]
fn un_etat_de_feuille_d_emargement_inconnu_en_base_est_une_erreur() {
    let (plie, journal) = plie_journalise();
    let service = &plie.service;
    let samira = participant_ref(service, &plie.referent, "Benali");
    let tablette = service.connecter(&plie.smtp, "t.garnier@plie.fr");
    let f = tablette.ouvrir_atelier("Atelier CV", "2025-10-15", &[&samira]);
    alterer(
        service,
        &format!(
            "UPDATE kiosque SET etat = 'egaree' WHERE ref = '{}'",
            f.kiosque
        ),
    );
    let (status, v) = tablette.json("GET", &format!("/kiosque/{}/etat", f.kiosque), None);
    refuse_l_etat_inconnu(
        status,
        &v.to_string(),
        &journal,
        "état de feuille d'émargement inconnu « egaree »",
    );
}

#[test]
fn un_etat_d_export_inconnu_en_base_est_une_erreur() {
    let (plie, journal) = plie_journalise();
    let service = &plie.service;
    let demande = json!({ "operation": "202500417", "du": "2025-01-01", "au": "2026-12-31" });
    let v = service.ok("POST", "/api/exports", &plie.coordinateur, Some(&demande));
    let reference = v["ref"].as_str().unwrap().to_owned();
    let chemin = format!("/api/exports/{reference}");
    // Finished first: the export writes its own state while it runs.
    let debut = Instant::now();
    while !["fini", "echec"].contains(
        &service.ok("GET", &chemin, &plie.coordinateur, None)["etat"]
            .as_str()
            .unwrap(),
    ) {
        assert!(
            debut.elapsed() < Duration::from_secs(120),
            "pack jamais fini"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    alterer(
        service,
        &format!("UPDATE export SET etat = 'archive' WHERE ref = '{reference}'"),
    );
    let (status, v) = service.appel("GET", &chemin, &plie.coordinateur, None);
    refuse_l_etat_inconnu(
        status,
        &v.to_string(),
        &journal,
        "état d'export inconnu « archive »",
    );
}

/// Runs statements on the service's database by hand, as an operator would: `sqlite3` on
/// `<data>/parafe.db`, `psql` on PostgreSQL. What they print, one row a line, columns separated
/// by `|` (both clients print so).
pub fn sql(service: &Service, requete: &str) -> String {
    let out = match &service.base {
        Some(url) => Command::new("psql")
            .args(["-X", "-At", "-v", "ON_ERROR_STOP=1"])
            .arg(url)
            .args(["-c", requete])
            .output(),
        // `.timeout`, not `PRAGMA busy_timeout`: the pragma prints its value.
        None => Command::new("sqlite3")
            .args(["-cmd", ".timeout 5000"])
            .arg(service.data.join("parafe.db"))
            .arg(requete)
            .output(),
    }
    .unwrap_or_else(|e| {
        panic!("client de la base introuvable ({e}) : lancez les tests par tests/run")
    });
    assert!(out.status.success(), "{requete}\n{}", text(&out.stderr));
    text(&out.stdout)
}

/// Runs a statement on the service's database as someone altering it by hand would.
pub fn alterer_la_base(service: &Service, requete: &str) {
    sql(service, requete);
}

/// A role parafe does not know, found in an account's row, lets nobody in as anything: the
/// request fails (logged), never read as another role.
#[test]
fn un_role_inconnu_en_base_n_ouvre_rien() {
    let plie = Plie::pret(None);
    let service = &plie.service;
    let (status, _) = service.appel("GET", "/api/participants", &plie.referent, None);
    assert_eq!(status, StatusCode::OK);
    // The schema's CHECK refuses it: as a later version's migration would, it is lifted.
    alterer(
        service,
        "UPDATE personnel SET role = 'stagiaire' WHERE email = 't.garnier@plie.fr'",
    );
    let (status, v) = service.appel("GET", "/api/participants", &plie.referent, None);
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    assert!(v.get("participants").is_none(), "{v}");
}

/// A document state the life cycle does not know fails the dossier that lists it, instead of
/// showing it as a piece in an unknown state.
#[test]
fn un_etat_inconnu_en_base_fait_echouer_le_dossier_de_justificatifs() {
    let plie = Plie::pret(None);
    let service = &plie.service;
    let (participant, reference, _) = service.contrat_sur_tablette(&plie.referent, "Benali");
    let route = format!("/api/participants/{participant}/justificatifs");
    let (status, v) = service.appel("GET", &route, &plie.referent, None);
    assert_eq!(status, StatusCode::OK, "{v}");
    // Past the constraints: the schema may or may not check this column.
    alterer(
        service,
        &format!("UPDATE document SET etat = 'egare' WHERE ref = '{reference}'"),
    );
    let (status, v) = service.appel("GET", &route, &plie.referent, None);
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    assert!(!v.to_string().contains("egare"), "{v}");
}

#[test]
fn un_workflow_faux_empeche_le_demarrage_en_nommant_fichier_et_ligne() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    for f in std::fs::read_dir(repo().join("workflows"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(f.path(), workflows.join(f.file_name())).unwrap();
    }
    let faux = std::fs::read_to_string(workflows.join("contrat-engagement.toml"))
        .unwrap()
        .replace("role = \"referent\"", "role = \"directeur\"");
    std::fs::write(workflows.join("contrat-engagement.toml"), faux).unwrap();
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_parafe"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .arg("--workflows")
        .arg(&workflows)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let erreur = text(&out.stderr);
    assert!(
        erreur.contains("contrat-engagement.toml:") && erreur.contains("directeur"),
        "{erreur}"
    );
}

#[test]
fn la_description_openapi_est_servie() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(&dir.path().join("smtp"));
    let service = Service::start(&dir.path().join("data"), smtp.port, None);
    let v: Value = service
        .client
        .get(format!("{}/openapi.json", service.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v["openapi"], "3.1.0");
    for chemin in [
        "/api/documents",
        "/api/documents/{reference}/envoi",
        "/api/participants/import",
        "/api/bilans/en-retard",
        "/api/signature/{jeton}",
    ] {
        assert!(
            v["paths"].get(chemin).is_some(),
            "{chemin} absent de /openapi.json"
        );
    }
    // API answers, refusals included, carry the security headers of the pages, with a policy
    // that loads nothing; the pages keep theirs.
    for chemin in ["/openapi.json", "/api/documents", "/api/signature/inconnu"] {
        let r = service
            .client
            .get(format!("{}{chemin}", service.url))
            .send()
            .unwrap();
        let entete = |nom: &str| {
            r.headers()
                .get(nom)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(entete("x-content-type-options"), "nosniff", "{chemin}");
        assert_eq!(entete("x-frame-options"), "DENY", "{chemin}");
        assert_eq!(entete("cache-control"), "no-store", "{chemin}");
        let csp = entete("content-security-policy");
        assert!(
            csp.starts_with("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{chemin} : {csp}"
        );
        assert!(!csp.contains("'self'"), "{chemin} : {csp}");
    }
    let page = service
        .client
        .get(format!("{}/connexion", service.url))
        .send()
        .unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
}

/// Issue 16: on a fresh machine, `parafe serve` run from an empty folder, with nothing
/// configured, serves the screens and the API that read the embedded catalogue of justificatifs
/// (and the embedded workflows and templates).
#[test]
fn parafe_serve_depuis_un_dossier_vide_sert_les_ecrans_du_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::dans_un_dossier_vide(dir.path());
    let coordinateur = service.compte("coord@plie.fr", "coordinateur", Some("plie"));
    let (status, import) = service.importer(&coordinateur, EXTRACTION);
    assert_eq!(status, StatusCode::OK, "{import}");
    let referent = service.compte("t.garnier@plie.fr", "referent", Some("plie"));
    let samira = participant_ref(&service, &referent, "Benali");

    let v = service.ok(
        "GET",
        &format!("/api/participants/{samira}/justificatifs"),
        &referent,
        None,
    );
    let exigences: Vec<&str> = v["lignes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["exigence"].as_str())
        .collect();
    assert!(
        exigences.contains(&"contrat-engagement") && exigences.contains(&"emargements"),
        "{v}"
    );

    // The référent's password, by the link the development mailbox keeps.
    let boite = service.data.join("courriels/plie");
    service.activer_par("t.garnier@plie.fr", || {
        let debut = Instant::now();
        loop {
            let courriels: Vec<String> = std::fs::read_dir(&boite)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .filter(|c| c.contains("t.garnier@plie.fr") && c.contains("/compte/"))
                .collect();
            if let Some(c) = courriels.into_iter().next() {
                return c;
            }
            assert!(
                debut.elapsed() < Duration::from_secs(60),
                "aucun courriel dans {}",
                boite.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let bureau = service.session("t.garnier@plie.fr");
    for chemin in [
        format!("/participants/{samira}"),
        format!("/participants/{samira}/justificatifs"),
    ] {
        let (status, page) = bureau.get(&chemin);
        assert_eq!(status, StatusCode::OK, "{chemin} : {page}");
        assert!(
            page.contains("Contrat d'engagement signé"),
            "{chemin} : {page}"
        );
    }
    assert!(
        !dir.path().join("parafe.toml").exists() && !dir.path().join("workflows").exists(),
        "rien d'autre que les données n'a été écrit"
    );
}

/// An embedded installation moved to PostgreSQL by `parafe base copier`: the same documents,
/// accounts and API tokens answer from PostgreSQL, new rows come after the copied ones, a second
/// copy into a database no longer empty is refused, and the evidence store still verifies.
#[test]
fn une_installation_embarquee_passe_sur_postgresql_sans_rien_perdre() {
    if base_postgres() {
        // The copy starts from SQLite: the pass on SQLite covers it.
        return;
    }
    let Plie {
        dir: _dir,
        smtp: _smtp,
        mut service,
        referent,
        ..
    } = Plie::pret(None);
    let samira = participant_ref(&service, &referent, "Benali");
    let demande = json!({
        "workflow": "contrat-engagement", "participant": samira, "donnees": contrat_donnees(),
    });
    let (reference, version) = service.creer_et_envoyer(&referent, &demande);
    for rang in [0, 1] {
        service.ok(
            "POST",
            &format!("/api/documents/{reference}/signatures"),
            &referent,
            Some(&json!({ "rang": rang, "signature": signature(&version) })),
        );
    }
    service.attendre_outbox_vide(&referent);
    let document = format!("/api/documents/{reference}");
    let vues = |service: &Service| {
        [
            "/api/documents",
            &document,
            &format!("/api/participants/{samira}"),
        ]
        .map(|chemin| service.ok("GET", chemin, &referent, None))
    };
    let avant = vues(&service);
    service.tuer();

    let data = service.data.to_string_lossy().into_owned();
    // A new database of the test cluster (the data directory's parafe.toml names none yet).
    let url = base_du_dossier(&service.data);
    let copie = parafe(&["base", "copier", "--data-dir", &data, "--vers", &url]);
    assert!(copie.status.success(), "{}", text(&copie.stderr));
    let dit = text(&copie.stdout);
    assert!(dit.contains("document : 1 ligne(s)"), "{dit}");
    assert!(dit.contains("copie faite"), "{dit}");
    let encore = parafe(&["base", "copier", "--data-dir", &data, "--vers", &url]);
    assert_eq!(encore.status.code(), Some(1), "{}", text(&encore.stdout));
    assert!(
        text(&encore.stderr).contains("n'est pas vide"),
        "{}",
        text(&encore.stderr)
    );

    // From now on the installation reads PostgreSQL: its SQLite file is put aside.
    let toml = service.data.join("parafe.toml");
    let mut config = std::fs::read_to_string(&toml).unwrap();
    config.push_str(&format!("\n[base]\nurl = \"{url}\"\n"));
    std::fs::write(&toml, config).unwrap();
    std::fs::rename(
        service.data.join("parafe.db"),
        service.data.join("parafe.db.avant-copie"),
    )
    .unwrap();
    service.redemarrer();
    assert!(!service.data.join("parafe.db").exists());
    assert_eq!(avant, vues(&service));
    // New rows take identifiers after the copied ones.
    let (nouveau, _) = service.creer_et_envoyer(&referent, &demande);
    assert_ne!(nouveau, reference);
    service.ok("GET", &format!("/api/documents/{nouveau}"), &referent, None);
    let verifie = parafe(&["verify", "--store", "--data-dir", &data]);
    assert!(verifie.status.success(), "{}", text(&verifie.stdout));
}

/// The two schemas go together: the same migrations, tables, columns in the same order and
/// indexes on SQLite and on PostgreSQL (the types differ as the README says).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn les_schemas_sqlite_et_postgresql_vont_de_pair() {
    if base_postgres() {
        // One pass compares both databases.
        return;
    }
    let dossier = tempfile::tempdir().unwrap();
    let sqlite = parafe::db::open(&Default::default(), dossier.path())
        .await
        .unwrap();
    let postgres = parafe::db::BaseConfig {
        url: Some(base_du_dossier(dossier.path())),
        ..Default::default()
    };
    let postgres = parafe::db::open(&postgres, dossier.path()).await.unwrap();
    let lire = |base: &parafe::db::Pool, requete: &'static str| {
        let base = base.clone();
        async move {
            sqlx::query_as::<_, (String, String)>(requete)
                .fetch_all(&base)
                .await
                .unwrap()
        }
    };
    // The column named with its table: PostgreSQL would sort by the text of the output column.
    let migrations = "SELECT CAST(version AS TEXT), description FROM _sqlx_migrations
         ORDER BY _sqlx_migrations.version";
    assert_eq!(
        lire(&sqlite, migrations).await,
        lire(&postgres, migrations).await
    );
    let colonnes = lire(
        &sqlite,
        "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'
         ORDER BY m.name, p.cid",
    )
    .await;
    assert!(colonnes.len() > 100, "{colonnes:?}");
    assert_eq!(
        colonnes,
        lire(
            &postgres,
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'
             ORDER BY table_name, ordinal_position",
        )
        .await
    );
    // Indexes made by CREATE INDEX (those of UNIQUE and PRIMARY KEY are named by each database).
    assert_eq!(
        lire(
            &sqlite,
            "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
             ORDER BY tbl_name, name",
        )
        .await,
        lire(
            &postgres,
            "SELECT tablename::text, indexname::text FROM pg_indexes
             WHERE schemaname = current_schema() AND right(indexname, 5) <> '_pkey'
               AND right(indexname, 4) <> '_key' ORDER BY tablename, indexname",
        )
        .await
    );
}

/// After a crash in the middle of sealing and mailing `references`: one filing and one
/// delivery to `delivre` per document in the `journal` text, one delivery recorded per document
/// and recipient. A message the server took at the instant of the kill, before parafe heard its
/// answer, can only go again: with the same Message-ID and flagged as a resend, never as a new
/// message.
pub fn verifier_les_remises(smtp: &Smtp, journal: &str, references: &[(String, String)]) {
    let courriels = smtp.courriels();
    for (reference, _) in references {
        for role in ["participant", "prescripteur"] {
            let id = format!("<{reference}.{role}@parafe>");
            let recus: Vec<&String> = courriels
                .iter()
                .filter(|m| m.contains(&format!("Message-ID: {id}")))
                .collect();
            assert!(!recus.is_empty(), "{id} jamais reçu");
            assert!(recus.len() <= 2, "{id} reçu {} fois", recus.len());
            assert_eq!(
                journal.matches(&format!("\"message_id\":\"{id}\"")).count(),
                1,
                "{id} : une remise au journal"
            );
            if recus.len() == 2 {
                assert!(
                    journal.contains(&format!("\"message_id\":\"{id}\",\"smtp_reply\"")),
                    "{id}"
                );
                let eml = std::fs::read_dir(&smtp.dossier)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                    .map(|p| std::fs::read_to_string(p).unwrap())
                    .filter(|m| m.contains(&id))
                    .collect::<Vec<_>>();
                assert_eq!(
                    eml.iter().filter(|m| m.contains("X-Parafe-Renvoi")).count(),
                    1,
                    "{id} : le second envoi est marqué"
                );
            }
        }
    }
    let lot = references.len();
    assert_eq!(journal.matches("\"type\":\"document_filed\"").count(), lot);
    assert_eq!(journal.matches("\"to\":\"delivre\"").count(), lot);
}

/// A query string's value, every byte but ASCII letters and digits percent-encoded.
fn encoder(valeur: &str) -> String {
    valeur
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Staff find people as they type them (issue 19): without regard to accents or case, by any
/// part of the name, first name and name in either order, through the API and the screen of
/// the référent's portfolio. « N'Diaye » is found as « n diaye » and as « ndiaye » (the search
/// text keeps the words of each name run together too). A search of wildcards alone finds no
/// one. Participants imported before the search text existed get theirs at the next start.
#[test]
fn la_recherche_trouve_les_participants_comme_on_les_tape() {
    let Plie {
        dir: _dir,
        smtp,
        mut service,
        coordinateur,
        ..
    } = Plie::pret(None);
    let en_tete = EXTRACTION.lines().next().unwrap();
    let mut fichier = format!("{en_tete}\n");
    for (identifiant, nom, prenom, referent) in [
        (
            "R-2025-0001",
            "LEFÈVRE",
            "Amélie",
            "t.garnier@plie.fr;Garnier;Thomas",
        ),
        (
            "R-2025-0002",
            "MARTIN",
            "Jean",
            "t.garnier@plie.fr;Garnier;Thomas",
        ),
        (
            "R-2025-0003",
            "N'DIAYE",
            "Awa",
            "t.garnier@plie.fr;Garnier;Thomas",
        ),
        (
            "R-2025-0004",
            "DUPONT",
            "Jean-Baptiste",
            "t.garnier@plie.fr;Garnier;Thomas",
        ),
        (
            "R-2025-0005",
            "LEFEBVRE",
            "Julie",
            "t.garnier@plie.fr;Garnier;Thomas",
        ),
        // A homonym of Jean MARTIN, in the same portfolio: both are found, told apart by their
        // identifiers.
        (
            "R-2025-0007",
            "Martin",
            "Jean",
            "t.garnier@plie.fr;Garnier;Thomas",
        ),
        // Another référent's: the coordinateur finds him, Thomas Garnier does not.
        (
            "R-2025-0006",
            "MARTINEZ",
            "Jean",
            "a.lefort@plie.fr;Lefort;Anne",
        ),
    ] {
        fichier.push_str(&format!(
            "{identifiant};Madame;{nom};{prenom};12/05/1988;;;34400;Lunel;34;{referent};202500417;;;04/03/2025;Non;;;\n"
        ));
    }
    let (status, v) = service.importer(&coordinateur, &fichier);
    assert_eq!(status, StatusCode::OK, "{v}");
    let tous = [
        "P-2025-0412",
        "P-2025-0413",
        "R-2025-0001",
        "R-2025-0002",
        "R-2025-0003",
        "R-2025-0004",
        "R-2025-0005",
        "R-2025-0006",
        "R-2025-0007",
    ];
    let par_l_api = |service: &Service, recherche: &str| -> Vec<String> {
        let v = service.ok(
            "GET",
            &format!("/api/participants?recherche={}", encoder(recherche)),
            &coordinateur,
            None,
        );
        let mut trouves: Vec<String> = v["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["identifiant_externe"].as_str().unwrap().to_owned())
            .collect();
        trouves.sort();
        trouves
    };
    let garnier = service.connecter(&smtp, "t.garnier@plie.fr");
    let a_l_ecran = |recherche: &str| -> Vec<String> {
        let (status, page) = garnier.get(&format!("/accueil?q={}", encoder(recherche)));
        assert_eq!(status, StatusCode::OK, "{page}");
        let tableau = page
            .split_once("<tbody>")
            .and_then(|(_, suite)| suite.split_once("</tbody>"))
            .map_or("", |(tableau, _)| tableau);
        if tableau.is_empty() {
            assert!(page.contains("Aucun participant ne correspond."), "{page}");
        }
        tous.iter()
            .filter(|i| tableau.contains(&format!("<td>{i}</td>")))
            .map(|i| (*i).to_owned())
            .collect()
    };
    let amelie = ["R-2025-0001"];
    let jean_martin = ["R-2025-0002", "R-2025-0007"];
    let awa = ["R-2025-0003"];
    let jean_baptiste = ["R-2025-0004"];
    let personne: [&str; 0] = [];
    // What the coordinateur finds (the whole PLIE), then the référent (his portfolio).
    let cas: &[(&str, &[&str], &[&str])] = &[
        ("lefevre", &amelie, &amelie),
        ("LEFÈVRE", &amelie, &amelie),
        ("Lefèvre", &amelie, &amelie),
        ("efev", &amelie, &amelie),
        ("lefebvre", &["R-2025-0005"], &["R-2025-0005"]),
        (
            "martin jean",
            &["R-2025-0002", "R-2025-0006", "R-2025-0007"],
            &jean_martin,
        ),
        (
            "jean martin",
            &["R-2025-0002", "R-2025-0006", "R-2025-0007"],
            &jean_martin,
        ),
        (
            "MARTIN",
            &["R-2025-0002", "R-2025-0006", "R-2025-0007"],
            &jean_martin,
        ),
        ("jean martin ez", &["R-2025-0006"], &personne),
        ("n'diaye", &awa, &awa),
        ("N’DIAYE", &awa, &awa),
        ("n diaye", &awa, &awa),
        ("ndiaye", &awa, &awa),
        ("diaye awa", &awa, &awa),
        ("jean baptiste", &jean_baptiste, &jean_baptiste),
        ("Jean-Baptiste", &jean_baptiste, &jean_baptiste),
        ("baptiste", &jean_baptiste, &jean_baptiste),
        (
            "jean",
            &["R-2025-0002", "R-2025-0004", "R-2025-0006", "R-2025-0007"],
            &["R-2025-0002", "R-2025-0004", "R-2025-0007"],
        ),
        ("R-2025-0003", &awa, &awa),
        ("samira BENALI", &["P-2025-0412"], &["P-2025-0412"]),
        // Wildcards are not: nothing to look for.
        ("%", &personne, &personne),
        ("_", &personne, &personne),
        ("%%", &personne, &personne),
        ("'", &personne, &personne),
    ];
    for (recherche, coordination, portefeuille) in cas {
        assert_eq!(
            par_l_api(&service, recherche),
            *coordination,
            "API : « {recherche} »"
        );
        assert_eq!(
            a_l_ecran(recherche),
            *portefeuille,
            "écran : « {recherche} »"
        );
    }
    assert_eq!(
        par_l_api(&service, ""),
        tous,
        "sans recherche, tout le PLIE"
    );

    // Rows written before the search text existed: filled at the next start.
    sql(&service, "UPDATE participant SET recherche = ''");
    assert_eq!(par_l_api(&service, "lefevre"), personne);
    service.redemarrer();
    assert_eq!(par_l_api(&service, "lefevre"), amelie);
    assert_eq!(par_l_api(&service, "ndiaye jean"), personne);
    assert_eq!(par_l_api(&service, "awa ndiaye"), awa);
    assert_eq!(
        par_l_api(&service, "martin"),
        ["R-2025-0002", "R-2025-0006", "R-2025-0007"]
    );
}
