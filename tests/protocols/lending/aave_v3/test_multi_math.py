"""Multi-reserve accounts and interest: integer reference math, and the float kernels bound to it.

Expected numbers are hand derivations written in each test, or come from aave-dao/aave-v3-origin
tests named in the docstring.
"""

from __future__ import annotations

import numpy as np
import pytest

from protosim.protocols.lending.aave_v3 import kernels
from protosim.protocols.lending.aave_v3.math import (
    SECONDS_PER_YEAR,
    AccountReserve,
    InterestRates,
    LiquidationReverted,
    ReserveBalance,
    accrue_indexes,
    calculate_compounded_interest,
    calculate_interest_rates,
    calculate_linear_interest,
    liquidate_account,
    user_account_data,
)
from protosim.protocols.lending.aave_v3.multibook import (
    MultiBook,
    put_rows,
    row_sums,
    scale_columns,
)
from protosim.units import RAY

USD = 10**8


def _weth(
    supplied: float = 0, borrowed: float = 0, lt: int = 8_300, lb: int = 10_500
) -> AccountReserve:
    return AccountReserve(
        price=2_000 * USD,
        decimals=18,
        liquidation_threshold_bps=lt,
        liquidation_bonus_bps=lb,
        liquidation_protocol_fee_bps=1_000,
        supplied=int(supplied * 10**18),
        borrowed=int(borrowed * 10**18),
    )


def _stable(supplied: float = 0, borrowed: float = 0) -> AccountReserve:
    return AccountReserve(
        price=USD,
        decimals=6,
        liquidation_threshold_bps=7_800,
        liquidation_bonus_bps=10_450,
        liquidation_protocol_fee_bps=1_000,
        supplied=int(supplied * 10**6),
        borrowed=int(borrowed * 10**6),
    )


