"""Tests of protosim.amm.uniswap_v3: Uniswap v3 integer swap math and the float liquidity model.

Expected values are either literal from the contract's own test suite, Uniswap/v3-core@d8b1c635
(``test/TickMath.spec.ts``, ``test/SqrtPriceMath.spec.ts``, ``test/SwapMath.spec.ts``,
``test/TickBitmap.spec.ts`` and the snapshot ``test/__snapshots__/UniswapV3Pool.swaps.spec.ts.snap``
of ``test/UniswapV3Pool.swaps.spec.ts``), or worked in the test from the closed forms of
mechanics §12.2 (``Δy = L(√Pb − √Pa)``, ``Δx = L(1/√Pa − 1/√Pb)``) with exact fractions.
"""

from __future__ import annotations

import math
from decimal import Decimal, getcontext
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from protosim.amm.uniswap_v3 import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    Q96,
    ConcentratedLiquidityPool,
    PoolState,
    TickMap,
    UniswapV3RevertError,
    compute_swap_step,
    get_amount0_delta,
    get_amount0_delta_signed,
    get_amount1_delta,
    get_amount1_delta_signed,
    get_next_sqrt_price_from_input,
    get_next_sqrt_price_from_output,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
    max_liquidity_per_tick,
    swap,
)

E18 = 10**18
TICKS = st.integers(min_value=MIN_TICK, max_value=MAX_TICK)


# -- TickMath (test/TickMath.spec.ts) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("tick", "expected"),
    [
        (MIN_TICK, 4295128739),
        (MIN_TICK + 1, 4295343490),
        (0, 2**96),
        (MAX_TICK - 1, 1461373636630004318706518188784493106690254656249),
        (MAX_TICK, 1461446703485210103287273052203988822378723970342),
    ],
)
def test_get_sqrt_ratio_at_tick_boundary_values(tick: int, expected: int) -> None:
    """The spec's literal values: min tick, min tick + 1, 0 (= 2^96), max tick − 1, max tick."""
    assert get_sqrt_ratio_at_tick(tick) == expected
    assert get_sqrt_ratio_at_tick(MIN_TICK) == MIN_SQRT_RATIO
    assert get_sqrt_ratio_at_tick(MAX_TICK) == MAX_SQRT_RATIO


@pytest.mark.parametrize("tick", [MIN_TICK - 1, MAX_TICK + 1])
def test_get_sqrt_ratio_at_tick_out_of_range_reverts_t(tick: int) -> None:
    """|tick| > 887272 reverts with 'T'."""
    with pytest.raises(UniswapV3RevertError, match=r"^T$"):
        get_sqrt_ratio_at_tick(tick)


@pytest.mark.parametrize("ratio", [MIN_SQRT_RATIO - 1, MAX_SQRT_RATIO])
def test_get_tick_at_sqrt_ratio_out_of_range_reverts_r(ratio: int) -> None:
    """A sqrt ratio below MIN_SQRT_RATIO or at MAX_SQRT_RATIO reverts with 'R'."""
    with pytest.raises(UniswapV3RevertError, match=r"^R$"):
        get_tick_at_sqrt_ratio(ratio)


@pytest.mark.parametrize(
    ("ratio", "tick"),
    [
        (MIN_SQRT_RATIO, MIN_TICK),
        (4295343490, MIN_TICK + 1),
        (1461373636630004318706518188784493106690254656249, MAX_TICK - 1),
        (MAX_SQRT_RATIO - 1, MAX_TICK - 1),
    ],
)
def test_get_tick_at_sqrt_ratio_boundary_values(ratio: int, tick: int) -> None:
    """The spec's literal values at both ends of the range."""
    assert get_tick_at_sqrt_ratio(ratio) == tick


@pytest.mark.parametrize(
    "tick",
    [
        t
        for a in (50, 100, 250, 500, 1_000, 2_500, 5_000, 50_000, 150_000, 738_203)
        for t in (-a, a)
    ],
)
def test_get_sqrt_ratio_at_tick_within_a_hundredth_of_a_bip(tick: int) -> None:
    """sqrt(1.0001^tick)·2^96 to within 1e-6 relative, the spec's bound ("1/100th of a bips")."""
    getcontext().prec = 80
    exact = (Decimal("1.0001") ** tick).sqrt() * Decimal(2) ** 96
    assert abs(Decimal(get_sqrt_ratio_at_tick(tick)) - exact) / exact < Decimal("1e-6")


