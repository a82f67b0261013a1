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

from protosim.catalog import fixtures_root, list_fixtures, resolve_scenario
from protosim.errors import ProtosimError

_err = Console(stderr=True)
# Piped output (a file, CI logs) gets wide tables rather than rich's 80-column default, so
# figures are never cut to "3.2e…".
_out = Console() if sys.stdout.isatty() else Console(width=200)


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
    """List the fixtures: name, title, and whether it has reported figures to replay."""
    from protosim.replay import load_reported

    names = list_fixtures()
    table = Table()
    table.add_column("name", no_wrap=True, min_width=max((len(n) for n in names), default=4))
    table.add_column("title")
    table.add_column("reported.toml", no_wrap=True)
    for name in names:
        folder = fixtures_root() / name
        title, has = "", "no"
        if (folder / "reported.toml").is_file():
            has = "yes"
            try:
                title = load_reported(folder / "reported.toml").title
            except ProtosimError as exc:
                title, has = f"(invalid: {exc})", "invalid"
        else:
            title = _scenario_description(folder / "scenario.toml")
        table.add_row(name, title, has)
    _out.print(table)


def _scenario_description(path: Path) -> str:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return ""
    return str(raw.get("description", ""))


@fixtures.command("show")
@click.argument("name")
def fixtures_show(name: str) -> None:
    """Show fixture NAME: title, summary, timeline of shocks in UTC, data files, figures."""
    from protosim.replay import load_fixture

    fx = load_fixture(name)
    spec = fx.scenario
    title = fx.reported.title if fx.reported else spec.description
    _out.print(f"[bold]{fx.name}[/bold]: {title}")
    if fx.reported:
        _out.print(fx.reported.summary)
    start = spec.start_utc.strftime("%Y-%m-%d %H:%M:%SZ") if spec.start_utc else "t=0"
    _out.print(f"window: {start} + {spec.horizon_s / 3600:g} h")
    timeline = Table(title="timeline (shocks and outages)")
    timeline.add_column("UTC")
    timeline.add_column("kind")
    timeline.add_column("target")
    timeline.add_column("detail")
    for shock in sorted(spec.shocks, key=spec.shock_time):
        t = spec.shock_time(shock)
        when = spec.utc(t)
        target = next(
            (
                str(getattr(shock, f))
                for f in ("asset", "oracle", "venue", "chain", "agent")
                if getattr(shock, f, None)
            ),
            "",
        )
        detail = ", ".join(
            f"{k}={v}"
            for k, v in shock.model_dump(exclude_none=True).items()
            if k not in {"kind", "at_s", "at_utc", "asset", "oracle", "venue", "chain", "agent"}
        )
        timeline.add_row(
            when.strftime("%Y-%m-%d %H:%M:%SZ") if when else f"t={t:g}s", shock.kind, target, detail
        )
    _out.print(timeline)
    data = Table(title="data files")
    data.add_column("file")
    data.add_column("used by")
    for path in fx.data_files:
        users = [a.id for a in spec.assets if getattr(a.path, "file", None) == f"data/{path.name}"]
        data.add_row(path.name, ", ".join(users))
    _out.print(data)
    sources = fx.path / "data" / "SOURCES.md"
    if sources.is_file():
        _out.print(f"sources: {sources}")
    if fx.reported:
        figures = Table(title="reported figures")
        widest = max(len(f.id) for f in fx.reported.figures)
        figures.add_column("id", no_wrap=True, min_width=widest)
        figures.add_column("reported", justify="right")
        figures.add_column("range", justify="right")
        figures.add_column("unit")
        figures.add_column("source")
        for fig in fx.reported.figures:
            band = f"{fig.range[0]:,.6g} .. {fig.range[1]:,.6g}" if fig.range else ""
            figures.add_row(fig.id, f"{fig.reported:,.6g}", band, fig.unit, fig.source)
        _out.print(figures)


