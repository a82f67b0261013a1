"""Uniswap v3 swap math, bit-exact in integers, and a float concentrated-liquidity impact model.

The integer functions mirror Uniswap/v3-core at commit d8b1c635 (2023-03-16; the libraries are
unchanged since the 1.0.0 release), compiled with Solidity 0.7.6:

- ``contracts/libraries/TickMath.sol``: :func:`get_sqrt_ratio_at_tick`,
  :func:`get_tick_at_sqrt_ratio` (the same magic constants and bit-by-bit log2);
- ``contracts/libraries/FullMath.sol`` and ``UnsafeMath.sol``: :func:`mul_div`,
  :func:`mul_div_rounding_up`, :func:`div_rounding_up` (512-bit intermediates are free in Python;
  the ``uint256`` bound on the result is kept);
- ``contracts/libraries/SqrtPriceMath.sol``: next price from an amount of token0 (rounding up)
  or token1 (rounding down), from an input or an output, and the amount deltas between two
  prices, rounded up or down, including the overflow fallbacks;
- ``contracts/libraries/SwapMath.sol``: :func:`compute_swap_step`;
- ``contracts/libraries/LiquidityMath.sol``: :func:`add_delta`;
- ``contracts/libraries/TickBitmap.sol``: ``nextInitializedTickWithinOneWord`` as
  :meth:`TickMap.next_initialized_tick_within_one_word` (a swap step stops at the edge of each
  256-tick word even where no tick is initialized, which changes the rounding, so it is kept);
- ``contracts/UniswapV3Pool.sol`` ``swap``: :func:`swap`, the loop that steps from tick to tick
  and crosses initialized ticks by their ``liquidityNet``. The oracle write, fee-growth-outside
  bookkeeping, callbacks and the protocol fee are left out (``feeProtocol = 0``); the global fee
  growth is returned.

A ``require`` that fails raises :class:`UniswapV3RevertError` with the contract's reason string
(``'T'``, ``'R'``, ``'SPL'``, ``'AS'``, ``'LS'``, ...) or, for a bare ``require``, a description.

The float model :class:`ConcentratedLiquidityPool` applies the same within-range formulas
(mechanics §12.2) to an asset (token0) against USD (token1) in natural units and implements
:class:`protosim.impact.ImpactModel`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from protosim.impact import Fill

__all__ = [
    "FEE_PIPS_DENOMINATOR",
    "MAX_SQRT_RATIO",
    "MAX_TICK",
    "MIN_SQRT_RATIO",
    "MIN_TICK",
    "Q96",
    "Q128",
    "ConcentratedLiquidityPool",
    "PoolState",
    "SwapResult",
    "SwapStep",
    "TickMap",
    "UniswapV3RevertError",
    "add_delta",
    "compute_swap_step",
    "div_rounding_up",
    "get_amount0_delta",
    "get_amount0_delta_signed",
    "get_amount1_delta",
    "get_amount1_delta_signed",
    "get_next_sqrt_price_from_amount0_rounding_up",
    "get_next_sqrt_price_from_amount1_rounding_down",
    "get_next_sqrt_price_from_input",
    "get_next_sqrt_price_from_output",
    "get_sqrt_ratio_at_tick",
    "get_tick_at_sqrt_ratio",
    "max_liquidity_per_tick",
    "mul_div",
    "mul_div_rounding_up",
    "swap",
]

MIN_TICK = -887272
"""Smallest tick, ``log_1.0001(2**-128)``."""
MAX_TICK = -MIN_TICK
"""Largest tick."""
MIN_SQRT_RATIO = 4295128739
"""``get_sqrt_ratio_at_tick(MIN_TICK)``."""
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342
"""``get_sqrt_ratio_at_tick(MAX_TICK)``."""
Q96 = 1 << 96
"""``FixedPoint96.Q96``: sqrt prices are Q64.96."""
Q128 = 1 << 128
"""``FixedPoint128.Q128``: fee growth is Q128.128."""
FEE_PIPS_DENOMINATOR = 1_000_000
"""Fees are in hundredths of a basis point (3000 = 0.30%)."""

_MAX_UINT256 = (1 << 256) - 1
_MAX_UINT160 = (1 << 160) - 1
_MAX_UINT128 = (1 << 128) - 1
_MAX_INT128 = (1 << 127) - 1
_MAX_INT256 = (1 << 255) - 1


class UniswapV3RevertError(ValueError):
    """A call the contract would revert.

    Parameters
    ----------
    reason : str
        The ``require`` reason string (``'T'``, ``'SPL'``, ...) or, for a bare ``require``, what
        failed.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


# -- FullMath, UnsafeMath, LiquidityMath, SafeCast -----------------------------------------------


def mul_div(a: int, b: int, denominator: int) -> int:
    """Return ``floor(a · b / denominator)`` with a full-precision product (``FullMath.mulDiv``).

    Reverts when the denominator is 0 or the result does not fit in ``uint256``.

    Examples
    --------
    >>> mul_div(2**255, 4, 8) == 2**254
    True
    """
    if denominator <= 0:
        raise UniswapV3RevertError("mulDiv: denominator is zero")
    result = a * b // denominator
    if result > _MAX_UINT256:
        raise UniswapV3RevertError("mulDiv: result overflows uint256")
    return result


def mul_div_rounding_up(a: int, b: int, denominator: int) -> int:
    """Return ``ceil(a · b / denominator)`` (``FullMath.mulDivRoundingUp``).

    Examples
    --------
    >>> mul_div_rounding_up(7, 3, 2)
    11
    """
    result = mul_div(a, b, denominator)
    if a * b % denominator > 0:
        if result >= _MAX_UINT256:
            raise UniswapV3RevertError("mulDivRoundingUp: result overflows uint256")
        result += 1
    return result


def div_rounding_up(x: int, y: int) -> int:
    """Return ``ceil(x / y)`` as ``UnsafeMath.divRoundingUp`` (EVM ``div`` by 0 gives 0).

    Examples
    --------
    >>> div_rounding_up(7, 2), div_rounding_up(6, 2), div_rounding_up(5, 0)
    (4, 3, 0)
    """
    if y == 0:
        return 0
    return x // y + (1 if x % y > 0 else 0)


def add_delta(x: int, y: int) -> int:
    """Return ``x + y`` for liquidity `x` and a signed delta `y` (``LiquidityMath.addDelta``).

    Reverts ``'LS'`` when liquidity would fall below zero and ``'LA'`` above ``uint128``.

    Examples
    --------
    >>> add_delta(10, -3), add_delta(10, 5)
    (7, 15)
    """
    if y < 0:
        if -y > x:
            raise UniswapV3RevertError("LS")
        return x + y
    if x + y > _MAX_UINT128:
        raise UniswapV3RevertError("LA")
    return x + y


def _to_uint160(y: int) -> int:
    if not 0 <= y <= _MAX_UINT160:
        raise UniswapV3RevertError("SafeCast.toUint160: value does not fit")
    return y


def _to_int256(y: int) -> int:
    if y > _MAX_INT256:
        raise UniswapV3RevertError("SafeCast.toInt256: value does not fit")
    return y


def _safe_add(x: int, y: int) -> int:
    # LowGasSafeMath.add
    if x + y > _MAX_UINT256:
        raise UniswapV3RevertError("LowGasSafeMath.add: overflow")
    return x + y


# -- TickMath -----------------------------------------------------------------------------------

