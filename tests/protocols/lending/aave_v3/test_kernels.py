"""The float64 kernels against the integer reference math, and worked single cases.

Tolerance of the differential tests, derived rather than tuned: the integer path rounds twice
on the debt side (a floor into base currency or base units, then a half-up ``percentDiv`` or
``percentMul``), so its debt amounts can differ from exact arithmetic by up to 1.5 base units of
the debt token; its collateral amounts inherit that (1.5 debt units' worth of collateral) plus
up to 3 wei of their own rounding. Above those absolute floors the agreement is 1e-9 relative.
Whether a call reverts (``executed``) must agree exactly, except for accounts whose answer flips
when their collateral or debt moves by 1e-8 relative (a hair's breadth of HF = 1, HF = 0.95,
$2,000 or $1,000); `test_hair_breadth_below_2000_usd_of_collateral_flips_the_close_factor`
shows such an account.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from protosim.protocols.lending.aave_v3 import kernels
from protosim.protocols.lending.aave_v3.math import (
    LiquidationInput,
    LiquidationReverted,
    LiquidationRules,
    liquidation_call,
)
from protosim.units import MAX_UINT256

V2, V3_0, V3_3 = LiquidationRules.V2, LiquidationRules.V3_0, LiquidationRules.V3_3
COLL_DECIMALS, DEBT_DECIMALS = 18, 6
LT_BPS, LB_BPS, FEE_BPS = 8_300, 10_500, 1_000
N_ACCOUNTS = 20_000
FIELDS = (
    "debt_repaid",
    "collateral_seized",
    "collateral_to_liquidator",
    "protocol_fee",
    "deficit",
    "bad_debt",
)


def _fee_bps(rules: LiquidationRules) -> int:
    return 0 if rules is V2 else FEE_BPS


class Book:
    """A random single-pair book, held both as integers (base units) and as float64 tokens."""

    def __init__(self, seed: int, n: int, *, partial: bool) -> None:
        rng = np.random.default_rng(seed)
        self.partial = partial
        self.pc_int = round(float(rng.uniform(1_500.0, 4_000.0)) * 1e8)  # 8-decimal USD
        self.pd_int = 99_987_654  # $0.99987654: keeps debt values off round numbers
        self.pc, self.pd = self.pc_int / 1e8, self.pd_int / 1e8
        collateral_usd = 10.0 ** rng.uniform(1.0, 7.0, n)  # $10 .. $10M
        hf = rng.uniform(0.5, 1.2, n)
        self.c_int = [int(x) for x in np.floor(collateral_usd / self.pc * 1e18)]
        self.d_int = [int(x) for x in np.floor(collateral_usd * 0.83 / hf / self.pd * 1e6)]
        self.c = np.array([x / 10**COLL_DECIMALS for x in self.c_int])
        self.d = np.array([x / 10**DEBT_DECIMALS for x in self.d_int])
        if partial:
            fraction = rng.uniform(0.0, 1.2, n)
            self.cover_int = [int(x * f) for x, f in zip(self.d_int, fraction, strict=True)]
        else:
            self.cover_int = [MAX_UINT256] * n
        self.cover = np.array(
            [np.inf if x == MAX_UINT256 else x / 10**DEBT_DECIMALS for x in self.cover_int]
        )

    def run_kernel(
        self,
        rules: LiquidationRules,
        c: NDArray[np.float64] | None = None,
        d: NDArray[np.float64] | None = None,
    ) -> kernels.LiquidationBatch:
        return kernels.liquidate(
            self.c if c is None else c,
            self.d if d is None else d,
            self.pc,
            self.pd,
            debt_to_cover=self.cover,
            liquidation_threshold=LT_BPS / 1e4,
            liquidation_bonus=LB_BPS / 1e4,
            protocol_fee=_fee_bps(rules) / 1e4,
            rules=rules,
        )

    def run_reference(self, rules: LiquidationRules) -> dict[str, NDArray[np.float64]]:
        rows: dict[str, list[float]] = {name: [] for name in (*FIELDS, "executed")}
        for c_int, d_int, cover in zip(self.c_int, self.d_int, self.cover_int, strict=True):
            position = LiquidationInput.single_pair(
                collateral_balance=c_int,
                debt_balance=d_int,
                collateral_price=self.pc_int,
                debt_price=self.pd_int,
                collateral_decimals=COLL_DECIMALS,
                debt_decimals=DEBT_DECIMALS,
                liquidation_threshold_bps=LT_BPS,
                liquidation_bonus_bps=LB_BPS,
                liquidation_protocol_fee_bps=_fee_bps(rules),
            )
            try:
                out = liquidation_call(position, rules, cover)
            except LiquidationReverted:
                for name in rows:
                    rows[name].append(0.0)
                continue
            unbacked = out.remaining_debt if out.remaining_collateral == 0 else 0
            coll_unit, debt_unit = 10**COLL_DECIMALS, 10**DEBT_DECIMALS
            rows["debt_repaid"].append(out.debt_repaid / debt_unit)
            rows["collateral_seized"].append(out.collateral_seized_total / coll_unit)
            rows["collateral_to_liquidator"].append(out.collateral_to_liquidator / coll_unit)
            rows["protocol_fee"].append(out.protocol_fee / coll_unit)
            rows["deficit"].append(out.deficit / debt_unit)
            rows["bad_debt"].append(0.0 if rules is V3_3 else unbacked / debt_unit)
            rows["executed"].append(1.0)
        return {name: np.array(values) for name, values in rows.items()}

    def unstable(self, rules: LiquidationRules, rel: float = 1e-8) -> NDArray[np.bool_]:
        """Accounts whose executed flag flips when collateral or debt moves by `rel`."""
        base = self.run_kernel(rules).executed
        flips = np.zeros_like(base)
        for factor in (1.0 - rel, 1.0 + rel):
            flips |= self.run_kernel(rules, c=self.c * factor).executed != base
            flips |= self.run_kernel(rules, d=self.d * factor).executed != base
        return flips


@pytest.fixture(scope="module", params=[False, True], ids=["max", "partial"])
def book(request: pytest.FixtureRequest) -> Book:
    return Book(seed=20_240_611, n=N_ACCOUNTS, partial=bool(request.param))


@pytest.mark.parametrize("rules", [V2, V3_0, V3_3])
def test_kernel_matches_integer_reference_on_random_books(
    book: Book, rules: LiquidationRules
) -> None:
    """Float kernels equal the integer math to 1e-9 relative plus the derived rounding floors."""
    got = book.run_kernel(rules)
    want = book.run_reference(rules)
    executed = want["executed"] == 1.0
    mismatch = got.executed != executed
    unstable = book.unstable(rules)
    assert not np.any(mismatch & ~unstable), np.flatnonzero(mismatch & ~unstable)[:10]
    assert unstable.sum() <= N_ACCOUNTS // 1_000  # hair's-breadth accounts are rare
    both = got.executed & executed
    lb = LB_BPS / 1e4
    debt_floor = 1.5 / 10**DEBT_DECIMALS
    coll_floor = debt_floor * book.pd / book.pc * lb + 3 / 10**COLL_DECIMALS
    for name in FIELDS:
        atol = coll_floor if "collateral" in name or name == "protocol_fee" else debt_floor
        np.testing.assert_allclose(
            getattr(got, name)[both], want[name][both], rtol=1e-9, atol=atol, err_msg=name
        )


@pytest.mark.parametrize("rules", [V2, V3_0, V3_3])
def test_random_books_exercise_every_branch(book: Book, rules: LiquidationRules) -> None:
    """The random books contain healthy, partial, collateral-limited and (v3.3) dust accounts."""
    got = book.run_kernel(rules)
    hf = kernels.health_factor(book.c, book.d, book.pc, book.pd, LT_BPS / 1e4)
    liquidatable = hf < 1.0
    assert np.any(~liquidatable)
    assert np.any(got.executed & (got.collateral_seized < book.c))  # partial seizure
    if rules is V3_3:
        assert np.any(got.deficit > 0)  # collateral-limited
        # With LT 0.83 a maximal 50 % call leaves ≥ (0.95 / 0.83 − 0.525) × $2,000 = $1,239 of
        # collateral, so only partial calls can meet the dust rule.
        assert np.any(liquidatable & ~got.executed) == book.partial
    elif rules is V3_0:
        assert np.any(got.bad_debt > 0)  # collateral-limited
    # v2 repays at most 50 %, which exhausts the collateral only if C < 0.5·D·LB, i.e. HF <
    # 0.83 × 0.525 = 0.436: below this book's HF range (0.5..1.2), so v2 shows no bad debt here.


def test_liquidate_max_fee_split_matches_hand_derivation() -> None:
    """Repay 1,000 USDC for ETH at $2,000, LB 5 %, fee 10 %: 0.525 seized, 0.0025 to treasury."""
    # 1 ETH vs 1,000 USDC at LT 0.4: HF 0.8 ≤ 0.95, debt < $2,000 → 100 % under v3.0 and v3.3.
    for rules in (V3_0, V3_3):
        b = kernels.liquidate_max(
            [1.0],
            [1_000.0],
            2_000.0,
            1.0,
            liquidation_threshold=0.4,
            liquidation_bonus=1.05,
            protocol_fee=0.10,
            rules=rules,
        )
        assert b.executed.tolist() == [True]
        assert b.debt_repaid[0] == 1_000.0
        assert b.collateral_seized[0] == pytest.approx(0.525, rel=1e-15)  # 1000/2000 × 1.05
        assert b.protocol_fee[0] == pytest.approx(0.0025, rel=1e-12)  # (0.525 − 0.5) × 10 %
        assert b.collateral_to_liquidator[0] == pytest.approx(0.5225, rel=1e-15)


@pytest.mark.parametrize(
    ("collateral", "debt", "expected_repaid"),
    [
        (10.0, 17_000.0, 8_500.0),  # HF 0.976, both ≥ $2,000 → 50 %
        (10.0, 17_900.0, 17_900.0),  # HF 0.927 ≤ 0.95 → 100 %
        (1.0, 1_700.0, 1_700.0),  # HF 0.976 but collateral $2,000 and debt < $2,000 → 100 %
    ],
)
def test_v3_3_close_factor_in_kernel(
    collateral: float, debt: float, expected_repaid: float
) -> None:
    """v3.3: 50 % only when collateral and debt are ≥ $2,000 and HF > 0.95 (ETH $2,000, LT .83)."""
    b = kernels.liquidate_max(
        [collateral],
        [debt],
        2_000.0,
        1.0,
        liquidation_threshold=0.83,
        liquidation_bonus=1.05,
        protocol_fee=0.10,
        rules=V3_3,
    )
    assert b.executed[0]
    assert b.debt_repaid[0] == pytest.approx(expected_repaid, rel=1e-15)


def test_v3_3_kernel_reverts_on_dust_and_v3_0_does_not() -> None:
    """v3.3 reverts a 50 % call that leaves < $1,000 of collateral; v3.0 executes it."""
    # 1.02 ETH at $2,000 ($2,040; LT 0.95 → $1,938) vs 2,020 USDC: HF 0.959 > 0.95 and both
    # ≥ $2,000 → 50 %: 1,010 repaid, 1010 × 1.05 = $1,060.5 seized, $979.5 left < $1,000.
    b33, b30 = (
        kernels.liquidate_max(
            [1.02],
            [2_020.0],
            2_000.0,
            1.0,
            liquidation_threshold=0.95,
            liquidation_bonus=1.05,
            protocol_fee=0.10,
            rules=rules,
        )
        for rules in (V3_3, V3_0)
    )
    assert not b33.executed[0]
    assert b33.debt_repaid[0] == 0.0
    assert b30.executed[0]
    assert b30.debt_repaid[0] == pytest.approx(1_010.0, rel=1e-15)


def test_v3_3_kernel_dust_rule_exempts_clearing_the_debt() -> None:
    """10 ETH at $2,000 vs 18,500 USDC (HF 0.897 → 100 %): 9.7125 ETH seized, $575 left, allowed."""
    b = kernels.liquidate_max(
        [10.0],
        [18_500.0],
        2_000.0,
        1.0,
        liquidation_threshold=0.83,
        liquidation_bonus=1.05,
        protocol_fee=0.10,
        rules=V3_3,
    )
    assert b.executed[0]
    assert b.collateral_seized[0] == pytest.approx(18_500 * 1.05 / 2_000, rel=1e-15)


@pytest.mark.parametrize(
    ("rules", "field"), [(V3_3, "deficit"), (V3_0, "bad_debt"), (V2, "bad_debt")]
)
def test_unbacked_debt_goes_to_deficit_under_v3_3_and_stays_as_bad_debt_before(
    rules: LiquidationRules, field: str
) -> None:
    """1 ETH at $2,000 vs 2,500 USDC (HF 0.664): all ETH goes for 2000/1.05 = 1,904.76 USDC."""
    fee = 0.0 if rules is V2 else 0.10
    b = kernels.liquidate_max(
        [1.0],
        [2_500.0],
        2_000.0,
        1.0,
        liquidation_threshold=0.83,
        liquidation_bonus=1.05,
        protocol_fee=fee,
        rules=rules,
    )
    if rules is V2:
        # v2 repays only 50 %: 1,250 × 1.05 / 2000 = 0.65625 ETH, collateral remains
        assert b.debt_repaid[0] == pytest.approx(1_250.0, rel=1e-15)
        assert b.bad_debt[0] == 0.0
        return
    assert b.collateral_seized[0] == 1.0
    assert b.debt_repaid[0] == pytest.approx(2_000.0 / 1.05, rel=1e-15)
    assert getattr(b, field)[0] == pytest.approx(2_500.0 - 2_000.0 / 1.05, rel=1e-12)
    other = "bad_debt" if field == "deficit" else "deficit"
    assert getattr(b, other)[0] == 0.0


def test_healthy_empty_and_zero_debt_accounts_do_not_execute() -> None:
    """HF ≥ 1, no debt, or no collateral: the call reverts and nothing moves."""
    b = kernels.liquidate_max(
        [1.0, 1.0, 1.0, 0.0],
        [1_660.0, 1_000.0, 0.0, 10.0],  # HF exactly 1, HF 1.66, no debt, no collateral
        2_000.0,
        1.0,
        liquidation_threshold=0.83,
        liquidation_bonus=1.05,
        protocol_fee=0.10,
        rules=V3_3,
    )
    assert b.executed.tolist() == [False, False, False, False]
    for name in FIELDS:
        assert np.all(getattr(b, name) == 0.0), name


def test_hair_breadth_below_2000_usd_of_collateral_flips_the_close_factor() -> None:
    """1 wei under 1 ETH at $2,000: the integers see $1,999.99999999 (no cap, all collateral
    taken), float64 cannot hold 1 − 1e-18 and sees $2,000 (50 % cap, dust revert)."""
    c_int, d_int = 10**18 - 1, 2_020_000_000  # 0.999999999999999999 ETH, 2,020 USDC
    position = LiquidationInput.single_pair(
        collateral_balance=c_int,
        debt_balance=d_int,
        collateral_price=2_000 * 10**8,
        debt_price=10**8,
        collateral_decimals=18,
        debt_decimals=6,
        liquidation_threshold_bps=9_700,
        liquidation_bonus_bps=10_500,
        liquidation_protocol_fee_bps=1_000,
    )
    # HF = 1999.99999999 × 0.97 / 2020 = 0.9604 > 0.95, but collateral < $2,000 → 100 %:
    # 2020 × 1.05 = $2,121 > the collateral, so it is all taken and the call is dust-exempt.
    reference = liquidation_call(position, V3_3, MAX_UINT256)
    assert reference.remaining_collateral == 0
    b = kernels.liquidate_max(
        [c_int / 1e18],
        [d_int / 1e6],
        2_000.0,
        1.0,
        liquidation_threshold=0.97,
        liquidation_bonus=1.05,
        protocol_fee=0.10,
        rules=V3_3,
    )
    assert c_int / 1e18 == 1.0
    # 50 %: 1,010 repaid, $1,060.5 seized, $939.5 of collateral left < $1,000 → revert.
    assert not b.executed[0]


def test_health_factor_and_liquidation_price_are_consistent() -> None:
    """At the liquidation price the health factor is exactly 1 (to float rounding)."""
    c = np.array([1.0, 2.5, 100.0])
    d = np.array([1_000.0, 3_000.0, 50_000.0])
    p = kernels.liquidation_price(c, d, 1.0, 0.83)
    np.testing.assert_allclose(p, d / (c * 0.83))  # D·P_d / (C·LT)
    np.testing.assert_allclose(kernels.health_factor(c, d, p, 1.0, 0.83), 1.0, rtol=1e-14)


def test_v2_kernel_rejects_protocol_fee() -> None:
    """v2 has no protocol fee: the kernel refuses one instead of ignoring it."""
    with pytest.raises(ValueError, match="v2 has no protocol fee"):
        kernels.liquidate_max(
            [1.0],
            [1_000.0],
            2_000.0,
            1.0,
            liquidation_threshold=0.83,
            liquidation_bonus=1.05,
            protocol_fee=0.1,
            rules=V2,
        )
