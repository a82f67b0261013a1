"""Fixed-point helpers against Aave's own math tests.

Literal cases are copied from aave-dao/aave-v3-origin@fd1fbd91
``tests/protocol/libraries/math/WadRayMath.t.sol`` and ``PercentageMath.t.sol``; the fuzz tests
restate those files' fuzz oracles (revert condition and formula) with hypothesis.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protosim.units import (
    HALF_PERCENTAGE_FACTOR,
    HALF_RAY,
    HALF_WAD,
    MAX_UINT256,
    PERCENTAGE_FACTOR,
    RAY,
    WAD,
    WAD_RAY_RATIO,
    Rounding,
    div_ray,
    div_wad,
    from_base,
    mul_div,
    mul_ray,
    mul_wad,
    percent_div,
    percent_div_ceil,
    percent_div_floor,
    percent_mul,
    percent_mul_ceil,
    percent_mul_floor,
    ray_div,
    ray_div_ceil,
    ray_div_floor,
    ray_mul,
    ray_mul_ceil,
    ray_mul_floor,
    ray_to_wad,
    to_base,
    wad_div,
    wad_mul,
    wad_to_ray,
)

uint256 = st.integers(min_value=0, max_value=MAX_UINT256)


def test_constants_match_aave_libraries() -> None:
    """WAD, RAY, their halves and the percentage factor are Aave's (test_constants)."""
    assert (WAD, HALF_WAD, RAY, HALF_RAY) == (10**18, 10**18 // 2, 10**27, 10**27 // 2)
    assert (PERCENTAGE_FACTOR, HALF_PERCENTAGE_FACTOR, WAD_RAY_RATIO) == (10**4, 5 * 10**3, 10**9)


@pytest.mark.parametrize(
    ("function", "a", "b", "expected"),
    [
        # WadRayMath.t.sol test_wadMul / test_wadMul_edge
        (wad_mul, 25 * 10**17, 5 * 10**17, 125 * 10**16),
        (wad_mul, 4122 * 10**17, 10**18, 4122 * 10**17),
        (wad_mul, 6 * 10**18, 2 * 10**18, 12 * 10**18),
        (wad_mul, 0, 10**18, 0),
        # test_rayMul
        (ray_mul, 25 * 10**26, 5 * 10**26, 125 * 10**25),
        (ray_mul, 4122 * 10**26, 10**27, 4122 * 10**26),
        (ray_mul, 6 * 10**27, 2 * 10**27, 12 * 10**27),
        # test_wadDiv
        (wad_div, 25 * 10**17, 5 * 10**17, 5 * 10**18),
        (wad_div, 8745 * 10**15, 67 * 10**16, 13_052238805970149254),
        (wad_div, 6 * 10**18, 2 * 10**18, 3 * 10**18),
        # test_rayDiv
        (ray_div, 25 * 10**26, 5 * 10**26, 5 * 10**27),
        (ray_div, 8745 * 10**24, 67 * 10**25, 13_052238805970149253731343284),
        # testRayMulFloor_* / testRayMulCeil_*
        (ray_mul_floor, 10**27, 5 * 10**27, 5 * 10**27),
        (ray_mul_floor, 3, 5, 0),
        (ray_mul_ceil, 10**27, 5 * 10**27, 5 * 10**27),
        (ray_mul_ceil, 3, 5, 1),
        (ray_mul_ceil, 123, 0, 0),
        # testRayDivCeil_* / testRayDivFloor_*
        (ray_div_ceil, 5, 3, 1666666666666666666666666667),
        (ray_div_floor, 5, 3, 1666666666666666666666666666),
        (ray_div_ceil, 0, 123, 0),
        # PercentageMath.t.sol test_percentMul / test_percentDiv
        (percent_mul, 10**18, 50_00, 5 * 10**17),
        (percent_mul, 142515 * 10**14, 74_42, 10_605966300000000000),
        (percent_mul, 9087312 * 10**27, 13_33, 1211338689600000000000000000000000),
        (percent_div, 10**18, 50_00, 2 * 10**18),
        (percent_div, 142515 * 10**14, 74_42, 19_150094060736361193),
        (percent_div, 9087312 * 10**27, 13_33, 68171882970742685671417854463615904),
        # testPercentMulCeil_* / testPercentMulFloor_* / testPercentDiv{Floor,Ceil}_*
        (percent_mul_ceil, 100 * 10**18, PERCENTAGE_FACTOR, 100 * 10**18),
        (percent_mul_ceil, 1, 1, 1),
        (percent_mul_ceil, 100, 0, 0),
        (percent_mul_floor, 1, 1, 0),
        (percent_mul_floor, 1234, 0, 0),
        (percent_div_floor, 5, 3, 16666),
        (percent_div_ceil, 5, 3, 16667),
        (percent_div_ceil, 100 * 10**18, PERCENTAGE_FACTOR, 100 * 10**18),
    ],
)
def test_aave_math_literal_cases_match_aave_test_suite(
    function: Callable[[int, int], int], a: int, b: int, expected: int
) -> None:
    """Every literal case of Aave's WadRayMath and PercentageMath tests gives Aave's value."""
    assert function(a, b) == expected


@pytest.mark.parametrize(
    ("a", "expected"),
    [(10**27, 10**18), (4122 * 10**26, 4122 * 10**17), (0, 0), (5 * 10**8, 1), (4 * 10**8, 0)],
)
def test_ray_to_wad_rounds_half_up(a: int, expected: int) -> None:
    """rayToWad keeps the quotient by 1e9 and adds one when the remainder is >= 0.5e9."""
    assert ray_to_wad(a) == expected


@pytest.mark.parametrize(
    ("function", "a", "b"),
    [
        (wad_mul, MAX_UINT256, 2),
        (wad_div, MAX_UINT256, 1),
        (ray_mul, MAX_UINT256, 2),
        (ray_div, MAX_UINT256, 1),
        (ray_mul_floor, MAX_UINT256, 2),
        (ray_mul_ceil, MAX_UINT256, 2),
        (ray_div_floor, MAX_UINT256, 1),
        (ray_div_ceil, MAX_UINT256, 1),
        (percent_mul, MAX_UINT256, 2),
        (percent_mul_floor, MAX_UINT256, 2),
        (percent_mul_ceil, MAX_UINT256, 2),
        (percent_div, MAX_UINT256, 1),
        (percent_div_floor, MAX_UINT256, 1),
        (percent_div_ceil, MAX_UINT256, 1),
    ],
)
def test_aave_math_overflow_raises_where_the_contract_reverts(
    function: Callable[[int, int], int], a: int, b: int
) -> None:
    """An intermediate beyond uint256 raises OverflowError, as the assembly reverts."""
    with pytest.raises(OverflowError):
        function(a, b)


@pytest.mark.parametrize(
    "function",
    [
        wad_div,
        ray_div,
        ray_div_floor,
        ray_div_ceil,
        percent_div,
        percent_div_floor,
        percent_div_ceil,
    ],
)
def test_aave_division_by_zero_raises(function: Callable[[int, int], int]) -> None:
    """Dividing by zero raises, as the contract reverts (test_*_revertOnDivByZero)."""
    with pytest.raises(ZeroDivisionError):
        function(100, 0)


def test_wad_to_ray_overflow_raises() -> None:
    """wadToRay(type(uint256).max) reverts (test_wadToRay_revertOnOverflow)."""
    with pytest.raises(OverflowError):
        wad_to_ray(MAX_UINT256)


@given(a=uint256, b=uint256)
def test_wad_mul_matches_aave_fuzz_oracle(a: int, b: int) -> None:
    """wadMul reverts iff a > (max − HALF_WAD) / b, else is (a·b + HALF_WAD) / WAD."""
    if b != 0 and a > (MAX_UINT256 - HALF_WAD) // b:
        with pytest.raises(OverflowError):
            wad_mul(a, b)
    else:
        assert wad_mul(a, b) == (a * b + HALF_WAD) // WAD


@given(a=uint256, b=uint256)
def test_wad_div_matches_aave_fuzz_oracle(a: int, b: int) -> None:
    """wadDiv reverts iff b == 0 or a > (max − b/2) / WAD, else is (a·WAD + b/2) / b."""
    if b == 0:
        with pytest.raises(ZeroDivisionError):
            wad_div(a, b)
    elif a > (MAX_UINT256 - b // 2) // WAD:
        with pytest.raises(OverflowError):
            wad_div(a, b)
    else:
        assert wad_div(a, b) == (a * WAD + b // 2) // b


@given(value=uint256, percentage=st.integers(min_value=0, max_value=2**64))
def test_percent_mul_matches_aave_fuzz_oracle(value: int, percentage: int) -> None:
    """percentMul reverts iff value > (max − 0.5e4) / p, else is (v·p + 0.5e4) / 1e4."""
    if percentage != 0 and value > (MAX_UINT256 - HALF_PERCENTAGE_FACTOR) // percentage:
        with pytest.raises(OverflowError):
            percent_mul(value, percentage)
    else:
        assert percent_mul(value, percentage) == (value * percentage + 5_000) // 10_000


# value·percentage stays below 2^256 (no revert): 2^190 · 2^64 = 2^254.
@given(value=st.integers(min_value=0, max_value=2**190), percentage=st.integers(1, 2**64))
def test_floor_half_up_ceil_are_ordered_and_one_apart(value: int, percentage: int) -> None:
    """Floor <= half-up <= ceil, and ceil − floor is 1 exactly when the division is inexact."""
    for floor, half, ceil, exact in (
        (
            percent_mul_floor(value, percentage),
            percent_mul(value, percentage),
            percent_mul_ceil(value, percentage),
            Fraction(value * percentage, 10_000),
        ),
        (
            percent_div_floor(value, percentage),
            percent_div(value, percentage),
            percent_div_ceil(value, percentage),
            Fraction(value * 10_000, percentage),
        ),
        (
            ray_mul_floor(value, percentage),
            ray_mul(value, percentage),
            ray_mul_ceil(value, percentage),
            Fraction(value * percentage, RAY),
        ),
    ):
        assert floor <= exact <= ceil
        assert floor <= half <= ceil
        assert ceil - floor == (0 if exact.denominator == 1 else 1)
        assert abs(half - exact) <= Fraction(1, 2)


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [(Rounding.DOWN, 10), (Rounding.UP, 11), (Rounding.HALF_UP, 11)],
)
def test_mul_div_rounds_as_named(rounding: Rounding, expected: int) -> None:
    """7 × 3 / 2 = 10.5 rounds to 10 down, 11 up and 11 half up."""
    assert mul_div(7, 3, 2, rounding) == expected


def test_mul_div_half_up_rounds_below_half_down() -> None:
    """10 / 3 = 3.33 rounds to 3 half up, 4 up."""
    assert mul_div(10, 1, 3, Rounding.HALF_UP) == 3
    assert mul_div(10, 1, 3, Rounding.UP) == 4


def test_mul_div_rejects_negative_inputs() -> None:
    """On-chain amounts are unsigned: a negative factor raises ValueError."""
    with pytest.raises(ValueError, match="expected a >= 0"):
        mul_div(-1, 3, 2, Rounding.DOWN)


def test_generic_wad_ray_helpers_take_a_rounding() -> None:
    """mul_wad/div_wad/mul_ray/div_ray are mul_div with the WAD or RAY scale."""
    assert mul_wad(3, WAD // 2, rounding=Rounding.DOWN) == 1  # 1.5 → 1
    assert mul_wad(3, WAD // 2, rounding=Rounding.UP) == 2
    assert div_wad(1, 3 * WAD, rounding=Rounding.DOWN) == 0  # 1/3 → 0
    assert mul_ray(5, RAY // 2, rounding=Rounding.HALF_UP) == 3  # 2.5 → 3
    assert div_ray(2, 3 * RAY, rounding=Rounding.HALF_UP) == 1  # 0.67 → 1


@pytest.mark.parametrize(
    ("amount", "decimals", "expected"),
    [
        ("1.5", 18, 15 * 10**17),
        (Decimal("2000.123456789"), 6, 2_000_123_456),  # the 7th-9th decimals are dropped
        (Fraction(1, 3), 6, 333_333),
        (7, 8, 7 * 10**8),
    ],
)
def test_to_base_rounds_excess_precision_down(
    amount: str | Decimal | Fraction | int, decimals: int, expected: int
) -> None:
    """to_base is floor(amount × 10**decimals), exact for str, Decimal, Fraction and int."""
    assert to_base(amount, decimals) == expected


def test_to_base_refuses_floats() -> None:
    """A float amount is ambiguous (0.1 is not representable) and raises TypeError."""
    with pytest.raises(TypeError):
        to_base(0.1, 18)  # type: ignore[arg-type]


def test_from_base_is_whole_tokens() -> None:
    """from_base divides by 10**decimals: 1,500,000 base units of a 6-decimal token = 1.5."""
    assert from_base(1_500_000, 6) == 1.5
