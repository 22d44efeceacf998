"""Un client S3 ordinaire (boto3) face au coffre embarqué de parafe (`parafe store serve`).

Usage : python3 client_s3_ordinaire.py POINT_D_ACCES CLE_D_ACCES CLE_SECRETE avant|apres

Chaque étape imprime une ligne JSON : {"etape": …, "ok": true} ou
{"etape": …, "ok": false, "statut": 403, "code": "AccessDenied"}. Les assertions sont dans
tests/scenarios/store.rs.
"""

import base64
import datetime
import hashlib
import json
import sys

import boto3
import botocore

endpoint, access, secret, phase = sys.argv[1:5]
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id=access,
    aws_secret_access_key=secret,
    region_name="us-east-1",
)
BUCKET = "parafe"
UTC = datetime.timezone.utc
TERME = datetime.datetime(2030, 1, 1, tzinfo=UTC)
PROLONGE = datetime.datetime(2030, 6, 1, tzinfo=UTC)
CONTENU = b"%PDF-1.7 feuille d'emargement signee"


def sha256_b64(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def etape(nom, appel):
    try:
        valeur = appel()
        ligne = {"etape": nom, "ok": True}
        if isinstance(valeur, (bool, str)):
            ligne["valeur"] = valeur
    except botocore.exceptions.ClientError as e:
        ligne = {
            "etape": nom,
            "ok": False,
            "statut": e.response["ResponseMetadata"]["HTTPStatusCode"],
            "code": e.response["Error"].get("Code"),
        }
    print(json.dumps(ligne), flush=True)


def relire(cle):
    corps = s3.get_object(Bucket=BUCKET, Key=cle)["Body"].read()
    return corps == CONTENU


if phase == "avant":
    etape("depot", lambda: s3.put_object(
        Bucket=BUCKET, Key="preuve", Body=CONTENU, ChecksumSHA256=sha256_b64(CONTENU),
        ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=TERME))
    etape("depot-sous-legal-hold", lambda: s3.put_object(
        Bucket=BUCKET, Key="preuve-controle", Body=CONTENU,
        ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=TERME,
        ObjectLockLegalHoldStatus="ON"))
    etape("ecrasement", lambda: s3.put_object(Bucket=BUCKET, Key="preuve", Body=b"faux"))
    etape("ecrasement-si-absent", lambda: s3.put_object(
        Bucket=BUCKET, Key="preuve", Body=b"faux", IfNoneMatch="*"))
    etape("suppression-avant-terme", lambda: s3.delete_object(Bucket=BUCKET, Key="preuve"))
    etape("raccourcissement", lambda: s3.put_object_retention(
        Bucket=BUCKET, Key="preuve",
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": TERME - datetime.timedelta(days=1)}))
    etape("mode-governance", lambda: s3.put_object_retention(
        Bucket=BUCKET, Key="preuve",
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": PROLONGE}))
    etape("prolongation", lambda: s3.put_object_retention(
        Bucket=BUCKET, Key="preuve",
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": PROLONGE}))
    etape("conservation-lue", lambda: s3.get_object_retention(Bucket=BUCKET, Key="preuve")
          ["Retention"]["RetainUntilDate"].astimezone(UTC).isoformat())
    etape("somme-fausse", lambda: s3.put_object(
        Bucket=BUCKET, Key="alteree", Body=CONTENU, ChecksumSHA256=sha256_b64(b"autre chose")))
    etape("alteree-absente", lambda: s3.head_object(Bucket=BUCKET, Key="alteree"))
    etape("relecture", lambda: relire("preuve"))
    # La fiche d'un objet (sa conservation) est un fichier du coffre : hors d'atteinte des clés.
    etape("lecture-hors-du-compartiment", lambda: s3.get_object(
        Bucket=BUCKET, Key="../.coffre/disposition"))
    etape("ecriture-hors-du-compartiment", lambda: s3.put_object(
        Bucket=BUCKET, Key="../.coffre/objets/parafe/preuve", Body=b"{}"))
else:
    etape("suppression-sous-legal-hold", lambda: s3.delete_object(
        Bucket=BUCKET, Key="preuve-controle"))
    etape("legal-hold-leve", lambda: s3.put_object_legal_hold(
        Bucket=BUCKET, Key="preuve-controle", LegalHold={"Status": "OFF"}))
    etape("suppression-apres-legal-hold", lambda: s3.delete_object(
        Bucket=BUCKET, Key="preuve-controle"))
    etape("relecture-apres-redemarrage", lambda: relire("preuve"))
    etape("suppression-apres-terme", lambda: s3.delete_object(Bucket=BUCKET, Key="preuve"))
    etape("supprimee-absente", lambda: s3.head_object(Bucket=BUCKET, Key="preuve"))
    etape("nouveau-depot-apres-terme", lambda: s3.put_object(
        Bucket=BUCKET, Key="preuve", Body=CONTENU))
