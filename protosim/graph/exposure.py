"""`ExposureGraph`: who is exposed to what, in USD, at one moment of a run (mechanics §13).

The graph is a `networkx.MultiDiGraph` derived from a `Simulation`'s state; nothing in the
run reads it. Node ids are prefixed by kind, and every node has a ``kind`` attribute:

============  ========================  =====================================================
kind          id                        attributes
============  ========================  =====================================================
``group``     ``group:aave/ETH-USDC``   positions of one venue with one collateral and one
                                        debt asset: ``positions``, ``accounts``,
                                        ``collateral_usd``, ``debt_usd``, ``min_health``,
                                        ``median_health``
``account``   ``account:aave/123``      one account's positions on one venue (``accounts=
                                        "top:N"`` or ``"all"``): USD totals, ``health_factor``
``venue``     ``venue:aave``            ``venue_kind``, ``chain``, position counts and USD
                                        totals, ``params`` (the scenario entry as JSON)
``oracle``    ``oracle:eth-usd``        ``oracle_kind``, ``asset``, ``answer``,
                                        ``updated_at``, ``sources``, ``usd`` (USD it prices)
``market``    ``market:uniswap``        ``asset``, ``price``, ``impact``, ``liquidity_usd``
``asset``     ``asset:ETH``             ``price`` (reference), ``pegged_to``,
                                        ``underlying``, ``collateral_usd``, ``debt_usd``
``chain``     ``chain:ethereum``        ``block_time_s``, ``gas_asset``
============  ========================  =====================================================

Edges point from the dependent to what it depends on; each has ``relation`` and ``usd`` (its
weight at that moment) and a key naming both (``priced_by:ETH``):

=======================  =====================  ==============================================
relation                 from → to              ``usd``
=======================  =====================  ==============================================
``holds_collateral_in``  group/account → venue  collateral deposited (per collateral ``asset``)
``owes``                 group/account → venue  debt owed (per debt ``asset``)
``priced_by``            venue → oracle         USD of the ``asset`` the oracle prices there
                                                (``role``: ``primary`` or ``fallback``)
``lists``                venue → asset          collateral plus debt of the asset there
``observes``             oracle → market/asset  USD the oracle prices (to an asset: its
                                                reference price, ``via="reference"``)
``follows``              oracle → oracle        USD the follower prices
``trades``               market → asset         the market's liquidity (pool depth per side,
                                                or a book's daily volume)
``pegged_to``            asset → asset          USD of the asset held across venues
``underlying``           asset → asset          USD of the asset held across venues
``on_chain``             venue/oracle → chain   the venue's collateral, the oracle's USD
                                                (a sequencer feed ``observes`` its chain)
=======================  =====================  ==============================================

Attributes are ``str``, ``int`` or ``float`` only (never None or tuples), so GraphML and
node-link JSON read back an equal graph.

First-order queries (`ExposureGraph.blast_radius`, `rank_oracles`, `rank_assets`) stress the
live venues through `ExposureVenue.health_under` with shocked oracle answers: no liquidation,
no market impact, no keeper. They need the simulation the graph was built from, at the same
moment; the structural queries (`shared_collateral`, `paths`, `cycles`) work on any graph,
including one read back from a file.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import networkx as nx
import numpy as np
import pandas as pd

from protosim.interfaces import ExposureVenue

if TYPE_CHECKING:
    from protosim.context import SimContext
    from protosim.engine import Simulation
    from protosim.scenario import Scenario

NODE_KINDS: tuple[str, ...] = ("account", "group", "venue", "oracle", "market", "asset", "chain")
"""Node kinds, in the order plots lay them out (left to right)."""

RELATIONS: tuple[str, ...] = (
    "holds_collateral_in",
    "owes",
    "priced_by",
    "observes",
    "lists",
    "pegged_to",
    "underlying",
    "follows",
    "on_chain",
    "trades",
)
"""Edge relations."""

_PATH_RELATIONS = frozenset({"holds_collateral_in", "owes", "priced_by", "follows"})
_CYCLE_RELATIONS = frozenset(
    {"priced_by", "follows", "observes", "trades", "lists", "pegged_to", "underlying"}
)
_MIXED = "mixed"

Attr = str | int | float


def node_items(graph: nx.MultiDiGraph[str]) -> list[tuple[str, dict[str, Any]]]:
    """Return ``(node, attributes)`` for every node of `graph`, sorted by node id."""
    return sorted((str(n), graph.nodes[n]) for n in graph.nodes)


def edge_items(graph: nx.MultiDiGraph[str]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Return ``(source, target, key, attributes)`` for every edge of `graph`, sorted."""
    edges = cast(
        "Iterable[tuple[str, str, str, dict[str, Any]]]", graph.edges(keys=True, data=True)
    )
    return sorted(edges, key=lambda e: (e[0], e[1], str(e[2])))


