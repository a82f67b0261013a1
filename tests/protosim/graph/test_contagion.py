"""Tests of `ContagionGraph`: hand-built logs with known answers, seeded cascades whose
attribution must add up, and a two-venue run where A's forced selling liquidates B."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.eventlog import EventLog
from protosim.events import (
    BadDebtRealized,
    LiquidationExecuted,
    OracleUpdated,
    ShockApplied,
    TradeExecuted,
)
from protosim.graph import NO_SOURCE, ContagionGraph
from protosim.results import RunResult
from protosim.testing import tiny_scenario_dict

EPS = np.finfo(np.float64).eps

# -- hand-built logs --------------------------------------------------------------------------


def _log() -> EventLog:
    return EventLog(now=lambda: 0.0, block=lambda: 0)


def _shock(log: EventLog, shock: str, target: str) -> int:
    return log.emit(ShockApplied, shock=shock, target=target, size=-0.2, duration_s=0.0)


def _update(log: EventLog, cause: int, oracle: str = "eth-usd", span: int = 1) -> int:
    return log.emit(
        OracleUpdated,
        cause=cause,
        cause_span=span,
        oracle=oracle,
        asset="ETH",
        answer=1600.0,
        previous=2000.0,
        round_id=1,
        observed_at=0.0,
        reason="deviation",
    )


def _liquidations(
    log: EventLog, cause: int | list[int], usd: list[float], venue: str = "aave"
) -> int:
    n = len(usd)
    return log.emit_batch(
        LiquidationExecuted,
        n,
        cause=np.asarray(cause, dtype=np.int64) if isinstance(cause, list) else cause,
        venue=venue,
        account=np.arange(n),
        liquidator="keeper",
        collateral_asset="ETH",
        debt_asset="USDC",
        debt_repaid=np.asarray(usd),
        collateral_seized=1.0,
        protocol_fee=0.0,
        debt_repaid_usd=np.asarray(usd),
        collateral_seized_usd=np.asarray(usd) * 1.05,
        health_before=0.9,
    )


def _sale(log: EventLog, cause: int, span: int, venue: str = "uniswap") -> int:
    return log.emit(
        TradeExecuted,
        cause=cause,
        cause_span=span,
        venue=venue,
        asset="ETH",
        trader="keeper",
        quantity=-1.0,
        notional_usd=1600.0,
        price_before=1600.0,
        price_after=1590.0,
    )


def _bad_debt(log: EventLog, cause: int, usd: float, venue: str = "aave") -> int:
    return log.emit(
        BadDebtRealized,
        cause=cause,
        venue=venue,
        account=0,
        asset="USDC",
        amount=usd,
        amount_usd=usd,
        treatment="deficit",
    )


@pytest.fixture
def one_shock() -> EventLog:
    """Shock 0 → updates 1, 2 → liquidations 3 ($100, by 1), 4 ($200), 5 ($300) (by 2) →
    sale 6 (of 3..5) → update 7 → liquidation 8 ($600)."""
    log = _log()
    shock = _shock(log, "price_jump", "ETH")
    first = _update(log, shock)
    second = _update(log, shock)
    liquidated = _liquidations(log, [first, second, second], [100.0, 200.0, 300.0])
    sale = _sale(log, liquidated, 3)
    _liquidations(log, _update(log, sale), [600.0])
    return log


@pytest.fixture
def two_shocks() -> EventLog:
    """Jump 0 and bad print 1 → updates 2 (by 0), 3 (by 1) → liquidations 4 ($100, by 2),
    5 ($300, by 3) → sale 6 (of 4..5) → update 7 → liquidation 8 ($600); bad debts 9 ($50,
    by 5) and 10 ($20, by 8)."""
    log = _log()
    jump = _shock(log, "price_jump", "ETH")
    bad_print = _shock(log, "oracle_bad_print", "eth-usd")
    a, b = _update(log, jump), _update(log, bad_print)
    liquidated = _liquidations(log, [a, b], [100.0, 300.0])
    sale = _sale(log, liquidated, 2)
    last = _liquidations(log, _update(log, sale), [600.0])
    _bad_debt(log, liquidated + 1, 50.0)
    _bad_debt(log, last, 20.0)
    return log


def test_attribution_one_shock_gets_the_whole_venue_total(one_shock: EventLog) -> None:
    """With a single root, all $1,200 liquidated (100 + 200 + 300 + 600) is the shock's."""
    frame = ContagionGraph.from_log(one_shock).attribution()
    assert frame.index.tolist() == [("aave", 0)]
    assert frame.loc[("aave", 0), "liquidated_usd"] == pytest.approx(1_200.0, rel=1e-15)
    assert frame.loc[("aave", 0), "share"] == pytest.approx(1.0, rel=1e-15)
    assert frame.loc[("aave", 0), "category"] == "market move"


