"""The Mango-2022 fixture: spot buys on thin venues lift the median-of-venues oracle, the account
borrows against the inflated MNGO until the venue's liquidity caps stop it, and the lenders are
left short once the price returns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from protosim import Scenario, Simulation
from protosim.catalog import resolve_scenario
from protosim.events import OracleUpdated, TradeExecuted
from protosim.protocols.lending.aave_v3.events import Borrowed
from protosim.protocols.markets.manipulation import ManipulatorBorrowed
from protosim.results import RunResult

START = datetime(2022, 10, 11, 22, 0, tzinfo=UTC)
P0 = 0.0382  # MNGO-PERP trade price (crashes.md §9)
PERP = 483e6  # MNGO in the perp long (crashes.md §9)
QUOTE = PERP * P0 - 5e6  # its quote balance less B's 5M USDC deposit
CAPS = {"USDC": 53.7e6, "USDT": 3.2e6, "OTHER": 116e6 - 53.7e6 - 3.2e6}


def _at(hour: int, minute: int) -> float:
    return (datetime(2022, 10, 11, hour, minute, tzinfo=UTC) - START).total_seconds()


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.from_toml(resolve_scenario("mango-2022"))


@pytest.fixture(scope="module")
def result(scenario: Scenario) -> RunResult:
    return Simulation(scenario).run()


def test_spot_buys_land_on_the_three_venues_at_the_solidus_times(result: RunResult) -> None:
    """Mango at 22:26, AscendEX at 22:27, FTX in five slices 22:25-22:29 (Solidus timeline)."""
    trades = [t for t in result.log.of_type(TradeExecuted) if t.trader == "attacker"]
    times = {(t.venue, t.t) for t in trades}
    assert ("mango-spot", _at(22, 26)) in times
    assert ("ascendex", _at(22, 27)) in times
    assert sorted(t.t for t in trades if t.venue == "ftx") == [_at(22, 25 + k) for k in range(5)]
    assert sum(t.notional_usd for t in trades) == pytest.approx(4.04e6, rel=1e-9)


def test_borrows_are_caused_by_the_pumped_oracle_answer(result: RunResult) -> None:
    """Every borrow names as cause an oracle round of the MNGO index that answered the pumped
    price, at least 5x the pre-attack $0.0382, after the last spot buy."""
    borrows = result.log.of_type(ManipulatorBorrowed)
    assert [b.asset for b in borrows] == ["USDC", "USDT", "OTHER"]
    last_buy = max(t.t for t in result.log.of_type(TradeExecuted) if t.trader == "attacker")
    for b in borrows:
        cause = result.log.get(b.cause)
        assert isinstance(cause, OracleUpdated)
        assert cause.oracle == "mngo-oracle"
        assert cause.observed_at >= last_buy
        assert cause.answer == pytest.approx(b.collateral_price, rel=1e-12)
        assert b.collateral_price > 5 * P0


def test_the_collateral_limit_stops_the_borrowing(result: RunResult) -> None:
    """With no vault-liquidity limit (none is known from before the attack), the first asset
    takes all the borrowing power at the price it borrowed at, 0.8 · 483M · p − 13.45M, to
    within the $1,000 search precision, and ends on COLLATERAL_CANNOT_COVER_NEW_BORROW."""
    first, *rest = result.log.of_type(ManipulatorBorrowed)
    power = 0.8 * PERP * first.collateral_price - QUOTE
    assert power - 1_000.0 <= first.amount_usd <= power
    assert first.stopped_by == "COLLATERAL_CANNOT_COVER_NEW_BORROW"
    assert all(b.amount < 1_000.0 for b in rest)
    venue_total = result.log.frame(Borrowed)
    drained = venue_total[venue_total["asset"].astype(str) != "PERPUSD"]["amount_usd"].sum()
    assert drained == pytest.approx(first.amount_usd + sum(b.amount_usd for b in rest), rel=1e-12)


def test_lenders_are_left_short_once_mngo_returns(result: RunResult) -> None:
    """The attacker never repays; with MNGO back near $0.04 the shortfall the agent reports,
    debt − collateral at the final oracle price, equals the venue's own books."""
    metrics = result.component_metrics
    final = metrics["mngo-oracle"]["last_answer"]
    assert final == pytest.approx(P0, rel=0.05)  # 90 min after, 2^-6 of a 15 min half-life move
    venue = metrics["mango"]
    assert metrics["attacker"]["shortfall_usd"] == pytest.approx(
        venue["debt_usd"] - venue["collateral_usd"], rel=1e-9
    )
    borrowed = metrics["attacker"]["borrowed_usd"]
    assert metrics["attacker"]["shortfall_usd"] == pytest.approx(
        borrowed + QUOTE - PERP * final, rel=1e-9
    )


def test_with_the_drained_amounts_as_vault_limits_those_limits_bind(scenario: Scenario) -> None:
    """What-if (outcome figures as inputs, so not the fixture): borrow caps equal to the
    reported drained amounts. Borrowing power at the pumped price exceeds their $116M iff
    p > (116M + 13.45M) / (0.8 · 483M) = $0.335; it does, so each borrow ends on
    BORROW_CAP_EXCEEDED with the cap borrowed to within $1,000."""
    venues: list[dict[str, Any]] = []
    for v in scenario.venues:
        data = v.model_dump()
        for asset, cap in CAPS.items():
            data["params"]["reserves"][asset]["borrow_cap"] = int(cap)
        venues.append(data)
    result = Simulation(scenario.replace(venues=venues)).run()
    borrows = result.log.of_type(ManipulatorBorrowed)
    threshold = (116e6 + QUOTE) / (0.8 * PERP)
    assert threshold == pytest.approx(0.3351, abs=1e-4)
    assert [b.asset for b in borrows] == ["USDC", "USDT", "OTHER"]
    for b in borrows:
        assert b.collateral_price > threshold
        assert b.stopped_by == "BORROW_CAP_EXCEEDED"
        assert CAPS[b.asset] - 1_000.0 <= b.amount <= CAPS[b.asset]
