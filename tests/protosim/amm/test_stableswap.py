"""Tests of protosim.amm.stableswap: Curve StableSwap integer math and the float impact model.

Expected values come from the contract's own formulas (curvefi/curve-contract
``contracts/pool-templates/base/SwapTemplateBase.vy``), worked in the test:

- the invariant ``Ann·S + D = Ann·D + D^{n+1}/(n^n ∏x)`` (``Ann = A·n``), evaluated exactly with
  fractions, and its derivative ``∂F/∂x_k = Ann + D^{n+1}/(n^n ∏x · x_k)`` for marginal prices;
- a balanced pool's ``D`` is the sum of its balances (the template's comment "When balanced,
  D = n * x_u");
- ``exchange`` keeps ``dy − 1`` wei of rounding and the LP fee in the pool, so ``D`` never falls.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protosim.amm.stableswap import (
    A_PRECISION,
    FEE_DENOMINATOR,
    StableSwapPool,
    StableSwapRevertError,
    exchange,
    get_D,
    get_D_float,
    get_dy,
    get_dy_float,
    get_y,
    get_y_float,
    rates_for_decimals,
    spot_price,
    xp_mem,
)

E18 = 10**18
RATES2 = [E18, E18]

# Pools as traded: balances within 20:1 of each other. Far beyond that, at low A, the contract's
# integer Newton step can cycle (e.g. A = 1, 3500:1) and the template reverts; get_D mirrors it.
SIZES = st.integers(min_value=10**20, max_value=10**28)
SHARES = st.floats(min_value=0.05, max_value=1.0)
AMPS = st.integers(min_value=1, max_value=5_000)


@st.composite
def pools_xp(draw: st.DrawFn, min_coins: int = 2, max_coins: int = 3) -> list[int]:
    """Scaled balances of 2 to 3 coins, the smallest at least 1/20 of the largest."""
    size = draw(SIZES)
    shares = draw(st.lists(SHARES, min_size=min_coins, max_size=max_coins))
    return [max(1, int(size * share)) for share in shares]


def invariant_gap(d: int, xp: list[int], amp: int) -> Fraction:
    """F(D) = Ann·S + D − Ann·D − D^{n+1}/(n^n ∏x), exactly; decreasing in D, zero at the root."""
    n = len(xp)
    ann = Fraction(amp * n, A_PRECISION)
    prod = math.prod(xp)
    return ann * sum(xp) + d - ann * d - Fraction(d ** (n + 1), n**n * prod)


# -- integer math: the contract's formulas ---------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("a", [1, 100, 2_000, 100_000])
def test_get_d_balanced_pool_equals_sum_of_balances(n: int, a: int) -> None:
    """With equal balances x, D = n·x exactly, for any A and number of coins."""
    xp = [1_234_567 * E18] * n
    assert get_D(xp, a * A_PRECISION) == n * 1_234_567 * E18


@settings(max_examples=150, deadline=None)
@given(xp=pools_xp(2, 4), a=AMPS)
def test_get_d_lies_within_two_wei_of_the_invariant_root(xp: list[int], a: int) -> None:
    """The exact root of F(D) = 0 lies in [D − 2, D + 2]: F(D − 2) >= 0 >= F(D + 2)."""
    d = get_D(xp, a * A_PRECISION)
    assert (
        invariant_gap(d - 2, xp, a * A_PRECISION) >= 0 >= invariant_gap(d + 2, xp, a * A_PRECISION)
    )
    assert d <= sum(xp)  # the curve lies above the line Σx = D


@settings(max_examples=150, deadline=None)
@given(xp=pools_xp(), a=AMPS, frac=st.floats(min_value=1e-6, max_value=0.5))
def test_get_y_keeps_d(xp: list[int], a: int, frac: float) -> None:
    """Balances with coin 0 at x and coin 1 at get_y(x) have the same D as before (± rounding)."""
    amp = a * A_PRECISION
    d = get_D(xp, amp)
    x = xp[0] + int(frac * xp[0])
    y = get_y(0, 1, x, xp, amp)
    moved = [x, y, *xp[2:]]
    # y is the root of the quadratic within 1 wei; F changes by about Ann + D^{n+1}/(..·y) per wei
    # of y, so the root D of the new balances is within a few wei of the old one.
    assert abs(get_D(moved, amp) - d) <= 3 + d // 10**15


@pytest.mark.parametrize("a_whole", [1, 50, 2_000])
def test_template_math_reduces_to_3pool_math_for_whole_a(a_whole: int) -> None:
    """With A_PRECISION = 100 and A whole, each division by 100 is exact: same D, y, dy as 3pool."""
    xp = [3_000_000 * E18, 1_700_000 * E18, 2_100_000 * E18]
    rates = [E18] * 3
    assert get_D(xp, a_whole * A_PRECISION) == get_D(xp, a_whole, a_precision=1)
    assert get_y(0, 2, xp[0] + 10**23, xp, a_whole * A_PRECISION) == get_y(
        0, 2, xp[0] + 10**23, xp, a_whole, a_precision=1
    )
    assert get_dy(1, 0, 10**22, xp, rates, a_whole * A_PRECISION, 10**6) == get_dy(
        1, 0, 10**22, xp, rates, a_whole, 10**6, a_precision=1
    )


@pytest.mark.parametrize("fee", [0, 10**6, 4 * 10**6, 3 * 10**7])
def test_get_dy_tiny_trade_in_balanced_pool_is_dx_less_fee(fee: int) -> None:
    """1 coin into a balanced 1e9/1e9 pool: dy = dx·(1 − fee) to 1e-9, impact being negligible."""
    balances = [10**9 * E18, 10**9 * E18]
    dy = get_dy(0, 1, E18, balances, RATES2, 200 * A_PRECISION, fee)
    assert dy == pytest.approx(E18 * (1 - fee / FEE_DENOMINATOR), rel=1e-9)
    assert dy < E18 * (FEE_DENOMINATOR - fee) // FEE_DENOMINATOR  # the contract keeps 1 wei


def test_get_dy_converts_decimals_with_rates() -> None:
    """A USDC (6 decimals)/DAI (18) pool scales to the same xp as an 18/18 pool and pays the same,
    USDC amounts floored from 18 decimals by · 1e18 / 1e30.
    """
    rates = rates_for_decimals([18, 6])
    balances = [1_000_000 * E18, 900_000 * 10**6]
    twin = [1_000_000 * E18, 900_000 * E18]
    assert xp_mem(balances, rates) == twin
    amp, fee = 100 * A_PRECISION, 4 * 10**6
    assert get_dy(1, 0, 10**6, balances, rates, amp, fee) == get_dy(
        1, 0, E18, twin, RATES2, amp, fee
    )
    assert get_dy(0, 1, E18, balances, rates, amp, fee) == (
        get_dy(0, 1, E18, twin, RATES2, amp, fee) // 10**12
    )


@settings(max_examples=150, deadline=None)
@given(
    balances=pools_xp(2, 2),
    a=AMPS,
    frac=st.floats(min_value=1e-9, max_value=0.5),
    i=st.sampled_from([0, 1]),
)
def test_exchange_without_fee_never_lowers_d(
    balances: list[int], a: int, frac: float, i: int
) -> None:
    """A fee-less exchange ends within a wei of the curve of the pool's D, or outside it (get_y
    solves F(D; x') = 0 in floored integers, the −1 wei rounds into the pool): D does not fall
    beyond the 1-wei stop of its own Newton loop.
    """
    amp = a * A_PRECISION
    j = 1 - i
    dx = max(1, int(frac * balances[i]))
    result = exchange(i, j, dx, balances, RATES2, amp, 0)
    assert result.dy_fee == 0
    d = get_D(balances, amp)
    nudged = list(result.balances)
    nudged[j] += 1
    assert invariant_gap(d, nudged, amp) >= 0
    assert get_D(list(result.balances), amp) >= d - 1


@settings(max_examples=150, deadline=None)
@given(
    balances=pools_xp(2, 2),
    a=AMPS,
    frac=st.floats(min_value=1e-6, max_value=0.5),
    admin_fee=st.sampled_from([0, 5 * 10**9]),
)
def test_exchange_with_fee_raises_d(
    balances: list[int], a: int, frac: float, admin_fee: int
) -> None:
    """The LPs' share of the fee stays in the pool, so D rises; balances move by dx, dy + admin."""
    amp = a * A_PRECISION
    b0, b1 = balances
    dx = int(frac * b0)
    result = exchange(0, 1, dx, balances, RATES2, amp, 4 * 10**6, admin_fee=admin_fee)
    assert result.balances == (b0 + dx, b1 - result.dy - result.dy_admin_fee)
    assert result.dy == get_dy(0, 1, dx, balances, RATES2, amp, 4 * 10**6)
    d = get_D(balances, amp)
    if result.dy_fee - result.dy_fee * admin_fee // FEE_DENOMINATOR > 0:
        assert invariant_gap(d, list(result.balances), amp) > 0
    if result.dy_fee > 10**6:  # a fee of more than a few wei shows in the rounded D too
        assert get_D(list(result.balances), amp) > d


def test_get_y_same_coin_reverts() -> None:
    """The contract asserts i != j ("dev: same coin")."""
    with pytest.raises(StableSwapRevertError, match="same coin"):
        get_y(1, 1, E18, [E18, E18], 100 * A_PRECISION)


def test_get_d_with_an_empty_coin_reverts() -> None:
    """A zero balance divides by zero in D_P ("only withdrawal will work")."""
    with pytest.raises(StableSwapRevertError, match="division by zero"):
        get_D([E18, 0], 100 * A_PRECISION)


def test_get_dy_more_than_the_pool_holds_is_impossible() -> None:
    """Even a huge sale cannot drain coin j: dy stays below its balance."""
    balances = [10**6 * E18, 10**6 * E18]
    dy = get_dy(0, 1, 10**12 * E18, balances, RATES2, 100 * A_PRECISION, 0)
    assert dy < balances[1]


# -- integer and float agree -------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    balances=pools_xp(2, 2),
    a=AMPS,
    frac=st.floats(min_value=1e-4, max_value=0.5),
    fee=st.sampled_from([0, 10**6, 4 * 10**6]),
)
def test_integer_and_float_versions_agree(
    balances: list[int], a: int, frac: float, fee: int
) -> None:
    """get_D, get_y and get_dy in integers (18 decimals) and floats agree to 1e-9 relative."""
    xp = [balances[0] / E18, balances[1] / E18]  # the float balances the integers represent
    dx = frac * xp[0]
    amp = a * A_PRECISION
    assert get_D(balances, amp) / E18 == pytest.approx(get_D_float(xp, float(a)), rel=1e-12)
    dy_int = get_dy(0, 1, int(dx * E18), balances, RATES2, amp, fee)
    dy_float = get_dy_float(0, 1, int(dx * E18) / E18, xp, [1.0, 1.0], float(a), fee / 1e10)
    assert dy_int / E18 == pytest.approx(dy_float, rel=1e-9)
    y_int = get_y(0, 1, balances[0] + int(dx * E18), balances, amp)
    assert y_int / E18 == pytest.approx(
        get_y_float(0, 1, (balances[0] + int(dx * E18)) / E18, xp, float(a)), rel=1e-12
    )


