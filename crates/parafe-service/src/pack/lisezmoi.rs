//! `LISEZMOI.txt`: how the controller checks the pack with standard tools only.
//!
//! Every command stands on its own lines, indented by four spaces, and runs as written in the
//! unpacked folder; what the prose after a command quotes between « » is what that tool prints
//! (the pack scenarios run each command and check each quote). What a tool says depends on the
//! certificates (revocation sources, expiry), so that part is written from the pack's own.

use chrono::{DateTime, Utc};
use parafe_seal::chain::subject;
use parafe_seal::revocation::{self, Sources};
use x509_cert::Certificate;

pub struct Contexte<'a> {
    pub plie: &'a str,
    pub operation: &'a str,
    pub intitule: &'a str,
    pub du: String,
    pub au: String,
    pub reference: &'a str,
    pub genere_le: DateTime<Utc>,
    pub pieces: usize,
    pub participants: usize,
    pub extrait: Option<&'a str>,
    pub ancre: Option<(&'a str, &'a str, String)>,
    /// The seal's chain and the timestamp authority's certificates, as in `certificats/`.
    pub cachet: &'a [Certificate],
    pub horodatage: &'a [Certificate],
    /// CRLs joined to every sealed document besides those the certificates declare.
    pub crls: &'a [Vec<u8>],
}

/// The line pyHanko prints for a seal whose signature, certificate, timestamp and later
/// revisions all hold (after `Cachet:` and the certificate's SHA-256).
const PYHANKO_VALIDE: &str =
    ":INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,EXTENDED_WITH_FORM_FILLING,ACCEPTABLE_MODIFICATIONS";

/// The text, in French, with the pack's own file names in the commands.
pub fn texte(c: &Contexte<'_>) -> String {
    let journal = match (c.extrait, &c.ancre) {
        (Some(extrait), Some((json, tsr, racine))) => format!(
            "4. Le journal des preuves\n\
             \n\
             {extrait} est l'extrait du journal chaîné du PLIE qui couvre ces pièces : une\n\
             ligne JSON par événement, chacune portant l'empreinte SHA-256 de la précédente\n\
             (« prev ») et la sienne (« hash », calculée sur la ligne sans ce champ). Chaque\n\
             pièce y figure, sous son empreinte, dans l'entrée « document_filed » de son dépôt.\n\
             La dernière entrée est une tête de chaîne horodatée par l'ancre {json} : la racine\n\
             de Merkle de toutes les têtes de chaîne à cet instant ({racine}),\n\
             horodatée par le jeton RFC 3161 {tsr}. Pour vérifier le jeton :\n\
             \n\
             \x20   openssl ts -verify -digest {racine} \\\n\
             \x20       -in {tsr} -token_in \\\n\
             \x20       -CAfile certificats/autorites.pem -untrusted certificats/horodatage.pem\n\
             \n\
             affiche « Verification: OK ». Pour lire la date qu'il atteste :\n\
             \n\
             \x20   openssl ts -reply -in {tsr} -token_in -token_out -text\n\
             \n\
             affiche « Time stamp: » suivi de la date, en temps universel (GMT). Le jeton est\n\
             une signature CMS, dont la signature seule se contrôle par :\n\
             \n\
             \x20   openssl cms -verify -inform DER -in {tsr} \\\n\
             \x20       -CAfile certificats/autorites.pem -purpose any -out /dev/null\n\
             \n\
             qui affiche « CMS Verification successful ». Avec parafe, `parafe verify` suivi du\n\
             nom du fichier ZIP du pack refait tous les calculs du chaînage.\n"
        ),
        _ => "4. Le journal des preuves\n\nCe pack ne contient aucune pièce : pas d'extrait du journal.\n".into(),
    };
    format!(
        "PACK D'AUDIT — {plie}, opération n° {operation}\n\
         {intitule}\n\
         Période : du {du} au {au}. Référence de l'export : {reference}.\n\
         Produit le {quand} (heure de Paris) par parafe : {pieces} pièce(s), {participants} participant(s).\n\
         \n\
         Ce pack se vérifie sans parafe et sans faire confiance au PLIE, avec des outils\n\
         courants (coreutils, openssl, poppler-utils, pyHanko). Décompressez-le, puis lancez\n\
         chaque commande ci-dessous telle quelle, dans le dossier :\n\
         \n\
         1. L'intégrité de chaque fichier\n\
         \n\
         \x20   sha256sum -c manifeste.sha256\n\
         \n\
         Chaque ligne doit finir par « OK ». manifeste.json et manifeste.csv donnent les mêmes\n\
         empreintes, avec pour chaque pièce son type, sa date, le participant (son identifiant\n\
         pseudonyme, puis son identifiant dans le logiciel de parcours, celui de l'extraction\n\
         UP Viesion) et l'entrée du journal qui atteste son dépôt. Le manifeste lui-même est\n\
         horodaté :\n\
         \n\
         \x20   openssl ts -verify -data manifeste.json -in manifeste.json.tsr -token_in \\\n\
         \x20       -CAfile certificats/autorites.pem -untrusted certificats/horodatage.pem\n\
         \n\
         affiche « Verification: OK ».\n\
         \n\
         {cachet}\
         \n\
         3. Les justificatifs\n\
         \n\
         Les pièces venues de l'extérieur (bulletins de salaire, contrats de travail, Kbis,\n\
         courriels .eml, photos…) sont rendues telles qu'elles ont été déposées, octet pour\n\
         octet : elles ne portent pas de cachet. Leur intégrité et leur date de dépôt se\n\
         prouvent par leur empreinte (point 1) et par le journal (point 4).\n\
         \n\
         {journal}\
         \n\
         5. Ce que contient le pack\n\
         \n\
         index.pdf : l'index, participant par participant : chaque pièce avec sa date, son type,\n\
         son chemin et son empreinte, puis les pièces manquantes ou en retard (au-delà de\n\
         {par_volume} participants, il continue dans index-2.pdf, index-3.pdf…).\n\
         participants/NOM-Prénom-identifiant/ : les pièces de chaque participant,\n\
         nommées par leur date et leur type. operation/ : les pièces de l'opération (publicité,\n\
         émargements d'ateliers collectifs). Les données personnelles suivent la minimisation\n\
         configurée par le PLIE ; les pièces sensibles (santé, handicap, justice) n'y sont que si\n\
         l'export l'a demandé, ce que dit manifeste.json (« donnees_sensibles »).\n",
        plie = c.plie,
        operation = c.operation,
        intitule = c.intitule,
        du = c.du,
        au = c.au,
        reference = c.reference,
        quand = parafe_core::model::heure_de_paris(c.genere_le),
        pieces = c.pieces,
        participants = c.participants,
        cachet = cachet(c),
        par_volume = super::index::PARTICIPANTS_PAR_VOLUME,
    )
}

