"""Stacks fanned out to submitit (its local executor) and to a local Ray give the runs trained here."""
import dataclasses

import pytest

from avvp_lib.config import DataConfig, RunConfig, TrainConfig
from avvp_lib.executors import ExecutorOptions, train_grid
from avvp_lib.train import train

ONE_EPOCH = TrainConfig(epochs=1, batch_size=32, lr=3e-4, step_size=1, gamma=0.5, seed=3)


def configs(world) -> list[RunConfig]:
    base = RunConfig(name="x", data=DataConfig(data_dir=str(world)), train=ONE_EPOCH)
    return [base.replace(name="x_s3"), base.replace(name="x_s4", train=dataclasses.replace(ONE_EPOCH, seed=4, lr=1e-3))]


@pytest.fixture(scope="module")
def here(smoke_world, tmp_path_factory):
    root = tmp_path_factory.mktemp("here")
    return [train(c, root, "cpu", progress=False) for c in configs(smoke_world)]


def check(results, reference, runs_dir):
    assert [r.config for r in results] == [r.config for r in reference]
    assert all(r.run_dir.parent == runs_dir for r in results)
    for got, want in zip(results, reference):
        assert got.best_epoch == want.best_epoch
        assert got.test == pytest.approx(want.test, abs=1e-4)


def test_submitit_local_executor(smoke_world, tmp_path, here):
    opts = ExecutorOptions(max_runs=1, slurm_cluster="local", log_dir=str(tmp_path / "logs"))  # two jobs
    results = train_grid(configs(smoke_world), tmp_path / "runs", "cpu", "slurm", opts, progress=False)
    check(results, here, tmp_path / "runs")
    assert list((tmp_path / "logs").glob("*_result.pkl"))  # the runs came back from submitit jobs


def test_local_ray(smoke_world, tmp_path, here):
    import ray  # a heavy import, only for this test

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        results = train_grid(configs(smoke_world), tmp_path / "runs", "cpu", "ray", ExecutorOptions(), progress=False)
    finally:
        ray.shutdown()
    check(results, here, tmp_path / "runs")


def test_unknown_executor(tmp_path):
    with pytest.raises(ValueError, match="unknown executor"):
        train_grid([], tmp_path, executor="dask")


def test_stacks_default_to_four_runs_on_a_cpu_and_sixteen_for_remote_workers():
    """Without --max-runs a CPU stacks 4 runs (larger stacks are slower there: grid_throughput log);
    Slurm / Ray workers may have GPUs the submitting machine lacks."""
    from avvp_lib.devices import stack_size
    from avvp_lib.train import plan_stacks

    assert stack_size("cpu") == 4 and stack_size("cpu", remote=True) == 16
    runs = [RunConfig(name=f"r{s}", train=TrainConfig(epochs=1, seed=s)) for s in range(6)]
    assert [len(s) for s in plan_stacks(runs, max_runs=stack_size("cpu"))] == [4, 2]
