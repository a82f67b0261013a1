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
    WAD,
    Wad,
    percent_div,
    percent_mul,
    wad_div,
)

__all__ = [
    "CLOSE_FACTOR_HF_THRESHOLD",
    "DEFAULT_LIQUIDATION_CLOSE_FACTOR",
    "HEALTH_FACTOR_LIQUIDATION_THRESHOLD",
    "MAX_LIQUIDATION_CLOSE_FACTOR",
    "MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD",
    "MIN_LEFTOVER_BASE",
    "AccountData",
    "CollateralToLiquidate",
    "LiquidationInput",
    "LiquidationOutcome",
    "LiquidationReverted",
    "LiquidationRules",
    "ReserveBalance",
    "available_collateral_to_liquidate",
    "burn_bad_debt",
    "health_factor",
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
