"""Many runs of a scenario: Monte Carlo repetitions and parameter sweeps over any executor.

Each run is described by a small picklable `RunSpec` (the scenario as canonical JSON, its data
folder, the values changed, the seed) and executed by `run_spec`, a top-level function, so any
`concurrent.futures.Executor` can run it: a process pool here, a Dask ``distributed.Client``'s
executor on a cluster. Seeds are spawned from the base seed with `numpy.random.SeedSequence`,
one per run index, so the table of results is the same whatever the executor and the number of
workers. With an output folder, every finished run is written at once (atomically) to
``runs/<index>.json``; `resume` skips runs already there, so a killed sweep continues with
nothing lost or counted twice.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from protosim.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run to execute: which scenario, which changed values, which seed."""

    index: int
    scenario_json: str
    base_dir: str
    values: tuple[tuple[str, Any], ...]
    seed: int
    repetition: int


def run_spec(spec: RunSpec) -> dict[str, Any]:
    """Execute one run and return its metrics row (index, seed, values, figures)."""
    from protosim.engine import Simulation
    from protosim.metrics import run_metrics

    scenario = Scenario.from_dict(json.loads(spec.scenario_json), base_dir=spec.base_dir)
    if spec.values:
        scenario = scenario.with_values(dict(spec.values))
    result = Simulation(scenario, seed=spec.seed).run()
    row: dict[str, Any] = {"run": spec.index, "repetition": spec.repetition, "seed": spec.seed}
    row.update(dict(spec.values))
    row.update(run_metrics(result))
    return row


def spawn_seeds(seed: int, n: int) -> list[int]:
    """Return `n` independent 63-bit seeds spawned from `seed` (index i is always the same).

    Examples
    --------
    >>> spawn_seeds(7, 3) == spawn_seeds(7, 5)[:3]
    True
    """
    children = np.random.SeedSequence(seed).spawn(n)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[tuple[tuple[str, Any], ...]]:
    """Return every combination of the grid's values, in a stable order.

    Examples
    --------
    >>> expand_grid({"a": [1, 2], "b": ["x"]})
    [(('a', 1), ('b', 'x')), (('a', 2), ('b', 'x'))]
    """
    keys = sorted(grid)
    return [
        tuple(zip(keys, combo, strict=True))
        for combo in itertools.product(*(grid[k] for k in keys))
    ]


def plan(
    scenario: Scenario,
    *,
    runs: int,
    seed: int,
    grid: Mapping[str, Sequence[Any]] | None = None,
) -> list[RunSpec]:
    """Return the runs of a sweep: every grid point (or just the scenario) × `runs` repetitions.

    Repetition ``r`` of every grid point uses the same seed (common random numbers), so
    differences between points are due to the parameters, not to the draws.
    """
    if runs <= 0:
        raise ValueError(f"expected runs >= 1, was {runs}")
    points = expand_grid(grid) if grid else [()]
    seeds = spawn_seeds(seed, runs)
    text = scenario.canonical_json()
    return [
        RunSpec(p * runs + r, text, scenario.base_dir, values, seeds[r], r)
        for p, values in enumerate(points)
        for r in range(runs)
    ]


def execute(
    specs: Sequence[RunSpec],
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run `specs` and return one row per run, ordered by run index.

    Parameters
    ----------
    specs : sequence of RunSpec
        From `plan`.
    executor : Executor, optional
        Where to run; a process pool of `workers` by default (in this process if 1).
    out_dir : path, optional
        Checkpoint folder: each finished run is written to ``runs/<index>.json``.
    resume : bool
        Skip runs already checkpointed in `out_dir` (their rows are read back).
    progress : callable, optional
        Called with (runs done, runs in total) after each run.
    """
    import pandas as pd

    checkpoint = Path(out_dir) / "runs" if out_dir is not None else None
    if checkpoint is not None:
        checkpoint.mkdir(parents=True, exist_ok=True)
    rows = _checkpointed(specs, checkpoint) if resume and checkpoint is not None else {}
    todo = [spec for spec in specs if spec.index not in rows]
    total = len(specs)
    if progress is not None:
        progress(len(rows), total)

    def finished(row: dict[str, Any]) -> None:
        rows[int(row["run"])] = row
        if checkpoint is not None:
            _write_json_atomic(checkpoint / f"{row['run']}.json", row)
        if progress is not None:
            progress(len(rows), total)

    if executor is None and (workers or 1) <= 1:
        for spec in todo:
            finished(run_spec(spec))
    else:
        owned = executor is None
        pool: Executor = executor if executor is not None else ProcessPoolExecutor(workers)
        try:
            futures: list[Future[dict[str, Any]]] = [pool.submit(run_spec, spec) for spec in todo]
            for future in as_completed(futures):
                finished(future.result())
        finally:
            if owned:
                pool.shutdown(wait=True, cancel_futures=True)
    return pd.DataFrame([rows[i] for i in sorted(rows)])


def _checkpointed(specs: Sequence[RunSpec], checkpoint: Path) -> dict[int, dict[str, Any]]:
    rows = {}
    for spec in specs:
        path = checkpoint / f"{spec.index}.json"
        if path.exists():
            rows[spec.index] = json.loads(path.read_text(encoding="utf-8"))
    return rows


def run_many(scenario: Scenario, n: int, seed: int = 0, **options: Any) -> pd.DataFrame:
    """Run `scenario` `n` times with seeds spawned from `seed`; return one row per run.

    Options are those of `execute` (executor, workers, out_dir, resume, progress).
    """
    return execute(plan(scenario, runs=n, seed=seed), **options)


def sweep(
    scenario: Scenario,
    grid: Mapping[str, Sequence[Any]],
    reps: int,
    seed: int = 0,
    **options: Any,
) -> pd.DataFrame:
    """Run every combination of `grid` (key path → values) `reps` times; one row per run."""
    return execute(plan(scenario, runs=reps, seed=seed, grid=grid), **options)


def _write_json_atomic(path: Path, payload: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dict(payload), sort_keys=True, default=_jsonable), encoding="utf-8")
    os.replace(tmp, path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to a checkpoint")


def parse_grid(items: Iterable[str]) -> dict[str, list[Any]]:
    """Parse ``key=v1,v2`` items (values as TOML literals where they parse) into a grid."""
    import tomllib

    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key or not raw:
            raise ValueError(f"expected KEY=V1,V2,..., was {item!r}")
        values = []
        for part in raw.split(","):
            try:
                values.append(tomllib.loads(f"v = {part}")["v"])
            except tomllib.TOMLDecodeError:
                values.append(part)
        grid[key] = values
    return grid
