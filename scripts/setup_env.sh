#!/usr/bin/env bash
# Create .venv with everything the bundle needs (requirements.txt + this package), if missing.
# Idempotent: an existing, working .venv is left alone. About 90 s on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -x .venv/bin/python ]] && .venv/bin/python -c "import avvp_lib, papermill, nbval, open_clip, av" 2>/dev/null; then
  exit 0
fi
echo "== setting up .venv from requirements.txt"
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r requirements.txt
.venv/bin/pip install -q --no-deps -e .
