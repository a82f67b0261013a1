"""Comet in a run: absorbs pay debts out of reserves (which go negative on a shortfall) and the
storefront sells the absorbed collateral only while reserves are below target."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.events import BadDebtRealized, LiquidationExecuted
from protosim.protocols.lending.events import (
    AuctionBidPlaced,
    AuctionStarted,
    ReservesChanged,
)

TARGET = 5_000_000.0  # cUSDCv3 targetReserves (mechanics §2.5)


def comet_dict(
    *,
    reserves: float,
    drop: float,
    accounts: int = 400,
    depth_usd: float = 300e6,
    capital_usd: float = 2e6,
) -> dict[str, Any]:
    """cUSDCv3-like market (WETH 0.825/0.895/0.95, storefront 0.5) with an absorber and a buyer."""
    return {
        "name": "comet-absorb",
        "seed": 4,
        "horizon_s": 2 * 3600.0,
        "assets": [
            {"id": "ETH", "decimals": 18, "path": {"kind": "constant", "price": 2000.0}},
            {"id": "USDC", "decimals": 6, "path": {"kind": "constant", "price": 1.0}},
        ],
        "chains": [{"id": "ethereum", "block_time_s": 12.0, "base_fee_gwei": 20.0}],
        "markets": [
            {
                "id": "uniswap",
                "asset": "ETH",
                "impact": {"kind": "constant_product", "depth_usd": depth_usd, "fee_bps": 5.0},
                "recovery_half_life_s": 600.0,
            }
        ],
        "oracles": [
            {
                "id": "eth-usd",
                "kind": "oracle.chainlink",
                "params": {
                    "asset": "ETH",
                    "chain": "ethereum",
                    "observes": ["uniswap"],
                    "deviation_bps": 50.0,
                    "heartbeat_s": 3600.0,
                },
            },
            {"id": "usdc-usd", "kind": "oracle.fixed", "params": {"asset": "USDC"}},
        ],
        "venues": [
            {
                "id": "comet",
                "kind": "lending.compound_v3",
                "params": {
                    "chain": "ethereum",
                    "base": "USDC",
                    "base_oracle": "usdc-usd",
                    "target_reserves": TARGET,
                    "reserves": reserves,
                    "assets": {"ETH": {"oracle": "eth-usd"}},
                    "populations": [
                        {
                            "accounts": accounts,
                            "collateral": "ETH",
                            "collateral_usd": {
                                "kind": "lognormal",
                                "median": 50000.0,
                                "sigma": 1.0,
                            },
                            "health_factor": {"kind": "uniform", "low": 1.0, "high": 1.4},
                        }
                    ],
                },
            }
        ],
        "agents": [
            {"id": "absorber", "kind": "agent.comet_absorber", "params": {"venue": "comet"}},
            {
                "id": "buyer",
                "kind": "agent.comet_buyer",
                "params": {
                    "venue": "comet",
                    "sell_on": {"ETH": "uniswap"},
                    "capital_usd": capital_usd,
                },
            },
        ],
        "shocks": [{"kind": "price_jump", "at_s": 600.0, "asset": "ETH", "change": drop}],
    }


def _run(**kw: Any) -> Simulation:
    sim = Simulation(Scenario.from_dict(comet_dict(**kw)), seed=9)
    sim.run()
    return sim


@pytest.fixture(scope="module")
def gap() -> Simulation:
    """A 20 % gap down: accounts below liquidationFactor/liquidateCF are absorbed at a loss."""
    return _run(reserves=1_000_000.0, drop=-0.20)


@pytest.fixture(scope="module")
def near_target() -> Simulation:
    """Reserves start just under target and a deep pool keeps the price: purchases at the 2.5 %
    discount refill them past it."""
    return _run(reserves=TARGET - 20_000.0, drop=-0.08, depth_usd=3e9, capital_usd=100_000.0)


def test_absorb_with_shortfall_drives_reserves_negative(gap: Simulation) -> None:
    """Reserves pay each absorbed debt; with shortfalls they fall below zero (Comet.absorb)."""
    log = gap.result().log
    changes = log.frame(ReservesChanged)
    absorbs = changes[changes["reason"] == "absorb"]
    assert len(absorbs) > 0
    assert absorbs["balance"].min() < 0
    bad = log.frame(BadDebtRealized)
    assert len(bad) > 0
    assert set(bad["treatment"]) == {"reserves"}
    # Shortfall = debt − credit at the liquidation factor; reserves paid the debt in full.
    liq = log.frame(LiquidationExecuted)
    credit = liq["collateral_seized_usd"] * 0.95
    short = np.maximum(liq["debt_repaid_usd"] - credit, 0.0)
    np.testing.assert_allclose(bad["amount_usd"].sum(), short.sum(), rtol=1e-9)


def test_reserves_ledger_adds_up(gap: Simulation) -> None:
    """Final reserves = start − Σ base paid out on absorb + Σ base paid by buyers."""
    venue = gap.context.venues["comet"]
    changes = gap.result().log.frame(ReservesChanged)
    np.testing.assert_allclose(venue.reserves, 1_000_000.0 + changes["amount"].sum(), rtol=1e-12)


def test_absorbed_collateral_credited_at_liquidation_factor(gap: Simulation) -> None:
    """Base paid out per absorb = value · 0.95 (or the debt, if the account had a shortfall)."""
    log = gap.result().log
    liq = log.frame(LiquidationExecuted)
    absorbs = log.frame(ReservesChanged).query("reason == 'absorb'")
    paid = -absorbs["amount"].to_numpy()
    credit = liq["collateral_seized_usd"].to_numpy() * 0.95
    np.testing.assert_allclose(paid, np.maximum(credit, liq["debt_repaid_usd"].to_numpy()))


def test_storefront_sells_at_the_discount(gap: Simulation) -> None:
    """Each buy's price = oracle price · (1 − 0.5 · (1 − 0.95)) = 97.5 % of it (quoteCollateral)."""
    buys = gap.result().log.frame(AuctionBidPlaced)
    assert len(buys) > 0
    assert (buys["action"] == "buy").all()
    assert set(gap.result().log.frame(AuctionStarted)["kind"]) == {"storefront"}
    answers = gap.result().log.frame(LiquidationExecuted)
    assert len(answers) > 0
    # Prices in USD per ETH: between 97.5 % of the lowest and highest ETH oracle answers.
    from protosim.events import OracleUpdated

    eth = gap.result().log.frame(OracleUpdated)
    lo, hi = eth["answer"].min(), max(eth["answer"].max(), 2000.0)
    assert (buys["price"] >= 0.975 * lo * (1 - 1e-9)).all()
    assert (buys["price"] <= 0.975 * hi * (1 + 1e-9)).all()


