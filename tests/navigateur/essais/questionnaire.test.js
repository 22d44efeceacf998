// Scénario 6 : le questionnaire FSE d'une participante, enregistré, puis mis en PDF depuis son
// formulaire par le référent : les sections de la définition à l'écran, le bouton sous les
// réponses enregistrées, le document scellé et remis qu'il ouvre.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Service, navigateur, installer, activerParOubli, nouvellePage, capture, pagesAffichees, BUREAU } from "../outils.js";

let service, chrome;

before(async () => {
  service = await Service.demarrer({ horloge: "2025-06-18T08:00:00Z" });
  chrome = await navigateur();
});

after(async () => {
  if (chrome) await chrome.close();
  if (service) await service.fermer();
});

const valeur = (v) => ({ valeur: v });

test("questionnaire FSE : formulaire par sections, PDF des réponses scellé depuis l'écran", async () => {
  const admin = await chrome.newContext(BUREAU);
  const { jeton } = await installer(service, admin);
  const liste = await service.api("GET", "/api/participants?recherche=Benali", jeton);
  const samira = liste.json.participants[0].ref;
  const reponses = {
    sexe: valeur("femme"), commune_naissance: valeur("34400 Lunel"), adresse: valeur("3 rue des Écoles"),
    date_questionnaire: valeur("2025-03-05"), q1: valeur("non"), q1e: valeur("non"), q1f: valeur("oui"),
    q1g: valeur("14"), q2: valeur("cite_3_4"), handicap: valeur("non"), nationalite: valeur("francaise"),
    origine: valeur("non"), minorite: valeur("non"), logement: "ne_se_prononce_pas", zone_rurale: valeur("non"),
  };
  const r = await service.api("PUT", `/api/participants/${samira}/questionnaire/entree`, jeton, { reponses });
  assert.equal(r.statut, 200, r.texte);

  const bureau = await chrome.newContext(BUREAU);
  const ref = await nouvellePage(bureau);
  await activerParOubli(service, ref, "t.garnier@plie.fr");
  await ref.waitForURL(/\/accueil/);
  await ref.goto(`${service.url}/participants/${samira}/questionnaire/entree`);
  const sections = await ref.locator("form.document section.carte h2").allTextContents();
  assert.deepEqual(sections, [
    "Coordonnées du participant à l'entrée dans l'opération",
    "Situation sur le marché du travail et niveau d'études à l'entrée",
    "Autres données du participant",
  ]);
  await capture(ref, "60-questionnaire-formulaire");

  await Promise.all([ref.waitForURL(/\/documents\//), ref.click("#pdf-questionnaire")]);
  const reference = ref.url().split("/documents/")[1];
  await service.attendreEtat(jeton, reference, ["delivre"]);
  await ref.reload();
  await pagesAffichees(ref);
  assert.match(await ref.locator("h1").textContent(), /Questionnaire FSE/);
  assert.match(await ref.locator("#signataires + p").textContent(), /Aucun signataire : le document est scellé/);
  await capture(ref, "61-questionnaire-pdf-scelle");
});
