"""Re-derive avvp_lib/synthetic/llp_statistics.json from the real LLP CSVs.

Usage: python scripts/derive_llp_statistics.py [--llp ../shared/llp]
"""
import argparse
import json

from avvp_lib.paths import SHARED_LLP_DIR
from avvp_lib.synthetic.llp_statistics import STATISTICS_FILE, derive_statistics

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--llp", default=str(SHARED_LLP_DIR))
args = parser.parse_args()
stats = derive_statistics(args.llp)
STATISTICS_FILE.write_text(json.dumps(stats, separators=(",", ":")) + "\n")
print(f"wrote {STATISTICS_FILE} ({len(stats['label_sets']['sets'])} label sets)")
