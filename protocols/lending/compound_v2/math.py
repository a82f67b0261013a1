"""Exact integer reference math of Compound v2 liquidations and interest, mirroring the contracts.

Everything is an integer, as on chain. Token amounts are in base units (wei of the underlying, or
cToken units with 8 decimals). Rates, factors and exchange rates are "mantissas" scaled by
``1e18`` (``Exp`` in ``ExponentialNoError.sol``). Oracle prices are what
``PriceOracle.getUnderlyingPrice`` returns: USD per *base unit* of the underlying, scaled by
``1e18``. That is ``price_usd × 10**(36 − underlying decimals)``, so $1 DAI (18 decimals) is
``1e18``, $1 USDC (6 decimals) is ``1e30``, and $516.01 ETH is ``516.01e18`` (see
`underlying_price_mantissa`). Every division truncates toward zero, as in ``ExponentialNoError``;
each function names the places where it truncates.

Mirrored from compound-finance/compound-protocol @ a3214f67 (2022-06, the "CToken cleanup" of
RFP12, Solidity 0.8.10). The arithmetic is unchanged since the v2.1 cToken upgrade that added
``protocolSeizeShareMantissa`` (before it, pass ``protocol_seize_share_mantissa=0``):

- ``contracts/ExponentialNoError.sol``: ``mul_``, ``div_``, ``truncate``, ``mul_ScalarTruncate``,
  ``mul_ScalarTruncateAddUInt``;
- ``contracts/Comptroller.sol``: ``getHypotheticalAccountLiquidityInternal``,
  ``liquidateBorrowAllowed``, ``liquidateCalculateSeizeTokens``, ``isDeprecated``;
- ``contracts/CToken.sol``: ``exchangeRateStoredInternal``, ``borrowBalanceStoredInternal``,
  ``accrueInterest``, ``repayBorrowFresh``, ``liquidateBorrowFresh``, ``seizeInternal``;
- ``contracts/CTokenInterfaces.sol``: ``protocolSeizeShareMantissa = 2.8e16``,
  ``borrowRateMaxMantissa = 0.0005e16``;
- ``contracts/BaseJumpRateModelV2.sol`` and ``contracts/JumpRateModel.sol``: ``utilizationRate``,
  ``getBorrowRate(Internal)``, ``getSupplyRate`` and the per-year → per-block constructors;
- ``contracts/ErrorReporter.sol``: ``ComptrollerErrorReporter.Error`` codes and the cToken custom
  errors.

Solidity 0.8 checked arithmetic is mirrored too: an intermediate above ``2**256 − 1`` raises
``CompoundV2Reverted("Panic(0x11)")`` and a division by zero ``"Panic(0x12)"``.

Not modelled (the caller's business): market listing, pause guardians, accrual freshness (pass
markets already accrued to the current block), ``liquidator == borrower``, fee-on-transfer
underlyings (the amount received is the amount repaid), ``CEther``'s ``getCashPrior`` (which
excludes ``msg.value`` during the call, so an in-kind cETH liquidation seizes at the
pre-repayment cash), COMP distribution and the ``Comptroller`` generations before G7.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from fractions import Fraction
from typing import TypeVar

from protosim.units import MAX_UINT256, to_base

__all__ = [
    "BLOCKS_PER_YEAR",
    "BORROW_RATE_MAX_MANTISSA",
    "CLOSE_FACTOR_MAX_MANTISSA",
    "CLOSE_FACTOR_MIN_MANTISSA",
    "EXP_SCALE",
    "PROTOCOL_SEIZE_SHARE_MANTISSA",
    "RESERVE_FACTOR_MAX_MANTISSA",
    "AccountLiquidity",
    "Accrual",
    "CTokenMarket",
    "CompoundV2Reverted",
    "ComptrollerError",
    "JumpRateModel",
    "LiquidationInput",
    "LiquidationOutcome",
    "MarketSnapshot",
    "SeizeOutcome",
    "account_liquidity",
    "accrue_interest",
    "borrow_balance_stored",
    "borrow_rate",
    "exchange_rate_stored",
    "is_deprecated",
    "liquidate_borrow",
    "liquidate_borrow_allowed",
    "liquidate_calculate_seize_tokens",
    "max_close",
    "seize",
    "supply_rate",
    "underlying_price_mantissa",
    "utilization_rate",
]

EXP_SCALE = 10**18
"""``expScale``: the scale of every ``Exp`` mantissa (1.0 = ``1e18``)."""

PROTOCOL_SEIZE_SHARE_MANTISSA = 28 * 10**15
"""2.8 %: share of the seized cTokens that is burned into the collateral market's reserves."""

BORROW_RATE_MAX_MANTISSA = 5 * 10**12
"""0.0005 % per block: ``accrueInterest`` reverts above this borrow rate."""

RESERVE_FACTOR_MAX_MANTISSA = EXP_SCALE
"""100 %: the largest reserve factor ``_setReserveFactor`` accepts."""

CLOSE_FACTOR_MIN_MANTISSA = 5 * 10**16
"""0.05, documented lower bound of ``closeFactorMantissa`` (``Comptroller.sol``)."""

CLOSE_FACTOR_MAX_MANTISSA = 9 * 10**17
"""0.9, documented upper bound of ``closeFactorMantissa`` (``Comptroller.sol``)."""

BLOCKS_PER_YEAR = 2_102_400
"""Blocks per year assumed by the interest-rate models (15-second blocks)."""

_K = TypeVar("_K")


class ComptrollerError(IntEnum):
    """``ComptrollerErrorReporter.Error``: codes the Comptroller returns instead of reverting."""

    NO_ERROR = 0
    UNAUTHORIZED = 1
    COMPTROLLER_MISMATCH = 2
    INSUFFICIENT_SHORTFALL = 3
    INSUFFICIENT_LIQUIDITY = 4
    INVALID_CLOSE_FACTOR = 5
    INVALID_COLLATERAL_FACTOR = 6
    INVALID_LIQUIDATION_INCENTIVE = 7
    MARKET_NOT_ENTERED = 8
    MARKET_NOT_LISTED = 9
    MARKET_ALREADY_LISTED = 10
    MATH_ERROR = 11
    NONZERO_BORROW_BALANCE = 12
    PRICE_ERROR = 13
    REJECTION = 14
    SNAPSHOT_ERROR = 15
    TOO_MANY_ASSETS = 16
    TOO_MUCH_REPAY = 17