@main.command()
@click.argument("name")
@click.option("--seed", type=int, default=None, help="Override the scenario's seed.")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change a scenario value by key path (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--write-golden",
    is_flag=True,
    help="Write the text summary to tests/replays/goldens/<event>[.<suffix>].txt.",
)
@click.option(
    "--golden-suffix",
    default=None,
    metavar="SUFFIX",
    help="Name a golden of a variant (needed with --set or --seed): <event>.<SUFFIX>.txt.",
)
def replay(
    name: str,
    seed: int | None,
    assignments: tuple[str, ...],
    as_json: bool,
    write_golden: bool,
    golden_suffix: str | None,
) -> None:
    """Replay fixture NAME and compare the simulated figures with the reported ones."""
    from protosim.replay import fixture_dir
    from protosim.replay import replay as run_replay

    _parse_assignments(assignments)  # a malformed --set fails before the run
    if write_golden and (assignments or seed is not None) and not golden_suffix:
        raise click.UsageError("--write-golden with --set or --seed needs --golden-suffix")
    with _err.status(f"replaying {name}"):
        report = run_replay(name, seed=seed, overrides=assignments)
    if write_golden:
        target = _golden_dir(fixture_dir(name)) / (
            f"{report.event}.{golden_suffix}.txt" if golden_suffix else f"{report.event}.txt"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(report.to_text(), encoding="utf-8")
        _err.print(f"wrote {target}")
    if as_json:
        click.echo(report.to_json())
        return
    table = Table(
        title=f"{report.event}: {report.title}  (scenario id {report.scenario_id}, "
        f"seed {report.seed})"
    )
    widest = max(len(f.id) for f in report.figures)
    table.add_column("figure", no_wrap=True, min_width=widest)
    for column in ("unit", "reported", "range", "simulated", "rel. error", "in range"):
        table.add_column(column, justify="left" if column == "unit" else "right")
    for f in report.figures:
        band = f"{f.low:,.4g} .. {f.high:,.4g}" if f.low is not None else ""
        inside = "" if f.in_range is None else ("yes" if f.in_range else "[red]no[/red]")
        if f.simulated is None or f.rel_error is None:
            table.add_row(f.id, f.unit, f"{f.reported:,.4g}", band, "[dim]not modelled[/dim]")
            continue
        table.add_row(
            f.id,
            f.unit,
            f"{f.reported:,.4g}",
            band,
            f"{f.simulated:,.4g}",
            _pct(f.rel_error),
            inside,
        )
    _out.print(table)
    _out.print("[bold]mechanism[/bold]")
    for line in report.mechanism:
        _out.print(f"  {line}")


def _pct(x: float) -> str:
    if x != x:  # NaN
        return "nan"
    if x in (float("inf"), float("-inf")):
        return "+inf" if x > 0 else "-inf"
    return f"{x * 100:+,.1f} %"


def _golden_dir(fixture: Path) -> Path:
    # Goldens live in the source tree beside the tests, found from the (editable) fixture.
    for parent in fixture.resolve().parents:
        if (parent / "pyproject.toml").is_file() and (parent / "tests").is_dir():
            return parent / "tests" / "replays" / "goldens"
    raise click.UsageError(
        f"--write-golden needs the source tree (tests/ beside pyproject.toml above {fixture})"
    )


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
    "--replay",
    "replay_name",
    default=None,
    metavar="NAME",
    help="Time the replay of fixture NAME with its populations scaled to --accounts.",
)
@click.option(
    "--aave-multi",
    "aave_multi",
    is_flag=True,
    help="Time the multi-collateral Aave benchmark (registered as 'aave-multi').",
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
    replay_name: str | None,
    aave_multi: bool,
    as_json: bool,
) -> None:
    """Time the benchmarks: the 1,000,000-account Aave v3 cascade, or a sweep (--sweep)."""
    from protosim.bench import run_lending_bench, run_sweep_bench

    if sum((perps_mode, sweep_mode, replay_name is not None, aave_multi)) > 1:
        raise click.UsageError("choose one of --perps, --sweep, --replay and --aave-multi")
    if replay_name is not None:
        figures = _replay_bench(replay_name, accounts, hours)
        title = f"protosim bench --replay {replay_name}"
    elif aave_multi:
        try:
            run_multi = _registry().benchmark("aave-multi")
        except KeyError:
            raise click.UsageError(
                "no benchmark 'aave-multi' is registered: the multi-collateral Aave plugin "
                "that provides it is not installed"
            ) from None
        figures = run_multi(accounts=accounts or 1_000_000, hours=hours or 48.0)
        title = "protosim bench --aave-multi"
    elif perps_mode:
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


def _replay_bench(name: str, accounts: int | None, hours: float | None) -> dict[str, Any]:
    # A plugin may register its own replay benchmark; else the engine's generic one.
    try:
        run = _registry().benchmark("replay")
    except KeyError:
        from protosim.bench import run_replay_bench

        return run_replay_bench(name, accounts=accounts, hours=hours)
    result: dict[str, Any] = run(name=name, accounts=accounts, hours=hours)
    return result


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
