"""Writes that two processes or a crash cannot tear (issue #15, item 4)."""
import multiprocessing as mp
import os

import numpy as np
import pytest

from avvp_lib.atomic import atomic_save_npy, atomic_write

SIZE = 1 << 18  # 256 KiB: large enough that concurrent writes interleave


def _writer(path: str, letter: bytes, rounds: int, errors) -> None:
    for _ in range(rounds):
        try:
            atomic_write(path, letter * SIZE)
        except Exception as err:  # the old shared temporary name: another writer renamed it away
            errors.put(repr(err))


def test_concurrent_writers_never_tear_the_file(tmp_path):
    path = tmp_path / "shared.bin"
    ctx = mp.get_context("fork")
    errors = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(path), bytes([65 + i]), 40, errors)) for i in range(4)]
    for p in procs:
        p.start()
    seen = 0
    while any(p.is_alive() for p in procs):
        if path.is_file():
            data = path.read_bytes()
            assert len(data) == SIZE and len(set(data)) == 1, "a reader saw a torn file"
            seen += 1
    for p in procs:
        p.join()
    assert errors.empty(), errors.get()
    data = path.read_bytes()
    assert len(data) == SIZE and len(set(data)) == 1
    assert [f.name for f in tmp_path.iterdir()] == ["shared.bin"]  # no temporary file left behind


def test_failed_write_leaves_neither_partial_file_nor_temporary(tmp_path, monkeypatch):
    path = tmp_path / "big.npy"
    atomic_save_npy(path, np.zeros(3))

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        atomic_save_npy(path, np.ones(1000))
    monkeypatch.undo()
    assert [f.name for f in tmp_path.iterdir()] == ["big.npy"]
    np.testing.assert_array_equal(np.load(path), np.zeros(3))  # the old content survives
