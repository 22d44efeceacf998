-- Noms de fichiers des justificatifs déjà déposés : les caractères de mise en forme
-- bidirectionnelle et invisibles sont retirés, comme parafe le fait désormais à chaque dépôt
-- (« facture<U+202E>fdp.exe », avec l'inversion droite-gauche, se lit « factureexe.pdf » ;
-- isolats, marques, espaces sans largeur, séparateurs de lignes). L'empreinte, la pièce au
-- coffre et le journal ne changent pas.
UPDATE justificatif SET nom_fichier = trim(
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(nom_fichier, char(0x061C), ''), char(0x200B), ''), char(0x200C), ''), char(0x200D), ''), char(0x200E), ''), char(0x200F), ''), char(0x202A), ''), char(0x202B), ''), char(0x202C), ''), char(0x202D), ''), char(0x202E), ''), char(0x2060), ''), char(0x2066), ''), char(0x2067), ''), char(0x2068), ''), char(0x2069), ''), char(0xFEFF), ''), char(0x2028), ''), char(0x2029), '')
);
