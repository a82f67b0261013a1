"""The ``protosim`` command line: run scenarios, print the schema, benchmark."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from protosim.catalog import list_fixtures, resolve_scenario
from protosim.errors import ProtosimError

_err = Console(stderr=True)
_out = Console()


def _parse_assignments(values: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, was {item!r}", param_hint="--set")
        try:
            out[key] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = raw
    return out


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ProtosimError as exc:
            # Plain text, never wrapped: the message names a file and key a user may copy.
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="protosim")
def main() -> None:
    """Simulate lending pools, perp exchanges, oracles and markets in a crash."""


@main.command()
@click.argument("scenario")
@click.option("--seed", type=int, default=None, help="Override the scenario's seed.")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change a scenario value by key path (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write events (JSONL, Parquet), prices and summary here.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run(
    scenario: str,
    seed: int | None,
    assignments: tuple[str, ...],
    as_json: bool,
    out_dir: Path | None,
    quiet: bool,
) -> None:
    """Run SCENARIO (a TOML file, a folder, or a fixture name) and print a summary."""
    from protosim.engine import Simulation
    from protosim.scenario import Scenario

    path = resolve_scenario(scenario)
    spec = Scenario.from_toml(path)
    if assignments:
        spec = spec.with_values(_parse_assignments(assignments))
        spec.validate_components(_registry(), source=path)
    sim = Simulation(spec, seed=seed)
    if quiet or as_json:
        result = sim.run()
    else:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}% of simulated time"),
            TimeRemainingColumn(),
            console=_err,
            transient=True,
        ) as progress:
            task = progress.add_task(spec.name, total=spec.horizon_s)
            result = sim.run(progress=lambda t: progress.update(task, completed=t))
    summary = result.summary()
    if out_dir is not None:
        written = result.write(out_dir)
        summary["written"] = [str(p) for p in written]
    if as_json:
        click.echo(
            json.dumps(
                {"summary": summary, "components": result.component_metrics},
                indent=2,
                sort_keys=True,
            )
        )
        return
    _print_summary(summary, result.component_metrics)


def _registry() -> Any:
    from protosim.registry import default_registry

    return default_registry()


def _print_summary(summary: dict[str, Any], components: dict[str, dict[str, float]]) -> None:
    table = Table(
        title=f"{summary['scenario']}  (id {summary['scenario_id']}, seed {summary['seed']})"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("simulated hours", f"{summary['horizon_s'] / 3600:,.1f}")
    table.add_row("events", f"{summary['events']:,}")
    table.add_row("liquidations", f"{summary['liquidations']:,}")
    table.add_row("accounts liquidated", f"{summary['accounts_liquidated']:,}")
    table.add_row("liquidated debt (USD)", f"{summary['liquidated_debt_usd']:,.0f}")
    table.add_row("collateral seized (USD)", f"{summary['collateral_seized_usd']:,.0f}")
    table.add_row("bad debt (USD)", f"{summary['bad_debt_usd']:,.0f}")
    table.add_row("oracle updates", f"{summary['oracle_updates']:,}")
    table.add_row("market trades", f"{summary['trades']:,}")
    for key, value in summary["min_price"].items():
        table.add_row(f"min price {key}", f"{value:,.4f}")
    _out.print(table)
    comp = Table(title="components")
    comp.add_column("id")
    comp.add_column("metric")
    comp.add_column("value", justify="right")
    for cid, metrics in components.items():
        for name, value in metrics.items():
            comp.add_row(cid, name, f"{value:,.2f}")
    _out.print(comp)
    if "written" in summary:
        _out.print(f"wrote {len(summary['written'])} files to {Path(summary['written'][0]).parent}")


@main.command()
@click.argument("scenario")
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Repetitions (per grid point).",
)
@click.option(
    "--grid",
    "grid_items",
    multiple=True,
    metavar="KEY=V1,V2",
    help="Values to sweep, by key path (repeatable).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Base seed; each run's seed is spawned from it.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: CPU count).",
)
@click.option(
    "--executor",
    "executor_kind",
    type=click.Choice(["process", "dask", "serial"]),
    default="process",
    show_default=True,
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDR",
    help="Dask scheduler address (tcp://host:port); implies --executor dask.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Checkpoint and result folder.",
)
@click.option("--resume", is_flag=True, help="Skip runs already checkpointed in --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the metric table as JSON.")
def sweep(
    scenario: str,
    runs: int,
    grid_items: tuple[str, ...],
    seed: int,
    workers: int | None,
    executor_kind: str,
    scheduler: str | None,
    out_dir: Path | None,
    resume: bool,
    as_json: bool,
) -> None:
    """Run SCENARIO many times (optionally over a grid) and print tail metrics."""
    from protosim.metrics import group_summary, tail_table
    from protosim.runners import execute, parse_grid, plan
    from protosim.scenario import Scenario

    if resume and out_dir is None:
        raise click.BadParameter("--resume needs --out", param_hint="--resume")
    spec = Scenario.from_toml(resolve_scenario(scenario))
    try:
        grid = parse_grid(grid_items)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--grid") from None
    for key, values in grid.items():  # fail on a bad key or value before starting any run
        for value in values:
            spec.with_values({key: value})
    specs = plan(spec, runs=runs, seed=seed, grid=grid)
    kind = "dask" if scheduler else executor_kind
    with (
        _executor(kind, workers, scheduler) as executor,
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} runs"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=_err,
            disable=as_json,
        ) as progress,
    ):
        task = progress.add_task(spec.name, total=len(specs), rate="")
        table = execute(
            specs,
            executor=executor,
            workers=1 if kind == "serial" else workers,
            out_dir=out_dir,
            resume=resume,
            progress=lambda done, total: progress.update(
                task, completed=done, rate=_rate(progress, task)
            ),
        )
    tails = tail_table(table, seed=seed)
    groups = group_summary(table, sorted(grid)) if grid else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        table.to_parquet(out_dir / "runs.parquet", index=False)
        tails.to_parquet(out_dir / "tails.parquet", index=False)
        if groups is not None:
            groups.to_parquet(out_dir / "grid.parquet", index=False)
    if as_json:
        payload = {"tails": tails.to_dict(orient="records")}
        if groups is not None:
            payload["grid"] = groups.to_dict(orient="records")
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
        return
    _print_frame(tails, f"{spec.name}: {len(table)} runs, tail metrics")
    if groups is not None:
        _print_frame(groups, "by grid point")


def _rate(progress: Progress, task: Any) -> str:
    speed = progress.tasks[task].speed
    return f"{speed:.2f} runs/s" if speed else ""


def _print_frame(frame: Any, title: str) -> None:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(*(f"{v:,.4g}" if isinstance(v, float) else str(v) for v in row))
    _out.print(table)


class _executor:  # noqa: N801 - used as a context manager, reads like a function
    def __init__(self, kind: str, workers: int | None, scheduler: str | None) -> None:
        self._kind, self._workers, self._scheduler = kind, workers, scheduler
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> Any:
        if self._kind != "dask":
            return None
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise click.UsageError(
                "the dask executor needs the 'dask' extra: pip install 'protosim[dask]'"
            ) from None
        if self._scheduler:
            self._client = Client(self._scheduler)
        else:
            self._cluster = LocalCluster(
                n_workers=self._workers or 2, threads_per_worker=1, processes=True
            )
            self._client = Client(self._cluster)
        return self._client.get_executor()

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()


@main.command()
def schema() -> None:
    """Print the scenario JSON Schema, with each registered kind's parameter schema."""
    from protosim.scenario import Scenario

    registry = _registry()
    out = Scenario.model_json_schema()
    out["x-component-params"] = {
        kind: registry.get(kind).params.model_json_schema() for kind in registry.kinds()
    }
    click.echo(json.dumps(out, indent=2, sort_keys=True))


