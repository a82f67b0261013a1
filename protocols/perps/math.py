"""Reference math of perpetual-futures margin, liquidation, bankruptcy and funding.

Centralised venues keep their books in decimal, not on chain, so this module works in float64:
amounts are quote-currency units (USDT on Binance, USDC on Hyperliquid, written "USD" below),
sizes are signed base-asset quantities (positive long, negative short), rates are fractions
(``0.004`` = 0.4 %). Every function is a closed formula with a handful of operations, so the
relative error is a few ulps (≲ 1e-15); the one solver, `liquidation_price`, brackets its root
between tier boundaries and solves a linear equation inside the bracket, so its answer is exact
to the same precision and never lands outside the tier whose rates it used.

Sources, per venue (read in 2025-2026; venues change parameters without notice):

Binance USDⓈ-M
    FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts" (b3c689c1f50a44cabb3a84e6
    63b81d93): the one-way liquidation-price formula, "recalculate with the other tier's MMR and
    maintenance amount", and the maintenance-amount recursion with its worked Level-3 example;
    FAQ "Leverage and Margin of USDⓈ-M Futures" (360033162192): the "tax bracket" maintenance
    margin; announcement "Updates to Leverage and Margin Tiers of Binance Futures Contracts
    (2021-03-18)" (86cf9aa472574b8cb2e05bb751c2a9a6): the BTCUSDT brackets that FAQ example uses;
    FAQ 25edcd7fe0e544839d0847b8cbb2e400 (avoiding liquidation): "margin ratio = maintenance margin
    / margin balance" and a worked liquidation price; FAQ "Liquidation" (360033525271) and
    "Insurance Fund" (360033525371): clearance fee on the liquidated amount, bankruptcy-price
    take-over; funding as in mechanics §6.4 (interval N from 2025-09-18).
Hyperliquid
    hyperliquid.gitbook.io/hyperliquid-docs ``trading/margin-tiers`` (MMR = half the initial
    margin at the tier's maximum leverage, the deduction recursion, the mainnet tier table),
    ``trading/liquidations`` (the liquidation-price formula and ``margin_available``),
    ``trading/funding`` (8-hour rate paid hourly at 1/8, 4 %/h cap).
dYdX v4
    dydxprotocol/v4-chain ``protocol/x/clob/keeper/liquidations.go``
    (``GetLiquidationInsuranceFundDelta``: fund delta = quote received − bankruptcy quote, the
    positive part capped at ``max_liquidation_fee_ppm``), used by `insurance_take`.

The project notes are ``mechanics.md`` §5 (Hyperliquid), §6 (Binance) and §7 (dYdX).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "BINANCE_BTCUSDT",
    "BINANCE_BTCUSDT_2021",
    "HYPERLIQUID_TABLES",
    "MarginMode",
    "MarginTable",
    "MarginTier",
    "account_equity",
    "bankruptcy_price",
    "binance_funding_rate",
    "binance_liquidation_price",
    "funding_payment",
    "hyperliquid_funding_rate",
    "hyperliquid_liquidation_price",
    "initial_margin",
    "insurance_take",
    "liquidation_fee",
    "liquidation_price",
    "maintenance_margin",
    "maintenance_margin_many",
    "margin_ratio",
    "unrealized_pnl",
]

FloatArray = NDArray[np.float64]


class MarginMode(StrEnum):
    """How a position is margined: by its own isolated margin or by the shared cross balance."""

    ISOLATED = "isolated"
    CROSS = "cross"


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginTier:
    """One notional bracket of a tiered margin table.

    Attributes
    ----------
    floor : float
        Notional (USD) above which the tier applies; the tier covers ``floor < |notional| ≤``
        the next tier's floor, as both venues print their tables (Binance "50,000 < Position ≤
        250,000", Hyperliquid "0-150M" then ">150M").
    max_leverage : float
        Highest leverage a position in this tier may open with (initial margin rate
        ``1 / max_leverage``).
    mmr : float
        Maintenance margin rate, a fraction in ``(0, 1 / max_leverage]``.
    """

    floor: float
    max_leverage: float
    mmr: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.floor) and self.floor >= 0.0):
            raise ValueError(f"expected a finite floor >= 0, was {self.floor}")
        if not self.max_leverage >= 1.0:
            raise ValueError(f"expected max leverage >= 1, was {self.max_leverage}")
        if not 0.0 < self.mmr <= 1.0 / self.max_leverage or self.mmr >= 1.0:
            raise ValueError(
                f"expected 0 < mmr <= 1/max_leverage and mmr < 1, was {self.mmr} "
                f"at {self.max_leverage}x"
            )


@dataclass(frozen=True, slots=True)
class MarginTable:
    """A tiered ("tax bracket") maintenance-margin table with its cumulative deductions.

    ``cum[0] = 0`` and ``cum[n] = cum[n-1] + floor[n] · (mmr[n] − mmr[n-1])`` (Binance's
    "maintenance amount", Hyperliquid's "maintenance deduction"; mechanics §6.1 and §5.2), which
    makes ``MM(N) = N · mmr(tier) − cum(tier)`` continuous in the notional ``N``.

    Parameters
    ----------
    tiers : tuple of MarginTier
        Tiers in increasing floor order; the first floor is 0, rates never fall and maximum
        leverages never rise.
    name : str
        Label for reports, default empty.

    Attributes
    ----------
    cums : tuple of float
        The deduction of each tier, USD.

    Examples
    --------
    The maintenance amounts of the 2021 BTCUSDT table, Level 3 as the Binance FAQ works it:
    250,000 × (1 % − 0.5 %) + 50 = 1,300.

    >>> [round(c, 6) for c in BINANCE_BTCUSDT_2021.cums[:4]]
    [0.0, 50.0, 1300.0, 16300.0]
    """

    tiers: tuple[MarginTier, ...]
    name: str = ""
    cums: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError("expected at least one tier")
        if self.tiers[0].floor != 0.0:
            raise ValueError(f"expected the first floor to be 0, was {self.tiers[0].floor}")
        cums = [0.0]
        for prev, tier in zip(self.tiers, self.tiers[1:], strict=False):
            if not tier.floor > prev.floor:
                raise ValueError(f"expected increasing floors, was {prev.floor} then {tier.floor}")
            if tier.mmr < prev.mmr or tier.max_leverage > prev.max_leverage:
                raise ValueError(
                    f"expected mmr not to fall and max leverage not to rise, was {prev} then {tier}"
                )
            cums.append(cums[-1] + tier.floor * (tier.mmr - prev.mmr))
        object.__setattr__(self, "cums", tuple(cums))

    @classmethod
    def from_brackets(
        cls, name: str, brackets: Iterable[tuple[float, float, float]]
    ) -> MarginTable:
        """Build a table from ``(floor, max_leverage, mmr)`` rows, as Binance publishes them.

        Parameters
        ----------
        name : str
            Label.
        brackets : iterable of (float, float, float)
            Notional floor (USD), maximum leverage, maintenance margin rate.

        Returns
        -------
        MarginTable
            The validated table.

        Examples
        --------
        >>> t = MarginTable.from_brackets("x", [(0, 50, 0.01), (5_000, 20, 0.025)])
        >>> t.cums
        (0.0, 75.0)
        """
        rows = tuple(
            MarginTier(floor=float(f), max_leverage=float(lev), mmr=float(r))
            for f, lev, r in brackets
        )
        return cls(rows, name)

    @classmethod
    def from_max_leverage(cls, name: str, tiers: Iterable[tuple[float, float]]) -> MarginTable:
        """Build a Hyperliquid table from ``(lower_bound, max_leverage)`` rows.

        Hyperliquid's ``maintenance_margin_rate(tier) = 1 / (2 · max_leverage(tier))``, "half of
        the initial margin at max leverage" (docs, ``trading/margin-tiers``).

        Parameters
        ----------
        name : str
            Label.
        tiers : iterable of (float, float)
            Notional lower bound (USDC) and maximum leverage.

        Returns
        -------
        MarginTable
            The validated table.

        Examples
        --------
        The docs' own example, "at 20x max leverage, maintenance_margin_rate = 2.5%":

        >>> MarginTable.from_max_leverage("x", [(0, 20)]).tiers[0].mmr
        0.025
        """
        rows = tuple(
            MarginTier(floor=float(f), max_leverage=float(lev), mmr=1.0 / (2.0 * float(lev)))
            for f, lev in tiers
        )
        return cls(rows, name)

    @property
    def floors(self) -> tuple[float, ...]:
        """Tier floors, USD."""
        return tuple(t.floor for t in self.tiers)

    def tier_index(self, notional: float) -> int:
        """Return the index of the tier that holds ``|notional|``.

        A notional equal to a floor belongs to the tier below it (both venues print
        ``floor < N ≤ cap``); the maintenance margin is the same either way.

        Parameters
        ----------
        notional : float
            Position notional, USD; the sign is ignored.

        Returns
        -------
        int
            Zero-based tier index.

        Examples
        --------
        >>> [BINANCE_BTCUSDT_2021.tier_index(n) for n in (0, 50_000, 50_000.01, 264_000)]
        [0, 0, 1, 2]
        """
        return max(bisect_left(self.floors, abs(notional)) - 1, 0)

    def tier(self, notional: float) -> MarginTier:
        """Return the tier that holds ``|notional|`` (see `tier_index`)."""
        return self.tiers[self.tier_index(notional)]

    def max_leverage(self, notional: float) -> float:
        """Return the highest leverage a position of ``|notional|`` USD may use.

        Examples
        --------
        >>> btc = HYPERLIQUID_TABLES["BTC"]
        >>> btc.max_leverage(150e6), btc.max_leverage(150e6 + 1)
        (40.0, 20.0)
        """
        return self.tier(notional).max_leverage


BINANCE_BTCUSDT = MarginTable.from_brackets(
    "binance.BTCUSDT",
    [
        (0, 125, 0.004),
        (50_000, 100, 0.005),
        (600_000, 75, 0.0065),
        (3_000_000, 50, 0.01),
        (12_000_000, 25, 0.02),
        (70_000_000, 20, 0.025),
        (100_000_000, 10, 0.05),
        (230_000_000, 5, 0.10),
        (480_000_000, 4, 0.125),
        (600_000_000, 3, 0.15),
        (800_000_000, 2, 0.25),
        (1_200_000_000, 1, 0.50),
    ],
)
"""Binance BTCUSDT brackets, an illustrative *snapshot* (mechanics §6.1, 2025).

Brackets 1-7 come from a public snapshot of ``GET /fapi/v1/leverageBracket``; 8-12 are derived
from the historical MMR ladder with the same ``cum`` recursion. Binance changes brackets without
notice: pull the live ones for any report."""

BINANCE_BTCUSDT_2021 = MarginTable.from_brackets(
    "binance.BTCUSDT.2021-03-18",
    [
        (0, 125, 0.004),
        (50_000, 100, 0.005),
        (250_000, 50, 0.01),
        (1_000_000, 20, 0.025),
        (10_000_000, 10, 0.05),
        (20_000_000, 5, 0.10),
        (50_000_000, 4, 0.125),
        (100_000_000, 3, 0.15),
        (200_000_000, 2, 0.25),
        (300_000_000, 1, 0.50),
    ],
)
"""Binance BTCUSDT brackets effective 2021-03-18 (announcement 86cf9aa472574b8cb2e05bb751c2a9a6).

This is the table the liquidation-price FAQ's worked examples use (264,000 USDT → MMR 1 %;
500,000 USDT → maintenance amount 1,300). The announcement caps the last bracket at 500M."""

_HL_20M = ((0.0, 10.0), (20e6, 5.0))
_HL_3M = ((0.0, 10.0), (3e6, 5.0))
_HL_20M_COINS = (
    "DOGE", "kPEPE", "SUI", "WLD", "TRUMP", "LTC", "ENA", "POPCAT", "WIF", "AAVE", "kBONK",
    "LINK", "CRV", "AVAX", "ADA", "UNI", "NEAR", "TIA", "APT", "BCH", "HYPE", "FARTCOIN",
)  # fmt: skip
_HL_3M_COINS = (
    "OP", "ARB", "LDO", "TON", "MKR", "ONDO", "JUP", "INJ", "kSHIB", "SEI", "TRX", "BNB", "DOT",
)  # fmt: skip

HYPERLIQUID_TABLES: Mapping[str, MarginTable] = MappingProxyType(
    {
        "BTC": MarginTable.from_max_leverage("hyperliquid.BTC", [(0, 40), (150e6, 20)]),
        "ETH": MarginTable.from_max_leverage("hyperliquid.ETH", [(0, 25), (100e6, 15)]),
        "SOL": MarginTable.from_max_leverage("hyperliquid.SOL", [(0, 20), (70e6, 10)]),
        "XRP": MarginTable.from_max_leverage("hyperliquid.XRP", [(0, 20), (40e6, 10)]),
        **{c: MarginTable.from_max_leverage(f"hyperliquid.{c}", _HL_20M) for c in _HL_20M_COINS},
        **{c: MarginTable.from_max_leverage(f"hyperliquid.{c}", _HL_3M) for c in _HL_3M_COINS},
    }
)
"""Hyperliquid mainnet margin tiers by coin (docs ``trading/margin-tiers``; mechanics §5.4).

