"""Worked cases and properties of the perp reference math (tiers, liquidation, funding).

Expected numbers come from the venues' documentation, where the page is named, or are derived
by hand in the test with the arithmetic written out. Tolerances are a few ulps scaled by the
magnitudes involved (the functions are closed formulas in float64), not tuned.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protosim.protocols.perps.math import (
    BINANCE_BTCUSDT,
    BINANCE_BTCUSDT_2021,
    HYPERLIQUID_TABLES,
    MarginTable,
    MarginTier,
    account_equity,
    bankruptcy_price,
    binance_funding_rate,
    binance_liquidation_price,
    funding_payment,
    hyperliquid_funding_rate,
    hyperliquid_liquidation_price,
    initial_margin,
    insurance_take,
    liquidation_fee,
    liquidation_price,
    maintenance_margin,
    maintenance_margin_many,
    margin_ratio,
    unrealized_pnl,
)

TABLES = [BINANCE_BTCUSDT, BINANCE_BTCUSDT_2021, *HYPERLIQUID_TABLES.values()]
REL = 1e-12


@st.composite
def tables(draw: st.DrawFn) -> MarginTable:
    """Random valid tables: rising floors and rates, falling leverage."""
    n = draw(st.integers(min_value=1, max_value=8))
    gaps = draw(st.lists(st.floats(1e3, 1e9), min_size=n - 1, max_size=n - 1))
    floors = [0.0, *np.cumsum(gaps).tolist()]
    levs = sorted(draw(st.lists(st.integers(1, 125), min_size=n, max_size=n)), reverse=True)
    rows = []
    mmr = 0.0
    for floor, lev in zip(floors, levs, strict=True):
        mmr = draw(st.floats(max(mmr, 1e-4), min(0.5, 1.0 / lev)))
        rows.append((floor, float(lev), mmr))
    return MarginTable.from_brackets("random", rows)


# --- tiers and maintenance margin -------------------------------------------------------------


def test_binance_faq_maintenance_rate_of_264k_btcusdt_is_one_percent() -> None:
    """Binance liquidation-price FAQ: "264,000 USDT, then the maintenance margin rate … 1%"."""
    assert BINANCE_BTCUSDT_2021.tier(264_000).mmr == 0.01


def test_binance_faq_maintenance_amount_of_500k_btcusdt_is_1300() -> None:
    """Binance FAQ: "500,000 USDT, then the maintenance amount would be 1,300 USDT"."""
    assert BINANCE_BTCUSDT_2021.cums[BINANCE_BTCUSDT_2021.tier_index(500_000)] == 1_300.0


def test_binance_faq_level_3_maintenance_amount_recursion() -> None:
    """Binance FAQ: Level 3 amount = 250,000 × (1% − 0.5%) + 50 = 1,300."""
    level_3 = 250_000 * (0.01 - 0.005) + 50
    assert BINANCE_BTCUSDT_2021.cums[2] == pytest.approx(level_3, rel=REL)


def test_btcusdt_snapshot_maintenance_amounts_match_mechanics_table() -> None:
    """The cum column of mechanics §6.1 (brackets 1-12) is what the recursion produces."""
    expected = [0, 50, 950, 11_450, 131_450, 481_450, 2_981_450, 14_481_450, 26_481_450]
    expected += [41_481_450, 121_481_450, 421_481_450]
    assert BINANCE_BTCUSDT.cums == pytest.approx(expected, rel=REL)


def test_hyperliquid_mmr_is_half_the_initial_margin_at_max_leverage() -> None:
    """Hyperliquid margin-tiers page: "at 20x max leverage, maintenance_margin_rate = 2.5%"."""
    assert HYPERLIQUID_TABLES["SOL"].tiers[0].mmr == 0.025
    assert HYPERLIQUID_TABLES["BTC"].tiers[0].mmr == 0.0125


def test_hyperliquid_btc_deduction_is_floor_times_rate_step() -> None:
    """BTC tier 2 deduction = 150M × (2.5% − 1.25%) = 1,875,000 (docs recursion)."""
    assert HYPERLIQUID_TABLES["BTC"].cums[1] == pytest.approx(1_875_000.0, rel=REL)


@pytest.mark.parametrize(
    ("coin", "floor", "lev_below", "lev_above"),
    [("BTC", 150e6, 40, 20), ("ETH", 100e6, 25, 15), ("SOL", 70e6, 20, 10),
     ("XRP", 40e6, 20, 10), ("DOGE", 20e6, 10, 5), ("HYPE", 20e6, 10, 5), ("OP", 3e6, 10, 5)],
)  # fmt: skip
def test_hyperliquid_mainnet_tiers_match_docs_table(
    coin: str, floor: float, lev_below: float, lev_above: float
) -> None:
    """Mainnet tiers as the docs print them: "0-150M 40" then ">150M 20" for BTC, and so on."""
    table = HYPERLIQUID_TABLES[coin]
    assert table.max_leverage(floor) == lev_below
    assert table.max_leverage(floor * (1 + 1e-9)) == lev_above


def test_tier_floor_belongs_to_the_lower_tier() -> None:
    """Binance 2021 table prints "0 < Position ≤ 50,000" at 125x: 50,000 is still tier 1."""
    assert BINANCE_BTCUSDT_2021.tier(50_000).max_leverage == 125
    assert BINANCE_BTCUSDT_2021.tier(50_000.01).max_leverage == 100


def test_tax_bracket_sum_equals_cumulative_deduction_form() -> None:
    """MM by slices at 2M: 50k × 0.4% + 200k × 0.5% + 750k × 1% + 1M × 2.5% = 33,700."""
    slices = 50_000 * 0.004 + 200_000 * 0.005 + 750_000 * 0.01 + 1_000_000 * 0.025
    assert slices == pytest.approx(33_700.0, rel=REL)
    assert maintenance_margin(2_000_000, BINANCE_BTCUSDT_2021) == pytest.approx(slices, rel=REL)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_builtin_tables_are_continuous_at_every_floor(table: MarginTable) -> None:
    """MM computed with the tier below and the tier above agree at each floor."""
    for below, above, cum_below, cum_above in zip(
        table.tiers, table.tiers[1:], table.cums, table.cums[1:], strict=False
    ):
        left = above.floor * below.mmr - cum_below
        right = above.floor * above.mmr - cum_above
        assert left == pytest.approx(right, rel=REL, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(table=tables(), eps=st.floats(1e-9, 1e-3))
def test_random_tables_are_continuous_across_floors(table: MarginTable, eps: float) -> None:
    """Just below and just above a floor the MM differs by at most the slope times the gap."""
    top_rate = table.tiers[-1].mmr
    for tier in table.tiers[1:]:
        lo, hi = tier.floor * (1 - eps), tier.floor * (1 + eps)
        jump = maintenance_margin(hi, table) - maintenance_margin(lo, table)
        assert 0.0 <= jump <= (hi - lo) * top_rate * (1 + 1e-9) + 1e-6


@settings(max_examples=100, deadline=None)
@given(table=tables(), notional=st.lists(st.floats(-3e9, 3e9), min_size=1, max_size=20))
def test_vectorized_maintenance_margin_matches_scalar(
    table: MarginTable, notional: list[float]
) -> None:
    """`maintenance_margin_many` equals `maintenance_margin` element by element."""
    many = maintenance_margin_many(notional, table)
    one = [maintenance_margin(n, table) for n in notional]
    assert many == pytest.approx(one, rel=REL, abs=1e-6)


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [(1.0, 10, 0.01)],
        [(0, 10, 0.01), (0, 5, 0.02)],
        [(0, 10, 0.02), (100, 5, 0.01)],
        [(0, 5, 0.02), (100, 10, 0.03)],
        [(0, 10, 0.2)],
        [(0, 10, 0.0)],
        [(0, 0.5, 0.01)],
    ],
)
def test_margin_table_rejects_invalid_tiers(rows: list[tuple[float, float, float]]) -> None:
    """Tables need floor 0 first, rising floors and rates, falling leverage, 0 < mmr ≤ 1/lev."""
    with pytest.raises(ValueError, match="expected"):
        MarginTable.from_brackets("bad", rows)


def test_margin_tier_rejects_infinite_floor() -> None:
    """A floor must be a finite notional."""
    with pytest.raises(ValueError, match="finite floor"):
        MarginTier(floor=math.inf, max_leverage=10, mmr=0.01)


# --- margin, PnL, equity -----------------------------------------------------------------------


def test_initial_margin_is_notional_over_leverage() -> None:
    """1,000 USDT at 20x needs 50 USDT; leverage below 1 is rejected."""
    assert initial_margin(1_000.0, 20) == 50.0
    with pytest.raises(ValueError, match="leverage"):
        initial_margin(1_000.0, 0.5)


def test_unrealized_pnl_sign_follows_position_side() -> None:
    """A long gains when the mark rises, a short when it falls."""
    assert unrealized_pnl(2.0, 100.0, 110.0) == 20.0
    assert unrealized_pnl(-2.0, 100.0, 110.0) == -20.0


def test_account_equity_adds_every_position_pnl() -> None:
    """Equity = 1,000 + 1 × (90 − 100) + (−2) × (40 − 50) = 1,010."""
    assert account_equity(1_000.0, [1.0, -2.0], [100.0, 50.0], [90.0, 40.0]) == 1_010.0


def test_margin_ratio_edges() -> None:
    """MM / balance; infinite with margin owed and no balance; zero with no margin owed."""
    assert margin_ratio(50.0, 200.0) == 0.25
    assert margin_ratio(1.0, -1.0) == math.inf
    assert margin_ratio(0.0, 0.0) == 0.0


# --- liquidation price -------------------------------------------------------------------------


def test_binance_faq_cross_liquidation_price_25100_40() -> None:
    """Binance FAQ 25edcd7f…: WB 500, long 1,000 USDT at 20x at $50,000 → LP $25,100.40."""
    lp = binance_liquidation_price(
        wallet_balance=500.0, size=0.02, entry_price=50_000.0, table=BINANCE_BTCUSDT, mode="cross"
    )
    # (500 − 0.02 × 50,000) / (0.02 × 0.004 − 0.02) = −500 / −0.01992
    assert lp == pytest.approx(500.0 / 0.01992, rel=REL)
    assert round(lp, 2) == 25_100.40


def test_margin_ratio_is_exactly_100_percent_at_the_faq_liquidation_price() -> None:
    """At LP 25,100.40: balance 500 − 0.02 × 24,899.60 = 2.008032 = MM 0.4% × 502.008032."""
    lp = 500.0 / 0.01992
    balance = account_equity(500.0, 0.02, 50_000.0, lp)
    mm = maintenance_margin(0.02 * lp, BINANCE_BTCUSDT)
    assert balance == pytest.approx(2.008032, rel=1e-6)
    assert margin_ratio(mm, balance) == pytest.approx(1.0, rel=1e-9)


def test_binance_long_liquidation_price_recomputed_in_lower_bracket() -> None:
    """Isolated long 70 BTC at 50,000, WB 1,000,000: bracket 4 gives a bracket-3 notional."""
    # Bracket 4 (1 %, cum 11,450): (1,000,000 + 11,450 − 3,500,000) / (0.7 − 70) = 35,909.81,
    # notional 2,513,687 < 3M, so bracket 3 (0.65 %, cum 950) applies:
    # (1,000,000 + 950 − 3,500,000) / (0.455 − 70) = 2,499,050 / 69.545 = 35,934.29.
    lp = binance_liquidation_price(
        wallet_balance=1_000_000.0, size=70.0, entry_price=50_000.0, table=BINANCE_BTCUSDT
    )
    assert lp == pytest.approx(2_499_050 / 69.545, rel=REL)
    assert BINANCE_BTCUSDT.tier_index(70 * lp) == 2


def test_binance_short_liquidation_price_recomputed_in_higher_bracket() -> None:
    """Isolated short 1 BTC at 50,000, WB 2,500: 52,500/1.004 is in bracket 2 → 52,550/1.005."""
    lp = binance_liquidation_price(
        wallet_balance=2_500.0, size=-1.0, entry_price=50_000.0, table=BINANCE_BTCUSDT
    )
    assert lp == pytest.approx(52_550 / 1.005, rel=REL)


def test_binance_cross_liquidation_price_uses_other_contracts() -> None:
    """Cross long 1 at 1,000, WB 1,000, TMM1 100, UPNL1 −200: (1000−100−200−1000)/(0.004−1)."""
    lp = binance_liquidation_price(
        wallet_balance=1_000.0,
        size=1.0,
        entry_price=1_000.0,
        table=BINANCE_BTCUSDT,
        mode="cross",
        other_maintenance_margin=100.0,
        other_unrealized_pnl=-200.0,
    )
    assert lp == pytest.approx(300.0 / 0.996, rel=REL)


def test_isolated_mode_rejects_other_contract_terms() -> None:
    """Isolated mode has TMM1 = UPNL1 = 0 by definition (Binance FAQ)."""
    with pytest.raises(ValueError, match="isolated"):
        binance_liquidation_price(
            wallet_balance=1.0,
            size=1.0,
            entry_price=1.0,
            table=BINANCE_BTCUSDT,
            other_unrealized_pnl=1.0,
        )
    with pytest.raises(ValueError, match="isolated"):
        hyperliquid_liquidation_price(
            margin=1.0, size=1.0, price=1.0, table=BINANCE_BTCUSDT, other_maintenance_margin=1.0
        )


def test_no_positive_liquidation_price_returns_zero() -> None:
    """A fully funded long is never liquidated; a short under water even at 0 is at any price."""
    assert (
        binance_liquidation_price(
            wallet_balance=60_000.0, size=1.0, entry_price=50_000.0, table=BINANCE_BTCUSDT
        )
        == 0.0
    )
    assert (
        hyperliquid_liquidation_price(
            margin=-150.0, size=-1.0, price=100.0, table=HYPERLIQUID_TABLES["ETH"]
        )
        == 0.0
    )
    with pytest.raises(ValueError, match="non-zero"):
        liquidation_price(constant=-1.0, size=0.0, table=BINANCE_BTCUSDT)


def test_hyperliquid_docs_formula_isolated_long() -> None:
    """Docs formula: 100,000 − (5,000 − 1,250) / 1 / (1 − 0.0125) = 96,202.53."""
    lp = hyperliquid_liquidation_price(
        margin=5_000.0, size=1.0, price=100_000.0, table=HYPERLIQUID_TABLES["BTC"]
    )
    assert lp == pytest.approx(100_000 - 3_750 / 0.9875, rel=REL)


def test_hyperliquid_tier_is_the_one_at_the_liquidation_price() -> None:
    """Cross long 2,000 BTC at 100,000 (200M, tier 2), account value 60M: LP falls in tier 1."""
    # Tier 2 (2.5 %, deduction 1.875M): MM 3.125M, available 56.875M,
    # LP = 100,000 − 28,437.5 / 0.975 = 70,833.33 → notional 141.7M < 150M, so tier 1 applies:
    # MM 2.5M, available 57.5M, LP = 100,000 − 28,750 / 0.9875 = 70,886.08 (notional 141.8M).
    lp = hyperliquid_liquidation_price(
        margin=60e6, size=2_000.0, price=100_000.0, table=HYPERLIQUID_TABLES["BTC"], mode="cross"
    )
    assert lp == pytest.approx(100_000 - 28_750 / 0.9875, rel=REL)
    # With 20M of account value the LP stays in tier 2: 100,000 − 8,437.5 / 0.975 = 91,346.15.
    lp2 = hyperliquid_liquidation_price(
        margin=20e6, size=2_000.0, price=100_000.0, table=HYPERLIQUID_TABLES["BTC"], mode="cross"
    )
    assert lp2 == pytest.approx(100_000 - 8_437.5 / 0.975, rel=REL)


@settings(max_examples=300, deadline=None)
@given(
    price=st.floats(1.0, 1e5),
    size=st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3),
    margin_frac=st.floats(0.0, 0.9),
    mmr_lev=st.sampled_from([3, 5, 10, 20, 25, 40, 50]),
    other=st.floats(0.0, 1e4),
)
def test_hyperliquid_solver_matches_docs_formula_on_one_tier(
    price: float, size: float, margin_frac: float, mmr_lev: int, other: float
) -> None:
    """With one tier the solver equals price − side·margin_available/|size|/(1 − l·side)."""
    table = MarginTable.from_max_leverage("one", [(0, mmr_lev)])
    l_rate = 1 / (2 * mmr_lev)
    margin = abs(size) * price * margin_frac + other
    side = 1 if size > 0 else -1
    available = margin - abs(size) * price * l_rate - other
    docs = price - side * available / abs(size) / (1 - l_rate * side)
    got = hyperliquid_liquidation_price(
        margin=margin, size=size, price=price, table=table, mode="cross",
        other_maintenance_margin=other,
    )  # fmt: skip
    assert got == pytest.approx(max(docs, 0.0), rel=1e-9, abs=1e-9 * price)


@settings(max_examples=300, deadline=None)
@given(
    table=st.sampled_from(TABLES) | tables(),
    entry=st.floats(1.0, 2e5),
    size=st.floats(1e-3, 5e4) | st.floats(-5e4, -1e-3),
    leverage=st.floats(1.0, 125.0),
)
def test_binance_liquidation_price_makes_equity_equal_maintenance_margin(
    table: MarginTable, entry: float, size: float, leverage: float
) -> None:
    """At the LP margin balance = MM, the adverse side is liquidatable, the other side is not."""
    wallet = abs(size) * entry / leverage
    lp = binance_liquidation_price(wallet_balance=wallet, size=size, entry_price=entry, table=table)
    scale = abs(size) * max(entry, lp)

    def gap(price: float) -> float:
        return account_equity(wallet, size, entry, price) - maintenance_margin(size * price, table)

    if lp == 0.0:
        assert gap(0.0) * np.sign(size) >= -1e-9 * scale
        return
    assert abs(gap(lp)) <= 1e-9 * scale
    side = 1 if size > 0 else -1
    assert gap(lp * (1 - side * 1e-6)) <= 1e-9 * scale  # one step adverse: liquidatable
    assert gap(lp * (1 + side * 1e-6)) >= -1e-9 * scale  # one step favourable: safe


# --- bankruptcy, fees, insurance take ----------------------------------------------------------


@pytest.mark.parametrize(("size", "expected"), [(0.02, 47_500.0), (-0.02, 52_500.0)])
def test_bankruptcy_price_leaves_zero_margin(size: float, expected: float) -> None:
    """Margin 50 on 0.02 BTC at 50,000: bankrupt 2,500 away from the entry (50 / 0.02)."""
    bp = bankruptcy_price(size=size, entry_price=50_000.0, margin=50.0)
    assert bp == expected
    assert account_equity(50.0, size, 50_000.0, bp) == pytest.approx(0.0, abs=1e-9)


def test_bankruptcy_price_is_floored_at_zero() -> None:
    """A long with more margin than notional cannot go bankrupt at a positive price."""
    assert bankruptcy_price(size=1.0, entry_price=100.0, margin=150.0) == 0.0
    with pytest.raises(ValueError, match="non-zero"):
        bankruptcy_price(size=0.0, entry_price=100.0, margin=1.0)


def test_liquidation_fee_is_on_the_liquidated_amount() -> None:
    """Binance's clearance fee: 0.3% of 0.5 BTC at 40,000 = 60, whatever the position size."""
    assert liquidation_fee(0.5, 40_000.0, 0.003) == 60.0
    with pytest.raises(ValueError, match="fee rate"):
        liquidation_fee(1.0, 1.0, -0.1)


