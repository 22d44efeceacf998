// Issue 20 : le premier administrateur charge les participants sans jeton d'API. L'aperçu de
// l'extraction montre trois lignes fautives (une date impossible, un nom manquant, l'e-mail du
// référent faux) et n'écrit rien ; le fichier corrigé est revu puis importé (les bilans BRSA
// prévus) ; l'aperçu servi ou altéré est refusé. Puis le référent enregistre depuis le dossier
// la sortie d'un participant au RSA, avec sa preuve : le bilan de sortie anticipée est prévu,
// les bilans suivants annulés, ce que la page montre.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Service, navigateur, connecter, activerParOubli, nouvellePage, capture, BINAIRE, BUREAU, DEPOT, EXTRACTION, MOT_DE_PASSE } from "../outils.js";

let service, chrome;

before(async () => {
  // Le 15 octobre 2025 : le bilan à 5 mois de Karim Durand (CER du 15 janvier) est échu, ceux
  // à 11 et 17 mois à venir.
  service = await Service.demarrer({ horloge: "2025-10-15T08:00:00Z" });
  chrome = await navigateur();
});

after(async () => {
  if (chrome) await chrome.close();
  if (service) await service.fermer();
});

const [ENTETE, SAMIRA, KARIM, CLAIRE] = EXTRACTION.trim().split("\n");
const fichier = (lignes) => ({ name: "extraction-viesion.csv", mimeType: "text/csv", buffer: Buffer.from([ENTETE, ...lignes].join("\n") + "\n") });
const MARC = "P-2025-0431;Monsieur;Petit;Marc;07/07/1982;;;34280;La Grande-Motte;34;m.lefort@plie.fr;Lefort;Marion;202500417;France Travail Lunel;;15/04/2025;Non;;;";
// Trois lignes fautives : une date impossible, le nom manquant, l'e-mail du référent faux.
const FAUTIVES = [
  KARIM.replace("20/01/2025", "31/02/2025"),
  CLAIRE.replace(";Roux;", ";;"),
  MARC.replace("m.lefort@plie.fr", "m.lefort(at)plie.fr"),
];

/// Les erreurs de la console, hors les refus attendus (4xx) que le navigateur signale aussi.
const inattendues = (page) => page.erreurs.filter((e) => !/status of 4\d\d/.test(e));

/// Envoie le formulaire par `bouton` ; rend le statut HTTP de la page reçue.
async function envoyer(page, bouton) {
  const [reponse] = await Promise.all([page.waitForNavigation(), page.click(bouton)]);
  return reponse.status();
}

/// Un vrai PDF : le contrat d'engagement d'exemple, composé par parafe.
function unPdf() {
  const sortie = path.join(service.racine, "courrier.pdf");
  execFileSync(BINAIRE, ["render", "contrat-engagement", "--data", path.join(DEPOT, "document-templates/examples/contrat-engagement.json"), "-o", sortie], { stdio: "ignore" });
  return fs.readFileSync(sortie);
}