def test_storefront_sells_only_below_target(near_target: Simulation) -> None:
    """No buyCollateral once reserves reach targetReserves; collateral is left unsold then."""
    log = near_target.result().log
    changes = log.frame(ReservesChanged)
    buys = changes[changes["reason"] == "buy_collateral"]
    assert len(buys) > 0
    before = buys["balance"] - buys["amount"]
    assert (before < TARGET).all()
    venue = near_target.context.venues["comet"]
    assert venue.reserves >= TARGET
    assert venue.collateral_reserves["ETH"] > 0


def test_absorbs_wait_out_congestion() -> None:
    """With the base fee ×50 (1,000 gwei) above the absorber's 200 gwei cap, absorbs wait until
    the congestion ends."""
    data = comet_dict(reserves=1_000_000.0, drop=-0.20, accounts=100)
    data["agents"][0]["params"]["max_fee_gwei"] = 200.0
    data["shocks"].append(
        {
            "kind": "chain_congestion",
            "at_s": 590.0,
            "chain": "ethereum",
            "duration_s": 1_800.0,
            "base_fee_multiplier": 50.0,
        }
    )
    sim = Simulation(Scenario.from_dict(data), seed=9)
    liq = sim.run().log.frame(LiquidationExecuted)
    assert len(liq) > 0
    assert liq["t"].min() >= 590.0 + 1_800.0


def test_health_under_scales_with_the_collateral_price() -> None:
    """The liquidation ratio is linear in the collateral price: ETH −10 % scales it by 0.9."""
    sim = Simulation(Scenario.from_dict(comet_dict(reserves=0.0, drop=-0.1, accounts=50)), seed=9)
    venue = sim.context.venues["comet"]
    frame = venue.positions_frame()
    np.testing.assert_allclose(
        frame["health_factor"], 0.895 * frame["collateral_usd"] / frame["debt_usd"], rtol=1e-12
    )
    np.testing.assert_allclose(
        venue.health_under({"ETH": 1800.0}), frame["health_factor"] * 0.9, rtol=1e-12
    )


