// parafe : comportements communs des écrans (aucun script en ligne, voir la CSP).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Boutons qui demandent confirmation (annuler un document, révoquer un jeton…).
  for (const bouton of document.querySelectorAll("[data-confirmer]")) {
    bouton.addEventListener("click", (e) => {
      if (!window.confirm(bouton.dataset.confirmer)) e.preventDefault();
    });
  }
  // Formulaires dont une partie dépend d'un choix (entretien individuel ou atelier collectif).
  for (const form of document.querySelectorAll("form")) {
    const radios = form.querySelectorAll('input[type="radio"][name="genre"]');
    if (!radios.length) continue;
    const maj = () => {
      const choisi = form.querySelector('input[name="genre"]:checked');
      form.dataset.genre = choisi ? choisi.value : "";
    };
    radios.forEach((r) => r.addEventListener("change", maj));
    maj();
  }
  // Filtre d'une liste (participants à cocher), comme la recherche des participants : sans
  // accents, majuscules ni ponctuation ; chaque mot tapé quelque part, dans n'importe quel ordre
  // (« n diaye » comme « ndiaye »).
  const plier = (s) =>
    s.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase()
      .replace(/œ/g, "oe").replace(/æ/g, "ae").replace(/ß/g, "ss")
      .replace(/ø/g, "o").replace(/đ/g, "d").replace(/ł/g, "l")
      .replace(/[^\p{L}\p{N}]+/gu, " ").trim();
  for (const champ of document.querySelectorAll("[data-filtre]")) {
    const elements = document.querySelectorAll(champ.dataset.filtre);
    champ.addEventListener("input", () => {
      const mots = plier(champ.value).split(" ").filter((m) => m !== "");
      for (const el of elements) {
        const texte = plier(el.textContent);
        const accole = texte.replace(/ /g, "");
        el.hidden = !mots.every((m) => texte.includes(m) || accole.includes(m));
      }
    });
  }
});
