-- Une opération créée par l'import (qui ne la nomme que par son numéro) est « à décrire » tant
-- qu'un coordinateur n'a pas donné son intitulé et son programme : aucun document qui
-- l'imprime ne part avant, pour ne jamais présenter le bloc d'un autre programme. Les
-- opérations déjà là sont tenues pour décrites.
ALTER TABLE operation ADD COLUMN decrite INTEGER NOT NULL DEFAULT 1;