def test_ten_percent_imbalance_marginal_price_by_hand() -> None:
    """Balances 1.1M / 0.9M, A = 100: the price is (∂F/∂x0)/(∂F/∂x1), and a tiny trade pays it."""
    x0, x1, a = 1_100_000.0, 900_000.0, 100.0
    ann = a * 2
    d = get_D_float([x0, x1], a)
    # F = Ann(x0 + x1) + D − Ann·D − D³/(4·x0·x1); ∂F/∂x_k = Ann + D³/(4·x0·x1·x_k).
    dfdx0 = ann + d**3 / (4 * x0 * x1 * x0)
    dfdx1 = ann + d**3 / (4 * x0 * x1 * x1)
    by_hand = dfdx0 / dfdx1
    assert 0.99 < by_hand < 1.0  # the abundant coin is a little cheaper
    assert spot_price([x0, x1], a, 0, 1) == pytest.approx(by_hand, rel=1e-14)
    # A sale of 1e-7 of the pool, through the integer contract math without fee, pays the
    # marginal price up to the second-order impact (~ dx · dp/dx, below 1e-7 here).
    balances = [int(x0) * E18, int(x1) * E18]
    dx = 2 * E18 // 10
    dy = get_dy(0, 1, dx, balances, RATES2, int(a) * A_PRECISION, 0)
    assert dy / dx == pytest.approx(by_hand, rel=1e-7)