# -- results --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class BlastRadius:
    """What crosses its liquidation line at first order if one oracle, asset or venue fails.

    Attributes
    ----------
    target : str
        ``oracle:ID``, ``asset:ID`` or ``venue:ID``.
    shock : float
        Relative move of the shocked oracle answers (-0.2: down 20%); 0 for a venue halt.
    positions : int
        Positions with health >= 1 now and < 1 after the shock (a venue halt: every position
        on the venue, none of which can be managed).
    accounts : int
        Distinct (venue, account) pairs among them (account ids are venue-local).
    debt_usd, collateral_usd : float
        Their debt and collateral now, in USD.
    oracles : tuple of str
        Oracle ids whose answers moved (the target and everything following it).
    by_venue : DataFrame
        One row per venue: ``venue``, ``positions``, ``accounts``, ``debt_usd``,
        ``collateral_usd``, ``positions_total``, ``debt_usd_total``, ``debt_share``.
    detail : DataFrame
        One row per position at risk: ``venue``, ``account``, ``collateral_asset``,
        ``debt_asset``, ``collateral_usd``, ``debt_usd``, ``health_before``, ``health_after``.
    oracle_moves : DataFrame
        ``oracle``, ``asset``, ``answer``, ``shocked_answer``.
    """

    target: str
    shock: float
    positions: int
    accounts: int
    debt_usd: float
    collateral_usd: float
    oracles: tuple[str, ...]
    by_venue: pd.DataFrame = field(repr=False)
    detail: pd.DataFrame = field(repr=False)
    oracle_moves: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the figures as JSON-ready dicts (the per-position detail left out)."""
        return {
            "target": self.target,
            "shock": self.shock,
            "positions": self.positions,
            "accounts": self.accounts,
            "debt_usd": self.debt_usd,
            "collateral_usd": self.collateral_usd,
            "oracles": list(self.oracles),
            "by_venue": _records(self.by_venue),
            "oracle_moves": _records(self.oracle_moves),
        }


_BY_VENUE_COLUMNS = [
    "venue",
    "positions",
    "accounts",
    "debt_usd",
    "collateral_usd",
    "positions_total",
    "debt_usd_total",
    "debt_share",
]
_DETAIL_COLUMNS = [
    "venue",
    "account",
    "collateral_asset",
    "debt_asset",
    "collateral_usd",
    "debt_usd",
    "health_before",
    "health_after",
]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _py(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _py(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


# -- the graph ------------------------------------------------------------------------------


class ExposureGraph:
    """A USD-weighted graph of positions, venues, oracles, markets, assets and chains.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        Nodes and edges as described in the module docstring.
    context : SimContext, optional
        The live simulation state the graph was built from; first-order queries need it.

    Examples
    --------
    >>> from protosim.testing import tiny_scenario
    >>> g = ExposureGraph.from_scenario(tiny_scenario(accounts=50))
    >>> sorted(g.nodes_of("oracle"))
    ['oracle:eth-usd', 'oracle:usdc-usd']
    >>> g.blast_radius(oracle="eth-usd", shock=-0.99).positions
    50
    """

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, graph: nx.MultiDiGraph[str], *, context: SimContext | None = None) -> None:
        self.graph = graph
        self._ctx = context

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_simulation(cls, sim: Simulation, *, accounts: str = "groups") -> ExposureGraph:
        """Return the exposure graph of `sim` at its current time.

        Parameters
        ----------
        sim : Simulation
            Before running (the scenario's starting state) or after ``sim.run_until(t)``.
        accounts : str
            ``"groups"`` (default): one node per (venue, collateral asset, debt asset);
            ``"top:N"``: the N positions with the most debt as account nodes and the rest in
            groups; ``"all"``: every account (small books only).
        """
        top = _parse_accounts(accounts)
        graph = _Builder(sim.context, top, accounts, sim.seed).build()
        return cls(graph, context=sim.context)

    @classmethod
    def from_scenario(
        cls, scenario: Scenario | str | Path, seed: int | None = None, *, accounts: str = "groups"
    ) -> ExposureGraph:
        """Return the exposure graph of `scenario`'s starting state (nothing is run).

        Parameters
        ----------
        scenario : Scenario, str or Path
            A scenario, or a TOML file, folder or fixture name.
        seed : int, optional
            Overrides the scenario's seed (it draws the synthetic populations).
        accounts : str
            As in `from_simulation`.
        """
        from protosim.catalog import resolve_scenario
        from protosim.engine import Simulation
        from protosim.scenario import Scenario

        if not isinstance(scenario, Scenario):
            scenario = Scenario.from_toml(resolve_scenario(str(scenario)))
        return cls.from_simulation(Simulation(scenario, seed=seed), accounts=accounts)

    # -- equality and summaries -------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExposureGraph):
            return NotImplemented
        a, b = self.graph, other.graph
        if dict(a.graph) != dict(b.graph) or dict(node_items(a)) != dict(node_items(b)):
            return False
        edges_a = {(u, v, k): d for u, v, k, d in edge_items(a)}
        edges_b = {(u, v, k): d for u, v, k, d in edge_items(b)}
        return edges_a == edges_b

    def __repr__(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.counts().items())
        return f"ExposureGraph(t={self.graph.graph.get('t', 0.0)}, {counts})"

    @property
    def t(self) -> float:
        """The simulated time of the state the graph shows."""
        return float(self.graph.graph.get("t", 0.0))

    def counts(self) -> dict[str, int]:
        """Return the number of nodes of each kind (kinds with none left out)."""
        out: dict[str, int] = {}
        for kind in NODE_KINDS:
            n = len(self.nodes_of(kind))
            if n:
                out[kind] = n
        return out

    def nodes_of(self, kind: str) -> list[str]:
        """Return the ids of the nodes of `kind`, sorted."""
        return [n for n, d in node_items(self.graph) if d.get("kind") == kind]

    def nodes_frame(self) -> pd.DataFrame:
        """Return one row per node: ``id``, ``kind`` and its attributes."""
        rows = [{"id": n, **d} for n, d in node_items(self.graph)]
        return pd.DataFrame(rows)

    def edges_frame(self) -> pd.DataFrame:
        """Return one row per edge: ``source``, ``target``, ``key``, ``relation``, ``usd``, …."""
        rows = [{"source": u, "target": v, "key": k, **d} for u, v, k, d in edge_items(self.graph)]
        return pd.DataFrame(rows)

    def relation_usd(self) -> pd.DataFrame:
        """Return the number of edges and their USD per relation."""
        acc: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for _, _, _, d in edge_items(self.graph):
            entry = acc[str(d["relation"])]
            entry[0] += 1
            entry[1] += float(d.get("usd", 0.0))
        rows = [
            {"relation": r, "edges": int(acc[r][0]), "usd": acc[r][1]}
            for r in RELATIONS
            if r in acc
        ]
        return pd.DataFrame(rows, columns=["relation", "edges", "usd"])

    # -- node ids -----------------------------------------------------------------------------

    def _node(self, value: str, kind: str) -> str:
        node = value if value.startswith(f"{kind}:") else f"{kind}:{value}"
        if node not in self.graph or self.graph.nodes[node].get("kind") != kind:
            valid = [n.split(":", 1)[1] for n in self.nodes_of(kind)]
            raise KeyError(f"unknown {kind} {value!r}; expected one of {valid}")
        return node

    def _any_node(self, value: str) -> str:
        if value in self.graph:
            return value
        raise KeyError(f"unknown node {value!r}; node ids look like 'group:aave/ETH-USDC'")

    # -- structural queries -------------------------------------------------------------------

    def followers(self, oracle: str) -> list[str]:
        """Return the ids of the oracles that follow `oracle`, directly or through others."""
        node = self._node(oracle, "oracle")
        follows = self._relation_view({"follows"})
        if node not in follows:
            return []
        return sorted(n.split(":", 1)[1] for n in nx.ancestors(follows, node))

    def oracles_reaching(self, asset: str, *, include_underlying: bool = False) -> list[str]:
        """Return the ids of the oracles whose answers move when `asset`'s market price moves.

        An oracle is reached when one of its sources is a market trading the asset or the
        asset's reference price, or when it follows a reached oracle. An oracle that prices the
        asset as a constant, or off another asset's feed (Aave's USDe off USDT/USD, mechanics
        §1.8), is not reached.

        Parameters
        ----------
        asset : str
            Asset id.
        include_underlying : bool
            Also move assets staked or bridged from `asset` (their ``underlying`` chain reaches
            it), as a secondary market would; the simulation's paths do not do this.
        """
        target = self._node(asset, "asset")
        assets = {target}
        if include_underlying:
            derived = self._relation_view({"underlying"})
            if target in derived:
                assets |= nx.ancestors(derived, target)
        direct: set[str] = set()
        g = self.graph
        trades: dict[str, set[str]] = defaultdict(set)
        for u, v, _, d in edge_items(g):
            if d["relation"] == "trades":
                trades[u].add(v)
        for u, v, _, d in edge_items(g):
            if d["relation"] != "observes":
                continue
            via_market = bool(trades[v] & assets)
            if v in assets or via_market:
                direct.add(u)
        reached = set(direct)
        for node in direct:
            reached.update(f"oracle:{f}" for f in self.followers(node))
        return sorted(n.split(":", 1)[1] for n in reached)

    def shared_collateral(self, asset: str) -> pd.DataFrame:
        """Return where `asset` is posted as collateral, per venue, largest first.

        Columns: ``venue``, ``collateral_usd``, ``positions``, ``share`` (of the asset's
        collateral across venues) and ``oracle``: the feed each venue prices it with, which is
        where the same asset gets different liquidation prices (mechanics §13).
        """
        node = self._node(asset, "asset")
        name = node.split(":", 1)[1]
        g = self.graph
        usd: dict[str, float] = defaultdict(float)
        positions: dict[str, int] = defaultdict(int)
        oracle_of: dict[str, str] = {}
        for u, v, k, d in edge_items(g):
            if k == f"priced_by:{name}":
                oracle_of[u] = v.split(":", 1)[1]
            if d["relation"] == "holds_collateral_in" and d.get("asset") == name:
                usd[v] += float(d["usd"])
                positions[v] += int(g.nodes[u].get("positions", 1))
        total = sum(usd.values())
        rows = [
            {
                "venue": venue.split(":", 1)[1],
                "collateral_usd": usd[venue],
                "positions": positions[venue],
                "share": usd[venue] / total if total > 0 else 0.0,
                "oracle": oracle_of.get(venue, ""),
            }
            for venue in sorted(usd, key=lambda v: (-usd[v], v))
        ]
        return pd.DataFrame(
            rows, columns=["venue", "collateral_usd", "positions", "share", "oracle"]
        )

    def paths(self, oracle: str, target: str, *, cutoff: int | None = None) -> list[list[str]]:
        """Return the dependency paths from `oracle` to `target`, oracle first.

        A path runs against the edges ``follows``, ``priced_by``, ``holds_collateral_in`` and
        ``owes``: oracle ← (followers) ← venue ← group or account.

        Parameters
        ----------
        oracle : str
            Oracle id (``eth-usd`` or ``oracle:eth-usd``).
        target : str
            A node id: ``group:aave/ETH-USDC``, ``account:aave/3`` or ``venue:aave``.
        cutoff : int, optional
            Longest path, in edges.
        """
        source = self._node(oracle, "oracle")
        end = self._any_node(target)
        view = nx.DiGraph(self._relation_view(_PATH_RELATIONS))
        if end not in view or source not in view:
            return []
        found = [list(reversed(p)) for p in nx.all_simple_paths(view, end, source, cutoff=cutoff)]
        return sorted(found, key=lambda p: (len(p), p))

    def cycles(self, *, length_bound: int | None = None) -> list[list[str]]:
        """Return the cycles of mutual exposure among venues, oracles, markets and assets.

        Cycles are found with `networkx.simple_cycles` on the projection of the graph onto
        those kinds (edges ``priced_by``, ``follows``, ``observes``, ``trades``, ``lists``,
        ``pegged_to`` and ``underlying``): two assets pegged to each other, oracles that follow
        each other. Each cycle starts at its smallest node id; the list is sorted.
        """
        view = nx.DiGraph(self._relation_view(_CYCLE_RELATIONS))
        out = []
        for cycle in nx.simple_cycles(view, length_bound=length_bound):
            i = cycle.index(min(cycle))
            out.append(cycle[i:] + cycle[:i])
        return sorted(out, key=lambda c: (len(c), c))

    def _relation_view(self, relations: Iterable[str]) -> nx.MultiDiGraph[str]:
        wanted = frozenset(relations)
        view: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        for u, v, k, d in edge_items(self.graph):
            if d["relation"] in wanted:
                view.add_edge(u, v, key=k)
        return view

    # -- first-order queries ------------------------------------------------------------------

    def blast_radius(
        self,
        *,
        oracle: str | None = None,
        asset: str | None = None,
        venue: str | None = None,
        shock: float = -0.2,
        include_underlying: bool = False,
    ) -> BlastRadius:
        """Return what crosses its liquidation line at first order when one thing fails.

        Exactly one target:

        - ``oracle``: its answer times ``1 + shock``, and every oracle following it;
        - ``asset``: a depeg of the asset's market price by `shock`, moving every oracle that
          `oracles_reaching` finds, by the same factor;
        - ``venue``: a halt; every position on it is exposed (nothing there can be managed).

        Each venue's `ExposureVenue.health_under` is evaluated with the shocked answers of the
        oracles it reads first (fallbacks are not used); a position counts when its health is
        >= 1 now and < 1 after. No liquidation, market impact or keeper is modelled.

        Parameters
        ----------
        oracle, asset, venue : str, optional
            The target's id, with or without its ``kind:`` prefix.
        shock : float
            Relative move of the answers, > -1.
        include_underlying : bool
            For an asset, also move assets staked or bridged from it (see `oracles_reaching`).

        Raises
        ------
        KeyError
            Naming the valid ids when the target is unknown.
        RuntimeError
            When the graph has no live simulation (read from a file) or the simulation has
            moved on since the graph was built.
        """
        given = [(k, v) for k, v in (("oracle", oracle), ("asset", asset), ("venue", venue)) if v]
        if len(given) != 1:
            raise ValueError("expected exactly one of oracle, asset or venue")
        if not shock > -1:
            raise ValueError(f"expected shock > -1, was {shock}")
        kind, value = given[0]
        node = self._node(value, kind)
        name = node.split(":", 1)[1]
        ctx = self._live()
        if kind == "venue":
            return self._halt(ctx, node, name)
        if kind == "oracle":
            moved = [name, *self.followers(name)]
        else:
            moved = self.oracles_reaching(name, include_underlying=include_underlying)
        return self._first_order(ctx, node, shock, dict.fromkeys(moved, 1.0 + shock))

    def rank_oracles(self, shock: float = -0.2) -> pd.DataFrame:
        """Return every oracle's first-order blast radius at `shock`, most debt at risk first.

        Columns: ``oracle``, ``asset``, ``oracle_kind``, ``oracles_moved``, ``positions``,
        ``accounts``, ``debt_usd``, ``collateral_usd``.
        """
        rows = []
        for node in self.nodes_of("oracle"):
            data = self.graph.nodes[node]
            br = self.blast_radius(oracle=node, shock=shock)
            rows.append(
                {
                    "oracle": node.split(":", 1)[1],
                    "asset": data.get("asset", ""),
                    "oracle_kind": data.get("oracle_kind", ""),
                    "oracles_moved": len(br.oracles),
                    "positions": br.positions,
                    "accounts": br.accounts,
                    "debt_usd": br.debt_usd,
                    "collateral_usd": br.collateral_usd,
                }
            )
        return _ranked(rows, "oracle")

    def rank_assets(self, shock: float = -0.2, *, include_underlying: bool = False) -> pd.DataFrame:
        """Return every asset's first-order depeg blast radius at `shock`, most debt first.

        Columns: ``asset``, ``oracles_moved``, ``positions``, ``accounts``, ``debt_usd``,
        ``collateral_usd``.
        """
        rows = []
        for node in self.nodes_of("asset"):
            if self.graph.nodes[node].get("numeraire"):
                continue
            br = self.blast_radius(asset=node, shock=shock, include_underlying=include_underlying)
            rows.append(
                {
                    "asset": node.split(":", 1)[1],
                    "oracles_moved": len(br.oracles),
                    "positions": br.positions,
                    "accounts": br.accounts,
                    "debt_usd": br.debt_usd,
                    "collateral_usd": br.collateral_usd,
                }
            )
        return _ranked(rows, "asset")

    def _live(self) -> SimContext:
        ctx = self._ctx
        if ctx is None:
            raise RuntimeError(
                "first-order queries need the live simulation; this graph was read from a file "
                "(build it with ExposureGraph.from_simulation or from_scenario)"
            )
        if ctx.clock.now != self.t:
            raise RuntimeError(
                f"the simulation is at t = {ctx.clock.now}, the graph shows t = {self.t}; "
                "build a new graph with ExposureGraph.from_simulation"
            )
        return ctx

    def _first_order(
        self, ctx: SimContext, node: str, shock: float, factors: Mapping[str, float]
    ) -> BlastRadius:
        moves: list[dict[str, Any]] = []
        shocked: dict[str, float] = {}
        for oracle_id in sorted(factors):
            feed = ctx.oracle(oracle_id)
            answer = feed.read().price
            shocked[oracle_id] = answer * factors[oracle_id]
            moves.append(
                {
                    "oracle": oracle_id,
                    "asset": feed.asset,
                    "answer": answer,
                    "shocked_answer": shocked[oracle_id],
                }
            )
        rows, details = [], []
        for venue_id, venue in _exposure_venues(ctx):
            frame = venue.positions_frame()
            prices = {
                a: shocked[ids[0]]
                for a, ids in venue.priced_by().items()
                if ids and ids[0] in shocked
            }
            if prices and len(frame):
                before = frame["health_factor"].to_numpy(dtype=np.float64)
                after = np.asarray(venue.health_under(prices), dtype=np.float64)
                hit = (before >= 1.0) & (after < 1.0)
            else:
                before = after = np.empty(0)
                hit = np.zeros(len(frame), dtype=np.bool_)
            rows.append(_venue_row(venue_id, frame, hit))
            if hit.any():
                details.append(_detail(frame[hit], before[hit], after[hit]))
        return _blast(node, shock, tuple(sorted(factors)), rows, details, moves)

    def _halt(self, ctx: SimContext, node: str, name: str) -> BlastRadius:
        rows, details = [], []
        for venue_id, venue in _exposure_venues(ctx):
            frame = venue.positions_frame()
            halted = venue_id == name
            hit = np.full(len(frame), halted, dtype=np.bool_)
            rows.append(_venue_row(venue_id, frame, hit))
            if halted and len(frame):
                hf = frame["health_factor"].to_numpy(dtype=np.float64)
                details.append(_detail(frame, hf, hf))
        return _blast(node, 0.0, (), rows, details, [])

    # -- exports ------------------------------------------------------------------------------

    def to_graphml(self, path: str | Path) -> Path:
        """Write the graph as GraphML and return the path."""
        target = Path(path)
        nx.write_graphml(self.graph, target)
        return target

    @classmethod
    def from_graphml(cls, path: str | Path) -> ExposureGraph:
        """Read a graph written by `to_graphml` (structural queries only)."""
        read = nx.read_graphml(Path(path), force_multigraph=True, edge_key_type=str)
        graph: nx.MultiDiGraph[str] = nx.MultiDiGraph(read)
        for extra in ("node_default", "edge_default"):
            graph.graph.pop(extra, None)
        return cls(graph)

    def to_json(self, path: str | Path) -> Path:
        """Write the graph as node-link JSON (sorted keys) and return the path."""
        target = Path(path)
        data = nx.node_link_data(self.graph, edges="edges")
        target.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return target

    @classmethod
    def from_json(cls, path: str | Path) -> ExposureGraph:
        """Read a graph written by `to_json` (structural queries only)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        read = nx.node_link_graph(data, directed=True, multigraph=True, edges="edges")
        graph: nx.MultiDiGraph[str] = nx.MultiDiGraph(read)
        return cls(graph)

    def to_html(self, path: str | Path, *, height: str = "800px") -> Path:
        """Write an interactive view (pyvis): nodes coloured by kind, USD on edges, and the
        attributes of each node and edge on hover. Needs the ``plot`` extra.
        """
        from protosim.plot import exposure_html

        target = Path(path)
        target.write_text(exposure_html(self.graph, height=height), encoding="utf-8")
        return target

    def to_png(self, path: str | Path, *, dpi: int = 120) -> Path:
        """Draw the graph with `protosim.plot.draw_exposure` into a PNG file."""
        from protosim.plot import save_exposure_png

        return save_exposure_png(self.graph, Path(path), dpi=dpi)


