"""Invariants of the Aave integer reference math, checked with hypothesis.

On rounding: Aave up to v3.6 rounds the seizure half up (``percentMul``/``percentDiv``), so the
liquidator can receive slightly *more* than the exact rational amount — at most 1.5 base units,
as derived in `test_liquidator_gain_beyond_exact_price_is_at_most_one_and_a_half_units`
(`test_half_up_seizure_can_overpay_the_liquidator` shows a case). v3.7's explicit floor/ceil
rounding (``percentMulFloor``, ``percentDivFloor``, ``percentMulCeil`` in
aave-dao/aave-v3-origin ``LiquidationLogic._calculateAvailableCollateralToLiquidate``) makes the
strict inequality hold, checked in `test_v3_7_floor_ceil_seizure_never_overpays_the_liquidator`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from protosim.protocols.lending.aave_v3.math import (
    LiquidationInput,
    LiquidationOutcome,
    LiquidationReverted,
    LiquidationRules,
    ReserveBalance,
    available_collateral_to_liquidate,
    liquidation_call,
    to_base_currency,
    user_account_data,
)
from protosim.units import (
    MAX_UINT256,
    WAD,
    percent_div_floor,
    percent_mul_ceil,
    percent_mul_floor,
)

RULES = st.sampled_from(list(LiquidationRules))
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


@dataclass(frozen=True)
class Case:
    position: LiquidationInput
    rules: LiquidationRules
    debt_to_cover: int


@st.composite
def cases(draw: st.DrawFn, *, max_only: bool = False) -> Case:
    """A single-pair position near or below HF 1, with realistic token units and prices."""
    rules = draw(RULES)
    coll_decimals = draw(st.sampled_from([8, 18]))
    debt_decimals = draw(st.sampled_from([6, 18]))
    coll_price = draw(st.integers(10**6, 10**13))  # $0.01 .. $100,000 (8-decimal USD)
    debt_price = draw(st.integers(10**7, 10**9))  # $0.10 .. $10
    lt = draw(st.integers(5_000, 9_300))
    lb = draw(st.integers(10_100, 11_500))
    fee = 0 if rules is LiquidationRules.V2 else draw(st.integers(0, 5_000))
    coll_value = draw(st.integers(10 * 10**8, 10**7 * 10**8))  # $10 .. $10M
    hf_permille = draw(st.integers(300, 1_050))
    coll_balance = coll_value * 10**coll_decimals // coll_price
    debt_value = coll_value * lt * 1_000 // (10_000 * hf_permille)
    debt_balance = max(1, debt_value * 10**debt_decimals // debt_price)
    position = LiquidationInput.single_pair(
        collateral_balance=coll_balance,
        debt_balance=debt_balance,
        collateral_price=coll_price,
        debt_price=debt_price,
        collateral_decimals=coll_decimals,
        debt_decimals=debt_decimals,
        liquidation_threshold_bps=lt,
        liquidation_bonus_bps=lb,
        liquidation_protocol_fee_bps=fee,
    )
    if max_only or draw(st.booleans()):
        cover = MAX_UINT256
    else:
        cover = draw(st.integers(0, 2 * debt_balance))
    return Case(position, rules, cover)


def _run(case: Case) -> LiquidationOutcome | None:
    try:
        return liquidation_call(case.position, case.rules, case.debt_to_cover)
    except LiquidationReverted:
        return None


@PROPERTY_SETTINGS
@given(case=cases())
def test_liquidation_conserves_collateral_and_debt_exactly(case: Case) -> None:
    """Collateral before = after + liquidator + fee; debt before = after + repaid + deficit."""
    out = _run(case)
    if out is None:
        return
    p = case.position
    assert min(out.remaining_collateral, out.collateral_to_liquidator, out.protocol_fee) >= 0
    assert min(out.remaining_debt, out.debt_repaid, out.deficit) >= 0
    assert out.collateral_seized_total == out.collateral_to_liquidator + out.protocol_fee
    assert (
        p.collateral_balance
        == out.remaining_collateral + out.collateral_to_liquidator + out.protocol_fee
    )
    assert p.debt_balance == out.remaining_debt + out.debt_repaid + out.deficit
    if case.rules is not LiquidationRules.V3_3:
        assert out.deficit == 0


@PROPERTY_SETTINGS
@given(case=cases())
def test_deficit_only_when_no_collateral_is_left_under_v3_3(case: Case) -> None:
    """A deficit appears only under v3.3, and then the user has no debt and no collateral left."""
    out = _run(case)
    if out is None or out.deficit == 0:
        return
    assert case.rules is LiquidationRules.V3_3
    assert out.remaining_debt == 0
    remaining_value = out.remaining_collateral * case.position.collateral_price
    assert remaining_value // 10**case.position.collateral_decimals == 0  # $0 in base currency


@st.composite
def accounts(draw: st.DrawFn, *, max_collateral: int = 3) -> list[ReserveBalance]:
    """Supplied-only and borrowed-only reserves (a reserve both supplied and borrowed would see
    its debt fall with its price too)."""
    n_collateral = draw(st.integers(1, max_collateral))
    n_debt = draw(st.integers(1, 2))
    reserves = []
    for i in range(n_collateral + n_debt):
        decimals = draw(st.sampled_from([6, 8, 18]))
        amount = draw(st.integers(1, 10**7)) * 10 ** (decimals - 2)
        reserves.append(
            ReserveBalance(
                price=draw(st.integers(1, 10**13)),
                decimals=decimals,
                liquidation_threshold_bps=draw(st.integers(0, 9_500)),
                supplied=amount if i < n_collateral else 0,
                borrowed=0 if i < n_collateral else amount,
            )
        )
    return reserves


def _drop_price(reserves: list[ReserveBalance], which: int, drop_bps: int) -> list[ReserveBalance]:
    collateral = [i for i, r in enumerate(reserves) if r.supplied > 0]
    i = collateral[which % len(collateral)]
    dropped = list(reserves)
    dropped[i] = dataclasses.replace(
        reserves[i], price=reserves[i].price * (10_000 - drop_bps) // 10_000
    )
    return dropped


@PROPERTY_SETTINGS
@given(reserves=accounts(max_collateral=1), price_drop=st.integers(min_value=1, max_value=9_999))
def test_health_factor_non_increasing_as_collateral_price_falls(
    reserves: list[ReserveBalance], price_drop: int
) -> None:
    """With one collateral reserve, a 0.01 %..99.99 % fall of its price never raises the HF."""
    before = user_account_data(reserves).health_factor
    assert user_account_data(_drop_price(reserves, 0, price_drop)).health_factor <= before


@PROPERTY_SETTINGS
@given(
    reserves=accounts(),
    which=st.integers(0, 2),
    price_drop=st.integers(min_value=1, max_value=9_999),
)
def test_health_factor_rise_on_price_fall_is_bounded_by_the_avg_threshold_floor(
    reserves: list[ReserveBalance], which: int, price_drop: int
) -> None:
    """With several collaterals, HF after a price fall ≤ the HF before computed without flooring
    the average threshold: HF' ≤ (ΣvᵢLTᵢ/1e4 + ½)·1e18/D + ½ (v = floored base values)."""
    before = user_account_data(reserves)
    after = user_account_data(_drop_price(reserves, which, price_drop))
    if before.total_debt_base == 0:
        return
    weighted = sum(
        to_base_currency(r.supplied, r.price, r.decimals) * r.liquidation_threshold_bps
        for r in reserves
        if r.supplied > 0 and r.liquidation_threshold_bps > 0
    )
    bound = (Fraction(weighted, 10_000) + Fraction(1, 2)) * WAD / before.total_debt_base
    assert after.health_factor <= bound + Fraction(1, 2)