# -- the float impact model ----------------------------------------------------------------------


def pool(fee_bps: float = 0.0, a: float = 200.0, peg: float = 1.0) -> StableSwapPool:
    return StableSwapPool(amplification=a, depth_usd=2e7 * peg, fee_bps=fee_bps, peg=peg)


def test_pool_balanced_at_the_peg() -> None:
    """At the peg price the pool is balanced: each side holds depth / (2·peg) coins."""
    assert pool(peg=3_000.0).balances_at(3_000.0) == pytest.approx((1e7, 1e7), rel=1e-12)


@pytest.mark.parametrize("a", [10.0, 200.0, 2_000.0])
def test_pool_recentres_on_the_balances_quoting_the_price(a: float) -> None:
    """The balances at price p are those whose marginal price is p: 1.1/0.9 of D/2 for p = spot."""
    d = get_D_float([1.1e6, 0.9e6], a)
    price = spot_price([1.1e6, 0.9e6], a, 0, 1)
    amm = StableSwapPool(amplification=a, depth_usd=d, fee_bps=0.0)
    x, y = amm.balances_at(price)
    assert (x, y) == pytest.approx((1.1e6, 0.9e6), rel=1e-9)


@pytest.mark.parametrize("price", [0.95, 0.999, 1.0, 1.003])
@pytest.mark.parametrize("quantity", [-50_000.0, -3.0, 3.0, 50_000.0])
@pytest.mark.parametrize("fee_bps", [0.0, 4.0])
def test_pool_fill_matches_integer_get_dy(price: float, quantity: float, fee_bps: float) -> None:
    """fill's notional equals the contract's get_dy on the re-centred balances, to 1e-9."""
    amm = pool(fee_bps)
    x, y = amm.balances_at(price)
    balances = [round(x * E18), round(y * E18)]
    fee = round(fee_bps * 1e6)  # bps to 1e10: 1 bp = 1e6
    fill = amm.fill(price, quantity)
    if quantity < 0:  # asset in (coin 0), peg asset out
        dy = get_dy(0, 1, round(-quantity * E18), balances, RATES2, 200 * A_PRECISION, fee)
        assert fill.notional_usd == pytest.approx(dy / E18, rel=1e-9)
    else:  # peg asset in: paying the notional buys `quantity` of the asset
        got = get_dy(1, 0, round(fill.notional_usd * E18), balances, RATES2, 200 * A_PRECISION, fee)
        assert got / E18 == pytest.approx(quantity, rel=1e-9)


