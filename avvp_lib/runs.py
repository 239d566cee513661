"""A run folder's integrity: one writer at a time, and results tied to the inputs that made them.

``run_lock`` lets one process train a run folder; a second one waits and says which process it
waits for. ``run_fingerprint`` records what a run read besides its config: the split manifests
(CSV content hashes), the content of every feature array it used (training features and the
CLIP features its pseudo labels come from: content, so a copied data folder still matches), and the text encoder's
identity (synthetic world seed, or CLIP tag / checkpoint path + hash), and the training code
(``code_digest``: the trainer's modules, docstrings and comments aside). ``reusable`` compares a
finished run's record with the inputs of now, ``begin_run`` does the same for an interrupted run
about to resume: a difference is a ``StaleRunError`` that says what changed, unless the caller
asked to retrain.
"""
from __future__ import annotations

import ast
import contextlib
import fcntl
import hashlib
import json
import os
import socket
import sys
import warnings
import weakref
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np

from avvp_lib.atomic import atomic_write
from avvp_lib.config import DataConfig, RunConfig, pseudo_label_kinds
from avvp_lib.data.cache import files_signature
from avvp_lib.data.features import load_features
from avvp_lib.data.splits import DENSE_CSV, TRAIN_DENSE_CSV, WEAK_CSV, LLPSplit
from avvp_lib.paths import resolve
from avvp_lib.synthetic.world import WORLD_FILE
from avvp_lib.text_encoders import text_encoder_identity

LOCK_FILE = ".lock"
FINGERPRINT_FILE = "fingerprint.json"  # the inputs of the run in progress (results.json keeps the final one)
# What a finished run is made of; a retrain removes them before training again.
RESULT_FILES = ("results.json", "predictions.npz", "best.pt", "metrics.csv", "last.pt")


class RunLockedError(RuntimeError):
    """Another process is training this run folder (raised only when not waiting)."""


class StaleRunError(ValueError):
    """A finished run was made from other data, another text encoder or other training code than the current ones."""


_HELD: set[Path] = set()  # run folders whose lock this process holds


@contextlib.contextmanager
def run_lock(run_dir: Path, wait: bool = True) -> Iterator[None]:
    """Hold ``run_dir``'s lock (an ``flock`` on ``run_dir/.lock``, released even when the holder is killed).

    Re-entrant within a process: a prerequisite run trained while its stack already holds the lock.
    """
    key = Path(run_dir).resolve()
    if key in _HELD:
        yield
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / LOCK_FILE, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            if not wait:
                raise RunLockedError(f"{run_dir} is being trained by {holder}; wait for it to finish or stop it") from None
            print(f"{run_dir.name}: waiting for {holder}, which is training this run", file=sys.stderr, flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        f.truncate()
        f.write(f"process {os.getpid()} on {socket.gethostname()}\n")
        f.flush()
        _HELD.add(key)
        try:
            yield
        finally:
            _HELD.discard(key)
            f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)


def data_version(data: DataConfig, kinds: tuple[str, ...] | None = None) -> str:
    """Cheap key of the data's current version: every annotation and feature file's size, times and inode.

    ``kinds``: the feature kinds read (default: the model inputs of ``data``).
    """
    root = resolve(data.data_dir)
    ann = resolve(data.annotations_dir) if data.annotations_dir else root
    features = [p for k in (kinds or (data.audio, *data.visual)) for p in sorted((root / "feats" / k).glob("*.npy"))]
    scored_against = [resolve(data.eval_audio)] if data.eval_audio else []  # a legacy audio GT file
    return files_signature(_manifests(ann) + [p for p in scored_against if p.is_file()] + features)


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else "missing file"


def _manifests(ann: Path) -> list[Path]:
    names = (*WEAK_CSV.values(), *DENSE_CSV.values(), *TRAIN_DENSE_CSV.values(), WORLD_FILE)
    return [ann / n for n in names if (ann / n).is_file()]


_ARRAY_DIGESTS: dict[int, str] = {}


def _array_digest(arr: np.ndarray) -> str:
    """Content hash of an array, computed once per live array object (forgotten when it dies, so ids never clash)."""
    key = id(arr)
    if key not in _ARRAY_DIGESTS:
        _ARRAY_DIGESTS[key] = hashlib.sha256(np.ascontiguousarray(arr).data).hexdigest()[:16]
        weakref.finalize(arr, _ARRAY_DIGESTS.pop, key, None)
    return _ARRAY_DIGESTS[key]


PACKAGE_DIR = Path(__file__).resolve().parent
TRAINER_MODULE = "avvp_lib.train"


def _module_source(package_dir: Path, name: str) -> Path | None:
    """The file of module ``name`` (``pkg.a.b``) inside ``package_dir`` (the folder of ``pkg``), if any."""
    rel = Path(*name.split(".")[1:])
    for path in ((package_dir / rel).with_suffix(".py"), package_dir / rel / "__init__.py"):
        if path.is_file():
            return path
    return None


