"""Command-line analyses that need protocol math, registered by the built-in plugin."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

_out = Console()


@click.command()
@click.argument("portfolio_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--scenario", default=None, help="Check the portfolio along this scenario's prices.")
@click.option(
    "--asset", default=None, help="Asset whose move gives each position's liquidation price."
)
@click.option(
    "--size-position",
    "size_index",
    type=int,
    default=None,
    help="Largest multiple of this position (index) under --max-loss.",
)
@click.option(
    "--max-loss",
    type=float,
    default=0.1,
    show_default=True,
    help="Loss budget as a share of capital_usd.",
)
@click.option(
    "--hedge-ratio",
    type=float,
    default=None,
    help="Compare the first spot position unhedged and hedged with a perp short of this ratio.",
)
@click.option(
    "--hedge-margin",
    type=float,
    default=None,
    help="Margin (USD) of the hedge short; default 20% of its notional.",
)
@click.option(
    "--hedge-table",
    default="hyperliquid",
    show_default=True,
    help="Margin tiers of the hedge short.",
)
@click.option("--seed", type=int, default=None)
@click.option("--json", "as_json", is_flag=True, help="Print every table as JSON.")
def portfolio(
    portfolio_file: Path,
    scenario: str | None,
    asset: str | None,
    size_index: int | None,
    max_loss: float,
    hedge_ratio: float | None,
    hedge_margin: float | None,
    hedge_table: str,
    seed: int | None,
    as_json: bool,
) -> None:
    """Liquidation prices, headroom, and a scenario check of the positions in PORTFOLIO_FILE."""
    from protosim.catalog import resolve_scenario
    from protosim.protocols import portfolio as pf
    from protosim.scenario import Scenario

    book = pf.Portfolio.from_toml(portfolio_file)
    tables: dict[str, Any] = {}
    times = paths = None
    if scenario is not None:
        spec = Scenario.from_toml(resolve_scenario(scenario))
        book, times, paths = pf.load_paths_for(book, spec, seed=seed)
    chosen = asset or next(iter(sorted(pf.assets_of(book))))
    tables["liquidation_prices"] = pf.liquidation_prices(book, chosen)
    tables["headroom"] = pf.headroom(book)
    if times is not None and paths is not None:
        result = pf.check(book, times, paths)
        tables["scenario_liquidations"] = result.liquidations
        tables["scenario"] = {
            "worst_loss_usd": result.worst_loss_usd,
            "final_pnl_usd": result.final_pnl_usd,
        }
        if size_index is not None:
            tables["sizing"] = {
                "position": size_index,
                "max_loss_fraction": max_loss,
                "largest_multiple": pf.size_for(
                    book, size_index, times, paths, max_loss_fraction=max_loss
                ),
            }
        if hedge_ratio is not None:
            spot = next((p for p in book.positions if isinstance(p, pf.SpotPosition)), None)
            if spot is None:
                raise click.BadParameter(
                    "the portfolio has no spot position to hedge", param_hint="--hedge-ratio"
                )
            price = book.prices[spot.asset]
            margin = hedge_margin or 0.2 * abs(spot.quantity) * hedge_ratio * price
            tables["hedge"] = pf.hedge_analysis(
                asset=spot.asset,
                quantity=spot.quantity,
                price=price,
                hedge_ratio=hedge_ratio,
                margin_usd=margin,
                table=hedge_table,
                times=times,
                paths=paths,
            )
    elif size_index is not None or hedge_ratio is not None:
        raise click.BadParameter(
            "sizing and hedge analysis need --scenario", param_hint="--scenario"
        )
    if as_json:
        click.echo(
            json.dumps({k: _records(v) for k, v in tables.items()}, indent=2, default=_plain)
        )
        return
    for name, value in tables.items():
        _print(name, value)


def _records(value: Any) -> Any:
    return value.to_dict(orient="records") if hasattr(value, "to_dict") else value


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def _print(title: str, value: Any) -> None:
    table = Table(title=title.replace("_", " "))
    if isinstance(value, dict):
        table.add_column("figure")
        table.add_column("value", justify="right")
        for key, item in value.items():
            table.add_row(key, f"{item:,.4g}" if isinstance(item, float) else str(item))
    else:
        for column in value.columns:
            table.add_column(str(column), justify="right")
        for row in value.itertuples(index=False):
            table.add_row(*(f"{v:,.6g}" if isinstance(v, float) else str(v) for v in row))
    _out.print(table)
