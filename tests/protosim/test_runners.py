"""Runners: seeds spawned per run index, identical tables on every executor, resume."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from protosim.runners import execute, plan, run_many, spawn_seeds, sweep
from protosim.testing import tiny_scenario

COLUMNS = ["run", "seed", "liquidations", "liquidated_usd", "bad_debt_usd"]


def _scenario():  # type: ignore[no-untyped-def]
    return tiny_scenario(accounts=150, horizon_s=2_400.0)


def test_seeds_do_not_depend_on_how_many_runs_are_planned() -> None:
    """Run i has the same seed in a sweep of 3 or of 50 runs."""
    assert spawn_seeds(11, 3) == spawn_seeds(11, 50)[:3]
    assert len(set(spawn_seeds(11, 50))) == 50


def test_serial_and_process_pool_give_identical_tables() -> None:
    """The same base seed gives the same table in one process and across two workers."""
    serial = run_many(_scenario(), 4, seed=9)
    pooled = run_many(_scenario(), 4, seed=9, workers=2)
    pd.testing.assert_frame_equal(serial[COLUMNS], pooled[COLUMNS])


def test_dask_local_cluster_gives_the_same_table() -> None:
    """A Dask local cluster with two workers reproduces the serial table."""
    distributed = pytest.importorskip("distributed")
    serial = run_many(_scenario(), 3, seed=4)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        distributed.Client(cluster) as client,
    ):
        dask = run_many(_scenario(), 3, seed=4, executor=client.get_executor())
    pd.testing.assert_frame_equal(serial[COLUMNS], dask[COLUMNS])


def test_sweep_uses_common_random_numbers_across_grid_points() -> None:
    """Repetition r of every grid point runs with the same seed."""
    table = sweep(_scenario(), {"venues.aave.params.rules": ["v3.3", "v3.0"]}, 2, seed=1)
    by_rule = table.groupby("venues.aave.params.rules")["seed"].apply(list)
    assert by_rule["v3.3"] == by_rule["v3.0"]
    assert len(table) == 4


def test_resume_skips_checkpointed_runs_and_matches_a_full_run(tmp_path: Path) -> None:
    """Half done, then resumed: the table equals an uninterrupted one and no run repeats."""
    specs = plan(_scenario(), runs=4, seed=2)
    full = execute(specs)
    execute(specs[:2], out_dir=tmp_path)
    calls: list[int] = []
    resumed = execute(specs, out_dir=tmp_path, resume=True, progress=lambda d, t: calls.append(d))
    pd.testing.assert_frame_equal(full[COLUMNS], resumed[COLUMNS])
    assert calls[0] == 2  # two runs came from the checkpoint
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [f"{i}.json" for i in range(4)]


def test_resume_after_the_process_is_killed(tmp_path: Path) -> None:
    """A sweep killed mid-way leaves whole checkpoints only; resuming completes it exactly."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from protosim.runners import execute, plan
        from protosim.testing import tiny_scenario
        specs = plan(tiny_scenario(accounts=150, horizon_s=2_400.0), runs=4, seed=2)
        def stop(done, total):
            if done == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        execute(specs, out_dir={str(tmp_path)!r}, progress=stop)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)
    assert proc.returncode != 0
    files = sorted((tmp_path / "runs").iterdir())
    assert [p.name for p in files] == ["0.json", "1.json"]
    specs = plan(_scenario(), runs=4, seed=2)
    resumed = execute(specs, out_dir=tmp_path, resume=True)
    pd.testing.assert_frame_equal(execute(specs)[COLUMNS], resumed[COLUMNS])


def test_any_executor_can_run_specs() -> None:
    """A thread pool (any concurrent.futures executor) gives the same table."""
    specs = plan(_scenario(), runs=2, seed=6)
    with ThreadPoolExecutor(2) as pool:
        threaded = execute(specs, executor=pool)
    pd.testing.assert_frame_equal(execute(specs)[COLUMNS], threaded[COLUMNS])