class CompoundV2Reverted(Exception):  # noqa: N818 - named after the on-chain revert
    """A call that the Compound v2 contracts would revert.

    Parameters
    ----------
    reason : str
        The custom error or ``require`` string of the revert, as in ``ErrorReporter.sol`` and
        ``CToken.sol``: ``"LiquidateComptrollerRejection"``, ``"LiquidateCloseAmountIsZero"``,
        ``"LiquidateCloseAmountIsUintMax"``, ``"LIQUIDATE_SEIZE_TOO_MUCH"``,
        ``"LIQUIDATE_COMPTROLLER_CALCULATE_AMOUNT_SEIZE_FAILED"``,
        ``"borrow rate is absurdly high"``, ``"Can not repay more than the total borrow"``,
        ``"PRICE_ERROR"`` (an account-liquidity query with a zero price), ``"Panic(0x11)"``
        (overflow or underflow) or ``"Panic(0x12)"`` (division by zero).
    code : ComptrollerError or None
        The Comptroller error code carried by the revert, if any (e.g. ``INSUFFICIENT_SHORTFALL``
        inside ``LiquidateComptrollerRejection(3)``).
    """

    def __init__(self, reason: str, code: ComptrollerError | None = None) -> None:
        self.reason = reason
        self.code = code
        super().__init__(reason if code is None else f"{reason}({int(code)}: {code.name})")


def _uint(value: int) -> int:
    # Solidity 0.8 checked arithmetic: leaving [0, 2**256) reverts with Panic(0x11).
    if value < 0 or value > MAX_UINT256:
        raise CompoundV2Reverted("Panic(0x11)")
    return value


def _div(a: int, b: int) -> int:
    if b == 0:
        raise CompoundV2Reverted("Panic(0x12)")
    return a // b


def _mul_exp(a: int, b: int) -> int:
    # mul_(Exp a, Exp b) = a * b / expScale, truncated.
    return _uint(a * b) // EXP_SCALE


def _div_exp(a: int, b: int) -> int:
    # div_(Exp a, Exp b) = a * expScale / b, truncated.
    return _div(_uint(a * EXP_SCALE), b)


def _mul_scalar_truncate(exp: int, scalar: int) -> int:
    # mul_ScalarTruncate(Exp exp, uint scalar) = truncate(exp * scalar).
    return _uint(exp * scalar) // EXP_SCALE


def _require_non_negative(**values: int) -> None:
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"expected {name} >= 0, was {value}")


def underlying_price_mantissa(
    price_usd: int | str | Decimal | Fraction, underlying_decimals: int
) -> int:
    """Return a USD price in the Compound v2 oracle's unit, rounded down.

    ``PriceOracle.getUnderlyingPrice`` returns USD per base unit of the underlying scaled by
    ``1e18``, which is ``price × 10**(36 − decimals)`` (``UniswapAnchoredView`` builds it as
    ``price(6 decimals) × 1e30 / baseUnit``).

    Parameters
    ----------
    price_usd : int, str, Decimal or Fraction
        USD per whole token (``"1.30"``); floats are refused (see `protosim.units.to_base`).
    underlying_decimals : int
        Decimals of the underlying token, at most 36.

    Returns
    -------
    int
        ``floor(price_usd × 10**(36 − underlying_decimals))``.

    Examples
    --------
    DAI at $1.30 and USDC at $1 (6 decimals):

    >>> underlying_price_mantissa("1.30", 18), underlying_price_mantissa(1, 6) == 10**30
    (1300000000000000000, True)
    """
    if not 0 <= underlying_decimals <= 36:
        raise ValueError(f"expected 0 <= underlying_decimals <= 36, was {underlying_decimals}")
    return to_base(price_usd, 36 - underlying_decimals)


# -- cToken state ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CTokenMarket:
    """The stored state of one cToken market, accrued to the current block.

    Attributes
    ----------
    cash : int
        ``getCashPrior()``: underlying held by the cToken, underlying base units.
    total_borrows : int
        ``totalBorrows``, underlying base units.
    total_reserves : int
        ``totalReserves``, underlying base units.
    total_supply : int
        ``totalSupply`` of cTokens, cToken units (8 decimals on mainnet).
    borrow_index : int
        ``borrowIndex``, mantissa (starts at ``1e18``).
    reserve_factor_mantissa : int
        ``reserveFactorMantissa``, share of interest sent to reserves (``0.1e18`` = 10 %).
    initial_exchange_rate_mantissa : int
        ``initialExchangeRateMantissa``, used while ``total_supply == 0`` (default 0).
    """

    cash: int
    total_borrows: int
    total_reserves: int
    total_supply: int
    borrow_index: int = EXP_SCALE
    reserve_factor_mantissa: int = 0
    initial_exchange_rate_mantissa: int = 0

    def __post_init__(self) -> None:
        _require_non_negative(
            cash=self.cash,
            total_borrows=self.total_borrows,
            total_reserves=self.total_reserves,
            total_supply=self.total_supply,
            borrow_index=self.borrow_index,
            initial_exchange_rate_mantissa=self.initial_exchange_rate_mantissa,
        )
        if not 0 <= self.reserve_factor_mantissa <= RESERVE_FACTOR_MAX_MANTISSA:
            raise ValueError(
                f"expected 0 <= reserve factor <= 1e18, was {self.reserve_factor_mantissa}"
            )


def exchange_rate_stored(market: CTokenMarket) -> int:
    """Return the cToken exchange rate, underlying per cToken unit scaled by 1e18, rounded down.

    Mirrors ``CToken.exchangeRateStoredInternal``::

        totalSupply == 0 ? initialExchangeRate
                         : (cash + totalBorrows − totalReserves) * 1e18 / totalSupply

    Parameters
    ----------
    market : CTokenMarket
        The market's stored totals.

    Returns
    -------
    int
        Exchange-rate mantissa (for an 18-decimal underlying and 8-decimal cTokens, 0.02
        underlying per cToken is ``2e26``).

    Raises
    ------
    CompoundV2Reverted
        ``Panic(0x11)`` if ``cash + totalBorrows < totalReserves``.

    Examples
    --------
    ``spec/scenario/InKindLiquidation.scen`` ("Proper In-Kind Liquidation"): 99 BAT of cash,
    101 BAT borrowed, 50e9 cBAT units → (99 + 101) · 1e18 / 50e9 = 4e9 BAT-wei per cBAT unit:

    >>> exchange_rate_stored(CTokenMarket(cash=99 * 10**18, total_borrows=101 * 10**18,
    ...                                   total_reserves=0, total_supply=50 * 10**9))
    4000000000000000000000000000
    """
    if market.total_supply == 0:
        return market.initial_exchange_rate_mantissa
    underlying = _uint(market.cash + market.total_borrows - market.total_reserves)
    return _uint(underlying * EXP_SCALE) // market.total_supply


