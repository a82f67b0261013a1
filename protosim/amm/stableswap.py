"""Curve StableSwap math, bit-exact in integers, and a float stableswap impact model.

The integer functions mirror Curve's plain-pool template, curvefi/curve-contract
``contracts/pool-templates/base/SwapTemplateBase.vy`` (``@version ^0.2.8``, read at commit
186d11e2): ``_get_D``, ``_get_y``, ``get_dy`` and ``exchange``, with its
``A_PRECISION = 100``, ``FEE_DENOMINATOR = 10**10``, ``PRECISION = 10**18`` and 255-round Newton
loops that stop when two iterates differ by at most 1 and ``raise`` if they never do. Every
``uint256`` operation is checked the way Vyper checks it: a subtraction below zero, a division by
zero or a result above ``2**256 - 1`` raises :class:`StableSwapRevertError`.

The older 3pool (``contracts/pools/3pool/StableSwap3Pool.vy``, ``@version 0.2.4``, commit 15e303aa)
is the same code with ``A`` stored unscaled: pass ``a_precision=1``. Two differences remain and are
not mirrored: its ``get_D`` returns the last iterate instead of reverting after 255 rounds, and its
``get_dy`` view converts ``dy`` to coin units before taking the fee (its ``exchange`` does not;
:func:`get_dy` follows ``exchange`` and the template). At low ``A`` and imbalances of hundreds
to one the integer Newton step for ``D`` can cycle (A = 1, balances 3500:1 cycles between three
values 2 to 4 wei apart); the template then reverts, and so does :func:`get_D`.

Conventions (the contract's): ``A`` is the amplification ``A()`` the pool reports, which is the
whitepaper's ``A · n**(n-1)``, so ``Ann = A · n`` is the whitepaper's ``A · n**n``; the integer
functions take ``amp = A · A_PRECISION``, the value ``A_precise()`` returns. Balances are scaled to
18 decimals by ``rates[i] = 10**(36 - decimals[i])`` (``xp = balance · rate / 10**18``), and fees
are fractions of ``10**10`` taken from the output.

The float model :class:`StableSwapPool` solves the same invariant in floating point for a pool of
two coins (an asset and its peg asset) and implements :class:`protosim.impact.ImpactModel`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from protosim.impact import Fill

__all__ = [
    "A_PRECISION",
    "FEE_DENOMINATOR",
    "MAX_A",
    "MAX_FEE",
    "MAX_ITERATIONS",
    "PRECISION",
    "ExchangeResult",
    "StableSwapPool",
    "StableSwapRevertError",
    "exchange",
    "get_D",
    "get_D_float",
    "get_dy",
    "get_dy_float",
    "get_y",
    "get_y_float",
    "rates_for_decimals",
    "spot_price",
    "xp_mem",
]

A_PRECISION = 100
"""Scale of the stored amplification in the template (``A_precise = A · 100``)."""
FEE_DENOMINATOR = 10**10
"""Fees are fractions of ``10**10`` (``4 * 10**6`` is 0.04%)."""
PRECISION = 10**18
"""The precision balances are converted to before the invariant is evaluated."""
MAX_A = 10**6
"""Largest ``A`` the contract accepts (``MAX_A``)."""
MAX_FEE = 5 * 10**9
"""Largest fee the contract accepts (50%)."""
MAX_ITERATIONS = 255
"""Newton rounds of ``get_D`` and ``get_y`` (``for _i in range(255)``)."""

_MAX_UINT256 = 2**256 - 1
# The float Newton loops stop at a relative step of 1e-15 (about 5 ulp), the floating-point
# stand-in for the contract's "two iterates differ by at most 1 wei at 18 decimals".
_FLOAT_TOLERANCE = 1e-15


class StableSwapRevertError(ValueError):
    """A call the Vyper contract would revert (uint256 underflow, overflow, division by zero,
    a failed ``assert`` or a Newton loop that did not converge).
    """


# -- uint256 arithmetic as Vyper checks it ---------------------------------------------------------


def _checked(value: int, what: str) -> int:
    if value > _MAX_UINT256:
        raise StableSwapRevertError(f"uint256 overflow in {what}")
    return value


def _sub(a: int, b: int, what: str) -> int:
    if b > a:
        raise StableSwapRevertError(f"uint256 underflow in {what}: {a} - {b}")
    return a - b


def _div(a: int, b: int, what: str) -> int:
    if b == 0:
        raise StableSwapRevertError(f"division by zero in {what}")
    return a // b


def _check_uint_list(values: Sequence[int], name: str) -> None:
    for v in values:
        if not 0 <= v <= _MAX_UINT256:
            raise StableSwapRevertError(f"{name} must be uint256 values, was {list(values)}")


def rates_for_decimals(decimals: Sequence[int]) -> list[int]:
    """Return the template's ``RATES`` for coins of the given decimals: ``10**(36 - decimals)``.

    Examples
    --------
    USDC (6 decimals) and DAI (18) as in 3pool's ``RATES``:

    >>> rates_for_decimals([18, 6]) == [10**18, 10**30]
    True
    """
    if any(not 0 <= d <= 36 for d in decimals):
        raise ValueError(f"expected decimals in [0, 36], was {list(decimals)}")
    return [10 ** (36 - d) for d in decimals]


def xp_mem(balances: Sequence[int], rates: Sequence[int]) -> list[int]:
    """Return balances scaled to 18 decimals, ``rate · balance / 10**18`` (``_xp_mem``).

    Examples
    --------
    >>> xp_mem([5 * 10**6], [10**30])
    [5000000000000000000]
    """
    if len(balances) != len(rates):
        raise ValueError(f"expected one rate per balance, was {len(rates)} for {len(balances)}")
    return [_checked(r * b, "_xp_mem") // PRECISION for b, r in zip(balances, rates, strict=True)]


def get_D(xp: Sequence[int], amp: int, *, a_precision: int = A_PRECISION) -> int:  # noqa: N802
    r"""Return the StableSwap invariant ``D`` of scaled balances `xp` (``_get_D``).

    ``D`` solves :math:`A n^n \sum x_i + D = A n^n D + D^{n+1} / (n^n \prod x_i)`, found by the
    contract's Newton iteration from ``D = Σ x``:

    .. math::
        D_{k+1} = \frac{(\mathrm{Ann}\,S + n D_P)\, D_k}{(\mathrm{Ann} - 1) D_k + (n+1) D_P},
        \qquad D_P = \frac{D_k^{n+1}}{n^n \prod x_i}

    with ``Ann = amp · n / a_precision`` applied as the contract does (divide after multiplying),
    every division flooring, stopping when two iterates differ by at most 1.

    Parameters
    ----------
    xp : sequence of int
        Balances scaled to 18 decimals (:func:`xp_mem`).
    amp : int
        ``A · a_precision`` (the pool's ``A_precise()``; with ``a_precision=1``, its ``A()``).
    a_precision : int
        ``A_PRECISION`` of the pool version: 100 for the template, 1 for 3pool and older pools.

    Returns
    -------
    int
        ``D`` at 18 decimals; 0 for an empty pool.

    Raises
    ------
    StableSwapRevertError
        A balance is 0 in a non-empty pool (division by zero), or no convergence in 255 rounds.

    Examples
    --------
    A balanced pool's ``D`` is the sum of its balances:

    >>> get_D([10**24, 10**24], 200 * A_PRECISION)
    2000000000000000000000000
    >>> D = get_D([1_100_000 * 10**18, 900_000 * 10**18], 200 * A_PRECISION)
    >>> 1_999_000 * 10**18 < D < 2_000_000 * 10**18
    True
    """
    _check_uint_list(xp, "xp")
    n = len(xp)
    s = 0
    for x in xp:
        s = _checked(s + x, "get_D sum")
    if s == 0:
        return 0
    d = s
    ann = _checked(amp * n, "get_D Ann")
    for _ in range(MAX_ITERATIONS):
        d_p = d
        for x in xp:
            # The contract divides by zero here when a coin is empty: "only withdrawal will work".
            d_p = _div(_checked(d_p * d, "get_D D_P"), _checked(x * n, "get_D D_P"), "get_D D_P")
        d_prev = d
        numerator = _checked(
            _checked(
                _checked(ann * s, "get_D") // a_precision + _checked(d_p * n, "get_D"), "get_D"
            )
            * d,
            "get_D",
        )
        denominator = _checked(
            _checked(_sub(ann, a_precision, "get_D Ann - A_PRECISION") * d, "get_D") // a_precision
            + _checked((n + 1) * d_p, "get_D"),
            "get_D",
        )
        d = _div(numerator, denominator, "get_D")
        if abs(d - d_prev) <= 1:
            return d
    # "convergence typically occurs in 4 rounds or less, this should be unreachable!"
    raise StableSwapRevertError(
        f"get_D did not converge in {MAX_ITERATIONS} rounds for xp={list(xp)}"
    )


def get_y(
    i: int, j: int, x: int, xp: Sequence[int], amp: int, *, a_precision: int = A_PRECISION
) -> int:
    r"""Return the balance of coin `j` that keeps ``D`` when coin `i` moves to `x` (``_get_y``).

    With ``S'`` and ``P'`` the sum and product of the balances other than `j` (coin `i` at
    `x`), ``y`` solves

    .. math:: y^2 + (S' + D/\mathrm{Ann} - D)\, y = D^{n+1} / (n^{2n} P' \mathrm{Ann})

    and is found from ``y = D`` by the contract's iteration ``y ← (y² + c) / (2y + b − D)``.

    Parameters
    ----------
    i, j : int
        Index of the coin whose balance is set, and of the coin solved for.
    x : int
        New scaled balance of coin `i`.
    xp : sequence of int
        Current scaled balances, from which ``D`` is computed.
    amp : int
        ``A · a_precision``.
    a_precision : int
        100 for the template, 1 for 3pool.

    Returns
    -------
    int
        The scaled balance of coin `j`.

    Raises
    ------
    StableSwapRevertError
        ``i == j``, an index out of range, or no convergence.

    Examples
    --------
    Moving nothing leaves the other balance where it was, up to the iteration's 1-wei stop:

    >>> xp = [10**24, 10**24]
    >>> abs(get_y(0, 1, 10**24, xp, 200 * A_PRECISION) - 10**24) <= 1
    True
    """
    n = len(xp)
    if i == j:
        raise StableSwapRevertError("get_y: same coin")
    if not 0 <= j < n:
        raise StableSwapRevertError(f"get_y: j={j} outside 0..{n - 1}")
    if not 0 <= i < n:
        raise StableSwapRevertError(f"get_y: i={i} outside 0..{n - 1}")
    d = get_D(xp, amp, a_precision=a_precision)
    ann = _checked(amp * n, "get_y Ann")
    c = d
    s_ = 0
    for k in range(n):
        if k == i:
            x_k = x
        elif k != j:
            x_k = xp[k]
        else:
            continue
        s_ = _checked(s_ + x_k, "get_y S")
        c = _div(_checked(c * d, "get_y c"), _checked(x_k * n, "get_y c"), "get_y c")
    c = _div(_checked(c * d * a_precision, "get_y c"), _checked(ann * n, "get_y c"), "get_y c")
    b = _checked(s_ + _div(d * a_precision, ann, "get_y b"), "get_y b")  # - D
    y = d
    for _ in range(MAX_ITERATIONS):
        y_prev = y
        y = _div(
            _checked(y * y + c, "get_y"), _sub(_checked(2 * y + b, "get_y"), d, "get_y"), "get_y"
        )
        if abs(y - y_prev) <= 1:
            return y
    raise StableSwapRevertError(f"get_y did not converge in {MAX_ITERATIONS} rounds")


def get_dy(
    i: int,
    j: int,
    dx: int,
    balances: Sequence[int],
    rates: Sequence[int],
    amp: int,
    fee: int,
    *,
    a_precision: int = A_PRECISION,
) -> int:
    """Return what ``exchange(i, j, dx)`` pays out, in coin `j`'s base units (``get_dy``).

    ``dy = xp[j] − y − 1`` (the ``−1`` is the contract's "just in case there were some rounding
    errors"), less ``fee · dy / 10**10``, converted back to coin `j` by ``· 10**18 / rates[j]``.

    Parameters
    ----------
    i, j : int
        Index of the coin sold to the pool, and of the coin bought.
    dx : int
        Amount of coin `i` sold, base units.
    balances : sequence of int
        The pool's ``balances``, base units.
    rates : sequence of int
        ``RATES`` (:func:`rates_for_decimals`).
    amp : int
        ``A · a_precision``.
    fee : int
        Swap fee in ``10**10`` (``4 * 10**6`` = 0.04%).
    a_precision : int
        100 for the template, 1 for 3pool.

    Returns
    -------
    int
        Amount of coin `j` received, base units.

    Examples
    --------
    Selling 1 coin into a balanced 1M/1M pool (A = 200, 0.04% fee) returns just under
    ``1 − 0.0004``; without a fee, the one wei the contract keeps:

    >>> rates = rates_for_decimals([18, 18])
    >>> bal = [10**24, 10**24]
    >>> dy = get_dy(0, 1, 10**18, bal, rates, 200 * A_PRECISION, 4 * 10**6)
    >>> 0.9995 < dy / 10**18 < 0.9996
    True
    >>> get_dy(0, 1, 10**18, bal, rates, 200 * A_PRECISION, 0) < 10**18
    True
    """
    _check_uint_list(balances, "balances")
    xp = xp_mem(balances, rates)
    x = _checked(xp[i] + _checked(dx * rates[i], "get_dy") // PRECISION, "get_dy x")
    y = get_y(i, j, x, xp, amp, a_precision=a_precision)
    dy = _sub(_sub(xp[j], y, "get_dy"), 1, "get_dy")
    fee_amount = _checked(fee * dy, "get_dy fee") // FEE_DENOMINATOR
    return _checked(_sub(dy, fee_amount, "get_dy") * PRECISION, "get_dy") // rates[j]


@dataclass(frozen=True, slots=True)
class ExchangeResult:
    """What ``exchange`` did: the amount paid out, the fee and the balances after."""

    dy: int
    """Coin `j` sent to the trader, base units."""
    dy_fee: int
    """Fee kept from the output, in 18-decimal units (``xp``), as the contract computes it."""
    dy_admin_fee: int
    """Part of the fee sent to the admin, coin `j` base units (left out of ``balances``)."""
    balances: tuple[int, ...]
    """Pool balances after the exchange, base units."""


def exchange(
    i: int,
    j: int,
    dx: int,
    balances: Sequence[int],
    rates: Sequence[int],
    amp: int,
    fee: int,
    *,
    admin_fee: int = 0,
    a_precision: int = A_PRECISION,
) -> ExchangeResult:
    """Return the result of ``exchange(i, j, dx, 0)`` on a pool with `balances` (state is not kept).

    The balance of `j` falls by the payout and the admin's share of the fee; the LPs' share of
    the fee stays in the pool, which is why ``D`` rises through a swap with a fee.

    Parameters
    ----------
    i, j, dx, balances, rates, amp, fee, a_precision
        As for :func:`get_dy`.
    admin_fee : int
        Share of the fee sent to the admin, in ``10**10`` (``5 * 10**9`` = 50%).

    Returns
    -------
    ExchangeResult
        Payout, fee and the balances after.

    Examples
    --------
    >>> r = exchange(0, 1, 10**18, [10**24, 10**24], [10**18, 10**18], 20_000, 4 * 10**6)
    >>> r.balances[0] == 10**24 + 10**18, r.balances[1] == 10**24 - r.dy
    (True, True)
    """
    _check_uint_list(balances, "balances")
    xp = xp_mem(balances, rates)
    x = _checked(xp[i] + _checked(dx * rates[i], "exchange") // PRECISION, "exchange x")
    y = get_y(i, j, x, xp, amp, a_precision=a_precision)
    dy = _sub(_sub(xp[j], y, "exchange"), 1, "exchange")
    dy_fee = _checked(dy * fee, "exchange fee") // FEE_DENOMINATOR
    paid = _checked(_sub(dy, dy_fee, "exchange") * PRECISION, "exchange") // rates[j]
    dy_admin_fee = _checked(dy_fee * admin_fee, "exchange admin fee") // FEE_DENOMINATOR
    dy_admin_fee = _checked(dy_admin_fee * PRECISION, "exchange admin fee") // rates[j]
    after = list(balances)
    after[i] = _checked(balances[i] + dx, "exchange balance")
    # "When rounding errors happen, we undercharge admin fee in favor of LP"
    after[j] = _sub(_sub(balances[j], paid, "exchange balance"), dy_admin_fee, "exchange balance")
    return ExchangeResult(dy=paid, dy_fee=dy_fee, dy_admin_fee=dy_admin_fee, balances=tuple(after))


# -- the same formulas in floating point -----------------------------------------------------------


def get_D_float(xp: Sequence[float], a: float) -> float:  # noqa: N802
    """Return ``D`` of balances `xp` by the contract's Newton iteration in floating point.

    Parameters
    ----------
    xp : sequence of float
        Balances in a common unit (coins at par).
    a : float
        The amplification ``A()`` (``Ann = a · n``).

    Returns
    -------
    float
        The invariant, in the unit of `xp`.

    Examples
    --------
    >>> get_D_float([1e6, 1e6], 200.0)
    2000000.0
    """
    n = len(xp)
    s = math.fsum(xp)
    if s == 0:
        return 0.0
    if min(xp) <= 0:
        raise ValueError(f"expected balances > 0, was {list(xp)}")
    ann = a * n
    d = s
    for _ in range(MAX_ITERATIONS):
        d_p = d
        for x in xp:
            d_p = d_p * d / (x * n)
        d_prev = d
        d = (ann * s + d_p * n) * d / ((ann - 1) * d + (n + 1) * d_p)
        if abs(d - d_prev) <= _FLOAT_TOLERANCE * d:
            return d
    raise ValueError(f"get_D_float did not converge in {MAX_ITERATIONS} rounds for xp={list(xp)}")


def get_y_float(i: int, j: int, x: float, xp: Sequence[float], a: float) -> float:
    """Return the balance of coin `j` that keeps ``D`` when coin `i` moves to `x` (float ``get_y``).

    Parameters
    ----------
    i, j : int
        Index of the coin set, and of the coin solved for.
    x : float
        New balance of coin `i`.
    xp : sequence of float
        Current balances.
    a : float
        The amplification ``A()``.

    Returns
    -------
    float
        The balance of coin `j`.

    Examples
    --------
    >>> round(get_y_float(0, 1, 1e6, [1e6, 1e6], 200.0), 6)
    1000000.0
    """
    n = len(xp)
    if i == j or not (0 <= i < n and 0 <= j < n):
        raise ValueError(f"expected distinct coin indices in 0..{n - 1}, was i={i}, j={j}")
    d = get_D_float(xp, a)
    ann = a * n
    c = d
    s_ = 0.0
    for k in range(n):
        if k == j:
            continue
        x_k = x if k == i else xp[k]
        s_ += x_k
        c = c * d / (x_k * n)
    c = c * d / (ann * n)
    b = s_ + d / ann
    y = d
    for _ in range(MAX_ITERATIONS):
        y_prev = y
        y = (y * y + c) / (2 * y + b - d)
        # Scaled by D, not y: 2y + b − D cancels to the absolute precision of D, so a small y
        # settles into a few-ulp-of-D cycle (the contract's stop is likewise absolute, 1 wei).
        if abs(y - y_prev) <= _FLOAT_TOLERANCE * d:
            return y
    raise ValueError(f"get_y_float did not converge in {MAX_ITERATIONS} rounds")


def get_dy_float(
    i: int,
    j: int,
    dx: float,
    balances: Sequence[float],
    rates: Sequence[float],
    a: float,
    fee: float,
) -> float:
    """Return :func:`get_dy` in floating point: coin units, `rates` multipliers, `fee` a fraction.

    The contract's 1-wei safety margin is left out (it is 1e-18 of a coin).

    Parameters
    ----------
    i, j : int
        Coins sold and bought.
    dx : float
        Amount of coin `i` sold.
    balances : sequence of float
        Pool balances, coin units.
    rates : sequence of float
        Value of one coin in the common unit (1.0 at par; ``RATES / 1e36 · 10**decimals``).
    a : float
        The amplification ``A()``.
    fee : float
        Fee as a fraction of the output (0.0004 = 4 bps).

    Returns
    -------
    float
        Amount of coin `j` received.

    Examples
    --------
    >>> 0.9995 < get_dy_float(0, 1, 1.0, [1e6, 1e6], [1.0, 1.0], 200.0, 0.0004) < 0.9996
    True
    """
    xp = [b * r for b, r in zip(balances, rates, strict=True)]
    x = xp[i] + dx * rates[i]
    y = get_y_float(i, j, x, xp, a)
    dy = xp[j] - y
    return (dy - fee * dy) / rates[j]


def spot_price(xp: Sequence[float], a: float, i: int, j: int) -> float:
    r"""Return the fee-less marginal price of coin `i` in coin `j`, ``−∂x_j/∂x_i`` along ``D``.

    With :math:`F = \mathrm{Ann}\,\sum x + D - \mathrm{Ann}\,D - D^{n+1}/(n^n \prod x)`, the
    implicit function theorem gives ``−∂x_j/∂x_i = (∂F/∂x_i) / (∂F/∂x_j)`` with
    :math:`\partial F/\partial x_k = \mathrm{Ann} + D^{n+1} / (n^n \prod x \cdot x_k)`.

    Parameters
    ----------
    xp : sequence of float
        Balances in a common unit.
    a : float
        The amplification ``A()``.
    i, j : int
        The coin priced, and the coin it is priced in.

    Returns
    -------
    float
        Units of coin `j` per unit of coin `i` for an infinitesimal trade.

    Examples
    --------
    Balanced pools quote par; the scarcer coin is dearer:

    >>> spot_price([1e6, 1e6], 100.0, 0, 1)
    1.0
    >>> spot_price([1.1e6, 0.9e6], 100.0, 0, 1) < 1.0
    True
    """
    n = len(xp)
    d = get_D_float(xp, a)
    ann = a * n
    # D^{n+1} / (n^n ∏x) as the contract's D_P, built one factor at a time to stay in range.
    d_p = d
    for x in xp:
        d_p = d_p * d / (x * n)
    return (ann + d_p / xp[i]) / (ann + d_p / xp[j])


# -- the float impact model --------------------------------------------------------------------


def _y_of_x(x: float, ann: float) -> float:
    # Two-coin get_y with D = 1: the positive root of y² + (x + 1/Ann − 1)·y = 1/(4·Ann·x), the
    # quadratic the contract iterates on, taken in the form that does not cancel.
    b = x + 1.0 / ann - 1.0
    c = 1.0 / (4.0 * ann * x)
    root = math.sqrt(b * b + 4.0 * c)
    return 2.0 * c / (b + root) if b >= 0.0 else (root - b) / 2.0


def _price_of(x: float, y: float, ann: float) -> float:
    # spot_price for two coins with D = 1: ∂F/∂x / ∂F/∂y = (k + y)/(k + x), k = 4·Ann·x²y².
    k = 4.0 * ann * x * x * y * y
    return (k + y) / (k + x)


def _dy_of_dx(x0: float, y0: float, dx: NDArray[np.float64], ann: float) -> NDArray[np.float64]:
    # Fall of y when x moves by dx (either sign) along the curve through (x0, y0), D = 1.
    # Subtracting the quadratics at x0 and x1 = x0 + dx gives, for dy = y0 − y1,
    #     dy² − β·dy + γ = 0,  β = 2·y0 + x1 + 1/Ann − 1,  γ = dx·(y0 + 1/(4·Ann·x0·x1)),
    # whose root near zero is computed without the cancellation of y0 − y(x1), so a small trade
    # is priced to full relative precision (never above dx times the marginal price).
    x1 = x0 + dx
    beta = 2.0 * y0 + x1 + 1.0 / ann - 1.0
    gamma = dx * (y0 + 1.0 / (4.0 * ann * x0 * x1))
    root = np.sqrt(np.maximum(beta * beta - 4.0 * gamma, 0.0))
    # Both branches are evaluated by np.where; the one not taken may divide by zero harmlessly.
    with np.errstate(divide="ignore", invalid="ignore"):
        out: NDArray[np.float64] = np.where(
            beta >= 0.0, 2.0 * gamma / (beta + root), (beta - root) / 2.0
        )
    return out


def _solve_decreasing(f: Callable[[float], float], lo: float, hi: float) -> float:
    # Illinois false position on a decreasing f with f(lo) > 0 > f(hi).
    f_lo, f_hi = f(lo), f(hi)
    side = 0
    mid = lo
    for _ in range(200):
        mid = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        f_mid = f(mid)
        if f_mid > 0:
            lo, f_lo = mid, f_mid
            if side == 1:
                f_hi /= 2.0
            side = 1
        elif f_mid < 0:
            hi, f_hi = mid, f_mid
            if side == -1:
                f_lo /= 2.0
            side = -1
        else:
            return mid
        if hi - lo <= 1e-15 * max(1.0, abs(mid)):
            break
    return mid


@dataclass(frozen=True, slots=True, kw_only=True)
class StableSwapPool:
    """Two-coin Curve StableSwap pool of an asset against its peg asset (mechanics §12).

    The pool holds the asset and the peg asset (USDe and USDT, stETH and ETH). Its invariant ``D``
    is fixed by the depth: balanced, each side holds ``depth_usd / 2`` USD, i.e.
    ``depth_usd / (2 · peg)`` coins, and ``D = depth_usd / peg`` (a balanced pool's ``D`` is the
    sum of its balances). ``peg`` is the USD price of the peg asset, so a balanced pool prices
    the asset at ``peg``.

    **Re-centring.** The model keeps no balances between trades. Given the venue's current price
    ``p`` it finds the balances on the fixed-``D`` curve whose fee-less marginal price of the asset
    in the peg asset is ``p / peg``: the marginal price falls monotonically as the asset's share of
    the pool grows, so the balance is a one-dimensional root (Illinois false position on the log
    of the asset's balance, matching log prices). This is where arbitrage leaves the pool between
    trades, as :class:`protosim.impact.ConstantProductPool` re-centres on ``x = √(k/p)``.

    **Fees.** As in the contract, the fee is taken from the output: a sale of ``q`` moves the
    curve by ``q`` and pays ``(1 − fee)`` of the peg asset released; a purchase of ``q`` moves
    the curve by ``q / (1 − fee)`` of the asset. The fee leaves the curve (``D`` stays fixed), where
    the real pool keeps its LP share and ``D`` creeps up; the difference in the price after a trade
    is of order ``fee · dy / D``. The trade is priced by the contract's ``get_y`` quadratic, solved
    in closed form for the change from the starting balance so that small trades keep full
    relative precision.

    Parameters
    ----------
    amplification : float
        The pool's ``A()`` (Curve UI value; the whitepaper's ``A · n^{n-1}``). ``Ann = 2 · A``.
    depth_usd : float
        USD value of both balances together when the pool is balanced.
    fee_bps : float
        Swap fee, basis points of the output (4 = the template's classic 0.04%; curvesim default).
    peg : float
        USD price of the peg asset: 1.0 for stablecoins, the ETH price for stETH/ETH.

    Examples
    --------
    Selling 1,000 of an asset into a balanced $10M pool with A = 200 and no fee returns just under
    1,000 USD and leaves the price just under the peg:

    >>> pool = StableSwapPool(amplification=200.0, depth_usd=1e7, fee_bps=0.0)
    >>> f = pool.fill(1.0, -1_000.0)
    >>> 999.99 < f.notional_usd < 1_000.0, 0.99999 < f.price_after < 1.0
    (True, True)
    """

    amplification: float
    depth_usd: float
    fee_bps: float = 4.0
    peg: float = 1.0

    def __post_init__(self) -> None:
        if not 1.0 <= self.amplification <= MAX_A:
            raise ValueError(f"expected 1 <= amplification <= {MAX_A}, was {self.amplification}")
        if not (self.depth_usd > 0 and math.isfinite(self.depth_usd)):
            raise ValueError(f"expected a finite depth_usd > 0, was {self.depth_usd}")
        if not 0 <= self.fee_bps < 10_000:
            raise ValueError(f"expected 0 <= fee_bps < 10000, was {self.fee_bps}")
        if not (self.peg > 0 and math.isfinite(self.peg)):
            raise ValueError(f"expected a finite peg > 0, was {self.peg}")

    def scaled(self, depth: float) -> StableSwapPool:
        """Return the pool with its balances multiplied by `depth` (liquidity withdrawn)."""
        return replace(self, depth_usd=self.depth_usd * depth)

    @property
    def invariant(self) -> float:
        """``D`` in coins of the peg asset: the sum of the balances when balanced."""
        return self.depth_usd / self.peg

    @property
    def _ann(self) -> float:
        return 2.0 * self.amplification

    @property
    def _keep(self) -> float:
        return 1.0 - self.fee_bps / 10_000

    def balances_at(self, price: float) -> tuple[float, float]:
        """Return the pool's (asset, peg asset) balances, in coins, when its price is `price`.

        Examples
        --------
        >>> pool = StableSwapPool(amplification=100.0, depth_usd=2e6)
        >>> [round(b, 6) for b in pool.balances_at(1.0)]
        [1000000.0, 1000000.0]
        """
        x, y = self._normalised_balances(price)
        return x * self.invariant, y * self.invariant

    def _normalised_balances(self, price: float) -> tuple[float, float]:
        if not (price > 0 and math.isfinite(price)):
            raise ValueError(f"expected a finite price > 0, was {price}")
        ann = self._ann
        log_target = math.log(price / self.peg)

        def gap(log_x: float) -> float:
            x = math.exp(log_x)
            return math.log(_price_of(x, _y_of_x(x, ann), ann)) - log_target

        balanced = math.log(0.5)
        at_balance = gap(balanced)
        if at_balance == 0.0:
            return 0.5, _y_of_x(0.5, ann)
        # Bracket the root in log x, doubling the step: more of the asset means a lower price.
        step = 1.0
        lo = hi = balanced
        for _ in range(10):  # up to x = 0.5·e^±512, beyond any price a float can hold
            if at_balance > 0:
                lo, hi = hi, balanced + step
                if gap(hi) <= 0:
                    break
            else:
                hi, lo = lo, balanced - step
                if gap(lo) >= 0:
                    break
            step *= 2.0
        else:
            raise ValueError(f"price {price} is out of reach of a pool with peg {self.peg}")
        x = math.exp(_solve_decreasing(gap, lo, hi))
        return x, _y_of_x(x, ann)

    def fill(self, price: float, quantity: float) -> Fill:
        """Return the fill of a trade of signed `quantity` of the asset at pool price `price`."""
        if quantity == 0:
            return Fill(quantity, 0.0, price)
        d = self.invariant
        ann = self._ann
        x0, y0 = self._normalised_balances(price)
        if quantity < 0:
            dx = -quantity / d
        else:
            dx = -quantity / (d * self._keep)
            if -dx >= x0:
                raise ValueError(
                    f"cannot buy {quantity}: the pool holds {x0 * d} of the asset at price "
                    f"{price}, so at most {x0 * d * self._keep} can be bought"
                )
        dy = float(_dy_of_dx(x0, y0, np.array([dx]), ann)[0])
        # The price after comes from the closed-form y at the new x rather than y0 − dy: after a
        # large sale y is small and y0 − dy would keep only its absolute precision.
        x1 = x0 + dx
        price_after = _price_of(x1, _y_of_x(x1, ann), ann) * self.peg
        if quantity < 0:
            return Fill(quantity, dy * d * self._keep * self.peg, price_after)
        return Fill(quantity, -dy * d * self.peg, price_after)

    def sell_proceeds(self, price: float, quantities: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the USD each of `quantities` (>= 0) would fetch if sold alone at `price`."""
        d = self.invariant
        x0, y0 = self._normalised_balances(price)
        dy = _dy_of_dx(x0, y0, np.asarray(quantities, dtype=np.float64) / d, self._ann)
        out: NDArray[np.float64] = dy * d * self._keep * self.peg
        return out

    def quantity_for_price(self, price: float, target: float) -> float:
        """Return the signed quantity one trade needs to move the price from `price` to `target`.

        The balances at both prices come from re-centring; a sale puts the difference in the
        asset's balance into the pool, a purchase takes it out and receives ``(1 − fee)`` of it.

        Examples
        --------
        >>> pool = StableSwapPool(amplification=200.0, depth_usd=1e8, fee_bps=1.0)
        >>> q = pool.quantity_for_price(1.0, 0.99)
        >>> round(pool.fill(1.0, q).price_after, 12)
        0.99
        """
        if not (target > 0 and math.isfinite(target)):
            raise ValueError(f"expected a finite target price > 0, was {target}")
        x0, _ = self._normalised_balances(price)
        x1, _ = self._normalised_balances(target)
        d = self.invariant
        if x1 >= x0:
            return -(x1 - x0) * d
        return (x0 - x1) * d * self._keep