test("import avec aperçu : trois lignes fautives, rien d'écrit ; corrigé, revu, importé ; puis une sortie anticipée", async () => {
  // Premier démarrage : l'administratrice active son compte, sans jeton d'API.
  const page = await nouvellePage(await chrome.newContext(BUREAU));
  await page.goto(await service.lienAdmin);
  await page.fill("#prenom", "Nadia");
  await page.fill("#nom", "Admin");
  await page.fill("#email", "admin@plie.fr");
  await page.fill("#mot_de_passe", MOT_DE_PASSE);
  await page.fill("#confirmation", MOT_DE_PASSE);
  await page.click("button[type=submit]");
  await page.waitForURL(/\/connexion/);
  await connecter(page, "admin@plie.fr");
  await page.goto(`${service.url}/accueil`);
  assert.match(await page.locator("main").textContent(), /Aucun participant/);
  await Promise.all([page.waitForNavigation(), page.click("text=Importer l'extraction du logiciel de parcours")]);
  await capture(page, "import-01-depot");

  // L'aperçu du fichier fautif : chaque ligne à corriger, avec sa colonne ; rien n'est écrit.
  await page.setInputFiles("#fichier", fichier([SAMIRA, ...FAUTIVES]));
  assert.equal(await envoyer(page, "form.depot button[type=submit]"), 422);
  assert.match(await page.locator(".intro").textContent(), /4 lignes de participant lues/);
  assert.match(await page.locator(".alerte.erreur").textContent(), /3 lignes à corriger \(3 erreurs\) : rien n'a été importé/);
  const erreurs = (await page.locator("#erreurs-import tbody tr").allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim());
  assert.equal(erreurs.length, 3, erreurs.join("\n"));
  assert.match(erreurs[0], /^3 Date d'entrée « 31\/02\/2025 » n'est pas une date JJ\/MM\/AAAA/);
  assert.match(erreurs[1], /^4 Nom valeur obligatoire manquante/);
  assert.match(erreurs[2], /^5 Email référent « m\.lefort\(at\)plie\.fr » n'est pas une adresse e-mail/);
  assert.equal(await page.locator("text=Importer ces").count(), 0, "pas d'import possible");
  await capture(page, "import-02-apercu-fautif");
  await page.goto(`${service.url}/accueil`);
  assert.match(await page.locator("main").textContent(), /Aucun participant/, "rien n'a été écrit");

  // Le fichier corrigé : l'aperçu dit ce que fera l'import, puis l'import le fait.
  await page.goto(`${service.url}/participants/import`);
  await page.setInputFiles("#fichier", fichier([SAMIRA, KARIM, CLAIRE, MARC]));
  assert.equal(await envoyer(page, "form.depot button[type=submit]"), 200);
  const apercu = (await page.locator("#apercu-import").innerText()).replace(/\s+/g, " ");
  assert.match(apercu, /Nouveaux participants 4 Participants mis à jour 0 Référents 2, dont 2 sans compte/);
  assert.match(apercu, /Opérations nouvelles 202500417/);
  const sha256 = await page.inputValue("input[name=sha256]");
  const csrf = await page.inputValue("form[action='/participants/import/confirmation'] input[name=csrf]");
  await capture(page, "import-03-apercu");
  assert.equal(await envoyer(page, "text=Importer ces 4 participants"), 200);
  assert.match(await page.locator(".alerte.succes").textContent(), /4 participants importés \(créés ou mis à jour\), 2 référents/);
  assert.match((await page.locator("#rapport-import").innerText()).replace(/\s+/g, " "), /Bilans BRSA prévus 3/);
  await capture(page, "import-04-rapport");

  // L'aperçu a servi : le confirmer de nouveau, ou en altérer l'empreinte, est refusé.
  for (const empreinte of [sha256, sha256.replace(/^./, (c) => (c === "0" ? "1" : "0"))]) {
    const r = await page.request.post(`${service.url}/participants/import/confirmation`, { form: { csrf, sha256: empreinte } });
    assert.equal(r.status(), 409);
    assert.match(await r.text(), /cet aperçu n&#39;est plus valable|cet aperçu n'est plus valable/);
  }
  await page.click("text=Voir les participants");
  await page.waitForURL(/\/accueil$/);
  assert.equal(await page.locator("tbody tr").count(), 4);
  assert.deepEqual(inattendues(page), [], page.erreurs.join("\n"));

  // Le référent de Karim Durand (au RSA, CER du 15 janvier) enregistre sa sortie.
  const ref = await nouvellePage(await chrome.newContext(BUREAU));
  await ref.goto(`${service.url}/connexion`);
  await activerParOubli(service, ref, "t.garnier@plie.fr");
  await ref.goto(`${service.url}/accueil`);
  await Promise.all([ref.waitForNavigation(), ref.click("text=Karim DURAND")]);
  const bilans = async () => (await ref.locator("#bilans + ul").innerText()).replace(/\s+/g, " ");
  assert.match(await bilans(), /Bilan à 5 mois.*Bilan à 11 mois.*Bilan à 17 mois/);
  await capture(ref, "import-05-dossier-avant-sortie");

  // Une date à venir est refusée à côté du champ ; rien n'est écrit.
  await ref.fill("#sortie-date_sortie", "2025-10-20");
  await ref.selectOption("#sortie-motif_sortie", "Sortie anticipée : déménagement");
  assert.equal(await envoyer(ref, "button:has-text('Enregistrer la sortie')"), 422);
  assert.match(await ref.locator("#sortie-date_sortie-erreur").textContent(), /le 20\/10\/2025 est à venir/);
  assert.equal(await ref.inputValue("#sortie-motif_sortie"), "Sortie anticipée : déménagement", "la saisie est gardée");
  assert.match(await bilans(), /Bilan à 11 mois.*Bilan à 17 mois/);
  await capture(ref, "import-06-sortie-refusee");

  // Le 1er octobre, avec le courrier qui la prouve.
  await ref.fill("#sortie-date_sortie", "2025-10-01");
  await ref.selectOption("#sortie-genre", "courrier");
  await ref.setInputFiles("#sortie-fichier", { name: "courrier-demenagement.pdf", mimeType: "application/pdf", buffer: unPdf() });
  assert.equal(await envoyer(ref, "button:has-text('Enregistrer la sortie')"), 200);
  assert.match(await ref.locator(".alerte.succes").textContent(), /Sortie enregistrée\. Bilans BRSA : 1 bilan de sortie anticipée prévu, 2 bilan\(s\) suivant\(s\) annulé\(s\)\. La preuve de la sortie est déposée au dossier\./);
  assert.match((await ref.locator("dl.fiche").innerText()).replace(/\s+/g, " "), /Sortie 01\/10\/2025 — Sortie anticipée : déménagement/);
  const apres = await bilans();
  assert.match(apres, /Bilan à 5 mois.*Bilan de sortie anticipée — dû le 01\/10\/2025/);
  assert.doesNotMatch(apres, /11 mois|17 mois/);
  assert.equal(await ref.locator("#sortie").count(), 0, "plus de formulaire de sortie");
  await capture(ref, "import-07-sortie-enregistree");
  // La preuve est au dossier, sous la pièce attendue de la sortie.
  await ref.goto(`${service.url}${new URL(ref.url()).pathname}/justificatifs`);
  assert.match(await ref.locator("#pieces + *").textContent(), /courrier-demenagement\.pdf|Courrier/);
  assert.deepEqual(inattendues(ref), [], ref.erreurs.join("\n"));
});
