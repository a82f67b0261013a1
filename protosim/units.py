"""Fixed-point integer helpers shared by all protocol math (WAD, RAY, basis points).

On-chain amounts are integers in base units, and fixed-point products and quotients name their
rounding direction (style rule R4). The Aave helpers mirror the Solidity libraries of
aave-dao/aave-v3-origin bit for bit, including their ``uint256`` overflow reverts:

- ``src/contracts/protocol/libraries/math/WadRayMath.sol`` (``wadMul``, ``wadDiv``, ``rayMul``,
  ``rayDiv``, ``rayToWad``, ``wadToRay``: half-up; ``rayMulFloor``, ``rayMulCeil``,
  ``rayDivFloor``, ``rayDivCeil``: added in v3.5, commit 070cd23d);
- ``src/contracts/protocol/libraries/math/PercentageMath.sol`` (``percentMul``, ``percentDiv``:
  half-up; ``percentMulFloor``, ``percentMulCeil``, ``percentDivFloor``, ``percentDivCeil``:
  added in v3.5, used by the v3.7 liquidation rounding).

Read at aave-dao/aave-v3-origin@fd1fbd91 (2026-06) and at tag v3.3.0 (5431379f), whose half-up
functions are identical. Aave v2 (aave/protocol-v2 ``PercentageMath.sol``) computes the same
``percentMul``/``percentDiv`` values with SafeMath.
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from fractions import Fraction

__all__ = [
    "HALF_PERCENTAGE_FACTOR",
    "HALF_RAY",
    "HALF_WAD",
    "MAX_UINT256",
    "PERCENTAGE_FACTOR",
    "RAY",
    "WAD",
    "WAD_RAY_RATIO",
    "BaseUnits",
    "Ray",
    "Rounding",
    "Wad",
    "div_ray",
    "div_wad",
    "from_base",
    "mul_div",
    "mul_ray",
    "mul_wad",
    "percent_div",
    "percent_div_ceil",
    "percent_div_floor",
    "percent_mul",
    "percent_mul_ceil",
    "percent_mul_floor",
    "ray_div",
    "ray_div_ceil",
    "ray_div_floor",
    "ray_mul",
    "ray_mul_ceil",
    "ray_mul_floor",
    "ray_to_wad",
    "to_base",
    "wad_div",
    "wad_mul",
    "wad_to_ray",
]

Wad = int
"""A fixed-point number scaled by 1e18."""

Ray = int
"""A fixed-point number scaled by 1e27."""

BaseUnits = int
"""A token amount in the token's smallest unit (wei for an 18-decimal token)."""

WAD: Wad = 10**18
HALF_WAD: Wad = WAD // 2
RAY: Ray = 10**27
HALF_RAY: Ray = RAY // 2
WAD_RAY_RATIO = 10**9
PERCENTAGE_FACTOR = 10**4  # 100.00 %, two decimals of precision (basis points)
HALF_PERCENTAGE_FACTOR = PERCENTAGE_FACTOR // 2
MAX_UINT256 = 2**256 - 1


class Rounding(Enum):
    """Direction in which an inexact fixed-point result is rounded."""

    DOWN = "down"
    """Toward zero (Solidity's integer division; Aave's ``Floor`` variants)."""
    UP = "up"
    """Away from zero (Aave's ``Ceil`` variants)."""
    HALF_UP = "half_up"
    """To the nearest integer, ties up (Aave's default ``wadMul``/``percentMul`` …)."""