MMR = 1 / (2 · max leverage): BTC 1.25 % then 2.5 %, ETH 2 % then 3.33 %, SOL and XRP 2.5 % then
5 %, the two ten-times groups 5 % then 10 %. A snapshot: the ``meta`` info endpoint is live."""


def maintenance_margin(notional: float, table: MarginTable) -> float:
    """Return the maintenance margin of one position by the cumulative-deduction method.

    ``MM = |N| · mmr(tier) − cum(tier)`` (mechanics §6.1; Binance "Leverage and Margin" FAQ,
    Hyperliquid ``trading/margin-tiers``).

    Parameters
    ----------
    notional : float
        Position notional at the mark price, USD; the sign is ignored.
    table : MarginTable
        The symbol's tier table.

    Returns
    -------
    float
        Maintenance margin, USD.

    Examples
    --------
    500,000 USDT of BTCUSDT under the 2021 table: 500,000 × 1 % − 1,300 = 3,700; the same
    notional as a tax bracket: 50,000 × 0.4 % + 200,000 × 0.5 % + 250,000 × 1 % = 3,700.

    >>> maintenance_margin(500_000, BINANCE_BTCUSDT_2021)
    3700.0
    """
    i = table.tier_index(notional)
    return abs(notional) * table.tiers[i].mmr - table.cums[i]


def maintenance_margin_many(notional: ArrayLike, table: MarginTable) -> FloatArray:
    """Return `maintenance_margin` for each element of an array of notionals.

    Parameters
    ----------
    notional : array_like of float
        Notionals at the mark price, USD; signs are ignored.
    table : MarginTable
        The symbol's tier table.

    Returns
    -------
    ndarray of float64
        Maintenance margins, USD, same shape as ``notional``.

    Examples
    --------
    >>> maintenance_margin_many([-50_000, 500_000, 0], BINANCE_BTCUSDT_2021)
    array([ 200., 3700.,    0.])
    """
    n = np.abs(np.asarray(notional, dtype=np.float64))
    floors = np.asarray(table.floors, dtype=np.float64)
    idx = np.clip(np.searchsorted(floors, n, side="left") - 1, 0, None)
    rates = np.asarray([t.mmr for t in table.tiers], dtype=np.float64)
    cums = np.asarray(table.cums, dtype=np.float64)
    return np.asarray(n * rates[idx] - cums[idx], dtype=np.float64)


def initial_margin(notional: float, leverage: float) -> float:
    """Return the initial margin ``|notional| / leverage`` (mechanics §5.2, §6.1).

    Parameters
    ----------
    notional : float
        Position notional, USD; the sign is ignored.
    leverage : float
        Leverage setting, ≥ 1.

    Returns
    -------
    float
        Initial margin, USD.

    Examples
    --------
    >>> initial_margin(-1_000.0, 20)
    50.0
    """
    if not leverage >= 1.0:
        raise ValueError(f"expected leverage >= 1, was {leverage}")
    return abs(notional) / leverage


def unrealized_pnl(size: float, entry_price: float, mark_price: float) -> float:
    """Return ``size · (mark − entry)``, the unrealized PnL of a signed position.

    Parameters
    ----------
    size : float
        Base-asset quantity, positive long, negative short.
    entry_price, mark_price : float
        USD per unit.

    Returns
    -------
    float
        USD; positive is a profit.

    Examples
    --------
    >>> unrealized_pnl(-2.0, 100.0, 90.0)
    20.0
    """
    return size * (mark_price - entry_price)


def account_equity(
    wallet_balance: float, size: ArrayLike, entry_price: ArrayLike, mark_price: ArrayLike
) -> float:
    """Return wallet balance plus the unrealized PnL of every position ("margin balance").

    Binance calls it the margin balance, Hyperliquid the account value (mechanics §5.2, §6.1).

    Parameters
    ----------
    wallet_balance : float
        Deposits plus realized PnL, fees and funding, USD.
    size, entry_price, mark_price : array_like of float
        One element per position (signed sizes, USD prices); scalars are one position.

    Returns
    -------
    float
        USD.

    Examples
    --------
    >>> account_equity(1_000.0, [1.0, -2.0], [100.0, 50.0], [90.0, 40.0])
    1010.0
    """
    s = np.asarray(size, dtype=np.float64)
    pnl = s * (np.asarray(mark_price, dtype=np.float64) - np.asarray(entry_price, dtype=np.float64))
    return float(wallet_balance + np.sum(pnl))


def margin_ratio(maintenance_margin: float, margin_balance: float) -> float:
    """Return Binance's margin ratio ``MM / margin balance``; liquidation at ≥ 1 (100 %).

    Binance FAQ 25edcd7fe0e544839d0847b8cbb2e400: "The margin ratio is calculated as maintenance
    margin divided by margin balance", and "when your margin ratio reaches 100%" positions are
    liquidated.

    Parameters
    ----------
    maintenance_margin : float
        USD, ≥ 0.
    margin_balance : float
        Wallet balance plus unrealized PnL, USD.

    Returns
    -------
    float
        The ratio; ``inf`` when the margin balance is ≤ 0 and there is margin to maintain, 0 when
        there is none.

    Examples
    --------
    >>> margin_ratio(50.0, 200.0), margin_ratio(1.0, 0.0), margin_ratio(0.0, -5.0)
    (0.25, inf, 0.0)
    """
    if maintenance_margin <= 0.0:
        return 0.0
    if margin_balance <= 0.0:
        return math.inf
    return maintenance_margin / margin_balance


def _equity_minus_mm(c: float, side: int, qty: float, price: float, table: MarginTable) -> float:
    return c + side * qty * price - maintenance_margin(qty * price, table)


def liquidation_price(*, constant: float, size: float, table: MarginTable) -> float:
    """Return the mark price at which ``equity(P) = MM(|size| · P)`` for a tiered table.

    The equity is linear in the mark, ``equity(P) = constant + size · P``, and the maintenance
    margin is the continuous, piecewise-linear `maintenance_margin`. ``side · (equity − MM)``
    rises with ``P`` (its slope is ``|size| · (1 ∓ mmr) > 0``), so there is at most one root. The
    solver finds the tier whose price interval brackets it by evaluating the boundaries, then
    solves inside that tier:

    ``P = (constant + cum) / (|size| · mmr − side · |size|)``,

    which is Binance's "recalculate with that tier" rule and Hyperliquid's "maintenance leverage
    depends on the unique margin tier corresponding to the position value at the liquidation
    price", done once instead of by trial.

    Parameters
    ----------
    constant : float
        ``equity(P) − size · P``, USD: everything in the equity that does not move with this
        symbol's mark (see `binance_liquidation_price`, `hyperliquid_liquidation_price`).
    size : float
        Signed base quantity, non-zero.
    table : MarginTable
        The symbol's tiers.

    Returns
    -------
    float
        The liquidation price, USD. A long is liquidated at marks ≤ it and a short at marks ≥
        it. 0.0 when there is no positive root: a long that no positive price liquidates, or a
        short already liquidatable at every price (Binance shows "--" for a negative LP).

    Examples
    --------
    Long 1 unit, constant −95, flat 1 % table: (−95 + 0) / (0.01 − 1) = 95.9596…

    >>> flat = MarginTable.from_brackets("flat", [(0, 50, 0.01)])
    >>> round(liquidation_price(constant=-95.0, size=1.0, table=flat), 4)
    95.9596
    >>> liquidation_price(constant=5.0, size=1.0, table=flat)
    0.0
    """
    if size == 0.0:
        raise ValueError("expected a non-zero size")
    side = 1 if size > 0 else -1
    qty = abs(size)
    # side · (equity − MM) at P = 0 is side · constant; if it is not negative there, it is not
    # negative at any positive price (the function rises), so the root is not positive.
    if side * constant >= 0.0:
        return 0.0
    # Walk up the tiers while the root lies above the tier's upper price bound.
    last = len(table.tiers) - 1
    i = 0
    while i < last:
        upper = table.tiers[i + 1].floor / qty
        if side * _equity_minus_mm(constant, side, qty, upper, table) >= 0.0:
            break
        i += 1
    tier = table.tiers[i]
    upper = table.tiers[i + 1].floor / qty if i < last else math.inf
    price = (constant + table.cums[i]) / (qty * tier.mmr - side * qty)
    # Clamp to the tier's price interval: the root is inside it, so this only removes the
    # last-ulp rounding that could otherwise report a price whose notional is in a neighbour.
    return min(max(price, tier.floor / qty), upper)


def binance_liquidation_price(
    *,
    wallet_balance: float,
    size: float,
    entry_price: float,
    table: MarginTable,
    mode: MarginMode | str = MarginMode.ISOLATED,
    other_maintenance_margin: float = 0.0,
    other_unrealized_pnl: float = 0.0,
) -> float:
    """Return the liquidation price of a Binance USDⓈ-M position in one-way mode.

    ``LP = (WB − TMM1 + UPNL1 + cumB − Side·Pos·EP) / (Pos·MMR_B − Side·Pos)`` (FAQ "How to
    Calculate Liquidation Price of USDⓈ-M Futures Contracts"; mechanics §6.1), recomputed with
    the bracket that holds ``Pos · LP`` (see `liquidation_price`).

    Parameters
    ----------
    wallet_balance : float
        ``WB``: the cross wallet balance, or the isolated wallet balance of this position, USD.
    size : float
        ``Side · Pos``: signed quantity, non-zero.
    entry_price : float
        ``EP``, USD.
    table : MarginTable
        The symbol's brackets.
    mode : MarginMode or str
        ``"isolated"`` (``TMM1 = UPNL1 = 0``) or ``"cross"``; default isolated.
    other_maintenance_margin, other_unrealized_pnl : float
        ``TMM1`` and ``UPNL1``: maintenance margin and unrealized PnL of the account's *other*
        cross contracts, held at their current values; must be 0 in isolated mode.

    Returns
    -------
    float
        USD; 0.0 when no positive price liquidates the position (see `liquidation_price`).

    Examples
    --------
    Binance FAQ 25edcd7fe0e544839d0847b8cbb2e400: "a wallet balance of 500 USDT … a long BTCUSDT
    position worth 1,000 USDT with 20x leverage at $50,000 … your liquidation price will be
    $25,100.40": (500 − 0.02 × 50,000) / (0.02 × 0.4 % − 0.02) = 25,100.4016.

    >>> round(binance_liquidation_price(wallet_balance=500.0, size=0.02, entry_price=50_000.0,
    ...                                 table=BINANCE_BTCUSDT, mode="cross"), 2)
    25100.4

    Bracket recomputation, by hand: isolated short 1 BTC at 50,000 with WB 2,500. Bracket 1 gives
    52,500 / 1.004 = 52,290.84, a notional in bracket 2; bracket 2 gives (2,500 + 50 + 50,000) /
    1.005 = 52,288.56, which is in bracket 2.

    >>> round(binance_liquidation_price(wallet_balance=2_500.0, size=-1.0, entry_price=50_000.0,
    ...                                 table=BINANCE_BTCUSDT), 2)
    52288.56
    """
    isolated = MarginMode(mode) is MarginMode.ISOLATED
    if isolated and (other_maintenance_margin or other_unrealized_pnl):
        raise ValueError(
            "expected TMM1 = UPNL1 = 0 in isolated mode, was "
            f"{other_maintenance_margin}, {other_unrealized_pnl}"
        )
    constant = wallet_balance - other_maintenance_margin + other_unrealized_pnl - size * entry_price
    return liquidation_price(constant=constant, size=size, table=table)


def hyperliquid_liquidation_price(
    *,
    margin: float,
    size: float,
    price: float,
    table: MarginTable,
    mode: MarginMode | str = MarginMode.ISOLATED,
    other_maintenance_margin: float = 0.0,
) -> float:
    """Return the liquidation price of a Hyperliquid position.

    ``liq = price − side · margin_available / |size| / (1 − l · side)`` with ``l`` the tier's
    maintenance margin rate, ``margin_available(cross) = account_value − MM_required`` and
    ``margin_available(isolated) = isolated_margin − MM_required`` (docs ``trading/liquidations``;
    mechanics §5.2). With a single tier the two forms are algebraically equal; with tiers the
    rate is that of the tier holding the notional at the liquidation price, as the docs say, and
    the deduction enters through ``MM_required``. Computed by `liquidation_price` with
    ``constant = margin − other_MM − size · price``.

    Parameters
    ----------
    margin : float
        Cross: the account value (collateral plus all unrealized PnL) at ``price``. Isolated: the
        position's isolated margin including its unrealized PnL at ``price``. USD.
    size : float
        Signed quantity, non-zero.
    price : float
        The mark at which ``margin`` is measured, USD.
    table : MarginTable
        The coin's tiers (`HYPERLIQUID_TABLES`).
    mode : MarginMode or str
        ``"isolated"`` or ``"cross"``, default isolated.
    other_maintenance_margin : float
        Cross only: maintenance margin of the account's other positions, USD. Their margin and
        PnL (inside ``margin``) are held at their current values while this mark moves.

    Returns
    -------
    float
        USD; 0.0 when no positive price liquidates the position.

    Examples
    --------
    By hand with the docs' formula: isolated long 1 BTC, mark 100,000, isolated value 5,000 (20x);
    MM = 1.25 % × 100,000 = 1,250, margin available 3,750, so
    liq = 100,000 − 3,750 / (1 − 0.0125) = 96,202.53.

    >>> round(hyperliquid_liquidation_price(margin=5_000.0, size=1.0, price=100_000.0,
    ...                                     table=HYPERLIQUID_TABLES["BTC"]), 2)
    96202.53
    """
    if MarginMode(mode) is MarginMode.ISOLATED and other_maintenance_margin:
        raise ValueError(
            f"expected no other margin in isolated mode, was {other_maintenance_margin}"
        )
    constant = margin - other_maintenance_margin - size * price
    return liquidation_price(constant=constant, size=size, table=table)


def bankruptcy_price(*, size: float, entry_price: float, margin: float) -> float:
    """Return the price at which the position's margin is exactly zero.

    ``margin + size · (P − entry) = 0`` gives ``P = entry − margin / size`` (below the entry for
    a long, above it for a short). Binance closes a position the book could not absorb "at the
    bankruptcy price" and runs ADL there (mechanics §6.2); dYdX's ``GetBankruptcyPriceIn
    QuoteQuantums`` is the same quantity in quote units.

    Parameters
    ----------
    size : float
        Signed quantity, non-zero.
    entry_price : float
        USD.
    margin : float
        Collateral standing behind the position, USD: isolated wallet balance, or cross wallet
        balance plus the other positions' unrealized PnL.

    Returns
    -------
    float
        USD, floored at 0 (a long whose margin covers its whole notional cannot go bankrupt).

    Examples
    --------
    >>> bankruptcy_price(size=0.02, entry_price=50_000.0, margin=50.0)
    47500.0
    >>> bankruptcy_price(size=-2.0, entry_price=100.0, margin=20.0)
    110.0
    """
    if size == 0.0:
        raise ValueError("expected a non-zero size")
    return max(entry_price - margin / size, 0.0)


def liquidation_fee(quantity: float, price: float, fee_rate: float) -> float:
    """Return the clearance fee on a liquidated quantity: ``|quantity| · price · rate``.

    Binance charges its liquidation ("insurance clearance") fee "on the amount liquidated only
    (not the notional value of the position)" (FAQ 360033525271; mechanics §6.2). Historical FAQ
    rates: 0.3 % BTCUSDT, 0.5 % other symbols; current rates are per symbol and tier. Hyperliquid
    charges none on book liquidations.

    Parameters
    ----------
    quantity : float
        Liquidated quantity; the sign is ignored.
    price : float
        Fill price, USD.
    fee_rate : float
        Fraction, ≥ 0.

    Returns
    -------
    float
        USD, before any cap by the margin left (see ``insurance.settle_liquidation``).

    Examples
    --------
    >>> liquidation_fee(-0.5, 40_000.0, 0.003)
    60.0
    """
    if fee_rate < 0.0:
        raise ValueError(f"expected a fee rate >= 0, was {fee_rate}")
    return abs(quantity) * price * fee_rate


def insurance_take(
    size: float, bankruptcy_price: float, fill_price: float, *, fee_cap_rate: float | None = None
) -> float:
    """Return what the insurance fund gains (> 0) or pays (< 0) when a position fills.

    The trader is settled at the bankruptcy price (zero equity); the fund keeps the difference
    to the actual fill: ``size · (fill − bankruptcy)``, positive when a long is sold above, or a
    short bought back below, its bankruptcy price (Binance: "any remainder above the bankruptcy
    price … goes to the Insurance Fund", mechanics §6.2). This is dYdX's
    ``GetLiquidationInsuranceFundDelta`` (quote received − bankruptcy quote); dYdX caps a gain at
    ``max_liquidation_fee_ppm · |quote|`` (1.5 % at genesis) and leaves the rest to the trader —
    pass ``fee_cap_rate`` for that rule.

    Parameters
    ----------
    size : float
        Signed quantity of the *liquidated* position that filled.
    bankruptcy_price, fill_price : float
        USD.
    fee_cap_rate : float, optional
        Cap on a positive take, as a fraction of ``|size| · fill_price``; None (Binance) means
        no cap.

    Returns
    -------
    float
        Change of the fund, USD.

    Examples
    --------
    A long of 2 bankrupt at 95 sold at 96 gives the fund 2; sold at 93 it costs the fund 4. A
    short of 1 bankrupt at 110 bought back at 100 would give 10; dYdX's 1.5 % cap limits that to
    1.5 % × 100 = 1.5:

    >>> insurance_take(2.0, 95.0, 96.0), insurance_take(2.0, 95.0, 93.0)
    (2.0, -4.0)
    >>> insurance_take(-1.0, 110.0, 100.0, fee_cap_rate=0.015)
    1.5
    """
    take = size * (fill_price - bankruptcy_price)
    if fee_cap_rate is not None and take > 0.0:
        take = min(take, fee_cap_rate * abs(size) * fill_price)
    return take


def binance_funding_rate(
    premium_index: float,
    *,
    interval_hours: float = 8.0,
    interest_rate: float = 0.0001,
    clamp: float = 0.0005,
    cap: float | None = None,
) -> float:
    """Return Binance's funding rate for one settlement interval.

    ``F = [P + clamp(I − P, −0.05 %, +0.05 %)] / (8 / N)`` with ``I`` = 0.01 % per 8 h and ``N``
    the settlement interval in hours (mechanics §6.4, from 2025-09-18), then clamped to the
    symbol's funding-rate cap and floor when given.

    Parameters
    ----------
    premium_index : float
        Average premium index ``P`` over the interval, a fraction.
    interval_hours : float
        ``N``: 8, 4 or 1; default 8.
    interest_rate : float
        ``I`` per 8 hours, default 0.0001 (0 on some symbols, e.g. BNB pairs).
    clamp : float
        Half-width of the interest clamp, default 0.0005.
    cap : float, optional
        The symbol's funding-rate cap (symmetric), None for no cap.

    Returns
    -------
    float
        Rate per interval; positive means longs pay shorts.

    Examples
    --------
    A premium of 0.03 % inside the clamp gives the interest rate, 0.01 %; a premium of 1 % gives
    1 % − 0.05 % = 0.95 %, halved on a 4-hour interval, and capped at 0.3 % if that is the cap:

    >>> round(binance_funding_rate(0.0003), 6), round(binance_funding_rate(0.01), 6)
    (0.0001, 0.0095)
    >>> round(binance_funding_rate(0.01, interval_hours=4), 6)
    0.00475
    >>> binance_funding_rate(0.01, cap=0.003)
    0.003
    """
    if not 0.0 < interval_hours <= 8.0:
        raise ValueError(f"expected 0 < interval <= 8 hours, was {interval_hours}")
    return _interval_funding_rate(premium_index, interval_hours, interest_rate, clamp, cap)


def hyperliquid_funding_rate(
    premium_index: float,
    *,
    interest_rate: float = 0.0001,
    clamp: float = 0.0005,
    hourly_cap: float = 0.04,
) -> float:
    """Return Hyperliquid's hourly funding rate.

    The 8-hour rate ``F = P + clamp(I − P, −0.0005, 0.0005)`` with ``I`` = 0.01 % per 8 hours is
    paid every hour at ``F / 8``, capped at 4 % per hour (docs ``trading/funding``; mechanics
    §5.3).

    Parameters
    ----------
    premium_index : float
        Hourly average of the 5-second premium samples, a fraction.
    interest_rate : float
        ``I`` per 8 hours, default 0.0001.
    clamp : float
        Default 0.0005.
    hourly_cap : float
        Default 0.04.

    Returns
    -------
    float
        Rate per hour; positive means longs pay shorts.

    Examples
    --------
    Premium 1 %: F = 1 % − 0.05 % = 0.95 % per 8 h, 0.11875 % per hour; a 50 % premium hits the
    4 %/h cap:

    >>> round(hyperliquid_funding_rate(0.01), 8), hyperliquid_funding_rate(0.5)
    (0.0011875, 0.04)
    """
    return _interval_funding_rate(premium_index, 1.0, interest_rate, clamp, hourly_cap)


def _interval_funding_rate(
    premium_index: float,
    interval_hours: float,
    interest_rate: float,
    clamp: float,
    cap: float | None,
) -> float:
    # The 8-hour rate P + clamp(I - P, -clamp, clamp), pro rata to the interval, then capped;
    # Binance and Hyperliquid share the formula and differ in interval and cap.
    rate = (premium_index + min(max(interest_rate - premium_index, -clamp), clamp)) * (
        interval_hours / 8.0
    )
    if cap is not None:
        rate = min(max(rate, -cap), cap)
    return rate


def funding_payment(size: float, price: float, rate: float) -> float:
    """Return the funding a position pays: ``size · price · rate`` (negative: it receives).

    Hyperliquid uses the oracle price, Binance the mark price (mechanics §5.3, §6.4).

    Parameters
    ----------
    size : float
        Signed quantity.
    price : float
        USD.
    rate : float
        Funding rate for the period.

    Returns
    -------
    float
        USD leaving the position's account; longs pay shorts when ``rate > 0``.

    Examples
    --------
    >>> funding_payment(10.0, 10_000.0, 0.0001), funding_payment(-10.0, 10_000.0, 0.0001)
    (10.0, -10.0)
    """
    return size * price * rate
