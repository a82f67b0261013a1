"""Compound v2 in a run: an ETH fall cascades through liquidations that feed the reserves."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.events import LiquidationExecuted, OracleUpdated, ShockApplied
from protosim.protocols.lending.events import ReservesChanged

SEIZE_SHARE = (
    0.028  # protocolSeizeShareMantissa since the 2021 cToken upgrade (CTokenInterfaces.sol)
)


def compound_v2_dict(
    *, accounts: int = 1_000, depth_usd: float = 100e6, congestion: bool = False
) -> dict[str, Any]:
    """ETH/USDC Compound v2 market, a Chainlink-style ETH feed on a pool the keeper sells into."""
    shocks: list[dict[str, Any]] = [
        {"kind": "price_jump", "at_s": 600.0, "asset": "ETH", "change": -0.15, "duration_s": 300.0}
    ]
    if congestion:
        shocks.append(
            {
                "kind": "chain_congestion",
                "at_s": 590.0,
                "chain": "ethereum",
                "duration_s": 1_800.0,
                "base_fee_multiplier": 50.0,
                "background_gas_share": 0.99,
                "background_priority_fee_gwei": 500.0,
            }
        )
    return {
        "name": "compound-v2-cascade",
        "seed": 3,
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
                "impact": {"kind": "constant_product", "depth_usd": depth_usd, "fee_bps": 30.0},
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
                "id": "compound",
                "kind": "lending.compound_v2",
                "params": {
                    "chain": "ethereum",
                    "protocol_seize_share": SEIZE_SHARE,
                    "markets": {
                        "ETH": {"oracle": "eth-usd", "collateral_factor": 0.75},
                        "USDC": {
                            "oracle": "usdc-usd",
                            "decimals": 6,
                            "collateral_factor": 0.75,
                            "exchange_rate": 0.0002,
                            "cash": 50e6,
                        },
                    },
                    "populations": [
                        {
                            "accounts": accounts,
                            "collateral": "ETH",
                            "debt": "USDC",
                            "collateral_usd": {
                                "kind": "lognormal",
                                "median": 20000.0,
                                "sigma": 1.0,
                            },
                            "health_factor": {"kind": "uniform", "low": 1.02, "high": 1.6},
                        }
                    ],
                },
            }
        ],
        "agents": [
            {
                "id": "keeper",
                "kind": "agent.lending_keeper",
                "params": {"venue": "compound", "sell_on": {"ETH": "uniswap"}, "latency_s": 1.0},
            }
        ],
        "shocks": shocks,
    }


def _run(**kw: Any) -> Simulation:
    sim = Simulation(Scenario.from_dict(compound_v2_dict(**kw)), seed=5)
    sim.run()
    return sim


@pytest.fixture(scope="module")
def cascade() -> tuple[Simulation, np.ndarray]:
    sim = Simulation(Scenario.from_dict(compound_v2_dict()), seed=5)
    health_at_start = sim.context.venues["compound"].health_factors(0)
    sim.run()
    return sim, health_at_start


def test_price_fall_cascades_below_the_shocked_price(
    cascade: tuple[Simulation, np.ndarray],
) -> None:
    """Keepers' sales push the oracle below the 15 % shock and liquidate accounts that the
    shock alone left healthy (HF at start · 0.85 >= 1)."""
    sim, hf0 = cascade
    result = sim.result()
    liq = result.liquidations
    assert len(liq) > 0
    answers = result.log.frame(OracleUpdated)
    assert answers["answer"].min() < 2000.0 * 0.85 * 0.99
    assert (liq["health_before"] < 1.0).all()
    # USDC is at $1 and ETH fell 15 %: HF scales by 0.85 (no interest model here).
    spared_by_shock = hf0[liq["account"].unique()] * 0.85 >= 1.0
    assert spared_by_shock.sum() > 10


def test_reserves_grow_by_the_seize_share(cascade: tuple[Simulation, np.ndarray]) -> None:
    """ΔtotalReserves of cETH = Σ seize share · seized (CToken.seizeInternal), no interest model."""
    sim, _ = cascade
    result = sim.result()
    liq = result.liquidations
    seized = float(liq["collateral_seized"].sum())
    reserves = result.log.frame(ReservesChanged)
    np.testing.assert_allclose(reserves["amount"].sum(), SEIZE_SHARE * seized, rtol=1e-9)
    venue = sim.context.venues["compound"]
    # The cToken stores reserves in base units: at most one wei of rounding per liquidation.
    assert abs(venue.markets["ETH"].reserves - SEIZE_SHARE * seized) <= len(liq) * 1e-18 + 1e-9
    np.testing.assert_allclose(liq["protocol_fee"], SEIZE_SHARE * liq["collateral_seized"])


def test_liquidation_seizes_incentive_times_repaid(cascade: tuple[Simulation, np.ndarray]) -> None:
    """Seized USD = 1.08 × repaid USD at the oracle prices (liquidateCalculateSeizeTokens)."""
    liq = cascade[0].result().liquidations
    full = liq[liq["debt_repaid_usd"] > 0]
    ratio = full["collateral_seized_usd"] / full["debt_repaid_usd"]
    capped = ratio < 1.08 * (1 - 1e-9)  # collateral ran out: seized all there was
    np.testing.assert_allclose(ratio[~capped], 1.08, rtol=1e-9)


def test_every_liquidation_traces_to_the_shock(cascade: tuple[Simulation, np.ndarray]) -> None:
    """Each liquidation's cause chain ends at the ETH price shock."""
    result = cascade[0].result()
    for seq in result.liquidations["seq"].to_numpy()[:200]:
        assert isinstance(result.log.root_of(int(seq)), ShockApplied)


