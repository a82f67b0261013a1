"""Plotting helpers: exposure graphs (static and interactive), contagion timelines, prices.

Matplotlib and pyvis come with the ``plot`` extra (``pip install protosim[plot]``) and are
imported only when a function here is called. Every function draws into the ``ax`` it is given;
without one it opens a new figure through pyplot (so a notebook shows it). Files are written
through a bare `matplotlib.figure.Figure`, which needs no display and leaves pyplot's state
alone.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from protosim.events import ShockApplied
from protosim.graph.exposure import edge_items, node_items

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from protosim.graph.exposure import ExposureGraph
    from protosim.results import RunResult

KIND_COLOURS: dict[str, str] = {
    "account": "#9ecae1",
    "group": "#6baed6",
    "venue": "#fd8d3c",
    "oracle": "#74c476",
    "market": "#9e9ac8",
    "asset": "#fdd0a2",
    "chain": "#bdbdbd",
}
"""Node colour of each kind, in plots and the HTML view."""

_LAYERS: dict[str, int] = {
    "account": 0,
    "group": 0,
    "venue": 1,
    "oracle": 2,
    "market": 3,
    "asset": 4,
    "chain": 5,
}


def _nx_graph(graph: ExposureGraph | nx.MultiDiGraph[str]) -> nx.MultiDiGraph[str]:
    inner = getattr(graph, "graph", None)
    if isinstance(inner, nx.MultiDiGraph):
        return inner
    if isinstance(graph, nx.MultiDiGraph):
        return graph
    raise TypeError(f"expected an ExposureGraph or a MultiDiGraph, was {type(graph).__name__}")


def _new_axes(figsize: tuple[float, float]) -> Axes:
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def format_usd(value: float) -> str:
    """Return `value` as a short USD amount.

    Examples
    --------
    >>> format_usd(1_234_567.0)
    '$1.23M'
    >>> format_usd(950.0)
    '$950'
    """
    size = abs(value)
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"${value / limit:.3g}{suffix}"
    return f"${value:.3g}"


def _collapsed(g: nx.MultiDiGraph[str]) -> dict[tuple[str, str], float]:
    usd: dict[tuple[str, str], float] = defaultdict(float)
    for u, v, _, d in edge_items(g):
        usd[(u, v)] += float(d.get("usd", 0.0))
    return dict(usd)


def _widths(values: list[float], low: float, high: float) -> list[float]:
    top = max(values, default=0.0)
    if top <= 0:
        return [low for _ in values]
    return [low + (high - low) * math.sqrt(max(v, 0.0) / top) for v in values]


def draw_exposure(
    graph: ExposureGraph | nx.MultiDiGraph[str],
    ax: Axes | None = None,
    *,
    labels: bool = True,
) -> Axes:
    """Draw an exposure graph in columns by node kind, edge width by USD (square-root scale).

    Columns, left to right: accounts and groups, venues, oracles, markets, assets, chains.
    Parallel edges between two nodes are drawn as one, with their USD summed.

    Parameters
    ----------
    graph : ExposureGraph or networkx.MultiDiGraph
        What to draw.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if None.
    labels : bool
        Write node labels.

    Returns
    -------
    matplotlib Axes
    """
    g = _nx_graph(graph)
    if ax is None:
        ax = _new_axes((14.0, 8.0))
    layers: dict[int, list[str]] = defaultdict(list)
    for node, data in node_items(g):
        layers[_LAYERS.get(str(data.get("kind")), len(_LAYERS))].append(node)
    simple: nx.DiGraph[str] = nx.DiGraph()
    simple.add_nodes_from(n for layer in sorted(layers) for n in layers[layer])
    usd = _collapsed(g)
    simple.add_edges_from(usd)
    pos = nx.multipartite_layout(simple, subset_key=dict(layers)) if len(simple) else {}
    edges = list(usd)
    nx.draw_networkx_edges(
        simple,
        pos,
        edgelist=edges,
        width=_widths([usd[e] for e in edges], 0.3, 6.0),
        edge_color="#888888",
        alpha=0.6,
        arrows=True,
        arrowsize=8,
        ax=ax,
    )
    nodes = list(simple.nodes)
    nx.draw_networkx_nodes(
        simple,
        pos,
        nodelist=nodes,
        node_color=[KIND_COLOURS.get(str(g.nodes[n].get("kind")), "#dddddd") for n in nodes],
        node_size=300,
        edgecolors="#333333",
        linewidths=0.5,
        ax=ax,
    )
    if labels:
        nx.draw_networkx_labels(
            simple,
            pos,
            labels={n: str(g.nodes[n].get("label", n)) for n in nodes},
            font_size=7,
            ax=ax,
        )
    for kind, colour in KIND_COLOURS.items():
        ax.scatter([], [], color=colour, label=kind, edgecolors="#333333", linewidths=0.5)
    ax.legend(loc="upper left", fontsize=7, frameon=False, ncols=len(KIND_COLOURS))
    title = g.graph.get("scenario")
    if title is not None:
        ax.set_title(f"exposure of {title} at t = {float(g.graph.get('t', 0.0)):,.0f} s")
    ax.set_axis_off()
    return ax


def save_exposure_png(
    graph: ExposureGraph | nx.MultiDiGraph[str], path: str | Path, *, dpi: int = 120
) -> Path:
    """Draw `graph` with `draw_exposure` into a PNG file, without pyplot; return the path."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14.0, 8.0), layout="tight")
    draw_exposure(graph, ax=fig.subplots())
    target = Path(path)
    fig.savefig(target, dpi=dpi, format="png")
    return target


