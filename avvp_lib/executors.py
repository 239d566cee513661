"""Fan the stacks of a grid out: in this process, as Slurm jobs (submitit), or as Ray tasks.

Each stack of ``train.plan_layers`` is one ``train.train_group`` call wherever it runs; workers
write their runs under the shared ``runs_dir`` and the caller loads the results from there, so
finished runs are never recomputed and an interrupted grid resumes by running it again. Layers run one
after another, so a run's prerequisites (``methods.requires``) are finished before it starts.
``submitit`` and ``ray`` are imported only when their executor is chosen (both are heavy imports).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from avvp_lib.config import RunConfig
from avvp_lib.devices import stack_size
from avvp_lib.paths import OUTPUTS_DIR, resolve
from avvp_lib.train import RunResult, check_finished, load_result, plan_layers, run_dir_for, train_group, train_many, with_prerequisites

EXECUTORS = ("local", "slurm", "ray")


@dataclass(frozen=True)
class ExecutorOptions:
    """Where stacks run. ``slurm``: submitit's ``AutoExecutor`` (``cluster="local"`` runs the jobs as
    local processes, for tests); ``ray``: ``ray.init(address)`` unless Ray is already initialised."""

    max_runs: int | None = None  # runs per stack; None: ``devices.stack_size``
    gpus_per_stack: int = 0  # Slurm gpus_per_node / Ray num_gpus of each stack
    cpus_per_stack: int = 1
    slurm_partition: str | None = None
    slurm_timeout_min: int = 720
    slurm_cluster: str | None = None  # None: detect (Slurm); "local" or "debug" for testing
    log_dir: str = str(OUTPUTS_DIR / "executor_logs")
    ray_address: str | None = None  # None: a local Ray, or the one already initialised


def _slurm(stacks: list[list[RunConfig]], runs_dir: str, device: str | None, opts: ExecutorOptions) -> None:
    import submitit

    executor = submitit.AutoExecutor(folder=resolve(opts.log_dir), cluster=opts.slurm_cluster)
    params = {"timeout_min": opts.slurm_timeout_min, "cpus_per_task": opts.cpus_per_stack, "name": "avvp-stack"}
    if opts.gpus_per_stack:
        params["gpus_per_node"] = opts.gpus_per_stack
    if opts.slurm_partition:
        params["slurm_partition"] = opts.slurm_partition
    executor.update_parameters(**params)
    jobs = [executor.submit(train_group, stack, runs_dir, device, False) for stack in stacks]
    for job in jobs:
        job.result()  # re-raises a failed stack's error here


def _ray(stacks: list[list[RunConfig]], runs_dir: str, device: str | None, opts: ExecutorOptions) -> None:
    import ray

    if not ray.is_initialized():
        ray.init(address=opts.ray_address, include_dashboard=False)
    task = ray.remote(num_gpus=opts.gpus_per_stack, num_cpus=opts.cpus_per_stack)(train_group)
    ray.get([task.remote(stack, runs_dir, device, False) for stack in stacks])


def train_grid(configs: list[RunConfig], runs_dir: str | Path | None = None, device: str | None = None,
               executor: str = "local", options: ExecutorOptions | None = None, progress: bool = True,
               retrain: bool = False) -> list[RunResult]:
    """Train (or load) every config, one ``train_group`` per stack on ``executor``; results in order.

    Finished runs made from other inputs raise ``runs.StaleRunError`` (``retrain``: they train again)."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; expected one of {EXECUTORS}")
    opts = options or ExecutorOptions()
    max_runs = opts.max_runs or stack_size(device, remote=executor != "local")
    root = str(resolve(runs_dir or OUTPUTS_DIR / "runs"))
    if executor == "local":
        return train_many(configs, root, device, progress, max_runs, retrain=retrain)
    check_finished(with_prerequisites(configs), root, retrain)
    for stacks in plan_layers(configs, root, max_runs):  # a layer's prerequisites are finished
        (_slurm if executor == "slurm" else _ray)(stacks, root, device, opts)
    return [load_result(run_dir_for(c, root)) for c in configs]
