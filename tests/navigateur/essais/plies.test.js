// Issue 20 : un second PLIE dans le même déploiement. L'administrateur du déploiement passe de
// ses comptes à « PLIE du déploiement », se trompe d'identifiant (refus en français, saisie
// gardée, rien d'écrit), ouvre le PLIE de Béziers : son cachet, émis en son nom, est à l'écran.
// La première administratrice de Béziers active son compte par le lien reçu, voit ses comptes
// et pas l'écran du déploiement (403), pas plus qu'une coordinatrice du premier PLIE.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Service, navigateur, installer, activerParOubli, nouvellePage, capture, lien, connecter, MOT_DE_PASSE, BUREAU } from "../outils.js";

let service, chrome, admin;

before(async () => {
  service = await Service.demarrer();
  chrome = await navigateur();
  ({ page: admin } = await installer(service, await chrome.newContext(BUREAU)));
  service.compte("coordination@plie.fr", "coordinateur");
});

after(async () => {
  if (chrome) await chrome.close();
  if (service) await service.fermer();
});

/// Envoie le formulaire qui contient `bouton` ; rend le statut HTTP de la page reçue.
async function envoyer(page, bouton) {
  const [reponse] = await Promise.all([page.waitForNavigation(), page.click(bouton)]);
  return reponse.status();
}

async function remplir(page, champs) {
  for (const [id, valeur] of Object.entries(champs)) await page.fill(`#${id}`, valeur);
}

test("l'administrateur du déploiement ouvre un second PLIE, avec son propre cachet", async () => {
  await admin.click("nav >> text=Comptes");
  await admin.click("text=les PLIE du déploiement et leurs cachets");
  await admin.waitForURL(/\/admin\/plies$/);
  assert.match(await admin.locator("tbody").textContent(), /PLIE du Pays de l'Or.*ce déploiement/s);
  assert.match(await admin.locator("tbody").textContent(), /Cachet du PLIE \(developpement\)/);

  const beziers = {
    nom: "PLIE de l'Agglomération Béziers Méditerranée",
    id: "Béziers",
    prenom_admin: "Nadia",
    nom_admin: "Roche",
    email_admin: "n.roche@plie-beziers.fr",
  };
  await remplir(admin, beziers);
  // Le motif du champ arrêterait le navigateur : c'est le refus du serveur qu'on veut voir.
  await admin.evaluate(() => document.querySelector("#id").removeAttribute("pattern"));
  assert.equal(await envoyer(admin, "form[action='/admin/plies'] button[type=submit]"), 422);
  assert.match(await admin.locator(".alerte.erreur").textContent(), /identifiant de PLIE « Béziers » invalide : lettres minuscules sans accent/);
  assert.equal(await admin.inputValue("#nom"), beziers.nom, "la saisie est gardée");
  assert.equal(await admin.locator("tbody tr").count(), 1, "rien n'a été écrit");
  await capture(admin, "plies-01-identifiant-refuse");

  await admin.fill("#id", "plie-beziers");
  assert.equal(await envoyer(admin, "form[action='/admin/plies'] button[type=submit]"), 200);
  assert.match(await admin.locator(".alerte.succes").textContent(), /PLIE « PLIE de l'Agglomération Béziers Méditerranée » ouvert : un lien d'activation part vers n\.roche@plie-beziers\.fr/);
  const ligne = admin.locator("tbody tr", { hasText: "plie-beziers" });
  const cachet = await ligne.locator("td").nth(3).textContent();
  assert.match(cachet, /PLIE de l'Agglomération Béziers Méditerranée/);
  assert.match(cachet, /certifié par « parafe AC de developpement \(non qualifiee\) », valable jusqu'au/);
  assert.match(await ligne.textContent(), /0 actif\(s\) sur 1/);
  assert.equal(await admin.inputValue("#nom"), "", "le formulaire est vidé");
  await capture(admin, "plies-02-beziers-ouvert");

  // La première administratrice de Béziers : activation par le lien reçu, puis ses comptes.
  const roche = await nouvellePage(await chrome.newContext(BUREAU));
  const courriel = await service.smtp.attendre("n.roche@plie-beziers.fr", "/compte/");
  assert.match(courriel, /PLIE de l'Agglomération Béziers Méditerranée/);
  await roche.goto(lien(courriel, "/compte/"));
  assert.equal(await roche.inputValue("#email"), "n.roche@plie-beziers.fr");
  await roche.fill("#mot_de_passe", MOT_DE_PASSE);
  await roche.fill("#confirmation", MOT_DE_PASSE);
  await Promise.all([roche.waitForNavigation(), roche.click("button[type=submit]")]);
  await connecter(roche, "n.roche@plie-beziers.fr");
  await roche.click("nav >> text=Comptes");
  const comptes = await roche.locator("tbody").textContent();
  assert.match(comptes, /n\.roche@plie-beziers\.fr/);
  assert.doesNotMatch(comptes, /admin@plie\.fr/, "les comptes d'un autre PLIE ne se voient pas");
  assert.equal(await roche.locator("text=les PLIE du déploiement").count(), 0);
  const refus = await roche.goto(`${service.url}/admin/plies`);
  assert.equal(refus.status(), 403);
  await capture(roche, "plies-03-refus-administratrice-de-beziers");

  await admin.reload();
  assert.match(await admin.locator("tbody tr", { hasText: "plie-beziers" }).textContent(), /1 actif\(s\) sur 1/);

  const coordination = await nouvellePage(await chrome.newContext(BUREAU));
  await coordination.goto(`${service.url}/connexion`);
  await activerParOubli(service, coordination, "coordination@plie.fr");
  assert.equal((await coordination.goto(`${service.url}/admin/plies`)).status(), 403);
});