def borrow_balance_stored(principal: int, interest_index: int, borrow_index: int) -> int:
    """Return an account's borrow balance with interest, rounded down.

    Mirrors ``CToken.borrowBalanceStoredInternal``: ``principal * borrowIndex / interestIndex``,
    and 0 when the principal is 0.

    Parameters
    ----------
    principal : int
        ``accountBorrows[account].principal``, underlying base units.
    interest_index : int
        ``accountBorrows[account].interestIndex``: the market index at the account's last
        interaction, mantissa.
    borrow_index : int
        The market's current ``borrowIndex``, mantissa.

    Returns
    -------
    int
        Underlying base units.

    Examples
    --------
    1e18 borrowed at index 1.0, now 1.5 → 1.5e18; 3 wei at 1.0 → 1.5 gives 4.5 → 4:

    >>> borrow_balance_stored(10**18, 10**18, 15 * 10**17), borrow_balance_stored(3, 2, 3)
    (1500000000000000000, 4)
    """
    _require_non_negative(principal=principal, borrow_index=borrow_index)
    if principal == 0:
        return 0
    return _div(_uint(principal * borrow_index), interest_index)


# -- interest -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class JumpRateModel:
    """A jump-rate interest model in per-block terms (``BaseJumpRateModelV2`` storage).

    Build it from per-year parameters with `JumpRateModel.v2` (``JumpRateModelV2``, whose
    ``multiplierPerYear`` is the rate added *at the kink*) or `JumpRateModel.v1`
    (``JumpRateModel``, whose multiplier is the slope per unit of utilization). Both models
    then compute ``getBorrowRate`` and ``getSupplyRate`` with the same arithmetic.

    Attributes
    ----------
    base_rate_per_block : int
        ``baseRatePerBlock``, mantissa.
    multiplier_per_block : int
        ``multiplierPerBlock``: slope below the kink, mantissa per unit of utilization.
    jump_multiplier_per_block : int
        ``jumpMultiplierPerBlock``: slope above the kink.
    kink : int
        ``kink``: utilization where the jump starts, mantissa (``0.8e18`` = 80 %).
    """

    base_rate_per_block: int
    multiplier_per_block: int
    jump_multiplier_per_block: int
    kink: int

    def __post_init__(self) -> None:
        _require_non_negative(
            base_rate_per_block=self.base_rate_per_block,
            multiplier_per_block=self.multiplier_per_block,
            jump_multiplier_per_block=self.jump_multiplier_per_block,
            kink=self.kink,
        )

    @classmethod
    def v2(
        cls,
        *,
        base_rate_per_year: int,
        multiplier_per_year: int,
        jump_multiplier_per_year: int,
        kink: int,
    ) -> JumpRateModel:
        """Return the model ``JumpRateModelV2(baseRatePerYear, multiplierPerYear, …)`` stores.

        Mirrors ``BaseJumpRateModelV2.updateJumpRateModelInternal``::

            baseRatePerBlock       = baseRatePerYear / blocksPerYear
            multiplierPerBlock     = multiplierPerYear * 1e18 / (blocksPerYear * kink)
            jumpMultiplierPerBlock = jumpMultiplierPerYear / blocksPerYear

        Parameters
        ----------
        base_rate_per_year, multiplier_per_year, jump_multiplier_per_year : int
            Annual rates, mantissas.
        kink : int
            Kink utilization, mantissa, positive.

        Returns
        -------
        JumpRateModel
            Per-block parameters, each rounded down.

        Examples
        --------
        cUSDT's ``IRM_USDT_Updateable`` (compound-protocol ``networks/mainnet.json``): base 0,
        multiplier 4 %, jump 109 %, kink 80 %. 0.04e18 · 1e18 / (2,102,400 · 0.8e18) =
        23,782,343,987.8 → 23,782,343,987; 1.09e18 / 2,102,400 = 518,455,098,934.5 → …934:

        >>> JumpRateModel.v2(base_rate_per_year=0, multiplier_per_year=4 * 10**16,
        ...                  jump_multiplier_per_year=109 * 10**16, kink=8 * 10**17)
        JumpRateModel(base_rate_per_block=0, multiplier_per_block=23782343987, jump_multiplier_per_block=518455098934, kink=800000000000000000)
        """  # noqa: E501 - a doctest repr cannot wrap
        return cls(
            base_rate_per_block=base_rate_per_year // BLOCKS_PER_YEAR,
            multiplier_per_block=_div(multiplier_per_year * EXP_SCALE, BLOCKS_PER_YEAR * kink),
            jump_multiplier_per_block=jump_multiplier_per_year // BLOCKS_PER_YEAR,
            kink=kink,
        )

    @classmethod
    def v1(
        cls,
        *,
        base_rate_per_year: int,
        multiplier_per_year: int,
        jump_multiplier_per_year: int,
        kink: int,
    ) -> JumpRateModel:
        """Return the model the first ``JumpRateModel`` constructor stores.

        ``JumpRateModel.sol`` divides every annual parameter by ``blocksPerYear`` (rounded down)
        and does *not* divide the multiplier by the kink.

        Parameters
        ----------
        base_rate_per_year, multiplier_per_year, jump_multiplier_per_year : int
            Annual rates, mantissas.
        kink : int
            Kink utilization, mantissa.

        Returns
        -------
        JumpRateModel
            Per-block parameters.

        Examples
        --------
        >>> JumpRateModel.v1(base_rate_per_year=2 * 10**16, multiplier_per_year=2 * 10**17,
        ...                  jump_multiplier_per_year=2 * 10**18, kink=9 * 10**17).multiplier_per_block
        95129375951
        """  # noqa: E501 - a doctest line cannot wrap
        return cls(
            base_rate_per_block=base_rate_per_year // BLOCKS_PER_YEAR,
            multiplier_per_block=multiplier_per_year // BLOCKS_PER_YEAR,
            jump_multiplier_per_block=jump_multiplier_per_year // BLOCKS_PER_YEAR,
            kink=kink,
        )


def utilization_rate(cash: int, borrows: int, reserves: int) -> int:
    """Return ``borrows / (cash + borrows − reserves)`` as a mantissa, rounded down.

    Mirrors ``BaseJumpRateModelV2.utilizationRate`` (0 when there are no borrows).

    Parameters
    ----------
    cash, borrows, reserves : int
        The market's cash, total borrows and total reserves, underlying base units.

    Returns
    -------
    int
        Utilization mantissa (``1e18`` = 100 %; it can exceed 1e18 when reserves exceed cash).

    Raises
    ------
    CompoundV2Reverted
        ``Panic(0x11)`` if ``cash + borrows < reserves``; ``Panic(0x12)`` if they are equal.

    Examples
    --------
    >>> utilization_rate(2, 1, 0), utilization_rate(0, 0, 0)
    (333333333333333333, 0)
    """
    _require_non_negative(cash=cash, borrows=borrows, reserves=reserves)
    if borrows == 0:
        return 0
    return _div(_uint(borrows * EXP_SCALE), _uint(cash + borrows - reserves))


