#!/usr/bin/env bash
# The LAION-CLAP wrapper (avvp_lib/clap_encoder.py) on a tiny random laion_clap.CLAP_Module, in an
# environment of its own (laion-clap needs numpy<2): creates .venv-clap from requirements-clap.txt
# if missing (about 3 min on a fresh machine), then runs tests/test_clap_module.py there, on this
# checkout's avvp_lib. Fails if the tests were skipped. .ci/run calls it after the main tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x .venv-clap/bin/python ]] || ! .venv-clap/bin/python -c "import importlib.util as u, sys
sys.exit(not (u.find_spec('laion_clap') and u.find_spec('pytest')))" 2>/dev/null; then
  echo "== setting up .venv-clap from requirements-clap.txt"
  rm -rf .venv-clap
  python3 -m venv .venv-clap
  .venv-clap/bin/pip install -q --upgrade pip
  .venv-clap/bin/pip install -q -r requirements-clap.txt
fi
log=$(mktemp)
# --noconftest: the main conftest imports the bundle's own environment; the file needs none of it.
# The checkout root comes first on sys.path (python -m), so this checkout's avvp_lib is tested.
HF_HUB_OFFLINE=1 .venv-clap/bin/python -m pytest --noconftest -rs tests/test_clap_module.py 2>&1 | tee "$log"
if grep -qi "skipped" "$log"; then
  echo "error: tests/test_clap_module.py was skipped in .venv-clap" >&2
  exit 1
fi
