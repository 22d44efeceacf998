#!/usr/bin/env python3
"""An outside certificate authority and RFC 3161 timestamp authority that parafe did not write:
`openssl ts -reply` behind a tiny HTTP server, with its own CA, TSA certificate and a seal
certificate for a PLIE (ECDSA P-256, as WORKDIR/cachet.p12, password "cachet"), all created in
WORKDIR. The CA and TSA keys are RSA-3072 like most qualified TSAs, or ECDSA P-256 with --ec.

With --crl, the TSA and seal certificates declare a CRL distribution point,
http://127.0.0.1:<port>/ca.crl, where the server publishes the CA's CRL (DER), signed anew from
`openssl ca`'s database at each request: `openssl ca -config ca.cnf -revoke cachet.pem` run in
WORKDIR revokes the seal. Without it, the certificates declare no revocation source at all.

Usage: tsa_openssl.py WORKDIR [--ec] [--crl] — prints "PORT <n>" once listening on 127.0.0.1;
WORKDIR/ca.pem is the CA to trust. Each POST of an application/timestamp-query body gets
openssl's reply.
"""
import http.server
import os
import subprocess
import sys
import tempfile

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
ec = "--ec" in sys.argv[2:]
crl = "--crl" in sys.argv[2:]


def sh(*args):
    subprocess.run(args, check=True, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


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
        self.answer("application/timestamp-reply", data)

    def do_GET(self):
        if not crl or self.path != "/ca.crl":
            self.send_error(404)
            return
        sh("openssl", "ca", "-config", "ca.cnf", "-gencrl", "-out", "ca.crl.pem")
        sh("openssl", "crl", "-in", "ca.crl.pem", "-outform", "DER", "-out", "ca.crl")
        with open(os.path.join(work, "ca.crl"), "rb") as f:
            self.answer("application/pkix-crl", f.read())

    def answer(self, content_type, data):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


# Listening first: the certificates name the server's port.
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
port = server.server_address[1]
distribution = f"crlDistributionPoints=URI:http://127.0.0.1:{port}/ca.crl\n" if crl else ""
with open(os.path.join(work, "ext.cnf"), "w") as f:
    f.write(
        "[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
        "[tsa]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=critical,timeStamping\n" + distribution +
        "[cachet]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n" + distribution
    )
with open(os.path.join(work, "ts.cnf"), "w") as f:
    f.write(
        "[tsa]\ndefault_tsa=tsa1\n[tsa1]\nserial=./serial\nsigner_cert=./tsa.pem\n"
        "signer_key=./tsa.key\nsigner_digest=sha256\ndefault_policy=1.3.6.1.4.1.32473.2.1\n"
        "digests=sha256\naccuracy=secs:1\ness_cert_id_alg=sha256\ness_cert_id_chain=no\n"
    )
with open(os.path.join(work, "ca.cnf"), "w") as f:
    f.write(
        "[ca]\ndefault_ca=ac\n[ac]\ndatabase=./index.txt\ncrlnumber=./crlnumber\n"
        "certificate=./ca.pem\nprivate_key=./ca.key\ndefault_md=sha256\ndefault_crl_days=7\n"
    )
for name, content in [("serial", "01\n"), ("crlnumber", "01\n"), ("index.txt", "")]:
    with open(os.path.join(work, name), "w") as f:
        f.write(content)


def genkey(path, p256=ec):
    if p256:
        sh("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path)
    else:
        sh("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072", "-out", path)


def issue(name, subject, p256=ec):
    genkey(f"{name}.key", p256)
    sh("openssl", "req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr")
    sh("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
       "-days", "30", "-sha256", "-extfile", "ext.cnf", "-extensions", name, "-out", f"{name}.pem")


genkey("ca.key")
sh("openssl", "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=AC de test openssl/O=Tiers/C=FR",
   "-days", "30", "-sha256", "-extensions", "ca", "-config", "ext.cnf", "-out", "ca.pem")
issue("tsa", "/CN=TSA openssl de test/O=Tiers/C=FR")
issue("cachet", "/CN=Cachet du PLIE (AC de test openssl)/O=PLIE de test/C=FR", p256=True)
sh("openssl", "pkcs12", "-export", "-inkey", "cachet.key", "-in", "cachet.pem", "-certfile", "ca.pem",
   "-passout", "pass:cachet", "-out", "cachet.p12")

print(f"PORT {port}", flush=True)
server.serve_forever()
