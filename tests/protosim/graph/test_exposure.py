"""Tests of `ExposureGraph`: first-order blast radius against books whose answer is derived by
hand, an asset depeg that reaches one venue's oracle and not another's, agreement with a run,
structural queries, and exports that read back equal."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.events import PositionsBecameLiquidatable, ShockApplied
from protosim.graph.exposure import ExposureGraph, edge_items
from protosim.testing import tiny_scenario_dict

ETH_PRICE = 2_000.0
ETH_LT = 0.83
HAND_HF = (1.10, 1.20, 1.30)
HAND_ETH = 10.0


def _quiet(data: dict[str, Any]) -> dict[str, Any]:
    """No keeper, no scheduled shock: the state stays as set."""
    data = copy.deepcopy(data)
    data["agents"] = []
    data["shocks"] = []
    return data


def _set_book(sim: Simulation, venue: str, collateral: list[float], hf: list[float]) -> None:
    """Overwrite book 0 of `venue` so position i has `collateral[i]` tokens and health hf[i],
    with collateral priced at its oracle and the debt asset at $1."""
    market = sim.context.venues[venue]
    book = market.books[0]
    price = market.oracles[book.collateral_asset].read().price
    coll = np.asarray(collateral, dtype=np.float64)
    debt = coll * price * book.liquidation_threshold / np.asarray(hf, dtype=np.float64)
    book.update(np.arange(len(coll), dtype=np.int64), coll, debt)


@pytest.fixture
def hand_built() -> tuple[Simulation, ExposureGraph]:
    data = _quiet(tiny_scenario_dict(accounts=3))
    sim = Simulation(Scenario.from_dict(data))
    _set_book(sim, "aave", [HAND_ETH] * 3, list(HAND_HF))
    return sim, ExposureGraph.from_simulation(sim)


def depeg_scenario_dict(*, mutual_peg: bool = False) -> dict[str, Any]:
    """Two Aave venues lend USDC against USDe. ``lender-a`` prices USDe with a Chainlink feed
    of the ``curve-usde`` market; ``lender-b`` with an ``oracle.fixed`` that follows the USDT/USD
    feed (Aave's pricing since Feb 2025, mechanics §1.8)."""
    reserve = {"ltv_bps": 8500, "liquidation_threshold_bps": 9000, "liquidation_bonus_bps": 10500}
    population = {
        "accounts": 2,
        "collateral": "USDe",
        "debt": "USDC",
        "collateral_usd": {"kind": "uniform", "low": 10_000.0, "high": 10_000.0},
        "health_factor": {"kind": "uniform", "low": 1.5, "high": 1.5},
    }

    def lender(usde_oracle: str) -> dict[str, Any]:
        return {
            "chain": "ethereum",
            "reserves": {
                "USDe": {"oracle": usde_oracle, **reserve},
                "USDC": {"oracle": "usdc-usd", **reserve},
            },
            "populations": [population],
        }

    def chainlink(asset: str, observes: list[str]) -> dict[str, Any]:
        return {"asset": asset, "chain": "ethereum", "observes": observes}

    return {
        "name": "usde-depeg",
        "horizon_s": 3_600.0,
        "assets": [
            {
                "id": "USDe",
                "path": {"kind": "constant", "price": 1.0},
                "pegged_to": "USDT" if mutual_peg else "USD",
            },
            {
                "id": "USDT",
                "path": {"kind": "constant", "price": 1.0},
                "pegged_to": "USDe" if mutual_peg else "USD",
            },
            {"id": "USDC", "path": {"kind": "constant", "price": 1.0}, "pegged_to": "USD"},
        ],
        "chains": [{"id": "ethereum"}],
        "markets": [
            {
                "id": "curve-usde",
                "asset": "USDe",
                "impact": {"kind": "constant_product", "depth_usd": 1e8},
            }
        ],
        "oracles": [
            {
                "id": "usde-market",
                "kind": "oracle.chainlink",
                "params": chainlink("USDe", ["curve-usde"]),
            },
            {"id": "usdt-usd", "kind": "oracle.chainlink", "params": chainlink("USDT", [])},
            {"id": "usdc-usd", "kind": "oracle.chainlink", "params": chainlink("USDC", [])},
            {
                "id": "usde-via-usdt",
                "kind": "oracle.fixed",
                "params": {"asset": "USDe", "follows": "usdt-usd"},
            },
        ],
        "venues": [
            {"id": "lender-a", "kind": "lending.aave_v3", "params": lender("usde-market")},
            {"id": "lender-b", "kind": "lending.aave_v3", "params": lender("usde-via-usdt")},
        ],
    }


USDE_LT = 0.9
USDE_HF = (1.05, 1.20)
USDE_TOKENS = 10_000.0


@pytest.fixture
def depeg() -> tuple[Simulation, ExposureGraph]:
    sim = Simulation(Scenario.from_dict(depeg_scenario_dict()))
    for venue in ("lender-a", "lender-b"):
        _set_book(sim, venue, [USDE_TOKENS] * 2, list(USDE_HF))
    return sim, ExposureGraph.from_simulation(sim)


def _by_venue(br: Any) -> dict[str, int]:
    return {str(r["venue"]): int(r["positions"]) for r in br.by_venue.to_dict(orient="records")}


# -- blast radius, hand-built -------------------------------------------------------------


def test_oracle_shock_crosses_only_the_position_below_the_new_line(hand_built: Any) -> None:
    """HF 1.10, 1.20, 1.30 under a -10% collateral oracle become 0.99, 1.08, 1.17: one crosses."""
    _, graph = hand_built
    br = graph.blast_radius(oracle="eth-usd", shock=-0.1)
    expected_debt = HAND_ETH * ETH_PRICE * ETH_LT / 1.10
    assert br.positions == 1
    assert br.accounts == 1
    assert br.debt_usd == pytest.approx(expected_debt, rel=1e-12)
    assert br.collateral_usd == pytest.approx(HAND_ETH * ETH_PRICE, rel=1e-12)
    assert br.oracles == ("eth-usd",)
    row = br.detail.iloc[0]
    assert int(row["account"]) == 0
    assert row["health_before"] == pytest.approx(1.10, rel=1e-12)
    assert row["health_after"] == pytest.approx(0.99, rel=1e-12)
    assert br.oracle_moves["shocked_answer"].tolist() == pytest.approx([ETH_PRICE * 0.9])


@pytest.mark.parametrize(
    ("shock", "crossing"),
    [(-0.05, 0), (-0.10, 1), (-0.20, 2), (-0.25, 3)],
)
def test_oracle_shock_count_follows_health_times_factor(
    hand_built: Any, shock: float, crossing: int
) -> None:
    """A position crosses iff HF · (1 + shock) < 1: 1.10, 1.20, 1.30 need -9.1%, -16.7%, -23.1%."""
    _, graph = hand_built
    assert graph.blast_radius(oracle="eth-usd", shock=shock).positions == crossing


def test_asset_depeg_of_collateral_matches_its_oracle_shock(hand_built: Any) -> None:
    """An ETH depeg moves the ETH feed that observes the ETH pool: same answer as the feed."""
    _, graph = hand_built
    by_asset = graph.blast_radius(asset="ETH", shock=-0.1)
    assert by_asset.oracles == ("eth-usd",)
    assert by_asset.positions == 1
    assert by_asset.debt_usd == pytest.approx(HAND_ETH * ETH_PRICE * ETH_LT / 1.10, rel=1e-12)


def test_debt_asset_rising_lowers_health(hand_built: Any) -> None:
    """USDC up 20% divides HF by 1.2: 1.10 → 0.917 crosses, 1.20 → 1.0 and 1.30 do not."""
    _, graph = hand_built
    br = graph.blast_radius(oracle="usdc-usd", shock=0.2)
    assert br.positions == 1
    assert br.debt_usd == pytest.approx(HAND_ETH * ETH_PRICE * ETH_LT / 1.10, rel=1e-12)


def test_venue_halt_exposes_every_position(hand_built: Any) -> None:
    """A halted venue exposes all its positions and their full USD, whatever their health."""
    _, graph = hand_built
    br = graph.blast_radius(venue="aave")
    assert br.positions == 3
    assert br.accounts == 3
    assert br.debt_usd == pytest.approx(
        sum(HAND_ETH * ETH_PRICE * ETH_LT / hf for hf in HAND_HF), rel=1e-12
    )
    assert br.collateral_usd == pytest.approx(3 * HAND_ETH * ETH_PRICE, rel=1e-12)
    assert br.oracles == ()


def test_rank_oracles_orders_by_debt_at_risk(hand_built: Any) -> None:
    """At -10%, the ETH feed puts one position at risk and the USDC feed (debt side) none."""
    _, graph = hand_built
    ranked = graph.rank_oracles(shock=-0.1)
    assert ranked["oracle"].tolist() == ["eth-usd", "usdc-usd"]
    assert ranked["positions"].tolist() == [1, 0]


def test_unknown_target_names_valid_ids(hand_built: Any) -> None:
    """An unknown oracle id fails with the list of the ones that exist."""
    _, graph = hand_built
    with pytest.raises(KeyError, match="usdc-usd"):
        graph.blast_radius(oracle="btc-usd")
    with pytest.raises(ValueError, match="exactly one"):
        graph.blast_radius(oracle="eth-usd", asset="ETH")


# -- asset depeg through different oracle routes ------------------------------------------


def test_usde_depeg_reaches_only_the_market_priced_venue(depeg: Any) -> None:
    """A USDe depeg moves the feed of the USDe market, not the one that follows USDT/USD."""
    _, graph = depeg
    br = graph.blast_radius(asset="USDe", shock=-0.1)
    assert br.oracles == ("usde-market",)
    # HF 1.05 → 0.945 crosses, 1.20 → 1.08 does not; lender-b does not move at all.
    assert _by_venue(br) == {"lender-a": 1, "lender-b": 0}
    assert br.debt_usd == pytest.approx(USDE_TOKENS * USDE_LT / 1.05, rel=1e-12)
    assert br.collateral_usd == pytest.approx(USDE_TOKENS, rel=1e-12)


def test_usdt_depeg_reaches_the_venue_following_usdt(depeg: Any) -> None:
    """A USDT depeg moves USDT/USD and the USDe feed following it: only lender-b is hit."""
    _, graph = depeg
    br = graph.blast_radius(asset="USDT", shock=-0.1)
    assert br.oracles == ("usde-via-usdt", "usdt-usd")
    assert _by_venue(br) == {"lender-a": 0, "lender-b": 1}


def test_oracle_shock_moves_its_followers(depeg: Any) -> None:
    """Shocking USDT/USD moves every oracle that follows it, so lender-b's USDe falls too."""
    _, graph = depeg
    assert graph.followers("usdt-usd") == ["usde-via-usdt"]
    br = graph.blast_radius(oracle="usdt-usd", shock=-0.1)
    assert set(br.oracles) == {"usdt-usd", "usde-via-usdt"}
    assert _by_venue(br) == {"lender-a": 0, "lender-b": 1}


def test_shared_collateral_names_each_venues_oracle(depeg: Any) -> None:
    """USDe collateral sits on both venues, half each, priced by different feeds."""
    _, graph = depeg
    shared = graph.shared_collateral("USDe").sort_values("venue", ignore_index=True)
    assert shared["venue"].tolist() == ["lender-a", "lender-b"]
    assert shared["collateral_usd"].tolist() == pytest.approx([2 * USDE_TOKENS] * 2)
    assert shared["share"].tolist() == pytest.approx([0.5, 0.5])
    assert shared["positions"].tolist() == [2, 2]
    assert shared["oracle"].tolist() == ["usde-market", "usde-via-usdt"]


def test_paths_run_from_oracle_through_followers_to_group(depeg: Any) -> None:
    """USDT/USD reaches lender-b's borrowers only through the USDe feed that follows it."""
    _, graph = depeg
    assert graph.paths("usdt-usd", "group:lender-b/USDe-USDC") == [
        ["oracle:usdt-usd", "oracle:usde-via-usdt", "venue:lender-b", "group:lender-b/USDe-USDC"]
    ]
    assert graph.paths("usdt-usd", "group:lender-a/USDe-USDC") == []


def test_rank_assets_puts_unreached_assets_at_zero(depeg: Any) -> None:
    """At -10%, USDe and USDT each put one position at risk; USDC (debt only) puts none."""
    _, graph = depeg
    ranked = graph.rank_assets(shock=-0.1).set_index("asset")
    assert ranked.loc["USDe", "positions"] == 1
    assert ranked.loc["USDT", "positions"] == 1
    assert ranked.loc["USDC", "positions"] == 0
    assert "USD" not in ranked.index  # the numeraire of the pegs is not an asset to shock


def test_mutual_pegs_form_a_cycle() -> None:
    """Two assets pegged to each other are one cycle of mutual exposure; otherwise none."""
    graph = ExposureGraph.from_scenario(Scenario.from_dict(depeg_scenario_dict(mutual_peg=True)))
    assert graph.cycles() == [["asset:USDT", "asset:USDe"]]
    plain = ExposureGraph.from_scenario(Scenario.from_dict(depeg_scenario_dict()))
    assert plain.cycles() == []


# -- agreement with a run -------------------------------------------------------------------


@pytest.mark.parametrize("target", [{"oracle": "eth-usd"}, {"asset": "ETH"}])
def test_first_order_agrees_with_a_run_without_keepers(target: dict[str, str]) -> None:
    """With no keeper and an instant -20% jump, the venue's first risk check after the oracle
    lands finds exactly the positions and debt the first-order blast radius predicts."""
    data = tiny_scenario_dict(accounts=2_000, horizon_s=1_800.0)
    data["agents"] = []
    data["shocks"] = [
        {"kind": "price_jump", "at_s": 600.0, "asset": "ETH", "change": -0.2, "duration_s": 0.0}
    ]
    sim = Simulation(Scenario.from_dict(data), seed=3)
    predicted = ExposureGraph.from_simulation(sim).blast_radius(shock=-0.2, **target)
    assert predicted.positions > 0
    sim.run_until(1_200.0)
    log = sim.context.log
    shock_t = float(log.frame(ShockApplied)["t"].iloc[0])
    found = log.frame(PositionsBecameLiquidatable)
    assert (found["t"] >= shock_t).all()  # nothing was liquidatable before the shock
    assert len(found) == 1  # one oracle update, one risk check that finds them
    assert int(found["count"].iloc[0]) == predicted.positions
    assert float(found["debt_usd"].iloc[0]) == pytest.approx(predicted.debt_usd, rel=1e-9)


def test_queries_refuse_a_simulation_that_moved_on(hand_built: Any) -> None:
    """A graph shows one moment: after the run advances, first-order queries refuse to answer."""
    sim, graph = hand_built
    sim.run_until(60.0)
    with pytest.raises(RuntimeError, match="build a new graph"):
        graph.blast_radius(oracle="eth-usd")
    later = ExposureGraph.from_simulation(sim)
    assert later.t == 60.0
    assert later.blast_radius(oracle="eth-usd", shock=-0.1).positions == 1


# -- structure ------------------------------------------------------------------------------


def test_nodes_and_edges_have_kinds_relations_and_usd(depeg: Any) -> None:
    """Every node has a known kind and every edge a known relation and a USD weight >= 0."""
    _, graph = depeg
    kinds = {d["kind"] for _, d in graph.graph.nodes(data=True)}
    assert kinds == {"group", "venue", "oracle", "market", "asset", "chain"}
    for _, _, _, d in edge_items(graph.graph):
        assert d["relation"] in {
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
        }
        assert d["usd"] >= 0.0
    assert graph.graph.has_edge("oracle:usde-via-usdt", "oracle:usdt-usd", "follows")
    assert graph.graph.has_edge("oracle:usde-market", "market:curve-usde", "observes:curve-usde")
    assert graph.graph.has_edge("asset:USDe", "asset:USD", "pegged_to")


@pytest.mark.parametrize("accounts", ["groups", "top:1", "top:3", "all"])
def test_holder_edges_add_up_to_the_venue_totals(hand_built: Any, accounts: str) -> None:
    """However positions are grouped, the collateral and debt edges into a venue sum to the
    venue's own totals, and the positions to its count."""
    sim, _ = hand_built
    graph = ExposureGraph.from_simulation(sim, accounts=accounts)
    venue = graph.graph.nodes["venue:aave"]
    coll = debt = 0.0
    positions = 0
    for u, v, _, d in edge_items(graph.graph):
        if v != "venue:aave":
            continue
        if d["relation"] == "holds_collateral_in":
            coll += d["usd"]
            positions += graph.graph.nodes[u]["positions"]
        elif d["relation"] == "owes":
            debt += d["usd"]
    assert coll == pytest.approx(venue["collateral_usd"], rel=1e-12)
    assert debt == pytest.approx(venue["debt_usd"], rel=1e-12)
    assert positions == venue["positions"] == 3


def test_top_accounts_are_the_largest_debts(hand_built: Any) -> None:
    """``top:1`` shows the position with the most debt (lowest HF here) as its own node."""
    sim, _ = hand_built
    graph = ExposureGraph.from_simulation(sim, accounts="top:1")
    assert graph.nodes_of("account") == ["account:aave/0"]
    assert graph.graph.nodes["group:aave/ETH-USDC"]["positions"] == 2
    with pytest.raises(ValueError, match="top:N"):
        ExposureGraph.from_simulation(sim, accounts="top:0")


# -- exports --------------------------------------------------------------------------------


@pytest.mark.parametrize("accounts", ["groups", "all"])
def test_graphml_and_json_read_back_equal(depeg: Any, tmp_path: Path, accounts: str) -> None:
    """GraphML and node-link JSON exports read back the same nodes, edges and attributes."""
    sim, _ = depeg
    graph = ExposureGraph.from_simulation(sim, accounts=accounts)
    from_graphml = ExposureGraph.from_graphml(graph.to_graphml(tmp_path / "g.graphml"))
    from_json = ExposureGraph.from_json(graph.to_json(tmp_path / "g.json"))
    assert from_graphml == graph
    assert from_json == graph
    assert from_graphml.shared_collateral("USDe").equals(graph.shared_collateral("USDe"))


def test_graph_read_from_a_file_has_no_first_order_queries(depeg: Any, tmp_path: Path) -> None:
    """A graph read from a file answers structural queries but not first-order ones."""
    _, graph = depeg
    back = ExposureGraph.from_json(graph.to_json(tmp_path / "g.json"))
    assert back.followers("usdt-usd") == ["usde-via-usdt"]
    with pytest.raises(RuntimeError, match="live simulation"):
        back.blast_radius(asset="USDe")


def test_html_and_png_exports_write_files(hand_built: Any, tmp_path: Path) -> None:
    """The interactive and static views are written as non-empty files of their format."""
    pytest.importorskip("pyvis")
    pytest.importorskip("matplotlib")
    _, graph = hand_built
    html = graph.to_html(tmp_path / "g.html").read_text(encoding="utf-8")
    assert "venue:aave" in html
    assert "<html" in html
    png = graph.to_png(tmp_path / "g.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