def borrow_rate(model: JumpRateModel, cash: int, borrows: int, reserves: int) -> int:
    """Return the borrow rate per block, mantissa, rounded down at each product.

    Mirrors ``BaseJumpRateModelV2.getBorrowRateInternal`` (and ``JumpRateModel.getBorrowRate``)::

        util <= kink: util * multiplier / 1e18 + base
        else:         (util − kink) * jump / 1e18 + (kink * multiplier / 1e18 + base)

    Parameters
    ----------
    model : JumpRateModel
        Per-block parameters.
    cash, borrows, reserves : int
        Market totals, underlying base units.

    Returns
    -------
    int
        Borrow rate per block, mantissa.

    Examples
    --------
    cUSDT's model at 50 % utilization: 0.5e18 · 23,782,343,987 / 1e18 = 11,891,171,993.5 → …993;
    at 90 %: 0.8 · 23,782,343,987 = 19,025,875,189.6 → …189, plus 0.1 · 518,455,098,934 =
    51,845,509,893.4 → …893, total 70,871,385,082:

    >>> m = JumpRateModel.v2(base_rate_per_year=0, multiplier_per_year=4 * 10**16,
    ...                      jump_multiplier_per_year=109 * 10**16, kink=8 * 10**17)
    >>> borrow_rate(m, 500, 500, 0), borrow_rate(m, 100, 900, 0)
    (11891171993, 70871385082)
    """
    util = utilization_rate(cash, borrows, reserves)
    if util <= model.kink:
        return _uint(util * model.multiplier_per_block) // EXP_SCALE + model.base_rate_per_block
    normal_rate = _uint(model.kink * model.multiplier_per_block) // EXP_SCALE
    normal_rate += model.base_rate_per_block
    excess_util = util - model.kink
    return _uint(excess_util * model.jump_multiplier_per_block) // EXP_SCALE + normal_rate


def supply_rate(
    model: JumpRateModel, cash: int, borrows: int, reserves: int, reserve_factor_mantissa: int
) -> int:
    """Return the supply rate per block, mantissa, rounded down at each product.

    Mirrors ``BaseJumpRateModelV2.getSupplyRate``::

        rateToPool = borrowRate * (1e18 − reserveFactor) / 1e18
        supplyRate = utilization * rateToPool / 1e18

    Parameters
    ----------
    model : JumpRateModel
        Per-block parameters.
    cash, borrows, reserves : int
        Market totals, underlying base units.
    reserve_factor_mantissa : int
        The market's reserve factor, mantissa.

    Returns
    -------
    int
        Supply rate per block, mantissa.

    Raises
    ------
    CompoundV2Reverted
        ``Panic(0x11)`` if the reserve factor exceeds ``1e18``.

    Examples
    --------
    cUSDT's model at 50 % with a 7.5 % reserve factor: 11,891,171,993 · 0.925 =
    10,999,334,093.5 → …093; × 0.5 = 5,499,667,046.5 → 5,499,667,046:

    >>> m = JumpRateModel.v2(base_rate_per_year=0, multiplier_per_year=4 * 10**16,
    ...                      jump_multiplier_per_year=109 * 10**16, kink=8 * 10**17)
    >>> supply_rate(m, 500, 500, 0, 75 * 10**15)
    5499667046
    """
    one_minus_reserve_factor = _uint(EXP_SCALE - reserve_factor_mantissa)
    rate = borrow_rate(model, cash, borrows, reserves)
    rate_to_pool = _uint(rate * one_minus_reserve_factor) // EXP_SCALE
    return _uint(utilization_rate(cash, borrows, reserves) * rate_to_pool) // EXP_SCALE


@dataclass(frozen=True, slots=True)
class Accrual:
    """Result of one ``accrueInterest`` step.

    Attributes
    ----------
    market : CTokenMarket
        The market with its new ``borrow_index``, ``total_borrows`` and ``total_reserves``.
    interest_accumulated : int
        Interest added to ``totalBorrows``, underlying base units (the ``AccrueInterest`` event).
    """

    market: CTokenMarket
    interest_accumulated: int


def accrue_interest(market: CTokenMarket, borrow_rate_mantissa: int, block_delta: int) -> Accrual:
    """Return the market after ``CToken.accrueInterest`` over ``block_delta`` blocks.

    Simple (not compounded) interest over the elapsed blocks, each step truncated::

        simpleInterestFactor = borrowRate * blockDelta
        interestAccumulated  = simpleInterestFactor * totalBorrows / 1e18
        totalBorrows        += interestAccumulated
        totalReserves       += reserveFactor * interestAccumulated / 1e18
        borrowIndex         += simpleInterestFactor * borrowIndex / 1e18

    With ``block_delta == 0`` the contract returns before reading the rate, so nothing changes.

    Parameters
    ----------
    market : CTokenMarket
        Stored totals at the last accrual.
    borrow_rate_mantissa : int
        ``interestRateModel.getBorrowRate(cash, totalBorrows, totalReserves)`` at the last
        accrual (see `borrow_rate`), per block.
    block_delta : int
        Blocks since the last accrual.

    Returns
    -------
    Accrual
        The accrued market and the interest accumulated.

    Raises
    ------
    CompoundV2Reverted
        ``"borrow rate is absurdly high"`` if the rate exceeds `BORROW_RATE_MAX_MANTISSA`;
        ``Panic(0x11)`` on overflow.

    Examples
    --------
    compound-protocol ``tests/Tokens/accrueInterestTest.js`` ("succeeds and saves updated values
    in storage on success"): rate 1e-6 per block, one block, borrows 1e22, reserves 1e20,
    reserve factor 10 % → interest 1e16, reserves + 1e15, index 1.000001:

    >>> m = CTokenMarket(cash=0, total_borrows=10**22, total_reserves=10**20, total_supply=0,
    ...                  reserve_factor_mantissa=10**17)
    >>> a = accrue_interest(m, 10**12, 1)
    >>> a.interest_accumulated, a.market.total_borrows - 10**22, a.market.total_reserves - 10**20
    (10000000000000000, 10000000000000000, 1000000000000000)
    >>> a.market.borrow_index
    1000001000000000000
    """
    _require_non_negative(borrow_rate_mantissa=borrow_rate_mantissa, block_delta=block_delta)
    if block_delta == 0:
        return Accrual(market, 0)
    if borrow_rate_mantissa > BORROW_RATE_MAX_MANTISSA:
        raise CompoundV2Reverted("borrow rate is absurdly high")
    simple_interest_factor = _uint(borrow_rate_mantissa * block_delta)
    interest_accumulated = _mul_scalar_truncate(simple_interest_factor, market.total_borrows)
    total_borrows = _uint(interest_accumulated + market.total_borrows)
    total_reserves = _uint(
        _mul_scalar_truncate(market.reserve_factor_mantissa, interest_accumulated)
        + market.total_reserves
    )
    borrow_index = _uint(
        _mul_scalar_truncate(simple_interest_factor, market.borrow_index) + market.borrow_index
    )
    return Accrual(
        dataclasses.replace(
            market,
            total_borrows=total_borrows,
            total_reserves=total_reserves,
            borrow_index=borrow_index,
        ),
        interest_accumulated,
    )