@pytest.mark.parametrize(
    ("size", "bp", "fill", "cap", "expected"),
    [
        (2.0, 95.0, 96.0, None, 2.0),  # long sold above bankruptcy: the fund keeps 2 × 1
        (2.0, 95.0, 93.0, None, -4.0),  # sold below: the fund pays 2 × 2
        (-1.0, 110.0, 100.0, None, 10.0),  # short bought back 10 below bankruptcy
        (-1.0, 110.0, 100.0, 0.015, 1.5),  # dYdX cap: 1.5 % of 100 of quote
        (2.0, 95.0, 93.0, 0.015, -4.0),  # the cap never limits a loss
    ],
)
def test_insurance_take_is_fill_minus_bankruptcy(
    size: float, bp: float, fill: float, cap: float | None, expected: float
) -> None:
    """Fund delta = size · (fill − bankruptcy), gains capped when a fee cap is given (dYdX)."""
    assert insurance_take(size, bp, fill, fee_cap_rate=cap) == pytest.approx(expected, rel=REL)


# --- funding -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("premium", "hours", "cap", "expected"),
    [
        (0.0003, 8, None, 0.0001),  # inside the clamp: the interest rate, 0.01 %
        (0.0, 8, None, 0.0001),  # zero premium still pays the interest rate
        (0.01, 8, None, 0.0095),  # 1 % + clamp(0.01 % − 1 %) = 1 % − 0.05 %
        (-0.01, 8, None, -0.0095),  # −1 % + 0.05 %
        (0.01, 4, None, 0.00475),  # N = 4: divided by 8/4
        (0.01, 1, None, 0.0011875),  # N = 1: divided by 8
        (0.01, 8, 0.003, 0.003),  # the symbol's cap binds
    ],
)
def test_binance_funding_rate(
    premium: float, hours: int, cap: float | None, expected: float
) -> None:
    """F = [P + clamp(I − P, ±0.05%)] / (8/N), then the symbol's cap (mechanics §6.4)."""
    got = binance_funding_rate(premium, interval_hours=hours, cap=cap)
    assert got == pytest.approx(expected, rel=1e-12)


def test_binance_funding_interval_must_divide_eight_hours() -> None:
    """An interval outside (0, 8] hours is an input error."""
    with pytest.raises(ValueError, match="interval"):
        binance_funding_rate(0.0, interval_hours=12)


@pytest.mark.parametrize(
    ("premium", "expected"),
    [(0.0, 0.0001 / 8), (0.01, 0.0095 / 8), (-0.01, -0.0095 / 8), (0.5, 0.04), (-0.9, -0.04)],
)
def test_hyperliquid_funding_is_eighth_of_8h_rate_capped_at_4_percent(
    premium: float, expected: float
) -> None:
    """Hourly rate = [P + clamp(I − P, ±0.05%)] / 8, clamped to ±4 % (docs trading/funding)."""
    assert hyperliquid_funding_rate(premium) == pytest.approx(expected, rel=1e-12)


def test_funding_payments_of_opposite_positions_cancel() -> None:
    """10 BTC long at 10,000 pays 10 at 0.01 %; the matching short receives it (peer to peer)."""
    assert funding_payment(10.0, 10_000.0, 0.0001) == pytest.approx(10.0, rel=REL)
    assert funding_payment(10.0, 10_000.0, 0.0001) + funding_payment(-10.0, 10_000.0, 0.0001) == 0
