"""``protosim graph``: the exposure graph of a scenario at one moment, its blast radius, exports.

Attach it to the main group with ``main.add_command(graph)``; the group turns a
`ScenarioError` into ``error: …`` and exit status 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from protosim.catalog import resolve_scenario
from protosim.errors import ScenarioError

if TYPE_CHECKING:
    from protosim.graph.exposure import BlastRadius, ExposureGraph

FORMATS: dict[str, str] = {"graphml": ".graphml", "json": ".json", "html": ".html", "png": ".png"}
"""Export formats and their file suffixes."""

_BLAST_KINDS = ("oracle", "asset", "venue")


@click.command("graph")
@click.argument("scenario")
@click.option(
    "--at",
    "at_s",
    type=float,
    default=None,
    metavar="T",
    help="Run to T seconds first and show the state then (default: the start).",
)
@click.option(
    "--blast",
    default=None,
    metavar="oracle:ID|asset:ID|venue:ID",
    help="First-order blast radius of an oracle failure, an asset depeg or a venue halt.",
)
@click.option(
    "--shock",
    type=float,
    default=-0.2,
    show_default=True,
    help="Relative move of the shocked oracle answers for --blast.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default=None,
    help="Write the graph in this format (default: from the --out suffix).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default with --format: <scenario name>-exposure.<suffix>).",
)
@click.option("--seed", type=int, default=None, help="Override the scenario's seed.")
@click.option(
    "--accounts",
    default="groups",
    show_default=True,
    metavar="groups|top:N|all",
    help="Aggregate positions per venue and asset pair, or show the N largest, or all.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
def graph(
    scenario: str,
    at_s: float | None,
    blast: str | None,
    shock: float,
    fmt: str | None,
    out: Path | None,
    seed: int | None,
    accounts: str,
    as_json: bool,
) -> None:
    """Build the exposure graph of SCENARIO (a TOML file, a folder or a fixture name)."""
    from protosim.engine import Simulation
    from protosim.graph.exposure import ExposureGraph, _parse_accounts
    from protosim.scenario import Scenario

    try:
        _parse_accounts(accounts)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--accounts") from None
    if not shock > -1:
        raise click.BadParameter(f"expected a shock > -1, was {shock}", param_hint="--shock")
    target = _output(fmt, out)
    path = resolve_scenario(scenario)
    spec = Scenario.from_toml(path)
    sim = Simulation(spec, seed=seed)
    if at_s is not None:
        if not 0 <= at_s <= spec.horizon_s:
            raise click.BadParameter(
                f"expected 0 <= T <= {spec.horizon_s} (the horizon), was {at_s}", param_hint="--at"
            )
        sim.run_until(at_s)
    exposure = ExposureGraph.from_simulation(sim, accounts=accounts)
    radius = _blast(exposure, blast, shock, path) if blast is not None else None
    written = None
    if target is not None:
        written = _write(
            exposure, target[0], target[1] or Path(f"{spec.name}-exposure{FORMATS[target[0]]}")
        )
    if as_json:
        payload: dict[str, Any] = {
            "scenario": spec.name,
            "t": exposure.t,
            "nodes": exposure.counts(),
            "edges": {
                str(r["relation"]): {"count": int(r["edges"]), "usd": float(r["usd"])}
                for r in exposure.relation_usd().to_dict(orient="records")
            },
        }
        if radius is not None:
            payload["blast_radius"] = radius.to_dict()
        if written is not None:
            payload["written"] = str(written)
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
        return
    console = Console()
    if radius is not None:
        console.print(_blast_table(radius))
    else:
        console.print(_counts_table(exposure, spec.name))
    if written is not None:
        console.print(f"wrote {written}")


def _output(fmt: str | None, out: Path | None) -> tuple[str, Path | None] | None:
    if out is None:
        return (fmt, None) if fmt is not None else None
    if fmt is not None:
        return fmt, out
    for name, suffix in FORMATS.items():
        if out.suffix.lower() == suffix:
            return name, out
    raise click.BadParameter(
        f"cannot tell the format of {out.name!r}; give --format or a suffix in "
        f"{sorted(FORMATS.values())}",
        param_hint="--out",
    )


def _blast(exposure: ExposureGraph, blast: str, shock: float, path: Path) -> BlastRadius:
    kind, sep, ident = blast.partition(":")
    if not sep or kind not in _BLAST_KINDS or not ident:
        raise ScenarioError(
            f"expected --blast oracle:ID, asset:ID or venue:ID, was {blast!r}", file=path
        )
    valid = [
        n.split(":", 1)[1]
        for n in exposure.nodes_of(kind)
        if not exposure.graph.nodes[n].get("numeraire")
    ]
    if ident not in valid:
        raise ScenarioError(
            f"unknown {kind} {ident!r} for --blast; expected one of {valid}", file=path
        )
    if kind == "oracle":
        return exposure.blast_radius(oracle=ident, shock=shock)
    if kind == "asset":
        return exposure.blast_radius(asset=ident, shock=shock)
    return exposure.blast_radius(venue=ident)


def _write(exposure: ExposureGraph, fmt: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    writers = {
        "graphml": exposure.to_graphml,
        "json": exposure.to_json,
        "html": exposure.to_html,
        "png": exposure.to_png,
    }
    return writers[fmt](target)


def _blast_table(radius: BlastRadius) -> Table:
    halt = radius.target.startswith("venue:")
    what = "halt" if halt else f"shock {radius.shock:+.1%}"
    table = Table(title=f"first-order blast radius of {radius.target} ({what})")
    table.add_column("venue")
    table.add_column("positions" if halt else "positions at risk", justify="right")
    table.add_column("accounts", justify="right")
    table.add_column("debt (USD)", justify="right")
    table.add_column("collateral (USD)", justify="right")
    table.add_column("share of venue debt", justify="right")
    for row in radius.by_venue.to_dict(orient="records"):
        table.add_row(
            str(row["venue"]),
            f"{int(row['positions']):,} of {int(row['positions_total']):,}",
            f"{int(row['accounts']):,}",
            f"{float(row['debt_usd']):,.0f}",
            f"{float(row['collateral_usd']):,.0f}",
            f"{float(row['debt_share']):.1%}",
        )
    table.add_row(
        "total",
        f"{radius.positions:,}",
        f"{radius.accounts:,}",
        f"{radius.debt_usd:,.0f}",
        f"{radius.collateral_usd:,.0f}",
        "",
        style="bold",
    )
    if radius.oracles:
        table.caption = "oracles moved: " + ", ".join(radius.oracles)
    return table


def _counts_table(exposure: ExposureGraph, name: str) -> Table:
    table = Table(title=f"exposure graph of {name} at t = {exposure.t:,.0f} s")
    table.add_column("nodes / edges")
    table.add_column("count", justify="right")
    table.add_column("USD", justify="right")
    for kind, count in exposure.counts().items():
        table.add_row(f"node {kind}", f"{count:,}", "")
    for row in exposure.relation_usd().to_dict(orient="records"):
        table.add_row(
            f"edge {row['relation']}", f"{int(row['edges']):,}", f"{float(row['usd']):,.0f}"
        )
    return table


__all__ = ["FORMATS", "graph"]