@settings(max_examples=300, deadline=None)
@given(tick=st.integers(min_value=MIN_TICK, max_value=MAX_TICK - 1))
def test_tick_math_round_trips(tick: int) -> None:
    """Every ratio in [ratio(t), ratio(t + 1)) maps back to t; ratio(t) − 1 maps to t − 1."""
    low, high = get_sqrt_ratio_at_tick(tick), get_sqrt_ratio_at_tick(tick + 1)
    assert low < high
    assert get_tick_at_sqrt_ratio(low) == tick
    assert get_tick_at_sqrt_ratio(high - 1) == tick
    assert get_tick_at_sqrt_ratio((low + high) // 2) == tick
    if tick > MIN_TICK:
        assert get_tick_at_sqrt_ratio(low - 1) == tick - 1


# -- SqrtPriceMath (test/SqrtPriceMath.spec.ts) ----------------------------------------------------


def test_sqrt_price_math_spec_values() -> None:
    """Literal results of the spec: 0.1 token in or out at price 1 with liquidity 1 (1e18)."""
    assert (
        get_next_sqrt_price_from_input(Q96, E18, E18 // 10, False) == 87150978765690771352898345369
    )
    assert (
        get_next_sqrt_price_from_input(Q96, E18, E18 // 10, True) == 72025602285694852357767227579
    )
    assert get_next_sqrt_price_from_input(Q96, 10 * E18, 2**100, True) == 624999999995069620
    assert get_next_sqrt_price_from_input(Q96, 1, (2**256 - 1) // 2, True) == 1
    assert get_next_sqrt_price_from_input(1, 1, 2**255, True) == 1
    assert (
        get_next_sqrt_price_from_output(Q96, E18, E18 // 10, False) == 88031291682515930659493278152
    )
    assert (
        get_next_sqrt_price_from_output(Q96, E18, E18 // 10, True) == 71305346262837903834189555302
    )
    sqrt_p = 20282409603651670423947251286016
    assert get_next_sqrt_price_from_output(sqrt_p, 1024, 262143, True) == 77371252455336267181195264


@pytest.mark.parametrize(("amount_out", "zero_for_one"), [(4, False), (5, False), (262144, True)])
def test_output_at_or_beyond_virtual_reserves_reverts(amount_out: int, zero_for_one: bool) -> None:
    """Taking all (or more) of the virtual reserves reverts: 4 token0, 262144 token1 at L = 1024."""
    with pytest.raises(UniswapV3RevertError):
        get_next_sqrt_price_from_output(
            20282409603651670423947251286016, 1024, amount_out, zero_for_one
        )


def test_input_overflowing_the_price_reverts() -> None:
    """Adding 1024 token1 at price 2^160 − 1 with L = 1024 overflows uint160."""
    with pytest.raises(UniswapV3RevertError):
        get_next_sqrt_price_from_input(2**160 - 1, 1024, 1024, False)


def test_amount_deltas_round_up_and_down() -> None:
    """Price 1 to 1.21 with L = 1e18: 0.1e18 token1 and 1e18(1 − 1/1.1) token0, up = down + 1."""
    a, b = Q96, 87150978765690771352898345369  # encodePriceSqrt(121, 100)
    assert get_amount1_delta(a, b, E18, True) == 10**17
    assert get_amount1_delta(a, b, E18, False) == 10**17 - 1
    assert get_amount0_delta(a, b, E18, True) == 90909090909090910
    assert get_amount0_delta(a, b, E18, False) == 90909090909090909
    assert get_amount0_delta_signed(b, a, -E18) == -90909090909090909
    assert get_amount1_delta_signed(b, a, E18) == 10**17


# -- SwapMath (test/SwapMath.spec.ts) -------------------------------------------------------------

ONE_01 = 79623317895830914510639640423  # encodePriceSqrt(101, 100)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # exact amount in that gets capped at price target in one for zero
        (
            (Q96, ONE_01, 2 * E18, E18, 600),
            (ONE_01, 9975124224178055, 9925619580021728, 5988667735148),
        ),
        # exact amount out that gets capped at price target in one for zero
        (
            (Q96, ONE_01, 2 * E18, -E18, 600),
            (ONE_01, 9975124224178055, 9925619580021728, 5988667735148),
        ),
        # amount out is capped at the desired amount out
        (
            (
                417332158212080721273783715441582,
                1452870262520218020823638996,
                159344665391607089467575320103,
                -1,
                1,
            ),
            (417332158212080721273783715441581, 1, 1, 1),
        ),
        # target price of 1 uses partial input amount
        (
            (2, 1, 1, 3915081100057732413702495386755767, 1),
            (1, 39614081257132168796771975168, 0, 39614120871253040049813),
        ),
        # entire input amount taken as fee
        ((2413, 79887613182836312, 1985041575832132834610021537970, 10, 1872), (2413, 0, 0, 10)),
        # handles intermediate insufficient liquidity in zero for one exact output case
        (
            (
                20282409603651670423947251286016,
                20282409603651670423947251286016 * 11 // 10,
                1024,
                -4,
                3000,
            ),
            (20282409603651670423947251286016 * 11 // 10, 26215, 0, 79),
        ),
        # handles intermediate insufficient liquidity in one for zero exact output case
        (
            (
                20282409603651670423947251286016,
                20282409603651670423947251286016 * 9 // 10,
                1024,
                -263000,
                3000,
            ),
            (20282409603651670423947251286016 * 9 // 10, 1, 26214, 1),
        ),
    ],
)
def test_compute_swap_step_spec_values(
    args: tuple[int, int, int, int, int], expected: tuple[int, int, int, int]
) -> None:
    """computeSwapStep returns the spec's literal (sqrtQ, amountIn, amountOut, feeAmount)."""
    assert tuple(compute_swap_step(*args)) == expected


def test_compute_swap_step_exact_in_fully_spent() -> None:
    """1e18 in, fee 0.06%, toward price 10: the input is used up (spec: 999.4e15 in, 0.6e15 fee)."""
    target = get_next_sqrt_price_from_input(Q96, 2 * E18, 10 * E18, False)  # far beyond
    step = compute_swap_step(Q96, target, 2 * E18, E18, 600)
    assert (step.amount_in, step.fee_amount, step.amount_out) == (
        999400000000000000,
        600000000000000,
        666399946655997866,
    )
    assert step.sqrt_ratio_next_x96 == get_next_sqrt_price_from_input(
        Q96, 2 * E18, step.amount_in, False
    )


# -- TickBitmap (test/TickBitmap.spec.ts) ----------------------------------------------------------

BITMAP = TickMap(1, tuple((t, 0) for t in (-200, -55, -4, 70, 78, 84, 139, 240, 535)))


@pytest.mark.parametrize(
    ("tick", "lte", "expected"),
    [
        (78, False, (84, True)),
        (-55, False, (-4, True)),
        (77, False, (78, True)),
        (-56, False, (-55, True)),
        (255, False, (511, False)),
        (-257, False, (-200, True)),
        (508, False, (511, False)),
        (383, False, (511, False)),
        (78, True, (78, True)),
        (79, True, (78, True)),
        (258, True, (256, False)),
        (256, True, (256, False)),
        (72, True, (70, True)),
        (-257, True, (-512, False)),
        (1023, True, (768, False)),
        (900, True, (768, False)),
    ],
)
def test_next_initialized_tick_within_one_word_spec_values(
    tick: int, lte: bool, expected: tuple[int, bool]
) -> None:
    """Stops at the next initialized tick or at the 256-tick word boundary, as the spec lists."""
    assert BITMAP.next_initialized_tick_within_one_word(tick, lte) == expected


@pytest.mark.parametrize(
    ("spacing", "expected"),
    [
        (10, 1917569901783203986719870431555990),
        (60, 11505743598341114571880798222544994),
        (200, 38350317471085141830651933667504588),
        (887272, (2**128 - 1) // 3),
        (2302, 441351967472034323558203122479595605),
    ],
)
def test_max_liquidity_per_tick_spec_values(spacing: int, expected: int) -> None:
    """tickSpacingToMaxLiquidityPerTick as in test/Tick.spec.ts."""
    assert max_liquidity_per_tick(spacing) == expected


def test_mint_checks_revert_like_the_pool() -> None:
    """Lower >= upper is 'TLU', below MIN_TICK 'TLM', above MAX_TICK 'TUM', over the cap 'LO'."""
    with pytest.raises(UniswapV3RevertError, match="TLU"):
        TickMap.from_positions(60, [(60, 60, 1)])
    with pytest.raises(UniswapV3RevertError, match="TLM"):
        TickMap.from_positions(1, [(MIN_TICK - 1, 0, 1)])
    with pytest.raises(UniswapV3RevertError, match="TUM"):
        TickMap.from_positions(1, [(0, MAX_TICK + 1, 1)])
    with pytest.raises(UniswapV3RevertError, match="LO"):
        TickMap.from_positions(60, [(-60, 60, max_liquidity_per_tick(60) + 1)])


# -- swap: the pool's snapshot (test/__snapshots__/UniswapV3Pool.swaps.spec.ts.snap) ---------------

MIN60, MAX60 = -887220, 887220  # getMinTick(60), getMaxTick(60)
FULL = (MIN60, MAX60, 2 * E18)
POOLS = {
    "medium fee, 1:1 price, 2e18 max range liquidity": (60, 3000, [FULL]),
    "low fee, 1:1 price, 2e18 max range liquidity": (10, 500, [(-887270, 887270, 2 * E18)]),
    "medium fee, 1:1 price, additional liquidity around current price": (
        60,
        3000,
        [FULL, (MIN60, -60, 2 * E18), (60, MAX60, 2 * E18)],
    ),
    "medium fee, 1:1 price, 0 liquidity, all liquidity around current price": (
        60,
        3000,
        [(MIN60, -60, 2 * E18), (60, MAX60, 2 * E18)],
    ),
    "low fee, large liquidity around current price (stable swap)": (10, 500, [(-10, 10, 2 * E18)]),
    "medium fee, token0 liquidity only": (60, 3000, [(0, 120_000, 2 * E18)]),
}


def pool_state(name: str) -> tuple[PoolState, TickMap]:
    spacing, fee, positions = POOLS[name]
    ticks = TickMap.from_positions(spacing, positions)
    return PoolState.at_price(Q96, ticks, fee), ticks


@pytest.mark.parametrize(
    ("name", "zero_for_one", "amount", "amount0", "amount1", "tick_after", "fee_growth"),
    [
        ("medium fee, 1:1 price, 2e18 max range liquidity", True, E18,
         E18, -665331998665331998, -8090, 510423550381407695195061911147652317),
        ("low fee, 1:1 price, 2e18 max range liquidity", True, E18,
         E18, -666444407401233536, -8107, 85070591730234956148210572796405514),
        ("medium fee, 1:1 price, additional liquidity around current price", True, E18,
         E18, -795933705287758544, -4476, 256749882580179971840679703106063897),
        ("medium fee, 1:1 price, additional liquidity around current price", False, E18,
         -795933705287758544, E18, 4475, 256749882580179971840679703106063897),
        ("medium fee, 1:1 price, additional liquidity around current price", True, -E18,
         1342022152495072924, -E18, -5794, 344037963272993171369654596359692757),
        ("medium fee, 1:1 price, additional liquidity around current price", False, -E18,
         -E18, 1342022152495072924, 5793, 344037963272993171369654596359692757),
    ],
)  # fmt: skip
def test_swap_reproduces_the_pool_snapshot(
    name: str,
    zero_for_one: bool,
    amount: int,
    amount0: int,
    amount1: int,
    tick_after: int,
    fee_growth: int,
) -> None:
    """amount0Delta, amount1Delta, tickAfter and feeGrowthGlobal delta equal the snapshot's."""
    state, ticks = pool_state(name)
    limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
    result = swap(state, zero_for_one, amount, limit, ticks)
    assert (result.amount0, result.amount1, result.state.tick) == (amount0, amount1, tick_after)
    assert result.fee_growth_global_x128 == fee_growth


def test_mint_amounts_reproduce_the_pool_snapshot() -> None:
    """Minting the three positions at price 1 takes 3994009290088178439 of each token (snapshot)."""
    _, _, positions = POOLS["medium fee, 1:1 price, additional liquidity around current price"]
    assert reserves(positions, Q96, 0, +1) == (3994009290088178439, 3994009290088178439)


def test_swap_crossing_a_tick_changes_liquidity_by_liquidity_net() -> None:
    """Up through tick 60 adds its liquidityNet (+2e18); down through −60 subtracts its (−2e18)."""
    state, ticks = pool_state("medium fee, 1:1 price, additional liquidity around current price")
    assert state.liquidity == 2 * E18
    up = swap(state, False, E18, MAX_SQRT_RATIO - 1, ticks)
    assert up.ticks_crossed == (60,)
    assert up.state.liquidity == state.liquidity + ticks.net_at(60) == 4 * E18
    down = swap(state, True, E18, MIN_SQRT_RATIO + 1, ticks)
    assert down.ticks_crossed == (-60,)
    assert down.state.liquidity == state.liquidity - ticks.net_at(-60) == 4 * E18
    assert down.state.tick < -60  # the pool sits below a tick it crossed downwards


def test_swap_through_zero_liquidity_moves_the_price_for_free() -> None:
    """With no liquidity in (−60, 60) the price jumps to the next range before anything trades."""
    state, ticks = pool_state(
        "medium fee, 1:1 price, 0 liquidity, all liquidity around current price"
    )
    assert state.liquidity == 0
    result = swap(state, False, 1000, MAX_SQRT_RATIO - 1, ticks)
    assert result.ticks_crossed == (60,)
    assert result.state.sqrt_price_x96 > get_sqrt_ratio_at_tick(60)
    assert result.amount1 == 1000


def test_swap_stops_at_the_price_limit_with_a_partial_amount() -> None:
    """Liquidity only in [0, 120000]: a sale below price 1 trades nothing and stops at the limit."""
    state, ticks = pool_state("medium fee, token0 liquidity only")
    limit = get_sqrt_ratio_at_tick(-600)
    result = swap(state, True, E18, limit, ticks)
    assert result.state.sqrt_price_x96 == limit
    assert (result.amount0, result.amount1) == (0, 0)  # no token1 below price 1 to buy


@pytest.mark.parametrize(
    ("zero_for_one", "limit"),
    [(True, Q96), (False, Q96), (True, MIN_SQRT_RATIO), (False, MAX_SQRT_RATIO)],
)
def test_swap_price_limit_on_wrong_side_reverts_spl(zero_for_one: bool, limit: int) -> None:
    """A limit not strictly beyond the price, or not strictly inside TickMath's range, is 'SPL'."""
    state, ticks = pool_state("medium fee, 1:1 price, 2e18 max range liquidity")
    with pytest.raises(UniswapV3RevertError, match="SPL"):
        swap(state, zero_for_one, E18, limit, ticks)


def test_swap_zero_amount_reverts_as() -> None:
    """amountSpecified == 0 is 'AS'."""
    state, ticks = pool_state("medium fee, 1:1 price, 2e18 max range liquidity")
    with pytest.raises(UniswapV3RevertError, match="AS"):
        swap(state, True, 0, MIN_SQRT_RATIO + 1, ticks)


# -- swap: closed forms and invariants -------------------------------------------------------------

SINGLE = (-600, 600, 10**24)


@pytest.mark.parametrize("zero_for_one", [True, False])
def test_single_range_swap_to_the_boundary_matches_closed_forms(zero_for_one: bool) -> None:
    """Fee-less swap from price 1 to the range edge: Δx = L(1/√Pa − 1/√Pb), Δy = L(√Pb − √Pa)."""
    ticks = TickMap.from_positions(60, [SINGLE])
    state = PoolState.at_price(Q96, ticks, 0)
    lower, upper = get_sqrt_ratio_at_tick(-600), get_sqrt_ratio_at_tick(600)
    liquidity = SINGLE[2]
    if zero_for_one:
        result = swap(state, True, 10**30, lower, ticks)  # more than enough to reach the limit
        # Δx = L·(1/√P_low − 1/√P_start) and Δy = L·(√P_start − √P_low), √P = ratio / 2^96.
        dx = Fraction(liquidity * Q96) * (Fraction(1, lower) - Fraction(1, Q96))
        dy = Fraction(liquidity, Q96) * (Q96 - lower)
        assert result.amount0 == math.ceil(dx)  # paid in, rounded up
        assert result.amount1 == -math.floor(dy)  # paid out, rounded down
    else:
        result = swap(state, False, 10**30, upper, ticks)
        dy = Fraction(liquidity, Q96) * (upper - Q96)
        dx = Fraction(liquidity * Q96) * (Fraction(1, Q96) - Fraction(1, upper))
        assert result.amount1 == math.ceil(dy)
        assert result.amount0 == -math.floor(dx)
    # The limit is the range's edge: the swap ends on it, crossing out of the only position.
    assert result.ticks_crossed == ((-600,) if zero_for_one else (600,))
    assert result.state.liquidity == 0


@settings(max_examples=150, deadline=None)
@given(amount=st.integers(min_value=1, max_value=10**22), zero_for_one=st.booleans())
def test_single_range_partial_swap_matches_closed_forms(amount: int, zero_for_one: bool) -> None:
    """Within one range, out = L·|√P' − √P| (token1) or L·|1/√P' − 1/√P| (token0), rounded down,
    at the price the contract lands on; the price moves by the input less the fee (0.3%).
    """
    ticks = TickMap.from_positions(60, [SINGLE])
    state = PoolState.at_price(Q96, ticks, 3000)
    limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
    result = swap(state, zero_for_one, amount, limit, ticks)
    assume(result.ticks_crossed == ())
    liquidity, p0, p1 = SINGLE[2], Q96, result.state.sqrt_price_x96
    if zero_for_one:
        assert -result.amount1 == math.floor(Fraction(liquidity, Q96) * (p0 - p1))
        in_less_fee = Fraction(liquidity * Q96) * (Fraction(1, p1) - Fraction(1, p0))
    else:
        assert -result.amount0 == math.floor(
            Fraction(liquidity * Q96) * (Fraction(1, p0) - Fraction(1, p1))
        )
        in_less_fee = Fraction(liquidity, Q96) * (p1 - p0)
    paid = result.amount0 if zero_for_one else result.amount1
    assert paid == amount  # exact input is used up
    # amountIn = paid − fee, with fee ≈ paid · 0.3%: the curve absorbed what was left after the fee.
    assert float(in_less_fee) == pytest.approx(amount * (1 - 0.003), rel=1e-9, abs=2)


THREE = [(MIN60, MAX60, 2 * E18), (-1200, -60, 3 * E18), (120, 2400, 5 * E18)]
THREE_MAP = TickMap.from_positions(60, THREE)


def reserves(
    positions: list[tuple[int, int, int]], sqrt_price: int, tick: int, sign: int
) -> tuple[int, int]:
    """Tokens the positions hold at a price (UniswapV3Pool._modifyPosition): sign +1 is what a mint
    pays in (rounded up), −1 minus what a burn pays out (rounded down).
    """
    total0 = total1 = 0
    for lower, upper, liquidity in positions:
        a, b = get_sqrt_ratio_at_tick(lower), get_sqrt_ratio_at_tick(upper)
        delta = sign * liquidity
        if tick < lower:
            total0 += get_amount0_delta_signed(a, b, delta)
        elif tick < upper:
            total0 += get_amount0_delta_signed(sqrt_price, b, delta)
            total1 += get_amount1_delta_signed(a, sqrt_price, delta)
        else:
            total1 += get_amount1_delta_signed(a, b, delta)
    return abs(total0), abs(total1)


@settings(max_examples=150, deadline=None)
@given(
    start_tick=st.integers(min_value=-3000, max_value=3000),
    zero_for_one=st.booleans(),
    amount=st.integers(min_value=1, max_value=30 * E18),
    exact_out=st.booleans(),
)
def test_swap_conserves_each_token(
    start_tick: int, zero_for_one: bool, amount: int, exact_out: bool
) -> None:
    """Per token: balance before + amount paid in − fee = reserves the positions hold after,
    up to the wei each step and each mint/burn rounds in the pool's favour (never below).
    """
    sqrt_price = get_sqrt_ratio_at_tick(start_tick) + 1
    state = PoolState.at_price(sqrt_price, THREE_MAP, 3000)
    before = reserves(THREE, sqrt_price, state.tick, +1)  # what minting at this price deposited
    limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
    result = swap(state, zero_for_one, -amount if exact_out else amount, limit, THREE_MAP)
    after = reserves(THREE, result.state.sqrt_price_x96, result.state.tick, -1)
    fees = (result.fee_amount, 0) if zero_for_one else (0, result.fee_amount)
    for token, paid in enumerate((result.amount0, result.amount1)):
        slack = before[token] + paid - fees[token] - after[token]
        assert 0 <= slack <= result.steps + 2 * len(THREE)


@settings(max_examples=150, deadline=None)
@given(
    start_tick=st.integers(min_value=-3000, max_value=3000),
    zero_for_one=st.booleans(),
    amount=st.integers(min_value=10**6, max_value=30 * E18),
)
def test_exact_input_then_exact_output_is_consistent(
    start_tick: int, zero_for_one: bool, amount: int
) -> None:
    """If exact input a buys b, exact output b costs a' <= a, and exact input a' buys at least b."""
    sqrt_price = get_sqrt_ratio_at_tick(start_tick) + 1
    state = PoolState.at_price(sqrt_price, THREE_MAP, 3000)
    limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1

    def paid_and_got(specified: int) -> tuple[int, int]:
        r = swap(state, zero_for_one, specified, limit, THREE_MAP)
        return (r.amount0, -r.amount1) if zero_for_one else (r.amount1, -r.amount0)

    paid, got = paid_and_got(amount)
    assume(got > 0 and paid == amount)  # liquidity did not run out
    cost, received = paid_and_got(-got)
    assert received == got
    assert cost <= amount
    assert paid_and_got(cost)[1] >= got


# -- the float model -------------------------------------------------------------------------------


def price_at(tick: int) -> float:
    return (get_sqrt_ratio_at_tick(tick) / Q96) ** 2


def float_pool(fee_bps: float) -> ConcentratedLiquidityPool:
    """THREE in natural units: both tokens with 18 decimals, so L / 1e18 and the raw price."""
    return ConcentratedLiquidityPool.from_liquidity(
        [(price_at(lo), price_at(hi), liq / E18) for lo, hi, liq in THREE],
        reference_price=1.0,
        fee_bps=fee_bps,
    )


@pytest.mark.parametrize("fee_bps", [0.0, 30.0])
# Above price 1 the positions hold only about 2.54 token0 (L/√P of each range), so buys stay below.
@pytest.mark.parametrize("quantity", [-0.01, -1.0, -3.0, -20.0, 0.01, 1.0, 2.0, 2.5])
def test_float_fill_matches_the_integer_swap(fee_bps: float, quantity: float) -> None:
    """fill's notional and price after equal the contract's swap (exact in / exact out) to 1e-9."""
    amm = float_pool(fee_bps)
    state = PoolState.at_price(Q96, THREE_MAP, round(fee_bps * 100))
    fill = amm.fill(1.0, quantity)
    if quantity < 0:  # sell token0: exact input
        result = swap(state, True, round(-quantity * E18), MIN_SQRT_RATIO + 1, THREE_MAP)
        assert fill.notional_usd == pytest.approx(-result.amount1 / E18, rel=1e-9)
    else:  # buy token0: exact output
        result = swap(state, False, -round(quantity * E18), MAX_SQRT_RATIO - 1, THREE_MAP)
        assert fill.notional_usd == pytest.approx(result.amount1 / E18, rel=1e-9)
    assert fill.price_after == pytest.approx((result.state.sqrt_price_x96 / Q96) ** 2, rel=1e-9)
    if abs(quantity) >= 1.0:
        assert result.ticks_crossed  # the comparison crossed ranges


def test_float_single_range_sell_by_closed_form() -> None:
    """Selling x with L and √P: √P' = L√P/(L + x√P), proceeds L(√P − √P') (mechanics §12.2)."""
    amm = ConcentratedLiquidityPool.from_liquidity(
        [(900.0, 1_100.0, 5_000.0)], reference_price=1_000.0, fee_bps=0.0
    )
    liquidity, sqrt_p, x = 5_000.0, math.sqrt(1_000.0), 5.0  # the range absorbs 8.55 below 1000
    sqrt_after = liquidity * sqrt_p / (liquidity + x * sqrt_p)
    fill = amm.fill(1_000.0, -x)
    assert fill.notional_usd == pytest.approx(liquidity * (sqrt_p - sqrt_after), rel=1e-12)
    assert fill.price_after == pytest.approx(sqrt_after**2, rel=1e-12)


def test_float_range_value_sets_liquidity() -> None:
    """A range holding V USD at P0 inside [Pa, Pb] has L = V / (2√P0 − P0/√Pb − √Pa)."""
    amm = ConcentratedLiquidityPool.around(2_000.0, 1e6, 0.1)
    pa, pb, p0 = 1_800.0, 2_200.0, 2_000.0
    expected = 1e6 / (2 * math.sqrt(p0) - p0 / math.sqrt(pb) - math.sqrt(pa))
    assert amm.position_liquidity[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("fee_bps", [0.0, 5.0, 30.0])
@pytest.mark.parametrize(
    ("price", "target"),
    [(1.0, 0.97), (1.0, 0.9), (1.0, 1.03), (1.0, 1.2), (0.95, 1.01), (1.05, 0.9), (2.0, 1.1)],
)
def test_quantity_for_price_then_fill_lands_at_target(
    fee_bps: float, price: float, target: float
) -> None:
    """quantity_for_price(p, t) traded by fill(p, ·) leaves the price at t, across ranges."""
    amm = float_pool(fee_bps)
    q = amm.quantity_for_price(price, target)
    assert (q < 0) == (target < price)
    assert amm.fill(price, q).price_after == pytest.approx(target, rel=1e-12)


def test_float_fill_beyond_the_ranges_raises_naming_the_fillable_amount() -> None:
    """Selling more than the ranges below absorb raises ValueError with what could be filled."""
    amm = ConcentratedLiquidityPool.around(1_000.0, 1e6, 0.05, fee_bps=0.0)
    most = float(amm.depth_curve(1_000.0, [1.0])[0])
    assert amm.fill(1_000.0, -most).price_after == pytest.approx(950.0, rel=1e-12)
    with pytest.raises(ValueError, match="at most") as caught:
        amm.fill(1_000.0, -2 * most)
    fillable = float(str(caught.value).split("at most ")[1].split(" ")[0])
    assert fillable == pytest.approx(most, rel=1e-12)
    with pytest.raises(ValueError, match="at most"):
        amm.fill(1_000.0, 1e9)
    with pytest.raises(ValueError, match="at most"):
        amm.sell_proceeds(1_000.0, np.array([1.0, 2 * most]))
    with pytest.raises(ValueError, match="below the lowest range"):
        amm.quantity_for_price(1_000.0, 900.0)


def test_float_gap_between_ranges_is_crossed_for_free() -> None:
    """Two ranges with a gap: a sale that empties the upper range lands at its lower edge, one more
    unit jumps the gap and trades in the lower range at its top price.
    """
    amm = ConcentratedLiquidityPool.from_liquidity(
        [(900.0, 950.0, 1_000.0), (1_000.0, 1_100.0, 1_000.0)], reference_price=1_050.0, fee_bps=0.0
    )
    upper_x = 1_000.0 * (1 / math.sqrt(1_000.0) - 1 / math.sqrt(1_050.0))
    assert amm.fill(1_050.0, -upper_x).price_after == pytest.approx(1_000.0, rel=1e-12)
    crossed = amm.fill(1_050.0, -(upper_x + 1e-6))
    assert crossed.price_after == pytest.approx(950.0, rel=1e-6)
    assert amm.quantity_for_price(1_050.0, 975.0) == pytest.approx(-upper_x, rel=1e-12)


def test_depth_curve_is_the_sellable_quantity_per_move() -> None:
    """Q(ε) = −quantity_for_price(p, p(1 − ε)), increasing in ε, and flat once the ranges end."""
    amm = float_pool(30.0)
    moves = np.array([0.001, 0.01, 0.05, 0.2, 0.5])
    curve = amm.depth_curve(1.0, moves)
    assert np.all(np.diff(curve) > 0)
    for eps, q in zip(moves, curve, strict=True):
        assert q == pytest.approx(-amm.quantity_for_price(1.0, 1.0 - eps), rel=1e-12)
    bounded = ConcentratedLiquidityPool.around(1.0, 1e6, 0.1)  # nothing below 0.9
    tail = bounded.depth_curve(1.0, [0.1, 0.5, 0.99])
    assert tail == pytest.approx([tail[0]] * 3, rel=1e-12)


@pytest.mark.parametrize("fee_bps", [0.0, 30.0])
def test_float_sell_proceeds_equals_fill_of_each_alone(fee_bps: float) -> None:
    """sell_proceeds gives, for each quantity, what a fill of that quantity alone pays."""
    amm = float_pool(fee_bps)
    quantities = np.array([0.0, 1e-9, 0.5, 3.0, 10.0, 25.0])
    alone = [amm.fill(1.01, -q).notional_usd for q in quantities]
    assert amm.sell_proceeds(1.01, quantities) == pytest.approx(alone, rel=1e-12, abs=1e-18)


@settings(max_examples=200, deadline=None)
@given(
    price=st.floats(min_value=0.5, max_value=2.0),
    frac=st.floats(min_value=1e-12, max_value=1.0),
    fee=st.floats(min_value=0.0, max_value=100.0),
)
def test_float_sell_never_pays_more_than_quantity_times_price(
    price: float, frac: float, fee: float
) -> None:
    """A sale fetches at most quantity · price and lowers the price, even for dust."""
    amm = float_pool(fee)
    q = frac * float(amm.depth_curve(price, [1.0])[0])
    fill = amm.fill(price, -q)
    assert 0.0 <= fill.notional_usd <= q * price * (1 + 1e-12)
    assert fill.price_after <= price * (1 + 1e-12)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"ranges": [(2.0, 1.0, 1.0)], "reference_price": 1.0}, "lower_price"),
        ({"ranges": [(1.0, 2.0, 0.0)], "reference_price": 1.0}, "liquidity_usd"),
        ({"ranges": [], "reference_price": 1.0}, "at least one range"),
        ({"ranges": [(1.0, 2.0, 1.0)], "reference_price": 0.0}, "reference_price"),
        ({"ranges": [(1.0, 2.0, 1.0)], "reference_price": 1.0, "fee_bps": 1e4}, "fee_bps"),
    ],
)
def test_float_pool_invalid_params_raise_value_error(kwargs: dict[str, object], name: str) -> None:
    """Inverted or empty ranges, zero liquidity, a zero price and a fee of 100% are rejected."""
    with pytest.raises(ValueError, match=name):
        ConcentratedLiquidityPool(**kwargs)  # type: ignore[arg-type]