def test_congestion_delays_keepers() -> None:
    """With blocks full and base fee ×50 the keepers' transactions wait: liquidations come later."""
    calm = _run(accounts=300).result().log.frame(LiquidationExecuted)
    jam = _run(accounts=300, congestion=True).result().log.frame(LiquidationExecuted)
    assert len(calm) > 0
    first_calm = calm["t"].min()
    first_jam = jam["t"].min() if len(jam) else np.inf
    assert first_jam > first_calm + 60.0


def test_borrow_index_accrues_from_the_jump_rate_model() -> None:
    """USDC borrow index after the run lies between simple and compounded interest at the
    model's rate: 1 + r·B <= index <= exp(r·B), r per block, B blocks accrued.

    Base rate 10 %/yr with no utilization slope is a constant r = 0.1e18 // 2,102,400 per block
    (JumpRateModel.v1), whatever the utilization.
    """
    data = compound_v2_dict(accounts=200)
    usdc = data["venues"][0]["params"]["markets"]["USDC"]
    usdc["interest_model"] = {
        "version": "v1",
        "base_rate_per_year": 0.10,
        "multiplier_per_year": 0.0,
        "jump_multiplier_per_year": 0.0,
        "kink": 0.8,
    }
    sim = Simulation(Scenario.from_dict(data), seed=5)
    sim.run()
    market = sim.context.venues["compound"].markets["USDC"]
    r = (10**17 // 2_102_400) / 1e18
    blocks = market.accrual_block
    assert blocks > 100
    assert 1 + r * blocks - 1e-12 <= market.borrow_index <= np.exp(r * blocks) + 1e-12
    assert market.borrow_index > 1.0


def test_health_under_divides_by_the_debt_price() -> None:
    """HF = CF · collateral USD / debt USD, so a debt price of $1.25 divides every HF by 1.25."""
    sim = Simulation(Scenario.from_dict(compound_v2_dict(accounts=50)), seed=5)
    venue = sim.context.venues["compound"]
    frame = venue.positions_frame()
    assert len(frame) == 50
    np.testing.assert_allclose(
        frame["health_factor"], 0.75 * frame["collateral_usd"] / frame["debt_usd"], rtol=1e-12
    )
    np.testing.assert_allclose(
        venue.health_under({"USDC": 1.25}), frame["health_factor"] / 1.25, rtol=1e-12
    )


def test_a_collateral_factor_cut_puts_exactly_the_accounts_below_the_new_line_in_shortfall() -> (
    None
):
    """``_setCollateralFactor`` from 75 % to 60 % at a flat price: liquidity scales with the
    factor, so exactly the accounts with HF₀ < 0.75 / 0.60 = 1.25 fall into shortfall, at the
    change and not before, and the keeper (holding what it seizes, so no sale moves the price)
    liquidates only them."""
    from protosim.events import ParameterChanged, PositionsBecameLiquidatable

    data = compound_v2_dict(accounts=400)
    data["agents"][0]["params"]["sell_on"] = {}
    data["shocks"] = [
        {
            "kind": "parameter_change",
            "at_s": 600.0,
            "venue": "compound",
            "changes": {"markets.ETH.collateral_factor": 0.6},
        }
    ]
    sim = Simulation(Scenario.from_dict(data), seed=5)
    hf0 = sim.context.venues["compound"].health_factors(0)
    expected = int((hf0 < 0.75 / 0.6).sum())
    assert 0 < expected < len(hf0)
    result = sim.run()
    crossed = result.log.frame(PositionsBecameLiquidatable).sort_values("seq")
    # The first check after the change finds them all; later ones are accounts a partial
    # liquidation (close factor 50 %) left in shortfall, counted again.
    assert int(crossed["count"].iloc[0]) == expected
    assert (crossed["t"] >= 600.0).all()
    liq = result.log.frame(LiquidationExecuted)
    assert len(liq) > 0
    assert (hf0[liq["account"].to_numpy()] < 0.75 / 0.6).all()
    (change,) = result.log.of_type(ParameterChanged)
    assert (change.before, change.after) == ("0.75", "0.6")


def test_a_compound_oracle_cannot_change_mid_run() -> None:
    """A market's oracle is set-up, not a Comptroller parameter: refused when the run is built,
    naming the key."""
    from protosim.errors import ScenarioError

    data = compound_v2_dict(accounts=10)
    data["shocks"] = [
        {
            "kind": "parameter_change",
            "at_s": 600.0,
            "venue": "compound",
            "changes": {"markets.ETH.oracle": "usdc-usd"},
        }
    ]
    with pytest.raises(ScenarioError, match=r"markets\.ETH\.oracle"):
        Simulation(Scenario.from_dict(data))
