//! `LISEZMOI.txt`: how the controller checks the pack with standard tools only.

use chrono::{DateTime, Utc};

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
}

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
             et pour lire la date qu'il atteste :\n\
             \n\
             \x20   openssl ts -reply -in {tsr} -token_in -token_out -text\n\
             \n\
             Le jeton est une signature CMS : openssl cms -verify -inform DER -in {tsr}\n\
             -CAfile certificats/autorites.pem -purpose any -out /dev/null en contrôle la\n\
             signature seule. `parafe verify {nom}` refait tous les calculs du chaînage.\n",
            nom = "pack.zip"
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
         courants (coreutils, poppler-utils, openssl). Décompressez-le, puis, dans le dossier :\n\
         \n\
         1. L'intégrité de chaque fichier\n\
         \n\
         \x20   sha256sum -c manifeste.sha256\n\
         \n\
         Chaque ligne doit finir par « OK ». manifeste.json et manifeste.csv donnent les mêmes\n\
         empreintes, avec pour chaque pièce son type, sa date, le participant (identifiant\n\
         pseudonyme) et l'entrée du journal qui atteste son dépôt. Le manifeste lui-même est\n\
         horodaté :\n\
         \n\
         \x20   openssl ts -verify -data manifeste.json -in manifeste.json.tsr -token_in \\\n\
         \x20       -CAfile certificats/autorites.pem -untrusted certificats/horodatage.pem\n\
         \n\
         2. Le cachet des documents\n\
         \n\
         Les documents produits par parafe (contrats d'engagement, émargements, bilans…) et\n\
         index.pdf sont scellés par le cachet électronique du PLIE (PAdES, horodatage RFC 3161) :\n\
         \n\
         \x20   pdfsig participants/<dossier>/<document>.pdf\n\
         \n\
         doit indiquer « Signature is Valid » et « Total document signed » pour la signature du\n\
         cachet. Les certificats sont dans certificats/ : cachet.pem (cachet du PLIE et sa\n\
         chaîne), horodatage.pem (autorité d'horodatage), autorites.pem (autorités de\n\
         confiance). Comparez l'empreinte de l'autorité avec celle que le PLIE publie :\n\
         \n\
         \x20   openssl x509 -in certificats/autorites.pem -noout -fingerprint -sha256\n\
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
        quand = crate::model::heure_de_paris(c.genere_le),
        pieces = c.pieces,
        participants = c.participants,
        par_volume = super::index::PARTICIPANTS_PAR_VOLUME,
    )
}
