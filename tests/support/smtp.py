"""A real SMTP server for the tests (aiosmtpd), on loopback.

Usage: smtp.py DOSSIER [PORT] — listens on PORT (default: a free one), prints « PORT <n> » on
stdout, then stores
every message it accepts as DOSSIER/<n>.eml (the raw bytes as received), and what Python's own
MIME parser reads in it as DOSSIER/<n>.txt (envelope recipients, decoded headers, decoded text
part) and DOSSIER/<n>-<file name> for each attachment. Files are written under a temporary
name then renamed (the .txt last), so a reader never sees half a message.

A recipient whose address starts with « refuse » is refused for good (550, as for an unknown
mailbox), and each refusal is appended to DOSSIER/refus.log.
"""
import email
import email.policy
import asyncio
import itertools
import os
import socket
import sys

from aiosmtpd.controller import Controller

dossier = sys.argv[1]
os.makedirs(dossier, exist_ok=True)
compteur = itertools.count(1)


class Capture:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse"):
            with open(os.path.join(dossier, "refus.log"), "a") as f:
                f.write(address + "\n")
            return "550 5.1.1 boite aux lettres inconnue"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(compteur)
        brut = envelope.original_content or envelope.content
        ecrire(f"{n}.eml", brut)
        message = email.message_from_bytes(brut, policy=email.policy.default)
        lignes = [
            "Enveloppe-To: " + ", ".join(envelope.rcpt_tos),
            "Subject: " + str(message["subject"]),
            "Message-ID: " + str(message["message-id"]),
        ]
        for partie in message.walk():
            nom = partie.get_filename()
            if nom:
                ecrire(f"{n}-{nom}", partie.get_payload(decode=True))
                lignes.append("Piece-Jointe: " + nom)
        corps = message.get_body(preferencelist=("plain",))
        lignes += ["", corps.get_content() if corps else ""]
        ecrire(f"{n}.txt", "\n".join(lignes).encode())
        return "250 OK message accepte"


def ecrire(nom, octets):
    tmp = os.path.join(dossier, f".{nom}.tmp")
    with open(tmp, "wb") as f:
        f.write(octets)
    os.rename(tmp, os.path.join(dossier, nom))


def port_libre():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


port = int(sys.argv[2]) if len(sys.argv) > 2 else port_libre()
controller = Controller(Capture(), hostname="127.0.0.1", port=port, data_size_limit=50_000_000)
controller.start()
print(f"PORT {port}", flush=True)
try:
    asyncio.get_event_loop().run_until_complete(asyncio.Event().wait())
except KeyboardInterrupt:
    pass
finally:
    controller.stop()