# (bit of |tick|, Q128 factor sqrt(1.0001^-2^k)) from getSqrtRatioAtTick.
_TICK_FACTORS = (
    (0x2, 0xFFF97272373D413259A46990580E213A),
    (0x4, 0xFFF2E50F5F656932EF12357CF3C7FDCC),
    (0x8, 0xFFE5CACA7E10E4E61C3624EAA0941CD0),
    (0x10, 0xFFCB9843D60F6159C9DB58835C926644),
    (0x20, 0xFF973B41FA98C081472E6896DFB254C0),
    (0x40, 0xFF2EA16466C96A3843EC78B326B52861),
    (0x80, 0xFE5DEE046A99A2A811C461F1969C3053),
    (0x100, 0xFCBE86C7900A88AEDCFFC83B479AA3A4),
    (0x200, 0xF987A7253AC413176F2B074CF7815E54),
    (0x400, 0xF3392B0822B70005940C7A398E4B70F3),
    (0x800, 0xE7159475A2C29B7443B29C7FA6E889D9),
    (0x1000, 0xD097F3BDFD2022B8845AD8F792AA5825),
    (0x2000, 0xA9F746462D870FDF8A65DC1F90E061E5),
    (0x4000, 0x70D869A156D2A1B890BB3DF62BAF32F7),
    (0x8000, 0x31BE135F97D08FD981231505542FCFA6),
    (0x10000, 0x9AA508B5B7A84E1C677DE54F3E99BC9),
    (0x20000, 0x5D6AF8DEDB81196699C329225EE604),
    (0x40000, 0x2216E584F5FA1EA926041BEDFE98),
    (0x80000, 0x48A170391F7DC42444E8FA2),
)


def get_sqrt_ratio_at_tick(tick: int) -> int:
    """Return ``sqrt(1.0001**tick) · 2**96`` as the Q64.96 the pool stores (``getSqrtRatioAtTick``).

    The Q128.128 ratio is divided by ``2**32`` rounding up, so that
    :func:`get_tick_at_sqrt_ratio` of the result is `tick` again.

    Parameters
    ----------
    tick : int
        A tick in ``[MIN_TICK, MAX_TICK]``.

    Returns
    -------
    int
        The sqrt price, ``uint160``.

    Raises
    ------
    UniswapV3RevertError
        ``'T'`` when ``|tick| > MAX_TICK``.

    Examples
    --------
    Values from the contract's ``test/TickMath.spec.ts``:

    >>> get_sqrt_ratio_at_tick(0) == 2**96
    True
    >>> get_sqrt_ratio_at_tick(MIN_TICK), get_sqrt_ratio_at_tick(MIN_TICK + 1)
    (4295128739, 4295343490)
    >>> get_sqrt_ratio_at_tick(MAX_TICK)
    1461446703485210103287273052203988822378723970342
    >>> get_sqrt_ratio_at_tick(MAX_TICK - 1)
    1461373636630004318706518188784493106690254656249
    """
    abs_tick = abs(tick)
    if abs_tick > MAX_TICK:
        raise UniswapV3RevertError("T")
    ratio = 0xFFFCB933BD6FAD37AA2D162D1A594001 if abs_tick & 0x1 else 1 << 128
    for bit, factor in _TICK_FACTORS:
        if abs_tick & bit:
            ratio = (ratio * factor) >> 128
    if tick > 0:
        ratio = _MAX_UINT256 // ratio
    return (ratio >> 32) + (0 if ratio % (1 << 32) == 0 else 1)


def get_tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """Return the greatest tick whose sqrt ratio is at most `sqrt_price_x96`.

    Mirrors ``getTickAtSqrtRatio``.

    The contract's fixed-point log2 (msb, then 14 squarings for the fraction bits), scaled to
    ``log_sqrt(1.0001)``, with the same error bounds and the same final check of ``tickHi``.

    Parameters
    ----------
    sqrt_price_x96 : int
        A Q64.96 sqrt price in ``[MIN_SQRT_RATIO, MAX_SQRT_RATIO)``.

    Returns
    -------
    int
        The tick.

    Raises
    ------
    UniswapV3RevertError
        ``'R'`` outside the range.

    Examples
    --------
    From ``test/TickMath.spec.ts``:

    >>> get_tick_at_sqrt_ratio(MIN_SQRT_RATIO), get_tick_at_sqrt_ratio(4295343490)
    (-887272, -887271)
    >>> get_tick_at_sqrt_ratio(MAX_SQRT_RATIO - 1)
    887271
    >>> get_tick_at_sqrt_ratio(2**96)
    0
    """
    if not MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO:
        raise UniswapV3RevertError("R")
    ratio = sqrt_price_x96 << 32
    msb = ratio.bit_length() - 1
    r = ratio >> (msb - 127) if msb >= 128 else ratio << (127 - msb)
    log_2 = (msb - 128) << 64
    for shift in range(63, 49, -1):
        r = (r * r) >> 127
        f = r >> 128
        log_2 |= f << shift
        r >>= f
    log_sqrt10001 = log_2 * 255738958999603826347141  # 128.128 number
    tick_low = (log_sqrt10001 - 3402992956809132418596140100660247210) >> 128
    tick_hi = (log_sqrt10001 + 291339464771989622907027621153398088495) >> 128
    if tick_low == tick_hi:
        return tick_low
    return tick_hi if get_sqrt_ratio_at_tick(tick_hi) <= sqrt_price_x96 else tick_low


# -- SqrtPriceMath ------------------------------------------------------------------------------


