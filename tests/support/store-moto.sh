#!/usr/bin/env bash
# Installs moto server (PyPI `moto[server]`, an S3 that enforces Object Lock) for the store
# scenarios, in the venv given as $1 (default .venv), and prints the path of `moto_server`.
# The scenarios find it through $PARAFE_MOTO_SERVER, else on PATH, else /work/venv/bin.
set -euo pipefail
venv="${1:-.venv}"
if [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'moto[server]'
fi
echo "$(cd "$venv/bin" && pwd)/moto_server"
