"""The one place a device name becomes a ``torch.device``: a device this machine lacks is refused at once."""
from __future__ import annotations

import torch


class DeviceError(ValueError):
    """A requested device that does not exist here; the message says what to use instead."""


def pick_device(device: str | None = None) -> torch.device:
    """``device`` if this machine has it, else ``DeviceError``; None: CUDA when available, else CPU."""
    if not device:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise DeviceError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            built = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA support"
            raise DeviceError(f"device {device!r} requested but CUDA is not available on this machine "
                              f"(torch {torch.__version__} with {built}); use --device cpu or leave --device out")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"device {device!r} requested but this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"device {device!r} requested but MPS is not available; use --device cpu")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"device {device!r} is not supported; use cpu, cuda or cuda:N")
    return dev


def stack_size(device: str | torch.device | None, remote: bool = False) -> int:
    """Runs per stacked model when none is given: 4 on a CPU, 16 on a GPU or for remote workers.

    On a CPU a stack shares only the Python overhead and larger stacks leave the caches
    (``benchmarks/results/grid_throughput_cpu_2core.log``: R = 4 vs 16 against sequential runs).
    ``remote``: the stacks run elsewhere (Slurm, Ray), so this machine's device says nothing.
    """
    return 16 if remote else (4 if pick_device(device).type == "cpu" else 16)
