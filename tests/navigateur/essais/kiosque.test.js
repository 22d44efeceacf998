// Scénario 2 : atelier collectif sur une tablette. La référente ouvre la feuille (7 participants
// attendus), la tablette se verrouille ; chacun touche son nom et signe au doigt, une personne
// est ajoutée sur place, un absent est retiré à la clôture ; le réseau tombe pendant deux
// signatures (gardées sur la tablette, envoyées au retour, sans doublon) ; une présente qui a
// signé ne signe pas une seconde fois comme « pas dans la liste » ; l'animatrice signe et clôt :
// une feuille scellée à 9 signatures. Sortir du kiosque demande le mot de passe.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {
  Service, navigateur, installer, activerParOubli, nouvellePage, capture, tracerDoigt, attendre, pagesAffichees, signerSurLaTablette,
  TABLETTE, TABLETTE_PAYSAGE, BUREAU, MOT_DE_PASSE,
} from "../outils.js";

let service, chrome, jeton;

// Huit participants de plus dans le portefeuille de Marion Lefort.
const ATELIER = [
  ["P-2025-0501", "Martin", "Kevin", "Mauguio"], ["P-2025-0502", "Nguyen", "Linh", "Palavas-les-Flots"],
  ["P-2025-0503", "Durand", "Sophie", "Lunel"], ["P-2025-0504", "Haddad", "Youssef", "La Grande-Motte"],
  ["P-2025-0505", "Petit", "Marine", "Mauguio"], ["P-2025-0506", "Traoré", "Moussa", "Lunel"],
  ["P-2025-0507", "Lefèvre", "Julien", "Candillargues"], ["P-2025-0508", "Moreau", "Inès", "Lunel"],
];

before(async () => {
  service = await Service.demarrer();
  chrome = await navigateur();
  const admin = await chrome.newContext(BUREAU);
  ({ jeton } = await installer(service, admin));
  const entete = "Identifiant;Civilité;Nom;Prénom;Date de naissance;Email;Téléphone;Code postal;Commune;Département;Email référent;Nom référent;Prénom référent;Opération;Prescripteur;Email prescripteur;Date d'entrée;RSA;Début CER;Date de sortie;Motif de sortie";
  const lignes = ATELIER.map(([id, nom, prenom, commune]) => `${id};;${nom};${prenom};;;;34000;${commune};34;m.lefort@plie.fr;Lefort;Marion;202500417;;;01/03/2025;Non;;;`);
  const r = await service.api("POST", "/api/participants/import", jeton, [entete, ...lignes].join("\n") + "\n", "text/csv");
  assert.equal(r.statut, 200, r.texte);
});

after(async () => {
  if (chrome) await chrome.close();
  if (service) await service.fermer();
});

