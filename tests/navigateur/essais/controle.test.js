// Scénario 3 : un contrôle FSE. L'assistante cherche les pièces d'une participante, ouvre ses
// pièces attendues, dépose le contrat de travail reçu (un faux PDF est refusé), regarde les
// pièces attendues de l'opération, puis prépare le pack d'audit : elle suit sa progression et
// le télécharge ; `parafe verify` le valide, et le journal garde l'export et le téléchargement.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Service, navigateur, installer, activerParOubli, nouvellePage, capture, BINAIRE, BUREAU, DEPOT } from "../outils.js";

let service, chrome;

before(async () => {
  service = await Service.demarrer();
  chrome = await navigateur();
  const admin = await chrome.newContext(BUREAU);
  await installer(service, admin);
  service.compte("c.roux@plie.fr", "assistant");
});

after(async () => {
  if (chrome) await chrome.close();
  if (service) await service.fermer();
});

/// Un vrai PDF : le contrat d'engagement d'exemple, composé par parafe.
function unPdf() {
  const sortie = path.join(service.racine, "contrat.pdf");
  execFileSync(BINAIRE, ["render", "contrat-engagement", "--data", path.join(DEPOT, "document-templates/examples/contrat-engagement.json"), "-o", sortie], { stdio: "ignore" });
  return fs.readFileSync(sortie);
}

test("contrôle : recherche, pièces attendues, dépôt, pack d'audit suivi puis téléchargé et vérifié", async () => {
  const bureau = await chrome.newContext({ ...BUREAU, acceptDownloads: true });
  const page = await nouvellePage(bureau);
  await page.goto(`${service.url}/connexion`);
  await activerParOubli(service, page, "c.roux@plie.fr");

  // La recherche : les pièces et ce qui manque à Samira Benali, avec où en est chaque preuve.
  await page.click("nav >> text=Contrôle");
  await page.waitForURL(/\/controle$/);
  await page.fill("#r-participant", "benali");
  await Promise.all([page.waitForNavigation(), page.click("form.recherche-pieces button[type=submit]")]);
  assert.match(await page.locator("#titre-resultats").textContent(), /opération 202500417/);
  assert.match(await page.locator(".resultats-manques").textContent(), /Contrat d'engagement signé/);
  await capture(page, "controle-01-recherche");

  // Ses pièces attendues, puis le dépôt : un programme renommé en PDF est refusé, le vrai PDF déposé.
  await page.locator(".resultats-manques a", { hasText: "Samira BENALI" }).first().click();
  await page.waitForURL(/\/participants\/[^/]+\/justificatifs/);
  assert.equal(await page.locator(".liste-attendues tr[data-etat=manquant]", { hasText: "Contrat d'engagement" }).count(), 1);
  await page.selectOption("#genre", "contrat-travail");
  await page.setInputFiles("#fichier", { name: "contrat.pdf", mimeType: "application/pdf", buffer: Buffer.concat([Buffer.from("MZ\x90\x00\x03"), Buffer.alloc(4096)]) });
  await Promise.all([page.waitForNavigation(), page.click("form.depot button[type=submit]")]);
  assert.match(await page.locator(".alerte.erreur").textContent(), /rien n'a été déposé.*programme Windows/s);
  assert.equal(await page.locator("#genre").inputValue(), "contrat-travail", "le type choisi reste choisi");
  await capture(page, "controle-02-depot-refuse");
  page.erreurs.length = 0; // la réponse 422 attendue
  await page.selectOption("#genre", "contrat-travail");
  await page.fill("#date_piece", "2025-09-01");
  await page.fill("#etape", "emploi durable");
  await page.setInputFiles("#fichier", { name: "contrat-cdi-février.pdf", mimeType: "application/pdf", buffer: unPdf() });
  await Promise.all([page.waitForNavigation(), page.click("form.depot button[type=submit]")]);
  assert.match(await page.locator(".alerte.succes").textContent(), /« contrat-cdi-février\.pdf » déposé : Contrat de travail, SHA-256 [0-9a-f]{64}, au coffre, dépôt inscrit au journal/);
  assert.match(await page.locator("#pieces + *").textContent(), /Contrat de travail/);
  await capture(page, "controle-03-pieces-attendues");

  // Les pièces attendues de l'opération, participant par participant.
  await page.goto(`${service.url}/controle/operations/202500417`);
  assert.equal(await page.locator(".liste-operation tbody tr").count(), 3);
  await capture(page, "controle-04-operation");

  // Le pack d'audit : préparé en arrière-plan, suivi, téléchargé.
  await page.goto(`${service.url}/controle`);
  await page.fill("#p-du", "2025-01-01");
  await Promise.all([page.waitForNavigation(), page.click("form.pack button[type=submit]")]);
  assert.match(page.url(), /\/controle\/exports\/pack-[a-z0-9]+$/);
  const reference = page.url().split("/").pop();
  await page.locator("#progression-pack").waitFor();
  await capture(page, "controle-05-pack-en-preparation");
  await page.locator("#telecharger-pack").waitFor({ state: "visible", timeout: 60000 });
  assert.match(await page.locator("#etat-pack").textContent(), /prêt à télécharger/);
  assert.equal(await page.locator("#progression-pack").getAttribute("value"), "100");
  await capture(page, "controle-06-pack-pret");
  const [telechargement] = await Promise.all([page.waitForEvent("download"), page.click("#telecharger-pack")]);
  assert.match(telechargement.suggestedFilename(), /^pack-audit-202500417-pack-[a-z0-9]+\.zip$/);
  const zip = path.join(service.racine, "pack.zip");
  await telechargement.saveAs(zip);
  const verification = execFileSync(BINAIRE, ["verify", zip, "--data-dir", service.data], { encoding: "utf8" });
  assert.match(verification, /VALIDE/);
  const sha = (await page.locator("#sha-pack").textContent()).trim();
  assert.equal(execFileSync("sha256sum", [zip], { encoding: "utf8" }).split(" ")[0], sha);

  // Le pack de l'opération figure dans la liste ; le journal garde l'export et le téléchargement.
  await page.goto(`${service.url}/controle`);
  assert.match(await page.locator("#titre-packs + .tableau-defilant").textContent(), new RegExp(`${reference}[\\s\\S]*prêt à télécharger`));
  const journal = fs.readdirSync(path.join(service.data, "journal", "plie-test"))
    .filter((n) => n.endsWith(".jsonl")).sort()
    .map((n) => fs.readFileSync(path.join(service.data, "journal", "plie-test", n), "utf8")).join("");
  assert.match(journal, /"type":"export_made"/);
  assert.match(journal, new RegExp(`"type":"export_downloaded","actor":"personnel-\\d+","export":"${reference}"`));
  assert.deepEqual(page.erreurs, [], page.erreurs.join("\n"));
});
