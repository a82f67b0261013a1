"""The shipped unified-margin fixture: collateral priced off the venue's own book."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from protosim import Scenario, Simulation
from protosim.catalog import resolve_scenario
from protosim.results import RunResult

START = datetime(2025, 10, 10, 21, 0, tzinfo=UTC)


def _at(hour: int, minute: int) -> float:
    return (datetime(2025, 10, 10, hour, minute, tzinfo=UTC) - START).total_seconds()


@pytest.fixture(scope="module")
def result() -> RunResult:
    return Simulation(Scenario.from_toml(resolve_scenario("perps-wbeth-own-book"))).run()


def test_own_book_venue_liquidates_only_inside_the_depeg_window(result: RunResult) -> None:
    """The venue pricing wBETH off its own book liquidates from 21:36 on, during the print."""
    liq = result.liquidations
    own = liq[liq["venue"].astype(str) == "binance-own-book"]
    assert len(own) > 0
    assert own["t"].min() >= _at(21, 36)
    assert own["t"].max() <= _at(22, 16) + 60.0


def test_conversion_priced_venue_with_the_same_accounts_is_untouched(result: RunResult) -> None:
    """The same unified book, wBETH valued by conversion ratio × ETH index: no liquidation."""
    venues = set(result.liquidations["venue"].astype(str))
    assert "binance-conversion" not in venues


def test_hyperliquid_liquidates_in_the_eth_drop_only(result: RunResult) -> None:
    """The ETH perp venue without wBETH collateral is hit by the 21:10 ETH move, not the print."""
    liq = result.liquidations
    hl = liq[liq["venue"].astype(str) == "hyperliquid"]
    assert len(hl) > 0
    assert hl["t"].min() >= _at(21, 10)
    assert hl["t"].max() < _at(21, 36)
