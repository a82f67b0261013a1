"""Exact integer reference math of Aave liquidations, mirroring the contracts path by path.

Amounts are integers in each token's base units, prices are the AaveOracle's answers (USD with
8 decimals, so ``$1 = 10**8``), percentages are basis points (``10_500`` = 105 %) and the health
factor is a WAD. Three rule sets are mirrored, each from the file named:

``LiquidationRules.V2``
    aave/protocol-v2@ce53c4a8 ``contracts/protocol/lendingpool/LendingPoolCollateralManager.sol``
    (``LIQUIDATION_CLOSE_FACTOR_PERCENT = 5000``: 50 % always, no protocol fee, no deficit),
    ``contracts/protocol/libraries/logic/GenericLogic.sol`` and ``ValidationLogic.sol``. Aave v2
    mainnet prices are in ETH wei, not USD; the arithmetic does not depend on the unit.
``LiquidationRules.V3_0``
    aave/aave-v3-core@782f5191 (v1.19.x) ``contracts/protocol/libraries/logic/
    {LiquidationLogic,GenericLogic,ValidationLogic}.sol``: close factor 50 % if HF > 0.95 else
    100 %, protocol fee on the bonus, residual debt stays on the account (v3.1 and v3.2 in
    aave-dao/aave-v3-origin keep this arithmetic).
``LiquidationRules.V3_3``
    aave-dao/aave-v3-origin tag v3.3.0 (5431379f) ``src/contracts/protocol/libraries/logic/
    {LiquidationLogic,GenericLogic,ValidationLogic}.sol``: 100 % close factor by default, 50 % of
    the user's total debt when both reserves hold at least $2,000 and HF > 0.95, the
    ``MustNotLeaveDust`` rule ($1,000 leftover), and deficit creation when no collateral is
    left. The arithmetic is unchanged up to v3.6; v3.7 switches the seizure to explicit
    floor/ceil rounding (``percentMulFloor`` etc. in :mod:`protosim.units`), not mirrored here.

Multi-reserve accounts (`liquidate_account`) and interest (`calculate_interest_rates`,
`calculate_compounded_interest`, `accrue_indexes`) follow aave-dao/aave-v3-origin:
``GenericLogic.calculateUserAccountData``, ``LiquidationLogic.executeLiquidationCall`` and
``_burnBadDebt`` (v3.3.0), ``DefaultReserveInterestRateStrategyV2.calculateInterestRates``,
``ReserveLogic._updateIndexes`` and ``MathUtils`` (main at fd1fbd91, whose compounded interest is
the three-term ``x + x·(x/2 + x·x/6)`` form).

Not modelled (the caller's business): reserve active/paused flags, the price-oracle sentinel and
the liquidation grace period, eMode bonus selection (pass the effective bonus), the GHO
special case of ``_burnDebtTokens``, v2's available-liquidity check, interest indexes (pass
balances already multiplied by the index) and the one-wei cap of the treasury fee transfer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from protosim.units import (
    MAX_UINT256,
    PERCENTAGE_FACTOR,
    RAY,
    WAD,
    Ray,
    Wad,
    percent_div,
    percent_mul,
    ray_div,
    ray_mul,
    wad_div,
)

__all__ = [
    "CLOSE_FACTOR_HF_THRESHOLD",
    "DEFAULT_LIQUIDATION_CLOSE_FACTOR",
    "HEALTH_FACTOR_LIQUIDATION_THRESHOLD",
    "MAX_LIQUIDATION_CLOSE_FACTOR",
    "MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD",
    "MIN_LEFTOVER_BASE",
    "SECONDS_PER_YEAR",
    "AccountData",
    "AccountLiquidation",
    "AccountReserve",
    "CollateralToLiquidate",
    "InterestRates",
    "LiquidationInput",
    "LiquidationOutcome",
    "LiquidationReverted",
    "LiquidationRules",
    "ReserveBalance",
    "accrue_indexes",
    "available_collateral_to_liquidate",
    "bps_to_ray",
    "burn_bad_debt",
    "calculate_compounded_interest",
    "calculate_interest_rates",
    "calculate_linear_interest",
    "health_factor",
    "liquidate_account",
    "liquidation_call",
    "max_liquidatable_debt",
    "to_base_currency",
    "user_account_data",
]

HEALTH_FACTOR_LIQUIDATION_THRESHOLD: Wad = WAD
"""A position is liquidatable while its health factor is strictly below 1.0 (WAD)."""

CLOSE_FACTOR_HF_THRESHOLD: Wad = 95 * WAD // 100
"""Above this health factor (0.95) the close factor may be limited to 50 %."""

DEFAULT_LIQUIDATION_CLOSE_FACTOR = 5_000
"""50 % in basis points (v2's ``LIQUIDATION_CLOSE_FACTOR_PERCENT``)."""

MAX_LIQUIDATION_CLOSE_FACTOR = 10_000
"""100 % in basis points (v3.0's ``MAX_LIQUIDATION_CLOSE_FACTOR``)."""

MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD = 2_000 * 10**8
"""$2,000 in 8-decimal base currency (v3.3)."""

MIN_LEFTOVER_BASE = MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD // 2
"""$1,000: what a partial liquidation must leave of both debt and collateral (v3.3)."""

_K = TypeVar("_K")


class LiquidationRules(StrEnum):
    """Which version of Aave's liquidation rules to apply."""

    V2 = "v2"
    V3_0 = "v3.0"
    V3_3 = "v3.3"


class LiquidationReverted(Exception):  # noqa: N818 - named after the on-chain revert
    """A ``liquidationCall`` that the contract would revert.

    Parameters
    ----------
    reason : str
        The Aave error, named as in aave-v3-origin ``Errors.sol`` custom errors (v3.4+):
        ``"HealthFactorNotBelowThreshold"`` (v3.3 string code ``'45'``, v2 ``'42'``),
        ``"CollateralCannotBeLiquidated"`` (``'46'``), ``"SpecifiedCurrencyNotBorrowedByUser"``
        (``'47'``), ``"MustNotLeaveDust"`` (``'103'``).
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReserveBalance:
    """One reserve of one user, as ``GenericLogic.calculateUserAccountData`` reads it.

    Attributes
    ----------
    price : int
        Oracle price, USD with 8 decimals.
    decimals : int
        Token decimals.
    liquidation_threshold_bps : int
        Liquidation threshold in basis points (the eMode threshold if it applies).
    supplied : int
        aToken balance in base units (scaled balance × liquidity index), default 0.
    borrowed : int
        Variable-debt balance in base units, default 0.
    is_collateral : bool
        Whether the user has enabled the reserve as collateral, default True.
    """

    price: int
    decimals: int
    liquidation_threshold_bps: int
    supplied: int = 0
    borrowed: int = 0
    is_collateral: bool = True

    def __post_init__(self) -> None:
        if min(self.price, self.decimals, self.liquidation_threshold_bps) < 0:
            raise ValueError(f"expected non-negative price, decimals and threshold, was {self}")
        if self.supplied < 0 or self.borrowed < 0:
            raise ValueError(f"expected non-negative balances, was {self}")


@dataclass(frozen=True, slots=True)
class AccountData:
    """A user's totals as ``GenericLogic.calculateUserAccountData`` returns them.

    Attributes
    ----------
    total_collateral_base : int
        Collateral value, USD with 8 decimals.
    total_debt_base : int
        Debt value, USD with 8 decimals.
    avg_liquidation_threshold_bps : int
        Collateral-weighted liquidation threshold, basis points, rounded down.
    health_factor : Wad
        Health factor; ``MAX_UINT256`` when there is no debt.
    """

    total_collateral_base: int
    total_debt_base: int
    avg_liquidation_threshold_bps: int
    health_factor: Wad


@dataclass(frozen=True, slots=True)
class CollateralToLiquidate:
    """Result of ``_calculateAvailableCollateralToLiquidate``.

    Attributes
    ----------
    collateral_amount : int
        Collateral leaving the user, liquidator's share plus protocol fee, base units.
    debt_amount : int
        Debt the liquidator repays, debt base units.
    protocol_fee : int
        Collateral sent to the treasury, base units.
    collateral_base : int
        ``collateral_amount`` in base currency, rounded down (v3.3's fourth return value).
    """

    collateral_amount: int
    debt_amount: int
    protocol_fee: int
    collateral_base: int

    @property
    def collateral_to_liquidator(self) -> int:
        """Collateral the liquidator receives, base units."""
        return self.collateral_amount - self.protocol_fee


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationInput:
    """One user's position as seen by ``liquidationCall(collateral, debt, user, …)``.

    Attributes
    ----------
    collateral_balance : int
        The user's aToken balance in the collateral reserve, base units.
    debt_balance : int
        The user's variable debt in the debt reserve, base units.
    collateral_price, debt_price : int
        Oracle prices, USD with 8 decimals.
    collateral_decimals, debt_decimals : int
        Token decimals.
    collateral_liquidation_threshold_bps : int
        Liquidation threshold of the collateral reserve; zero means it cannot be liquidated.
    liquidation_bonus_bps : int
        Liquidation bonus as a multiplier in basis points (``10_500`` = 5 % bonus), ≥ 10,000.
    liquidation_protocol_fee_bps : int
        Share of the bonus that goes to the treasury, basis points (must be 0 under v2).
    total_collateral_base, total_debt_base : int
        The user's totals over all reserves, USD with 8 decimals (`user_account_data`).
    health_factor : Wad
        The user's health factor over all reserves.
    collateral_enabled : bool
        Whether the user uses the collateral reserve as collateral, default True.
    """

    collateral_balance: int
    debt_balance: int
    collateral_price: int
    debt_price: int
    collateral_decimals: int
    debt_decimals: int
    collateral_liquidation_threshold_bps: int
    liquidation_bonus_bps: int
    liquidation_protocol_fee_bps: int
    total_collateral_base: int
    total_debt_base: int
    health_factor: Wad
    collateral_enabled: bool = True

    def __post_init__(self) -> None:
        amounts = (
            self.collateral_balance,
            self.debt_balance,
            self.total_collateral_base,
            self.total_debt_base,
            self.health_factor,
            self.collateral_decimals,
            self.debt_decimals,
            self.collateral_liquidation_threshold_bps,
        )
        if min(amounts) < 0:
            raise ValueError(f"expected non-negative amounts, was {self}")
        if self.collateral_price <= 0 or self.debt_price <= 0:
            raise ValueError(
                f"expected positive prices, was {self.collateral_price}, {self.debt_price}"
            )
        if self.liquidation_bonus_bps < PERCENTAGE_FACTOR:
            raise ValueError(f"expected a bonus >= 10000 bps, was {self.liquidation_bonus_bps}")
        if not 0 <= self.liquidation_protocol_fee_bps <= PERCENTAGE_FACTOR:
            raise ValueError(
                f"expected 0 <= protocol fee <= 10000 bps, was {self.liquidation_protocol_fee_bps}"
            )

    @classmethod
    def single_pair(
        cls,
        *,
        collateral_balance: int,
        debt_balance: int,
        collateral_price: int,
        debt_price: int,
        collateral_decimals: int,
        debt_decimals: int,
        liquidation_threshold_bps: int,
        liquidation_bonus_bps: int,
        liquidation_protocol_fee_bps: int,
    ) -> LiquidationInput:
        """Build the input of a user with exactly one collateral and one debt reserve.

        The totals and health factor come from `user_account_data`, and a zero collateral
        balance counts as not enabled (Aave clears the collateral bit when a balance hits zero).

        Parameters
        ----------
        collateral_balance, debt_balance : int
            Balances in base units.
        collateral_price, debt_price : int
            USD with 8 decimals.
        collateral_decimals, debt_decimals : int
            Token decimals.
        liquidation_threshold_bps, liquidation_bonus_bps, liquidation_protocol_fee_bps : int
            Collateral reserve parameters, basis points.

        Returns
        -------
        LiquidationInput
            The position with its totals filled in.

        Examples
        --------
        1 WETH at $2,000 against 1,800 USDC, LT 83 %: HF = 2000 × 0.83 / 1800 = 0.92222…

        >>> p = LiquidationInput.single_pair(
        ...     collateral_balance=10**18, debt_balance=1_800 * 10**6,
        ...     collateral_price=2_000 * 10**8, debt_price=10**8,
        ...     collateral_decimals=18, debt_decimals=6, liquidation_threshold_bps=8_300,
        ...     liquidation_bonus_bps=10_500, liquidation_protocol_fee_bps=1_000)
        >>> p.total_collateral_base, p.total_debt_base, p.health_factor
        (200000000000, 180000000000, 922222222222222222)
        """
        account = user_account_data(
            [
                ReserveBalance(
                    price=collateral_price,
                    decimals=collateral_decimals,
                    liquidation_threshold_bps=liquidation_threshold_bps,
                    supplied=collateral_balance,
                ),
                ReserveBalance(
                    price=debt_price,
                    decimals=debt_decimals,
                    liquidation_threshold_bps=0,
                    borrowed=debt_balance,
                    is_collateral=False,
                ),
            ]
        )
        return cls(
            collateral_balance=collateral_balance,
            debt_balance=debt_balance,
            collateral_price=collateral_price,
            debt_price=debt_price,
            collateral_decimals=collateral_decimals,
            debt_decimals=debt_decimals,
            collateral_liquidation_threshold_bps=liquidation_threshold_bps,
            liquidation_bonus_bps=liquidation_bonus_bps,
            liquidation_protocol_fee_bps=liquidation_protocol_fee_bps,
            total_collateral_base=account.total_collateral_base,
            total_debt_base=account.total_debt_base,
            health_factor=account.health_factor,
            collateral_enabled=collateral_balance > 0,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationOutcome:
    """What one executed ``liquidationCall`` moved, in base units of each token.

    Attributes
    ----------
    debt_repaid : int
        Debt the liquidator repaid (debt units).
    collateral_to_liquidator : int
        Collateral the liquidator received (collateral units).
    protocol_fee : int
        Collateral sent to the treasury (collateral units).
    collateral_seized_total : int
        ``collateral_to_liquidator + protocol_fee``.
    deficit : int
        Debt of this reserve burned into the reserve deficit (v3.3 only; debt units).
    remaining_debt : int
        The user's debt left in the debt reserve.
    remaining_collateral : int
        The user's balance left in the collateral reserve.
    burn_other_debts : bool
        True when v3.3 found no collateral left: the user's debts in *other* reserves are burned
        into their deficits too (see `burn_bad_debt`).
    """

    debt_repaid: int
    collateral_to_liquidator: int
    protocol_fee: int
    collateral_seized_total: int
    deficit: int
    remaining_debt: int
    remaining_collateral: int
    burn_other_debts: bool = False


def to_base_currency(amount: int, price: int, decimals: int) -> int:
    """Return a token amount's value in base currency, rounded down.

    This is ``balance * assetPrice / assetUnit`` of ``GenericLogic._getUserBalanceInBaseCurrency``
    and ``_getUserDebtInBaseCurrency`` (aave-dao/aave-v3-origin v3.3.0), of v2's
    ``GenericLogic.calculateUserAccountData`` and of v3.3's per-reserve values in
    ``LiquidationLogic.executeLiquidationCall``.

    Parameters
    ----------
    amount : int
        Base units of the token.
    price : int
        Oracle price, USD with 8 decimals.
    decimals : int
        Token decimals.

    Returns
    -------
    int
        Value, USD with 8 decimals.

    Examples
    --------
    1.5 WETH at $2,000.12345678 is $3,000.18518517 (the last 0.5 unit is dropped):

    >>> to_base_currency(15 * 10**17, 2_000_12345678, 18)
    300018518517
    """
    unit: int = 10**decimals
    return amount * price // unit


def health_factor(
    total_collateral_base: int, avg_liquidation_threshold_bps: int, total_debt_base: int
) -> Wad:
    """Return the health factor as ``GenericLogic.calculateUserAccountData`` does.

    ``totalCollateral.percentMul(avgLT).wadDiv(totalDebt)``, both half up; source
    aave-dao/aave-v3-origin v3.3.0 ``src/contracts/protocol/libraries/logic/GenericLogic.sol``
    (identical in aave/aave-v3-core and in v2's ``calculateHealthFactorFromBalances``).

    Parameters
    ----------
    total_collateral_base : int
        Collateral value, USD with 8 decimals.
    avg_liquidation_threshold_bps : int
        Weighted liquidation threshold, basis points.
    total_debt_base : int
        Debt value, USD with 8 decimals.

    Returns
    -------
    Wad
        Health factor scaled by 1e18; ``MAX_UINT256`` when there is no debt.

    Examples
    --------
    $10,000 at 83 % against $9,000: 8300 / 9000 = 0.9222…2(2) → …222:

    >>> health_factor(10_000 * 10**8, 8_300, 9_000 * 10**8)
    922222222222222222
    >>> health_factor(1, 8_300, 0) == MAX_UINT256
    True
    """
    if total_debt_base == 0:
        return MAX_UINT256
    return wad_div(
        percent_mul(total_collateral_base, avg_liquidation_threshold_bps), total_debt_base
    )


def user_account_data(reserves: Iterable[ReserveBalance]) -> AccountData:
    """Return a user's totals, average threshold and health factor over their reserves.

    Mirrors ``GenericLogic.calculateUserAccountData`` (aave-dao/aave-v3-origin v3.3.0): each
    collateral value is rounded down on its own, a reserve counts as collateral only if its
    threshold is non-zero and the user enabled it, the average threshold is
    ``Σ value_i · LT_i // Σ value_i`` (rounded down), and the health factor is `health_factor`.

    Parameters
    ----------
    reserves : iterable of ReserveBalance
        The user's reserves (supplied and/or borrowed).

    Returns
    -------
    AccountData
        Totals (USD, 8 decimals), average threshold (bps) and health factor (WAD).

    Examples
    --------
    2 WETH at $2,000 (LT 83 %) and 1,000 USDC at $1 (LT 78 %) supplied, 3,000 USDC borrowed:
    collateral $5,000; average LT (4000 × 8300 + 1000 × 7800) / 5000 = 8200; HF =
    5000 × 0.82 / 3000 = 1.3666…67:

    >>> weth = ReserveBalance(price=2_000 * 10**8, decimals=18, liquidation_threshold_bps=8_300,
    ...                       supplied=2 * 10**18)
    >>> usdc = ReserveBalance(price=10**8, decimals=6, liquidation_threshold_bps=7_800,
    ...                       supplied=1_000 * 10**6, borrowed=3_000 * 10**6)
    >>> user_account_data([weth, usdc])
    AccountData(total_collateral_base=500000000000, total_debt_base=300000000000, \
avg_liquidation_threshold_bps=8200, health_factor=1366666666666666667)
    """
    total_collateral = 0
    total_debt = 0
    weighted_threshold = 0
    for reserve in reserves:
        if reserve.liquidation_threshold_bps != 0 and reserve.is_collateral:
            value = to_base_currency(reserve.supplied, reserve.price, reserve.decimals)
            total_collateral += value
            weighted_threshold += value * reserve.liquidation_threshold_bps
        if reserve.borrowed != 0:
            total_debt += to_base_currency(reserve.borrowed, reserve.price, reserve.decimals)
    avg_threshold = weighted_threshold // total_collateral if total_collateral else 0
    return AccountData(
        total_collateral,
        total_debt,
        avg_threshold,
        health_factor(total_collateral, avg_threshold, total_debt),
    )


def max_liquidatable_debt(
    rules: LiquidationRules | str,
    *,
    user_reserve_debt: int,
    health_factor: Wad,
    debt_price: int,
    debt_decimals: int,
    user_reserve_collateral_base: int,
    total_debt_base: int,
) -> int:
    """Return the most debt of one reserve a single ``liquidationCall`` may repay.

    - v2 (``LendingPoolCollateralManager.liquidationCall``): ``debt.percentMul(5000)``.
    - v3.0 (aave-v3-core ``LiquidationLogic._calculateDebt``): ``debt.percentMul(cf)`` with
      ``cf = 5000`` if ``HF > 0.95`` else ``10000``.
    - v3.3 (aave-v3-origin v3.3.0 ``LiquidationLogic.executeLiquidationCall``): the whole reserve
      debt, unless the collateral reserve and the debt reserve are each worth ≥ $2,000 and
      ``HF > 0.95``; then, if this reserve's debt is worth more than half the user's total debt,
      ``totalDebtBase.percentMul(5000) * debtUnit / debtPrice`` (rounded down).

    Parameters
    ----------
    rules : LiquidationRules or str
        Version of the rules (``"v2"``, ``"v3.0"``, ``"v3.3"``).
    user_reserve_debt : int
        The user's debt in this reserve, base units.
    health_factor : Wad
        The user's health factor.
    debt_price : int
        USD with 8 decimals.
    debt_decimals : int
        Decimals of the debt token.
    user_reserve_collateral_base : int
        Value of the user's balance in the collateral reserve being seized, USD with 8
        decimals (used by v3.3 only).
    total_debt_base : int
        The user's total debt over all reserves, USD with 8 decimals (v3.3 only).

    Returns
    -------
    int
        Debt base units.

    Examples
    --------
    1,001 units at HF 0.96: v3.0 allows 1001 × 50 % = 500.5 → 501 (half up); at HF 0.95
    exactly, 100 %:

    >>> kw = dict(user_reserve_debt=1_001, debt_price=10**8, debt_decimals=6,
    ...           user_reserve_collateral_base=0, total_debt_base=0)
    >>> max_liquidatable_debt(LiquidationRules.V3_0, health_factor=96 * 10**16, **kw)
    501
    >>> max_liquidatable_debt(LiquidationRules.V3_0, health_factor=95 * 10**16, **kw)
    1001

    v3.3, 10,000 USDC of debt (all of the user's debt), $12,000 of collateral, HF 0.96: the cap
    is $10,000 × 50 % = $5,000 = 5,000 USDC; with only $1,999 of collateral there is no cap:

    >>> max_liquidatable_debt(LiquidationRules.V3_3, user_reserve_debt=10_000 * 10**6,
    ...     health_factor=96 * 10**16, debt_price=10**8, debt_decimals=6,
    ...     user_reserve_collateral_base=12_000 * 10**8, total_debt_base=10_000 * 10**8)
    5000000000
    >>> max_liquidatable_debt(LiquidationRules.V3_3, user_reserve_debt=10_000 * 10**6,
    ...     health_factor=96 * 10**16, debt_price=10**8, debt_decimals=6,
    ...     user_reserve_collateral_base=1_999 * 10**8, total_debt_base=10_000 * 10**8)
    10000000000
    """
    rules = LiquidationRules(rules)
    if rules is LiquidationRules.V2:
        return percent_mul(user_reserve_debt, DEFAULT_LIQUIDATION_CLOSE_FACTOR)
    if rules is LiquidationRules.V3_0:
        close_factor = (
            DEFAULT_LIQUIDATION_CLOSE_FACTOR
            if health_factor > CLOSE_FACTOR_HF_THRESHOLD
            else MAX_LIQUIDATION_CLOSE_FACTOR
        )
        return percent_mul(user_reserve_debt, close_factor)
    debt_unit: int = 10**debt_decimals
    user_reserve_debt_base = user_reserve_debt * debt_price // debt_unit
    if (
        user_reserve_collateral_base >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD
        and user_reserve_debt_base >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD
        and health_factor > CLOSE_FACTOR_HF_THRESHOLD
    ):
        half_total_debt_base = percent_mul(total_debt_base, DEFAULT_LIQUIDATION_CLOSE_FACTOR)
        if user_reserve_debt_base > half_total_debt_base:
            return half_total_debt_base * debt_unit // debt_price
    return user_reserve_debt


def available_collateral_to_liquidate(
    rules: LiquidationRules | str,
    *,
    collateral_price: int,
    collateral_decimals: int,
    debt_price: int,
    debt_decimals: int,
    debt_to_cover: int,
    user_collateral_balance: int,
    liquidation_bonus_bps: int,
    liquidation_protocol_fee_bps: int,
) -> CollateralToLiquidate:
    """Return the collateral bought by ``debt_to_cover``, capped by the user's balance.

    Mirrors ``_calculateAvailableCollateralToLiquidate``. v3.0 and v3.3 (aave-v3-core and
    aave-v3-origin v3.3.0 ``LiquidationLogic.sol``, same arithmetic)::

        base     = debtPrice * debtToCover * collUnit // (collPrice * debtUnit)
        max      = base.percentMul(LB)
        if max > balance: coll = balance
                          debt = (collPrice * balance * debtUnit // (debtPrice * collUnit))
                                 .percentDiv(LB)
        else:             coll = max; debt = debtToCover
        fee      = (coll - coll.percentDiv(LB)).percentMul(protocolFee)

    v2 (protocol-v2 ``LendingPoolCollateralManager.sol``) applies the bonus before dividing,
    ``(debtPrice * debtToCover * collUnit).percentMul(LB) // (collPrice * debtUnit)``, and has no
    protocol fee.

    Parameters
    ----------
    rules : LiquidationRules or str
        Version of the rules (``"v2"``, ``"v3.0"``, ``"v3.3"``).
    collateral_price, debt_price : int
        USD with 8 decimals.
    collateral_decimals, debt_decimals : int
        Token decimals.
    debt_to_cover : int
        Debt the liquidator offers to repay (after the close factor), debt base units.
    user_collateral_balance : int
        The user's balance in the collateral reserve, base units.
    liquidation_bonus_bps : int
        Bonus multiplier, basis points (``10_500``).
    liquidation_protocol_fee_bps : int
        Treasury share of the bonus, basis points (must be 0 under v2).

    Returns
    -------
    CollateralToLiquidate
        Collateral leaving the user (liquidator share + fee), debt repaid, fee, and the
        collateral's base-currency value.

    Raises
    ------
    ValueError
        If a protocol fee is given under v2 rules.

    Examples
    --------
    Repay 1,000 USDC against WETH at $2,000, bonus 5 %, fee 10 % of the bonus: 1000 / 2000 =
    0.5 WETH, × 1.05 = 0.525 WETH; bonus 0.525 − 0.5 = 0.025; fee 0.0025; liquidator 0.5225:

    >>> r = available_collateral_to_liquidate(LiquidationRules.V3_3,
    ...     collateral_price=2_000 * 10**8, collateral_decimals=18, debt_price=10**8,
    ...     debt_decimals=6, debt_to_cover=1_000 * 10**6, user_collateral_balance=10**18,
    ...     liquidation_bonus_bps=10_500, liquidation_protocol_fee_bps=1_000)
    >>> r.collateral_amount, r.debt_amount, r.protocol_fee, r.collateral_to_liquidator
    (525000000000000000, 1000000000, 2500000000000000, 522500000000000000)
    """
    rules = LiquidationRules(rules)
    collateral_unit: int = 10**collateral_decimals
    debt_unit: int = 10**debt_decimals
    if rules is LiquidationRules.V2:
        if liquidation_protocol_fee_bps != 0:
            raise ValueError(
                "expected liquidation_protocol_fee_bps == 0 under v2 rules (v2 has no protocol"
                f" fee), was {liquidation_protocol_fee_bps}"
            )
        max_collateral = percent_mul(
            debt_price * debt_to_cover * collateral_unit, liquidation_bonus_bps
        ) // (collateral_price * debt_unit)
    else:
        base_collateral = (debt_price * debt_to_cover * collateral_unit) // (
            collateral_price * debt_unit
        )
        max_collateral = percent_mul(base_collateral, liquidation_bonus_bps)
    if max_collateral > user_collateral_balance:
        collateral_amount = user_collateral_balance
        debt_amount = percent_div(
            (collateral_price * collateral_amount * debt_unit) // (debt_price * collateral_unit),
            liquidation_bonus_bps,
        )
    else:
        collateral_amount = max_collateral
        debt_amount = debt_to_cover
    protocol_fee = 0
    if liquidation_protocol_fee_bps != 0:
        bonus_collateral = collateral_amount - percent_div(collateral_amount, liquidation_bonus_bps)
        protocol_fee = percent_mul(bonus_collateral, liquidation_protocol_fee_bps)
    return CollateralToLiquidate(
        collateral_amount=collateral_amount,
        debt_amount=debt_amount,
        protocol_fee=protocol_fee,
        collateral_base=to_base_currency(collateral_amount, collateral_price, collateral_decimals),
    )


def _validate(position: LiquidationInput) -> None:
    # ValidationLogic.validateLiquidationCall, in its order (active/paused/sentinel/grace-period
    # checks that come first are not modelled).
    if position.health_factor >= HEALTH_FACTOR_LIQUIDATION_THRESHOLD:
        raise LiquidationReverted("HealthFactorNotBelowThreshold")
    if position.collateral_liquidation_threshold_bps == 0 or not position.collateral_enabled:
        raise LiquidationReverted("CollateralCannotBeLiquidated")
    if position.debt_balance == 0:
        raise LiquidationReverted("SpecifiedCurrencyNotBorrowedByUser")


def liquidation_call(
    position: LiquidationInput, rules: LiquidationRules | str, debt_to_cover: int
) -> LiquidationOutcome:
    """Return what ``Pool.liquidationCall`` does to one collateral and one debt reserve.

    Follows ``LiquidationLogic.executeLiquidationCall`` of the version (files in the module
    docstring): validation, close factor (`max_liquidatable_debt`), seizure
    (`available_collateral_to_liquidate`), then for v3.3 the dust rule — unless the call repays
    all of this reserve's debt or takes all of this collateral, the debt and the collateral left
    must each be worth at least $1,000 — and the deficit: if the collateral taken, in base
    currency, equals the user's whole collateral (``hasNoCollateralLeft``), the rest of this
    reserve's debt is burned into its deficit and ``burn_other_debts`` is set.

    Parameters
    ----------
    position : LiquidationInput
        The user's balances in the two reserves, parameters, totals and health factor.
    rules : LiquidationRules or str
        Version of the rules (``"v2"``, ``"v3.0"``, ``"v3.3"``).
    debt_to_cover : int
        Debt the liquidator offers to repay, debt base units (``MAX_UINT256`` for "as much as
        allowed").

    Returns
    -------
    LiquidationOutcome
        Amounts moved, deficit and balances left, in base units.

    Raises
    ------
    LiquidationReverted
        ``HealthFactorNotBelowThreshold``, ``CollateralCannotBeLiquidated``,
        ``SpecifiedCurrencyNotBorrowedByUser`` or (v3.3) ``MustNotLeaveDust``.

    Examples
    --------
    1 WETH at $2,000 against 1,800 USDC, LT 83 %, bonus 5 %, fee 10 %; HF 0.922. Under v3.3
    the debt is below $2,000, so all of it may go: 1800 / 2000 × 1.05 = 0.945 WETH seized, fee
    (0.945 − 0.9) × 10 % = 0.0045, liquidator 0.9405, 0.055 WETH left:

    >>> p = LiquidationInput.single_pair(
    ...     collateral_balance=10**18, debt_balance=1_800 * 10**6,
    ...     collateral_price=2_000 * 10**8, debt_price=10**8,
    ...     collateral_decimals=18, debt_decimals=6, liquidation_threshold_bps=8_300,
    ...     liquidation_bonus_bps=10_500, liquidation_protocol_fee_bps=1_000)
    >>> out = liquidation_call(p, LiquidationRules.V3_3, MAX_UINT256)
    >>> out.debt_repaid, out.collateral_to_liquidator, out.protocol_fee
    (1800000000, 940500000000000000, 4500000000000000)
    >>> out.remaining_debt, out.remaining_collateral, out.deficit
    (0, 55000000000000000, 0)

    Under v3.0 (HF ≤ 0.95, so 100 %) the same numbers; under v2 (no protocol fee) only 50 %,
    900 USDC, for 900 / 2000 × 1.05 = 0.4725 WETH:

    >>> import dataclasses
    >>> liquidation_call(p, LiquidationRules.V3_0, MAX_UINT256) == out
    True
    >>> p2 = dataclasses.replace(p, liquidation_protocol_fee_bps=0)
    >>> out2 = liquidation_call(p2, LiquidationRules.V2, MAX_UINT256)
    >>> out2.debt_repaid, out2.collateral_seized_total
    (900000000, 472500000000000000)
    """
    rules = LiquidationRules(rules)
    _validate(position)
    collateral_unit: int = 10**position.collateral_decimals
    debt_unit: int = 10**position.debt_decimals
    user_reserve_collateral_base = to_base_currency(
        position.collateral_balance, position.collateral_price, position.collateral_decimals
    )
    max_debt = max_liquidatable_debt(
        rules,
        user_reserve_debt=position.debt_balance,
        health_factor=position.health_factor,
        debt_price=position.debt_price,
        debt_decimals=position.debt_decimals,
        user_reserve_collateral_base=user_reserve_collateral_base,
        total_debt_base=position.total_debt_base,
    )
    seizure = available_collateral_to_liquidate(
        rules,
        collateral_price=position.collateral_price,
        collateral_decimals=position.collateral_decimals,
        debt_price=position.debt_price,
        debt_decimals=position.debt_decimals,
        debt_to_cover=min(debt_to_cover, max_debt),
        user_collateral_balance=position.collateral_balance,
        liquidation_bonus_bps=position.liquidation_bonus_bps,
        liquidation_protocol_fee_bps=position.liquidation_protocol_fee_bps,
    )
    debt_repaid = seizure.debt_amount
    seized = seizure.collateral_amount  # liquidator's share plus the fee
    if (
        rules is LiquidationRules.V3_3
        and debt_repaid < position.debt_balance
        and seized < position.collateral_balance
    ):
        debt_left_base = (position.debt_balance - debt_repaid) * position.debt_price // debt_unit
        collateral_left_base = (
            (position.collateral_balance - seized) * position.collateral_price // collateral_unit
        )
        if debt_left_base < MIN_LEFTOVER_BASE or collateral_left_base < MIN_LEFTOVER_BASE:
            raise LiquidationReverted("MustNotLeaveDust")
    burn_other_debts = (
        rules is LiquidationRules.V3_3 and position.total_collateral_base == seizure.collateral_base
    )
    # Solidity's checked subtraction would revert; the seizure never repays more than the debt.
    outstanding = position.debt_balance - debt_repaid
    if outstanding < 0:  # pragma: no cover - unreachable for debt_to_cover <= debt
        raise LiquidationReverted("Panic(0x11)")
    deficit = outstanding if burn_other_debts else 0
    return LiquidationOutcome(
        debt_repaid=debt_repaid,
        collateral_to_liquidator=seizure.collateral_to_liquidator,
        protocol_fee=seizure.protocol_fee,
        collateral_seized_total=seized,
        deficit=deficit,
        remaining_debt=outstanding - deficit,
        remaining_collateral=position.collateral_balance - seized,
        burn_other_debts=burn_other_debts,
    )


def burn_bad_debt(other_debts: Mapping[_K, int]) -> dict[_K, int]:
    """Return the deficit each of a user's other debt reserves takes when v3.3 burns bad debt.

    After a v3.3 liquidation that leaves no collateral (``burn_other_debts``),
    ``LiquidationLogic._burnBadDebt`` (aave-dao/aave-v3-origin v3.3.0) burns the user's whole
    debt in every other reserve they borrow from and adds it to that reserve's ``deficit``
    (the GHO accrued-interest discount is not modelled).

    Parameters
    ----------
    other_debts : Mapping
        The user's debt per other reserve, base units.

    Returns
    -------
    dict
        Deficit added per reserve (the whole debt), for reserves with non-zero debt.

    Examples
    --------
    >>> burn_bad_debt({"WETH": 2 * 10**15, "WBTC": 0, "DAI": 7})
    {'WETH': 2000000000000000, 'DAI': 7}
    """
    return {reserve: debt for reserve, debt in other_debts.items() if debt != 0}


# -- multi-reserve accounts ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountReserve:
    """One reserve of an account, with what a liquidation seizing it would use.

    Attributes
    ----------
    price : int
        Oracle price, USD with 8 decimals.
    decimals : int
        Token decimals.
    liquidation_threshold_bps : int
        The account's threshold for this reserve (the e-mode one where the category covers it).
    liquidation_bonus_bps : int
        Bonus multiplier when seized (the e-mode one where it applies), ≥ 10,000.
    liquidation_protocol_fee_bps : int
        Treasury share of the bonus (0 under v2).
    supplied, borrowed : int
        aToken and variable-debt balances in base units (scaled balance × index).
    is_collateral : bool
        Whether the account uses the supplied balance as collateral.
    """

    price: int
    decimals: int
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int = PERCENTAGE_FACTOR
    liquidation_protocol_fee_bps: int = 0
    supplied: int = 0
    borrowed: int = 0
    is_collateral: bool = True


@dataclass(frozen=True, slots=True)
class AccountLiquidation:
    """An account after one ``liquidationCall``.

    Attributes
    ----------
    outcome : LiquidationOutcome
        What the call moved in its two reserves.
    before : AccountData
        The account's totals and health factor before the call.
    supplied, borrowed : dict
        Balances per reserve afterwards, base units.
    deficit : dict
        Debt burned into each reserve's deficit (v3.3, no collateral left), base units.
    """

    outcome: LiquidationOutcome
    before: AccountData
    supplied: dict[str, int]
    borrowed: dict[str, int]
    deficit: dict[str, int]


def liquidate_account(
    reserves: Mapping[str, AccountReserve],
    collateral: str,
    debt: str,
    rules: LiquidationRules | str,
    debt_to_cover: int = MAX_UINT256,
) -> AccountLiquidation:
    """Return a multi-reserve account after ``liquidationCall(collateral, debt, user, …)``.

    The totals and health factor come from `user_account_data` over every reserve
    (``GenericLogic.calculateUserAccountData``), the call itself from `liquidation_call`, and
    under v3.3, when the collateral taken is all the collateral the account had in base
    currency, every other debt is burned into its reserve's deficit (``_burnBadDebt``).

    Parameters
    ----------
    reserves : Mapping
        The account's reserves by id, thresholds and bonus already e-mode adjusted.
    collateral, debt : str
        The reserves the liquidator chose.
    rules : LiquidationRules or str
        ``"v2"``, ``"v3.0"`` or ``"v3.3"``.
    debt_to_cover : int
        Debt base units offered, default "as much as allowed".

    Returns
    -------
    AccountLiquidation
        Balances and deficits after the call.

    Raises
    ------
    LiquidationReverted
        As `liquidation_call`.

    Examples
    --------
    1 WETH ($2,000, LT 83 %, bonus 5 %) and 1,000 USDC ($1, LT 78 %) supplied; 2,200 USDC
    and 600 USDT borrowed. Collateral
    $3,000, average LT (2000·8300 + 1000·7800) / 3000 = 8133, HF = 3000 × 0.8133 / 2800 =
    0.87139…. Under v3.3 the WETH reserve ($2,000) and the USDC debt ($2,200) both reach
    $2,000 but HF ≤ 0.95, so the whole 2,200 USDC may go: 2200 / 2000 × 1.05 = 1.155 WETH >
    1 WETH, so 1 WETH is seized for 2000 / 1.05 = 1,904.7619047… → 1,904.761905 USDC
    (``percentDiv`` rounds half up). USDC collateral remains, so no deficit:

    >>> r = {"WETH": AccountReserve(price=2_000 * 10**8, decimals=18,
    ...          liquidation_threshold_bps=8_300, liquidation_bonus_bps=10_500,
    ...          liquidation_protocol_fee_bps=1_000, supplied=10**18),
    ...      "USDC": AccountReserve(price=10**8, decimals=6, liquidation_threshold_bps=7_800,
    ...          liquidation_bonus_bps=10_450, supplied=1_000 * 10**6, borrowed=2_200 * 10**6),
    ...      "USDT": AccountReserve(price=10**8, decimals=6, liquidation_threshold_bps=7_800,
    ...          borrowed=600 * 10**6)}
    >>> out = liquidate_account(r, "WETH", "USDC", "v3.3")
    >>> out.before.avg_liquidation_threshold_bps, out.before.health_factor
    (8133, 871392857142857143)
    >>> out.outcome.debt_repaid, out.supplied["WETH"], out.borrowed["USDC"], out.deficit
    (1904761905, 0, 295238095, {})
    """
    rules = LiquidationRules(rules)
    before = user_account_data(
        ReserveBalance(
            price=r.price,
            decimals=r.decimals,
            liquidation_threshold_bps=r.liquidation_threshold_bps,
            supplied=r.supplied,
            borrowed=r.borrowed,
            is_collateral=r.is_collateral and r.supplied > 0,
        )
        for r in reserves.values()
    )
    coll = reserves[collateral]
    owed = reserves[debt]
    position = LiquidationInput(
        collateral_balance=coll.supplied,
        debt_balance=owed.borrowed,
        collateral_price=coll.price,
        debt_price=owed.price,
        collateral_decimals=coll.decimals,
        debt_decimals=owed.decimals,
        collateral_liquidation_threshold_bps=coll.liquidation_threshold_bps,
        liquidation_bonus_bps=coll.liquidation_bonus_bps,
        liquidation_protocol_fee_bps=coll.liquidation_protocol_fee_bps,
        total_collateral_base=before.total_collateral_base,
        total_debt_base=before.total_debt_base,
        health_factor=before.health_factor,
        collateral_enabled=coll.is_collateral and coll.supplied > 0,
    )
    outcome = liquidation_call(position, rules, debt_to_cover)
    supplied = {k: r.supplied for k, r in reserves.items()}
    borrowed = {k: r.borrowed for k, r in reserves.items()}
    supplied[collateral] = outcome.remaining_collateral
    borrowed[debt] = outcome.remaining_debt
    deficit: dict[str, int] = {}
    if outcome.deficit:
        deficit[debt] = outcome.deficit
    if outcome.burn_other_debts:
        others = {k: v for k, v in borrowed.items() if k != debt}
        for k, amount in burn_bad_debt(others).items():
            deficit[k] = amount
            borrowed[k] = 0
    return AccountLiquidation(outcome, before, supplied, borrowed, deficit)


# -- interest ------------------------------------------------------------------------------------

SECONDS_PER_YEAR = 365 * 86_400
"""``MathUtils.SECONDS_PER_YEAR`` (365 days)."""


def bps_to_ray(bps: int) -> Ray:
    """Return basis points as a RAY (``DefaultReserveInterestRateStrategyV2._bpsToRay``).

    >>> bps_to_ray(8_000) == 8 * RAY // 10
    True
    """
    return bps * 10**23


def calculate_linear_interest(rate: Ray, elapsed_s: int) -> Ray:
    """Return the linear interest factor ``1 + rate · Δt / year`` (``MathUtils``), a RAY.

    Examples
    --------
    aave-v3-origin ``tests/protocol/libraries/math/MathUtils.t.sol``
    (``test_calculateLinearInterest``): 8 % for 7 years gives 1.56:

    >>> calculate_linear_interest(8 * RAY // 100, 7 * SECONDS_PER_YEAR) == 156 * RAY // 100
    True
    """
    if elapsed_s < 0:
        raise ValueError(f"expected elapsed_s >= 0, was {elapsed_s}")
    return RAY + rate * elapsed_s // SECONDS_PER_YEAR


def calculate_compounded_interest(rate: Ray, elapsed_s: int) -> Ray:
    """Return the compounded interest factor of ``MathUtils.calculateCompoundedInterest``.

    Three terms of ``e^x`` with ``x = rate · Δt / year`` (rounded down)::

        RAY + x + x.rayMul(x / 2 + x.rayMul(x / 6))

    Examples
    --------
    aave-v3-origin ``MathUtils.t.sol`` (``test_calculateCompoundInterest_1``): 8 % for 7 years
    must be within 0.3 % of e^0.56 = 1.7506725…; by hand x = 0.56, 0.56 × (0.28 + 0.56 ×
    0.0933…) = 0.18606933…, so 1.74606933…; zero elapsed time gives exactly 1
    (``test_calculateCompoundInterest_edge``):

    >>> f = calculate_compounded_interest(8 * RAY // 100, 7 * SECONDS_PER_YEAR)
    >>> f
    1746069333333333333333333333
    >>> abs(f / 1.750672500296101e27 - 1) < 0.003
    True
    >>> calculate_compounded_interest(8 * RAY // 100, 0) == RAY
    True
    """
    if elapsed_s < 0:
        raise ValueError(f"expected elapsed_s >= 0, was {elapsed_s}")
    if elapsed_s == 0:
        return RAY
    x = rate * elapsed_s // SECONDS_PER_YEAR
    return RAY + x + ray_mul(x, x // 2 + ray_mul(x, x // 6))


@dataclass(frozen=True, slots=True)
class InterestRates:
    """A reserve's current rates, RAY per year."""

    liquidity_rate: Ray
    variable_borrow_rate: Ray


def calculate_interest_rates(
    *,
    total_debt: int,
    available_liquidity: int,
    optimal_usage_bps: int,
    base_rate_bps: int,
    slope1_bps: int,
    slope2_bps: int,
    reserve_factor_bps: int,
    unbacked: int = 0,
) -> InterestRates:
    """Return ``DefaultReserveInterestRateStrategyV2.calculateInterestRates`` (mechanics §1.6).

    ``U = debt.rayDiv(available + debt)``; below the optimal usage the borrow rate is
    ``base + slope1.rayMul(U).rayDiv(U_opt)``, above it ``base + slope1 +
    slope2.rayMul((U − U_opt).rayDiv(1 − U_opt))``; the liquidity rate is
    ``borrowRate.rayMul(U_supply).percentMul(1 − reserveFactor)``. No debt: liquidity rate 0,
    borrow rate ``base``.

    Examples
    --------
    aave-v3-origin ``tests/misc/rates/RateStrategy.calculateRates.t.sol``
    (``test_calculate_rates_80_percent_usage``, optimal 80 %): at 80 % usage the borrow rate is
    base + slope1. With the §1.6 wstETH figures (base 0, slope1 1 %, slope2 40 %, RF 35 %):
    1 %, and the liquidity rate 1 % × 0.8 × 0.65 = 0.52 %; at 90 % usage
    1 % + 40 % × 0.5 = 21 %:

    >>> kw = dict(optimal_usage_bps=8_000, base_rate_bps=0, slope1_bps=100, slope2_bps=4_000,
    ...           reserve_factor_bps=3_500)
    >>> r = calculate_interest_rates(total_debt=80, available_liquidity=20, **kw)
    >>> r.variable_borrow_rate == RAY // 100, r.liquidity_rate == 52 * RAY // 10_000
    (True, True)
    >>> r = calculate_interest_rates(total_debt=90, available_liquidity=10, **kw)
    >>> r.variable_borrow_rate == 21 * RAY // 100
    True
    """
    base = bps_to_ray(base_rate_bps)
    if total_debt == 0:
        return InterestRates(0, base)
    optimal = bps_to_ray(optimal_usage_bps)
    plus_debt = available_liquidity + total_debt
    borrow_usage = ray_div(total_debt, plus_debt)
    supply_usage = ray_div(total_debt, plus_debt + unbacked)
    if borrow_usage > optimal:
        excess = ray_div(borrow_usage - optimal, RAY - optimal)
        borrow_rate = base + bps_to_ray(slope1_bps) + ray_mul(bps_to_ray(slope2_bps), excess)
    else:
        borrow_rate = base + ray_div(ray_mul(bps_to_ray(slope1_bps), borrow_usage), optimal)
    liquidity_rate = percent_mul(
        ray_mul(borrow_rate, supply_usage), PERCENTAGE_FACTOR - reserve_factor_bps
    )
    return InterestRates(liquidity_rate, borrow_rate)


def accrue_indexes(
    liquidity_index: Ray,
    variable_borrow_index: Ray,
    rates: InterestRates,
    elapsed_s: int,
    *,
    has_debt: bool = True,
) -> tuple[Ray, Ray]:
    """Return the indexes after `elapsed_s` seconds (``ReserveLogic._updateIndexes``).

    The liquidity index grows linearly, the variable borrow index compounded; each only when
    its rate (or, for the borrow index, the reserve's scaled debt) is non-zero.

    Examples
    --------
    A year at a 10 % borrow rate and 5 % liquidity rate, from indexes of 1: 1.05 and
    1 + 0.1 + 0.1 × (0.05 + 0.1/6) = 1.10516…:

    >>> li, bi = accrue_indexes(RAY, RAY, InterestRates(5 * RAY // 100, RAY // 10),
    ...                         SECONDS_PER_YEAR)
    >>> li == 105 * RAY // 100, bi
    (True, 1105166666666666666666666667)
    """
    if rates.liquidity_rate != 0:
        liquidity_index = ray_mul(
            calculate_linear_interest(rates.liquidity_rate, elapsed_s), liquidity_index
        )
    if has_debt:
        variable_borrow_index = ray_mul(
            calculate_compounded_interest(rates.variable_borrow_rate, elapsed_s),
            variable_borrow_index,
        )
    return liquidity_index, variable_borrow_index