def get_next_sqrt_price_from_amount0_rounding_up(
    sqrt_px96: int, liquidity: int, amount: int, add: bool
) -> int:
    """Return the sqrt price after adding or removing `amount` of token0, rounded up.

    ``L · √P / (L ± amount · √P)``, or ``L / (L/√P ± amount)`` when the product overflows
    ``uint256`` (``getNextSqrtPriceFromAmount0RoundingUp``). Rounding up keeps an exact input
    from moving the price too far and an exact output from moving it too little.

    Examples
    --------
    >>> get_next_sqrt_price_from_amount0_rounding_up(2**96, 10**18, 0, True) == 2**96
    True
    """
    # "we short circuit amount == 0 because the result is otherwise not guaranteed to equal
    # the input price"
    if amount == 0:
        return sqrt_px96
    numerator1 = liquidity << 96
    product = amount * sqrt_px96
    if add:
        if product <= _MAX_UINT256:
            denominator = numerator1 + product
            if denominator <= _MAX_UINT256:
                # uint160(...) in the contract: always fits, the cast does not check.
                return mul_div_rounding_up(numerator1, sqrt_px96, denominator) & _MAX_UINT160
        return div_rounding_up(numerator1, _safe_add(numerator1 // sqrt_px96, amount)) & (
            _MAX_UINT160
        )
    # "if the product overflows, we know the denominator underflows"
    if not (product <= _MAX_UINT256 and numerator1 > product):
        raise UniswapV3RevertError("getNextSqrtPriceFromAmount0RoundingUp: output exceeds reserves")
    return _to_uint160(mul_div_rounding_up(numerator1, sqrt_px96, numerator1 - product))


def get_next_sqrt_price_from_amount1_rounding_down(
    sqrt_px96: int, liquidity: int, amount: int, add: bool
) -> int:
    """Return the sqrt price after adding or removing `amount` of token1, rounded down.

    ``√P ± amount / L``, within 1 wei of exact (``getNextSqrtPriceFromAmount1RoundingDown``).

    Examples
    --------
    >>> get_next_sqrt_price_from_amount1_rounding_down(2**96, 10**18, 10**18, True) == 2 * 2**96
    True
    """
    if liquidity == 0:
        raise UniswapV3RevertError("getNextSqrtPriceFromAmount1RoundingDown: division by zero")
    if add:
        quotient = (
            (amount << 96) // liquidity
            if amount <= _MAX_UINT160
            else mul_div(amount, Q96, liquidity)
        )
        return _to_uint160(_safe_add(sqrt_px96, quotient))
    quotient = (
        div_rounding_up(amount << 96, liquidity)
        if amount <= _MAX_UINT160
        else mul_div_rounding_up(amount, Q96, liquidity)
    )
    if not sqrt_px96 > quotient:
        raise UniswapV3RevertError(
            "getNextSqrtPriceFromAmount1RoundingDown: output exceeds reserves"
        )
    return sqrt_px96 - quotient


def get_next_sqrt_price_from_input(
    sqrt_px96: int, liquidity: int, amount_in: int, zero_for_one: bool
) -> int:
    """Return the sqrt price after swapping `amount_in` in (``getNextSqrtPriceFromInput``).

    Parameters
    ----------
    sqrt_px96 : int
        Starting sqrt price, Q64.96.
    liquidity : int
        Active liquidity.
    amount_in : int
        Amount of token0 (`zero_for_one`) or token1 swapped in, net of the fee.
    zero_for_one : bool
        Whether token0 is the input (the price falls).

    Returns
    -------
    int
        The sqrt price after, rounded so as not to pass the target.

    Examples
    --------
    From ``test/SqrtPriceMath.spec.ts`` (price 1, liquidity 1e18, 0.1e18 in):

    >>> get_next_sqrt_price_from_input(2**96, 10**18, 10**17, False)
    87150978765690771352898345369
    >>> get_next_sqrt_price_from_input(2**96, 10**18, 10**17, True)
    72025602285694852357767227579
    >>> get_next_sqrt_price_from_input(2**96, 10 * 10**18, 2**100, True)
    624999999995069620
    """
    if not sqrt_px96 > 0:
        raise UniswapV3RevertError("getNextSqrtPriceFromInput: price is zero")
    if not liquidity > 0:
        raise UniswapV3RevertError("getNextSqrtPriceFromInput: liquidity is zero")
    if zero_for_one:
        return get_next_sqrt_price_from_amount0_rounding_up(sqrt_px96, liquidity, amount_in, True)
    return get_next_sqrt_price_from_amount1_rounding_down(sqrt_px96, liquidity, amount_in, True)


def get_next_sqrt_price_from_output(
    sqrt_px96: int, liquidity: int, amount_out: int, zero_for_one: bool
) -> int:
    """Return the sqrt price after swapping `amount_out` out (``getNextSqrtPriceFromOutput``).

    Parameters
    ----------
    sqrt_px96 : int
        Starting sqrt price, Q64.96.
    liquidity : int
        Active liquidity.
    amount_out : int
        Amount of token1 (`zero_for_one`) or token0 taken out.
    zero_for_one : bool
        Whether token0 is the input (token1 the output; the price falls).

    Returns
    -------
    int
        The sqrt price after, rounded so as to pass the target.

    Examples
    --------
    From ``test/SqrtPriceMath.spec.ts``:

    >>> get_next_sqrt_price_from_output(2**96, 10**18, 10**17, False)
    88031291682515930659493278152
    >>> get_next_sqrt_price_from_output(2**96, 10**18, 10**17, True)
    71305346262837903834189555302
    >>> get_next_sqrt_price_from_output(20282409603651670423947251286016, 1024, 262143, True)
    77371252455336267181195264
    """
    if not sqrt_px96 > 0:
        raise UniswapV3RevertError("getNextSqrtPriceFromOutput: price is zero")
    if not liquidity > 0:
        raise UniswapV3RevertError("getNextSqrtPriceFromOutput: liquidity is zero")
    if zero_for_one:
        return get_next_sqrt_price_from_amount1_rounding_down(
            sqrt_px96, liquidity, amount_out, False
        )
    return get_next_sqrt_price_from_amount0_rounding_up(sqrt_px96, liquidity, amount_out, False)


def get_amount0_delta(
    sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int, round_up: bool
) -> int:
    """Return the token0 between two sqrt prices, ``L·(√Pb − √Pa)/(√Pb·√Pa)`` (``getAmount0Delta``).

    Examples
    --------
    From ``test/SqrtPriceMath.spec.ts``: price 1 to 1.21 with liquidity 1e18 holds
    ``1e18 · (1 − 1/1.1) = 0.0909…e18`` token0, rounded up, and one less rounded down:

    >>> a, b = 2**96, 87150978765690771352898345369  # sqrt(1.21) · 2**96, floored
    >>> get_amount0_delta(a, b, 10**18, True), get_amount0_delta(a, b, 10**18, False)
    (90909090909090910, 90909090909090909)
    """
    if sqrt_ratio_a_x96 > sqrt_ratio_b_x96:
        sqrt_ratio_a_x96, sqrt_ratio_b_x96 = sqrt_ratio_b_x96, sqrt_ratio_a_x96
    numerator1 = liquidity << 96
    numerator2 = sqrt_ratio_b_x96 - sqrt_ratio_a_x96
    if not sqrt_ratio_a_x96 > 0:
        raise UniswapV3RevertError("getAmount0Delta: price is zero")
    if round_up:
        return div_rounding_up(
            mul_div_rounding_up(numerator1, numerator2, sqrt_ratio_b_x96), sqrt_ratio_a_x96
        )
    return mul_div(numerator1, numerator2, sqrt_ratio_b_x96) // sqrt_ratio_a_x96


def get_amount1_delta(
    sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int, round_up: bool
) -> int:
    """Return the token1 between two sqrt prices, ``L·(√Pb − √Pa)`` (``getAmount1Delta``).

    Examples
    --------
    From ``test/SqrtPriceMath.spec.ts``: price 1 to 1.21 with liquidity 1e18 holds 0.1e18 token1:

    >>> a, b = 2**96, 87150978765690771352898345369
    >>> get_amount1_delta(a, b, 10**18, True), get_amount1_delta(a, b, 10**18, False)
    (100000000000000000, 99999999999999999)
    """
    if sqrt_ratio_a_x96 > sqrt_ratio_b_x96:
        sqrt_ratio_a_x96, sqrt_ratio_b_x96 = sqrt_ratio_b_x96, sqrt_ratio_a_x96
    if round_up:
        return mul_div_rounding_up(liquidity, sqrt_ratio_b_x96 - sqrt_ratio_a_x96, Q96)
    return mul_div(liquidity, sqrt_ratio_b_x96 - sqrt_ratio_a_x96, Q96)


def get_amount0_delta_signed(
    sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity_delta: int
) -> int:
    """Return the signed token0 owed for a liquidity change: rounded up when adding liquidity
    (what a mint pays in), down and negative when removing it (what a burn pays out).

    Examples
    --------
    >>> a, b = 2**96, 87150978765690771352898345369
    >>> get_amount0_delta_signed(a, b, 10**18), get_amount0_delta_signed(a, b, -(10**18))
    (90909090909090910, -90909090909090909)
    """
    if liquidity_delta < 0:
        return -_to_int256(
            get_amount0_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, -liquidity_delta, False)
        )
    return _to_int256(get_amount0_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, liquidity_delta, True))