@main.command()
def kinds() -> None:
    """List the registered venue, oracle and agent kinds."""
    registry = _registry()
    table = Table()
    table.add_column("kind")
    table.add_column("role")
    table.add_column("description")
    for kind in registry.kinds():
        ctype = registry.get(kind)
        table.add_row(kind, ctype.role, ctype.description)
    _out.print(table)


@main.group()
def fixtures() -> None:
    """Scenarios shipped with protosim."""


@fixtures.command("list")
def fixtures_list() -> None:
    """List the fixture names ``protosim run NAME`` accepts."""
    for name in list_fixtures():
        click.echo(name)


@main.command()
@click.option(
    "--accounts", type=int, default=None, help="Borrowers (1,000,000 lending; 10,000 sweep)."
)
@click.option("--hours", type=float, default=None, help="Simulated hours (48 lending; 24 sweep).")
@click.option(
    "--baseline/--no-baseline",
    default=True,
    show_default=True,
    help="Also time the single-purpose indexed numpy loop.",
)
@click.option(
    "--sweep",
    "sweep_mode",
    is_flag=True,
    help="Time a Monte Carlo sweep on 1 and 2 workers and on Dask instead.",
)
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=1_000,
    show_default=True,
    help="Runs of the sweep benchmark.",
)
@click.option(
    "--dask/--no-dask",
    default=True,
    show_default=True,
    help="Include the Dask local cluster in --sweep.",
)
@click.option(
    "--perps",
    "perps_mode",
    is_flag=True,
    help="Time the perp benchmark instead: 2,000,000 accounts, two venues, three markets, 24 h.",
)
@click.option(
    "--markets",
    type=click.Choice(["constant_product", "stableswap+book"]),
    default="constant_product",
    show_default=True,
    help="Where the lending benchmark's keepers sell and its feed looks.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def bench(
    markets: str,
    accounts: int | None,
    hours: float | None,
    baseline: bool,
    sweep_mode: bool,
    runs: int,
    dask: bool,
    perps_mode: bool,
    as_json: bool,
) -> None:
    """Time the benchmarks: the 1,000,000-account Aave v3 cascade, or a sweep (--sweep)."""
    from protosim.bench import run_lending_bench, run_sweep_bench

    if perps_mode:
        run_perps = _registry().benchmark("perps")
        figures = run_perps(accounts=accounts or 2_000_000, hours=hours or 24.0)
        title = "protosim bench --perps"
    elif sweep_mode:
        figures = run_sweep_bench(runs, accounts=accounts or 10_000, hours=hours or 24.0, dask=dask)
        title = "protosim bench --sweep"
    else:
        figures = run_lending_bench(
            accounts=accounts or 1_000_000, hours=hours or 48.0, baseline=baseline, markets=markets
        )
        title = "protosim bench: Aave v3 cascade"
    if as_json:
        click.echo(json.dumps(figures, indent=2, sort_keys=True))
        return
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        if isinstance(value, float):
            table.add_row(key, f"{value:,.3f}")
        else:
            table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    _out.print(table)


def _attach_commands() -> None:
    from protosim.chain.cli import chain
    from protosim.graph.cli import graph

    main.add_command(chain)
    main.add_command(graph)
    # Plugins (the built-in venues among them) may bring their own commands.
    for command in _registry().commands():
        main.add_command(command)


_attach_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