def test_attribution_splits_a_sale_equally_among_the_liquidations_it_names(
    two_shocks: EventLog,
) -> None:
    """The $600 liquidation set off by a sale of two liquidations counts half for each: the
    jump gets 100 + 300 = 400, the bad print 300 + 300 = 600."""
    frame = ContagionGraph.from_log(two_shocks).attribution()
    assert frame["liquidated_usd"].to_dict() == pytest.approx(
        {("aave", 0): 400.0, ("aave", 1): 600.0}, rel=1e-15
    )
    assert frame["share"].to_dict() == pytest.approx({("aave", 0): 0.4, ("aave", 1): 0.6})
    assert frame["category"].tolist() == ["market move", "oracle failure"]


def test_attribution_of_bad_debt_follows_the_liquidation_that_left_it(
    two_shocks: EventLog,
) -> None:
    """Bad debt 9 ($50) comes from liquidation 5 (bad print); bad debt 10 ($20) from the $600
    liquidation, split 10 / 10: the jump gets 10, the bad print 60."""
    frame = ContagionGraph.from_log(two_shocks).attribution("bad_debt_usd")
    assert frame["bad_debt_usd"].to_dict() == pytest.approx(
        {("aave", 0): 10.0, ("aave", 1): 60.0}, rel=1e-15
    )


def test_attribution_by_category_sums_the_roots_of_each_category(two_shocks: EventLog) -> None:
    """Grouping by category gives one row per (venue, category) with the same amounts."""
    frame = ContagionGraph.from_log(two_shocks).attribution(by="category")
    assert frame["liquidated_usd"].to_dict() == pytest.approx(
        {("aave", "market move"): 400.0, ("aave", "oracle failure"): 600.0}
    )


def test_hops_count_edges_along_first_named_causes(one_shock: EventLog) -> None:
    """The $600 liquidation is 5 edges from the shock: 8 → 7 → 6 → 3 → 1 → 0."""
    graph = ContagionGraph.from_log(one_shock)
    assert graph.chain(8) == [0, 1, 3, 6, 7, 8]
    assert graph.hops(8) == 5
    assert graph.hops(8) == len(one_shock.cause_chain(8)) - 1
    assert [graph.hops(s) for s in range(6)] == [0, 1, 1, 2, 2, 2]
    assert graph.venue_hops(8) == 0


def test_longest_path_runs_from_the_root_through_the_deepest_chain(one_shock: EventLog) -> None:
    """The longest chain has 5 edges and ends at the last liquidation; ties go to the
    first-named cause."""
    graph = ContagionGraph.from_log(one_shock)
    path = graph.longest_path()
    assert path == [0, 1, 3, 6, 7, 8]
    assert len(path) - 1 == nx.dag_longest_path_length(graph.graph)


def test_costliest_path_maximises_the_usd_on_the_chain(two_shocks: EventLog) -> None:
    """Via the $300 liquidation: 300 + 600 + 20 bad debt = $920 beats 100 + 600 + 20 and
    300 + 50."""
    graph = ContagionGraph.from_log(two_shocks)
    path = graph.costliest_path()
    assert path == [1, 3, 5, 6, 7, 8, 10]
    assert graph.path_usd(path) == pytest.approx(920.0)
    assert graph.costliest_path("bad_debt_usd") == [1, 3, 5, 9]


