"""steth-2022: forced stETH sales move Curve's pool by its invariant, the discount buyers' carry
floors the discount, the market feed carries it into Aave v2 health factors, and the large
accounts survive; a 1:1 oracle would have seen nothing."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.amm.stableswap import get_D_float
from protosim.catalog import fixtures_root, resolve_scenario
from protosim.results import RunResult

YEAR_S = 365 * 86_400.0
WAIT_S = YEAR_S  # the withdrawal queue is stalled for 365 days from the start
CARRY = 0.05
LARGE = 3  # the first population of each venue: Gauntlet's three large accounts


@pytest.fixture(scope="module")
def run() -> tuple[Simulation, RunResult]:
    scenario = Scenario.from_toml(resolve_scenario("steth-2022"))
    simulation = Simulation(scenario, seed=scenario.seed)
    return simulation, simulation.run()


@pytest.fixture(scope="module")
def sim(run: tuple[Simulation, RunResult]) -> Simulation:
    return run[0]


@pytest.fixture(scope="module")
def result(run: tuple[Simulation, RunResult]) -> RunResult:
    return run[1]


def test_pool_size_is_the_mid_june_invariant() -> None:
    """The pool's depth is D of 111.3K ETH + 491K stETH at A = 50 (crashes.md §6), and those
    balances quote 0.93-0.95 ETH per stETH, as recorded mid-June (a check, not a fit)."""
    from protosim.amm.stableswap import spot_price

    d = get_D_float([491.0e3, 111.3e3], 50.0)
    assert d == pytest.approx(598_478.0, rel=1e-6)
    assert 0.93 <= spot_price([491.0e3, 111.3e3], 50.0, 0, 1) <= 0.95


def test_pool_opens_at_the_recorded_ratio(result: RunResult) -> None:
    """Before any sale the pool is moved to the recorded 8 Jun 00:00Z ratio (first row of the
    fixture's CSV): the trade of the t = 0 shock leaves it there."""
    data = fixtures_root() / "steth-2022" / "data" / "coingecko_STETHETH_1h.csv"
    with data.open(encoding="utf-8") as fh:
        first = next(csv.DictReader(fh))
    assert first["time_utc"] == "2022-06-08T00:00:00Z"
    trades = result.trades
    opening = trades[trades["trader"] == "may-2022-sales"]
    assert len(opening) == 1
    assert float(opening["price_after"].iloc[0]) == pytest.approx(float(first["close"]), abs=1e-4)


def test_forced_sales_are_sold_in_full_at_any_price(result: RunResult) -> None:
    """Alameda's 50K and 3AC's 112K stETH are sold in full on schedule, every slice a sale."""
    metrics = result.component_metrics
    assert metrics["alameda"]["sold"] == pytest.approx(50_000.0)
    assert metrics["three-arrows"]["sold"] == pytest.approx(112_000.0)
    trades = result.trades
    forced = trades[trades["trader"].isin(["alameda", "three-arrows"])]
    assert (forced["quantity"] < 0).all()
    assert (forced["price_after"] < forced["price_before"]).all()


def test_discount_floor_is_the_buyers_carry(result: RunResult) -> None:
    """Discount buyers hold stETH until withdrawals open: they buy while the pool is below
    1 / (1 + 5% x wait left / year). After each of their purchases the pool sits at that floor
    (hand formula, 0 fee), so 3AC's sale cannot push it deeper than ~0.952 for long."""
    trades = result.trades
    buys = trades[trades["trader"] == "discount-buyers"]
    assert len(buys) > 0
    assert (buys["quantity"] > 0).all()
    floor = 1.0 / (1.0 + CARRY * (WAIT_S - buys["t"].to_numpy()) / YEAR_S)
    assert buys["price_after"].to_numpy() == pytest.approx(floor, rel=1e-6)
    assert 0.95 < floor.min() < 0.955


def test_three_arrows_proceeds_match_the_reported_haircut(result: RunResult) -> None:
    """3AC's 112,000 stETH fetch between 104K and 108K ETH; Nansen reported ~106,000 ETH. Not an
    input: it follows from the pool's invariant and the buyers' floor."""
    proceeds = result.component_metrics["three-arrows"]["proceeds_usd"]  # ETH numeraire
    assert 104_000.0 < proceeds < 108_000.0


def test_market_feed_carries_the_discount(result: RunResult) -> None:
    """The Chainlink stETH/ETH feed's answers follow the pool: its lowest answer is within its
    0.5% deviation band of the pool's lowest price, and well below par."""
    answers = result.oracle_updates
    steth = answers[answers["oracle"] == "chainlink-steth-eth"]
    pool_low = result.min_prices()["stETH@curve-steth"]
    assert steth["answer"].min() == pytest.approx(pool_low, rel=0.005)
    assert steth["answer"].min() < 0.96


def test_large_accounts_survive_and_a_one_to_one_oracle_sees_nothing(
    sim: Simulation, result: RunResult
) -> None:
    """No Aave v2 stETH liquidation, no bad debt (as reported). The large accounts' health falls
    by the feed's discount and stays above 1; each would be liquidated at a ratio of 1 / (health
    at par), 0.79-0.85 for health 1.18-1.26: a further 10-17% below the run's low, as Gauntlet's
    "another 10-12%" for the closest. The 1:1-priced venue keeps every health factor >= 1.05."""
    assert len(result.liquidations) == 0
    assert result.summary()["bad_debt_usd"] == 0.0
    market = sim.context.venue("aave-v2")
    health = market.positions_frame()["health_factor"].to_numpy()
    large = health[:LARGE]
    answer = sim.context.oracle("chainlink-steth-eth").read().price
    assert 1.0 < large.min() < 1.26 * answer + 1e-9
    liquidated_at = 1.0 / market.health_under({"stETH": 1.0})[:LARGE]
    assert ((liquidated_at > 1 / 1.26 - 1e-9) & (liquidated_at < 1 / 1.18 + 1e-9)).all()
    further = 1.0 - liquidated_at.max() / result.min_prices()["stETH@curve-steth"]
    assert 0.10 < further < 0.17
    fundamental = sim.context.venue("aave-v2-fundamental").positions_frame()
    assert math.isclose(fundamental["collateral_usd"].sum(), fundamental["collateral"].sum())
    assert np.all(fundamental["health_factor"].to_numpy() >= 1.05 - 1e-9)
