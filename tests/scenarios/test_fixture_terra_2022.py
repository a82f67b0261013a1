"""terra-2022: capacity-limited UST redemptions sell LUNA; the LUNA feed sticks above its $0.10
floor while LUNA trades far below; the lending market that trusts it is left underwater."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.catalog import resolve_scenario
from protosim.results import RunResult

START = datetime(2022, 5, 7, tzinfo=UTC)
FLOOR = 0.10  # the LUNA/USD aggregator's minAnswer (crashes.md §5)
CAPACITY = 732_500.0  # UST per 216 s window: $293M a day / 400 windows (scenario comment)
WINDOW_S = 216.0
LUNA_CF = 0.55  # the scenario's LUNA collateral factor


def _t(*args: int) -> float:
    return (datetime(*args, tzinfo=UTC) - START).total_seconds()


@pytest.fixture(scope="module")
def run() -> tuple[Simulation, RunResult]:
    scenario = Scenario.from_toml(resolve_scenario("terra-2022"))
    simulation = Simulation(scenario, seed=scenario.seed)
    return simulation, simulation.run()


@pytest.fixture(scope="module")
def sim(run: tuple[Simulation, RunResult]) -> Simulation:
    return run[0]


@pytest.fixture(scope="module")
def result(run: tuple[Simulation, RunResult]) -> RunResult:
    return run[1]


def test_redemptions_never_exceed_the_market_module_capacity(result: RunResult) -> None:
    """No 216 s window redeems more than 732,500 UST, and while UST is far below the peg
    (10-12 May) the windows run full: the capacity, not the price, limits the burn."""
    trades = result.trades
    redeem = trades[(trades["trader"] == "terra-market-module") & (trades["asset"] == "UST")]
    assert (redeem["quantity"] > 0).all()
    # Windows restart at the first trade after the previous one closed: sum per window start.
    per_window: dict[float, float] = {}
    start = -np.inf
    for t, q in zip(redeem["t"], redeem["quantity"], strict=True):
        if t - start >= WINDOW_S:
            start = t
        per_window[start] = per_window.get(start, 0.0) + q
    assert max(per_window.values()) <= CAPACITY * (1 + 1e-9)
    deep = [q for s, q in per_window.items() if _t(2022, 5, 10) <= s < _t(2022, 5, 12)]
    assert len(deep) > 600  # 2 days / 216 s = 800 windows, minus the ones UST was near par
    assert np.median(deep) == pytest.approx(CAPACITY, rel=1e-9)


def test_every_ust_redeemed_is_luna_sold_at_once(result: RunResult) -> None:
    """Each redemption pays $1 x (1 − 0.5% spread) of LUNA, sold in the same instant on the LUNA
    venue: the USD value of LUNA sold equals 0.995 x UST redeemed, trade by trade."""
    trades = result.trades
    mine = trades[trades["trader"] == "terra-market-module"]
    ust = mine[mine["asset"] == "UST"].set_index("seq")
    luna = mine[mine["asset"] == "LUNA"]
    assert (luna["quantity"] < 0).all()
    assert len(luna) == len(ust)
    # Each LUNA sale follows its redemption and shares its cause.
    assert list(luna["cause"]) == list(ust["cause"])
    # Sold at the venue price before the sale: quantity x price_before = 0.995 x UST.
    value = (-luna["quantity"] * luna["price_before"]).to_numpy()
    assert value == pytest.approx(0.995 * ust["quantity"].to_numpy(), rel=1e-9)


def test_no_redemption_while_the_terra_chain_is_halted(result: RunResult) -> None:
    """Terra halted 16:14Z-17:45Z on 12 May: the market module trades nothing in between."""
    trades = result.trades
    mine = trades[trades["trader"] == "terra-market-module"]
    halt = (mine["t"] >= _t(2022, 5, 12, 16, 14)) & (mine["t"] < _t(2022, 5, 12, 17, 45))
    assert not halt.any()
    assert (mine["t"] >= _t(2022, 5, 12, 17, 45)).any()  # it resumes


def test_feed_rejects_rounds_below_the_floor_and_holds_its_last_answer(result: RunResult) -> None:
    """Rounds observed below $0.10 are rejected from the first time LUNA trades below it; no
    accepted answer is below the floor; after the last accepted round the answer stays put while
    the market goes on falling by >90%."""
    events = result.events
    rejected = events[
        (events["kind"] == "OracleRoundRejected") & (events["oracle"] == "chainlink-luna-usd")
    ]
    assert len(rejected) > 0
    assert (rejected["reason"] == "below_min_answer").all()
    assert (rejected["observed"] < FLOOR).all()
    answers = result.oracle_updates
    luna = answers[answers["oracle"] == "chainlink-luna-usd"]
    assert luna["answer"].min() >= FLOOR
    last = luna.iloc[-1]
    # Rejections start when LUNA first trades below $0.10 (12 May, 08:30-09:30Z bars); the
    # feed lands rounds again while LUNA bounces above it (10:30-11:30Z) and then sticks.
    assert _t(2022, 5, 12, 8, 30) <= rejected["t"].min() < _t(2022, 5, 12, 9, 30)
    assert (rejected["t"] > float(last["t"])).sum() > 100
    # The stuck answer is the last one within a deviation step of the floor (0.5%).
    assert FLOOR <= float(last["answer"]) < FLOOR / (1 - 0.005) ** 2
    prices = result.prices
    market = prices[(prices["asset"] == "LUNA") & (prices["venue"] == "reference")]
    after = market[market["t"] > float(last["t"])]
    assert after["price"].min() < 0.1 * float(last["answer"])


def test_the_stuck_answer_opens_the_floor_exploit(result: RunResult) -> None:
    """A dollar of LUNA bought on the market and deposited borrows CF x answer / market
    dollars: with the answer stuck, that exceeds $1 (LUNA below 55% of the answer) for hours;
    Venus's $11.2M came from exactly this (crashes.md §5)."""
    answers = result.oracle_updates
    stuck = answers[answers["oracle"] == "chainlink-luna-usd"].iloc[-1]
    prices = result.prices
    market = prices[(prices["asset"] == "LUNA") & (prices["venue"] == "reference")]
    after = market[market["t"] > float(stuck["t"])]
    borrow_per_dollar = LUNA_CF * float(stuck["answer"]) / after["price"].to_numpy()
    step = float(np.diff(after["t"]).min())
    hours = (borrow_per_dollar > 1.0).sum() * step / 3_600.0
    assert hours > 6.0
    assert borrow_per_dollar.max() > 5.0  # at ~$0.01, ~$5.5 borrowed per $1 of LUNA


def test_lending_market_ends_with_debt_above_its_collateral(
    sim: Simulation, result: RunResult
) -> None:
    """Liquidations run while the feed follows the market; after it sticks, what is left owes
    more than its collateral is worth even at the stuck answer, and far more at the market."""
    metrics = result.component_metrics["venus"]
    assert metrics["liquidations"] > 0
    assert metrics["debt_usd"] > metrics["collateral_usd"]
    venue = sim.context.venue("venus")
    book = venue.positions_frame()
    open_debt = book[book["debt"] > 0]
    luna_market = result.market.reference_price("LUNA", result.scenario.horizon_s)
    market_value = float((open_debt["collateral"] * luna_market).sum())
    assert market_value < 0.2 * float(open_debt["debt_usd"].sum())