def test_cross_venue_attribution_credits_the_first_other_venue_upstream() -> None:
    """B's first liquidation comes from a sale of one A and one C liquidation (half each);
    B's second comes from B's own sale of the first, so it counts for A and C too."""
    log = _log()
    shock = _shock(log, "market_trade", "pool")
    oracle_a, oracle_c = _update(log, shock, "oracle-a"), _update(log, shock, "oracle-c")
    a = _liquidations(log, oracle_a, [100.0], venue="a")
    c = _liquidations(log, oracle_c, [50.0], venue="c")
    assert c == a + 1
    b1 = _liquidations(log, _update(log, _sale(log, a, 2, "pool-b"), "oracle-b"), [800.0], "b")
    b2 = _liquidations(log, _update(log, _sale(log, b1, 1, "pool-b"), "oracle-b"), [200.0], "b")
    graph = ContagionGraph.from_log(log)
    frame = graph.cross_venue_attribution()
    assert frame["liquidated_usd"].to_dict() == pytest.approx(
        {("a", NO_SOURCE): 100.0, ("b", "a"): 500.0, ("b", "c"): 500.0, ("c", NO_SOURCE): 50.0}
    )
    assert frame.loc[("b", "a"), "share"] == pytest.approx(0.5)
    # First-named chain of b2: b2 ← update ← sale ← b1 ← update ← sale ← a ← update ← shock.
    assert graph.hops(b2) == 8
    assert graph.chain(b2)[:3] == [shock, oracle_a, a]
    assert graph.venue_hops(b2) == 1
    assert graph.venue_hops(b1) == 1


def test_graph_has_one_node_per_event_and_one_edge_per_named_cause(
    two_shocks: EventLog,
) -> None:
    """11 events; edges: 2 updates + 2 liquidations + 2 (sale) + 1 + 1 + 2 bad debts = 10."""
    graph = ContagionGraph.from_log(two_shocks).graph
    assert graph.number_of_nodes() == 11
    assert graph.number_of_edges() == 10
    assert set(graph.predecessors(6)) == {4, 5}
    assert nx.is_directed_acyclic_graph(graph)
    assert graph.nodes[5] == graph.nodes[5] | {
        "kind": "LiquidationExecuted",
        "venue": "aave",
        "debt_repaid_usd": 300.0,
        "t": 0.0,
        "block": 0,
    }
    assert graph.nodes[1]["shock"] == "oracle_bad_print"


def test_to_json_reads_back_an_equal_graph(two_shocks: EventLog, tmp_path: Path) -> None:
    """The node-link JSON file reads back with the same nodes, attributes and edges."""
    graph = ContagionGraph.from_log(two_shocks)
    path = graph.to_json(tmp_path / "contagion.json")
    back = ContagionGraph.read_json(path)
    assert nx.utils.graphs_equal(back, graph.graph)
    assert dict(back.nodes(data=True)) == dict(graph.graph.nodes(data=True))


def test_collapsed_merges_runs_of_events_with_the_same_causes(one_shock: EventLog) -> None:
    """Updates 1–2 (both by the shock) and liquidations 3–5 (by those updates) become one node
    each; the rest stay single: 6 nodes, edges carrying how many events' edges they stand for."""
    view = ContagionGraph.from_log(one_shock).collapsed()
    assert sorted(view.nodes) == [0, 1, 3, 6, 7, 8]
    assert view.nodes[1]["count"] == 2
    assert view.nodes[3]["count"] == 3
    assert view.nodes[3]["liquidated_usd"] == pytest.approx(600.0)
    assert {(a, b): d["count"] for a, b, d in view.edges(data=True)} == {
        (0, 1): 2,
        (1, 3): 3,
        (3, 6): 3,
        (6, 7): 1,
        (7, 8): 1,
    }


def test_empty_log_gives_an_empty_graph() -> None:
    """A run with no events has no roots, no paths and nothing to attribute."""
    graph = ContagionGraph.from_log(_log())
    assert len(graph) == 0
    assert graph.attribution().empty
    assert graph.cross_venue_attribution().empty
    assert graph.longest_path() == []
    assert graph.costliest_path() == []
    assert graph.summary()["events"] == 0


