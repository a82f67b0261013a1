"""Portfolio risk across venues: liquidation prices, headroom, scenario checks, sizing, hedges."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from protosim.cli import main
from protosim.protocols.portfolio import (
    LendingPosition,
    PerpPosition,
    Portfolio,
    SpotPosition,
    check,
    headroom,
    hedge_analysis,
    liquidation_prices,
    size_for,
)

LOAN = LendingPosition(
    kind="lending",
    venue="aave",
    collateral={"ETH": 10.0},
    debt={"USDC": 16_600.0},
    liquidation_threshold={"ETH": 0.83},
)


def _book(*positions: object, eth: float = 2_000.0, capital: float | None = None) -> Portfolio:
    return Portfolio(
        prices={"ETH": eth, "USDC": 1.0, "WBTC": 60_000.0},
        positions=positions,  # type: ignore[arg-type]
        capital_usd=capital,
    )


def test_lending_liquidation_price_solves_health_equal_one() -> None:
    """10 ETH at LT 83% against 16,600 USDC: HF = 1 at 16,600 / (10 · 0.83) = 2,000."""
    table = liquidation_prices(_book(LOAN, eth=2_500.0), "ETH")
    assert table.loc[0, "liquidation_price"] == pytest.approx(2_000.0)
    assert table.loc[0, "move"] == pytest.approx(2_000.0 / 2_500.0 - 1)


def test_second_collateral_can_make_a_position_immune_to_one_asset() -> None:
    """Adding 1 WBTC (LT 78%, $60,000 → $46,800 of limit) covers 40,000 USDC of debt alone:
    no ETH price liquidates it."""
    loan = LendingPosition(
        kind="lending",
        venue="aave",
        collateral={"ETH": 10.0, "WBTC": 1.0},
        debt={"USDC": 40_000.0},
        liquidation_threshold={"ETH": 0.83, "WBTC": 0.78},
    )
    assert math.isnan(liquidation_prices(_book(loan), "ETH").loc[0, "liquidation_price"])


def test_perp_liquidation_price_with_a_flat_maintenance_rate() -> None:
    """Long 1 at 100 with 5 of margin and MMR 1%: 5 + (P − 100) = 0.01·P ⇒ P = 95 / 0.99."""
    perp = PerpPosition(
        kind="perp",
        venue="x",
        asset="ETH",
        size=1.0,
        entry_price=100.0,
        margin_usd=5.0,
        table="flat:0.01",
    )
    price = liquidation_prices(_book(perp, eth=100.0), "ETH").loc[0, "liquidation_price"]
    assert price == pytest.approx(95 / 0.99)


def test_headroom_is_limit_minus_debt() -> None:
    """At ETH 2,500 the loan's borrowing limit is 10·2,500·0.83 = 20,750: 4,150 above its debt."""
    row = headroom(_book(LOAN, eth=2_500.0)).iloc[0]
    assert row["headroom_usd"] == pytest.approx(4_150.0)
    assert row["health"] == pytest.approx(20_750.0 / 16_600.0)


def test_check_closes_a_liquidated_loan_with_its_bonus_penalty() -> None:
    """Path 2,500 → 1,999 → 1,500: liquidated at 1,999, worth 19,990 − 16,600 = 3,390 less the
    5% bonus on 16,600 repaid (830); from equity 8,400 that is a loss of 5,840, then frozen."""
    result = check(
        _book(LOAN, eth=2_500.0),
        np.array([0.0, 60.0, 120.0]),
        {"ETH": np.array([2_500.0, 1_999.0, 1_500.0])},
    )
    assert result.liquidations.loc[0, "liquidated_at_s"] == 60.0
    assert result.pnl.tolist() == pytest.approx([0.0, -5_840.0, -5_840.0])
    assert result.worst_loss_usd == pytest.approx(5_840.0)


def test_hedged_spot_loses_nothing_while_the_short_survives() -> None:
    """10 ETH with a 1:1 short (margin 4,000, MMR 1%): the short liquidates only above
    (4,000 + 20,000) / (10 + 0.1) = 2,376.24; a fall to 1,500 costs the spot 5,000 and the
    unhedged book loses it all, the hedged one nothing."""
    times = np.array([0.0, 60.0])
    table = hedge_analysis(
        asset="ETH",
        quantity=10.0,
        price=2_000.0,
        hedge_ratio=1.0,
        margin_usd=4_000.0,
        table="flat:0.01",
        times=times,
        paths={"ETH": np.array([2_000.0, 1_500.0])},
    )
    unhedged, hedged = table.iloc[0], table.iloc[1]
    assert unhedged["worst_loss_usd"] == pytest.approx(5_000.0)
    assert hedged["worst_loss_usd"] == pytest.approx(0.0, abs=1e-9)
    assert hedged["short_liquidation_price"] == pytest.approx(24_000.0 / 10.1)
    assert math.isnan(hedged["short_liquidated_at_s"])


def test_size_for_finds_the_largest_position_within_the_loss_budget() -> None:
    """A 50% fall from 2,000 costs 1,000 per ETH: 10% of 100,000 allows 10 ETH."""
    spot = SpotPosition(kind="spot", asset="ETH", quantity=1.0)
    times = np.array([0.0, 60.0])
    paths = {"ETH": np.array([2_000.0, 1_000.0])}
    multiple = size_for(_book(spot, capital=100_000.0), 0, times, paths, max_loss_fraction=0.1)
    assert multiple == pytest.approx(10.0, rel=1e-3)


def test_portfolio_cli_checks_against_a_shipped_scenario(tmp_path: Path) -> None:
    """`protosim portfolio FILE --scenario NAME --json` reports every table."""
    shipped = (
        Path(__file__).resolve().parents[2] / "fixtures" / "portfolios" / "eth-basis-trader.toml"
    )
    out = CliRunner().invoke(
        main,
        [
            "portfolio",
            str(shipped),
            "--scenario",
            "eth-oct-2025-aave",
            "--asset",
            "ETH",
            "--hedge-ratio",
            "1.0",
            "--size-position",
            "1",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    tables = json.loads(out.output)
    assert {
        "liquidation_prices",
        "headroom",
        "scenario",
        "scenario_liquidations",
        "hedge",
        "sizing",
    } <= set(tables)
    # The loan: 160,000 / (60 · 0.83) = 3,212.85 is its liquidation price.
    assert tables["liquidation_prices"][0]["liquidation_price"] == pytest.approx(160_000 / 49.8)


def test_invalid_portfolio_names_the_key(tmp_path: Path) -> None:
    """A lending position without a threshold for its collateral fails with the key path."""
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[positions]]\nkind = "lending"\nvenue = "x"\n'
        "collateral = { ETH = 1.0 }\nliquidation_threshold = {}\n"
    )
    out = CliRunner().invoke(main, ["portfolio", str(bad)])
    assert out.exit_code == 2
    assert "bad.toml" in out.output
    assert "positions.0" in out.output
