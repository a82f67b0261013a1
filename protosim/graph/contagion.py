"""`ContagionGraph`: the causal DAG of a run's events, and what it says about contagion.

Every event names the events that caused it (``cause .. cause + cause_span - 1``, or ``ROOT``),
so a run's event log is a directed acyclic graph: from the roots (scheduled shocks, moves of
the exogenous price path) through oracle updates, liquidations and the market impact of the
keepers' sales, to later liquidations on the same or other venues. This module builds that
graph from the log's columns and answers, with vectorized numpy work over parent arrays (no
Python object per event):

- which root caused how much of each venue's liquidated debt and bad debt (`attribution`);
- how much of each venue's liquidations came from forced selling on *other* venues
  (`cross_venue_attribution`);
- the longest and the costliest chains of causes (`longest_path`, `costliest_path`);
- how many hops and venue changes separate an event from its root (`hops`, `venue_hops`).

Sequence numbers are a topological order (a cause always precedes its effect); the work is
done level by level over the DAG's topological generations, so its cost is linear in the
number of edges plus a small constant per generation.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from protosim.events import (
    BadDebtRealized,
    LiquidationExecuted,
    OracleUpdated,
    ShockApplied,
)

if TYPE_CHECKING:
    import pandas as pd

    from protosim.eventlog import EventLog
    from protosim.results import RunResult

Measure = Literal["liquidated_usd", "bad_debt_usd"]
"""What is attributed: debt repaid by liquidations, or bad debt realized (both in USD)."""
PathMeasure = Literal["loss_usd", "liquidated_usd", "bad_debt_usd"]
"""What a costliest path maximises; ``loss_usd`` is liquidated debt plus bad debt."""

MARKET_MOVE = "market move"
DEPEG = "depeg"
ORACLE_FAILURE = "oracle failure"
FORCED_SELLING = "forced selling / manipulation"
CHAIN = "chain"
PATH_MOVE = "market move (path)"
OTHER = "other"
NO_SOURCE = "(none)"
"""`cross_venue_attribution`'s source for liquidations with no other venue's liquidation
upstream (caused by a root directly, or by liquidations on the same venue only)."""

SHOCK_CATEGORIES: dict[str, str] = {
    "price_jump": MARKET_MOVE,
    "depeg": DEPEG,
    "oracle_outage": ORACLE_FAILURE,
    "oracle_frozen": ORACLE_FAILURE,
    "oracle_bad_print": ORACLE_FAILURE,
    "oracle_delay": ORACLE_FAILURE,
    "market_trade": FORCED_SELLING,
    "chain_congestion": CHAIN,
    "sequencer_outage": CHAIN,
}
"""Category of a root `ShockApplied` by its ``shock`` field (unlisted shocks: ``other``)."""

NODE_FIELDS = frozenset(
    {
        "shock",
        "target",
        "size",
        "venue",
        "asset",
        "trader",
        "quantity",
        "notional_usd",
        "price_after",
        "oracle",
        "answer",
        "reason",
        "state",
        "chain",
        "count",
        "debt_usd",
        "account",
        "liquidator",
        "keeper",
        "collateral_asset",
        "debt_asset",
        "debt_repaid_usd",
        "collateral_seized_usd",
        "amount_usd",
        "treatment",
        "condition",
        "action",
    }
)
"""Event fields copied onto the nodes of `ContagionGraph.graph` (besides kind, t, block)."""

# Field naming where an event happened, in order of preference, for `collapsed`.
_PLACE_FIELDS = ("venue", "oracle", "chain", "target")
# Field giving an event's USD size, by kind name, for `collapsed`.
_USD_FIELDS = {
    "LiquidationExecuted": "debt_repaid_usd",
    "BadDebtRealized": "amount_usd",
    "TradeExecuted": "notional_usd",
    "PositionsBecameLiquidatable": "debt_usd",
    "LiquidationsDeclined": "debt_usd",
}

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


class ContagionGraph:
    """Causal DAG of one run's events, with attribution of losses to root causes.

    Nodes are events (node id = ``seq``); an edge ``c → e`` says event ``c`` is one of the
    causes of event ``e``. The cause relation is kept as numpy arrays (`cause`, `span`, the
    edge arrays) so every analysis is vectorized; the networkx view `graph` is built only when
    first asked for.

    Parameters
    ----------
    log : EventLog
        The run's event log.

    Attributes
    ----------
    cause : ndarray of int64
        First cause of each event by ``seq``; ``-1`` for a root.
    span : ndarray of int64
        Number of causes of each event (``cause .. cause + span - 1``); 0 for a root.
    kind : ndarray of int64
        Index into `kind_names` of each event.
    kind_names : list of str
        Event class names.
    venue : ndarray of int64
        Index into `venue_names` of each event's ``venue`` field; ``-1`` if it has none.
    venue_names : list of str
        Venue ids (lending venues and trading venues alike).
    liquidated_usd : ndarray of float64
        Debt repaid (USD) of each `LiquidationExecuted`, 0 for other events.
    bad_debt_usd : ndarray of float64
        Bad debt (USD) of each `BadDebtRealized`, 0 for other events.
    edge_parent, edge_child : ndarray of int64
        The DAG's edges, one per (cause, effect) pair, in order of the effect.
    depth : ndarray of int64
        Topological generation of each event: the number of edges of the longest chain of
        causes from a root to it (0 for a root).

    Notes
    -----
    Attribution rule: an event's amount is split equally among the events in its cause
    range, and each cause passes on what it received in the same way, down to the roots. An
    effect with one cause passes on all of it; a keeper's sale that names a batch of ``n``
    liquidations charges each ``1/n`` of whatever the sale later caused. Each venue's
    amounts at the roots therefore add up to its total.

    Examples
    --------
    A shock moves the oracle; the new answer liquidates two positions on one venue:

    >>> from protosim.eventlog import EventLog
    >>> from protosim.events import LiquidationExecuted, OracleUpdated, ShockApplied
    >>> log = EventLog(now=lambda: 0.0, block=lambda: 0)
    >>> shock = log.emit(ShockApplied, shock="price_jump", target="ETH", size=-0.2,
    ...                  duration_s=0.0)
    >>> update = log.emit(OracleUpdated, cause=shock, oracle="eth-usd", asset="ETH",
    ...                   answer=1600.0, previous=2000.0, round_id=2, observed_at=0.0,
    ...                   reason="deviation")
    >>> _ = log.emit_batch(LiquidationExecuted, 2, cause=update, venue="aave",
    ...                    account=[1, 2], liquidator="k", collateral_asset="ETH",
    ...                    debt_asset="USDC", debt_repaid=[100.0, 50.0],
    ...                    collateral_seized=[0.07, 0.03], protocol_fee=0.0,
    ...                    debt_repaid_usd=[100.0, 50.0], collateral_seized_usd=[105.0, 52.5],
    ...                    health_before=0.9)
    >>> g = ContagionGraph.from_log(log)
    >>> g.attribution()[["category", "liquidated_usd", "share"]]  # doctest: +NORMALIZE_WHITESPACE
                   category  liquidated_usd  share
    venue root
    aave  0     market move           150.0    1.0
    >>> g.longest_path(), g.hops(3)
    ([0, 1, 2], 2)
    """

    def __init__(self, log: EventLog) -> None:
        self.log = log
        n = len(log)
        self.cause: IntArray = np.full(n, -1, dtype=np.int64)
        self.span: IntArray = np.zeros(n, dtype=np.int64)
        self.kind: IntArray = np.zeros(n, dtype=np.int64)
        self.kind_names: list[str] = [k.__name__ for k in log.kinds]
        self.venue: IntArray = np.full(n, -1, dtype=np.int64)
        self.venue_names: list[str] = []
        self._place: IntArray = np.full(n, -1, dtype=np.int64)
        self._place_names: list[str] = []
        self._usd: FloatArray = np.zeros(n, dtype=np.float64)
        self.liquidated_usd: FloatArray = np.zeros(n, dtype=np.float64)
        self.bad_debt_usd: FloatArray = np.zeros(n, dtype=np.float64)
        self._read_columns()
        self.edge_parent, self.edge_child = _edges(self.cause, self.span)
        self.depth = self._generations()
        self._graph: nx.DiGraph[int] | None = None
        self._chains: tuple[IntArray, IntArray, IntArray] | None = None

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_log(cls, log: EventLog) -> ContagionGraph:
        """Build the contagion graph of an event log."""
        return cls(log)

    @classmethod
    def from_result(cls, result: RunResult) -> ContagionGraph:
        """Build the contagion graph of a run from its event log."""
        return cls(result.log)

    def _read_columns(self) -> None:
        log = self.log
        venue_index: dict[str, int] = {}
        place_index: dict[str, int] = {}
        for code, kind in enumerate(log.kinds):
            fields = {f.name for f in dataclasses.fields(kind)}
            seqs = log.column(kind, "seq")
            self.kind[seqs] = code
            self.cause[seqs] = log.column(kind, "cause")
            self.span[seqs] = log.column(kind, "cause_span")
            if "venue" in fields:
                self.venue[seqs] = _recode(log, kind, "venue", venue_index, self.venue_names)
            place = next((name for name in _PLACE_FIELDS if name in fields), None)
            if place is not None:
                self._place[seqs] = _recode(log, kind, place, place_index, self._place_names)
            usd = _USD_FIELDS.get(kind.__name__)
            if usd is not None:
                self._usd[seqs] = np.abs(log.column(kind, usd))
        self.liquidated_usd[log.column(LiquidationExecuted, "seq")] = log.column(
            LiquidationExecuted, "debt_repaid_usd"
        )
        self.bad_debt_usd[log.column(BadDebtRealized, "seq")] = log.column(
            BadDebtRealized, "amount_usd"
        )
        self.span[self.cause < 0] = 0

    def _generations(self) -> IntArray:
        # Kahn's algorithm, one numpy step per generation: an event joins the frontier once
        # all its causes have been placed, one generation after the latest of them.
        n = self.cause.size
        order = np.argsort(self.edge_parent, kind="stable")
        children = self.edge_child[order]
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.edge_parent, minlength=n), out=ptr[1:])
        waiting = self.span.copy()
        depth = np.full(n, -1, dtype=np.int64)
        frontier = np.flatnonzero(self.span == 0)
        level = 0
        while frontier.size:
            depth[frontier] = level
            kids = children[_ranges(ptr[frontier], ptr[frontier + 1] - ptr[frontier])]
            if not kids.size:
                break
            reached, counts = np.unique(kids, return_counts=True)
            waiting[reached] -= counts
            frontier = reached[waiting[reached] == 0]
            level += 1
        if np.any(depth < 0):  # pragma: no cover - a log's causes always precede their effects
            raise ValueError("the cause relation has a cycle")
        self._levels = level + 1 if n else 0
        by_depth = np.argsort(depth, kind="stable")
        self._node_order = by_depth
        self._node_ptr = np.searchsorted(depth[by_depth], np.arange(self._levels + 1))
        edge_depth = depth[self.edge_child]
        self._edge_order = np.argsort(edge_depth, kind="stable")
        self._edge_ptr = np.searchsorted(edge_depth[self._edge_order], np.arange(self._levels + 1))
        return depth

    def _level_nodes(self, level: int) -> IntArray:
        return self._node_order[self._node_ptr[level] : self._node_ptr[level + 1]]

    def _level_edges(self, level: int) -> tuple[IntArray, IntArray]:
        # Edges into the events of `level`, in order of the effect's seq.
        idx = self._edge_order[self._edge_ptr[level] : self._edge_ptr[level + 1]]
        return self.edge_parent[idx], self.edge_child[idx]

    # -- basic facts ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.cause.size)

    @property
    def roots(self) -> IntArray:
        """Sequence numbers of the root events (nothing in the run caused them)."""
        return np.flatnonzero(self.span == 0)

    def _is(self, kind_name: str) -> NDArray[np.bool_]:
        if kind_name not in self.kind_names:
            return np.zeros(self.cause.size, dtype=np.bool_)
        out: NDArray[np.bool_] = self.kind == self.kind_names.index(kind_name)
        return out

    def _weights(self, measure: str) -> FloatArray:
        if measure == "liquidated_usd":
            return self.liquidated_usd
        if measure == "bad_debt_usd":
            return self.bad_debt_usd
        if measure == "loss_usd":
            return self.liquidated_usd + self.bad_debt_usd
        raise ValueError(
            f"expected measure 'liquidated_usd', 'bad_debt_usd' or 'loss_usd', was {measure!r}"
        )

    def root_causes(self) -> pd.DataFrame:
        """Return the roots, classified: one row per root event, indexed by ``seq``.

        Returns
        -------
        pandas.DataFrame
            Columns ``kind`` (event class), ``category`` (``market move``, ``depeg``,
            ``oracle failure``, ``forced selling / manipulation``, ``chain``,
            ``market move (path)`` for an oracle update the exogenous price path caused, or
            ``other``), ``shock`` (the shock kind, empty if not a shock), ``target`` (what the
            shock hit, or where the root happened) and ``t``.
        """
        import pandas as pd

        roots = self.roots
        kinds = [self.kind_names[k] for k in self.kind[roots].tolist()]
        shock = [""] * roots.size
        target = [self._place_names[p] if p >= 0 else "" for p in self._place[roots].tolist()]
        category = [PATH_MOVE if k == OracleUpdated.__name__ else OTHER for k in kinds]
        if ShockApplied in self.log.kinds:
            seqs = self.log.column(ShockApplied, "seq")
            at = np.searchsorted(roots, seqs)
            names = self.log.column(ShockApplied, "shock").tolist()
            for i, found, name in zip(at.tolist(), seqs.tolist(), names, strict=True):
                if i < roots.size and roots[i] == found:
                    shock[i] = name
                    category[i] = SHOCK_CATEGORIES.get(name, OTHER)
        return pd.DataFrame(
            {
                "kind": kinds,
                "category": category,
                "shock": shock,
                "target": target,
                "t": self._times(roots),
            },
            index=pd.Index(roots, name="seq"),
        )

    def _times(self, seqs: IntArray) -> FloatArray:
        t = np.empty(seqs.size, dtype=np.float64)
        for kind in self.log.kinds:
            mine = self.log.column(kind, "seq")
            at = np.searchsorted(mine, seqs)
            inside = at < mine.size
            hit = inside.copy()
            hit[inside] = mine[at[inside]] == seqs[inside]
            if hit.any():
                t[hit] = self.log.column(kind, "t")[at[hit]]
        return t

    # -- attribution --------------------------------------------------------------------------

    def _propagate(
        self,
        mass: FloatArray,
        absorb: Callable[[IntArray, FloatArray], None] | None = None,
    ) -> FloatArray:
        # Push each event's mass (rows: events; columns: what is being traced) to its causes,
        # 1/span to each, generation by generation from the newest; `absorb` may take mass out
        # at the events of a generation before it moves on. Return the mass left at the roots.
        span = self.span.astype(np.float64)
        for level in range(self._levels - 1, 0, -1):
            if absorb is not None:
                absorb(self._level_nodes(level), mass)
            parents, children = self._level_edges(level)
            np.add.at(mass, parents, mass[children] / span[children, None])
        if absorb is not None and self._levels:
            absorb(self._level_nodes(0), mass)
        out: FloatArray = mass[self.roots]
        return out

    def _venue_mass(self, measure: str) -> tuple[FloatArray, IntArray]:
        weights = self._weights(measure)
        carrying = (weights != 0) & (self.venue >= 0)
        venues = np.unique(self.venue[carrying])
        mass = np.zeros((self.cause.size, venues.size), dtype=np.float64)
        rows = np.flatnonzero(carrying)
        mass[rows, np.searchsorted(venues, self.venue[rows])] = weights[rows]
        return mass, venues

    def attribution(
        self, measure: Measure = "liquidated_usd", *, by: Literal["root", "category"] = "root"
    ) -> pd.DataFrame:
        """Attribute each venue's liquidated debt or bad debt to the roots that caused it.

        Parameters
        ----------
        measure : {"liquidated_usd", "bad_debt_usd"}
            Debt repaid by `LiquidationExecuted` events, or `BadDebtRealized` amounts (USD).
        by : {"root", "category"}
            One row per root event, or per category of root (see `root_causes`).

        Returns
        -------
        pandas.DataFrame
            Indexed by (``venue``, ``root``) (the root's ``seq``) or (``venue``, ``category``),
            with column `measure` (USD) and ``share`` of the venue's total; with
            ``by="root"`` also the root's ``category``, ``shock`` and ``target``. Rows with
            nothing attributed are left out. Per venue, the amounts sum to the venue's total
            and the shares to 1 (to float rounding).

        Notes
        -----
        An event with several causes splits its amount equally among them, recursively down
        to the roots (see the class notes).
        """
        import pandas as pd

        mass, venues = self._venue_mass(measure)
        at_roots = self._propagate(mass)
        totals = self._venue_totals(measure, venues)
        roots = self.root_causes()
        ri, vi = np.nonzero(at_roots)
        amounts = at_roots[ri, vi]
        frame = pd.DataFrame(
            {
                "venue": [self.venue_names[v] for v in venues[vi].tolist()],
                "root": roots.index.to_numpy()[ri],
                "category": roots["category"].to_numpy()[ri],
                "shock": roots["shock"].to_numpy()[ri],
                "target": roots["target"].to_numpy()[ri],
                measure: amounts,
                "share": amounts / totals[vi],
            }
        )
        frame = frame.sort_values(["venue", "root"], kind="stable")
        if by == "category":
            return frame.groupby(["venue", "category"], sort=True)[[measure, "share"]].sum()
        if by != "root":
            raise ValueError(f"expected by='root' or by='category', was {by!r}")
        return frame.set_index(["venue", "root"])

    def _venue_totals(self, measure: str, venues: IntArray) -> FloatArray:
        weights = self._weights(measure)
        carrying = (weights != 0) & (self.venue >= 0)
        idx = np.searchsorted(venues, self.venue[carrying])
        totals = np.bincount(idx, weights=weights[carrying], minlength=venues.size)
        return np.asarray(totals, dtype=np.float64)

    def venue_totals(self, measure: Measure = "liquidated_usd") -> dict[str, float]:
        """Return each venue's total of `measure` (USD), straight from the events."""
        weights = self._weights(measure)
        venues = np.unique(self.venue[(weights != 0) & (self.venue >= 0)])
        totals = self._venue_totals(measure, venues)
        return {
            self.venue_names[v]: float(x)
            for v, x in zip(venues.tolist(), totals.tolist(), strict=True)
        }

    def cross_venue_attribution(self, measure: Measure = "liquidated_usd") -> pd.DataFrame:
        """Attribute each venue's liquidations to liquidations on *other* venues upstream.

        For each liquidation (or bad debt) on venue ``v``, walk its causes back to the first
        liquidation on a venue other than ``v``; that venue's forced selling is the source.
        Liquidations on ``v`` itself are passed through (a second round on ``v`` set off by
        ``w`` still counts for ``w``). Where an event has several causes the amount is split
        equally among them, as in `attribution`; what reaches a root without meeting another
        venue's liquidation is credited to `NO_SOURCE`.

        Parameters
        ----------
        measure : {"liquidated_usd", "bad_debt_usd"}
            What is attributed.

        Returns
        -------
        pandas.DataFrame
            Indexed by (``venue``, ``source_venue``), columns `measure` and ``share``; per
            venue the amounts sum to its total and the shares to 1.
        """
        import pandas as pd

        mass, venues = self._venue_mass(measure)
        n_venues = len(self.venue_names)
        credit = np.zeros((venues.size, n_venues + 1), dtype=np.float64)
        liquidation = self._is(LiquidationExecuted.__name__)
        columns = np.arange(venues.size)

        def absorb(nodes: IntArray, mass: FloatArray) -> None:
            hit = nodes[liquidation[nodes]]
            if not hit.size:
                return
            source = self.venue[hit]
            other = source[:, None] != venues[None, :]
            taken = np.where(other, mass[hit], 0.0)
            rows = np.broadcast_to(columns, taken.shape).ravel()
            np.add.at(credit, (rows, np.repeat(source, venues.size)), taken.ravel())
            mass[hit] = np.where(other, 0.0, mass[hit])

        credit[:, n_venues] = self._propagate(mass, absorb).sum(axis=0)
        totals = self._venue_totals(measure, venues)
        vi, si = np.nonzero(credit)
        amounts = credit[vi, si]
        names = [*self.venue_names, NO_SOURCE]
        frame = pd.DataFrame(
            {
                "venue": [self.venue_names[v] for v in venues[vi].tolist()],
                "source_venue": [names[s] for s in si.tolist()],
                measure: amounts,
                "share": amounts / totals[vi],
            }
        )
        return frame.sort_values(["venue", "source_venue"], kind="stable").set_index(
            ["venue", "source_venue"]
        )

    # -- paths and hops -----------------------------------------------------------------------

    def longest_path(self) -> list[int]:
        """Return the longest chain of causes, as event seqs from a root to a leaf.

        Its length in edges is ``depth.max()``; among equally long chains, the one ending at
        the earliest event and, going back, through the first-named cause at the right depth.
        """
        if not self.cause.size:
            return []
        seq = int(np.argmax(self.depth))
        path = [seq]
        while self.span[seq]:
            lo = int(self.cause[seq])
            candidates = self.depth[lo : lo + int(self.span[seq])]
            seq = lo + int(np.flatnonzero(candidates == self.depth[seq] - 1)[0])
            path.append(seq)
        return path[::-1]

    def costliest_path(self, measure: PathMeasure = "loss_usd") -> list[int]:
        """Return the root-to-leaf chain of causes with the largest summed `measure`.

        Parameters
        ----------
        measure : {"loss_usd", "liquidated_usd", "bad_debt_usd"}
            USD counted at each event on the chain: liquidated debt plus bad debt
            (``loss_usd``), or one of them. Each event counts in full.

        Returns
        -------
        list of int
            Event seqs from the root to the leaf (an event that caused nothing); ties go to
            the earliest leaf and, going back, to the first-named cause.
        """
        weights = self._weights(measure)
        if not weights.size:
            return []
        best = weights.copy()
        via = np.full(weights.size, -1, dtype=np.int64)
        for level in range(1, self._levels):
            parents, children = self._level_edges(level)
            if not children.size:
                continue
            starts = np.flatnonzero(np.r_[True, children[1:] != children[:-1]])
            values = best[parents]
            top = np.maximum.reduceat(values, starts)
            group = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, children.size]))
            hit = np.flatnonzero(values == top[group])
            _, first = np.unique(group[hit], return_index=True)
            kids = children[starts]
            best[kids] = weights[kids] + top
            via[kids] = parents[hit[first]]
        leaves = np.bincount(self.edge_parent, minlength=weights.size) == 0
        seq = int(np.argmax(np.where(leaves, best, -np.inf)))
        path = [seq]
        while via[seq] >= 0:
            seq = int(via[seq])
            path.append(seq)
        return path[::-1]

    def path_usd(self, path: Sequence[int], measure: PathMeasure = "loss_usd") -> float:
        """Return the summed `measure` (USD) of the events on `path`."""
        return float(self._weights(measure)[np.asarray(path, dtype=np.int64)].sum())

    def _chain_arrays(self) -> tuple[IntArray, IntArray, IntArray]:
        # Along first-named causes: hops to the root, venue changes between consecutive
        # liquidations, and the venue of the latest liquidation (inclusive; -1 if none).
        if self._chains is None:
            n = self.cause.size
            liquidation = self._is(LiquidationExecuted.__name__)
            hops = np.zeros(n, dtype=np.int64)
            changes = np.zeros(n, dtype=np.int64)
            last = np.where(liquidation, self.venue, -1)
            for level in range(1, self._levels):
                nodes = self._level_nodes(level)
                parent = self.cause[nodes]
                hops[nodes] = hops[parent] + 1
                before = last[parent]
                own = self.venue[nodes]
                liq = liquidation[nodes]
                changes[nodes] = changes[parent] + (liq & (before >= 0) & (before != own))
                last[nodes] = np.where(liq, own, before)
            self._chains = (hops, changes, last)
        return self._chains

    def chain(self, seq: int) -> list[int]:
        """Return the first-named causes of event `seq` back to its root, root first."""
        path = [seq]
        while self.cause[path[-1]] >= 0:
            path.append(int(self.cause[path[-1]]))
        return path[::-1]

    def hops(self, seq: int) -> int:
        """Return the number of edges from event `seq` to its root along first-named causes.

        The chain is the one `EventLog.cause_chain` returns (``hops == len(chain) - 1``).
        """
        return int(self._chain_arrays()[0][seq])

    def venue_hops(self, seq: int) -> int:
        """Return the number of venue changes on the first-named cause chain of event `seq`:
        one for each pair of consecutive liquidations on it that are on different venues.
        """
        return int(self._chain_arrays()[1][seq])

    def hop_counts(self) -> pd.DataFrame:
        """Return ``hops`` and ``venue_hops`` (see `hops`) of every liquidation, by ``seq``,
        with its ``venue``, ``liquidated_usd`` and the ``root`` of its first-named chain.
        """
        import pandas as pd

        hops, changes, _ = self._chain_arrays()
        seqs = np.flatnonzero(self._is(LiquidationExecuted.__name__))
        root = np.arange(self.cause.size)
        for level in range(1, self._levels):
            nodes = self._level_nodes(level)
            root[nodes] = root[self.cause[nodes]]
        return pd.DataFrame(
            {
                "venue": [self.venue_names[v] for v in self.venue[seqs].tolist()],
                "hops": hops[seqs],
                "venue_hops": changes[seqs],
                "liquidated_usd": self.liquidated_usd[seqs],
                "root": root[seqs],
            },
            index=pd.Index(seqs, name="seq"),
        )

    def describe(self, seqs: Iterable[int]) -> pd.DataFrame:
        """Return one row per event of `seqs` (in the order given): kind, where, t, USD."""
        import pandas as pd

        idx = np.fromiter(seqs, dtype=np.int64)
        return pd.DataFrame(
            {
                "kind": [self.kind_names[k] for k in self.kind[idx].tolist()],
                "where": [
                    self._place_names[p] if p >= 0 else "" for p in self._place[idx].tolist()
                ],
                "t": self._times(idx),
                "liquidated_usd": self.liquidated_usd[idx],
                "bad_debt_usd": self.bad_debt_usd[idx],
            },
            index=pd.Index(idx, name="seq"),
        )

    # -- networkx views -----------------------------------------------------------------------

    @property
    def graph(self) -> nx.DiGraph[int]:
        """The DAG as a `networkx.DiGraph`: node = ``seq`` with ``kind``, ``t``, ``block``
        and the event's `NODE_FIELDS`; edge = cause → effect (built on first use).
        """
        if self._graph is None:
            self._graph = self._build_graph()
        return self._graph

    def _build_graph(self) -> nx.DiGraph[int]:
        graph: nx.DiGraph[int] = nx.DiGraph()
        graph.add_nodes_from(range(self.cause.size))
        log = self.log
        for kind in log.kinds:
            names = ["t", "block"] + [
                f.name for f in dataclasses.fields(kind) if f.name in NODE_FIELDS
            ]
            columns = [log.column(kind, name).tolist() for name in names]
            kind_name = kind.__name__
            graph.add_nodes_from(
                (seq, {"kind": kind_name, **dict(zip(names, row, strict=True))})
                for seq, row in zip(
                    log.column(kind, "seq").tolist(), zip(*columns, strict=True), strict=True
                )
            )
        graph.add_edges_from(zip(self.edge_parent.tolist(), self.edge_child.tolist(), strict=True))
        return graph

    def to_networkx(self) -> nx.DiGraph[int]:
        """Return the DAG as a `networkx.DiGraph` (the `graph` attribute, not a copy)."""
        return self.graph

    def collapsed(self) -> nx.DiGraph[int]:
        """Return a smaller DAG for display: runs of events merged into one node.

        Consecutive events (by ``seq``) of the same kind at the same place (venue, oracle,
        chain or shock target) whose causes lie in the same merged nodes become one node:
        a batch of liquidations, the bad debts they left, a keeper's sales of one block.
        Roots are never merged.

        Returns
        -------
        networkx.DiGraph
            Node id = the first ``seq`` of the run; attributes ``kind``, ``where``, ``first``,
            ``last``, ``count``, ``t`` (of the first event), ``usd`` (summed USD size),
            ``liquidated_usd`` and ``bad_debt_usd``. Edge attribute ``count``: how many
            event-level edges it stands for.
        """
        n = self.cause.size
        graph: nx.DiGraph[int] = nx.DiGraph()
        if not n:
            return graph
        # First pass: runs sharing the exact cause range; second: runs whose causes fall in
        # the same first-pass runs (the bad debts of one batch name one liquidation each).
        exact = _runs(self.kind, self._place, self.cause, self.span, self.span == 0)
        last_cause = self.cause + np.maximum(self.span, 1) - 1
        lo = np.where(self.span > 0, exact[np.maximum(self.cause, 0)], -1)
        hi = np.where(self.span > 0, exact[np.maximum(last_cause, 0)], -1)
        group = _runs(self.kind, self._place, lo, hi, self.span == 0)
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        stops = np.r_[starts[1:], n] - 1
        times = self._times(starts)
        usd = np.add.reduceat(self._usd, starts)
        liquidated = np.add.reduceat(self.liquidated_usd, starts)
        bad = np.add.reduceat(self.bad_debt_usd, starts)
        graph.add_nodes_from(
            (
                int(first),
                {
                    "kind": self.kind_names[int(self.kind[first])],
                    "where": self._place_names[p] if (p := int(self._place[first])) >= 0 else "",
                    "first": int(first),
                    "last": int(last),
                    "count": int(last - first + 1),
                    "t": float(t),
                    "usd": float(u),
                    "liquidated_usd": float(lq),
                    "bad_debt_usd": float(b),
                },
            )
            for first, last, t, u, lq, b in zip(
                starts.tolist(),
                stops.tolist(),
                times.tolist(),
                usd.tolist(),
                liquidated.tolist(),
                bad.tolist(),
                strict=True,
            )
        )
        node = starts[group]
        keys, counts = np.unique(
            node[self.edge_parent] * n + node[self.edge_child], return_counts=True
        )
        graph.add_edges_from(
            (a, b, {"count": c})
            for a, b, c in zip(
                (keys // n).tolist(), (keys % n).tolist(), counts.tolist(), strict=True
            )
        )
        return graph

    # -- output -------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Return the graph's headline figures as a flat, JSON-ready dict."""
        roots = self.root_causes()
        hops = self.hop_counts()
        by_category = (
            self.attribution("liquidated_usd", by="category")
            .reset_index()
            .groupby("category", sort=True)["liquidated_usd"]
            .sum()
        )
        cross = self.cross_venue_attribution()
        from_elsewhere = cross.loc[
            cross.index.get_level_values("source_venue") != NO_SOURCE, "liquidated_usd"
        ]
        return {
            "events": len(self),
            "edges": int(self.edge_parent.size),
            "roots": len(roots),
            "roots_by_category": {
                str(k): int(v) for k, v in roots["category"].value_counts().sort_index().items()
            },
            "liquidations": len(hops),
            "liquidated_usd": float(self.liquidated_usd.sum()),
            "bad_debt_usd": float(self.bad_debt_usd.sum()),
            "liquidated_usd_by_category": {str(k): float(v) for k, v in by_category.items()},
            "cross_venue_liquidated_usd": float(from_elsewhere.sum()),
            "longest_path_hops": int(self.depth.max()) if len(self) else 0,
            "max_hops": int(hops["hops"].max()) if len(hops) else 0,
            "max_venue_hops": int(hops["venue_hops"].max()) if len(hops) else 0,
        }

    def to_json(self, path: str | Path) -> Path:
        """Write `graph` as node-link JSON (networkx's format, edges under ``"edges"``).

        Read it back with `read_json`. The file is written to a temporary name and renamed.
        """
        path = Path(path)
        data = nx.node_link_data(self.graph, edges="edges")
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, sort_keys=True, allow_nan=True) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path

    @staticmethod
    def read_json(path: str | Path) -> nx.DiGraph[int]:
        """Return the `networkx.DiGraph` that `to_json` wrote to `path`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        graph = nx.node_link_graph(data, directed=True, edges="edges")
        if not isinstance(graph, nx.DiGraph):
            raise ValueError(f"{path}: expected a directed node-link graph")
        return graph


def _recode(
    log: EventLog, kind: type[Any], name: str, index: dict[str, int], names: list[str]
) -> IntArray:
    # Map a string column's per-kind codes to codes of one table shared by all kinds.
    codes, strings = log.codes(kind, name)
    mapping = np.empty(len(strings), dtype=np.int64)
    for i, value in enumerate(strings):
        found = index.get(value)
        if found is None:
            found = index[value] = len(names)
            names.append(value)
        mapping[i] = found
    out: IntArray = mapping[codes] if codes.size else np.empty(0, dtype=np.int64)
    return out


def _ranges(starts: IntArray, counts: IntArray) -> IntArray:
    # Concatenate the integer ranges starts[i] .. starts[i] + counts[i] - 1.
    total = int(counts.sum())
    if not total:
        return np.empty(0, dtype=np.int64)
    ends = np.cumsum(counts)
    out: IntArray = np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - counts), counts)
    return out


def _edges(cause: IntArray, span: IntArray) -> tuple[IntArray, IntArray]:
    child = np.repeat(np.arange(cause.size, dtype=np.int64), span)
    named = span > 0
    parent = _ranges(cause[named], span[named])
    return parent, child


def _runs(
    kind: IntArray, place: IntArray, a: IntArray, b: IntArray, alone: NDArray[np.bool_]
) -> IntArray:
    # Label runs of consecutive events with equal (kind, place, a, b); `alone` events start
    # their own run and end it.
    n = kind.size
    new = np.ones(n, dtype=np.bool_)
    if n > 1:
        same = (
            (kind[1:] == kind[:-1])
            & (place[1:] == place[:-1])
            & (a[1:] == a[:-1])
            & (b[1:] == b[:-1])
        )
        new[1:] = ~same | alone[1:] | alone[:-1]
    out: IntArray = np.cumsum(new) - 1
    return out
