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
  // Filtre d'une liste (participants à cocher).
  for (const champ of document.querySelectorAll("[data-filtre]")) {
    const elements = document.querySelectorAll(champ.dataset.filtre);
    const normaliser = (s) => s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
    champ.addEventListener("input", () => {
      const q = normaliser(champ.value.trim());
      for (const el of elements) el.hidden = q !== "" && !normaliser(el.textContent).includes(q);
    });
  }
});