# -- first-order helpers --------------------------------------------------------------------


def _exposure_venues(ctx: SimContext) -> list[tuple[str, ExposureVenue]]:
    return [(vid, v) for vid, v in ctx.venues.items() if isinstance(v, ExposureVenue)]


def _venue_row(venue_id: str, frame: pd.DataFrame, hit: np.ndarray[Any, Any]) -> dict[str, Any]:
    n = len(frame)
    debt_total = float(frame["debt_usd"].sum()) if n else 0.0
    sel = frame[hit] if n else frame
    debt = float(sel["debt_usd"].sum()) if len(sel) else 0.0
    return {
        "venue": venue_id,
        "positions": len(sel),
        "accounts": int(sel["account"].nunique()) if len(sel) else 0,
        "debt_usd": debt,
        "collateral_usd": float(sel["collateral_usd"].sum()) if len(sel) else 0.0,
        "positions_total": n,
        "debt_usd_total": debt_total,
        "debt_share": debt / debt_total if debt_total > 0 else 0.0,
    }


def _detail(
    frame: pd.DataFrame, before: np.ndarray[Any, Any], after: np.ndarray[Any, Any]
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "venue": frame["venue"].to_numpy(),
            "account": frame["account"].to_numpy(),
            "collateral_asset": _column(frame, "collateral_asset"),
            "debt_asset": _column(frame, "debt_asset"),
            "collateral_usd": frame["collateral_usd"].to_numpy(dtype=np.float64),
            "debt_usd": frame["debt_usd"].to_numpy(dtype=np.float64),
            "health_before": before,
            "health_after": after,
        }
    )


