"""Tests of protosim.impact: constant-product pool and square-root order-book impact.

Expected values are worked by hand from the published formulas in mechanics §12:
- §12.1 Uniswap v2 constant product, ``x·y = k`` with the fee taken from the input:
  ``Δy_out = y·Δx(1−f) / (x + Δx(1−f))`` (Uniswap v2 whitepaper, ``getAmountOut``) and
  ``Δy_in = y·Δx / ((x − Δx)(1−f))`` (``getAmountIn``);
- §12.4 square-root law ``ΔP/P = Y·σ_daily·√(Q/V_daily)`` (Tóth et al. 2011, arXiv:1105.1694).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from protosim.impact import ConstantProductPool, SquareRootBook

# A pool of 100 tokens and 100,000 USD: price 1,000 USD, k = 100 · 100,000 = 1e7.
X0, Y0 = 100.0, 100_000.0
K = X0 * Y0
P0 = Y0 / X0


def pool(fee_bps: float = 0.0) -> ConstantProductPool:
    return ConstantProductPool(depth_usd=Y0, reference_price=P0, fee_bps=fee_bps)


# -- constant product: worked cases -------------------------------------------------------------


def test_constant_product_k_from_depth_and_price() -> None:
    """k = x0·y0 with y0 = depth and x0 = depth / p0."""
    assert pool().k == pytest.approx(K, rel=1e-15)


@pytest.mark.parametrize("fee_bps", [0.0, 30.0, 100.0])
def test_constant_product_sell_by_hand(fee_bps: float) -> None:
    """Selling 4 pays y·4(1−f)/(x + 4(1−f)) and leaves the price at k/x'², x' = x + 4(1−f)."""
    keep = 1 - fee_bps / 10_000
    expected_out = Y0 * 4 * keep / (X0 + 4 * keep)  # fee 0: 100000·4/104 = 3846.153846...
    x_after = X0 + 4 * keep
    fill = pool(fee_bps).fill(P0, -4.0)
    assert fill.quantity == -4.0
    assert fill.notional_usd == pytest.approx(expected_out, rel=1e-12)
    assert fill.price_after == pytest.approx(K / x_after**2, rel=1e-12)
    if fee_bps == 0.0:
        assert fill.notional_usd == pytest.approx(400_000.0 / 104.0, rel=1e-12)
        assert fill.price_after == pytest.approx(1e7 / 104.0**2, rel=1e-12)  # 924.556...


@pytest.mark.parametrize("fee_bps", [0.0, 30.0, 100.0])
def test_constant_product_buy_by_hand(fee_bps: float) -> None:
    """Buying 4 tokens costs y·4/((x − 4)(1−f)) and leaves the price at k/(x − 4)²."""
    keep = 1 - fee_bps / 10_000
    fill = pool(fee_bps).fill(P0, 4.0)
    assert fill.notional_usd == pytest.approx(Y0 * 4 / ((X0 - 4) * keep), rel=1e-12)
    assert fill.price_after == pytest.approx(K / (X0 - 4) ** 2, rel=1e-12)  # 1e7/96² = 1085.07
    assert fill.average_price == pytest.approx(fill.notional_usd / 4.0, rel=1e-15)


def test_constant_product_trade_at_other_price_uses_arbitraged_reserves() -> None:
    """At price p the pool holds x = √(k/p), y = √(k·p); at p = 400: x = 158.11…, y = 63245.55…."""
    p = 400.0
    x, y = math.sqrt(K / p), math.sqrt(K * p)  # x·y = k and y/x = p
    fill = pool().fill(p, -10.0)
    assert fill.notional_usd == pytest.approx(y * 10 / (x + 10), rel=1e-12)
    assert fill.price_after == pytest.approx(K / (x + 10) ** 2, rel=1e-12)


@pytest.mark.parametrize("fee_bps", [0.0, 30.0])
def test_constant_product_sell_proceeds_equals_fill_of_each_alone(fee_bps: float) -> None:
    """sell_proceeds gives, for each quantity, what a fill of that quantity alone would pay."""
    quantities = np.array([0.0, 0.5, 4.0, 25.0, 1_000.0])
    proceeds = pool(fee_bps).sell_proceeds(950.0, quantities)
    alone = [pool(fee_bps).fill(950.0, -q).notional_usd for q in quantities]
    assert proceeds == pytest.approx(alone, rel=1e-12, abs=1e-9)


def test_constant_product_buy_whole_pool_raises_value_error() -> None:
    """Buying as many tokens as the pool holds (or more) is impossible."""
    with pytest.raises(ValueError, match="cannot buy"):
        pool().fill(P0, X0)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"depth_usd": 0.0, "reference_price": 1.0}, "depth_usd"),
        ({"depth_usd": -5.0, "reference_price": 1.0}, "depth_usd"),
        ({"depth_usd": 1.0, "reference_price": 0.0}, "reference_price"),
        ({"depth_usd": 1.0, "reference_price": 1.0, "fee_bps": -1.0}, "fee_bps"),
        ({"depth_usd": 1.0, "reference_price": 1.0, "fee_bps": 10_000.0}, "fee_bps"),
        ({"depth_usd": float("nan"), "reference_price": 1.0}, "depth_usd"),
    ],
)
def test_constant_product_invalid_params_raise_value_error(
    kwargs: dict[str, float], name: str
) -> None:
    """Non-positive depth or price, and a fee outside [0, 10000) bps, are rejected by name."""
    with pytest.raises(ValueError, match=name):
        ConstantProductPool(**kwargs)


# -- constant product: invariants ---------------------------------------------------------------

DEPTHS = st.floats(min_value=1e3, max_value=1e10)
PRICES = st.floats(min_value=1e-3, max_value=1e5)
FEES = st.floats(min_value=0.0, max_value=1_000.0)
# Trade size as a fraction of the token reserve, down to dust in a deep pool.
FRACTIONS = st.floats(min_value=1e-9, max_value=10.0)


@settings(max_examples=200, deadline=None)
@given(depth=DEPTHS, p0=PRICES, price=PRICES, fee=FEES, frac=FRACTIONS)
def test_constant_product_sell_never_pays_more_than_quantity_times_price(
    depth: float, p0: float, price: float, fee: float, frac: float
) -> None:
    """A sell fetches at most quantity · price before, and lowers the price (no free money)."""
    amm = ConstantProductPool(depth_usd=depth, reference_price=p0, fee_bps=fee)
    q = frac * math.sqrt(amm.k / price)
    fill = amm.fill(price, -q)
    assert 0.0 <= fill.notional_usd <= q * price * (1 + 1e-12)
    assert fill.price_after <= price * (1 + 1e-12)


@settings(max_examples=200, deadline=None)
@given(
    depth=DEPTHS, p0=PRICES, price=PRICES, fee=FEES, frac=st.floats(min_value=1e-9, max_value=0.99)
)
def test_constant_product_buy_never_costs_less_than_quantity_times_price(
    depth: float, p0: float, price: float, fee: float, frac: float
) -> None:
    """A buy costs at least quantity · pre-trade price, and leaves the price higher."""
    amm = ConstantProductPool(depth_usd=depth, reference_price=p0, fee_bps=fee)
    q = frac * math.sqrt(amm.k / price)
    fill = amm.fill(price, q)
    assert fill.notional_usd >= q * price * (1 - 1e-12)
    assert fill.price_after >= price * (1 - 1e-12)


# Regression test, bug fixed in 4f6da39: impact.py ConstantProductPool.fill/sell_proceeds computed
# proceeds as y - k/x' (and cost as (k/x' - y)/keep), which cancelled catastrophically for small
# trades in deep pools: a sale could pay more than quantity · price
@pytest.mark.parametrize(("depth", "q"), [(2_457_049.0, 0.002457049)])  # found by hypothesis
def test_constant_product_tiny_sell_never_pays_more_than_quantity_times_price(
    depth: float, q: float
) -> None:
    """Even a sale of 1e-9 of the reserve fetches at most quantity · price (no rounding gain)."""
    amm = ConstantProductPool(depth_usd=depth, reference_price=1.0, fee_bps=0.0)
    assert amm.fill(1.0, -q).notional_usd <= q * 1.0
    assert amm.sell_proceeds(1.0, np.array([q]))[0] <= q * 1.0


@settings(max_examples=200, deadline=None)
@given(depth=DEPTHS, p0=PRICES, price=PRICES, frac=FRACTIONS)
def test_constant_product_feeless_sell_conserves_k(
    depth: float, p0: float, price: float, frac: float
) -> None:
    """Without a fee, reserves after a sell, (x + q)·(y − proceeds), still multiply to k."""
    amm = ConstantProductPool(depth_usd=depth, reference_price=p0, fee_bps=0.0)
    k = depth**2 / p0  # y0 = depth, x0 = depth / p0
    x, y = math.sqrt(k / price), math.sqrt(k * price)
    q = frac * x
    fill = amm.fill(price, -q)
    assert (x + q) * (y - fill.notional_usd) == pytest.approx(k, rel=1e-9)
    assert fill.price_after == pytest.approx((y - fill.notional_usd) / (x + q), rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    depth=DEPTHS, p0=PRICES, price=PRICES, fee=FEES, frac=st.floats(min_value=1e-6, max_value=10.0)
)
def test_constant_product_sell_then_buy_back_never_profits(
    depth: float, p0: float, price: float, fee: float, frac: float
) -> None:
    """Selling q and buying it back costs at least the sale's proceeds; fee-less, exactly them."""
    amm = ConstantProductPool(depth_usd=depth, reference_price=p0, fee_bps=fee)
    q = frac * math.sqrt(amm.k / price)
    sold = amm.fill(price, -q)
    assume(q < math.sqrt(amm.k / sold.price_after))  # the pool holds q to buy back
    bought = amm.fill(sold.price_after, q)
    assert bought.notional_usd >= sold.notional_usd * (1 - 1e-9)
    if fee == 0.0:
        assert bought.notional_usd == pytest.approx(sold.notional_usd, rel=1e-9)
        assert bought.price_after == pytest.approx(price, rel=1e-9)