def test_health_factor_can_rise_when_a_low_threshold_collateral_falls() -> None:
    """GenericLogic floors avgLT to whole bps, so losing value in a below-average-LT collateral
    can raise it by 1 bps and lift HF: $10,000 ETH (83 %) + $183.30 USDC (78 %) vs $9,000."""
    usd = 10**8
    eth = ReserveBalance(
        price=2_000 * usd, decimals=18, liquidation_threshold_bps=8_300, supplied=5 * 10**18
    )
    usdc = ReserveBalance(
        price=usd, decimals=6, liquidation_threshold_bps=7_800, supplied=183_300_000
    )
    dai = ReserveBalance(
        price=usd, decimals=18, liquidation_threshold_bps=0, borrowed=9_000 * 10**18
    )
    before = user_account_data([eth, usdc, dai])
    # USDC $1 → $0.99999: avg (10000·8300 + 183.3·7800) / 10183.3 = 8290.99997 → 8290 before,
    # (10000·8300 + 183.298167·7800) / 10183.298167 = 8291.00006 → 8291 after.
    after = user_account_data([eth, dataclasses.replace(usdc, price=99_999_000), dai])
    assert (before.avg_liquidation_threshold_bps, after.avg_liquidation_threshold_bps) == (
        8_290,
        8_291,
    )
    assert after.health_factor > before.health_factor