def _cf_cut(**changes: Any) -> dict[str, Any]:
    """The market at a flat ETH price (no buyer selling absorbed collateral into the pool the
    feed watches) with the collateral factors cut at 600 s (liquidateCF 0.895 → 0.80,
    borrowCF 0.825 → 0.75 to stay below it) and `changes`."""
    data = comet_dict(reserves=5e6, drop=-0.2)
    data["agents"] = [a for a in data["agents"] if a["kind"] == "agent.comet_absorber"]
    data["shocks"] = [
        {
            "kind": "parameter_change",
            "at_s": 600.0,
            "venue": "comet",
            "changes": {
                "assets.ETH.liquidate_collateral_factor": 0.80,
                "assets.ETH.borrow_collateral_factor": 0.75,
                **changes,
            },
        }
    ]
    return data


def test_a_liquidate_cf_cut_makes_exactly_the_accounts_below_the_new_line_absorbable() -> None:
    """Comet.isLiquidatable compares Σ Q·P·liquidateCF with the debt, so at a flat price the
    ratio scales with liquidateCF: cutting it from 0.895 to 0.80 makes absorbable exactly the
    accounts whose ratio was below 0.895 / 0.80 = 1.11875, from the change on and not before;
    the absorbs it sets off trace back to it."""
    from protosim.events import PositionsBecameLiquidatable, ShockApplied

    sim = Simulation(Scenario.from_dict(_cf_cut()), seed=9)
    venue = sim.context.venues["comet"]
    ratio0 = venue.liquidation_ratios()
    expected = np.flatnonzero(ratio0 < 0.895 / 0.80)
    assert 0 < expected.size < len(ratio0)
    assert not np.any(np.abs(ratio0 * 0.80 / 0.895 - 1.0) < 1e-9)
    result = sim.run()
    crossed = result.log.frame(PositionsBecameLiquidatable)
    assert int(crossed["count"].sum()) == expected.size
    assert (crossed["t"] >= 600.0).all()
    absorbed = result.log.frame(LiquidationExecuted)
    assert len(absorbed) > 0
    assert np.isin(absorbed["account"].to_numpy(), expected).all()
    root = result.log.root_of(int(absorbed["seq"].min()))
    assert isinstance(root, ShockApplied)
    assert root.shock == "parameter_change"


def test_a_new_liquidation_factor_credits_later_absorbs_at_it() -> None:
    """Comet.absorb credits Σ Q·P·liquidationFactor against the debt and leaves the account
    any excess as base: with the factor moved from 0.95 to 0.90 with the cut, each absorbed
    account keeps max(Q·$2,000·0.90 − debt, 0) USDC (ETH flat at $2,000, USDC $1)."""
    sim = Simulation(Scenario.from_dict(_cf_cut(**{"assets.ETH.liquidation_factor": 0.90})), seed=9)
    venue = sim.context.venues["comet"]
    q0, debt0 = venue.collateral[:, 0].copy(), venue.debt.copy()
    result = sim.run()
    absorbed = np.unique(result.log.frame(LiquidationExecuted)["account"].to_numpy())
    assert absorbed.size > 0
    expected = np.maximum(q0[absorbed] * 2_000.0 * 0.90 - debt0[absorbed], 0.0)
    assert (expected > 0).any()
    np.testing.assert_allclose(venue.supplied[absorbed], expected, rtol=1e-9)


def test_what_a_running_comet_cannot_change_is_refused_naming_the_key() -> None:
    """A collateral's price feed and the reserves (a balance) are not governance parameters:
    the run is refused at build, naming the key."""
    from protosim.errors import ScenarioError

    for key, value, message in (
        ("assets.ETH.oracle", "usdc-usd", "assets.ETH.oracle: cannot change"),
        ("reserves", 0.0, "reserves: cannot change"),
    ):
        data = comet_dict(reserves=5e6, drop=-0.2)
        data["shocks"] = [
            {"kind": "parameter_change", "at_s": 60.0, "venue": "comet", "changes": {key: value}}
        ]
        with pytest.raises(ScenarioError, match=message) as err:
            Simulation(Scenario.from_dict(data))
        assert err.value.key_path == "shocks[0].changes"
