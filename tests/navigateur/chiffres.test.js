// Les chiffres du PLIE dans Chromium : le coordinateur ouvre les chiffres de l'opération depuis
// sa page « À faire », lit les graphiques dessinés par le serveur, passe au bilan intermédiaire
// du 31 mai, ouvre la liste derrière un nombre, puis télécharge le tableur (XLSX). Le service
// est au 15 octobre 2025 ; 18 participants importés, leurs questionnaires d'entrée et de sortie
// enregistrés par l'API. Captures dans target/captures/chiffres-*.png.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { Service, navigateur, installer, activerParOubli, nouvellePage, capture, BUREAU } from "./outils.js";

let service, chrome, jeton;

const MOTIFS = ["Emploi CDI", "CDD de 8 mois", "Formation qualifiante", "Déménagement", "Emploi CDI", "Abandon", "Création d'entreprise"];

/// 18 participants entrés de janvier à septembre 2025 ; un sur deux sorti trois mois plus tard.
function extraction() {
  const lignes = ["Identifiant;Civilité;Nom;Prénom;Date de naissance;Email;Téléphone;Code postal;Commune;Département;Email référent;Nom référent;Prénom référent;Opération;Prescripteur;Email prescripteur;Date d'entrée;RSA;Début CER;Date de sortie;Motif de sortie"];
  for (let i = 0; i < 18; i++) {
    const mois = 1 + (i % 9);
    const entree = `${String(3 + i).padStart(2, "0")}/${String(mois).padStart(2, "0")}/2025`;
    const sortie = i % 2 === 0 && mois + 3 <= 9 ? `${String(3 + i).padStart(2, "0")}/${String(mois + 3).padStart(2, "0")}/2025` : "";
    const motif = sortie ? MOTIFS[(i / 2) % MOTIFS.length] : "";
    lignes.push(`CH-${i};Madame;Nom${i};Camille;01/02/${1970 + i};;;34400;Lunel;34;t.garnier@plie.fr;Garnier;Thomas;202500417;France Travail Lunel;;${entree};Non;;${sortie};${motif}`);
  }
  return lignes.join("\n") + "\n";
}

const v = (x) => ({ valeur: x });

before(async () => {
  service = await Service.demarrer({ horloge: "2025-10-15T08:00:00Z" });
  chrome = await navigateur();
  const admin = await chrome.newContext(BUREAU);
  ({ jeton } = await installer(service, admin));
  let r = await service.api("POST", "/api/participants/import", jeton, extraction(), "text/csv");
  assert.equal(r.statut, 200, r.texte);
  r = await service.api("GET", "/api/participants", jeton);
  for (const p of r.json.participants.filter((p) => p.identifiant_externe.startsWith("CH-"))) {
    const i = Number(p.identifiant_externe.slice(3));
    if (i % 6 === 5) continue; // sans questionnaire d'entrée
    // Sans emploi, les questions de recherche ; en emploi temporaire, aucune.
    const situation = i % 4 === 0 ? { q1: v("1c") } : { q1: v("non"), q1e: v("non"), q1f: v("oui"), q1g: v(String(3 + i)) };
    const entree = await service.api("PUT", `/api/participants/${p.ref}/questionnaire/entree`, jeton, { reponses: {
      sexe: v("femme"), commune_naissance: v("34400 Lunel"), adresse: v("3 rue des Écoles"), date_questionnaire: v(p.date_entree),
      ...situation, q2: v(["cite_0_2", "cite_3_4", "cite_5_8"][i % 3]), handicap: v(i % 5 === 0 ? "oui" : "non"),
      nationalite: v(i % 7 === 0 ? "pays_tiers" : "francaise"), origine: v(i % 3 === 0 ? "oui" : "non"),
      minorite: v("non"), logement: "ne_se_prononce_pas", zone_rurale: v(i % 4 === 1 ? "oui" : "non"),
    } });
    assert.equal(entree.statut, 200, entree.texte);
    if (p.date_sortie && i % 4 === 0) {
      const sortie = await service.api("PUT", `/api/participants/${p.ref}/questionnaire/sortie`, jeton, { reponses: {
        date_recueil_sortie: v(p.date_sortie), s2: v("oui"),
        ...(i % 8 === 0 ? { s1: v("1b") } : { s1: v("non"), s1e: v("non"), s1f: v("oui") }),
      } });
      assert.equal(sortie.statut, 200, sortie.texte);
    }
  }
  service.compte("coord@plie.fr", "coordinateur");
});

after(async () => {
  if (chrome) await chrome.close();
  if (service) await service.fermer();
});

test("chiffres : écran et graphiques, bilan au 31 mai, liste derrière un nombre, tableur", async () => {
  const bureau = await chrome.newContext({ ...BUREAU, acceptDownloads: true });
  const page = await nouvellePage(bureau);
  await page.goto(`${service.url}/connexion`);
  await activerParOubli(service, page, "coord@plie.fr");

  // Depuis « À faire » du coordinateur.
  await page.goto(`${service.url}/a-faire`);
  await Promise.all([page.waitForNavigation(), page.click("#titre-chiffres + ul a")]);
  assert.match(page.url(), /\/operations\/202500417\/chiffres$/);
  assert.equal(await page.locator("a[aria-current=page][data-periode=annee]").count(), 1);
  const nombre = async (mesure) => Number((await page.locator(`[data-mesure="${mesure}"]`).first().textContent()).trim());
  assert.equal(await nombre("entrees"), 21, "18 de l'essai et 3 de l'installation");
  assert.equal(await page.locator("svg.graphique").count(), 3);
  assert.equal(await page.locator("svg.graphique rect.entrees").count(), 12 + 1, "une barre par mois et la légende");
  await capture(page, "chiffres-01-annee");

  // Le bilan intermédiaire au 31 mai.
  await Promise.all([page.waitForNavigation(), page.click("[data-periode='31-mai']")]);
  assert.match(page.url(), /periode=31-mai&annee=2025/);
  assert.match(await page.locator("main").textContent(), /du 01\/01\/2025 au 31\/05\/2025/);
  assert.equal(await page.locator("svg.graphique rect.entrees").count(), 5 + 1);
  await capture(page, "chiffres-02-31-mai");

  // Le nombre des sorties mène à la liste de ceux qui sont derrière.
  const sorties = await nombre("sorties");
  await Promise.all([page.waitForNavigation(), page.click("a.nombre[data-mesure=sorties]")]);
  assert.match(page.url(), /\/chiffres\/sorties\?periode=31-mai&annee=2025$/);
  assert.equal(await page.locator("table.participants-chiffre tbody tr").count(), sorties);
  await capture(page, "chiffres-03-liste-des-sorties");

  // Le tableur de la même période.
  await page.goBack();
  const [telechargement] = await Promise.all([page.waitForEvent("download"), page.click("a[href*='chiffres.xlsx']")]);
  assert.equal(telechargement.suggestedFilename(), "chiffres-202500417-31-mai-2025.xlsx");
  const fichier = path.join(service.racine, "chiffres.xlsx");
  await telechargement.saveAs(fichier);
  assert.equal(fs.readFileSync(fichier).subarray(0, 2).toString(), "PK", "un classeur OOXML (ZIP)");
  assert.deepEqual(page.erreurs, [], page.erreurs.join("\n"));
});