def _hover(data: dict[str, Any]) -> str:
    lines = []
    for key in sorted(data):
        value = data[key]
        if key == "params":
            try:
                value = json.dumps(json.loads(str(value)), sort_keys=True)[:400]
            except ValueError:
                value = str(value)[:400]
        if isinstance(value, float) and key.endswith("usd"):
            value = format_usd(value)
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


def exposure_html(graph: ExposureGraph | nx.MultiDiGraph[str], *, height: str = "800px") -> str:
    """Return a self-contained interactive HTML view of `graph` (pyvis, scripts inlined).

    Nodes are coloured by kind and placed in levels by kind; edges carry their USD as a label
    and width; hovering shows every attribute of a node or edge.
    """
    from pyvis.network import Network

    g = _nx_graph(graph)
    net = Network(height=height, width="100%", directed=True, cdn_resources="in_line")
    for node, data in node_items(g):
        kind = str(data.get("kind", ""))
        net.add_node(
            node,
            label=str(data.get("label", node)),
            title=f"{node}\n{_hover(dict(data))}",
            color=KIND_COLOURS.get(kind, "#dddddd"),
            level=_LAYERS.get(kind, len(_LAYERS)),
            shape="dot",
            size=14,
        )
    edges = edge_items(g)
    widths = _widths([float(d.get("usd", 0.0)) for *_, d in edges], 0.5, 8.0)
    for (u, v, key, data), width in zip(edges, widths, strict=True):
        usd = float(data.get("usd", 0.0))
        net.add_edge(
            u,
            v,
            title=f"{key}\n{_hover(dict(data))}",
            label=format_usd(usd),
            width=width,
            arrows="to",
            font={"size": 9},
        )
    net.set_options(
        json.dumps(
            {
                "layout": {
                    "hierarchical": {"enabled": True, "direction": "LR", "levelSeparation": 260}
                },
                "physics": {"enabled": False},
                "interaction": {"hover": True},
            }
        )
    )
    return str(net.generate_html())