def test_unknown_measure_is_rejected(one_shock: EventLog) -> None:
    """A measure other than liquidated or bad debt USD raises, naming what was given."""
    with pytest.raises(ValueError, match="'volume'"):
        ContagionGraph.from_log(one_shock).attribution("volume")  # type: ignore[arg-type]


# -- seeded cascades ----------------------------------------------------------------------------


def _two_shock_run(seed: int) -> RunResult:
    data = tiny_scenario_dict(accounts=800, depth_usd=200e6)
    data["shocks"].append(
        {"kind": "oracle_bad_print", "at_s": 2_400.0, "oracle": "eth-usd", "change": -0.3}
    )
    return Simulation(Scenario.from_dict(data), seed=seed).run()


@pytest.fixture(scope="module", params=[1, 2, 3], ids=lambda s: f"seed{s}")
def seeded(request: pytest.FixtureRequest) -> RunResult:
    return _two_shock_run(request.param)


def _tolerance(log: EventLog, total: float) -> float:
    # Summation error bound: one rounding per event the amount passed through.
    return len(log) * EPS * abs(total)


@pytest.mark.parametrize("measure", ["liquidated_usd", "bad_debt_usd"])
def test_attribution_sums_to_venue_totals_on_seeded_runs(seeded: RunResult, measure: Any) -> None:
    """Per venue, the amounts attributed to roots add up to the venue's total in the log and
    the shares to 1."""
    graph = ContagionGraph.from_result(seeded)
    frame = graph.attribution(measure)
    kind, field = (
        (LiquidationExecuted, "debt_repaid_usd")
        if measure == "liquidated_usd"
        else (BadDebtRealized, "amount_usd")
    )
    events = seeded.log.frame(kind)
    totals = events.groupby("venue", observed=True)[field].sum()
    totals = totals[totals != 0]
    assert sorted(frame.index.get_level_values("venue").unique()) == sorted(totals.index)
    for venue, total in totals.items():
        part = frame.loc[venue]
        assert abs(part[measure].sum() - total) <= _tolerance(seeded.log, total)
        assert abs(part["share"].sum() - 1.0) <= _tolerance(seeded.log, 1.0)


def test_seeded_runs_credit_both_shocks(seeded: RunResult) -> None:
    """The price jump and the oracle bad print both set off liquidations, so both get a share."""
    frame = ContagionGraph.from_result(seeded).attribution()
    shares = frame.groupby("category")["share"].sum()
    assert shares["market move"] > 0
    assert shares["oracle failure"] > 0


def test_seeded_attribution_matches_a_plain_python_walk(seeded: RunResult) -> None:
    """The vectorized propagation agrees with a dict-based walk of the same rule (each event's
    amount split equally among its causes, newest event first)."""
    log = seeded.log
    cause: dict[int, tuple[int, int]] = {}
    for kind in log.kinds:
        for s, c, n in zip(
            log.column(kind, "seq").tolist(),
            log.column(kind, "cause").tolist(),
            log.column(kind, "cause_span").tolist(),
            strict=True,
        ):
            cause[s] = (c, n)
    mass: dict[int, float] = defaultdict(float)
    for s, usd in zip(
        log.column(LiquidationExecuted, "seq").tolist(),
        log.column(LiquidationExecuted, "debt_repaid_usd").tolist(),
        strict=True,
    ):
        mass[s] += usd
    for s in range(len(log) - 1, -1, -1):
        c, n = cause[s]
        if c >= 0 and mass.get(s):
            for parent in range(c, c + n):
                mass[parent] += mass[s] / n
    expected = {("aave", s): m for s, m in mass.items() if cause[s][0] < 0 and m}
    frame = ContagionGraph.from_result(seeded).attribution()
    assert frame["liquidated_usd"].to_dict() == pytest.approx(expected, rel=1e-9)