# -- account liquidity ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketSnapshot:
    """One market in ``accountAssets[account]``, as ``getAccountSnapshot`` and the oracle give it.

    Attributes
    ----------
    exchange_rate_mantissa : int
        ``exchangeRateStored()`` of the market.
    underlying_price_mantissa : int
        ``oracle.getUnderlyingPrice(cToken)``: USD per base unit × 1e18; zero is a price error.
    collateral_factor_mantissa : int
        ``markets[cToken].collateralFactorMantissa`` (``0.75e18`` = 75 %).
    c_token_balance : int
        The account's cTokens, cToken units, default 0.
    borrow_balance : int
        ``borrowBalanceStored(account)``, underlying base units, default 0.
    """

    exchange_rate_mantissa: int
    underlying_price_mantissa: int
    collateral_factor_mantissa: int
    c_token_balance: int = 0
    borrow_balance: int = 0

    def __post_init__(self) -> None:
        _require_non_negative(
            exchange_rate_mantissa=self.exchange_rate_mantissa,
            underlying_price_mantissa=self.underlying_price_mantissa,
            collateral_factor_mantissa=self.collateral_factor_mantissa,
            c_token_balance=self.c_token_balance,
            borrow_balance=self.borrow_balance,
        )


@dataclass(frozen=True, slots=True)
class AccountLiquidity:
    """What ``getHypotheticalAccountLiquidityInternal`` computes, in USD × 1e18.

    Attributes
    ----------
    liquidity : int
        ``sumCollateral − sumBorrowPlusEffects`` when positive, else 0.
    shortfall : int
        ``sumBorrowPlusEffects − sumCollateral`` when not negative, else 0; an account can be
        liquidated only while it is positive.
    sum_collateral : int
        Σ collateralFactor · exchangeRate · price · cTokens, each market truncated.
    sum_borrow_plus_effects : int
        Σ price · borrowBalance, plus the hypothetical redeem and borrow effects.
    """

    liquidity: int
    shortfall: int
    sum_collateral: int
    sum_borrow_plus_effects: int


def account_liquidity(
    markets: Mapping[_K, MarketSnapshot],
    *,
    modify: _K | None = None,
    redeem_tokens: int = 0,
    borrow_amount: int = 0,
) -> AccountLiquidity:
    """Return an account's liquidity and shortfall over the markets it has entered.

    Mirrors ``Comptroller.getHypotheticalAccountLiquidityInternal``. For each market, in order::

        tokensToDenom = mul_(mul_(collateralFactor, exchangeRate), oraclePrice)  # Exp, truncated
        sumCollateral        += truncate(tokensToDenom * cTokenBalance)
        sumBorrowPlusEffects += truncate(oraclePrice * borrowBalance)
        if market is cTokenModify:
            sumBorrowPlusEffects += truncate(tokensToDenom * redeemTokens)
            sumBorrowPlusEffects += truncate(oraclePrice * borrowAmount)

    Pass only the markets in ``accountAssets[account]``: a market counts as collateral only once
    the account has entered it, and borrowing enters the market automatically.

    Parameters
    ----------
    markets : Mapping
        The account's markets, keyed by any market id.
    modify : key or None
        ``cTokenModify``: the market of the hypothetical redeem or borrow; None for the plain
        ``getAccountLiquidity``.
    redeem_tokens : int
        Hypothetical cTokens redeemed from ``modify``.
    borrow_amount : int
        Hypothetical underlying borrowed from ``modify``.

    Returns
    -------
    AccountLiquidity
        Liquidity, shortfall and the two sums, USD × 1e18.

    Raises
    ------
    CompoundV2Reverted
        ``PRICE_ERROR`` (code 13) if a market's price is zero (the contract returns this code,
        and ``liquidateBorrowAllowed`` forwards it as ``LiquidateComptrollerRejection(13)``).

    Examples
    --------
    ``spec/scenario/InKindLiquidation.scen`` after the liquidation: 49.45e9 cBAT at 4e9 BAT-wei
    per unit, BAT at $1 (``1e18``), CF 50 %, 99 BAT borrowed → 98.9 − 99 = 0.1 BAT of shortfall:

    >>> cbat = MarketSnapshot(exchange_rate_mantissa=4 * 10**27, underlying_price_mantissa=10**18,
    ...                       collateral_factor_mantissa=5 * 10**17,
    ...                       c_token_balance=4945 * 10**7, borrow_balance=99 * 10**18)
    >>> r = account_liquidity({"cBAT": cbat})
    >>> r.liquidity, r.shortfall
    (0, 100000000000000000)
    """
    _require_non_negative(redeem_tokens=redeem_tokens, borrow_amount=borrow_amount)
    sum_collateral = 0
    sum_borrow_plus_effects = 0
    for key, market in markets.items():
        if market.underlying_price_mantissa == 0:
            raise CompoundV2Reverted("PRICE_ERROR", ComptrollerError.PRICE_ERROR)
        tokens_to_denom = _mul_exp(
            _mul_exp(market.collateral_factor_mantissa, market.exchange_rate_mantissa),
            market.underlying_price_mantissa,
        )
        sum_collateral = _uint(
            _mul_scalar_truncate(tokens_to_denom, market.c_token_balance) + sum_collateral
        )
        sum_borrow_plus_effects = _uint(
            _mul_scalar_truncate(market.underlying_price_mantissa, market.borrow_balance)
            + sum_borrow_plus_effects
        )
        if modify is not None and key == modify:
            sum_borrow_plus_effects = _uint(
                _mul_scalar_truncate(tokens_to_denom, redeem_tokens) + sum_borrow_plus_effects
            )
            sum_borrow_plus_effects = _uint(
                _mul_scalar_truncate(market.underlying_price_mantissa, borrow_amount)
                + sum_borrow_plus_effects
            )
    if sum_collateral > sum_borrow_plus_effects:
        return AccountLiquidity(
            sum_collateral - sum_borrow_plus_effects, 0, sum_collateral, sum_borrow_plus_effects
        )
    return AccountLiquidity(
        0, sum_borrow_plus_effects - sum_collateral, sum_collateral, sum_borrow_plus_effects
    )


# -- liquidation ------------------------------------------------------------------------------


def max_close(close_factor_mantissa: int, borrow_balance: int) -> int:
    """Return the most a liquidator may repay in one call, rounded down.

    ``mul_ScalarTruncate(Exp(closeFactorMantissa), borrowBalance)`` in
    ``Comptroller.liquidateBorrowAllowed``.

    Parameters
    ----------
    close_factor_mantissa : int
        ``closeFactorMantissa`` (``0.5e18`` = 50 %).
    borrow_balance : int
        The borrower's ``borrowBalanceStored`` in the repaid market, underlying base units.

    Returns
    -------
    int
        Underlying base units.

    Examples
    --------
    >>> max_close(5 * 10**17, 35_000 * 10**18) == 17_500 * 10**18, max_close(5 * 10**17, 3)
    (True, 1)
    """
    _require_non_negative(
        close_factor_mantissa=close_factor_mantissa, borrow_balance=borrow_balance
    )
    return _mul_scalar_truncate(close_factor_mantissa, borrow_balance)