test("atelier collectif : 8 présents signent à tour de rôle, l'animatrice clôt, une feuille scellée à 9 signatures", async () => {
  const tablette = await chrome.newContext(TABLETTE_PAYSAGE);
  const page = await nouvellePage(tablette);
  await page.goto(`${service.url}/connexion`);
  await activerParOubli(service, page, "m.lefort@plie.fr");
  await page.goto(`${service.url}/kiosque/nouveau`);
  await page.check("input[name=genre][value=collectif]");
  await page.fill("#intitule", "Atelier « Réussir son entretien d'embauche »");
  await page.fill("#lieu", "Maison de l'emploi, salle Camargue");
  // Sept attendus : Inès Moreau viendra, mais elle n'est pas cochée ; Claire Roux est cochée et
  // ne viendra pas.
  for (const [, nom, prenom] of ATELIER.slice(0, 7)) {
    await page.locator("label.case", { hasText: `${prenom} ${nom.toUpperCase()}` }).locator("input").check();
  }
  await page.locator("label.case", { hasText: "Claire ROUX" }).locator("input").check();
  await capture(page, "20-kiosque-ouverture");
  await page.click("text=Ouvrir la feuille sur cette tablette");
  await page.waitForURL(/\/kiosque\/k-/);
  const kiosque = page.url().match(/\/kiosque\/(k-[a-z0-9]+)/)[1];
  assert.equal(await page.locator("button.present").count(), 8);

  // Verrouillée : toute autre page ramène à la feuille, l'API refuse la session.
  await page.goto(`${service.url}/accueil`);
  assert.match(page.url(), new RegExp(`/kiosque/${kiosque}$`));
  const api = await page.evaluate(async () => (await fetch("/api/participants")).status);
  assert.equal(api, 403);
  page.erreurs.length = 0; // le 403 attendu
  await capture(page, "21-kiosque-liste");

  // Tablette en portrait pour la suite, comme on la tend aux participants.
  await page.setViewportSize(TABLETTE.viewport);
  const presents = ATELIER.slice(0, 7).map(([, nom, prenom]) => `${prenom} ${nom.toUpperCase()}`);
  // Dans l'ordre où ils arrivent, pas celui de la liste.
  const ordre = [3, 0, 6, 1, 2];
  for (const [i, k] of ordre.entries()) {
    if (i === 0) {
      await page.locator("button.present", { hasText: presents[k] }).click();
      await tracerDoigt(page, "#pad", k);
      await page.check("#consentement");
      await capture(page, "22-kiosque-signature");
      await page.click("#signer");
      await page.locator("#liste").waitFor({ state: "visible" });
    } else {
      await signerSurLaTablette(page, presents[k], k);
    }
    await page.locator("button.present", { hasText: presents[k] }).locator("text=signé ✓").waitFor();
  }

  // Coupure du réseau : deux signatures (dont une personne ajoutée sur place) restent sur la
  // tablette, puis partent au retour, une seule fois chacune.
  // Chromium laisse passer les requêtes vers la boucle locale malgré le mode hors ligne : elles
  // sont coupées aussi, comme sur une vraie tablette sans réseau.
  await tablette.route("**/*", (r) => r.abort("internetdisconnected"));
  await tablette.setOffline(true);
  await signerSurLaTablette(page, presents[4], 4);
  await page.click("#ajouter");
  await page.fill("#np-prenom", "Inès");
  await page.fill("#np-nom", "Moreau");
  await tracerDoigt(page, "#pad", 7);
  await page.check("#consentement");
  await page.click("#signer");
  await page.locator("#etat-reseau.hors-ligne").waitFor();
  assert.match(await page.locator("#etat-reseau").textContent(), /2 signature\(s\) gardée\(s\)/);
  const enAttente = await page.evaluate((k) => JSON.parse(localStorage.getItem(`parafe-kiosque-${k}`)).length, kiosque);
  assert.equal(enAttente, 2);
  await capture(page, "23-kiosque-hors-ligne");
  // Le réseau revient ; la page est même rechargée : les signatures gardées sur la tablette
  // (localStorage) partent au chargement, une fois chacune.
  await tablette.unroute("**/*");
  await tablette.setOffline(false);
  await page.reload();
  await page.locator("button.present", { hasText: "Inès MOREAU" }).locator("text=signé ✓").waitFor({ timeout: 20000 });
  await page.waitForFunction((k) => JSON.parse(localStorage.getItem(`parafe-kiosque-${k}`) || "[]").length === 0, kiosque);
  await signerSurLaTablette(page, presents[5], 5);
  await page.locator("button.present", { hasText: presents[5] }).locator("text=signé ✓").waitFor();

  // Kevin Martin, qui a signé, se déclare « pas dans la liste » : refusé, une ligne pour lui.
  const refus = new Promise((resolve) => page.once("dialog", async (d) => { resolve(d.message()); await d.accept(); }));
  await page.click("#ajouter");
  await page.fill("#np-prenom", "kevin");
  await page.fill("#np-nom", "Martin");
  await tracerDoigt(page, "#pad", 8);
  await page.check("#consentement");
  await page.click("#signer");
  assert.match(await refus, /Kevin MARTIN a déjà signé cette feuille/);
  await page.locator("#etat-reseau", { hasText: "a déjà signé" }).waitFor();
  // Le bouton « envoi en attente » du refusé part au rafraîchissement de la liste.
  await page.locator("button.present.en-attente-envoi").waitFor({ state: "detached" });
  assert.equal(await page.locator("button.present", { hasText: "Kevin MARTIN" }).count(), 1);
  page.erreurs.length = 0; // le 409 attendu

  // Quitter sans le mot de passe : impossible.
  await page.click("#sortie summary");
  await page.fill("#mdp-sortie", "pas le bon mot de passe");
  await page.click("#sortie button[type=submit]");
  await page.waitForURL(/erreur=/);
  assert.match(await page.locator("#sortie .alerte").textContent(), /mot de passe incorrect/);
  await page.goto(`${service.url}/accueil`);
  assert.match(page.url(), new RegExp(`/kiosque/${kiosque}$`), "toujours verrouillée");

  // L'animatrice signe et clôt : Claire Roux (absente) quitte la feuille.
  await page.click("#cloturer");
  await tracerDoigt(page, "#pad", 9);
  await page.check("#consentement");
  await capture(page, "24-kiosque-cloture");
  await page.click("#signer");
  await page.waitForURL(/\/documents\/d-/);
  const reference = page.url().match(/\/documents\/(d-[a-z0-9]+)/)[1];
  const v = await service.attendreEtat(jeton, reference, ["depose", "delivre"]);
  const signes = v.signataires.filter((s) => s.etat === "signe");
  // 7 attendus venus + Inès Moreau ajoutée sur place + l'animatrice.
  assert.equal(signes.length, 9);
  assert.equal(v.signataires.length, 9, "l'absente a quitté la feuille");
  assert.ok(!v.signataires.some((s) => s.nom.includes("ROUX")));
  assert.equal(signes.filter((s) => s.role === "animateur").length, 1);
  await page.reload();
  await pagesAffichees(page);
  await capture(page, "25-feuille-scellee");
  // Le PDF scellé passe pyHanko.
  const pdf = path.join(service.racine, "emargement.pdf");
  const r = await fetch(`${service.url}/api/documents/${reference}/pdf`, { headers: { Authorization: `Bearer ${jeton}` } });
  fs.writeFileSync(pdf, Buffer.from(await r.arrayBuffer()));
  const rapport = execFileSync("pyhanko", ["sign", "validate",
    "--trust", path.join(service.data, "cles/ac-dev.pem"), pdf], { encoding: "utf8" });
  assert.match(rapport, /INTACT:TRUSTED/, rapport);
  // La feuille figure au dossier de chaque présent.
  await page.goto(`${service.url}/accueil?q=Moreau`);
  await page.click("text=Inès MOREAU");
  assert.match(await page.locator("#documents + *").textContent(), /Émargement — atelier collectif/);
  const erreurs = page.erreurs.filter((e) => !e.includes("ERR_INTERNET_DISCONNECTED") && !e.includes("Failed to fetch"));
  assert.deepEqual(erreurs, [], erreurs.join("\n"));
});

