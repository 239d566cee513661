"""The one line that says why a notebook run failed: the bundle's own error, not the kernel's shutdown noise.

``run_all.sh`` calls ``python -m avvp_lib.notebook_failure EXECUTED.ipynb LOG`` when papermill
fails. The executed notebook's error output (``ename: evalue``, e.g. ``WeightsUnavailable: ...
set AVVP_CLIP_CHECKPOINT_VITB16=...``) is preferred; without one (the kernel died) the last
exception line of the log that is not ZMQ noise; else the log's last line.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Interrupt|Unavailable|Exit)): \S")


def _one_line(text: str) -> str:
    return " ".join(ANSI.sub("", text).split())


def notebook_error(executed: Path) -> str | None:
    """``ename: evalue`` of the last error output in an executed notebook, or None."""
    try:
        nb = json.loads(Path(executed).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    errors = [o for cell in nb.get("cells", []) for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    return _one_line(f"{errors[-1].get('ename')}: {errors[-1].get('evalue')}") if errors else None


def log_error(log: Path) -> str | None:
    """The last exception line of a log that is not ZMQ noise, else its last non-empty line."""
    try:
        lines = [_one_line(x) for x in Path(log).read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return None
    lines = [x for x in lines if x]
    found = [x for x in lines if EXCEPTION_LINE.match(x) and "zmq" not in x.lower()
             and not x.startswith("papermill.exceptions.PapermillExecutionError")]
    return found[-1] if found else (lines[-1] if lines else None)


def failure_line(executed: Path, log: Path) -> str:
    return notebook_error(executed) or log_error(log) or f"no error message; see {log}"


if __name__ == "__main__":
    print(failure_line(Path(sys.argv[1]), Path(sys.argv[2])))