def test_seeded_hops_agree_with_the_logs_cause_chains(seeded: RunResult) -> None:
    """For a sample of liquidations, `hops` is the length of `EventLog.cause_chain` minus 1."""
    graph = ContagionGraph.from_result(seeded)
    seqs = seeded.log.column(LiquidationExecuted, "seq")
    for seq in seqs[:: max(1, seqs.size // 25)].tolist():
        assert graph.hops(seq) == len(seeded.log.cause_chain(seq)) - 1


def test_seeded_summary_is_json_ready(seeded: RunResult) -> None:
    """The summary serialises to JSON and agrees with the run's own totals."""
    summary = ContagionGraph.from_result(seeded).summary()
    json.dumps(summary)
    run = seeded.summary()
    assert summary["liquidations"] == run["liquidations"]
    assert summary["liquidated_usd"] == pytest.approx(run["liquidated_debt_usd"])
    assert summary["roots_by_category"]["market move"] == 1
    assert summary["roots_by_category"]["oracle failure"] == 1


# -- two venues: A's forced selling moves B's oracle ------------------------------------------


def test_two_venues_path_from_a_through_the_market_and_bs_oracle_to_b(
    two_venue_result: RunResult,
) -> None:
    """Some B liquidation has the causes: A liquidation → sale on pool-b → eth-b update."""
    g = ContagionGraph.from_result(two_venue_result).graph
    nodes = g.nodes
    found = [
        (a, t, o, b)
        for b, data in nodes(data=True)
        if data["kind"] == "LiquidationExecuted" and data["venue"] == "aave-b"
        for o in g.predecessors(b)
        if nodes[o]["kind"] == "OracleUpdated" and nodes[o]["oracle"] == "eth-b"
        for t in g.predecessors(o)
        if nodes[t]["kind"] == "TradeExecuted" and nodes[t]["venue"] == "pool-b"
        for a in g.predecessors(t)
        if nodes[a]["kind"] == "LiquidationExecuted" and nodes[a]["venue"] == "aave-a"
    ]
    assert found


def test_two_venues_first_b_liquidation_is_six_hops_and_one_venue_change(
    two_venue_result: RunResult,
) -> None:
    """shock → trade on pool-a → eth-a update → A liquidation → sale on pool-b → eth-b update
    → B liquidation: 6 hops, one venue change (A to B); every A liquidation is 3 hops or more
    and no B liquidation has more than one venue change."""
    graph = ContagionGraph.from_result(two_venue_result)
    hops = graph.hop_counts()
    b = hops[hops["venue"] == "aave-b"]
    a = hops[hops["venue"] == "aave-a"]
    assert len(a)
    assert len(b)
    first = int(b.index.min())
    assert graph.hops(first) == 6
    assert graph.venue_hops(first) == 1
    kinds = graph.describe(graph.chain(first))["kind"].tolist()
    assert kinds == [
        "ShockApplied",
        "TradeExecuted",
        "OracleUpdated",
        "LiquidationExecuted",
        "TradeExecuted",
        "OracleUpdated",
        "LiquidationExecuted",
    ]
    assert a["hops"].min() == 3
    assert (a["venue_hops"] == 0).all()
    assert (b["venue_hops"] == 1).all()


def test_two_venues_b_liquidations_are_attributed_to_a(two_venue_result: RunResult) -> None:
    """B's oracle reads only a pool that A's (then B's own) keeper sells into, so all of B's
    liquidated debt traces to A; A's traces to no other venue."""
    graph = ContagionGraph.from_result(two_venue_result)
    frame = graph.cross_venue_attribution()
    totals = graph.venue_totals()
    assert frame.index.tolist() == [("aave-a", NO_SOURCE), ("aave-b", "aave-a")]
    tol = _tolerance(two_venue_result.log, totals["aave-b"])
    assert abs(frame.loc[("aave-b", "aave-a"), "liquidated_usd"] - totals["aave-b"]) <= tol
    assert frame.loc[("aave-b", "aave-a"), "share"] == pytest.approx(1.0)
    # The root of it all is the manipulation of pool-a.
    roots = graph.attribution(by="category")
    assert roots.index.tolist() == [
        ("aave-a", "forced selling / manipulation"),
        ("aave-b", "forced selling / manipulation"),
    ]