def test_pool_fill_with_a_peg_prices_in_usd() -> None:
    """stETH/ETH at ETH = 3000: the notional is the ETH get_dy pays, times 3000."""
    amm = pool(fee_bps=1.0, peg=3_000.0)
    price = 0.98 * 3_000.0
    x, y = amm.balances_at(price)
    balances = [round(x * E18), round(y * E18)]
    dy = get_dy(0, 1, 100 * E18, balances, RATES2, 200 * A_PRECISION, 10**6)
    assert amm.fill(price, -100.0).notional_usd == pytest.approx(dy / E18 * 3_000.0, rel=1e-9)


@pytest.mark.parametrize("peg", [1.0, 3_000.0])
@pytest.mark.parametrize("fee_bps", [0.0, 4.0])
@pytest.mark.parametrize(
    ("price", "target"),
    [(1.0, 0.99), (1.0, 0.5), (0.97, 0.999), (1.0, 1.02), (1.01, 0.9), (0.9, 0.95)],
)
def test_quantity_for_price_then_fill_lands_at_target(
    peg: float, fee_bps: float, price: float, target: float
) -> None:
    """quantity_for_price(p, t) traded by fill(p, ·) leaves the price at t."""
    amm = pool(fee_bps, peg=peg)
    q = amm.quantity_for_price(price * peg, target * peg)
    assert (q < 0) == (target < price)
    assert amm.fill(price * peg, q).price_after == pytest.approx(target * peg, rel=1e-10)