def is_deprecated(
    collateral_factor_mantissa: int, borrow_guardian_paused: bool, reserve_factor_mantissa: int
) -> bool:
    """Return whether ``Comptroller.isDeprecated`` holds for a market.

    A market is deprecated when its collateral factor is 0, borrowing is paused and its reserve
    factor is 100 %; all its borrows may then be liquidated, healthy or not.

    Parameters
    ----------
    collateral_factor_mantissa : int
        ``markets[cToken].collateralFactorMantissa``.
    borrow_guardian_paused : bool
        ``borrowGuardianPaused[cToken]``.
    reserve_factor_mantissa : int
        ``cToken.reserveFactorMantissa()``.

    Returns
    -------
    bool
        True if all three hold.

    Examples
    --------
    >>> is_deprecated(0, True, 10**18), is_deprecated(0, True, 9 * 10**17)
    (True, False)
    """
    return (
        collateral_factor_mantissa == 0
        and borrow_guardian_paused
        and reserve_factor_mantissa == EXP_SCALE
    )


def liquidate_borrow_allowed(
    *,
    shortfall: int,
    borrow_balance: int,
    repay_amount: int,
    close_factor_mantissa: int,
    deprecated: bool = False,
) -> None:
    """Check ``Comptroller.liquidateBorrowAllowed``; return None if the liquidation may proceed.

    Deprecated borrowed market: only ``repayAmount <= borrowBalance`` is required. Otherwise the
    borrower must have a shortfall (strictly positive) and ``repayAmount`` may not exceed
    `max_close`. The Comptroller returns an error code; ``liquidateBorrowFresh`` reverts with it
    as ``LiquidateComptrollerRejection(code)``, which is what this function raises.

    Parameters
    ----------
    shortfall : int
        The borrower's shortfall from `account_liquidity`, USD × 1e18.
    borrow_balance : int
        The borrower's ``borrowBalanceStored`` in the repaid market, underlying base units.
    repay_amount : int
        Underlying the liquidator offers to repay.
    close_factor_mantissa : int
        ``closeFactorMantissa``.
    deprecated : bool
        Whether the borrowed market is deprecated (`is_deprecated`), default False.

    Raises
    ------
    CompoundV2Reverted
        ``LiquidateComptrollerRejection`` with ``INSUFFICIENT_SHORTFALL`` (3) or
        ``TOO_MUCH_REPAY`` (17); ``"Can not repay more than the total borrow"`` in a deprecated
        market.

    Examples
    --------
    ``InKindLiquidation.scen``: close factor 0.1, 101 BAT borrowed, shortfall 1 BAT. 10.1 BAT is
    the most one call may repay; at zero shortfall nothing may be repaid:

    >>> liquidate_borrow_allowed(shortfall=10**18, borrow_balance=101 * 10**18,
    ...                          repay_amount=101 * 10**17, close_factor_mantissa=10**17)
    >>> try:
    ...     liquidate_borrow_allowed(shortfall=0, borrow_balance=101 * 10**18,
    ...                              repay_amount=2 * 10**18, close_factor_mantissa=10**17)
    ... except CompoundV2Reverted as reverted:
    ...     print(reverted)
    LiquidateComptrollerRejection(3: INSUFFICIENT_SHORTFALL)
    """
    _require_non_negative(shortfall=shortfall, repay_amount=repay_amount)
    if deprecated:
        if borrow_balance < repay_amount:
            raise CompoundV2Reverted("Can not repay more than the total borrow")
        return
    if shortfall == 0:
        raise CompoundV2Reverted(
            "LiquidateComptrollerRejection", ComptrollerError.INSUFFICIENT_SHORTFALL
        )
    if repay_amount > max_close(close_factor_mantissa, borrow_balance):
        raise CompoundV2Reverted("LiquidateComptrollerRejection", ComptrollerError.TOO_MUCH_REPAY)


def liquidate_calculate_seize_tokens(
    *,
    actual_repay_amount: int,
    price_borrowed_mantissa: int,
    price_collateral_mantissa: int,
    exchange_rate_mantissa: int,
    liquidation_incentive_mantissa: int,
) -> int:
    """Return the collateral cTokens a repayment seizes, with ``ExponentialNoError`` truncation.

    Mirrors ``Comptroller.liquidateCalculateSeizeTokens``::

        numerator   = mul_(Exp(liquidationIncentive), Exp(priceBorrowed))      # truncated
        denominator = mul_(Exp(priceCollateral), Exp(exchangeRate))            # truncated
        ratio       = div_(numerator, denominator)                             # truncated
        seizeTokens = truncate(ratio * actualRepayAmount)

    Against the exact ``repay · incentive · priceBorrowed / (priceCollateral · exchangeRate)``,
    the truncated numerator, ratio and final product round the seizure down (the truncation of
    ``ratio`` to 18 decimals can cost the liquidator more than one unit on large repayments),
    but the truncated *denominator* ``D = truncate(priceCollateral · exchangeRate)`` rounds it
    up: the result is at most ``exact · (D + 1) / D``. For mainnet magnitudes ``D ≈ 1e29`` (ETH at
    $516 times a cETH rate of 2e26, over 1e18), so only the downward truncations matter.

    Parameters
    ----------
    actual_repay_amount : int
        Underlying actually repaid, base units of the borrowed asset.
    price_borrowed_mantissa, price_collateral_mantissa : int
        ``getUnderlyingPrice`` of the two markets (USD per base unit × 1e18).
    exchange_rate_mantissa : int
        ``exchangeRateStored()`` of the collateral market.
    liquidation_incentive_mantissa : int
        ``liquidationIncentiveMantissa`` (``1.08e18`` = 8 % bonus).

    Returns
    -------
    int
        Collateral cTokens to seize, cToken units.

    Raises
    ------
    CompoundV2Reverted
        ``LIQUIDATE_COMPTROLLER_CALCULATE_AMOUNT_SEIZE_FAILED`` with ``PRICE_ERROR`` (13) if a
        price is zero (the Comptroller returns the code; ``liquidateBorrowFresh`` reverts);
        ``Panic(0x11)`` on overflow; ``Panic(0x12)`` if the exchange rate is zero.

    Examples
    --------
    compound-protocol ``tests/Comptroller/liquidateCalculateAmountSeizeTest.js``, case
    ``[2e18, 2e18, 1.42e18, 1.3e18, 2.45e18]`` (exchange rate, borrowed price, collateral price,
    incentive, repay). numerator = 2.6e18, denominator = 2.84e18, ratio = 0.915492957746478873
    (truncated); × 2.45 = 2.242957746478873238.85 → …238, one unit below the exact …239:

    >>> liquidate_calculate_seize_tokens(actual_repay_amount=245 * 10**16,
    ...     price_borrowed_mantissa=2 * 10**18, price_collateral_mantissa=142 * 10**16,
    ...     exchange_rate_mantissa=2 * 10**18, liquidation_incentive_mantissa=13 * 10**17)
    2242957746478873238
    """
    _require_non_negative(
        actual_repay_amount=actual_repay_amount,
        price_borrowed_mantissa=price_borrowed_mantissa,
        price_collateral_mantissa=price_collateral_mantissa,
        exchange_rate_mantissa=exchange_rate_mantissa,
        liquidation_incentive_mantissa=liquidation_incentive_mantissa,
    )
    if price_borrowed_mantissa == 0 or price_collateral_mantissa == 0:
        raise CompoundV2Reverted(
            "LIQUIDATE_COMPTROLLER_CALCULATE_AMOUNT_SEIZE_FAILED", ComptrollerError.PRICE_ERROR
        )
    numerator = _mul_exp(liquidation_incentive_mantissa, price_borrowed_mantissa)
    denominator = _mul_exp(price_collateral_mantissa, exchange_rate_mantissa)
    ratio = _div_exp(numerator, denominator)
    return _mul_scalar_truncate(ratio, actual_repay_amount)


