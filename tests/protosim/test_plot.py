"""Tests of the plotting helpers: what each one draws for a known graph or run (headless)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Rectangle  # noqa: E402

from protosim import Scenario, Simulation  # noqa: E402
from protosim.events import LiquidationExecuted  # noqa: E402
from protosim.graph.exposure import ExposureGraph  # noqa: E402
from protosim.plot import (  # noqa: E402
    draw_exposure,
    exposure_html,
    format_usd,
    plot_contagion_timeline,
    plot_prices,
)
from protosim.results import RunResult  # noqa: E402
from protosim.testing import tiny_scenario_dict  # noqa: E402


@pytest.fixture(scope="module")
def result() -> RunResult:
    data = tiny_scenario_dict(accounts=300, horizon_s=1_800.0)
    return Simulation(Scenario.from_dict(data), seed=2).run()


@pytest.fixture(scope="module")
def graph() -> ExposureGraph:
    return ExposureGraph.from_scenario(Scenario.from_dict(tiny_scenario_dict(accounts=20)))


def _axes() -> Any:
    return Figure().subplots()


def test_draw_exposure_draws_every_node_and_collapsed_edge(graph: ExposureGraph) -> None:
    """One marker per node, one arrow per connected node pair, columns ordered by kind."""
    ax = draw_exposure(graph, ax=_axes())
    markers = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets())]
    assert sum(len(c.get_offsets()) for c in markers) == graph.graph.number_of_nodes()
    pairs = {(u, v) for u, v in graph.graph.edges()}
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(arrows) + sum(len(c.get_segments()) for c in lines) == len(pairs)
    offsets = np.vstack([c.get_offsets() for c in markers])
    xs = sorted({round(float(x), 6) for x in offsets[:, 0]})
    # group, venue, oracle, market, asset, chain: six columns.
    assert len(xs) == 6


def test_exposure_html_names_every_node_with_usd_labels(graph: ExposureGraph) -> None:
    """The interactive view holds every node id and the USD label of the edges."""
    pytest.importorskip("pyvis")
    html = exposure_html(graph)
    for node in graph.graph.nodes:
        assert node in html
    collateral = graph.graph.nodes["venue:aave"]["collateral_usd"]
    assert format_usd(collateral) in html


def test_format_usd_scales() -> None:
    """Amounts are written with three significant digits and a k/M/B suffix."""
    assert format_usd(2_500.0) == "$2.5k"
    assert format_usd(1.5e9) == "$1.5B"
    assert format_usd(12.0) == "$12"


def test_contagion_timeline_bars_sum_to_liquidated_debt(result: RunResult) -> None:
    """The liquidation bars add up to the run's liquidated debt; one line per shock."""
    ax = plot_contagion_timeline(result, ax=_axes())
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    total = float(result.log.total(LiquidationExecuted, "debt_repaid_usd"))
    assert total > 0
    assert sum(b.get_height() for b in bars) == pytest.approx(total, rel=1e-9)
    shock_lines = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert len(shock_lines) == len(result.scenario.shocks) == 1
    # The shock starts ten minutes in.
    assert shock_lines[0].get_xdata()[0] == pytest.approx(10.0)


def test_plot_prices_draws_samples_and_oracle_steps(result: RunResult) -> None:
    """One line per (asset, venue) sampled and one step line per oracle that updated."""
    ax = plot_prices(result, ax=_axes())
    series = result.prices.groupby(["asset", "venue"]).ngroups
    oracles = result.oracle_updates["oracle"].nunique()
    assert len(ax.lines) == series + oracles
    relative = plot_prices(result, ax=_axes(), assets=("ETH",), relative=True)
    assert all(line.get_ydata()[0] == pytest.approx(1.0) for line in relative.lines)