def get_amount1_delta_signed(
    sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity_delta: int
) -> int:
    """Return the signed token1 owed for a liquidity change (rounded as for token0).

    Examples
    --------
    >>> a, b = 2**96, 87150978765690771352898345369
    >>> get_amount1_delta_signed(a, b, 10**18), get_amount1_delta_signed(a, b, -(10**18))
    (100000000000000000, -99999999999999999)
    """
    if liquidity_delta < 0:
        return -_to_int256(
            get_amount1_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, -liquidity_delta, False)
        )
    return _to_int256(get_amount1_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, liquidity_delta, True))


# -- SwapMath -----------------------------------------------------------------------------------


class SwapStep(NamedTuple):
    """Result of :func:`compute_swap_step`."""

    sqrt_ratio_next_x96: int
    """Price after the step, never past the target."""
    amount_in: int
    """Input swapped in, net of the fee."""
    amount_out: int
    """Output swapped out."""
    fee_amount: int
    """Input taken as the fee."""


def compute_swap_step(
    sqrt_ratio_current_x96: int,
    sqrt_ratio_target_x96: int,
    liquidity: int,
    amount_remaining: int,
    fee_pips: int,
) -> SwapStep:
    """Return one step of a swap within a price range of constant liquidity (``computeSwapStep``).

    Parameters
    ----------
    sqrt_ratio_current_x96 : int
        Current sqrt price.
    sqrt_ratio_target_x96 : int
        Price not to pass; its side of the current price sets the direction.
    liquidity : int
        Active liquidity.
    amount_remaining : int
        Input still to swap (> 0, exact input) or output still to receive (< 0, exact output).
    fee_pips : int
        Fee in hundredths of a bip, taken from the input.

    Returns
    -------
    SwapStep
        Price after, amounts in and out, and the fee.

    Examples
    --------
    From ``test/SwapMath.spec.ts``, "exact amount in that gets capped at price target in one
    for zero" (price 1 to at most 1.01, liquidity 2e18, 1e18 in, fee 0.06%):

    >>> target = 79623317895830914510639640423  # encodePriceSqrt(101, 100)
    >>> compute_swap_step(2**96, target, 2 * 10**18, 10**18, 600)  # doctest: +NORMALIZE_WHITESPACE
    SwapStep(sqrt_ratio_next_x96=79623317895830914510639640423, amount_in=9975124224178055,
             amount_out=9925619580021728, fee_amount=5988667735148)
    """
    zero_for_one = sqrt_ratio_current_x96 >= sqrt_ratio_target_x96
    exact_in = amount_remaining >= 0
    amount_in = 0
    amount_out = 0
    if exact_in:
        remaining_less_fee = mul_div(
            amount_remaining, FEE_PIPS_DENOMINATOR - fee_pips, FEE_PIPS_DENOMINATOR
        )
        amount_in = (
            get_amount0_delta(sqrt_ratio_target_x96, sqrt_ratio_current_x96, liquidity, True)
            if zero_for_one
            else get_amount1_delta(sqrt_ratio_current_x96, sqrt_ratio_target_x96, liquidity, True)
        )
        if remaining_less_fee >= amount_in:
            sqrt_ratio_next = sqrt_ratio_target_x96
        else:
            sqrt_ratio_next = get_next_sqrt_price_from_input(
                sqrt_ratio_current_x96, liquidity, remaining_less_fee, zero_for_one
            )
    else:
        amount_out = (
            get_amount1_delta(sqrt_ratio_target_x96, sqrt_ratio_current_x96, liquidity, False)
            if zero_for_one
            else get_amount0_delta(sqrt_ratio_current_x96, sqrt_ratio_target_x96, liquidity, False)
        )
        if -amount_remaining >= amount_out:
            sqrt_ratio_next = sqrt_ratio_target_x96
        else:
            sqrt_ratio_next = get_next_sqrt_price_from_output(
                sqrt_ratio_current_x96, liquidity, -amount_remaining, zero_for_one
            )

    reached = sqrt_ratio_target_x96 == sqrt_ratio_next
    # get the input/output amounts (reusing the step's full amounts when the target was reached)
    if zero_for_one:
        if not (reached and exact_in):
            amount_in = get_amount0_delta(sqrt_ratio_next, sqrt_ratio_current_x96, liquidity, True)
        if not (reached and not exact_in):
            amount_out = get_amount1_delta(
                sqrt_ratio_next, sqrt_ratio_current_x96, liquidity, False
            )
    else:
        if not (reached and exact_in):
            amount_in = get_amount1_delta(sqrt_ratio_current_x96, sqrt_ratio_next, liquidity, True)
        if not (reached and not exact_in):
            amount_out = get_amount0_delta(
                sqrt_ratio_current_x96, sqrt_ratio_next, liquidity, False
            )

    # "cap the output amount to not exceed the remaining output amount"
    if not exact_in and amount_out > -amount_remaining:
        amount_out = -amount_remaining

    if exact_in and sqrt_ratio_next != sqrt_ratio_target_x96:
        # "we didn't reach the target, so take the remainder of the maximum input as fee"
        fee_amount = amount_remaining - amount_in
    else:
        fee_amount = mul_div_rounding_up(amount_in, fee_pips, FEE_PIPS_DENOMINATOR - fee_pips)
    return SwapStep(sqrt_ratio_next, amount_in, amount_out, fee_amount)


# -- ticks and the swap loop -----------------------------------------------------------------------


def _truncating_div(a: int, b: int) -> int:
    # Solidity's signed division rounds towards zero.
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def max_liquidity_per_tick(tick_spacing: int) -> int:
    """Return the most gross liquidity one tick may reference.

    Mirrors ``Tick.tickSpacingToMaxLiquidityPerTick``.

    Examples
    --------
    From ``test/Tick.spec.ts`` (tick spacing 60, the 0.3% tier):

    >>> max_liquidity_per_tick(60)
    11505743598341114571880798222544994
    """
    min_tick = _truncating_div(MIN_TICK, tick_spacing) * tick_spacing
    max_tick = _truncating_div(MAX_TICK, tick_spacing) * tick_spacing
    num_ticks = (max_tick - min_tick) // tick_spacing + 1
    return _MAX_UINT128 // num_ticks


