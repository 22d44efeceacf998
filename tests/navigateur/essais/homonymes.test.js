// Scénario 6 : deux homonymes à un atelier. Deux « Jean MARTIN » arrivent par l'import du
// logiciel de parcours (nés en 1985 et en 1992, identifiants différents). Le référent les coche
// tous deux ; sur la tablette, chaque bouton dit l'année de naissance (jamais la date entière) ;
// chacun touche le sien et signe sa ligne ; la feuille scellée porte chaque signature sur la
// ligne de son identifiant.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {
  Service, navigateur, installer, activerParOubli, nouvellePage, capture, tracerDoigt, pagesAffichees, signerSurLaTablette,
  TABLETTE, BUREAU, EXTRACTION,
} from "../outils.js";

let service, chrome, jeton;

const HOMONYMES = [
  ["P-2025-0601", "Monsieur", "Martin", "Jean", "17/05/1985", "Lunel"],
  ["P-2025-0602", "Monsieur", "MARTIN", "Jean", "02/11/1992", "Lunel"],
];

before(async () => {
  service = await Service.demarrer();
  chrome = await navigateur();
  const admin = await chrome.newContext(BUREAU);
  ({ jeton } = await installer(service, admin));
  const [entete] = EXTRACTION.split("\n");
  const lignes = HOMONYMES.map(([id, civilite, nom, prenom, naissance, commune]) => `${id};${civilite};${nom};${prenom};${naissance};;;34400;${commune};34;t.garnier@plie.fr;Garnier;Thomas;202500417;;;01/03/2025;Non;;;`);
  const r = await service.api("POST", "/api/participants/import", jeton, [entete, ...lignes].join("\n") + "\n", "text/csv");
  assert.equal(r.statut, 200, r.texte);
});

after(async () => {
  if (chrome) await chrome.close();
  if (service) await service.fermer();
});

test("deux Jean MARTIN à un atelier : deux boutons distincts, chacun signe sa ligne", async () => {
  const tablette = await chrome.newContext(TABLETTE);
  const page = await nouvellePage(tablette);
  await page.goto(`${service.url}/connexion`);
  await activerParOubli(service, page, "t.garnier@plie.fr");

  // La liste du référent : les homonymes seuls portent leur année de naissance.
  await page.goto(`${service.url}/accueil`);
  const lignes = page.locator("tbody tr", { hasText: "Jean MARTIN" });
  assert.equal(await lignes.count(), 2);
  const annees = (await lignes.allTextContents()).map((t) => (t.match(/né\(e\) en (\d{4})/) || [])[1]).sort();
  assert.deepEqual(annees, ["1985", "1992"]);
  assert.doesNotMatch(await page.locator("tbody tr", { hasText: "Samira BENALI" }).textContent(), /né\(e\)/);
  await capture(page, "60-homonymes-liste");

  await page.goto(`${service.url}/kiosque/nouveau`);
  await page.check("input[name=genre][value=collectif]");
  await page.fill("#intitule", "Atelier « Mon projet professionnel »");
  await page.fill("#lieu", "Maison de l'emploi, salle Camargue");
  for (const [id] of HOMONYMES) {
    await page.locator("label.case", { hasText: id }).locator("input").check();
  }
  await page.click("text=Ouvrir la feuille sur cette tablette");
  await page.waitForURL(/\/kiosque\/k-/);

  const boutons = page.locator("button.present");
  assert.equal(await boutons.count(), 2);
  const textes = (await boutons.allTextContents()).map((t) => t.replace(/\s+/g, " ").trim());
  assert.notEqual(textes[0], textes[1], "deux boutons identiques");
  const aine = page.locator("button.present", { hasText: "Jean MARTIN · né(e) en 1985" });
  const cadet = page.locator("button.present", { hasText: "Jean MARTIN · né(e) en 1992" });
  assert.equal(await aine.count(), 1, textes.join(" | "));
  assert.equal(await cadet.count(), 1, textes.join(" | "));
  // L'année seule : la tablette est vue de tout l'atelier.
  assert.doesNotMatch(await page.locator("#presents").textContent(), /17\/05|1985-05|02\/11/);
  await capture(page, "61-homonymes-kiosque");

  // Le cadet arrive le premier : sa ligne est signée, celle de l'aîné attend.
  await signerSurLaTablette(page, cadet, 1);
  await cadet.locator("text=signé ✓").waitFor();
  assert.match(await aine.textContent(), /à signer/);
  // Le panneau de signature nomme l'aîné avec son repère.
  await aine.click();
  await page.locator("#panneau").waitFor({ state: "visible" });
  assert.equal((await page.locator("#titre-signature").textContent()).trim(), "Signature de Jean MARTIN · né(e) en 1985");
  await capture(page, "62-homonymes-panneau");
  await tracerDoigt(page, "#pad", 2);
  await page.check("#consentement");
  await page.click("#signer");
  await page.locator("#liste").waitFor({ state: "visible" });
  await aine.locator("text=signé ✓").waitFor();
  await capture(page, "63-homonymes-signes");

  await page.click("#cloturer");
  await tracerDoigt(page, "#pad", 9);
  await page.check("#consentement");
  await page.click("#signer");
  await page.waitForURL(/\/documents\/d-/);
  const reference = page.url().match(/\/documents\/(d-[a-z0-9]+)/)[1];
  const v = await service.attendreEtat(jeton, reference, ["depose", "delivre"]);
  assert.equal(v.signataires.filter((s) => s.etat === "signe").length, 3);
  await page.reload();
  await pagesAffichees(page);
  await capture(page, "64-homonymes-feuille-scellee");

  // La feuille scellée : chaque identifiant sur sa ligne, chaque ligne signée.
  const pdf = path.join(service.racine, "homonymes.pdf");
  const r = await fetch(`${service.url}/api/documents/${reference}/pdf`, { headers: { Authorization: `Bearer ${jeton}` } });
  fs.writeFileSync(pdf, Buffer.from(await r.arrayBuffer()));
  const texte = execFileSync("pdftotext", ["-layout", pdf, "-"], { encoding: "utf8" });
  for (const [id] of HOMONYMES) {
    const ligne = texte.split("\n").findIndex((l) => l.includes(id));
    assert.ok(ligne >= 0, `${id} absent de la feuille :\n${texte}`);
    assert.match(texte.split("\n").slice(ligne, ligne + 3).join("\n"), /signé le/, `${id} :\n${texte}`);
  }
  const erreurs = page.erreurs;
  assert.deepEqual(erreurs, [], erreurs.join("\n"));
});