@dataclass(frozen=True, slots=True)
class SeizeOutcome:
    """What ``CToken.seizeInternal`` moves in the collateral market.

    Attributes
    ----------
    liquidator_seize_tokens : int
        cTokens credited to the liquidator.
    protocol_seize_tokens : int
        cTokens taken from the borrower and burned (``totalSupply`` falls by this much).
    protocol_seize_amount : int
        Underlying added to ``totalReserves`` for the burned cTokens, rounded down.
    borrower_tokens : int
        The borrower's cTokens left.
    market : CTokenMarket
        The collateral market with its new ``total_supply`` and ``total_reserves``.
    """

    liquidator_seize_tokens: int
    protocol_seize_tokens: int
    protocol_seize_amount: int
    borrower_tokens: int
    market: CTokenMarket


def seize(
    market: CTokenMarket,
    *,
    seize_tokens: int,
    borrower_tokens: int,
    protocol_seize_share_mantissa: int = PROTOCOL_SEIZE_SHARE_MANTISSA,
) -> SeizeOutcome:
    """Return the split of seized cTokens between the liquidator and the reserves.

    Mirrors ``CToken.seizeInternal`` (v2.1+)::

        protocolSeizeTokens   = mul_(seizeTokens, Exp(protocolSeizeShare))   # truncated
        liquidatorSeizeTokens = seizeTokens − protocolSeizeTokens
        protocolSeizeAmount   = truncate(exchangeRateStored * protocolSeizeTokens)
        totalReserves += protocolSeizeAmount;  totalSupply −= protocolSeizeTokens

    The exchange rate is read from ``market`` as it stands (for an in-kind liquidation, after the
    repayment). Burning tokens at a truncated price never lowers the exchange rate.

    Parameters
    ----------
    market : CTokenMarket
        The collateral market, accrued.
    seize_tokens : int
        cTokens to seize (`liquidate_calculate_seize_tokens`).
    borrower_tokens : int
        The borrower's cToken balance in this market.
    protocol_seize_share_mantissa : int
        Share burned into reserves; 2.8 % since v2.1, 0 for the earlier cTokens.

    Returns
    -------
    SeizeOutcome
        Token split, reserve addition and the updated market.

    Raises
    ------
    CompoundV2Reverted
        ``Panic(0x11)`` if the borrower holds fewer than ``seize_tokens``.

    Examples
    --------
    compound-protocol ``tests/Tokens/liquidateTest.js`` ("seize … succeeds, updates balances,
    adds to reserves"): 40e18 cTokens seized at exchange rate 0.2 → 2.8 % = 1.12e18 burned,
    38.88e18 to the liquidator, 1.12e18 × 0.2 = 0.224e18 underlying to reserves:

    >>> m = CTokenMarket(cash=2 * 10**18, total_borrows=0, total_reserves=0,
    ...                  total_supply=10 * 10**18)
    >>> s = seize(m, seize_tokens=40 * 10**18, borrower_tokens=40 * 10**18)
    >>> s.liquidator_seize_tokens, s.protocol_seize_tokens, s.protocol_seize_amount
    (38880000000000000000, 1120000000000000000, 224000000000000000)
    """
    _require_non_negative(seize_tokens=seize_tokens, borrower_tokens=borrower_tokens)
    if not 0 <= protocol_seize_share_mantissa <= EXP_SCALE:
        raise ValueError(
            f"expected 0 <= protocol seize share <= 1e18, was {protocol_seize_share_mantissa}"
        )
    protocol_seize_tokens = _mul_scalar_truncate(protocol_seize_share_mantissa, seize_tokens)
    liquidator_seize_tokens = seize_tokens - protocol_seize_tokens
    exchange_rate = exchange_rate_stored(market)
    protocol_seize_amount = _mul_scalar_truncate(exchange_rate, protocol_seize_tokens)
    new_market = dataclasses.replace(
        market,
        total_reserves=_uint(market.total_reserves + protocol_seize_amount),
        total_supply=_uint(market.total_supply - protocol_seize_tokens),
    )
    return SeizeOutcome(
        liquidator_seize_tokens=liquidator_seize_tokens,
        protocol_seize_tokens=protocol_seize_tokens,
        protocol_seize_amount=protocol_seize_amount,
        borrower_tokens=_uint(borrower_tokens - seize_tokens),
        market=new_market,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationInput:
    """One borrower as ``CToken.liquidateBorrow(borrower, repayAmount, cTokenCollateral)`` sees it.

    Both markets must be accrued to the current block (``liquidateBorrowInternal`` accrues them
    first; see `accrue_interest`).

    Attributes
    ----------
    borrowed : CTokenMarket
        The market whose debt is repaid.
    collateral : CTokenMarket or None
        The market whose cTokens are seized; None for an in-kind liquidation (the same market,
        which the repayment changes before the seizure).
    borrow_balance : int
        The borrower's ``borrowBalanceStored`` in ``borrowed``, underlying base units.
    borrower_collateral_tokens : int
        The borrower's cTokens in the collateral market.
    shortfall : int
        The borrower's shortfall over all markets (`account_liquidity`), USD × 1e18.
    price_borrowed_mantissa, price_collateral_mantissa : int
        Oracle prices (USD per base unit × 1e18); equal for an in-kind liquidation.
    close_factor_mantissa : int
        ``closeFactorMantissa`` (0.5e18 on mainnet; 0.1e18 in the scenario tests).
    liquidation_incentive_mantissa : int
        ``liquidationIncentiveMantissa`` (1.08e18 on mainnet).
    protocol_seize_share_mantissa : int
        The collateral cToken's ``protocolSeizeShareMantissa``, default 2.8 %.
    borrowed_deprecated : bool
        Whether the borrowed market is deprecated (`is_deprecated`), default False.
    """

    borrowed: CTokenMarket
    collateral: CTokenMarket | None
    borrow_balance: int
    borrower_collateral_tokens: int
    shortfall: int
    price_borrowed_mantissa: int
    price_collateral_mantissa: int
    close_factor_mantissa: int
    liquidation_incentive_mantissa: int
    protocol_seize_share_mantissa: int = PROTOCOL_SEIZE_SHARE_MANTISSA
    borrowed_deprecated: bool = False

    def __post_init__(self) -> None:
        _require_non_negative(
            borrow_balance=self.borrow_balance,
            borrower_collateral_tokens=self.borrower_collateral_tokens,
            shortfall=self.shortfall,
            close_factor_mantissa=self.close_factor_mantissa,
            liquidation_incentive_mantissa=self.liquidation_incentive_mantissa,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationOutcome:
    """What one successful ``liquidateBorrow`` changes.

    Attributes
    ----------
    actual_repay_amount : int
        Underlying repaid by the liquidator.
    seize_tokens : int
        Collateral cTokens taken from the borrower.
    liquidator_seize_tokens : int
        cTokens credited to the liquidator.
    protocol_seize_tokens : int
        cTokens burned into reserves.
    protocol_seize_amount : int
        Underlying added to the collateral market's reserves.
    borrow_balance : int
        The borrower's debt left in the borrowed market.
    borrower_collateral_tokens : int
        The borrower's collateral cTokens left.
    borrowed : CTokenMarket
        The borrowed market after the repayment (cash up, borrows down; for an in-kind
        liquidation also the seizure).
    collateral : CTokenMarket
        The collateral market after the seizure (the same object as ``borrowed`` in kind).
    """

    actual_repay_amount: int
    seize_tokens: int
    liquidator_seize_tokens: int
    protocol_seize_tokens: int
    protocol_seize_amount: int
    borrow_balance: int
    borrower_collateral_tokens: int
    borrowed: CTokenMarket
    collateral: CTokenMarket


def liquidate_borrow(position: LiquidationInput, repay_amount: int) -> LiquidationOutcome:
    """Return what ``CToken.liquidateBorrowFresh`` does, with its checks in the contract's order.

    1. ``liquidateBorrowAllowed`` (`liquidate_borrow_allowed`);
    2. ``repayAmount == 0`` → ``LiquidateCloseAmountIsZero``; ``== type(uint).max`` →
       ``LiquidateCloseAmountIsUintMax``;
    3. ``repayBorrowFresh``: borrower debt and ``totalBorrows`` fall, cash rises by the repayment;
    4. `liquidate_calculate_seize_tokens`, then ``require(balanceOf(borrower) >= seizeTokens,
       "LIQUIDATE_SEIZE_TOO_MUCH")``;
    5. `seize` in the collateral market (after step 3 when in kind).

    Parameters
    ----------
    position : LiquidationInput
        The borrower, both markets and the Comptroller parameters.
    repay_amount : int
        Underlying the liquidator repays.

    Returns
    -------
    LiquidationOutcome
        Amounts moved and both markets afterwards.

    Raises
    ------
    CompoundV2Reverted
        With the revert name of whichever check fails first.

    Examples
    --------
    ``spec/scenario/InKindLiquidation.scen`` ("Proper In-Kind Liquidation"): Geoff holds 50e9
    cBAT (4e9 BAT-wei per unit) and owes 101 BAT, incentive 1.1, close factor 0.1. Torrey repays
    2 BAT: 2e18 · 1.1 / 4e9 = 0.55e9 cBAT seized, 2.8 % = 0.0154e9 burned, 0.5346e9 to Torrey:

    >>> cbat = CTokenMarket(cash=99 * 10**18, total_borrows=101 * 10**18, total_reserves=0,
    ...                     total_supply=50 * 10**9)
    >>> p = LiquidationInput(borrowed=cbat, collateral=None, borrow_balance=101 * 10**18,
    ...     borrower_collateral_tokens=50 * 10**9, shortfall=10**18,
    ...     price_borrowed_mantissa=10**18, price_collateral_mantissa=10**18,
    ...     close_factor_mantissa=10**17, liquidation_incentive_mantissa=11 * 10**17)
    >>> out = liquidate_borrow(p, 2 * 10**18)
    >>> out.seize_tokens, out.liquidator_seize_tokens, out.borrower_collateral_tokens
    (550000000, 534600000, 49450000000)
    >>> out.borrow_balance == 99 * 10**18, exchange_rate_stored(out.collateral) == 4 * 10**27
    (True, True)
    """
    liquidate_borrow_allowed(
        shortfall=position.shortfall,
        borrow_balance=position.borrow_balance,
        repay_amount=repay_amount,
        close_factor_mantissa=position.close_factor_mantissa,
        deprecated=position.borrowed_deprecated,
    )
    if repay_amount == 0:
        raise CompoundV2Reverted("LiquidateCloseAmountIsZero")
    if repay_amount == MAX_UINT256:
        raise CompoundV2Reverted("LiquidateCloseAmountIsUintMax")
    borrowed = position.borrowed
    borrowed = dataclasses.replace(
        borrowed,
        cash=_uint(borrowed.cash + repay_amount),
        total_borrows=_uint(borrowed.total_borrows - repay_amount),
    )
    borrow_balance = _uint(position.borrow_balance - repay_amount)
    collateral = borrowed if position.collateral is None else position.collateral
    seize_tokens = liquidate_calculate_seize_tokens(
        actual_repay_amount=repay_amount,
        price_borrowed_mantissa=position.price_borrowed_mantissa,
        price_collateral_mantissa=position.price_collateral_mantissa,
        exchange_rate_mantissa=exchange_rate_stored(collateral),
        liquidation_incentive_mantissa=position.liquidation_incentive_mantissa,
    )
    if position.borrower_collateral_tokens < seize_tokens:
        raise CompoundV2Reverted("LIQUIDATE_SEIZE_TOO_MUCH")
    seized = seize(
        collateral,
        seize_tokens=seize_tokens,
        borrower_tokens=position.borrower_collateral_tokens,
        protocol_seize_share_mantissa=position.protocol_seize_share_mantissa,
    )
    if position.collateral is None:
        borrowed = seized.market
    return LiquidationOutcome(
        actual_repay_amount=repay_amount,
        seize_tokens=seize_tokens,
        liquidator_seize_tokens=seized.liquidator_seize_tokens,
        protocol_seize_tokens=seized.protocol_seize_tokens,
        protocol_seize_amount=seized.protocol_seize_amount,
        borrow_balance=borrow_balance,
        borrower_collateral_tokens=seized.borrower_tokens,
        borrowed=borrowed,
        collateral=seized.market,
    )
