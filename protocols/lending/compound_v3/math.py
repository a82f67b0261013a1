"""Exact integer reference math of Compound v3 (Comet), mirroring the contracts.

Everything is an integer, as on chain. Base and collateral amounts are in token base units
(``base_scale = 10**decimals``, e.g. ``1e6`` for USDC), prices are Chainlink answers in USD with
8 decimals (``PRICE_SCALE = 1e8``), factors are scaled by ``FACTOR_SCALE = 1e18``, and the base
indices by ``BASE_INDEX_SCALE = 1e15``. An account's base position is a signed *principal*;
its present value is ``principal × index / 1e15`` with the supply index when positive and the
borrow index when negative. Solidity's integer division truncates toward zero, also for the
signed liquidity products, and this module does the same.

Mirrored from compound-finance/comet @ d5a30b0a (2026-05), whose arithmetic here is unchanged
since the v3 launch audits (2022; ``quoteCollateral`` since PR #327, "Derive store front discount
from liquidationFactor"):

- ``contracts/CometCore.sol``: ``presentValue``, ``presentValueSupply``, ``presentValueBorrow``,
  ``principalValue``, ``principalValueSupply`` (rounds down), ``principalValueBorrow`` (rounds
  up); the constants ``BASE_INDEX_SCALE``, ``FACTOR_SCALE``, ``PRICE_SCALE``,
  ``SECONDS_PER_YEAR``;
- ``contracts/CometMath.sol``: ``safe64``, ``safe104``, ``safe128``, ``signed104``,
  ``unsigned256`` and their custom errors;
- ``contracts/Comet.sol``: the constructor (per-year → per-second rates),
  ``getPackedAssetInternal``/``getAssetInfo`` (factors kept to 4 decimals),
  ``accruedInterestIndices``, ``getSupplyRate``, ``getBorrowRate``, ``getUtilization``,
  ``getReserves``, ``isBorrowCollateralized``, ``isLiquidatable``, ``absorbInternal``,
  ``repayAndSupplyAmount``, ``buyCollateral``, ``quoteCollateral``, ``mulFactor``,
  ``mulPrice``, ``signedMulPrice``, ``divPrice``. ``CometWithExtendedAssetList.sol`` (24
  assets) has the same arithmetic.

Not modelled (the caller's business): pause flags, reward tracking indices and liquidator
points, supply caps, ``baseBorrowMin``, fee-on-transfer tokens (pass the amount actually
received), per-asset ``totalsCollateral`` bookkeeping (`absorb` returns the amounts seized), and
the implicit accrual before ``absorb``/``getReserves`` (pass a market already accrued with
`accrue`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "BASE_INDEX_SCALE",
    "FACTOR_SCALE",
    "PRICE_SCALE",
    "SECONDS_PER_YEAR",
    "AbsorbOutcome",
    "AssetInfo",
    "BaseMarket",
    "BuyCollateralOutcome",
    "CollateralBalance",
    "CometRates",
    "CometReverted",
    "absorb",
    "account_liquidity",
    "accrue",
    "accrued_interest_indices",
    "buy_collateral",
    "buy_collateral_allowed",
    "get_borrow_rate",
    "get_reserves",
    "get_supply_rate",
    "get_utilization",
    "is_borrow_collateralized",
    "is_liquidatable",
    "present_value",
    "present_value_borrow",
    "present_value_supply",
    "principal_value",
    "principal_value_borrow",
    "principal_value_supply",
    "quote_collateral",
    "repay_and_supply_amount",
]

FACTOR_SCALE = 10**18
"""Scale of collateral factors, liquidation factors, rates and utilization (1.0 = ``1e18``)."""

BASE_INDEX_SCALE = 10**15
"""Scale of ``baseSupplyIndex`` and ``baseBorrowIndex`` (both start at ``1e15``)."""

PRICE_SCALE = 10**8
"""Scale of prices: Comet requires 8-decimal price feeds (USD)."""

SECONDS_PER_YEAR = 31_536_000
"""365 days, used to turn the per-year rate configuration into per-second rates."""

_FACTOR_DESCALE = FACTOR_SCALE // 10**4  # asset factors are stored with 4 decimals
_UINT64_MAX = 2**64 - 1
_UINT104_MAX = 2**104 - 1
_UINT128_MAX = 2**128 - 1
_INT104_MAX = 2**103 - 1


class CometReverted(Exception):  # noqa: N818 - named after the on-chain revert
    """A call that Comet would revert.

    Parameters
    ----------
    error : str
        The custom error of ``CometMainInterface.sol``/``CometMath.sol`` (``"NotLiquidatable"``,
        ``"NotForSale"``, ``"TooMuchSlippage"``, ``"InsufficientReserves"``, ``"BadPrice"``,
        ``"InvalidUInt64"``, ``"InvalidUInt104"``, ``"InvalidUInt128"``, ``"InvalidInt104"``,
        ``"NegativeNumber"``) or ``"Panic(0x11)"`` for checked-arithmetic overflow or underflow.
    """

    def __init__(self, error: str) -> None:
        self.error = error
        super().__init__(error)


def _tdiv(numerator: int, denominator: int) -> int:
    # Solidity int256 division truncates toward zero (Python's // floors).
    quotient = abs(numerator) // denominator
    return -quotient if numerator < 0 else quotient


def _safe64(value: int) -> int:
    if value > _UINT64_MAX:
        raise CometReverted("InvalidUInt64")
    return value


def _safe104(value: int) -> int:
    if value > _UINT104_MAX:
        raise CometReverted("InvalidUInt104")
    return value


def _signed104(value: int) -> int:
    if value > _INT104_MAX:
        raise CometReverted("InvalidInt104")
    return value


def _price(price: int) -> int:
    # Comet.getPrice: `if (price <= 0) revert BadPrice();`
    if price <= 0:
        raise CometReverted("BadPrice")
    return price


def _require_non_negative(**values: int) -> None:
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"expected {name} >= 0, was {value}")


def _require_power_of_ten(name: str, value: int, max_decimals: int) -> None:
    if value not in {10**d for d in range(max_decimals + 1)}:
        raise ValueError(
            f"expected {name} = 10**decimals with decimals <= {max_decimals}, was {value}"
        )


# -- configuration and state ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetInfo:
    """One collateral asset as ``Comet.getAssetInfo`` returns it, with its current price.

    The factors are the *stored* ones: Comet keeps 4 decimals (``getPackedAssetInternal``
    divides by ``1e14`` and ``getAssetInfo`` multiplies back), so build from configuration values
    with `AssetInfo.from_config`.

    Attributes
    ----------
    price : int
        ``getPrice(priceFeed)``, USD with 8 decimals; ≤ 0 reverts ``BadPrice`` when read.
    scale : int
        ``10**decimals`` of the asset.
    borrow_collateral_factor : int
        Share of the value that may be borrowed against, ``FACTOR_SCALE``.
    liquidate_collateral_factor : int
        Share of the value below which the account can be absorbed; strictly above the borrow
        factor and at most ``1e18``.
    liquidation_factor : int
        Share of the value credited to the account on absorb (``0.95e18``: 5 % penalty).
    """

    price: int
    scale: int
    borrow_collateral_factor: int
    liquidate_collateral_factor: int
    liquidation_factor: int

    def __post_init__(self) -> None:
        _require_power_of_ten("scale", self.scale, 38)
        factors = {
            "borrow_collateral_factor": self.borrow_collateral_factor,
            "liquidate_collateral_factor": self.liquidate_collateral_factor,
            "liquidation_factor": self.liquidation_factor,
        }
        for name, value in factors.items():
            if value < 0 or value % _FACTOR_DESCALE:
                raise ValueError(
                    f"expected {name} to be a non-negative multiple of 1e14 (Comet stores 4"
                    f" decimals; use AssetInfo.from_config), was {value}"
                )
        if self.borrow_collateral_factor >= self.liquidate_collateral_factor:
            raise ValueError(
                "BorrowCFTooLarge: expected borrow_collateral_factor < "
                f"liquidate_collateral_factor, was {self.borrow_collateral_factor} >= "
                f"{self.liquidate_collateral_factor}"
            )
        if self.liquidate_collateral_factor > FACTOR_SCALE:
            raise ValueError(
                f"LiquidateCFTooLarge: expected <= 1e18, was {self.liquidate_collateral_factor}"
            )
        if self.liquidation_factor > FACTOR_SCALE:
            raise ValueError(
                "expected liquidation_factor <= 1e18 (quoteCollateral underflows above), was"
                f" {self.liquidation_factor}"
            )

    @classmethod
    def from_config(
        cls,
        *,
        price: int,
        decimals: int,
        borrow_collateral_factor: int,
        liquidate_collateral_factor: int,
        liquidation_factor: int,
    ) -> AssetInfo:
        """Return the asset info Comet stores for a configuration, factors cut to 4 decimals.

        Mirrors ``getPackedAssetInternal`` (``factor / 1e14``, with the ``BorrowCFTooLarge``
        and ``LiquidateCFTooLarge`` checks) and ``getAssetInfo`` (``× 1e14``).

        Parameters
        ----------
        price : int
            Current price, USD with 8 decimals.
        decimals : int
            Token decimals.
        borrow_collateral_factor, liquidate_collateral_factor, liquidation_factor : int
            Configuration factors, ``FACTOR_SCALE``.

        Returns
        -------
        AssetInfo
            The stored view of the asset.

        Examples
        --------
        comet ``test/absorb-test.ts`` configures ``liquidateCF: factor(2 / 3)`` =
        0.666666e18; Comet stores 0.6666e18:

        >>> AssetInfo.from_config(price=175 * 10**8, decimals=18,
        ...     borrow_collateral_factor=5 * 10**17,
        ...     liquidate_collateral_factor=666_666 * 10**12,
        ...     liquidation_factor=10**18).liquidate_collateral_factor
        666600000000000000
        """
        return cls(
            price=price,
            scale=10**decimals,
            borrow_collateral_factor=borrow_collateral_factor // _FACTOR_DESCALE * _FACTOR_DESCALE,
            liquidate_collateral_factor=(
                liquidate_collateral_factor // _FACTOR_DESCALE * _FACTOR_DESCALE
            ),
            liquidation_factor=liquidation_factor // _FACTOR_DESCALE * _FACTOR_DESCALE,
        )


@dataclass(frozen=True, slots=True)
class CollateralBalance:
    """An account's balance of one collateral asset (``userCollateral[account][asset]``).

    Attributes
    ----------
    asset : AssetInfo
        The asset, its factors and price.
    balance : int
        Asset base units; zero means the asset is not in ``assetsIn`` and is skipped.
    """

    asset: AssetInfo
    balance: int

    def __post_init__(self) -> None:
        if not 0 <= self.balance <= _UINT128_MAX:
            raise ValueError(f"expected 0 <= balance < 2**128, was {self.balance}")


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseMarket:
    """The base-asset side of one Comet market (``totalsBasic`` plus the base token's feed).

    Attributes
    ----------
    base_scale : int
        ``baseScale = 10**decimals`` of the base token (6 to 18 decimals).
    base_price : int
        ``getPrice(baseTokenPriceFeed)``, USD with 8 decimals.
    base_supply_index, base_borrow_index : int
        ``baseSupplyIndex`` and ``baseBorrowIndex``, ``BASE_INDEX_SCALE`` (start at ``1e15``).
    total_supply_base, total_borrow_base : int
        ``totalSupplyBase`` and ``totalBorrowBase``: sums of principals, base units.
    base_balance : int
        Comet's ERC-20 balance of the base token (enters `get_reserves`), default 0.
    """

    base_scale: int
    base_price: int
    base_supply_index: int = BASE_INDEX_SCALE
    base_borrow_index: int = BASE_INDEX_SCALE
    total_supply_base: int = 0
    total_borrow_base: int = 0
    base_balance: int = 0

    def __post_init__(self) -> None:
        if self.base_scale not in {10**d for d in range(6, 19)}:
            raise ValueError(
                f"expected base_scale = 10**d with 6 <= d <= 18, was {self.base_scale}"
            )
        if not 0 < self.base_supply_index <= _UINT64_MAX:
            raise ValueError(
                f"expected 0 < base_supply_index < 2**64, was {self.base_supply_index}"
            )
        if not 0 < self.base_borrow_index <= _UINT64_MAX:
            raise ValueError(
                f"expected 0 < base_borrow_index < 2**64, was {self.base_borrow_index}"
            )
        for name, value in (
            ("total_supply_base", self.total_supply_base),
            ("total_borrow_base", self.total_borrow_base),
        ):
            if not 0 <= value <= _UINT104_MAX:
                raise ValueError(f"expected 0 <= {name} < 2**104, was {value}")
        _require_non_negative(base_balance=self.base_balance)


# -- principal and present value ---------------------------------------------------------------


def present_value_supply(base_supply_index: int, principal: int) -> int:
    """Return a supply principal's present value, rounded down (``presentValueSupply``).

    Parameters
    ----------
    base_supply_index : int
        ``baseSupplyIndex``, ``1e15`` scale.
    principal : int
        Non-negative principal, base units.

    Returns
    -------
    int
        ``principal * index // 1e15``, base units.

    Examples
    --------
    >>> present_value_supply(3 * 10**15, 3), present_value_supply(1_500_000_000_000_000, 3)
    (9, 4)
    """
    _require_non_negative(principal=principal)
    return principal * base_supply_index // BASE_INDEX_SCALE


def present_value_borrow(base_borrow_index: int, principal: int) -> int:
    """Return a borrow principal's present value, rounded down (``presentValueBorrow``).

    Parameters
    ----------
    base_borrow_index : int
        ``baseBorrowIndex``, ``1e15`` scale.
    principal : int
        Magnitude of a negative principal, base units.

    Returns
    -------
    int
        ``principal * index // 1e15``, base units (the debt's magnitude).

    Examples
    --------
    >>> present_value_borrow(3 * 10**15, 4)
    12
    """
    _require_non_negative(principal=principal)
    return principal * base_borrow_index // BASE_INDEX_SCALE


def principal_value_supply(base_supply_index: int, present_value: int) -> int:
    """Return the supply principal of a present value, rounded *down* (``principalValueSupply``).

    Rounding down means a supplier is never credited more than they deposited.

    Parameters
    ----------
    base_supply_index : int
        ``baseSupplyIndex``, ``1e15`` scale.
    present_value : int
        Non-negative present value, base units.

    Returns
    -------
    int
        ``present * 1e15 // index``.

    Raises
    ------
    CometReverted
        ``InvalidUInt104`` if the principal does not fit in 104 bits.

    Examples
    --------
    10 units at index 3.0 → 3.33 → 3 (worth 9 again):

    >>> principal_value_supply(3 * 10**15, 10)
    3
    """
    _require_non_negative(present_value=present_value)
    return _safe104(present_value * BASE_INDEX_SCALE // base_supply_index)


def principal_value_borrow(base_borrow_index: int, present_value: int) -> int:
    """Return the borrow principal of a present value, rounded *up* (``principalValueBorrow``).

    Rounding up means a borrower never owes less than they took.

    Parameters
    ----------
    base_borrow_index : int
        ``baseBorrowIndex``, ``1e15`` scale.
    present_value : int
        Magnitude of the debt, base units.

    Returns
    -------
    int
        ``ceil(present * 1e15 / index)``.

    Raises
    ------
    CometReverted
        ``InvalidUInt104`` if the principal does not fit in 104 bits.

    Examples
    --------
    10 units at index 3.0 → 3.33 → 4 (worth 12):

    >>> principal_value_borrow(3 * 10**15, 10)
    4
    """
    _require_non_negative(present_value=present_value)
    return _safe104((present_value * BASE_INDEX_SCALE + base_borrow_index - 1) // base_borrow_index)


def present_value(principal: int, market: BaseMarket) -> int:
    """Return the signed present value of a signed principal (``CometCore.presentValue``).

    Parameters
    ----------
    principal : int
        ``userBasic[account].principal``: positive supplies, negative borrows, base units.
    market : BaseMarket
        Supplies the two indices.

    Returns
    -------
    int
        Positive supply balance or negative borrow balance; each magnitude rounded down.

    Examples
    --------
    >>> m = BaseMarket(base_scale=10**6, base_price=10**8, base_supply_index=3 * 10**15,
    ...                base_borrow_index=3 * 10**15)
    >>> present_value(3, m), present_value(-4, m)
    (9, -12)
    """
    if principal >= 0:
        return present_value_supply(market.base_supply_index, principal)
    return -present_value_borrow(market.base_borrow_index, -principal)


def principal_value(present: int, market: BaseMarket) -> int:
    """Return the signed principal of a signed present value (``CometCore.principalValue``).

    Supplies round down and borrows round up in magnitude: both in the protocol's favour.

    Parameters
    ----------
    present : int
        Signed present value, base units.
    market : BaseMarket
        Supplies the two indices.

    Returns
    -------
    int
        Signed principal (``int104``).

    Raises
    ------
    CometReverted
        ``InvalidUInt104`` or ``InvalidInt104`` if the principal does not fit.

    Examples
    --------
    >>> m = BaseMarket(base_scale=10**6, base_price=10**8, base_supply_index=3 * 10**15,
    ...                base_borrow_index=3 * 10**15)
    >>> principal_value(10, m), principal_value(-10, m)
    (3, -4)
    """
    if present >= 0:
        return _signed104(principal_value_supply(market.base_supply_index, present))
    return -_signed104(principal_value_borrow(market.base_borrow_index, -present))


def get_utilization(market: BaseMarket) -> int:
    """Return ``totalBorrow / totalSupply`` in present value, ``FACTOR_SCALE``, rounded down.

    Mirrors ``Comet.getUtilization`` (0 when nothing is supplied; may exceed ``1e18``).

    Parameters
    ----------
    market : BaseMarket
        Totals and indices.

    Returns
    -------
    int
        Utilization, ``1e18`` = 100 %.

    Examples
    --------
    comet ``test/interest-rate-test.ts`` ("when below kink utilization"): 500 supplied at index
    2.0 and 25 borrowed at 4.0 → 100 / 1000 = 10 %:

    >>> get_utilization(BaseMarket(base_scale=10**6, base_price=10**8,
    ...     base_supply_index=2 * 10**15, base_borrow_index=4 * 10**15,
    ...     total_supply_base=500, total_borrow_base=25))
    100000000000000000
    """
    total_supply = present_value_supply(market.base_supply_index, market.total_supply_base)
    total_borrow = present_value_borrow(market.base_borrow_index, market.total_borrow_base)
    if total_supply == 0:
        return 0
    return total_borrow * FACTOR_SCALE // total_supply


def get_reserves(market: BaseMarket) -> int:
    """Return the protocol's base reserves, which may be negative (``Comet.getReserves``).

    ``reserves = balance − presentValueSupply(totalSupplyBase) + presentValueBorrow(
    totalBorrowBase)``. The contract projects the indices to ``now`` first; pass a market
    already accrued (`accrue`). Negative reserves are bad debt borne by suppliers.

    Parameters
    ----------
    market : BaseMarket
        Totals, indices and Comet's base-token balance.

    Returns
    -------
    int
        Signed reserves, base units.

    Examples
    --------
    comet ``test/absorb-test.ts`` ("absorbs 1 account"): nothing held, 100 units borrowed →
    reserves 100:

    >>> get_reserves(BaseMarket(base_scale=10**6, base_price=10**8, total_borrow_base=100))
    100
    """
    total_supply = present_value_supply(market.base_supply_index, market.total_supply_base)
    total_borrow = present_value_borrow(market.base_borrow_index, market.total_borrow_base)
    return market.base_balance - total_supply + total_borrow


# -- interest rates -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CometRates:
    """Comet's two kinked rate curves, per second (``Comet`` immutables).

    Attributes
    ----------
    supply_kink, borrow_kink : int
        ``supplyKink`` and ``borrowKink``, utilization, ``FACTOR_SCALE``.
    supply_base, supply_slope_low, supply_slope_high : int
        ``supplyPerSecondInterestRate{Base,SlopeLow,SlopeHigh}``, ``FACTOR_SCALE`` per second.
    borrow_base, borrow_slope_low, borrow_slope_high : int
        ``borrowPerSecondInterestRate{Base,SlopeLow,SlopeHigh}``.
    """

    supply_kink: int
    supply_base: int
    supply_slope_low: int
    supply_slope_high: int
    borrow_kink: int
    borrow_base: int
    borrow_slope_low: int
    borrow_slope_high: int

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not 0 <= value <= _UINT64_MAX:
                raise ValueError(f"expected 0 <= {field.name} < 2**64, was {value}")

    @classmethod
    def from_per_year(
        cls,
        *,
        supply_kink: int,
        supply_base: int,
        supply_slope_low: int,
        supply_slope_high: int,
        borrow_kink: int,
        borrow_base: int,
        borrow_slope_low: int,
        borrow_slope_high: int,
    ) -> CometRates:
        """Return the per-second curves the ``Comet`` constructor derives from per-year values.

        Each ``…PerYearInterestRate…`` is divided by ``SECONDS_PER_YEAR``, rounded down; the
        kinks are copied.

        Parameters
        ----------
        supply_kink, borrow_kink : int
            Kinks, ``FACTOR_SCALE``.
        supply_base, supply_slope_low, supply_slope_high : int
            Supply curve, ``FACTOR_SCALE`` per year (``supplyBase``, ``supplySlopeLow``, … in
            ``deployments/*/configuration.json``).
        borrow_base, borrow_slope_low, borrow_slope_high : int
            Borrow curve, ``FACTOR_SCALE`` per year.

        Returns
        -------
        CometRates
            Per-second curves.

        Examples
        --------
        cUSDCv3 (``deployments/mainnet/usdc/configuration.json``) borrow base 1.5 %/yr:
        0.015e18 / 31,536,000 = 475,646,879.76 → 475,646,879 per second:

        >>> r = CometRates.from_per_year(supply_kink=8 * 10**17, supply_base=0,
        ...     supply_slope_low=325 * 10**14, supply_slope_high=4 * 10**17,
        ...     borrow_kink=8 * 10**17, borrow_base=15 * 10**15,
        ...     borrow_slope_low=35 * 10**15, borrow_slope_high=25 * 10**16)
        >>> r.borrow_base, r.supply_slope_low
        (475646879, 1030568239)
        """
        return cls(
            supply_kink=supply_kink,
            supply_base=supply_base // SECONDS_PER_YEAR,
            supply_slope_low=supply_slope_low // SECONDS_PER_YEAR,
            supply_slope_high=supply_slope_high // SECONDS_PER_YEAR,
            borrow_kink=borrow_kink,
            borrow_base=borrow_base // SECONDS_PER_YEAR,
            borrow_slope_low=borrow_slope_low // SECONDS_PER_YEAR,
            borrow_slope_high=borrow_slope_high // SECONDS_PER_YEAR,
        )


def _kinked_rate(utilization: int, kink: int, base: int, low: int, high: int) -> int:
    # base + mulFactor(low, min(u, kink)) + mulFactor(high, max(u − kink, 0)), as Comet writes it.
    if utilization <= kink:
        return _safe64(base + low * utilization // FACTOR_SCALE)
    return _safe64(base + low * kink // FACTOR_SCALE + high * (utilization - kink) // FACTOR_SCALE)


def get_supply_rate(rates: CometRates, utilization: int) -> int:
    """Return the per-second supply rate at a utilization (``Comet.getSupplyRate``).

    ``base + slopeLow · u`` up to the kink, then ``base + slopeLow · kink + slopeHigh ·
    (u − kink)``, each product rounded down (``mulFactor``).

    Parameters
    ----------
    rates : CometRates
        Per-second curves.
    utilization : int
        ``FACTOR_SCALE`` (`get_utilization`).

    Returns
    -------
    int
        Per-second rate, ``FACTOR_SCALE``.

    Raises
    ------
    CometReverted
        ``InvalidUInt64`` if the rate does not fit in 64 bits.

    Examples
    --------
    comet ``test/interest-rate-test.ts`` ("when above kink utilization"): slopes 4 %/40 %, kink
    80 %, u = 90 %. Per second the slopes are 1,268,391,679 and 12,683,916,793; × 0.8 and × 0.1
    give 1,014,713,343 + 1,268,391,679 = 2,283,105,022, or 7.2 %/yr less the truncation:

    >>> r = CometRates.from_per_year(supply_kink=8 * 10**17, supply_base=0,
    ...     supply_slope_low=4 * 10**16, supply_slope_high=4 * 10**17, borrow_kink=8 * 10**17,
    ...     borrow_base=10**16, borrow_slope_low=5 * 10**16, borrow_slope_high=3 * 10**17)
    >>> get_supply_rate(r, 9 * 10**17) * SECONDS_PER_YEAR
    71999999973792000
    """
    _require_non_negative(utilization=utilization)
    return _kinked_rate(
        utilization,
        rates.supply_kink,
        rates.supply_base,
        rates.supply_slope_low,
        rates.supply_slope_high,
    )


def get_borrow_rate(rates: CometRates, utilization: int) -> int:
    """Return the per-second borrow rate at a utilization (``Comet.getBorrowRate``).

    Same kinked shape as `get_supply_rate`, with the borrow curve.

    Parameters
    ----------
    rates : CometRates
        Per-second curves.
    utilization : int
        ``FACTOR_SCALE``.

    Returns
    -------
    int
        Per-second rate, ``FACTOR_SCALE``.

    Raises
    ------
    CometReverted
        ``InvalidUInt64`` if the rate does not fit in 64 bits.

    Examples
    --------
    Same curves, u = 10 %: base 317,097,919 + 1,585,489,599 × 0.1 = 475,646,878 per second,
    1.5 %/yr less the truncation:

    >>> r = CometRates.from_per_year(supply_kink=8 * 10**17, supply_base=0,
    ...     supply_slope_low=4 * 10**16, supply_slope_high=4 * 10**17, borrow_kink=8 * 10**17,
    ...     borrow_base=10**16, borrow_slope_low=5 * 10**16, borrow_slope_high=3 * 10**17)
    >>> get_borrow_rate(r, 10**17) * SECONDS_PER_YEAR
    14999999944608000
    """
    _require_non_negative(utilization=utilization)
    return _kinked_rate(
        utilization,
        rates.borrow_kink,
        rates.borrow_base,
        rates.borrow_slope_low,
        rates.borrow_slope_high,
    )


def accrued_interest_indices(
    market: BaseMarket, rates: CometRates, time_elapsed: int
) -> tuple[int, int]:
    """Return ``(baseSupplyIndex, baseBorrowIndex)`` after ``time_elapsed`` seconds.

    Mirrors ``Comet.accruedInterestIndices``: rates at the current utilization, simple interest
    over the interval, each increment rounded down::

        supplyIndex += safe64(mulFactor(supplyIndex, supplyRate * timeElapsed))
        borrowIndex += safe64(mulFactor(borrowIndex, borrowRate * timeElapsed))

    Parameters
    ----------
    market : BaseMarket
        Totals and indices at the last accrual.
    rates : CometRates
        Per-second curves.
    time_elapsed : int
        Seconds since ``lastAccrualTime``.

    Returns
    -------
    tuple of int
        New supply and borrow indices, ``1e15`` scale.

    Raises
    ------
    CometReverted
        ``InvalidUInt64`` if an increment, or ``Panic(0x11)`` if an index, overflows 64 bits.

    Examples
    --------
    100 % utilization of 11,000 units (comet ``test/accrue-test.ts`` totals) under the test
    defaults (supply 0 + 5 % to an 80 % kink, then 200 %) for one year: the supply rate is
    1,268,391,679 + 12,683,916,793 = 13,952,308,472 per second, so the index grows by
    1e15 · 13,952,308,472 · 31,536,000 / 1e18 = 439,999,999,972,992 (just under 44 %):

    >>> r = CometRates.from_per_year(supply_kink=8 * 10**17, supply_base=0,
    ...     supply_slope_low=5 * 10**16, supply_slope_high=2 * 10**18,
    ...     borrow_kink=8 * 10**17, borrow_base=5 * 10**15, borrow_slope_low=10**17,
    ...     borrow_slope_high=3 * 10**18)
    >>> m = BaseMarket(base_scale=10**6, base_price=10**8, total_supply_base=11_000,
    ...                total_borrow_base=11_000)
    >>> accrued_interest_indices(m, r, SECONDS_PER_YEAR)[0]
    1439999999972992
    """
    _require_non_negative(time_elapsed=time_elapsed)
    supply_index = market.base_supply_index
    borrow_index = market.base_borrow_index
    if time_elapsed > 0:
        utilization = get_utilization(market)
        supply_rate = get_supply_rate(rates, utilization)
        borrow_rate = get_borrow_rate(rates, utilization)
        supply_index += _safe64(supply_index * (supply_rate * time_elapsed) // FACTOR_SCALE)
        borrow_index += _safe64(borrow_index * (borrow_rate * time_elapsed) // FACTOR_SCALE)
        if supply_index > _UINT64_MAX or borrow_index > _UINT64_MAX:
            raise CometReverted("Panic(0x11)")
    return supply_index, borrow_index


def accrue(market: BaseMarket, rates: CometRates, time_elapsed: int) -> BaseMarket:
    """Return the market after ``Comet.accrueInternal`` over ``time_elapsed`` seconds.

    Only the base indices move; principals and totals are unchanged (reward tracking is not
    modelled).

    Parameters
    ----------
    market : BaseMarket
        State at the last accrual.
    rates : CometRates
        Per-second curves.
    time_elapsed : int
        Seconds since ``lastAccrualTime``.

    Returns
    -------
    BaseMarket
        The market with the new indices.

    Examples
    --------
    No time elapsed, nothing changes (comet ``test/accrue-test.ts``, "accrues correctly with no
    time elapsed"):

    >>> r = CometRates.from_per_year(supply_kink=8 * 10**17, supply_base=0,
    ...     supply_slope_low=5 * 10**16, supply_slope_high=2 * 10**18,
    ...     borrow_kink=8 * 10**17, borrow_base=5 * 10**15, borrow_slope_low=10**17,
    ...     borrow_slope_high=3 * 10**18)
    >>> m = BaseMarket(base_scale=10**6, base_price=10**8, base_supply_index=2 * 10**15,
    ...                base_borrow_index=3 * 10**15, total_supply_base=1000,
    ...                total_borrow_base=1000)
    >>> accrue(m, r, 0) == m
    True
    """
    supply_index, borrow_index = accrued_interest_indices(market, rates, time_elapsed)
    return dataclasses.replace(
        market, base_supply_index=supply_index, base_borrow_index=borrow_index
    )


# -- collateralization -------------------------------------------------------------------------


def account_liquidity(
    principal: int,
    collateral: Sequence[CollateralBalance],
    market: BaseMarket,
    *,
    liquidate: bool,
) -> int:
    """Return an account's full liquidity, USD with 8 decimals (negative = under water).

    ``signedMulPrice(presentValue(principal), basePrice, baseScale) + Σ mulFactor(
    mulPrice(balance, price, scale), factor)`` over *all* assets, with the borrow collateral
    factor (``liquidate=False``) or the liquidate collateral factor (``liquidate=True``). The
    contract's own checks (`is_borrow_collateralized`, `is_liquidatable`) stop summing as soon as
    the sign is settled; this total is for analytics and agrees with them in sign.

    Parameters
    ----------
    principal : int
        The account's signed principal, base units.
    collateral : Sequence of CollateralBalance
        The account's collateral, in asset-offset order.
    market : BaseMarket
        Base price, scale and indices.
    liquidate : bool
        Use the liquidate collateral factors instead of the borrow ones.

    Returns
    -------
    int
        Signed USD value, 8 decimals, each term truncated toward zero.

    Raises
    ------
    CometReverted
        ``BadPrice`` if a price read is ≤ 0.

    Examples
    --------
    1 WETH at $2,000 (cUSDCv3 factors 0.825/0.895) against 1,800 USDC of debt: borrow
    liquidity 1,650 − 1,800 = −$150, liquidation liquidity 1,790 − 1,800 = −$10:

    >>> weth = AssetInfo(price=2_000 * 10**8, scale=10**18, borrow_collateral_factor=825 * 10**15,
    ...                  liquidate_collateral_factor=895 * 10**15, liquidation_factor=95 * 10**16)
    >>> m = BaseMarket(base_scale=10**6, base_price=10**8)
    >>> c = [CollateralBalance(weth, 10**18)]
    >>> account_liquidity(-1_800 * 10**6, c, m, liquidate=False) // 10**8
    -150
    >>> account_liquidity(-1_800 * 10**6, c, m, liquidate=True) // 10**8
    -10
    """
    total = _tdiv(present_value(principal, market) * _price(market.base_price), market.base_scale)
    for held in collateral:
        if held.balance == 0:
            continue
        factor = (
            held.asset.liquidate_collateral_factor
            if liquidate
            else held.asset.borrow_collateral_factor
        )
        value = held.balance * _price(held.asset.price) // held.asset.scale
        total += value * factor // FACTOR_SCALE
    return total


def _collateralized(
    principal: int, collateral: Sequence[CollateralBalance], market: BaseMarket, *, liquidate: bool
) -> bool:
    # The shared loop of isBorrowCollateralized / isLiquidatable, early exit included: an asset's
    # price is read (and can revert BadPrice) only while the liquidity is still negative.
    if principal >= 0:
        return True
    liquidity = _tdiv(
        present_value(principal, market) * _price(market.base_price), market.base_scale
    )
    for held in collateral:
        if held.balance == 0:
            continue
        if liquidity >= 0:
            return True
        factor = (
            held.asset.liquidate_collateral_factor
            if liquidate
            else held.asset.borrow_collateral_factor
        )
        value = held.balance * _price(held.asset.price) // held.asset.scale
        liquidity += value * factor // FACTOR_SCALE
    return liquidity >= 0


def is_borrow_collateralized(
    principal: int, collateral: Sequence[CollateralBalance], market: BaseMarket
) -> bool:
    """Return whether an account may hold its borrow (``Comet.isBorrowCollateralized``).

    True for a non-negative principal; otherwise the borrow liquidity (base debt at the base
    price, plus each collateral at ``price × borrowCollateralFactor``) must be ``>= 0``.

    Parameters
    ----------
    principal : int
        The account's signed principal, base units.
    collateral : Sequence of CollateralBalance
        The account's collateral in asset-offset order (zero balances are skipped).
    market : BaseMarket
        Base price, scale and indices.

    Returns
    -------
    bool
        Whether the borrow is collateralized.

    Raises
    ------
    CometReverted
        ``BadPrice`` if a price that is read is ≤ 0.

    Examples
    --------
    comet ``test/is-borrow-collateralized-test.ts``: 1 USDC owed against 1.2 COMP at $1 and a
    0.9 borrow factor is fine (1.08 ≥ 1); against 1 COMP it is not (0.9 < 1):

    >>> comp = AssetInfo(price=10**8, scale=10**18, borrow_collateral_factor=9 * 10**17,
    ...                  liquidate_collateral_factor=10**18, liquidation_factor=10**18)
    >>> m = BaseMarket(base_scale=10**6, base_price=10**8)
    >>> is_borrow_collateralized(-10**6, [CollateralBalance(comp, 12 * 10**17)], m)
    True
    >>> is_borrow_collateralized(-10**6, [CollateralBalance(comp, 10**18)], m)
    False
    """
    return _collateralized(principal, collateral, market, liquidate=False)


def is_liquidatable(
    principal: int, collateral: Sequence[CollateralBalance], market: BaseMarket
) -> bool:
    """Return whether an account can be absorbed (``Comet.isLiquidatable``).

    False for a non-negative principal; otherwise true when the liquidation liquidity (collateral
    at ``price × liquidateCollateralFactor``) is strictly negative.

    Parameters
    ----------
    principal : int
        The account's signed principal, base units.
    collateral : Sequence of CollateralBalance
        The account's collateral in asset-offset order (zero balances are skipped).
    market : BaseMarket
        Base price, scale and indices.

    Returns
    -------
    bool
        Whether ``absorb`` would accept the account.

    Raises
    ------
    CometReverted
        ``BadPrice`` if a price that is read is ≤ 0.

    Examples
    --------
    comet ``test/is-liquidatable-test.ts`` ("takes liquidateCollateralFactor into account"):
    $100,000 owed against 100,000 COMP at $1 with a 0.8 liquidate factor:

    >>> comp = AssetInfo(price=10**8, scale=10**18, borrow_collateral_factor=75 * 10**16,
    ...                  liquidate_collateral_factor=8 * 10**17, liquidation_factor=10**18)
    >>> m = BaseMarket(base_scale=10**6, base_price=10**8)
    >>> is_liquidatable(-100_000 * 10**6, [CollateralBalance(comp, 100_000 * 10**18)], m)
    True
    """
    return not _collateralized(principal, collateral, market, liquidate=True)


# -- absorb -----------------------------------------------------------------------------------


def repay_and_supply_amount(old_principal: int, new_principal: int) -> tuple[int, int]:
    """Split a principal increase into a repaid and a supplied part (``repayAndSupplyAmount``).

    Parameters
    ----------
    old_principal, new_principal : int
        Signed principals before and after.

    Returns
    -------
    tuple of int
        ``(repay, supply)`` principal amounts; ``(0, 0)`` if the principal fell.

    Examples
    --------
    >>> repay_and_supply_amount(-100, -40), repay_and_supply_amount(-100, 7)
    ((60, 0), (100, 7))
    >>> repay_and_supply_amount(5, 7), repay_and_supply_amount(5, 3)
    ((0, 2), (0, 0))
    """
    if new_principal < old_principal:
        return 0, 0
    if new_principal <= 0:
        return new_principal - old_principal, 0
    if old_principal >= 0:
        return 0, new_principal - old_principal
    return -old_principal, new_principal


@dataclass(frozen=True, slots=True, kw_only=True)
class AbsorbOutcome:
    """What ``Comet.absorbInternal`` does to one account.

    Attributes
    ----------
    old_balance : int
        The account's present value before, base units (negative: a debt).
    delta_value : int
        Σ ``mulFactor(value_i, liquidationFactor_i)``: collateral value credited, USD 8 decimals.
    delta_balance : int
        ``delta_value`` in base: ``delta_value × baseScale / basePrice``, rounded down.
    new_balance : int
        ``max(old_balance + delta_balance, 0)``: what the account keeps, base units.
    new_principal : int
        The account's principal after (≥ 0; rounded down from ``new_balance``).
    collateral_absorbed : tuple of int
        Each input asset's balance moved to the protocol (``AbsorbCollateral`` amounts).
    collateral_values : tuple of int
        Each asset's full value at its price, USD 8 decimals (``AbsorbCollateral.usdValue``).
    repay_amount, supply_amount : int
        Principal removed from ``totalBorrowBase`` and added to ``totalSupplyBase``.
    base_paid_out : int
        ``new_balance − old_balance``: base the reserves pay (``AbsorbDebt.basePaidOut``).
    value_of_base_paid_out : int
        ``base_paid_out`` at the base price, USD 8 decimals (``AbsorbDebt.usdValue``).
    market : BaseMarket
        The market with the new totals.
    reserves_before, reserves_after : int
        `get_reserves` before and after, base units; the difference is ``−base_paid_out`` up to
        the rounding of principals into the totals.
    """

    old_balance: int
    delta_value: int
    delta_balance: int
    new_balance: int
    new_principal: int
    collateral_absorbed: tuple[int, ...]
    collateral_values: tuple[int, ...]
    repay_amount: int
    supply_amount: int
    base_paid_out: int
    value_of_base_paid_out: int
    market: BaseMarket
    reserves_before: int
    reserves_after: int

    @property
    def debt_absorbed(self) -> int:
        """The account's debt taken over by the protocol, base units (``−old_balance``)."""
        return -self.old_balance

    @property
    def shortfall(self) -> int:
        """Debt not covered by the credited collateral (bad debt on the reserves), base units."""
        return max(-(self.old_balance + self.delta_balance), 0)

    @property
    def reserves_change(self) -> int:
        """``reserves_after − reserves_before``, base units (negative)."""
        return self.reserves_after - self.reserves_before


def absorb(
    principal: int, collateral: Sequence[CollateralBalance], market: BaseMarket
) -> AbsorbOutcome:
    """Return what ``Comet.absorb`` does to one account: all collateral in, all debt out.

    Mirrors ``Comet.absorbInternal``. There is no close factor and no bonus for the caller::

        require isLiquidatable(account)                 else NotLiquidatable
        for each collateral asset held:
            seize the whole balance;  value = balance × price / scale
            deltaValue += value × liquidationFactor / 1e18
        deltaBalance = deltaValue × baseScale / basePrice
        newBalance   = max(oldBalance + deltaBalance, 0)       # the excess debt hits reserves
        newPrincipal = principalValue(newBalance)
        totalSupplyBase += supplyAmount;  totalBorrowBase −= repayAmount

    The reserves pay ``newBalance − oldBalance`` = the debt plus whatever the account keeps, and
    receive the collateral, which `buy_collateral` later sells; they go negative when the debt
    exceeds what they held.

    Parameters
    ----------
    principal : int
        The account's signed principal, base units.
    collateral : Sequence of CollateralBalance
        The account's collateral in asset-offset order.
    market : BaseMarket
        The market, accrued to now (``absorb`` accrues first).

    Returns
    -------
    AbsorbOutcome
        Amounts, the account's new principal and the market afterwards.

    Raises
    ------
    CometReverted
        ``NotLiquidatable``; ``BadPrice``; ``Panic(0x11)`` if ``totalBorrowBase`` underflows.

    Examples
    --------
    cUSDCv3-style: 1 WETH at $2,000 (liquidate factor 0.895, liquidation factor 0.95) against
    1,800 USDC of debt, USDC at $1. 1,790 < 1,800, so it is absorbed: credit 2,000 × 0.95 =
    1,900 USDC, the account keeps 100 USDC, and the reserves pay 1,800 + 100:

    >>> weth = AssetInfo(price=2_000 * 10**8, scale=10**18, borrow_collateral_factor=825 * 10**15,
    ...                  liquidate_collateral_factor=895 * 10**15, liquidation_factor=95 * 10**16)
    >>> m = BaseMarket(base_scale=10**6, base_price=10**8, total_borrow_base=1_800 * 10**6)
    >>> out = absorb(-1_800 * 10**6, [CollateralBalance(weth, 10**18)], m)
    >>> out.delta_balance, out.new_principal, out.base_paid_out, out.reserves_change
    (1900000000, 100000000, 1900000000, -1900000000)
    >>> out.market.total_borrow_base, out.market.total_supply_base, out.shortfall
    (0, 100000000, 0)
    """
    if not is_liquidatable(principal, collateral, market):
        raise CometReverted("NotLiquidatable")
    old_balance = present_value(principal, market)
    base_price = _price(market.base_price)
    delta_value = 0
    absorbed: list[int] = []
    values: list[int] = []
    for held in collateral:
        if held.balance == 0:
            absorbed.append(0)
            values.append(0)
            continue
        value = held.balance * _price(held.asset.price) // held.asset.scale
        delta_value += value * held.asset.liquidation_factor // FACTOR_SCALE
        absorbed.append(held.balance)
        values.append(value)
    delta_balance = delta_value * market.base_scale // base_price
    new_balance = max(old_balance + delta_balance, 0)
    new_principal = principal_value(new_balance, market)
    repay_amount, supply_amount = repay_and_supply_amount(principal, new_principal)
    total_borrow_base = market.total_borrow_base - repay_amount
    total_supply_base = market.total_supply_base + supply_amount
    if total_borrow_base < 0 or total_supply_base > _UINT104_MAX:
        raise CometReverted("Panic(0x11)")
    new_market = dataclasses.replace(
        market, total_supply_base=total_supply_base, total_borrow_base=total_borrow_base
    )
    base_paid_out = new_balance - old_balance
    return AbsorbOutcome(
        old_balance=old_balance,
        delta_value=delta_value,
        delta_balance=delta_balance,
        new_balance=new_balance,
        new_principal=new_principal,
        collateral_absorbed=tuple(absorbed),
        collateral_values=tuple(values),
        repay_amount=repay_amount,
        supply_amount=supply_amount,
        base_paid_out=base_paid_out,
        value_of_base_paid_out=base_paid_out * base_price // market.base_scale,
        market=new_market,
        reserves_before=get_reserves(market),
        reserves_after=get_reserves(new_market),
    )


# -- buying collateral ----------------------------------------------------------------------------


def quote_collateral(
    asset: AssetInfo, base_amount: int, market: BaseMarket, store_front_price_factor: int
) -> int:
    """Return the collateral ``base_amount`` buys at the store-front discount, rounded down.

    Mirrors ``Comet.quoteCollateral``::

        discountFactor       = storeFrontPriceFactor × (1e18 − liquidationFactor) / 1e18
        assetPriceDiscounted = assetPrice × (1e18 − discountFactor) / 1e18
        collateral           = basePrice × baseAmount × assetScale / assetPriceDiscounted
                               / baseScale

    The buyer gets at least the amount at the undiscounted price. ``discountFactor`` rounds
    down (against the buyer) but ``assetPriceDiscounted`` also rounds down (for the buyer), so
    the quote can beat the stated discount by less than one unit of the 8-decimal price.

    Parameters
    ----------
    asset : AssetInfo
        The collateral asset (its price, scale and liquidation factor).
    base_amount : int
        Base paid, base units.
    market : BaseMarket
        Base price and scale.
    store_front_price_factor : int
        ``storeFrontPriceFactor``, ``FACTOR_SCALE`` (0.5e18 on cUSDCv3).

    Returns
    -------
    int
        Collateral, asset base units.

    Raises
    ------
    CometReverted
        ``BadPrice`` if a price is ≤ 0.

    Examples
    --------
    comet ``test/quote-collateral-test.ts`` ("quotes the collateral correctly for a positive
    base amount"): discount 0.5 × (1 − 0.6) = 20 %, COMP $200 → $160, 200 USDC → 1.25 COMP:

    >>> comp = AssetInfo(price=200 * 10**8, scale=10**18, borrow_collateral_factor=0,
    ...                  liquidate_collateral_factor=10**18, liquidation_factor=6 * 10**17)
    >>> quote_collateral(comp, 200 * 10**6, BaseMarket(base_scale=10**6, base_price=10**8),
    ...                  5 * 10**17)
    1250000000000000000
    """
    if not 0 <= store_front_price_factor <= FACTOR_SCALE:
        raise ValueError(
            f"BadDiscount: expected 0 <= storeFrontPriceFactor <= 1e18, was"
            f" {store_front_price_factor}"
        )
    _require_non_negative(base_amount=base_amount)
    asset_price = _price(asset.price)
    discount_factor = store_front_price_factor * (FACTOR_SCALE - asset.liquidation_factor)
    discount_factor //= FACTOR_SCALE
    asset_price_discounted = asset_price * (FACTOR_SCALE - discount_factor) // FACTOR_SCALE
    base_price = _price(market.base_price)
    return base_price * base_amount * asset.scale // asset_price_discounted // market.base_scale


def buy_collateral_allowed(reserves: int, target_reserves: int) -> bool:
    """Return whether ``buyCollateral`` is open: reserves below ``targetReserves``.

    ``Comet.buyCollateral`` reverts ``NotForSale`` when ``reserves >= 0 && reserves >=
    targetReserves``; negative reserves always allow sales.

    Parameters
    ----------
    reserves : int
        `get_reserves`, base units (signed).
    target_reserves : int
        ``targetReserves``, base units.

    Returns
    -------
    bool
        True when the protocol sells collateral.

    Examples
    --------
    >>> buy_collateral_allowed(0, 100), buy_collateral_allowed(100, 100)
    (True, False)
    >>> buy_collateral_allowed(-100 * 10**6, 0)
    True
    """
    return not (reserves >= 0 and reserves >= target_reserves)


@dataclass(frozen=True, slots=True, kw_only=True)
class BuyCollateralOutcome:
    """What one ``Comet.buyCollateral`` moves.

    Attributes
    ----------
    collateral_amount : int
        Collateral sent to the buyer, asset base units.
    market : BaseMarket
        The market with the base paid added to Comet's balance.
    reserves_before, reserves_after : int
        `get_reserves` before and after, base units.
    """

    collateral_amount: int
    market: BaseMarket
    reserves_before: int
    reserves_after: int


def buy_collateral(
    market: BaseMarket,
    asset: AssetInfo,
    *,
    base_amount: int,
    min_amount: int,
    collateral_reserves: int,
    store_front_price_factor: int,
    target_reserves: int,
) -> BuyCollateralOutcome:
    """Return what ``Comet.buyCollateral(asset, minAmount, baseAmount, recipient)`` does.

    Checks in the contract's order: reserves below target (else ``NotForSale``); the quote
    (`quote_collateral`) at least ``min_amount`` (else ``TooMuchSlippage``); at most the
    protocol's collateral reserves (else ``InsufficientReserves``).

    Parameters
    ----------
    market : BaseMarket
        The market, accrued to now.
    asset : AssetInfo
        The collateral bought.
    base_amount : int
        Base received by Comet (after any transfer fee), base units.
    min_amount : int
        The buyer's minimum collateral, asset base units.
    collateral_reserves : int
        ``getCollateralReserves(asset)``: Comet's balance minus users' ``totalSupplyAsset``.
    store_front_price_factor : int
        ``storeFrontPriceFactor``, ``FACTOR_SCALE``.
    target_reserves : int
        ``targetReserves``, base units.

    Returns
    -------
    BuyCollateralOutcome
        Collateral bought and the market afterwards.

    Raises
    ------
    CometReverted
        ``NotForSale``, ``TooMuchSlippage``, ``InsufficientReserves``, ``BadPrice`` or
        ``InvalidUInt128``.

    Examples
    --------
    comet ``test/buy-collateral-test.ts`` ("allows buying collateral when reserves < target
    reserves"): COMP at $1, liquidation factor 0.8, store front 0.5 → 10 % discount; 50 USDC
    buys 50 / 0.9 = 55.555… COMP, and the reserves go from 0 to 50 USDC:

    >>> comp = AssetInfo(price=10**8, scale=10**18, borrow_collateral_factor=0,
    ...                  liquidate_collateral_factor=10**18, liquidation_factor=8 * 10**17)
    >>> out = buy_collateral(BaseMarket(base_scale=10**6, base_price=10**8), comp,
    ...     base_amount=50 * 10**6, min_amount=50 * 10**18, collateral_reserves=60 * 10**18,
    ...     store_front_price_factor=5 * 10**17, target_reserves=100)
    >>> out.collateral_amount, out.reserves_before, out.reserves_after
    (55555555555555555555, 0, 50000000)
    """
    _require_non_negative(
        min_amount=min_amount,
        collateral_reserves=collateral_reserves,
        target_reserves=target_reserves,
    )
    reserves = get_reserves(market)
    if not buy_collateral_allowed(reserves, target_reserves):
        raise CometReverted("NotForSale")
    new_market = dataclasses.replace(market, base_balance=market.base_balance + base_amount)
    collateral_amount = quote_collateral(asset, base_amount, market, store_front_price_factor)
    if collateral_amount < min_amount:
        raise CometReverted("TooMuchSlippage")
    if collateral_amount > collateral_reserves:
        raise CometReverted("InsufficientReserves")
    if collateral_amount > _UINT128_MAX:
        raise CometReverted("InvalidUInt128")
    return BuyCollateralOutcome(
        collateral_amount=collateral_amount,
        market=new_market,
        reserves_before=reserves,
        reserves_after=get_reserves(new_market),
    )
