"""The oct-2025 fixture: Binance's own-book collateral depeg liquidates unified-margin accounts
inside 21:36-22:16 UTC, while Aave, pricing USDe off USDT, liquidates none of its USDe book.

Fast: the fixture's populations cut ~20× and the window cut at 22:30 UTC through ``--set``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from protosim import Simulation
from protosim.events import LiquidationExecuted, OracleUpdated
from protosim.replay import load_fixture, parse_assignments
from protosim.results import RunResult

START = datetime(2025, 10, 10, 16, 0, tzinfo=UTC)
SMALL = ["horizon_s=23400"] + [
    f"venues.{venue}.params.populations[{i}].accounts={n}"
    for venue, sizes in {
        "binance": (600, 500, 300, 150, 450),
        "hyperliquid": (400, 400, 200),
        "other-cex": (500, 400, 200, 50),
        "aave-v3": (100, 600, 200, 300),
    }.items()
    for i, n in enumerate(sizes)
]


def _at(hour: int, minute: int) -> float:
    return (datetime(2025, 10, 10, hour, minute, tzinfo=UTC) - START).total_seconds()


@pytest.fixture(scope="module")
def result() -> RunResult:
    fixture = load_fixture("oct-2025", require_reported=True)
    return Simulation(fixture.scenario.with_values(parse_assignments(SMALL))).run()


def _liquidations(result: RunResult) -> dict[str, np.ndarray]:
    log = result.log
    return {
        name: log.column(LiquidationExecuted, name)
        for name in ("venue", "collateral_asset", "t", "account")
    }


def test_fixture_folder_is_complete() -> None:
    """The folder loads: scenario, reported.toml naming the folder, README, SOURCES.md."""
    fixture = load_fixture("oct-2025", require_reported=True)
    assert fixture.reported is not None
    assert fixture.reported.event == "oct-2025"
    assert {p.name for p in fixture.data_files} >= {
        "binance_USDEUSDT_1m.csv",
        "uniswapv3_USDEUSDT_1m.csv",
        "binance_BTCUSDT_15m.csv",
    }


def test_unified_margin_liquidations_fall_inside_the_depeg_window(result: RunResult) -> None:
    """Binance sells unified accounts' USDe during 21:36-22:16 UTC, after its own-book USDe
    index has gone below 0.85, which the replayed bars first do at 21:36 (D2: low 0.84)."""
    liq = _liquidations(result)
    unified = (liq["venue"] == "binance") & (liq["collateral_asset"] == "USDe_binance")
    window = (liq["t"] >= _at(21, 36)) & (liq["t"] < _at(22, 16))
    inside = unified & window
    assert inside.sum() > 0
    log = result.log
    oracle = log.column(OracleUpdated, "oracle")
    own = oracle == "usde-binance-index"
    t = log.column(OracleUpdated, "t")[own]
    answer = log.column(OracleUpdated, "answer")[own]
    first_inside = liq["t"][inside].min()
    depegged = t[(answer < 0.85) & (t <= first_inside)]
    assert depegged.size > 0
    assert depegged.min() >= _at(21, 36)


def test_aave_usde_positions_are_untouched(result: RunResult) -> None:
    """Aave's USDe answer follows USDT ($1 throughout) and no USDe position is liquidated,
    while Binance's index of the same token goes below 0.7."""
    liq = _liquidations(result)
    assert not ((liq["venue"] == "aave-v3") & (liq["collateral_asset"] == "USDe")).any()
    log = result.log
    oracle = log.column(OracleUpdated, "oracle")
    answer = log.column(OracleUpdated, "answer")
    assert np.all(answer[oracle == "aave-usde"] >= 0.99)  # any update it made
    assert result.component_metrics["aave-usde"]["last_answer"] == 1.0
    assert answer[oracle == "usde-binance-index"].min() < 0.7  # D2's 0.6567 bar low


def test_no_hyperliquid_adl_before_the_crash(result: RunResult) -> None:
    """Before the tariff shock starts the crash at 20:50 UTC nothing is auto-deleveraged
    (crashes §1: first ADL 21:16:04). Liquidation orders continue one metaorder in the book, so
    the afternoon's drift cannot crash Hyperliquid's own SOL book and empty its vault."""
    names = {k.__name__: k for k in result.log.kinds}
    adl = result.log.column(names["AdlExecuted"], "t") if "AdlExecuted" in names else []
    assert all(t >= _at(20, 50) for t in adl)


def test_aave_liquidates_eth_and_btc_collateral_only_after_the_crash_begins(
    result: RunResult,
) -> None:
    """Aave's ETH/wstETH/WBTC borrowers (Chainlink ETH/USD, BTC/USD; CAPO for wstETH) are
    liquidated mostly once the crash takes ETH ~20 % and BTC ~12 % down (from 20:50 UTC,
    crashes §1: ~$180M in ~1 h); before it only the thin tail at health 1.02 goes, on the
    afternoon's ~2 % drift. No USDe position is among them."""
    liq = _liquidations(result)
    aave = liq["venue"] == "aave-v3"
    assert set(liq["collateral_asset"][aave]) <= {"ETH", "wstETH", "BTC"}
    assert {"ETH", "BTC"} <= set(liq["collateral_asset"][aave])
    usd = result.log.column(LiquidationExecuted, "debt_repaid_usd")[aave]
    crash = liq["t"][aave] >= _at(20, 50)
    assert usd[crash].sum() > 0.8 * usd.sum()