def test_linear_interest_matches_aave_math_utils_test() -> None:
    """MathUtils.t.sol test_calculateLinearInterest: 8 % for 7 years is exactly 1.56 RAY."""
    assert calculate_linear_interest(8 * RAY // 100, 7 * SECONDS_PER_YEAR) == 156 * RAY // 100


def test_compounded_interest_within_aave_tolerance_of_exp() -> None:
    """MathUtils.t.sol test_calculateCompoundInterest_1: 8 %, 7 years within 0.3 % of e^0.56."""
    got = calculate_compounded_interest(8 * RAY // 100, 7 * SECONDS_PER_YEAR)
    assert abs(got / 1.750672500296101082549976435e27 - 1) < 0.003
    # Hand: 1 + 0.56 + 0.56 · (0.28 + 0.56 · 0.56 / 6) = 1.746069333…
    assert got == 1_746_069_333_333_333_333_333_333_333


def test_compounded_interest_of_zero_time_is_one() -> None:
    """MathUtils.t.sol test_calculateCompoundInterest_edge: no time elapsed gives 1 RAY."""
    assert calculate_compounded_interest(8 * RAY // 100, 0) == RAY


def test_float_compounded_interest_matches_reference() -> None:
    """The float factor agrees with the integer one to 1e-12 relative for hours to years."""
    for rate_bps in (1, 650, 5_000, 30_000):
        for dt in (12, 3_600, 86_400, SECONDS_PER_YEAR):
            ref = calculate_compounded_interest(rate_bps * 10**23, dt) / RAY
            got = float(kernels.compounded_interest(rate_bps / 10_000, dt))
            assert got == pytest.approx(ref, rel=1e-12)


def test_rates_at_optimal_usage_are_base_plus_slope1() -> None:
    """RateStrategy.calculateRates.t.sol test_calculate_rates_80_percent_usage: at the optimal
    usage (80 %) the borrow rate is base + slope1; liquidity = borrow · U · (1 − RF).
    Here base 1 %, slope1 4 %, RF 10 %: borrow 5 %, liquidity 5 % · 0.8 · 0.9 = 3.6 %."""
    r = calculate_interest_rates(
        total_debt=800 * 10**6,
        available_liquidity=200 * 10**6,
        optimal_usage_bps=8_000,
        base_rate_bps=100,
        slope1_bps=400,
        slope2_bps=6_000,
        reserve_factor_bps=1_000,
    )
    assert r.variable_borrow_rate == 5 * RAY // 100
    assert r.liquidity_rate == 36 * RAY // 1_000


def test_rates_at_full_usage_are_base_plus_both_slopes() -> None:
    """RateStrategy.calculateRates.t.sol test_calculate_rates_100_percent_usage: at 100 %
    usage the borrow rate is base + slope1 + slope2 (1 % + 4 % + 60 % = 65 %)."""
    r = calculate_interest_rates(
        total_debt=10**6,
        available_liquidity=0,
        optimal_usage_bps=8_000,
        base_rate_bps=100,
        slope1_bps=400,
        slope2_bps=6_000,
        reserve_factor_bps=1_000,
    )
    assert r.variable_borrow_rate == 65 * RAY // 100


def test_rates_without_debt_are_base_and_zero() -> None:
    """RateStrategy.calculateRates.t.sol test_calculate_rates_empty_reserve: no debt gives
    liquidity rate 0 and borrow rate = base."""
    r = calculate_interest_rates(
        total_debt=0,
        available_liquidity=10**6,
        optimal_usage_bps=8_000,
        base_rate_bps=100,
        slope1_bps=400,
        slope2_bps=6_000,
        reserve_factor_bps=1_000,
    )
    assert (r.liquidity_rate, r.variable_borrow_rate) == (0, RAY // 100)


@pytest.mark.parametrize("usage", [0.0, 0.3, 0.8, 0.85, 0.99, 1.0])
def test_float_rates_match_reference(usage: float) -> None:
    """The float strategy agrees with the integer one to 1e-12 relative at any usage."""
    total = 10**12
    debt = round(total * usage)
    kw = {"optimal_usage_bps": 9_000, "base_rate_bps": 0, "slope1_bps": 650, "slope2_bps": 6_000}
    ref = calculate_interest_rates(
        total_debt=debt, available_liquidity=total - debt, reserve_factor_bps=1_000, **kw
    )
    liq, bor = kernels.interest_rates(
        float(debt),
        float(total - debt),
        optimal_usage=0.9,
        base_rate=0.0,
        slope1=0.065,
        slope2=0.6,
        reserve_factor=0.1,
    )
    assert bor == pytest.approx(ref.variable_borrow_rate / RAY, rel=1e-12, abs=1e-18)
    assert liq == pytest.approx(ref.liquidity_rate / RAY, rel=1e-12, abs=1e-18)


def test_indexes_never_fall() -> None:
    """Accrual only grows the liquidity and borrow indexes (rates ≥ 0)."""
    li, bi = RAY, RAY
    for dt in (1, 12, 3_600, 86_400):
        new_li, new_bi = accrue_indexes(li, bi, InterestRates(RAY // 50, RAY // 10), dt)
        assert new_li >= li
        assert new_bi >= bi
        li, bi = new_li, new_bi
    assert bi > li  # compounded borrow at 10 % outgrows linear supply at 2 %


def test_v33_close_factor_caps_at_half_of_total_debt_across_reserves() -> None:
    """v3.3: with HF > 0.95 and both reserves ≥ $2,000, at most half the *total* debt goes.

    10 WETH ($20,000; LT 83 %) against 12,000 USDC and 6,000 USDT: HF = 16,600 / 18,000 =
    0.9222 ≤ 0.95 → 100 %. Make it 10 WETH against 14,000 USDC + 3,000 USDT: HF = 16,600 /
    17,000 = 0.9765 > 0.95; USDC ($14,000) > half of $17,000 = $8,500, so 8,500 USDC may go
    (not 50 % of 14,000 = 7,000 as v3.0 would allow): seized 8500 / 2000 × 1.05 = 4.4625
    WETH."""
    r = {
        "WETH": _weth(supplied=10),
        "USDC": _stable(borrowed=14_000),
        "USDT": _stable(borrowed=3_000),
    }
    out = liquidate_account(r, "WETH", "USDC", "v3.3")
    assert out.outcome.debt_repaid == 8_500 * 10**6
    assert out.outcome.collateral_seized_total == 4_462_500_000_000_000_000
    v30 = liquidate_account(r, "WETH", "USDC", "v3.0")
    assert v30.outcome.debt_repaid == 7_000 * 10**6


def test_v33_small_reserve_debt_is_fully_liquidatable() -> None:
    """v3.3: a debt reserve worth less than half the total debt is not capped.

    10 WETH against 14,000 USDC + 3,000 USDT (HF 0.9765), repaying USDT: $3,000 ≤ $8,500,
    so all 3,000 USDT go: 3000 / 2000 × 1.05 = 1.575 WETH."""
    r = {
        "WETH": _weth(supplied=10),
        "USDC": _stable(borrowed=14_000),
        "USDT": _stable(borrowed=3_000),
    }
    out = liquidate_account(r, "WETH", "USDT", "v3.3")
    assert out.outcome.debt_repaid == 3_000 * 10**6
    assert out.outcome.collateral_seized_total == 1_575_000_000_000_000_000


def test_v33_no_collateral_left_burns_every_debt_into_deficits() -> None:
    """v3.3 _burnBadDebt: seizing the last collateral burns the rest of *all* debts.

    1 WETH ($2,000) against 1,900 USDC + 500 USDT: HF = 1660 / 2400 = 0.69. Repaying USDC
    (100 % close factor, HF ≤ 0.95): 1900 / 2000 × 1.05 = 0.9975 WETH ≤ 1, then 100 USDC
    would be left… so pick 2,100 USDC: 2100 × 1.05 / 2000 = 1.1025 WETH > 1 → all 1 WETH for
    2000 / 1.05 = 1,904.761905 USDC; 195.238095 USDC and all 500 USDT become deficits."""
    r = {"WETH": _weth(supplied=1), "USDC": _stable(borrowed=2_100), "USDT": _stable(borrowed=500)}
    out = liquidate_account(r, "WETH", "USDC", "v3.3")
    assert out.outcome.debt_repaid == 1_904_761_905
    assert out.deficit == {"USDC": 195_238_095, "USDT": 500 * 10**6}
    assert out.borrowed == {"WETH": 0, "USDC": 0, "USDT": 0}
    v30 = liquidate_account(r, "WETH", "USDC", "v3.0")
    assert v30.deficit == {}
    assert v30.borrowed["USDT"] == 500 * 10**6


def test_other_collateral_prevents_the_deficit() -> None:
    """v3.3: seizing all of one collateral while another remains creates no deficit."""
    r = {
        "WETH": _weth(supplied=1),
        "USDC": _stable(supplied=10, borrowed=2_100),
        "USDT": _stable(borrowed=500),
    }
    out = liquidate_account(r, "WETH", "USDC", "v3.3")
    assert out.deficit == {}
    assert out.borrowed["USDT"] == 500 * 10**6


def test_emode_threshold_keeps_an_account_healthy() -> None:
    """E-mode LT 95 % on WETH collateral: 1 WETH against 1,800 of WETH-priced debt is safe
    (HF 1900 / 1800 = 1.056) though the reserve LT (83 %: 1660 / 1800) says liquidatable."""
    debt = AccountReserve(
        price=2_000 * USD, decimals=18, liquidation_threshold_bps=0, borrowed=9 * 10**17
    )
    emode = {"WETH": _weth(supplied=1, lt=9_500, lb=10_100), "ETHX": debt}
    with pytest.raises(LiquidationReverted, match="HealthFactorNotBelowThreshold"):
        liquidate_account(emode, "WETH", "ETHX", "v3.3")
    plain = {"WETH": _weth(supplied=1), "ETHX": debt}
    assert liquidate_account(plain, "WETH", "ETHX", "v3.3").outcome.debt_repaid > 0


# -- differential: vectorized book + kernel vs the integer reference ---------------------------

COLL = [("WETH", 18, 2_000.0), ("WBTC", 8, 60_000.0), ("wstETH", 18, 2_400.0)]
DEBT = [("USDC", 6, 1.0), ("USDT", 6, 1.0)]
LT = [8_300, 7_800, 8_100]
LB = [10_500, 10_500, 10_600]
EMODE_LT = [9_500, 0, 9_500]  # category 1 covers WETH and wstETH
EMODE_LB = [10_100, 0, 10_100]


def _random_accounts(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Integer balances (base units), prices (8 decimals) and e-modes of n random accounts."""
    coll_usd = rng.uniform(500, 200_000, n)
    weights = rng.dirichlet(np.ones(3), n) * (rng.random((n, 3)) > 0.3)
    weights[weights.sum(axis=1) == 0, 0] = 1.0
    weights /= weights.sum(axis=1, keepdims=True)
    prices_c = np.array([p for _, _, p in COLL]) * rng.uniform(0.6, 1.4, 3)
    prices_c = np.round(prices_c * USD).astype(np.int64)
    emode = (rng.random(n) < 0.3).astype(np.int64)
    hf = rng.uniform(0.5, 1.1, n)
    supplied = np.zeros((n, 3), dtype=object)
    for j, (_, dec, _) in enumerate(COLL):
        tokens = coll_usd * weights[:, j] / (prices_c[j] / USD)
        supplied[:, j] = [int(t * 10**dec) for t in tokens]
    lt = np.where(emode[:, None] == 1, np.where(np.array(EMODE_LT) > 0, EMODE_LT, LT), LT)
    debt_usd = (coll_usd[:, None] * weights * lt / 10_000).sum(axis=1) / hf
    split = rng.uniform(0.2, 1.0, n)
    borrowed = np.zeros((n, 2), dtype=object)
    borrowed[:, 0] = [int(x * 10**6) for x in debt_usd * split]
    borrowed[:, 1] = [int(x * 10**6) for x in debt_usd * (1 - split)]
    return {"supplied": supplied, "borrowed": borrowed, "prices_c": prices_c, "emode": emode}


def _reference(acc: dict[str, np.ndarray], i: int, ci: int, di: int, rules: str):
    reserves = {}
    for j, (name, dec, _) in enumerate(COLL):
        em = acc["emode"][i] == 1 and EMODE_LT[j] > 0
        reserves[name] = AccountReserve(
            price=int(acc["prices_c"][j]),
            decimals=dec,
            liquidation_threshold_bps=EMODE_LT[j] if em else LT[j],
            liquidation_bonus_bps=EMODE_LB[j] if em else LB[j],
            liquidation_protocol_fee_bps=0 if rules == "v2" else 1_000,
            supplied=int(acc["supplied"][i, j]),
        )
    for j, (name, dec, _) in enumerate(DEBT):
        reserves[name] = AccountReserve(
            price=USD,
            decimals=dec,
            liquidation_threshold_bps=0,
            borrowed=int(acc["borrowed"][i, j]),
        )
    try:
        return liquidate_account(reserves, COLL[ci][0], DEBT[di][0], rules)
    except LiquidationReverted:
        return None


@pytest.mark.parametrize("rules", ["v3.3", "v3.0", "v2"])
def test_vectorized_multi_liquidation_matches_reference(rules: str) -> None:
    """Book valuation + `liquidate_accounts` agree with `math.liquidate_account` to 1e-9
    relative on 150 random 3-collateral, 2-debt accounts (e-mode or not), for every pair."""
    rng = np.random.default_rng(7)
    n = 150
    acc = _random_accounts(rng, n)
    dec_c = np.array([10.0**d for _, d, _ in COLL])
    supplied = acc["supplied"].astype(np.float64) / dec_c
    borrowed = acc["borrowed"].astype(np.float64) / 1e6
    book = MultiBook([c[0] for c in COLL], [d[0] for d in DEBT])
    mask = ((supplied > 0) * (1 << np.arange(3))).sum(axis=1).astype(np.uint8)
    bits = ((np.arange(256)[:, None] >> np.arange(3)) & 1).astype(np.float64)
    lt_cat = np.array([LT, [e or b for e, b in zip(EMODE_LT, LT, strict=True)]]) / 10_000
    lb_cat = np.array([LB, [e or b for e, b in zip(EMODE_LB, LB, strict=True)]]) / 10_000
    lt_table = lt_cat[:, None, :] * bits[None]
    pc = acc["prices_c"] / USD
    pd = np.ones(2)
    rows = np.arange(n, dtype=np.int64)
    book.set_thresholds(lt_table)
    book.append(supplied, borrowed, acc["emode"].astype(np.uint8), mask)
    _, weighted, debt_usd = book.values(rows, pc, pd)
    hf = book.health(weighted, debt_usd)
    checked = 0
    for ci in range(3):
        for di in range(2):
            value = supplied * pc
            other = np.delete(value, ci, axis=1).sum(axis=1)
            batch, _ = kernels.liquidate_accounts(
                supplied[:, ci],
                borrowed[:, di],
                pc[ci],
                1.0,
                other_collateral_usd=other,
                total_debt_usd=debt_usd,
                health=hf,
                collateral_enabled=supplied[:, ci] > 0,
                liquidation_bonus=lb_cat[acc["emode"], ci],
                protocol_fee=0.0 if rules == "v2" else 0.1,
                rules=rules,
            )
            for i in range(n):
                ref = _reference(acc, i, ci, di, rules)
                before = _reference_hf(acc, i)
                assert hf[i] == pytest.approx(before, rel=1e-9)
                if abs(before - 1.0) < 1e-9:
                    continue  # within rounding of the line: either answer is right
                if ref is None:
                    assert not batch.executed[i]
                    continue
                assert batch.executed[i]
                out = ref.outcome
                unit_d = 10 ** DEBT[di][1]
                unit_c = 10 ** COLL[ci][1]
                assert batch.debt_repaid[i] == pytest.approx(
                    out.debt_repaid / unit_d, rel=1e-9, abs=2 / unit_d
                )
                # A debt base unit of rounding (close factor, half up) moves the seizure by
                # its collateral worth.
                slack = 2 / unit_c + 2 / unit_d / pc[ci] * 1.2
                assert batch.collateral_seized[i] == pytest.approx(
                    out.collateral_seized_total / unit_c, rel=1e-9, abs=slack
                )
                checked += 1
    assert checked > 150


def _reference_hf(acc: dict[str, np.ndarray], i: int) -> float:
    balances = []
    for j, (_, dec, _) in enumerate(COLL):
        em = acc["emode"][i] == 1 and EMODE_LT[j] > 0
        balances.append(
            ReserveBalance(
                price=int(acc["prices_c"][j]),
                decimals=dec,
                liquidation_threshold_bps=EMODE_LT[j] if em else LT[j],
                supplied=int(acc["supplied"][i, j]),
            )
        )
    for j, (_, dec, _) in enumerate(DEBT):
        balances.append(
            ReserveBalance(
                price=USD,
                decimals=dec,
                liquidation_threshold_bps=0,
                borrowed=int(acc["borrowed"][i, j]),
            )
        )
    return user_account_data(balances).health_factor / 1e18


def _screening_book(rng: np.random.Generator, n: int) -> MultiBook:
    book = MultiBook(["A", "B", "C"], ["X", "Y"], capacity=n)
    bits = ((np.arange(256)[:, None] >> np.arange(3)) & 1).astype(np.float64)
    book.set_thresholds(np.array([0.78, 0.8, 0.83])[None, None, :] * bits[None])
    supplied = rng.uniform(0.0, 2.0, (n, 3)) * (rng.random((n, 3)) < 0.8)
    borrowed = rng.uniform(0.0, 40_000.0, (n, 2)) * (rng.random((n, 2)) < 0.8)
    mask = ((supplied > 0) * (1 << np.arange(3))).sum(axis=1).astype(np.uint8)
    book.append(supplied, borrowed, 0, mask)
    return book


def test_screening_bound_holds_for_accounts_changed_since_the_reference() -> None:
    """HF_now >= HF_ref * min collateral ratio / max debt ratio (multibook docstring): every
    account whose contract HF is below 1 after prices move is in the band, including accounts
    whose balances changed after the reference (touched: re-referenced at its units)."""
    rng = np.random.default_rng(11)
    n = 2_000
    book = _screening_book(rng, n)
    cu0, du0 = np.array([2_000.0, 60_000.0, 2_400.0]), np.array([1.0, 1.0])
    book.reference(book.fast_health(None, cu0, du0), cu0, du0)
    changed = rng.choice(n, size=n // 4, replace=False).astype(np.int64)
    book.supplied[changed] *= rng.uniform(0.0, 1.0, (changed.size, 3))
    book.borrowed[changed] *= rng.uniform(1.0, 3.0, (changed.size, 2))
    book.refresh(changed)
    book.touch(changed)
    cu1 = cu0 * np.array([0.7, 0.9, 0.75])
    du1 = du0 * np.array([1.0, 1.02])
    threshold = (du1 / du0).max() / (cu1 / cu0).min()
    band = book.band(threshold * (1.0 + book.margin))
    truth = np.flatnonzero(book.exact_health(np.arange(n, dtype=np.int64), cu1, du1) < 1.0)
    assert truth.size > 100  # the move pushes many below 1, changed ones among them
    assert np.isin(changed, truth).any()
    assert np.isin(truth, band).all()
    found, _ = book.below_one(band, cu1, du1)
    np.testing.assert_array_equal(np.sort(found), truth)


def test_near_copy_gives_the_books_answers_through_touches_inside_and_outside_it() -> None:
    """The contiguous copy of the rows near the line changes no answer: the band is exactly the
    rows whose reference HF is below the threshold, and HFs and valuations equal those of the
    same book without a reference (no copy), after writes to rows inside the copy and to rows
    outside it that the write brings near the line."""
    rng = np.random.default_rng(23)
    n = 2_000
    book = _screening_book(rng, n)
    twin = _screening_book(np.random.default_rng(23), n)  # same draws, never referenced
    cu0, du0 = np.array([2_000.0, 60_000.0, 2_400.0]), np.array([1.0, 1.0])
    cu1, du1 = cu0 * np.array([0.8, 0.85, 0.8]), du0 * 1.01
    book.reference(book.fast_health(None, cu0, du0), cu0, du0)

    def write(rows: np.ndarray, supplied_factor: float, borrowed_factor: float) -> None:
        for b in (book, twin):
            b.supplied[rows] *= supplied_factor
            b.borrowed[rows] *= borrowed_factor
            b.refresh(rows)
            b.touch(rows)

    def check(threshold: float) -> None:
        band = book.band(threshold)
        truth = np.flatnonzero(book.hf_ref[:n] < threshold)
        np.testing.assert_array_equal(np.sort(band), truth)
        assert band.size > 20
        np.testing.assert_array_equal(
            book.fast_health(band, cu1, du1), twin.fast_health(band, cu1, du1)
        )
        mine, theirs = book.valuation(band, cu1, du1), twin.valuation(band, cu1, du1)
        for name in ("supplied", "borrowed", "collateral_usd", "debt_usd", "health"):
            np.testing.assert_array_equal(getattr(mine, name), getattr(theirs, name))
        np.testing.assert_array_equal(
            book.below_one(band, cu1, du1)[0], twin.below_one(band, cu1, du1)[0]
        )

    check(1.05)
    assert book._near is not None  # the copy is in use
    assert book._near.rows.size < n // 2
    inside = book._near.rows[::3].copy()
    write(inside, 0.5, 1.0)  # liquidated: their reference HF rises, they stay in the copy
    check(1.05)
    outside = np.flatnonzero(book.hf_ref[:n] > 1.5)[:5]
    write(outside, 1.0, 4.0)  # now near the line: the copy cannot answer for them as it was
    check(1.05)
    check(1.2)  # beyond the copy's bound: rebuilt


def test_below_one_orders_most_underwater_first_with_ties_by_row() -> None:
    """`below_one` returns accounts by fast HF ascending and, for equal HF, by row, whatever
    order they are asked in: rows 3 and 1 hold the same balances."""
    book = MultiBook(["A"], ["X"])
    bits = ((np.arange(256)[:, None] >> np.arange(1)) & 1).astype(np.float64)
    book.set_thresholds(np.array([0.8])[None, None, :] * bits[None])
    # HF = 0.8 * s / b: 0.96, 0.4, 1.6, 0.4, 0.2
    book.append(
        np.array([[1.2], [1.0], [2.0], [1.0], [0.5]]),
        np.array([[1.0], [2.0], [1.0], [2.0], [2.0]]),
        0,
        1,
    )
    rows, hf = book.below_one(None, np.array([1.0]), np.array([1.0]))
    assert rows.tolist() == [4, 1, 3, 0]
    np.testing.assert_allclose(hf, [0.2, 0.4, 0.4, 0.96])
    # The same whatever order the rows are asked in (a band comes in the near copy's order).
    shuffled = np.array([3, 0, 4, 2, 1], dtype=np.int64)
    assert book.below_one(shuffled, np.array([1.0]), np.array([1.0]))[0].tolist() == [4, 1, 3, 0]


def test_kept_valuation_never_outlives_a_change_to_the_book_or_the_prices() -> None:
    """What `below_one` valued is reused for a subset of its accounts only while the book and
    the units are unchanged: the kept fields equal a fresh valuation of the subset; after a
    liquidation-like write (then `touch`), or at other prices, the subset is valued anew."""
    rng = np.random.default_rng(5)
    book = _screening_book(rng, 50)
    cu, du = np.array([2_000.0, 60_000.0, 2_400.0]), np.array([1.0, 1.0])
    found, _ = book.below_one(None, cu, du)
    assert found.size > 4
    sub = found[::-3]
    kept, at = book.valued(sub, cu, du)
    assert at is not None
    fresh = book.valuation(sub, cu, du)
    for name in ("supplied", "borrowed", "collateral_usd", "health"):
        np.testing.assert_array_equal(kept.pick(name, at), getattr(fresh, name))
    for column in range(3):
        np.testing.assert_array_equal(
            kept.other_collateral_usd(at, column), fresh.other_collateral_usd(None, column)
        )
    whole, at_whole = book.valued(found.copy(), cu, du)
    assert whole is kept  # all of them, in their order: no gather
    assert at_whole is None
    assert book.valued(sub, cu * 0.9, du)[1] is None
    book.supplied[sub, 0] = 0.0
    book.refresh(sub)
    book.touch(sub)
    after, at = book.valued(sub, cu, du)
    assert at is None
    np.testing.assert_array_equal(after.supplied[:, :3], book.supplied[sub])


def test_kept_positions_from_the_caller_are_used_only_while_right() -> None:
    """`valued(rows, kept_at=...)` serves `rows` from the kept valuation at the caller's
    positions among the accounts `below_one` found when those positions hold exactly `rows`
    and no row changed since; wrong, out-of-range or stale positions give what the book's own
    look-up gives."""
    rng = np.random.default_rng(6)
    book = _screening_book(rng, 80)
    cu, du = np.array([2_000.0, 60_000.0, 2_400.0]), np.array([1.0, 1.0])
    found, _ = book.below_one(None, cu, du)
    assert found.size > 6
    at = np.arange(1, found.size, 2)
    sub = found[at]
    looked_up = book.valued(sub, cu, du)
    kept, given = book.valued(sub, cu, du, at)
    assert kept is looked_up[0]
    assert given is at  # taken as given, not looked up
    np.testing.assert_array_equal(looked_up[1], at)
    for wrong in (at[::-1].copy(), at - 1, np.append(at[:-1], found.size)):
        valued, where = book.valued(sub, cu, du, wrong)
        assert valued is kept
        np.testing.assert_array_equal(where, at)
    # A liquidation-like change to another kept row: the given positions are not trusted.
    other = found[:1]
    book.supplied[other, 0] *= 0.5
    book.changed(other)
    valued, where = book.valued(sub, cu, du, at)
    assert where is not at
    np.testing.assert_array_equal(where, at)  # the look-up finds them in the same places


_UNITS = (
    np.array([2_000.0, 60_000.0, 2_400.0]),
    np.array([1.0, 1.0]),
    np.array([2_000.0, 60_000.0, 2_400.0]) * np.array([0.8, 0.85, 0.8]),
    np.array([1.0, 1.0]) * 1.01,
)
"""Units at the reference, then after a fall of the collateral and a rise of the debt."""


def _referenced_twins(seed: int, n: int = 2_000) -> tuple[MultiBook, MultiBook]:
    """Two screening books of the same draws, each referenced at the first units."""
    return _referenced_book(seed, n), _referenced_book(seed, n)


def test_band_positions_spare_a_lookup_and_change_no_answer() -> None:
    """`band_positions` gives the band and where its rows are in the near copy; `below_one`
    given those positions finds the same accounts in the same order, and keeps the same
    valuation, as when it looks the positions up itself."""
    n = 2_000
    book, twin = _referenced_twins(31, n)
    cu1, du1 = _UNITS[2:]
    rows, at = book.band_positions(1.05)
    assert at is not None
    assert book._near is not None
    np.testing.assert_array_equal(book._near.rows[at], rows)
    np.testing.assert_array_equal(np.sort(rows), np.flatnonzero(twin.hf_ref[:n] < 1.05))
    mine, hf_mine = book.below_one(rows, cu1, du1, positions=at)
    theirs, hf_theirs = twin.below_one(rows, cu1, du1)
    assert mine.size > 20
    np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(hf_mine, hf_theirs)
    kept, _ = book.valued(mine, cu1, du1)
    fresh = twin.valuation(mine, cu1, du1)
    for name in ("supplied", "borrowed", "enabled", "collateral_usd", "debt_usd", "health"):
        np.testing.assert_array_equal(getattr(kept, name), getattr(fresh, name))


def test_take_fresh_returns_the_touched_rows_sorted_once_each() -> None:
    """`take_fresh` is ``np.unique`` of every row touched since the last call, for a few rows
    (sorted) and for many (the mask over the book), then empty."""
    rng = np.random.default_rng(3)
    book = _screening_book(rng, 2_000)
    book.take_fresh()
    for size in (1, 7, 40, 1_500):
        touched = [rng.integers(0, 2_000, size).astype(np.int64) for _ in range(3)]
        for rows in touched:
            book.touch(rows)
        np.testing.assert_array_equal(book.take_fresh(), np.unique(np.concatenate(touched)))
        assert book.take_fresh().size == 0


def test_valuation_pick_of_a_column_equals_the_column_of_the_rows() -> None:
    """`Valuation.pick` of one column at some positions is that column of those rows."""
    rng = np.random.default_rng(8)
    book = _screening_book(rng, 200)
    cu, du = np.array([2_000.0, 60_000.0, 2_400.0]), np.array([1.0, 1.0])
    valued = book.valuation(np.arange(200, dtype=np.int64), cu, du)
    at = np.array([5, 0, 199, 5, 42], dtype=np.intp)
    for name, width in (("supplied", 3), ("borrowed", 2), ("enabled", 3)):
        for column in range(width):
            np.testing.assert_array_equal(
                valued.pick(name, at, column), getattr(valued, name)[:, column][at]
            )


def _liquidate_accounts_reference(
    c: np.ndarray,
    d: np.ndarray,
    pc: float,
    pd: float,
    other: np.ndarray,
    total: np.ndarray,
    hf: np.ndarray,
    enabled: np.ndarray,
    lb: np.ndarray,
    fee_share: float,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    # The v3.3 rules as one expression per quantity (the kernel evaluates them in place).
    executed = (hf < 1.0) & (c > 0.0) & enabled & (d > 0.0)
    half_total = 0.5 * total
    capped = (c * pc >= 2_000.0) & (d * pd >= 2_000.0) & (hf > 0.95) & (d * pd > half_total)
    offered = np.minimum(np.inf, np.where(capped, half_total / pd, d))
    with np.errstate(divide="ignore", invalid="ignore"):
        max_collateral = offered * pd / pc * lb
        limited = max_collateral > c
        seized = np.where(limited, c, max_collateral)
        repaid = np.where(limited, c * pc / pd / lb, offered)
    fee = (seized - seized / lb) * fee_share
    partial = (repaid < d) & (seized < c)
    enough = ((d - repaid) * pd >= 1_000.0) & ((c - seized) * pc >= 1_000.0)
    executed &= ~partial | enough
    gone = executed & (seized >= c) & (other <= 0.0)
    out = {
        "debt_repaid": np.where(executed, repaid, 0.0),
        "collateral_seized": np.where(executed, seized, 0.0),
        "collateral_to_liquidator": np.where(executed, seized - fee, 0.0),
        "protocol_fee": np.where(executed, fee, 0.0),
        "deficit": np.where(executed, np.where(gone, d - repaid, 0.0), 0.0),
        "bad_debt": np.zeros_like(c),
        "executed": executed,
    }
    return out, gone


def test_liquidate_accounts_equals_the_rules_written_as_expressions() -> None:
    """The in-place evaluation in `kernels.liquidate_accounts` gives, bit for bit, the v3.3
    rules written one expression per quantity, with calls that revert (HF >= 1, no collateral
    or debt, disabled collateral, dust) among them."""
    rng = np.random.default_rng(17)
    k = 4_000
    c = rng.uniform(0.0, 5.0, k) * (rng.random(k) < 0.95)
    d = rng.uniform(0.0, 8_000.0, k) * (rng.random(k) < 0.95)
    other = rng.uniform(0.0, 3_000.0, k) * (rng.random(k) < 0.5)
    total = d * rng.uniform(1.0, 2.5, k)
    hf = rng.uniform(0.5, 1.05, k)
    enabled = rng.random(k) < 0.95
    lb = rng.choice([1.05, 1.075, 1.1], k)
    batch, gone = kernels.liquidate_accounts(
        c,
        d,
        1_900.0,
        1.0002,
        other_collateral_usd=other,
        total_debt_usd=total,
        health=hf,
        collateral_enabled=enabled,
        liquidation_bonus=lb,
        protocol_fee=0.1,
        rules="v3.3",
    )
    expected, expected_gone = _liquidate_accounts_reference(
        c, d, 1_900.0, 1.0002, other, total, hf, enabled, lb, 0.1
    )
    assert 0 < int(batch.executed.sum()) < k
    assert gone.any()
    for name, values in expected.items():
        np.testing.assert_array_equal(getattr(batch, name), values, err_msg=name)
    np.testing.assert_array_equal(gone, expected_gone)


def test_kept_valuation_outlives_changes_to_other_rows_only() -> None:
    """After a liquidation-like write to some kept rows (`changed`), the kept valuation still
    answers for the other kept rows, equal to a fresh valuation of them, and the written rows
    are valued anew; a later risk check's valuation replaces it (the earlier one's rows that
    are not in the new one are valued anew)."""
    rng = np.random.default_rng(41)
    book = _screening_book(rng, 300)
    cu, du = np.array([2_000.0, 60_000.0, 2_400.0]), np.array([1.0, 1.0])
    found, _ = book.below_one(None, cu, du)
    assert found.size > 20
    written, others = found[::4].copy(), np.setdiff1d(found, found[::4])
    book.supplied[written, 0] *= 0.5
    book.changed(written)
    kept, at = book.valued(others, cu, du)
    assert at is not None  # served from the kept arrays
    fresh = book.valuation(others, cu, du)
    for name in ("supplied", "borrowed", "collateral_usd", "debt_usd", "health"):
        np.testing.assert_array_equal(kept.pick(name, at), getattr(fresh, name))
    anew, at_anew = book.valued(written, cu, du)
    assert at_anew is None
    np.testing.assert_array_equal(anew.supplied[:, :3], book.supplied[written])
    assert book.valued(found, cu, du)[1] is None  # not whole any more
    # A new check keeps its own rows: the earlier slots no longer count.
    book.below_one(others[:5], cu, du)
    assert book.valued(others[5:10], cu, du)[1] is None
    assert book.valued(others[:3], cu, du)[1] is not None


def test_changed_equals_refresh_then_touch_and_keeps_the_near_copy_in_step() -> None:
    """`changed` leaves the book, its near copy (balances, thresholds, reference HF) and every
    answer as `refresh` then `touch` do, also for a row whose collateral bits changed (its
    thresholds in the copy follow)."""
    n = 2_000
    book, twin = _referenced_twins(43, n)
    cu1, du1 = _UNITS[2:]
    for b in (book, twin):
        b.band(1.05)
    assert book._near is not None
    assert twin._near is not None
    rows = book._near.rows[::5].copy()
    for b in (book, twin):
        b.supplied[rows] *= 0.7
        b.enabled[rows[:3]] = 1  # only column A counts now
    book.changed(rows)
    twin.refresh(rows)
    twin.touch(rows)
    np.testing.assert_array_equal(book.weighted[:n], twin.weighted[:n])
    np.testing.assert_array_equal(book.hf_ref[:n], twin.hf_ref[:n])
    near = book._near
    assert near is not None
    assert near.columns.code is not None
    np.testing.assert_array_equal(
        book._thresholds(near.columns, np.arange(near.rows.size)),
        book._thresholds(book._columns(), near.rows),
    )
    band = book.band(1.05)
    for name in ("supplied", "borrowed", "collateral_usd", "debt_usd", "health"):
        np.testing.assert_array_equal(
            getattr(book.valuation(band, cu1, du1), name),
            getattr(twin.valuation(band, cu1, du1), name),
        )
    np.testing.assert_array_equal(book.take_fresh(), twin.take_fresh())


def test_put_rows_and_scale_columns_equal_numpy_indexing_and_broadcasting() -> None:
    """`put_rows` is ``a[at] = values`` (repeated rows: the last wins) and `scale_columns` is
    ``a * unit``, element for element."""
    rng = np.random.default_rng(47)
    a = rng.random((50, 3))
    b = a.copy()
    at = np.array([7, 3, 7, 49, 0])
    values = rng.random((5, 3))
    put_rows(a, at, values)
    b[at] = values
    np.testing.assert_array_equal(a, b)
    flags = np.zeros(10, dtype=np.uint8)
    put_rows(flags, np.array([2, 5]), np.array([1, 3], dtype=np.uint8))
    assert flags.tolist() == [0, 0, 1, 0, 0, 3, 0, 0, 0, 0]
    unit = np.array([2_000.0, 1e-7, 3.3])
    np.testing.assert_array_equal(scale_columns(a, unit), a * unit)


def _referenced_book(seed: int, n: int = 2_000) -> MultiBook:
    """A screening book of seed `seed`, referenced at the first units."""
    book = _screening_book(np.random.default_rng(seed), n)
    book.reference(book.fast_health(None, _UNITS[0], _UNITS[1]), _UNITS[0], _UNITS[1])
    return book


def _same_books(book: MultiBook, twin: MultiBook) -> None:
    n = len(book)
    for name in ("supplied", "borrowed", "weighted", "hf_ref"):
        np.testing.assert_array_equal(getattr(book, name)[:n], getattr(twin, name)[:n])
    assert (book._near is None) == (twin._near is None)
    if book._near is not None and twin._near is not None:
        np.testing.assert_array_equal(book._near.rows, twin._near.rows)
        np.testing.assert_array_equal(book._near.hf_ref, twin._near.hf_ref)
        for name in ("supplied", "borrowed", "weighted", "emode", "enabled", "code"):
            np.testing.assert_array_equal(
                getattr(book._near.columns, name), getattr(twin._near.columns, name)
            )
    np.testing.assert_array_equal(book.take_fresh(), twin.take_fresh())


@pytest.mark.parametrize("where", ["inside", "partly_outside", "pulled_in"])
def test_rebalanced_equals_changed(where: str) -> None:
    """`rebalanced` (a liquidation's new balances, given) leaves the book, its near copy and
    what it remembers as `changed` (every array gathered from the book) does: rows all in the
    near copy, some outside it, and one outside pulled below the copy's bound (dropped)."""
    book, twin = _referenced_book(5), _referenced_book(5)
    for b in (book, twin):
        b.band(1.02)
    near = book._near
    assert near is not None
    inside = near.rows[::7]
    # Rows well above the copy's bound (a quarter of one collateral and half of one debt
    # less leave them above it), holding both debts.
    far = (book.hf_ref[: len(book)] > 4.0) & (book.hf_ref[: len(book)] < 20.0)
    far &= (book.borrowed[: len(book)] > 0).all(axis=1)
    outside = np.flatnonzero(far)[::9]
    assert outside.size > 5
    rows = {
        "inside": inside,
        "partly_outside": np.concatenate([inside, outside]),
        "pulled_in": np.concatenate([inside, outside[:1]]),
    }[where]
    for b in (book, twin):
        b.supplied[rows, 1] *= 0.25
        b.borrowed[rows, 0] *= 0.5
        if where == "pulled_in":
            b.borrowed[rows[-1], :] *= 100.0  # far below the copy's bound now
    book.rebalanced(rows, book.supplied[rows], book.borrowed[rows])
    twin.changed(rows)
    assert (book._near is None) == (where == "pulled_in")
    _same_books(book, twin)
    for b in (book, twin):
        b.band(1.02)
    _same_books(book, twin)


def test_near_copy_weighted_balances_are_the_books() -> None:
    """The near copy computes its weighted balances (balance × threshold) instead of gathering
    them: they equal the book's rows bit for bit, and its thresholds the table's."""
    book = _referenced_book(9)
    book.band(1.05)
    near = book._near
    assert near is not None
    assert near.columns.code is not None
    np.testing.assert_array_equal(near.columns.weighted[:, :3], book.weighted[near.rows])
    np.testing.assert_array_equal(
        near.columns.code, book.emode[near.rows].astype(np.int64) * 256 + book.enabled[near.rows]
    )
    lt = book._thresholds(near.columns, np.arange(near.rows.size))
    np.testing.assert_array_equal(lt[:, :3], book.thresholds(near.rows))
    # The padding column (three reserves are kept four wide) stays zero.
    assert not near.columns.weighted[:, 3:].any()
    assert not lt[:, 3:].any()


def test_columns_at_and_other_collateral_equal_indexing_and_row_sums() -> None:
    """`Valuation.columns_at` is ``field[at, column]`` and `other_collateral_usd` the row sums
    without the column of the rows at `at` (repeated positions, every column)."""
    book = _referenced_book(13, 500)
    valued = book.valuation(np.arange(500, dtype=np.int64), _UNITS[0], _UNITS[1])
    at = np.array([7, 0, 499, 7, 250, 3], dtype=np.intp)
    for column in range(3):
        supplied, enabled = valued.columns_at(at, column, "supplied", "enabled")
        np.testing.assert_array_equal(supplied, valued.supplied[at, column])
        np.testing.assert_array_equal(enabled, valued.enabled[at, column])
        np.testing.assert_array_equal(
            valued.other_collateral_usd(at, column),
            row_sums(valued.collateral_usd[at], skip=column),
        )
    for column in range(2):
        (borrowed,) = valued.columns_at(at, column, "borrowed")
        np.testing.assert_array_equal(borrowed, valued.borrowed[at, column])
        np.testing.assert_array_equal(
            valued.columns_at(None, column, "borrowed")[0], valued.borrowed[:, column]
        )


def _book_of(supplied: np.ndarray, borrowed: np.ndarray, lt: np.ndarray) -> MultiBook:
    """A book of `supplied` (n × C) and `borrowed` with thresholds `lt` (C) for every
    collateral held."""
    c = supplied.shape[1]
    book = MultiBook([f"C{j}" for j in range(c)], ["X", "Y"], capacity=len(supplied))
    bits = ((np.arange(256)[:, None] >> np.arange(c)) & 1).astype(np.float64)
    book.set_thresholds(lt[None, None, :] * bits[None])
    mask = ((supplied > 0) * (1 << np.arange(c))).sum(axis=1).astype(np.uint8)
    book.append(supplied, borrowed, 0, mask)
    return book


@pytest.mark.parametrize("columns", [1, 2, 3, 4, 5])
def test_padded_columns_change_no_value(columns: int) -> None:
    """A book keeps C collateral columns padded to a power of two: its valuations and health
    factors equal those computed from unpadded arrays with numpy directly (products, row sums
    in einsum's order, BLAS's matrix-vector product), and the padding stays zero."""
    rng = np.random.default_rng(60 + columns)
    n = 300
    supplied = rng.uniform(0.0, 2.0, (n, columns)) * (rng.random((n, columns)) < 0.8)
    borrowed = rng.uniform(0.0, 4_000.0, (n, 2))
    lt = rng.uniform(0.5, 0.9, columns)
    book = _book_of(supplied, borrowed, lt)
    cu, du = rng.uniform(500.0, 3_000.0, columns), np.array([1.0, 1.001])
    rows = np.arange(n, dtype=np.int64)
    counts = supplied > 0
    thresholds = np.where(counts, lt, 0.0)
    weighted = supplied * thresholds
    np.testing.assert_array_equal(book.weighted[:n], weighted)
    np.testing.assert_array_equal(book.thresholds(rows), thresholds)
    np.testing.assert_array_equal(
        book.fast_health(rows, cu, du), book.health(weighted @ cu, borrowed @ du)
    )
    value = supplied * cu
    collateral, _, debt = book.values(rows, cu, du)
    np.testing.assert_array_equal(
        collateral, np.einsum("ij,ij->i", value, counts.astype(np.float64))
    )
    np.testing.assert_array_equal(debt, borrowed @ du)
    assert book.totals(cu, du) == (float(collateral.sum()), float(debt.sum()))
    valued = book.valuation(rows, cu, du)
    np.testing.assert_array_equal(valued.supplied[:, :columns], supplied)
    assert not valued.supplied[:, columns:].any()
    assert not book._weighted[:, columns:].any()


def test_a_column_added_past_the_padding_keeps_every_answer() -> None:
    """A fifth collateral column (four are kept four wide, five eight wide) leaves the
    balances, thresholds and health factors of the first four as a book built with five."""
    rng = np.random.default_rng(65)
    n = 200
    supplied = rng.uniform(0.0, 2.0, (n, 5)) * (rng.random((n, 5)) < 0.8)
    supplied[:, 4] = 0.0
    borrowed = rng.uniform(0.0, 4_000.0, (n, 2))
    lt = rng.uniform(0.5, 0.9, 5)
    grown = _book_of(supplied[:, :4], borrowed, lt[:4])
    assert grown.add_column("C4", "collateral") == 4
    bits = ((np.arange(256)[:, None] >> np.arange(5)) & 1).astype(np.float64)
    grown.set_thresholds(lt[None, None, :] * bits[None])
    built = _book_of(supplied, borrowed, lt)
    rows = np.arange(n, dtype=np.int64)
    cu, du = rng.uniform(500.0, 3_000.0, 5), np.ones(2)
    _same_books(grown, built)
    np.testing.assert_array_equal(grown.thresholds(rows), built.thresholds(rows))
    np.testing.assert_array_equal(
        grown.exact_health(rows, cu, du), built.exact_health(rows, cu, du)
    )
    grown.supplied[3, 4] = 1.5  # the new column holds balances like the others
    assert grown.supplied[3, 4] == 1.5
    assert grown._supplied.shape[1] == 8


def test_stable_order_is_a_stable_argsort_of_crowded_keys() -> None:
    """`_stable_order` (radix passes over 32-bit buckets, then timsort) equals
    ``argsort(kind="stable")``: keys crowded just below 1 with a few far below, exact ties
    (kept in their order), one key alone, all keys equal, and an infinite one."""
    from protosim.protocols.lending.aave_v3.multibook import _stable_order

    rng = np.random.default_rng(71)
    crowded = np.concatenate([1.0 - rng.random(20_000) * 3e-3, rng.uniform(0.2, 0.9, 2_000)])
    crowded[rng.integers(0, crowded.size, 500)] = crowded[:500]  # exact ties
    rng.shuffle(crowded)
    cases = [crowded, crowded[:1], np.full(7, 0.5), np.array([0.3, np.inf, 0.1, 0.3])]
    for keys in cases:
        np.testing.assert_array_equal(_stable_order(keys), np.argsort(keys, kind="stable"))