/// Point 2: pyHanko, then pdfsig, and what each says given the pack's certificates.
fn cachet(c: &Contexte<'_>) -> String {
    let mut certificats: Vec<&Certificate> = Vec::new();
    for cert in c.cachet.iter().chain(c.horodatage) {
        if !revocation::self_issued(cert) && !certificats.contains(&cert) {
            certificats.push(cert);
        }
    }
    let mut revocations = String::new();
    let mut sans_donnees = Vec::new();
    for cert in &certificats {
        let sujet = subject(cert);
        let sources = Sources::of(cert);
        let joint = c.crls.iter().any(|crl| revocation::covers(crl, cert));
        let ligne = if let Some(url) = sources.crl.first() {
            format!("sa liste de révocation, {url}, est interrogée en ligne par pyhanko sign validate et jointe à chaque document au scellement.")
        } else if joint {
            "il ne déclare aucun service de révocation, son autorité n'en servant aucun : rien à interroger en ligne ; la liste de révocation de son autorité, en vigueur au scellement, est jointe à chaque document.".to_owned()
        } else if let Some(url) = sources.ocsp.first() {
            sans_donnees.push(sujet.clone());
            format!("son répondeur OCSP, {url}, est interrogé en ligne par pyhanko sign validate ; parafe ne joint pas de réponse OCSP aux documents.")
        } else {
            sans_donnees.push(sujet.clone());
            "il ne déclare aucun service de révocation et son autorité n'en publie aucun : rien à interroger en ligne, rien qui puisse être joint.".to_owned()
        };
        revocations.push_str(&plier(&format!("- {sujet} : {ligne}")));
    }
    let expiration = certificats
        .iter()
        .min_by_key(|cert| cert.tbs_certificate.validity.not_after.to_unix_duration())
        .map(|cert| {
            let fin: DateTime<Utc> = cert
                .tbs_certificate
                .validity
                .not_after
                .to_system_time()
                .into();
            format!(
                " ; elle échouera une fois expiré le premier des certificats ({}, le {})",
                subject(cert),
                fin.with_timezone(&chrono_tz::Europe::Paris)
                    .format("%d/%m/%Y")
            )
        })
        .unwrap_or_default();
    let aujourdhui = plier(&format!(
        "Cette vérification juge à la date du jour et interroge en ligne les services de \
         révocation que déclarent les certificats{expiration}. La validation longue durée \
         (AdES) juge à la date de l'horodatage, sans réseau, avec les certificats et listes de \
         révocation joints au document :"
    ));
    let longue_duree = if sans_donnees.is_empty() {
        format!(
            "\x20   pyhanko sign adesverify --trust certificats/autorites.pem index.pdf\n\
             \n\
             affiche la même ligne « {PYHANKO_VALIDE} ».\n"
        )
    } else {
        plier(&format!(
            "Cette validation (pyhanko sign adesverify, avec les mêmes arguments) exige une \
             donnée de révocation pour chaque certificat : elle ne peut pas conclure pour {}, \
             faute de donnée jointe (voir ci-dessous).",
            sans_donnees.join(" ; ")
        ))
    };
    format!(
        "2. Le cachet des documents\n\
         \n\
         Les documents produits par parafe (contrats d'engagement, émargements, bilans…) et\n\
         index.pdf portent deux signatures : le cachet électronique du PLIE (champ Cachet,\n\
         PAdES, horodaté RFC 3161), puis un horodatage de document (champ Horodatage) qui\n\
         couvre le fichier entier, avec les certificats et listes de révocation joints. Les\n\
         commandes ci-dessous vérifient index.pdf ; elles s'appliquent telles quelles à chaque\n\
         fichier que manifeste.csv dit de nature document. Les certificats sont dans\n\
         certificats/ : cachet.pem (cachet du PLIE et sa chaîne), horodatage.pem (autorité\n\
         d'horodatage), autorites.pem (autorités de confiance). Comparez d'abord l'empreinte\n\
         de l'autorité avec celle que le PLIE publie :\n\
         \n\
         \x20   openssl x509 -in certificats/autorites.pem -noout -fingerprint -sha256\n\
         \n\
         affiche « sha256 Fingerprint= » suivi de cette empreinte. Puis pyHanko (PyPI\n\
         pyhanko-cli) vérifie le cachet, son horodatage, leurs certificats jusqu'à\n\
         autorites.pem et ce qui a été ajouté au fichier après la signature :\n\
         \n\
         \x20   pyhanko sign validate --trust certificats/autorites.pem index.pdf\n\
         \n\
         se termine sans erreur sur une ligne « Cachet: », l'empreinte SHA-256 du certificat\n\
         du cachet, puis « {PYHANKO_VALIDE} ».\n\
         INTACT : les octets signés n'ont pas changé ; TRUSTED : le certificat du cachet\n\
         remonte à autorites.pem ; TIMESTAMP_TOKEN<INTACT:TRUSTED> : de même pour l'horodatage\n\
         de la signature ; EXTENDED_WITH_FORM_FILLING et ACCEPTABLE_MODIFICATIONS : ce qui a été\n\
         ajouté après la signature (l'horodatage de document) est permis. pyHanko prévient que\n\
         « The configured trust roots are being combined with the operating system's trust list » :\n\
         c'est attendu ; son option --trust-replace limiterait la confiance à autorites.pem.\n\
         {aujourdhui}\
         \n\
         {longue_duree}\
         \n\
         Révocation, certificat par certificat :\n\
         {revocations}\
         \n\
         Avec poppler-utils :\n\
         \n\
         \x20   pdfsig index.pdf\n\
         \n\
         décrit les deux signatures. Pour la première (Cachet) : « Signature is Valid. »,\n\
         les octets signés n'ont pas changé, et « Not total document signed », attendu\n\
         puisque l'horodatage de document a été ajouté après elle. Pour la seconde\n\
         (Horodatage) : « Total document signed », rien n'a été ajouté depuis. pdfsig ne\n\
         connaît que sa propre base de certificats (NSS), pas autorites.pem : il dit donc\n\
         « Certificate issuer isn't Trusted. », la confiance étant établie par pyHanko\n\
         ci-dessus ; il ne vérifie pas la signature d'un horodatage de document\n\
         (« Signature has not yet been verified. »), ce que fait la validation longue durée.\n",
    )
}

/// A paragraph cut at 88 columns; the lines after the first of a list item (`- `) are
/// indented by two spaces (never four: that marks a command).
fn plier(paragraphe: &str) -> String {
    const LARGEUR: usize = 88;
    let retrait = if paragraphe.starts_with("- ") {
        "  "
    } else {
        ""
    };
    let mut texte = String::new();
    let mut ligne = String::new();
    for mot in paragraphe.split_whitespace() {
        if !ligne.is_empty() && ligne.chars().count() + 1 + mot.chars().count() > LARGEUR {
            texte.push_str(&ligne);
            texte.push('\n');
            ligne = retrait.to_owned();
        }
        if !ligne.trim().is_empty() {
            ligne.push(' ');
        }
        ligne.push_str(mot);
    }
    texte.push_str(&ligne);
    texte.push('\n');
    texte
}