def plot_contagion_timeline(
    result: RunResult, ax: Axes | None = None, *, bin_s: float = 60.0
) -> Axes:
    """Plot a run's contagion over time: liquidated debt per bin (bars), oracle updates and
    trades (ticks along the top), and shocks (vertical lines).

    Parameters
    ----------
    result : RunResult
        A finished (or partial) run.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if None.
    bin_s : float
        Width of the liquidation bins in simulated seconds (a minute by default).

    Returns
    -------
    matplotlib Axes
        Time on the x axis in minutes.
    """
    if ax is None:
        ax = _new_axes((12.0, 4.5))
    if not bin_s > 0:
        raise ValueError(f"expected bin_s > 0, was {bin_s}")
    horizon = float(result.scenario.horizon_s)
    liq = result.liquidations
    edges = np.arange(0.0, horizon + bin_s, bin_s)
    if len(liq):
        sums, _ = np.histogram(
            liq["t"].to_numpy(dtype=np.float64),
            bins=edges,
            weights=liq["debt_repaid_usd"].to_numpy(dtype=np.float64),
        )
        ax.bar(
            edges[:-1] / 60.0,
            sums,
            width=bin_s / 60.0,
            align="edge",
            color="#de2d26",
            alpha=0.8,
            label=f"liquidated debt (USD per {bin_s:g} s)",
        )
    tx = ax.get_xaxis_transform()
    for frame, y, colour, name in (
        (result.oracle_updates, 0.97, "#31a354", "oracle updates"),
        (result.trades, 0.92, "#756bb1", "trades"),
    ):
        if len(frame):
            times = frame["t"].to_numpy(dtype=np.float64) / 60.0
            ax.plot(
                times,
                np.full(times.size, y),
                "|",
                color=colour,
                markersize=8,
                transform=tx,
                label=f"{name} ({times.size})",
            )
    shocks = result.log.frame(ShockApplied)
    shock_t = shocks["t"].to_numpy(dtype=np.float64) / 60.0
    shock_text = [f" {k} {t}" for k, t in zip(shocks["shock"], shocks["target"], strict=True)]
    for i, (minute, text) in enumerate(zip(shock_t, shock_text, strict=True)):
        ax.axvline(
            float(minute),
            color="#000000",
            linestyle="--",
            linewidth=1.0,
            label="shock" if i == 0 else None,
        )
        ax.text(
            float(minute),
            0.85,
            text,
            transform=tx,
            fontsize=7,
            rotation=90,
            va="top",
        )
    ax.set_xlim(0.0, horizon / 60.0)
    ax.set_xlabel("minutes")
    ax.set_ylabel("USD")
    ax.set_title(f"contagion timeline: {result.scenario.name} (seed {result.seed})")
    ax.legend(loc="upper right", fontsize=7, frameon=False)
    return ax


def plot_prices(
    result: RunResult,
    ax: Axes | None = None,
    *,
    assets: tuple[str, ...] | None = None,
    relative: bool = False,
    oracles: bool = True,
) -> Axes:
    """Plot sampled reference and venue prices and, as steps, the oracle answers.

    Parameters
    ----------
    result : RunResult
        A run.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if None.
    assets : tuple of str, optional
        Only these assets (all by default).
    relative : bool
        Divide each line by its first value (to compare assets of different prices).
    oracles : bool
        Also draw each oracle's answers.

    Returns
    -------
    matplotlib Axes
    """
    if ax is None:
        ax = _new_axes((12.0, 4.5))
    prices = result.prices
    if assets is not None:
        prices = prices[prices["asset"].isin(assets)]
    for (asset, venue), part in prices.groupby(["asset", "venue"], sort=True):
        y = part["price"].to_numpy(dtype=np.float64)
        if relative and y.size:
            y = y / y[0]
        style = "-" if venue == "reference" else ":"
        ax.plot(part["t"].to_numpy(dtype=np.float64) / 60.0, y, style, label=f"{asset} {venue}")
    if oracles:
        updates = result.oracle_updates
        if assets is not None and len(updates):
            updates = updates[updates["asset"].isin(assets)]
        for oracle, part in updates.groupby("oracle", sort=True) if len(updates) else ():
            t = np.concatenate([[0.0], part["t"].to_numpy(dtype=np.float64)])
            y = np.concatenate(
                [[float(part["previous"].iloc[0])], part["answer"].to_numpy(dtype=np.float64)]
            )
            t = np.append(t, result.scenario.horizon_s)
            y = np.append(y, y[-1])
            if relative:
                y = y / y[0]
            ax.step(t / 60.0, y, where="post", linewidth=1.5, label=f"oracle {oracle}")
    ax.set_xlabel("minutes")
    ax.set_ylabel("price / first price" if relative else "USD")
    ax.set_title(f"prices: {result.scenario.name}")
    ax.legend(loc="best", fontsize=7, frameon=False)
    return ax


__all__ = [
    "KIND_COLOURS",
    "draw_exposure",
    "exposure_html",
    "format_usd",
    "plot_contagion_timeline",
    "plot_prices",
    "save_exposure_png",
]