def _exact_to_liquidator(case: Case, debt_repaid: int) -> Fraction:
    # The exact price of `debt_repaid` in collateral, times the bonus, minus the treasury's share
    # of the bonus: coll · (1 − (1 − 1/LB) · fee).
    p = case.position
    coll = Fraction(
        debt_repaid * p.debt_price * 10**p.collateral_decimals,
        p.collateral_price * 10**p.debt_decimals,
    ) * Fraction(p.liquidation_bonus_bps, 10_000)
    bonus_share = 1 - Fraction(10_000, p.liquidation_bonus_bps)
    return coll * (1 - bonus_share * Fraction(p.liquidation_protocol_fee_bps, 10_000))


@PROPERTY_SETTINGS
@given(case=cases())
def test_liquidator_gain_beyond_exact_price_is_at_most_one_and_a_half_units(case: Case) -> None:
    """Half-up rounding overpays the liquidator by < 1.5 base units of collateral (or of debt).

    Derivation (v3.0/v3.3, base = floor(x) ≤ x): coll ≤ x·LB + ½; bonus ≥ coll·(1 − 1/LB) − ½;
    fee ≥ bonus·f − ½; so coll − fee ≤ exact + ½·(1 − (1 − 1/LB)·f) + f/2 + ½ ≤ exact + 1.5.
    When the collateral runs out, debt = round(floor(y)/LB) > y/LB − 1.5. v2 (no fee) rounds
    once, by < 1 unit.
    """
    out = _run(case)
    if out is None:
        return
    p = case.position
    if out.collateral_seized_total < p.collateral_balance:
        assert out.collateral_to_liquidator <= _exact_to_liquidator(
            case, out.debt_repaid
        ) + Fraction(3, 2)
    else:
        # All collateral taken: the liquidator must repay at least its exact price less 1.5 units.
        exact_debt = Fraction(
            p.collateral_balance * p.collateral_price * 10**p.debt_decimals,
            p.debt_price * 10**p.collateral_decimals,
        ) / Fraction(p.liquidation_bonus_bps, 10_000)
        assert out.debt_repaid > exact_debt - Fraction(3, 2)


def test_half_up_seizure_can_overpay_the_liquidator() -> None:
    """Repaying 10 units for 10 units' worth at 5 % bonus gives 11 (10.5 half up), not 10.5."""
    got = available_collateral_to_liquidate(
        LiquidationRules.V3_3,
        collateral_price=10**8,
        collateral_decimals=6,
        debt_price=10**8,
        debt_decimals=6,
        debt_to_cover=10,
        user_collateral_balance=10**6,
        liquidation_bonus_bps=10_500,
        liquidation_protocol_fee_bps=0,
    )
    assert got.collateral_to_liquidator == 11  # exact: 10 × 1.05 = 10.5


@PROPERTY_SETTINGS
@given(
    base=st.integers(0, 10**30),
    lb=st.integers(10_000, 15_000),
    fee=st.integers(0, 10_000),
)
def test_v3_7_floor_ceil_seizure_never_overpays_the_liquidator(
    base: int, lb: int, fee: int
) -> None:
    """With v3.7's percentMulFloor / percentDivFloor / percentMulCeil the liquidator's share
    never exceeds the exact coll · (1 − (1 − 1/LB) · fee) of the (already floored) base."""
    coll = percent_mul_floor(base, lb)
    bonus = coll - percent_div_floor(coll, lb)
    to_liquidator = coll - percent_mul_ceil(bonus, fee)
    exact_coll = Fraction(base * lb, 10_000)
    exact = exact_coll * (1 - (1 - Fraction(10_000, lb)) * Fraction(fee, 10_000))
    assert to_liquidator <= exact


@PROPERTY_SETTINGS
@given(case=cases(max_only=True))
def test_liquidation_above_lt_times_lb_improves_health_factor(case: Case) -> None:
    """Mechanics §0.2: HF' − HF = r·(HF − LT·LB)/(B − r) > 0 while HF > LT·LB (by 0.01 here)."""
    p = case.position
    lt_lb_wad = p.collateral_liquidation_threshold_bps * p.liquidation_bonus_bps * 10**10
    if p.health_factor < lt_lb_wad + WAD // 100:
        return
    out = _run(case)
    if out is None:
        return
    after = user_account_data(
        [
            ReserveBalance(
                price=p.collateral_price,
                decimals=p.collateral_decimals,
                liquidation_threshold_bps=p.collateral_liquidation_threshold_bps,
                supplied=out.remaining_collateral,
            ),
            ReserveBalance(
                price=p.debt_price,
                decimals=p.debt_decimals,
                liquidation_threshold_bps=0,
                borrowed=out.remaining_debt,
            ),
        ]
    )
    assert after.health_factor > p.health_factor


