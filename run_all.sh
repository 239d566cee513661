#!/usr/bin/env bash
# Run the whole pipeline headless: set up the environment if missing, build the data, execute
# every notebook with papermill, and leave the tables and figures under outputs/.
#
#   ./run_all.sh                                  # default profile: the embedded synthetic world, CPU or GPU
#   ./run_all.sh --profile quick                  # the headline tables (VPLAN I-III, LSLD 2, 4(a), train labels)
#   ./run_all.sh --profile full                   # default + the other backbones' rows (for a GPU)
#   ./run_all.sh --profile full-cpu               # default + the MGN and DHHN rows (about an hour on a CPU)
#   ./run_all.sh --profile llp --data-dir PATH    # real LLP features (see README, "Real LLP")
#   ./run_all.sh --profile smoke                  # seconds; what CI checks
#
# A finished notebook is skipped on a re-run unless it, the library or the parameters changed;
# runs inside a notebook are cached by their config, so an interrupted run picks up where it stopped.
# AVVP_PYTHON=/path/to/python uses that interpreter instead of setting up an environment.
set -euo pipefail
cd "$(dirname "$0")"

PROFILE=default
DATA_DIR=""
DEVICE=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --profile) PROFILE="$2"; shift 2 ;;
    --data-dir) DATA_DIR="$2"; shift 2 ;;
    --device) DEVICE="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done
export PYTHONHASHSEED=0  # HF_HUB_OFFLINE is left to the caller (tests and CI set it)
start=$(date +%s)

# 1. Environment: the conda env from environment.yml when conda exists, else a local venv.
if [[ -n "${AVVP_PYTHON:-}" ]]; then
  PY="$AVVP_PYTHON"
elif command -v conda >/dev/null 2>&1; then
  conda env list | grep -q '^avvp-repro ' || conda env create -f environment.yml
  PY="conda run --no-capture-output -n avvp-repro python"
else
  scripts/setup_env.sh
  PY=.venv/bin/python
fi

# 2. The profile (names live in avvp_lib.experiments.PROFILES) and the device, checked before any
#    work: a device this machine lacks is refused (not after reusing CPU runs).
$PY -c 'import sys
from avvp_lib.experiments import PROFILES
name, data_dir = sys.argv[1], sys.argv[2]
if name not in PROFILES:
    sys.exit(f"error: unknown profile {name!r}; expected one of {sorted(PROFILES)}")
if not PROFILES[name].synthetic and not data_dir:
    sys.exit(f"error: --profile {name} (real LLP features) needs --data-dir PATH")' "$PROFILE" "$DATA_DIR" || exit 2
if [[ -n "$DEVICE" ]]; then
  $PY -c 'import sys
from avvp_lib.devices import DeviceError, pick_device
try:
    pick_device(sys.argv[1])
except DeviceError as err:
    sys.exit(f"error: {err}")' "$DEVICE" || exit 2
fi

# 3. Notebooks, in order, with papermill.
params=(-p profile "$PROFILE")
[[ -n "$DATA_DIR" ]] && params+=(-p data_dir "$DATA_DIR")
[[ -n "$DEVICE" ]] && params+=(-p device "$DEVICE")
outdir="outputs/notebooks/$PROFILE"
mkdir -p "$outdir"
lib_hash=$(cat avvp_lib/*.py avvp_lib/*/*.py avvp_lib/*/*.yaml avvp_lib/*/*.json | sha256sum | cut -c1-16)
notebooks=(notebooks/[0-9][0-9]_*.ipynb)
i=0
for nb in "${notebooks[@]}"; do
  i=$((i + 1))
  name=$(basename "$nb")
  key=$(printf '%s %s %s' "$lib_hash" "$(sha256sum "$nb" | cut -c1-16)" "${params[*]}" | sha256sum | cut -c1-16)
  stamp="$outdir/.${name%.ipynb}.done"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$key" && -f "$outdir/$name" ]]; then
    echo "== [$i/${#notebooks[@]}] $name: up to date, skipped"
    continue
  fi
  echo "== [$i/${#notebooks[@]}] $name (profile $PROFILE)"
  t0=$(date +%s)
  if ! $PY -m papermill "$nb" "$outdir/$name" --cwd notebooks --log-output --no-progress-bar "${params[@]}" \
        > "$outdir/${name%.ipynb}.log" 2>&1; then
    echo "!! $name failed: $($PY -m avvp_lib.notebook_failure "$outdir/$name" "$outdir/${name%.ipynb}.log")" >&2
    echo "   the executed copy and the full log are in $outdir/" >&2
    exit 1
  fi
  echo "$key" > "$stamp"
  echo "   done in $(( $(date +%s) - t0 )) s"
done

echo
echo "All notebooks ran in $(( $(date +%s) - start )) s (profile $PROFILE)."
echo "Tables:   outputs/tables/$PROFILE/   (CSV, Markdown, LaTeX)"
echo "Figures:  outputs/figures/$PROFILE/"
echo "Executed notebooks: $outdir/"