# -- square-root book ---------------------------------------------------------------------------


def test_square_root_book_sell_by_hand() -> None:
    """Selling Q = 1e7 USD into V = 2.5e8, σ = 5%, Y = 0.5 moves the log price 0.5·0.05·√0.04."""
    book = SquareRootBook(
        daily_volume_usd=2.5e8, daily_volatility=0.05, impact_coefficient=0.5, fee_bps=10.0
    )
    impact = 0.5 * 0.05 * math.sqrt(1e7 / 2.5e8)  # = 0.005
    assert impact == pytest.approx(0.005, rel=1e-12)
    fill = book.fill(200.0, -50_000.0)  # 50,000 units at 200 USD = 1e7 USD
    assert fill.price_after == pytest.approx(200.0 * math.exp(-0.005), rel=1e-12)
    # Average price two thirds of the way to the final (log) move, less the 10 bps taker fee.
    assert fill.notional_usd == pytest.approx(
        50_000 * 200.0 * math.exp(-0.005 * 2 / 3) * (1 - 0.001), rel=1e-12
    )


def test_square_root_book_buy_by_hand() -> None:
    """Buying 1% of daily volume at σ = 4%, Y = 1 raises the price by e^0.004, plus the fee."""
    book = SquareRootBook(daily_volume_usd=1e9, daily_volatility=0.04, fee_bps=5.0)
    fill = book.fill(100.0, 100_000.0)  # 1e7 USD = 1% of 1e9; impact 1·0.04·√0.01 = 0.004
    assert fill.price_after == pytest.approx(100.0 * math.exp(0.004), rel=1e-12)
    assert fill.notional_usd == pytest.approx(
        1e7 * math.exp(0.004 * 2 / 3) * (1 + 0.0005), rel=1e-12
    )