# -- multi-reserve accounts and interest ------------------------------------------------------

from protosim.protocols.lending.aave_v3.math import (  # noqa: E402
    AccountReserve,
    calculate_compounded_interest,
    calculate_linear_interest,
    liquidate_account,
)


@st.composite
def multi_accounts(draw: st.DrawFn) -> dict[str, AccountReserve]:
    """Two collateral and two debt reserves with realistic units, near or below HF 1."""
    out = {}
    for name, dec in (("WETH", 18), ("WBTC", 8)):
        out[name] = AccountReserve(
            price=draw(st.integers(10**9, 10**13)),
            decimals=dec,
            liquidation_threshold_bps=draw(st.integers(5_000, 9_000)),
            liquidation_bonus_bps=draw(st.integers(10_100, 11_000)),
            liquidation_protocol_fee_bps=1_000,
            supplied=draw(st.integers(0, 10**4 * 10**dec)),
        )
    for name in ("USDC", "USDT"):
        out[name] = AccountReserve(
            price=draw(st.integers(9 * 10**7, 11 * 10**7)),
            decimals=6,
            liquidation_threshold_bps=0,
            borrowed=draw(st.integers(0, 10**9 * 10**6)),
        )
    return out


@PROPERTY_SETTINGS
@given(
    multi_accounts(),
    st.sampled_from(["WETH", "WBTC"]),
    st.sampled_from(["USDC", "USDT"]),
    st.sampled_from(["v2", "v3.0", "v3.3"]),
)
def test_multi_liquidation_conserves_tokens_per_reserve(
    account: dict[str, AccountReserve], collateral: str, debt: str, rules: str
) -> None:
    """Per reserve: supplied before = after + seized; borrowed before = after + repaid +
    deficit; nothing negative; deficits only under v3.3."""
    if rules == "v2":
        account = {
            k: dataclasses.replace(v, liquidation_protocol_fee_bps=0) for k, v in account.items()
        }
    try:
        out = liquidate_account(account, collateral, debt, rules)
    except LiquidationReverted:
        return
    for name, r in account.items():
        seized = out.outcome.collateral_seized_total if name == collateral else 0
        repaid = out.outcome.debt_repaid if name == debt else 0
        assert r.supplied == out.supplied[name] + seized
        assert r.borrowed == out.borrowed[name] + repaid + out.deficit.get(name, 0)
        assert out.supplied[name] >= 0
        assert out.borrowed[name] >= 0
    if rules != "v3.3":
        assert out.deficit == {}


@PROPERTY_SETTINGS
@given(multi_accounts(), st.integers(1, 9_999))
def test_health_factor_does_not_rise_when_a_collateral_price_falls(
    account: dict[str, AccountReserve], keep_bps: int
) -> None:
    """calculateUserAccountData: lowering one collateral's price never raises the HF, except
    by the average threshold's floor to whole basis points (< 1 bp of an average ≥ 50 %, so
    < 1/5000 relative)."""

    def hf(reserves: dict[str, AccountReserve]) -> int:
        return user_account_data(
            ReserveBalance(
                price=r.price,
                decimals=r.decimals,
                liquidation_threshold_bps=r.liquidation_threshold_bps,
                supplied=r.supplied,
                borrowed=r.borrowed,
            )
            for r in reserves.values()
        ).health_factor

    lower = dict(account)
    lower["WETH"] = dataclasses.replace(
        account["WETH"], price=account["WETH"].price * keep_bps // 10_000 or 1
    )
    assert hf(lower) <= hf(account) + hf(account) // 5_000 + 1


@PROPERTY_SETTINGS
@given(st.integers(0, 100_000 * 10**23), st.integers(0, 10 * 365 * 86_400), st.integers(1, 86_400))
def test_interest_indexes_are_monotone_in_time(rate: int, elapsed: int, more: int) -> None:
    """MathUtils: both interest factors are ≥ 1 and never fall as time passes; compounding
    never pays less than linear."""
    for f in (calculate_linear_interest, calculate_compounded_interest):
        assert WAD * 10**9 <= f(rate, elapsed) <= f(rate, elapsed + more)
    assert calculate_compounded_interest(rate, elapsed) >= calculate_linear_interest(rate, elapsed)
