// parafe : suivi d'un pack d'audit préparé en arrière-plan (aucun script en ligne, voir la CSP).
// La page interroge l'API chaque seconde et se recharge quand le pack est prêt ou a échoué.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const suivi = document.getElementById("suivi-pack");
  if (!suivi || suivi.dataset.etat === "fini" || suivi.dataset.etat === "echec") return;
  const barre = document.getElementById("progression-pack");
  const fichiers = document.getElementById("fichiers-pack");
  const etiquette = document.querySelector("#etat-pack .etiquette");
  const suivre = async () => {
    try {
      const r = await fetch(suivi.dataset.suivi, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (r.ok) {
        const e = await r.json();
        barre.value = e.pourcent;
        barre.textContent = `${e.pourcent} %`;
        fichiers.textContent = e.total > 0 ? `${e.progression} / ${e.total} fichiers` : "";
        etiquette.textContent = e.libelle_etat;
        if (e.etat === "fini" || e.etat === "echec") {
          window.location.reload();
          return;
        }
      }
    } catch (_) {
      // Réseau coupé : on réessaie à la seconde suivante.
    }
    setTimeout(suivre, 1000);
  };
  setTimeout(suivre, 500);
});