def test_square_root_book_impact_scales_with_square_root_of_size() -> None:
    """Four times the size gives twice the log impact."""
    book = SquareRootBook(daily_volume_usd=1e9, daily_volatility=0.04)
    small = math.log(100.0 / book.fill(100.0, -1_000.0).price_after)
    large = math.log(100.0 / book.fill(100.0, -4_000.0).price_after)
    assert large == pytest.approx(2 * small, rel=1e-12)


def test_square_root_book_sell_proceeds_equals_fill_of_each_alone() -> None:
    """sell_proceeds gives, for each quantity, what a fill of that quantity alone would pay."""
    book = SquareRootBook(
        daily_volume_usd=5e8, daily_volatility=0.06, impact_coefficient=0.7, fee_bps=4.0
    )
    quantities = np.array([0.0, 1.0, 1e3, 1e5, 1e7])
    alone = [book.fill(37.5, -q).notional_usd for q in quantities]
    assert book.sell_proceeds(37.5, quantities) == pytest.approx(alone, rel=1e-12, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    volume=st.floats(min_value=1e3, max_value=1e12),
    sigma=st.floats(min_value=1e-4, max_value=2.0),
    coeff=st.floats(min_value=0.01, max_value=2.0),
    fee=st.floats(min_value=0.0, max_value=1_000.0),
    price=PRICES,
    q_usd_per_volume=st.floats(min_value=1e-12, max_value=100.0),  # up to 100 days' volume
)
def test_square_root_book_sell_never_pays_more_than_quantity_times_price(
    volume: float, sigma: float, coeff: float, fee: float, price: float, q_usd_per_volume: float
) -> None:
    """A sell fetches at most quantity · mid price and leaves a positive, lower price."""
    book = SquareRootBook(
        daily_volume_usd=volume, daily_volatility=sigma, impact_coefficient=coeff, fee_bps=fee
    )
    q = q_usd_per_volume * volume / price
    fill = book.fill(price, -q)
    assert 0.0 <= fill.notional_usd <= q * price * (1 + 1e-12)
    assert 0.0 < fill.price_after <= price


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"daily_volume_usd": 0.0, "daily_volatility": 0.04}, "daily_volume_usd"),
        ({"daily_volume_usd": 1e9, "daily_volatility": 0.0}, "daily_volatility"),
        (
            {"daily_volume_usd": 1e9, "daily_volatility": 0.04, "impact_coefficient": -1.0},
            "impact_coefficient",
        ),
    ],
)
def test_square_root_book_invalid_params_raise_value_error(
    kwargs: dict[str, float], name: str
) -> None:
    """Non-positive volume, volatility or impact coefficient are rejected by name."""
    with pytest.raises(ValueError, match=name):
        SquareRootBook(**kwargs)


# Regression test, bug fixed in 4f6da39: impact.py SquareRootBook.__post_init__ did not check
# fee_bps (ConstantProductPool and SquareRootSpec require 0 <= fee_bps < 10000); fee_bps=20000
# made sell proceeds negative
@pytest.mark.parametrize("fee_bps", [-10.0, 10_000.0, 20_000.0])
def test_square_root_book_fee_outside_range_raises_value_error(fee_bps: float) -> None:
    """A taker fee outside [0, 10000) bps is rejected, as for the constant-product pool."""
    with pytest.raises(ValueError, match="fee_bps"):
        SquareRootBook(daily_volume_usd=1e9, daily_volatility=0.04, fee_bps=fee_bps)