test("sortir du kiosque avec le bon mot de passe rend la main au référent, la feuille reste ouverte", async () => {
  const tablette = await chrome.newContext(TABLETTE);
  const page = await nouvellePage(tablette);
  await page.goto(`${service.url}/connexion`);
  await page.fill("#email", "m.lefort@plie.fr");
  await page.fill("#mot_de_passe", MOT_DE_PASSE);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  await page.goto(`${service.url}/kiosque/nouveau`);
  await page.check("input[name=genre][value=individuel]");
  await page.locator("label.case", { hasText: "Kevin MARTIN" }).locator("input").check();
  await page.fill("#lieu", "Bureau 2");
  await page.fill("#objet", "Point mensuel");
  await page.fill("#contenu-entretien", "Recherche d'emploi, préparation de l'entretien chez Logisud.");
  await page.click("text=Ouvrir la feuille sur cette tablette");
  await page.waitForURL(/\/kiosque\/k-/);
  // Un envoi rejoué (réponse perdue pendant une coupure) n'est enregistré qu'une fois.
  const rejeu = await page.evaluate(async () => {
    const etat = JSON.parse(document.getElementById("donnees-kiosque").textContent);
    const kevin = etat.signataires.find((s) => s.role === "participant");
    const corps = { cle: "rejeu-essai", signataire: kevin.id, signature: { nom_tape: "Kevin Martin", consentement: document.getElementById("texte-consentement").textContent.trim(), version: etat.version } };
    const envoi = () => fetch(`/kiosque/${etat.ref}/signatures`, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": etat.csrf }, body: JSON.stringify(corps) }).then((r) => r.json());
    return [await envoi(), await envoi()];
  });
  assert.equal(rejeu[0].deja, false, JSON.stringify(rejeu));
  assert.equal(rejeu[1].deja, true);
  assert.equal(rejeu[0].rang, rejeu[1].rang);
  await page.click("#sortie summary");
  await page.fill("#mdp-sortie", MOT_DE_PASSE);
  await page.click("#sortie button[type=submit]");
  await page.waitForURL(/\/documents\/d-/);
  await page.goto(`${service.url}/accueil`);
  assert.match(page.url(), /\/accueil$/, "la tablette n'est plus verrouillée");
  await attendre(10);
});