def mul_div(a: int, b: int, denominator: int, rounding: Rounding) -> int:
    """Return ``a * b / denominator`` for non-negative integers, rounded as asked.

    ``HALF_UP`` adds ``denominator // 2`` before the floor division, which is what every
    half-up Aave helper does (``wadDiv`` adds ``b / 2``, ``percentMul`` adds ``0.5e4``).
    Python integers do not overflow, so no ``uint256`` check is made here.

    Parameters
    ----------
    a, b : int
        Non-negative factors.
    denominator : int
        Positive divisor.
    rounding : Rounding
        Direction of rounding of the inexact quotient.

    Returns
    -------
    int
        The rounded quotient.

    Raises
    ------
    ValueError
        If a factor is negative or the denominator is not positive.

    Examples
    --------
    7 × 3 / 2 = 10.5:

    >>> [mul_div(7, 3, 2, r) for r in (Rounding.DOWN, Rounding.UP, Rounding.HALF_UP)]
    [10, 11, 11]
    >>> mul_div(7, 3, 3, Rounding.UP)
    7
    """
    if a < 0 or b < 0 or denominator <= 0:
        raise ValueError(
            f"expected a >= 0, b >= 0 and denominator > 0, was {a}, {b}, {denominator}"
        )
    product = a * b
    if rounding is Rounding.DOWN:
        return product // denominator
    if rounding is Rounding.UP:
        return -(-product // denominator)
    return (product + denominator // 2) // denominator


def _require_uint(*values: int) -> None:
    for value in values:
        if value < 0:
            raise ValueError(f"expected a uint256 (>= 0), was {value}")


def _require_fits(value: int, what: str) -> None:
    # The Solidity assembly reverts (revert(0, 0)) before the intermediate leaves uint256.
    if value > MAX_UINT256:
        raise OverflowError(f"{what} overflows uint256 (the contract reverts)")


def wad_mul(a: Wad, b: Wad) -> Wad:
    """Return ``a * b / 1e18`` rounded half up, as ``WadRayMath.wadMul``.

    Parameters
    ----------
    a, b : Wad
        Factors scaled by 1e18.

    Returns
    -------
    Wad
        ``(a * b + 0.5e18) // 1e18``.

    Raises
    ------
    OverflowError
        Where the contract reverts: ``a * b + HALF_WAD`` exceeds ``uint256``.

    Examples
    --------
    1.5 × 2.5 = 3.75; 1 wei × 0.5 = 0.5 wei rounds up to 1 wei:

    >>> wad_mul(15 * WAD // 10, 25 * WAD // 10) == 375 * WAD // 100
    True
    >>> wad_mul(1, WAD // 2)
    1
    """
    _require_uint(a, b)
    _require_fits(a * b + HALF_WAD, "wadMul")
    return (a * b + HALF_WAD) // WAD


def wad_div(a: Wad, b: Wad) -> Wad:
    """Return ``a * 1e18 / b`` rounded half up, as ``WadRayMath.wadDiv``.

    Parameters
    ----------
    a : Wad
        Dividend scaled by 1e18.
    b : Wad
        Divisor scaled by 1e18, non-zero.

    Returns
    -------
    Wad
        ``(a * 1e18 + b // 2) // b``.

    Raises
    ------
    ZeroDivisionError
        If ``b == 0`` (the contract reverts).
    OverflowError
        If ``a * 1e18 + b // 2`` exceeds ``uint256``.

    Examples
    --------
    2 / 3 = 0.666…67 (the last digit rounds up):

    >>> wad_div(2 * WAD, 3 * WAD)
    666666666666666667
    """
    _require_uint(a, b)
    if b == 0:
        raise ZeroDivisionError("wadDiv by zero (the contract reverts)")
    _require_fits(a * WAD + b // 2, "wadDiv")
    return (a * WAD + b // 2) // b


def ray_mul(a: Ray, b: Ray) -> Ray:
    """Return ``a * b / 1e27`` rounded half up, as ``WadRayMath.rayMul``.

    Parameters
    ----------
    a, b : Ray
        Factors scaled by 1e27.

    Returns
    -------
    Ray
        ``(a * b + 0.5e27) // 1e27``.

    Raises
    ------
    OverflowError
        If ``a * b + HALF_RAY`` exceeds ``uint256``.

    Examples
    --------
    A balance of 3 wei times an index of 1.5 is 4.5 wei, which rounds up:

    >>> ray_mul(3, 15 * RAY // 10)
    5
    """
    _require_uint(a, b)
    _require_fits(a * b + HALF_RAY, "rayMul")
    return (a * b + HALF_RAY) // RAY


def ray_mul_floor(a: Ray, b: Ray) -> Ray:
    """Return ``a * b / 1e27`` rounded down, as ``WadRayMath.rayMulFloor`` (v3.5+).

    Parameters
    ----------
    a, b : Ray
        Factors scaled by 1e27.

    Returns
    -------
    Ray
        ``(a * b) // 1e27``.

    Raises
    ------
    OverflowError
        If ``a * b`` exceeds ``uint256``.

    Examples
    --------
    >>> ray_mul_floor(3, 15 * RAY // 10)
    4
    """
    _require_uint(a, b)
    _require_fits(a * b, "rayMulFloor")
    return (a * b) // RAY


def ray_mul_ceil(a: Ray, b: Ray) -> Ray:
    """Return ``a * b / 1e27`` rounded up, as ``WadRayMath.rayMulCeil`` (v3.5+).

    Parameters
    ----------
    a, b : Ray
        Factors scaled by 1e27.

    Returns
    -------
    Ray
        ``ceil(a * b / 1e27)``.

    Raises
    ------
    OverflowError
        If ``a * b`` exceeds ``uint256``.

    Examples
    --------
    3 × 1.1 = 3.3 wei rounds up to 4; an exact product stays exact:

    >>> ray_mul_ceil(3, 11 * RAY // 10), ray_mul_ceil(3, 2 * RAY)
    (4, 6)
    """
    _require_uint(a, b)
    _require_fits(a * b, "rayMulCeil")
    return -(-(a * b) // RAY)


def ray_div(a: Ray, b: Ray) -> Ray:
    """Return ``a * 1e27 / b`` rounded half up, as ``WadRayMath.rayDiv``.

    Parameters
    ----------
    a : Ray
        Dividend scaled by 1e27.
    b : Ray
        Divisor scaled by 1e27, non-zero.

    Returns
    -------
    Ray
        ``(a * 1e27 + b // 2) // b``.

    Raises
    ------
    ZeroDivisionError
        If ``b == 0``.
    OverflowError
        If ``a * 1e27 + b // 2`` exceeds ``uint256``.

    Examples
    --------
    5 wei / 2 = 2.5 rounds up to 3; 5 wei / 3 = 1.67 rounds to 2:

    >>> ray_div(5, 2 * RAY), ray_div(5, 3 * RAY)
    (3, 2)
    """
    _require_uint(a, b)
    if b == 0:
        raise ZeroDivisionError("rayDiv by zero (the contract reverts)")
    _require_fits(a * RAY + b // 2, "rayDiv")
    return (a * RAY + b // 2) // b


def ray_div_floor(a: Ray, b: Ray) -> Ray:
    """Return ``a * 1e27 / b`` rounded down, as ``WadRayMath.rayDivFloor`` (v3.5+).

    Parameters
    ----------
    a : Ray
        Dividend scaled by 1e27.
    b : Ray
        Divisor scaled by 1e27, non-zero.

    Returns
    -------
    Ray
        ``(a * 1e27) // b``.

    Raises
    ------
    ZeroDivisionError
        If ``b == 0``.
    OverflowError
        If ``a * 1e27`` exceeds ``uint256``.

    Examples
    --------
    >>> ray_div_floor(5, 2 * RAY)
    2
    """
    _require_uint(a, b)
    if b == 0:
        raise ZeroDivisionError("rayDivFloor by zero (the contract reverts)")
    _require_fits(a * RAY, "rayDivFloor")
    return (a * RAY) // b


def ray_div_ceil(a: Ray, b: Ray) -> Ray:
    """Return ``a * 1e27 / b`` rounded up, as ``WadRayMath.rayDivCeil`` (v3.5+).

    Parameters
    ----------
    a : Ray
        Dividend scaled by 1e27.
    b : Ray
        Divisor scaled by 1e27, non-zero.

    Returns
    -------
    Ray
        ``ceil(a * 1e27 / b)``.

    Raises
    ------
    ZeroDivisionError
        If ``b == 0``.
    OverflowError
        If ``a * 1e27`` exceeds ``uint256``.

    Examples
    --------
    5 / 3 = 1.67 rounds up to 2:

    >>> ray_div_ceil(5, 3 * RAY)
    2
    """
    _require_uint(a, b)
    if b == 0:
        raise ZeroDivisionError("rayDivCeil by zero (the contract reverts)")
    _require_fits(a * RAY, "rayDivCeil")
    return -(-(a * RAY) // b)


def ray_to_wad(a: Ray) -> Wad:
    """Return a ray converted to a wad, rounded half up, as ``WadRayMath.rayToWad``.

    Parameters
    ----------
    a : Ray
        Value scaled by 1e27.

    Returns
    -------
    Wad
        ``a // 1e9``, plus one when the remainder is at least ``0.5e9``.

    Examples
    --------
    >>> ray_to_wad(1_500_000_000), ray_to_wad(1_499_999_999)
    (2, 1)
    """
    _require_uint(a)
    quotient, remainder = divmod(a, WAD_RAY_RATIO)
    return quotient + (1 if remainder >= WAD_RAY_RATIO // 2 else 0)


def wad_to_ray(a: Wad) -> Ray:
    """Return a wad converted to a ray, exactly, as ``WadRayMath.wadToRay``.

    Parameters
    ----------
    a : Wad
        Value scaled by 1e18.

    Returns
    -------
    Ray
        ``a * 1e9``.

    Raises
    ------
    OverflowError
        If the result exceeds ``uint256``.

    Examples
    --------
    >>> wad_to_ray(WAD) == RAY
    True
    """
    _require_uint(a)
    _require_fits(a * WAD_RAY_RATIO, "wadToRay")
    return a * WAD_RAY_RATIO


def percent_mul(value: int, percentage: int) -> int:
    """Return ``value * percentage / 1e4`` rounded half up, as ``PercentageMath.percentMul``.

    Parameters
    ----------
    value : int
        Any non-negative integer amount.
    percentage : int
        Basis points (``10_000`` = 100 %).

    Returns
    -------
    int
        ``(value * percentage + 5_000) // 10_000``.

    Raises
    ------
    OverflowError
        If ``value * percentage + 5_000`` exceeds ``uint256``.

    Examples
    --------
    10 × 105 % = 10.5 rounds up to 11; 1 × 105 % = 1.05 rounds down to 1:

    >>> percent_mul(10, 10_500), percent_mul(1, 10_500)
    (11, 1)
    """
    _require_uint(value, percentage)
    _require_fits(value * percentage + HALF_PERCENTAGE_FACTOR, "percentMul")
    return (value * percentage + HALF_PERCENTAGE_FACTOR) // PERCENTAGE_FACTOR


def percent_mul_floor(value: int, percentage: int) -> int:
    """Return ``value * percentage / 1e4`` rounded down, as ``percentMulFloor`` (v3.5+).

    Parameters
    ----------
    value : int
        Any non-negative integer amount.
    percentage : int
        Basis points.

    Returns
    -------
    int
        ``(value * percentage) // 10_000``.

    Raises
    ------
    OverflowError
        If ``value * percentage`` exceeds ``uint256``.

    Examples
    --------
    >>> percent_mul_floor(10, 10_500)
    10
    """
    _require_uint(value, percentage)
    _require_fits(value * percentage, "percentMulFloor")
    return (value * percentage) // PERCENTAGE_FACTOR


def percent_mul_ceil(value: int, percentage: int) -> int:
    """Return ``value * percentage / 1e4`` rounded up, as ``percentMulCeil`` (v3.5+).

    Parameters
    ----------
    value : int
        Any non-negative integer amount.
    percentage : int
        Basis points.

    Returns
    -------
    int
        ``ceil(value * percentage / 10_000)``.

    Raises
    ------
    OverflowError
        If ``value * percentage`` exceeds ``uint256``.

    Examples
    --------
    1 × 10 % = 0.1 rounds up to 1:

    >>> percent_mul_ceil(1, 1_000)
    1
    """
    _require_uint(value, percentage)
    _require_fits(value * percentage, "percentMulCeil")
    return -(-(value * percentage) // PERCENTAGE_FACTOR)


def percent_div(value: int, percentage: int) -> int:
    """Return ``value * 1e4 / percentage`` rounded half up, as ``PercentageMath.percentDiv``.

    Parameters
    ----------
    value : int
        Any non-negative integer amount.
    percentage : int
        Basis points, non-zero.

    Returns
    -------
    int
        ``(value * 10_000 + percentage // 2) // percentage``.

    Raises
    ------
    ZeroDivisionError
        If ``percentage == 0``.
    OverflowError
        If ``value * 10_000 + percentage // 2`` exceeds ``uint256``.

    Examples
    --------
    11 / 105 % = 10.476 rounds to 10; 1050 / 105 % = 1000 exactly:

    >>> percent_div(11, 10_500), percent_div(1_050, 10_500)
    (10, 1000)
    """
    _require_uint(value, percentage)
    if percentage == 0:
        raise ZeroDivisionError("percentDiv by zero (the contract reverts)")
    _require_fits(value * PERCENTAGE_FACTOR + percentage // 2, "percentDiv")
    return (value * PERCENTAGE_FACTOR + percentage // 2) // percentage


def percent_div_floor(value: int, percentage: int) -> int:
    """Return ``value * 1e4 / percentage`` rounded down, as ``percentDivFloor`` (v3.5+).

    Parameters
    ----------
    value : int
        Any non-negative integer amount.
    percentage : int
        Basis points, non-zero.

    Returns
    -------
    int
        ``(value * 10_000) // percentage``.

    Raises
    ------
    ZeroDivisionError
        If ``percentage == 0``.
    OverflowError
        If ``value * 10_000`` exceeds ``uint256``.

    Examples
    --------
    >>> percent_div_floor(11, 10_500)
    10
    """
    _require_uint(value, percentage)
    if percentage == 0:
        raise ZeroDivisionError("percentDivFloor by zero (the contract reverts)")
    _require_fits(value * PERCENTAGE_FACTOR, "percentDivFloor")
    return (value * PERCENTAGE_FACTOR) // percentage


def percent_div_ceil(value: int, percentage: int) -> int:
    """Return ``value * 1e4 / percentage`` rounded up, as ``percentDivCeil`` (v3.5+).

    Parameters
    ----------
    value : int
        Any non-negative integer amount.
    percentage : int
        Basis points, non-zero.

    Returns
    -------
    int
        ``ceil(value * 10_000 / percentage)``.

    Raises
    ------
    ZeroDivisionError
        If ``percentage == 0``.
    OverflowError
        If ``value * 10_000`` exceeds ``uint256``.

    Examples
    --------
    >>> percent_div_ceil(11, 10_500)
    11
    """
    _require_uint(value, percentage)
    if percentage == 0:
        raise ZeroDivisionError("percentDivCeil by zero (the contract reverts)")
    _require_fits(value * PERCENTAGE_FACTOR, "percentDivCeil")
    return -(-(value * PERCENTAGE_FACTOR) // percentage)


def mul_wad(a: int, b: Wad, *, rounding: Rounding) -> int:
    """Return ``a * b / 1e18`` rounded as asked (the project's generic WAD product).

    Parameters
    ----------
    a : int
        Non-negative amount (any scale).
    b : Wad
        Non-negative factor scaled by 1e18.
    rounding : Rounding
        Direction of rounding; choose the one that favours the protocol.

    Returns
    -------
    int
        The product in the scale of ``a``.

    Examples
    --------
    >>> mul_wad(3, WAD // 2, rounding=Rounding.DOWN), mul_wad(3, WAD // 2, rounding=Rounding.UP)
    (1, 2)
    """
    return mul_div(a, b, WAD, rounding)


def div_wad(a: int, b: Wad, *, rounding: Rounding) -> int:
    """Return ``a * 1e18 / b`` rounded as asked.

    Parameters
    ----------
    a : int
        Non-negative amount (any scale).
    b : Wad
        Positive divisor scaled by 1e18.
    rounding : Rounding
        Direction of rounding.

    Returns
    -------
    int
        The quotient in the scale of ``a``.

    Examples
    --------
    >>> div_wad(1, 3 * WAD, rounding=Rounding.UP)
    1
    """
    return mul_div(a, WAD, b, rounding)


def mul_ray(a: int, b: Ray, *, rounding: Rounding) -> int:
    """Return ``a * b / 1e27`` rounded as asked.

    Parameters
    ----------
    a : int
        Non-negative amount (any scale).
    b : Ray
        Non-negative factor scaled by 1e27.
    rounding : Rounding
        Direction of rounding.

    Returns
    -------
    int
        The product in the scale of ``a``.

    Examples
    --------
    >>> mul_ray(3, 15 * RAY // 10, rounding=Rounding.DOWN)
    4
    """
    return mul_div(a, b, RAY, rounding)


def div_ray(a: int, b: Ray, *, rounding: Rounding) -> int:
    """Return ``a * 1e27 / b`` rounded as asked.

    Parameters
    ----------
    a : int
        Non-negative amount (any scale).
    b : Ray
        Positive divisor scaled by 1e27.
    rounding : Rounding
        Direction of rounding.

    Returns
    -------
    int
        The quotient in the scale of ``a``.

    Examples
    --------
    >>> div_ray(5, 3 * RAY, rounding=Rounding.UP)
    2
    """
    return mul_div(a, RAY, b, rounding)


def to_base(amount: int | str | Decimal | Fraction, decimals: int) -> BaseUnits:
    """Return a whole-token amount in base units, rounding any excess precision down.

    Floats are refused on purpose: ``0.1`` is not representable, so the caller must say what it
    means (``"0.1"`` or ``Decimal("0.1")``).

    Parameters
    ----------
    amount : int, str, Decimal or Fraction
        Non-negative amount in whole tokens ("1.5" ETH).
    decimals : int
        The token's decimals (18 for WETH, 6 for USDC).

    Returns
    -------
    BaseUnits
        ``floor(amount * 10**decimals)``.

    Raises
    ------
    TypeError
        If ``amount`` is a float.
    ValueError
        If ``amount`` or ``decimals`` is negative.

    Examples
    --------
    >>> to_base("1.5", 18) == 15 * 10**17
    True
    >>> to_base("0.0000001", 6)
    0
    """
    if isinstance(amount, float):
        raise TypeError(f"expected an exact amount (int, str, Decimal or Fraction), was {amount!r}")
    exact = Fraction(Decimal(amount)) if isinstance(amount, str | Decimal) else Fraction(amount)
    if exact < 0 or decimals < 0:
        raise ValueError(f"expected amount >= 0 and decimals >= 0, was {amount}, {decimals}")
    unit: int = 10**decimals
    return (exact.numerator * unit) // exact.denominator


def from_base(amount: BaseUnits, decimals: int) -> float:
    """Return a base-unit amount in whole tokens as a float (for analytics and vector books).

    Parameters
    ----------
    amount : BaseUnits
        Amount in the token's smallest unit.
    decimals : int
        The token's decimals.

    Returns
    -------
    float
        ``amount / 10**decimals``, correctly rounded to the nearest float.

    Examples
    --------
    >>> from_base(1_500_000, 6)
    1.5
    """
    unit: int = 10**decimals
    return amount / unit
