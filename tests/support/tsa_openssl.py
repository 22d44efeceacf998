#!/usr/bin/env python3
"""An RFC 3161 timestamp authority that parafe did not write: `openssl ts -reply` behind a tiny
HTTP server, with its own CA and TSA certificate created in WORKDIR: RSA-3072 like most qualified TSAs, or
ECDSA P-256 with --ec.

Usage: tsa_openssl.py WORKDIR [--ec] — prints "PORT <n>" once listening on 127.0.0.1; WORKDIR/ca.pem is
the CA to trust. Each POST of an application/timestamp-query body gets openssl's reply.
"""
import http.server
import os
import subprocess
import sys
import tempfile

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
ec = "--ec" in sys.argv[2:]


def sh(*args):
    subprocess.run(args, check=True, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


with open(os.path.join(work, "ext.cnf"), "w") as f:
    f.write(
        "[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
        "[tsa]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=critical,timeStamping\n"
    )
with open(os.path.join(work, "ts.cnf"), "w") as f:
    f.write(
        "[tsa]\ndefault_tsa=tsa1\n[tsa1]\nserial=./serial\nsigner_cert=./tsa.pem\n"
        "signer_key=./tsa.key\nsigner_digest=sha256\ndefault_policy=1.3.6.1.4.1.32473.2.1\n"
        "digests=sha256\naccuracy=secs:1\ness_cert_id_alg=sha256\ness_cert_id_chain=no\n"
    )
with open(os.path.join(work, "serial"), "w") as f:
    f.write("01\n")


def genkey(path):
    if ec:
        sh("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path)
    else:
        sh("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072", "-out", path)


genkey("ca.key")
sh("openssl", "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=AC de test openssl/O=Tiers/C=FR",
   "-days", "30", "-sha256", "-extensions", "ca", "-config", "ext.cnf", "-out", "ca.pem")
genkey("tsa.key")
sh("openssl", "req", "-new", "-key", "tsa.key", "-subj", "/CN=TSA openssl de test/O=Tiers/C=FR", "-out", "tsa.csr")
sh("openssl", "x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
   "-days", "30", "-sha256", "-extfile", "ext.cnf", "-extensions", "tsa", "-out", "tsa.pem")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Type") != "application/timestamp-query":
            self.send_error(415)
            return
        with tempfile.TemporaryDirectory() as tmp:
            query, reply = os.path.join(tmp, "q.tsq"), os.path.join(tmp, "r.tsr")
            with open(query, "wb") as f:
                f.write(body)
            subprocess.run(["openssl", "ts", "-reply", "-config", "ts.cnf", "-queryfile", query, "-out", reply],
                           check=True, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(reply, "rb") as f:
                data = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