@pytest.mark.parametrize("fee_bps", [0.0, 4.0])
def test_pool_sell_proceeds_equals_fill_of_each_alone(fee_bps: float) -> None:
    """sell_proceeds gives, for each quantity, what a fill of that quantity alone pays."""
    amm = pool(fee_bps)
    quantities = np.array([0.0, 1e-6, 1.0, 1e4, 1e6, 1e8])
    alone = [amm.fill(0.998, -q).notional_usd for q in quantities]
    assert amm.sell_proceeds(0.998, quantities) == pytest.approx(alone, rel=1e-12, abs=1e-15)


@settings(max_examples=200, deadline=None)
@given(
    a=st.floats(min_value=1.0, max_value=10_000.0),
    price=st.floats(min_value=0.2, max_value=5.0),
    fee=st.floats(min_value=0.0, max_value=100.0),
    frac=st.floats(min_value=1e-12, max_value=10.0),
)
def test_pool_sell_never_pays_more_than_quantity_times_price(
    a: float, price: float, fee: float, frac: float
) -> None:
    """A sale fetches at most quantity · price and lowers the price, even for dust."""
    amm = StableSwapPool(amplification=a, depth_usd=1e8, fee_bps=fee)
    q = frac * 1e8
    fill = amm.fill(price, -q)
    assert 0.0 <= fill.notional_usd <= q * price * (1 + 1e-12)
    assert fill.price_after <= price * (1 + 1e-12)


@settings(max_examples=200, deadline=None)
@given(
    a=st.floats(min_value=1.0, max_value=10_000.0),
    price=st.floats(min_value=0.2, max_value=5.0),
    frac=st.floats(min_value=1e-6, max_value=10.0),
)
def test_pool_feeless_sell_then_buy_back_returns_to_price(
    a: float, price: float, frac: float
) -> None:
    """Without a fee, buying back what was sold costs the proceeds and restores the price."""
    amm = StableSwapPool(amplification=a, depth_usd=1e8, fee_bps=0.0)
    q = frac * 1e8
    sold = amm.fill(price, -q)
    bought = amm.fill(sold.price_after, q)
    assert bought.notional_usd == pytest.approx(sold.notional_usd, rel=1e-7)
    assert bought.price_after == pytest.approx(price, rel=1e-7)


def test_pool_buy_more_than_it_holds_raises_value_error() -> None:
    """Buying the whole asset balance (grossed up for the fee) raises, saying what is possible."""
    amm = pool(fee_bps=4.0)
    x, _ = amm.balances_at(1.0)
    with pytest.raises(ValueError, match="at most"):
        amm.fill(1.0, x)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"amplification": 0.5, "depth_usd": 1.0}, "amplification"),
        ({"amplification": 100.0, "depth_usd": 0.0}, "depth_usd"),
        ({"amplification": 100.0, "depth_usd": float("inf")}, "depth_usd"),
        ({"amplification": 100.0, "depth_usd": 1.0, "fee_bps": -1.0}, "fee_bps"),
        ({"amplification": 100.0, "depth_usd": 1.0, "peg": 0.0}, "peg"),
    ],
)
def test_pool_invalid_params_raise_value_error(kwargs: dict[str, float], name: str) -> None:
    """A < 1, non-positive or infinite depth, a negative fee and a zero peg are rejected by name."""
    with pytest.raises(ValueError, match=name):
        StableSwapPool(**kwargs)