@dataclass(frozen=True, slots=True)
class TickMap:
    """The pool's initialized ticks with their ``liquidityNet`` (``ticks`` plus ``tickBitmap``).

    Parameters
    ----------
    tick_spacing : int
        The pool's tick spacing (10, 60 and 200 for the 0.05%, 0.3% and 1% tiers).
    liquidity_net : sequence of (int, int)
        ``(tick, liquidityNet)`` for each initialized tick: the liquidity added when the price
        crosses the tick upwards (subtracted when it crosses downwards). A tick may be
        initialized with a net of 0 (two positions meeting there); it still ends a swap step.

    Examples
    --------
    >>> tm = TickMap.from_positions(60, [(-120, 120, 10**18), (0, 600, 5 * 10**17)])
    >>> tm.liquidity_net  # doctest: +NORMALIZE_WHITESPACE
    ((-120, 1000000000000000000), (0, 500000000000000000),
     (120, -1000000000000000000), (600, -500000000000000000))
    >>> tm.liquidity_at(0), tm.liquidity_at(-1), tm.liquidity_at(120)
    (1500000000000000000, 1000000000000000000, 500000000000000000)
    """

    tick_spacing: int
    liquidity_net: tuple[tuple[int, int], ...] = ()
    _compressed: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _net: dict[int, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not 0 < self.tick_spacing <= 16384:
            raise ValueError(f"expected 0 < tick_spacing <= 16384, was {self.tick_spacing}")
        ordered = tuple(sorted((int(t), int(n)) for t, n in self.liquidity_net))
        ticks = [t for t, _ in ordered]
        if len(set(ticks)) != len(ticks):
            raise ValueError(f"expected each tick once, was {ticks}")
        for tick, net in ordered:
            if not MIN_TICK <= tick <= MAX_TICK or tick % self.tick_spacing:
                raise ValueError(
                    f"expected ticks in [{MIN_TICK}, {MAX_TICK}] on multiples of "
                    f"{self.tick_spacing}, was {tick}"
                )
            if abs(net) > _MAX_INT128:
                raise ValueError(f"expected an int128 liquidityNet, was {net} at tick {tick}")
        object.__setattr__(self, "liquidity_net", ordered)
        object.__setattr__(self, "_compressed", tuple(t // self.tick_spacing for t in ticks))
        object.__setattr__(self, "_net", dict(ordered))

    @classmethod
    def from_positions(
        cls, tick_spacing: int, positions: Iterable[tuple[int, int, int]]
    ) -> TickMap:
        """Return the tick map after minting `positions`, ``(tick_lower, tick_upper, liquidity)``.

        Mirrors the checks of ``mint``: ``'TLU'`` (lower < upper), ``'TLM'``/``'TUM'`` (within
        the tick range), ticks on the spacing (``TickBitmap.flipTick``), liquidity > 0, and
        ``'LO'`` (gross liquidity per tick at most :func:`max_liquidity_per_tick`).
        """
        net: dict[int, int] = {}
        gross: dict[int, int] = {}
        cap = max_liquidity_per_tick(tick_spacing)
        for lower, upper, liquidity in positions:
            if not lower < upper:
                raise UniswapV3RevertError("TLU")
            if lower < MIN_TICK:
                raise UniswapV3RevertError("TLM")
            if upper > MAX_TICK:
                raise UniswapV3RevertError("TUM")
            if lower % tick_spacing or upper % tick_spacing:
                raise UniswapV3RevertError(
                    f"flipTick: ticks {lower}, {upper} not on spacing {tick_spacing}"
                )
            if not 0 < liquidity <= _MAX_UINT128:
                raise UniswapV3RevertError(
                    f"mint: expected 0 < liquidity <= 2**128 - 1, was {liquidity}"
                )
            for tick, sign in ((lower, 1), (upper, -1)):
                gross[tick] = gross.get(tick, 0) + liquidity
                if gross[tick] > cap:
                    raise UniswapV3RevertError("LO")
                net[tick] = net.get(tick, 0) + sign * liquidity
        return cls(tick_spacing, tuple(net.items()))

    def net_at(self, tick: int) -> int:
        """Return ``liquidityNet`` of `tick` (0 if not initialized)."""
        return self._net.get(tick, 0)

    def liquidity_at(self, tick: int) -> int:
        """Return the active liquidity when the pool's current tick is `tick`.

        Positions are active for ``tick_lower <= tick < tick_upper``: the sum of ``liquidityNet``
        over initialized ticks at or below `tick`.
        """
        # Initialized ticks sit on multiples of the spacing, so t <= tick iff t // s <= tick // s.
        k = bisect.bisect_right(self._compressed, tick // self.tick_spacing)
        total = sum(net for _, net in self.liquidity_net[:k])
        if total < 0:
            raise ValueError(f"liquidity below zero at tick {tick}: the tick map is inconsistent")
        return total

    def next_initialized_tick_within_one_word(self, tick: int, lte: bool) -> tuple[int, bool]:
        """Return the next initialized tick at or left of (`lte`) or right of `tick`, within one
        256-tick word of the bitmap, or the word's last tick if there is none
        (``TickBitmap.nextInitializedTickWithinOneWord``).

        Examples
        --------
        >>> tm = TickMap.from_positions(1, [(-200, 78, 1)])
        >>> tm.next_initialized_tick_within_one_word(78, True)
        (78, True)
        >>> tm.next_initialized_tick_within_one_word(77, True)
        (0, False)
        >>> tm.next_initialized_tick_within_one_word(-1, False)
        (78, True)
        >>> tm.next_initialized_tick_within_one_word(-257, False)
        (-200, True)
        >>> tm.next_initialized_tick_within_one_word(78, False)
        (255, False)
        """
        compressed = tick // self.tick_spacing  # rounds towards negative infinity, as the contract
        if lte:
            word_start = compressed - (compressed & 0xFF)
            k = bisect.bisect_right(self._compressed, compressed) - 1
            if k >= 0 and self._compressed[k] >= word_start:
                return self._compressed[k] * self.tick_spacing, True
            return word_start * self.tick_spacing, False
        start = compressed + 1
        word_end = start + 255 - (start & 0xFF)
        k = bisect.bisect_left(self._compressed, start)
        if k < len(self._compressed) and self._compressed[k] <= word_end:
            return self._compressed[k] * self.tick_spacing, True
        return word_end * self.tick_spacing, False


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolState:
    """The part of a pool a swap reads and writes: ``slot0`` price and tick, liquidity, fee.

    Parameters
    ----------
    sqrt_price_x96 : int
        ``slot0.sqrtPriceX96``.
    tick : int
        ``slot0.tick``, the greatest tick at or below the price (after a downward crossing, one
        below the crossed tick, as the pool leaves it).
    liquidity : int
        Active liquidity.
    fee_pips : int
        The pool's fee in hundredths of a bip (500, 3000, 10000).
    """

    sqrt_price_x96: int
    tick: int
    liquidity: int
    fee_pips: int

    def __post_init__(self) -> None:
        if not MIN_SQRT_RATIO <= self.sqrt_price_x96 <= MAX_SQRT_RATIO:
            raise ValueError(
                f"expected a sqrt price in the TickMath range, was {self.sqrt_price_x96}"
            )
        if not 0 <= self.liquidity <= _MAX_UINT128:
            raise ValueError(f"expected a uint128 liquidity, was {self.liquidity}")
        if not 0 <= self.fee_pips < FEE_PIPS_DENOMINATOR:
            raise ValueError(f"expected 0 <= fee_pips < 1e6, was {self.fee_pips}")

    @classmethod
    def at_price(cls, sqrt_price_x96: int, ticks: TickMap, fee_pips: int) -> PoolState:
        """Return the state of a pool initialized at `sqrt_price_x96` with the positions of `ticks`.

        Examples
        --------
        >>> tm = TickMap.from_positions(60, [(-60, 60, 10**18)])
        >>> PoolState.at_price(2**96, tm, 3000)  # doctest: +NORMALIZE_WHITESPACE
        PoolState(sqrt_price_x96=79228162514264337593543950336, tick=0,
                  liquidity=1000000000000000000, fee_pips=3000)
        """
        tick = get_tick_at_sqrt_ratio(sqrt_price_x96)
        return cls(
            sqrt_price_x96=sqrt_price_x96,
            tick=tick,
            liquidity=ticks.liquidity_at(tick),
            fee_pips=fee_pips,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SwapResult:
    """What ``swap`` did, from the pool's side (positive = paid to the pool)."""

    amount0: int
    """Token0 paid into the pool (negative: paid out)."""
    amount1: int
    """Token1 paid into the pool (negative: paid out)."""
    state: PoolState
    """Pool state after the swap."""
    fee_amount: int
    """Fees taken from the input over all steps (protocol fee off)."""
    fee_growth_global_x128: int
    """Increase of ``feeGrowthGlobal{0,1}X128`` of the input token (mod 2**256)."""
    ticks_crossed: tuple[int, ...]
    """Initialized ticks crossed, in order."""
    steps: int
    """Number of ``computeSwapStep`` calls the loop made."""


def swap(
    state: PoolState,
    zero_for_one: bool,
    amount_specified: int,
    sqrt_price_limit_x96: int,
    ticks: TickMap,
) -> SwapResult:
    """Return the result of ``UniswapV3Pool.swap`` from `state` (the state itself is not changed).

    Steps to the next initialized tick (or the end of the bitmap word, or the price limit), swaps
    within it by :func:`compute_swap_step`, and on reaching an initialized tick adds its
    ``liquidityNet`` (negated when moving down) to the active liquidity.

    Parameters
    ----------
    state : PoolState
        Pool before the swap.
    zero_for_one : bool
        Token0 in, token1 out (the price falls); otherwise token1 in.
    amount_specified : int
        Exact input when > 0, exact output when < 0.
    sqrt_price_limit_x96 : int
        The price the swap may not pass (below the price for `zero_for_one`, above otherwise).
    ticks : TickMap
        The pool's initialized ticks.

    Returns
    -------
    SwapResult
        Signed amounts, state after, fees and ticks crossed. If liquidity runs out before the
        amount is used up the swap stops at the limit with a partial amount, as the pool does.

    Raises
    ------
    UniswapV3RevertError
        ``'AS'`` for a zero amount, ``'SPL'`` for a price limit on the wrong side or outside
        ``(MIN_SQRT_RATIO, MAX_SQRT_RATIO)``, or any library revert.

    Examples
    --------
    ``test/UniswapV3Pool.swaps.spec.ts``, pool "medium fee, 1:1 price, 2e18 max range liquidity",
    "swap exactly 1.0000 token0 for token1" (the snapshot gives amount1Delta
    -665331998665331998 and tickAfter -8090):

    >>> tm = TickMap.from_positions(60, [(-887220, 887220, 2 * 10**18)])
    >>> s = PoolState.at_price(2**96, tm, 3000)
    >>> r = swap(s, True, 10**18, MIN_SQRT_RATIO + 1, tm)
    >>> r.amount0, r.amount1, r.state.tick
    (1000000000000000000, -665331998665331998, -8090)
    """
    if amount_specified == 0:
        raise UniswapV3RevertError("AS")
    if zero_for_one:
        valid = state.sqrt_price_x96 > sqrt_price_limit_x96 > MIN_SQRT_RATIO
    else:
        valid = state.sqrt_price_x96 < sqrt_price_limit_x96 < MAX_SQRT_RATIO
    if not valid:
        raise UniswapV3RevertError("SPL")

    exact_input = amount_specified > 0
    remaining = amount_specified
    calculated = 0
    sqrt_price = state.sqrt_price_x96
    tick = state.tick
    liquidity = state.liquidity
    fee_growth = 0
    fees = 0
    crossed: list[int] = []
    steps = 0
    # "continue swapping as long as we haven't used the entire input/output and haven't reached
    # the price limit"
    while remaining != 0 and sqrt_price != sqrt_price_limit_x96:
        sqrt_price_start = sqrt_price
        tick_next, initialized = ticks.next_initialized_tick_within_one_word(tick, zero_for_one)
        # "the tick bitmap is not aware of these bounds"
        tick_next = min(max(tick_next, MIN_TICK), MAX_TICK)
        sqrt_price_next = get_sqrt_ratio_at_tick(tick_next)
        beyond_limit = (
            sqrt_price_next < sqrt_price_limit_x96
            if zero_for_one
            else sqrt_price_next > sqrt_price_limit_x96
        )
        step = compute_swap_step(
            sqrt_price,
            sqrt_price_limit_x96 if beyond_limit else sqrt_price_next,
            liquidity,
            remaining,
            state.fee_pips,
        )
        sqrt_price = step.sqrt_ratio_next_x96
        steps += 1
        if exact_input:
            remaining -= _to_int256(step.amount_in + step.fee_amount)
            calculated -= _to_int256(step.amount_out)
        else:
            remaining += _to_int256(step.amount_out)
            calculated += _to_int256(step.amount_in + step.fee_amount)
        fees += step.fee_amount
        if liquidity > 0:
            fee_growth = (fee_growth + mul_div(step.fee_amount, Q128, liquidity)) & _MAX_UINT256

        if sqrt_price == sqrt_price_next:
            if initialized:
                net = ticks.net_at(tick_next)
                # "if we're moving leftward, we interpret liquidityNet as the opposite sign"
                liquidity = add_delta(liquidity, -net if zero_for_one else net)
                crossed.append(tick_next)
            tick = tick_next - 1 if zero_for_one else tick_next
        elif sqrt_price != sqrt_price_start:
            # "recompute unless we're on a lower tick boundary (i.e. already transitioned ticks),
            # and haven't moved"
            tick = get_tick_at_sqrt_ratio(sqrt_price)

    if zero_for_one == exact_input:
        amount0, amount1 = amount_specified - remaining, calculated
    else:
        amount0, amount1 = calculated, amount_specified - remaining
    after = PoolState(
        sqrt_price_x96=sqrt_price, tick=tick, liquidity=liquidity, fee_pips=state.fee_pips
    )
    return SwapResult(
        amount0=amount0,
        amount1=amount1,
        state=after,
        fee_amount=fees,
        fee_growth_global_x128=fee_growth,
        ticks_crossed=tuple(crossed),
        steps=steps,
    )


# -- the float impact model --------------------------------------------------------------------


def _value_per_liquidity(price: float, lower: float, upper: float) -> float:
    # USD value at `price` of the tokens one unit of liquidity holds in [lower, upper]
    # (mechanics §12.2: x = L(1/√P − 1/√Pb), y = L(√P − √Pa) inside the range).
    s, a, b = math.sqrt(price), math.sqrt(lower), math.sqrt(upper)
    if s <= a:
        return price * (b - a) / (a * b)
    if s >= b:
        return b - a
    return price * (b - s) / (s * b) + (s - a)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConcentratedLiquidityPool:
    """Uniswap v3-style pool of an asset (token0) against USD (token1), in natural units.

    Liquidity comes from positions over price ranges; each range holds ``L`` of liquidity and
    within it ``Δy = L·(√Pb − √Pa)`` USD and ``Δx = L·(1/√Pa − 1/√Pb)`` of the asset (mechanics
    §12.2). A range's ``L`` is fixed by its USD value at `reference_price`: ``liquidity_usd``
    divided by the value of one unit of ``L`` at that price.

    **Re-centring.** The model keeps no state between trades. Given the venue's price ``P`` the
    pool holds exactly what its positions hold at ``P`` (token0 above the price, USD below), as
    the real pool does once arbitrage has moved it there. A trade walks from ``√P`` through the
    range boundaries: a sale of ``x`` (after the fee) within a range of liquidity ``L`` ends at
    ``√P' = L·√P/(L + x·√P)`` and pays ``L·x·P/(L + x·√P)`` USD (the same ``L·(√P − √P')``,
    written without cancellation); a purchase of ``x`` ends at ``√P' = L·√P/(L − x·√P)``.
    Gaps between ranges are crossed at no cost. As in ``SwapMath``, the fee is taken from the
    input: a sale of ``q`` swaps ``q·(1 − fee)``; a purchase costs ``Δy / (1 − fee)``.

    **Running out.** A trade the quoted ranges cannot absorb raises :class:`ValueError` naming
    what could be filled: on chain, the price would run through empty ticks to the price limit.

    Parameters
    ----------
    ranges : sequence of (float, float, float)
        ``(lower_price, upper_price, liquidity_usd)`` per position, prices in USD per asset.
    reference_price : float
        The price at which each ``liquidity_usd`` is valued.
    fee_bps : float
        Swap fee, basis points of the input (5, 30 or 100 for the 0.05%, 0.3% and 1% tiers).

    Examples
    --------
    One range from 900 to 1,100 worth 1M USD at 1,000; selling 10 tokens:

    >>> pool = ConcentratedLiquidityPool(
    ...     ranges=[(900.0, 1_100.0, 1e6)], reference_price=1_000.0, fee_bps=0.0
    ... )
    >>> f = pool.fill(1_000.0, -10.0)
    >>> 9_900 < f.notional_usd < 10_000, 995 < f.price_after < 1_000
    (True, True)
    """

    ranges: Sequence[tuple[float, float, float]]
    reference_price: float
    fee_bps: float = 30.0
    _sqrt_bounds: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _segment_liquidity: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (self.reference_price > 0 and math.isfinite(self.reference_price)):
            raise ValueError(f"expected a finite reference_price > 0, was {self.reference_price}")
        if not 0 <= self.fee_bps < 10_000:
            raise ValueError(f"expected 0 <= fee_bps < 10000, was {self.fee_bps}")
        ranges = tuple((float(lo), float(hi), float(usd)) for lo, hi, usd in self.ranges)
        if not ranges:
            raise ValueError("expected at least one range, was none")
        for lo, hi, usd in ranges:
            if not (0 < lo < hi and math.isfinite(hi)):
                raise ValueError(f"expected 0 < lower_price < upper_price, was ({lo}, {hi})")
            if not (usd > 0 and math.isfinite(usd)):
                raise ValueError(f"expected liquidity_usd > 0, was {usd} for ({lo}, {hi})")
        object.__setattr__(self, "ranges", ranges)
        # Liquidity on each segment between consecutive range boundaries (in √price), the float
        # counterpart of summing liquidityNet across ticks.
        bounds = sorted({math.sqrt(p) for lo, hi, _ in ranges for p in (lo, hi)})
        seg = [0.0] * (len(bounds) - 1)
        for (lo, hi, _), liq in zip(ranges, self.position_liquidity, strict=True):
            first = bounds.index(math.sqrt(lo))
            last = bounds.index(math.sqrt(hi))
            for k in range(first, last):
                seg[k] += liq
        object.__setattr__(self, "_sqrt_bounds", tuple(bounds))
        object.__setattr__(self, "_segment_liquidity", tuple(seg))

    def scaled(self, depth: float) -> ConcentratedLiquidityPool:
        """Return the pool with every range's liquidity multiplied by `depth`."""
        return type(self)(
            ranges=[(lo, hi, usd * depth) for lo, hi, usd in self.ranges],
            reference_price=self.reference_price,
            fee_bps=self.fee_bps,
        )

    @classmethod
    def around(
        cls, price: float, depth_usd: float, width: float, *, fee_bps: float = 30.0
    ) -> ConcentratedLiquidityPool:
        """Return a pool with `depth_usd` in one range ``[price·(1 − width), price·(1 + width)]``.

        Examples
        --------
        >>> pool = ConcentratedLiquidityPool.around(2_000.0, 5e6, 0.05)
        >>> pool.ranges
        ((1900.0, 2100.0, 5000000.0),)
        """
        if not 0 < width < 1:
            raise ValueError(f"expected 0 < width < 1, was {width}")
        return cls(
            ranges=((price * (1 - width), price * (1 + width), depth_usd),),
            reference_price=price,
            fee_bps=fee_bps,
        )

    @classmethod
    def from_liquidity(
        cls,
        positions: Iterable[tuple[float, float, float]],
        *,
        reference_price: float,
        fee_bps: float = 30.0,
    ) -> ConcentratedLiquidityPool:
        """Return a pool from positions ``(lower_price, upper_price, L)`` in raw liquidity units.

        ``L`` is in ``√(asset · USD)``; a v3 position's on-chain liquidity converts as
        ``L · 10**(-(decimals0 + decimals1)/2)``.

        Examples
        --------
        >>> pool = ConcentratedLiquidityPool.from_liquidity(
        ...     [(900.0, 1_100.0, 1_000.0)], reference_price=1_000.0
        ... )
        >>> round(pool.position_liquidity[0], 9)
        1000.0
        """
        ranges = tuple(
            (lo, hi, liq * _value_per_liquidity(reference_price, lo, hi))
            for lo, hi, liq in positions
        )
        return cls(ranges=ranges, reference_price=reference_price, fee_bps=fee_bps)

    @property
    def position_liquidity(self) -> tuple[float, ...]:
        """``L`` of each range, in ``√(asset · USD)``."""
        return tuple(
            usd / _value_per_liquidity(self.reference_price, lo, hi) for lo, hi, usd in self.ranges
        )

    @property
    def _keep(self) -> float:
        return 1.0 - self.fee_bps / 10_000

    def liquidity_at(self, price: float) -> float:
        """Return the active ``L`` just below `price` (what a small sale meets)."""
        k = bisect.bisect_left(self._sqrt_bounds, math.sqrt(price)) - 1
        return self._segment_liquidity[k] if 0 <= k < len(self._segment_liquidity) else 0.0

    def _sell(
        self, sqrt_price: float, x_in: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        # Walk down from √P selling each x_in (net of fee) alone: USD out, √P after, unfilled x.
        bounds, liq = self._sqrt_bounds, self._segment_liquidity
        remaining = x_in.astype(np.float64, copy=True)
        usd = np.zeros_like(remaining)
        after = np.full_like(remaining, sqrt_price)
        cur = sqrt_price
        k = bisect.bisect_left(bounds, cur) - 1  # the segment whose lower bound is below √P
        if k >= len(liq):  # above every range: the price falls freely to the top boundary
            cur = bounds[-1]
            k = len(liq) - 1
            after[remaining > 0] = cur
        while k >= 0 and np.any(remaining > 0):
            lo, l_k = bounds[k], liq[k]
            cap = l_k * (cur - lo) / (cur * lo)  # L·(1/√lo − 1/√P)
            part = (remaining > 0) & (remaining <= cap)
            full = remaining > cap
            if l_k > 0 and np.any(part):
                x = remaining[part]
                usd[part] += l_k * x * cur * cur / (l_k + x * cur)
                after[part] = l_k * cur / (l_k + x * cur)
            usd[full] += l_k * (cur - lo)
            remaining[full] -= cap
            after[full] = lo
            remaining[part] = 0.0
            cur = lo
            k -= 1
        return usd, after, remaining

    def _buy(
        self, sqrt_price: float, x_out: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        # Walk up from √P buying each x_out alone: USD in (before fee), √P after, unfilled x.
        bounds, liq = self._sqrt_bounds, self._segment_liquidity
        remaining = x_out.astype(np.float64, copy=True)
        usd = np.zeros_like(remaining)
        after = np.full_like(remaining, sqrt_price)
        cur = sqrt_price
        k = bisect.bisect_right(bounds, cur) - 1  # the segment with b[k] <= √P < b[k+1]
        if k < 0:  # below every range: the price rises freely to the bottom boundary
            cur = bounds[0]
            k = 0
            after[remaining > 0] = cur
        while k < len(liq) and np.any(remaining > 0):
            hi, l_k = bounds[k + 1], liq[k]
            cap = l_k * (hi - cur) / (cur * hi)  # L·(1/√P − 1/√hi)
            part = (remaining > 0) & (remaining <= cap)
            full = remaining > cap
            if l_k > 0 and np.any(part):
                x = remaining[part]
                usd[part] += l_k * x * cur * cur / (l_k - x * cur)
                after[part] = l_k * cur / (l_k - x * cur)
            usd[full] += l_k * (hi - cur)
            remaining[full] -= cap
            after[full] = hi
            remaining[part] = 0.0
            cur = hi
            k += 1
        return usd, after, remaining

    def fill(self, price: float, quantity: float) -> Fill:
        """Return the fill of a trade of signed `quantity` at pool price `price`.

        Raises
        ------
        ValueError
            The ranges on that side of `price` hold less than the trade needs; the message says
            how much could be filled.
        """
        if not (price > 0 and math.isfinite(price)):
            raise ValueError(f"expected a finite price > 0, was {price}")
        if quantity == 0:
            return Fill(quantity, 0.0, price)
        keep = self._keep
        if quantity < 0:
            x = -quantity * keep
            usd, after, left = self._sell(math.sqrt(price), np.array([x]))
            self._check_filled(quantity, price, x, float(left[0]), keep, "sell")
            return Fill(quantity, float(usd[0]), float(after[0]) ** 2)
        usd, after, left = self._buy(math.sqrt(price), np.array([quantity]))
        self._check_filled(quantity, price, quantity, float(left[0]), 1.0, "buy")
        return Fill(quantity, float(usd[0]) / keep, float(after[0]) ** 2)

    @staticmethod
    def _check_filled(
        quantity: float, price: float, wanted: float, left: float, scale: float, side: str
    ) -> None:
        # A residue of 1e-12 of the trade is rounding in the walk, not missing liquidity.
        if left > 1e-12 * wanted:
            filled = (wanted - left) / scale
            where = "below" if side == "sell" else "above"
            raise ValueError(
                f"cannot {side} {abs(quantity)}: the ranges {where} price {price} can fill at "
                f"most {filled} (liquidity runs out)"
            )

    def sell_proceeds(self, price: float, quantities: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the USD each of `quantities` (>= 0) would fetch if sold alone at `price`.

        Raises
        ------
        ValueError
            Some quantity exceeds what the ranges below `price` absorb (the message names it).
        """
        qs = np.asarray(quantities, dtype=np.float64)
        keep = self._keep
        usd, _, left = self._sell(math.sqrt(price), qs * keep)
        short = left > 1e-12 * qs * keep
        if np.any(short):
            most = float(np.max(qs[short] * keep - left[short])) / keep
            raise ValueError(
                f"cannot sell {float(np.max(qs[short]))}: the ranges below price {price} can fill "
                f"at most {most} (liquidity runs out)"
            )
        return usd

    def _token0_between(self, s_lo: ArrayLike, s_hi: ArrayLike) -> NDArray[np.float64]:
        # Σ over segments of L·(1/√lo − 1/√hi) clipped to [s_lo, s_hi]: the asset the ranges hold
        # between two prices.
        bounds = np.asarray(self._sqrt_bounds)
        liq = np.asarray(self._segment_liquidity)[:, None]
        lo = np.maximum(bounds[:-1][:, None], np.atleast_1d(np.asarray(s_lo, dtype=np.float64)))
        hi = np.minimum(bounds[1:][:, None], np.atleast_1d(np.asarray(s_hi, dtype=np.float64)))
        inside = hi > lo
        amounts = np.where(inside, liq * (hi - lo) / np.where(inside, lo * hi, 1.0), 0.0)
        out: NDArray[np.float64] = amounts.sum(axis=0)
        return out

    def quantity_for_price(self, price: float, target: float) -> float:
        """Return the signed quantity one trade needs to move the price from `price` to `target`.

        The asset the ranges hold between the two prices: sold (divided by ``1 − fee``, which
        the pool keeps) to lower the price, bought to raise it. A target inside a gap between
        ranges returns the quantity that reaches the gap's near edge, past which the price jumps.

        Raises
        ------
        ValueError
            `target` lies beyond the last range boundary on its side: once the ranges are used
            up no finite trade stops there.

        Examples
        --------
        >>> pool = ConcentratedLiquidityPool.around(1_000.0, 1e6, 0.1, fee_bps=0.0)
        >>> q = pool.quantity_for_price(1_000.0, 950.0)
        >>> round(pool.fill(1_000.0, q).price_after, 9)
        950.0
        """
        if not (target > 0 and math.isfinite(target)):
            raise ValueError(f"expected a finite target price > 0, was {target}")
        s, s_t = math.sqrt(price), math.sqrt(target)
        bounds = self._sqrt_bounds
        if s_t < s:
            if s_t < bounds[0]:
                raise ValueError(
                    f"target {target} is below the lowest range bound {bounds[0] ** 2}: selling "
                    f"all the ranges absorb ({self.depth_curve(price, [1.0])[0]}) stops there"
                )
            return -float(self._token0_between(s_t, s)[0]) / self._keep
        if s_t > s:
            if s_t > bounds[-1]:
                raise ValueError(
                    f"target {target} is above the highest range bound {bounds[-1] ** 2}: buying "
                    f"all the ranges hold ({float(self._token0_between(s, bounds[-1])[0])}) stops "
                    "there"
                )
            return float(self._token0_between(s, s_t)[0])
        return 0.0

    def depth_curve(self, price: float, moves: ArrayLike) -> NDArray[np.float64]:
        """Return the quantity sellable before the price falls by each fraction in `moves`.

        ``Q(ε)``, the DEX liquidity curve of mechanics §12.2 (Gauntlet, Chaos Labs): the asset the
        ranges absorb between ``price·(1 − ε)`` and ``price``, grossed up for the fee. Past the
        lowest range it stays at the total the ranges absorb.

        Parameters
        ----------
        price : float
            Current price.
        moves : array_like
            Price falls as fractions in ``(0, 1]`` (0.02 = 2%).

        Returns
        -------
        ndarray
            Asset quantity per move.

        Examples
        --------
        >>> pool = ConcentratedLiquidityPool.around(1_000.0, 1e6, 0.1, fee_bps=0.0)
        >>> q = pool.depth_curve(1_000.0, [0.01, 0.05])
        >>> q_5 = -pool.quantity_for_price(1_000.0, 950.0)
        >>> bool(q[0] < q[1]), round(float(q[1]), 9) == round(q_5, 9)
        (True, True)
        """
        eps = np.atleast_1d(np.asarray(moves, dtype=np.float64))
        if np.any(~((eps > 0) & (eps <= 1))):
            raise ValueError(f"expected moves in (0, 1], was {eps.tolist()}")
        s = math.sqrt(price)
        out: NDArray[np.float64] = self._token0_between(s * np.sqrt(1.0 - eps), s) / self._keep
        return out