def _code_without_docs(tree: ast.Module) -> str:
    """The module's syntax tree without docstrings, as text: comments and layout are already gone."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


@lru_cache(maxsize=4)
def code_digest(module: str = TRAINER_MODULE, package_dir: Path = PACKAGE_DIR) -> str:
    """Hash of the code a run is made by: ``module`` and every module of its package it imports, transitively.

    Docstrings, comments and formatting do not count, so only a change of what the code does makes
    finished runs stale. The imports are read from the source (nothing is imported), parent
    packages included since importing a module runs them.
    """
    package = module.split(".")[0]
    todo, seen, h = [module], {}, hashlib.sha256()
    while todo:
        name = todo.pop()
        path = _module_source(package_dir, name)
        if name in seen or path is None:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        seen[name] = tree
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                todo += [a.name for a in node.names if a.name.split(".")[0] == package]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                    and node.module.split(".")[0] == package:  # ``from pkg import mod`` may name a module
                todo += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    for name in sorted(seen):
        h.update(f"{name}:{_code_without_docs(seen[name])};".encode())
    return h.hexdigest()[:16]


def run_fingerprint(config: RunConfig, splits: dict[str, LLPSplit]) -> dict:
    """The inputs of a run besides its config (module docstring), as stored in ``results.json``."""
    data = config.data
    ann = resolve(data.annotations_dir) if data.annotations_dir else resolve(data.data_dir)
    kinds = pseudo_label_kinds(config.supervision)  # the features its pseudo labels come from
    clip_kind, clap_kind = kinds.get("clip_kind"), kinds.get("clap_kind")
    features = {}
    for kind in config.feature_kinds():
        h = hashlib.sha256()
        for name, split in sorted(splits.items()):
            arr = split.features.get(kind)
            if arr is None:
                arr = load_features(resolve(data.data_dir), kind, split.video_ids, progress=False)
            h.update(f"{name}:{_array_digest(arr)};".encode())
        features[kind] = h.hexdigest()[:16]
    return {
        "annotations": {**{p.name: _file_digest(p) for p in _manifests(ann)},
                        **({f"eval_audio {data.eval_audio}": _file_digest(resolve(data.eval_audio))} if data.eval_audio else {})},
        "features": features,
        "text_encoder": text_encoder_identity(resolve(data.data_dir), clip_kind) if clip_kind else None,
        **({"audio_text_encoder": text_encoder_identity(resolve(data.data_dir), clap_kind)} if clap_kind else {}),
        "code": code_digest(),
    }


def changes(recorded: dict, current: dict) -> list[str]:
    """Human-readable differences between two fingerprints."""
    out = []
    for part in ("annotations", "features"):
        old, new = recorded.get(part) or {}, current.get(part) or {}
        for name in sorted(set(old) | set(new)):
            if old.get(name) != new.get(name):
                what = "added" if name not in old else "removed" if name not in new else "changed"
                out.append(f"{part[:-1] if part == 'features' else 'annotation file'} {name} {what}")
    for part in ("text_encoder", "audio_text_encoder"):
        if recorded.get(part) != current.get(part):
            out.append(f"{part.replace('_', ' ')} was {json.dumps(recorded.get(part))}, now {json.dumps(current.get(part))}")
    if recorded.get("code") != current.get("code"):
        out.append(f"training code changed (avvp_lib.train and what it imports: digest "
                   f"{recorded.get('code') or 'not recorded, an older version'}, now {current.get('code')})")
    return out


def reusable(run_dir: Path, fingerprint: dict, retrain: bool = False) -> bool:
    """Whether the finished run in ``run_dir`` may be reused for inputs ``fingerprint``.

    Different inputs raise ``StaleRunError`` naming them, or, with ``retrain``, remove the old
    results and return False (the caller trains again). A run recorded before fingerprints
    existed is reused with a warning (retrained with ``retrain``).
    """
    recorded = json.loads((run_dir / "results.json").read_text()).get("fingerprint")
    if recorded is None and not retrain:
        warnings.warn(f"{run_dir} records no data fingerprint (made by an older version); reusing it unchecked. "
                      "Retrain it with --retrain if its data may have changed.", stacklevel=3)
        return True
    diff = ["no fingerprint recorded"] if recorded is None else changes(recorded, fingerprint)
    if not diff:
        return True
    if retrain:
        print(f"{run_dir.name}: retraining ({'; '.join(diff)})", file=sys.stderr, flush=True)
        return _clear(run_dir)
    raise StaleRunError(f"{run_dir} was trained on other inputs: {'; '.join(diff)}. Retrain it with --retrain "
                        "(train(..., retrain=True)) or delete that folder.")


def begin_run(run_dir: Path, fingerprint: dict, retrain: bool = False) -> None:
    """Record the inputs of a run about to train; an interrupted run (``last.pt``) resumes only on the same inputs.

    Otherwise its partial state is a ``StaleRunError`` (mixed data), or, with ``retrain``, discarded.
    """
    record = run_dir / FINGERPRINT_FILE
    if (run_dir / "last.pt").is_file() and record.is_file():
        diff = changes(json.loads(record.read_text()), fingerprint)
        if diff and not retrain:
            raise StaleRunError(f"{run_dir} holds an interrupted run of other inputs: {'; '.join(diff)}. Start it "
                                "afresh with --retrain (train(..., retrain=True)) or delete that folder.")
        if diff:
            print(f"{run_dir.name}: restarting the interrupted run ({'; '.join(diff)})", file=sys.stderr, flush=True)
            _clear(run_dir)
    atomic_write(record, json.dumps(fingerprint, indent=2))


def _clear(run_dir: Path) -> bool:
    for name in RESULT_FILES:
        (run_dir / name).unlink(missing_ok=True)
    return False