def _column(frame: pd.DataFrame, name: str) -> np.ndarray[Any, Any]:
    if name in frame.columns:
        return frame[name].astype(str).to_numpy()
    return np.full(len(frame), _MIXED, dtype=object)


def _blast(
    node: str,
    shock: float,
    oracles: tuple[str, ...],
    rows: list[dict[str, Any]],
    details: list[pd.DataFrame],
    moves: list[dict[str, Any]],
) -> BlastRadius:
    by_venue = pd.DataFrame(rows, columns=_BY_VENUE_COLUMNS)
    detail = (
        pd.concat(details, ignore_index=True) if details else pd.DataFrame(columns=_DETAIL_COLUMNS)
    )
    return BlastRadius(
        target=node,
        shock=shock,
        positions=int(by_venue["positions"].sum()),
        accounts=int(by_venue["accounts"].sum()),
        debt_usd=float(by_venue["debt_usd"].sum()),
        collateral_usd=float(by_venue["collateral_usd"].sum()),
        oracles=oracles,
        by_venue=by_venue,
        detail=detail,
        oracle_moves=pd.DataFrame(moves, columns=["oracle", "asset", "answer", "shocked_answer"]),
    )


def _ranked(rows: list[dict[str, Any]], key: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values(["debt_usd", key], ascending=[False, True], ignore_index=True)


# -- building -------------------------------------------------------------------------------


def _parse_accounts(accounts: str) -> int | None:
    """Return None for groups, -1 for all, N for top:N."""
    if accounts == "groups":
        return None
    if accounts == "all":
        return -1
    head, sep, count = accounts.partition(":")
    if head == "top" and sep and count.isdigit() and int(count) > 0:
        return int(count)
    raise ValueError(f"expected accounts 'groups', 'all' or 'top:N' (N > 0), was {accounts!r}")


def _attr(value: Any) -> Attr | None:
    """Return `value` as str, int or float (None to leave the attribute out)."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _clean(attrs: Mapping[str, Any]) -> dict[str, Attr]:
    out: dict[str, Attr] = {}
    for key, value in attrs.items():
        converted = _attr(value)
        if converted is not None:
            out[key] = converted
    return out


class _Builder:
    def __init__(self, ctx: SimContext, top: int | None, accounts: str, seed: int) -> None:
        self.ctx = ctx
        self.top = top
        self.accounts = accounts
        self.seed = seed
        self.g: nx.MultiDiGraph[str] = nx.MultiDiGraph()

    def node(self, node: str, kind: str, **attrs: Any) -> None:
        label = node.split(":", 1)[1]
        self.g.add_node(node, **_clean({"kind": kind, "label": label, **attrs}))

    def edge(self, u: str, v: str, relation: str, usd: float, key: str = "", **attrs: Any) -> None:
        self.g.add_edge(
            u, v, key=key or relation, **_clean({"relation": relation, "usd": float(usd), **attrs})
        )

    def build(self) -> nx.MultiDiGraph[str]:
        ctx = self.ctx
        scenario = ctx.scenario
        self.g.graph.update(
            _clean(
                {
                    "scenario": scenario.name,
                    "scenario_id": scenario.id,
                    "seed": self.seed,
                    "t": float(ctx.clock.now),
                    "accounts": self.accounts,
                }
            )
        )
        frames = {vid: v.positions_frame() for vid, v in _exposure_venues(ctx)}
        usage = _asset_usage(frames)
        self._chains()
        self._assets(usage)
        self._markets()
        oracle_usd = self._oracle_usd(frames)
        self._oracles(oracle_usd)
        self._venues(frames)
        self._holders(frames)
        return self.g

    def _chains(self) -> None:
        for spec in self.ctx.scenario.chains:
            self.node(
                f"chain:{spec.id}",
                "chain",
                block_time_s=spec.block_time_s,
                gas_asset=spec.gas_asset,
                base_fee_gwei=spec.base_fee_gwei,
            )

    def _assets(self, usage: Mapping[str, tuple[float, float]]) -> None:
        market = self.ctx.market
        specs = self.ctx.scenario.assets
        for spec in specs:
            coll, debt = usage.get(spec.id, (0.0, 0.0))
            self.node(
                f"asset:{spec.id}",
                "asset",
                price=market.reference_price(spec.id),
                decimals=spec.decimals,
                pegged_to=spec.pegged_to,
                underlying=spec.underlying,
                collateral_usd=coll,
                debt_usd=debt,
            )
        for spec in specs:
            held = sum(usage.get(spec.id, (0.0, 0.0)))
            for relation in ("pegged_to", "underlying"):
                target = getattr(spec, relation)
                if target is None:
                    continue
                if f"asset:{target}" not in self.g:
                    self.node(f"asset:{target}", "asset", price=1.0, numeraire=1)
                self.edge(f"asset:{spec.id}", f"asset:{target}", relation, held)

    def _markets(self) -> None:
        market = self.ctx.market
        for spec in self.ctx.scenario.markets:
            impact = spec.impact
            liquidity = _liquidity_usd(impact)
            node = f"market:{spec.id}"
            self.node(
                node,
                "market",
                asset=spec.asset,
                price=market.price(spec.asset, spec.id),
                impact=impact.kind,
                liquidity_usd=liquidity,
                fee_bps=impact.fee_bps,
            )
            self.edge(node, f"asset:{spec.asset}", "trades", liquidity)

    def _oracle_usd(self, frames: Mapping[str, pd.DataFrame]) -> dict[str, float]:
        """USD each oracle prices directly (as a primary source), plus what its followers do."""
        direct: dict[str, float] = defaultdict(float)
        for vid, venue in _exposure_venues(self.ctx):
            per_asset = _venue_asset_usd(frames[vid])
            for asset, ids in venue.priced_by().items():
                if ids:
                    direct[ids[0]] += sum(per_asset.get(asset, (0.0, 0.0)))
        follows: nx.DiGraph[str] = nx.DiGraph()
        for oid, oracle in self.ctx.oracles.items():
            follows.add_node(oid)
            for kind, value in oracle.sources():
                if kind == "oracle":
                    follows.add_edge(oid, value)
        return {
            oid: direct.get(oid, 0.0)
            + sum(direct.get(f, 0.0) for f in nx.ancestors(follows, oid) if f in self.ctx.oracles)
            for oid in self.ctx.oracles
        }

    def _oracles(self, usd: Mapping[str, float]) -> None:
        specs = {s.id: s for s in self.ctx.scenario.oracles}
        for oid, oracle in self.ctx.oracles.items():
            spec = specs.get(oid)
            reading = oracle.read()
            sources = oracle.sources()
            constant = next((v for k, v in sources if k == "constant"), None)
            chain = spec.params.get("chain") if spec is not None else None
            self.node(
                f"oracle:{oid}",
                "oracle",
                oracle_kind=spec.kind if spec is not None else type(oracle).__name__,
                asset=oracle.asset,
                answer=reading.price,
                updated_at=reading.updated_at,
                round_id=reading.round_id,
                state=getattr(oracle, "state", None),
                sources=";".join(f"{k}:{v}" for k, v in sources),
                constant=_float_or_str(constant) if constant is not None else None,
                chain=chain,
                usd=usd.get(oid, 0.0),
                params=json.dumps(spec.params, sort_keys=True, default=str) if spec else None,
            )
        for oid, oracle in self.ctx.oracles.items():
            node = f"oracle:{oid}"
            value = usd.get(oid, 0.0)
            for kind, source in oracle.sources():
                if kind == "market" and f"market:{source}" in self.g:
                    self.edge(node, f"market:{source}", "observes", value, key=f"observes:{source}")
                elif kind == "reference" and f"asset:{source}" in self.g:
                    self.edge(
                        node,
                        f"asset:{source}",
                        "observes",
                        value,
                        key=f"observes:{source}",
                        via="reference",
                    )
                elif kind == "oracle" and source in self.ctx.oracles:
                    self.edge(node, f"oracle:{source}", "follows", value)
                elif kind == "chain" and f"chain:{source}" in self.g:
                    # A sequencer uptime feed reads the chain itself, not a price.
                    self.edge(
                        node,
                        f"chain:{source}",
                        "observes",
                        value,
                        key=f"observes:{source}",
                        via="chain",
                    )
            chain = specs[oid].params.get("chain") if oid in specs else None
            if (
                isinstance(chain, str)
                and f"chain:{chain}" in self.g
                and not self.g.has_edge(node, f"chain:{chain}", "on_chain")
            ):
                self.edge(node, f"chain:{chain}", "on_chain", value)

    def _venues(self, frames: Mapping[str, pd.DataFrame]) -> None:
        specs = {s.id: s for s in self.ctx.scenario.venues}
        for vid, venue in self.ctx.venues.items():
            spec = specs.get(vid)
            node = f"venue:{vid}"
            frame = frames.get(vid)
            attrs: dict[str, Any] = {
                "venue_kind": spec.kind if spec is not None else type(venue).__name__,
                "params": json.dumps(spec.params, sort_keys=True, default=str) if spec else None,
            }
            if frame is None or not isinstance(venue, ExposureVenue):
                self.node(node, "venue", **attrs)
                continue
            n = len(frame)
            attrs.update(
                chain=venue.chain_id,
                positions=n,
                accounts=int(frame["account"].nunique()) if n else 0,
                collateral_usd=float(frame["collateral_usd"].sum()) if n else 0.0,
                debt_usd=float(frame["debt_usd"].sum()) if n else 0.0,
                min_health=float(frame["health_factor"].min()) if n else math.inf,
            )
            self.node(node, "venue", **attrs)
            per_asset = _venue_asset_usd(frame)
            for asset, ids in sorted(venue.priced_by().items()):
                coll, debt = per_asset.get(asset, (0.0, 0.0))
                if f"asset:{asset}" in self.g:
                    self.edge(
                        node,
                        f"asset:{asset}",
                        "lists",
                        coll + debt,
                        key=f"lists:{asset}",
                        asset=asset,
                        collateral_usd=coll,
                        debt_usd=debt,
                    )
                for i, oid in enumerate(ids):
                    if f"oracle:{oid}" not in self.g:
                        continue
                    role = "primary" if i == 0 else "fallback"
                    key = f"priced_by:{asset}" if i == 0 else f"priced_by:{asset}:fallback"
                    self.edge(
                        node,
                        f"oracle:{oid}",
                        "priced_by",
                        coll + debt,
                        key=key,
                        asset=asset,
                        role=role,
                    )
            chain = venue.chain_id
            if chain is not None and f"chain:{chain}" in self.g:
                self.edge(node, f"chain:{chain}", "on_chain", attrs["collateral_usd"])

    def _holders(self, frames: Mapping[str, pd.DataFrame]) -> None:
        parts = [_normalised(f) for f in frames.values() if len(f)]
        if not parts:
            return
        df = pd.concat(parts, ignore_index=True)
        if self.top == -1:
            single, rest = df, df.iloc[:0]
        elif self.top is not None:
            picked = df["debt_usd"].nlargest(self.top, keep="first").index
            single, rest = df.loc[picked], df.drop(index=picked)
        else:
            single, rest = df.iloc[:0], df
        self._groups(rest)
        self._accounts(single)

    def _groups(self, df: pd.DataFrame) -> None:
        if df.empty:
            return
        keys = ["venue", "collateral_asset", "debt_asset"]
        grouped = df.groupby(keys, sort=True).agg(
            positions=("account", "size"),
            accounts=("account", "nunique"),
            collateral_usd=("collateral_usd", "sum"),
            debt_usd=("debt_usd", "sum"),
            min_health=("health_factor", "min"),
            median_health=("health_factor", "median"),
        )
        for key, row in grouped.iterrows():
            venue, coll, debt = cast("tuple[str, str, str]", key)
            node = f"group:{venue}/{coll}-{debt}"
            self.node(
                node,
                "group",
                venue=venue,
                collateral_asset=coll,
                debt_asset=debt,
                positions=int(row["positions"]),
                accounts=int(row["accounts"]),
                collateral_usd=float(row["collateral_usd"]),
                debt_usd=float(row["debt_usd"]),
                min_health=float(row["min_health"]),
                median_health=float(row["median_health"]),
            )
            self._holder_edges(node, f"venue:{venue}", coll, debt, row)

    def _accounts(self, df: pd.DataFrame) -> None:
        if df.empty:
            return
        per_account = df.groupby(["venue", "account_id"], sort=True).agg(
            positions=("account", "size"),
            collateral_usd=("collateral_usd", "sum"),
            debt_usd=("debt_usd", "sum"),
            health_factor=("health_factor", "min"),
        )
        for key, row in per_account.iterrows():
            venue, account = cast("tuple[str, str]", key)
            self.node(
                f"account:{venue}/{account}",
                "account",
                venue=venue,
                account=account,
                positions=int(row["positions"]),
                collateral_usd=float(row["collateral_usd"]),
                debt_usd=float(row["debt_usd"]),
                health_factor=float(row["health_factor"]),
            )
        sums = df.groupby(["venue", "account_id", "collateral_asset", "debt_asset"], sort=True)[
            ["collateral_usd", "debt_usd"]
        ].sum()
        for key, row in sums.iterrows():
            venue, account, coll, debt = cast("tuple[str, str, str, str]", key)
            node = f"account:{venue}/{account}"
            self._holder_edges(node, f"venue:{venue}", coll, debt, row)

    def _holder_edges(
        self, node: str, venue: str, coll: str, debt: str, row: pd.Series[Any]
    ) -> None:
        key_c, key_d = f"holds_collateral_in:{coll}", f"owes:{debt}"
        for key, relation, asset, usd in (
            (key_c, "holds_collateral_in", coll, float(row["collateral_usd"])),
            (key_d, "owes", debt, float(row["debt_usd"])),
        ):
            if self.g.has_edge(node, venue, key):
                self.g.edges[node, venue, key]["usd"] += usd
            else:
                self.edge(node, venue, relation, usd, key=key, asset=asset)


def _float_or_str(value: str) -> Attr:
    try:
        return float(value)
    except ValueError:
        return value


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    n = len(frame)
    return pd.DataFrame(
        {
            "venue": frame["venue"].astype(str).to_numpy(),
            "account": frame["account"].to_numpy(),
            "account_id": frame["account"].astype(str).to_numpy(),
            "collateral_asset": _column(frame, "collateral_asset"),
            "debt_asset": _column(frame, "debt_asset"),
            "collateral_usd": frame["collateral_usd"].to_numpy(dtype=np.float64),
            "debt_usd": frame["debt_usd"].to_numpy(dtype=np.float64),
            "health_factor": frame["health_factor"].to_numpy(dtype=np.float64),
        },
        index=pd.RangeIndex(n),
    )


def _venue_asset_usd(frame: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Collateral and debt USD per asset on one venue."""
    out: dict[str, tuple[float, float]] = {}
    if frame.empty or "collateral_asset" not in frame.columns:
        return out
    coll = frame.groupby("collateral_asset")["collateral_usd"].sum()
    debt = frame.groupby("debt_asset")["debt_usd"].sum()
    for asset in sorted(set(coll.index) | set(debt.index)):
        out[str(asset)] = (float(coll.get(asset, 0.0)), float(debt.get(asset, 0.0)))
    return out


def _asset_usage(frames: Mapping[str, pd.DataFrame]) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for frame in frames.values():
        for asset, (coll, debt) in _venue_asset_usd(frame).items():
            c0, d0 = out.get(asset, (0.0, 0.0))
            out[asset] = (c0 + coll, d0 + debt)
    return out


__all__ = ["NODE_KINDS", "RELATIONS", "BlastRadius", "ExposureGraph", "edge_items", "node_items"]


def _liquidity_usd(impact: Any) -> float:
    # The USD figure that best stands for a venue's liquidity: pool depth, or daily volume.
    if impact.kind == "square_root":
        return float(impact.daily_volume_usd)
    if impact.kind == "concentrated" and impact.ranges is not None:
        return float(sum(usd for _, _, usd in impact.ranges))
    return float(impact.depth_usd)
