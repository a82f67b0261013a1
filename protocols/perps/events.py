"""Event kinds only perp venues produce (the shared kinds live in `protosim.events`).

A perp liquidation is logged with the shared `LiquidationExecuted` (so analysis reads every
venue's liquidations alike), the bad debt it leaves with `BadDebtRealized`, the order it sends to
the book with `TradeExecuted`. What has no lending counterpart is here: auto-deleveraging fills,
insurance-fund moves, the liquidator vault taking an account over, funding settlements and
venue halts. Like every event they are frozen, past tense, and name their cause.
"""

from __future__ import annotations

from dataclasses import dataclass

from protosim.events import Event

__all__ = [
    "PERP_EVENT_KINDS",
    "AdlExecuted",
    "BackstopTookOver",
    "FundingSettled",
    "InsuranceFundChanged",
    "VenueHalted",
    "VenueResumed",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AdlExecuted(Event):
    """An opposite-side position was closed against a bankrupt one (auto-deleveraging)."""

    venue: str
    market: str
    account: int
    """The account deleveraged."""
    counterparty_of: int
    """The bankrupt account whose position this fill took over."""
    quantity: float
    """Base quantity closed (> 0)."""
    price: float
    """Fill price, USD: the bankruptcy price of the positions taken over (quantity-weighted
    over one batch)."""
    pnl_usd: float
    """Unrealized PnL at the mark of the quantity closed (the "ADL'd PnL")."""
    transfer_usd: float
    """Equity the account gave up against the mark: ``quantity · |price − mark|``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InsuranceFundChanged(Event):
    """The insurance fund took clearance fees or paid for bankrupt positions."""

    venue: str
    amount_usd: float
    """Change of the balance: positive for fees and take-over gains, negative for losses."""
    balance_usd: float
    """Balance after the change."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BackstopTookOver(Event):
    """The liquidator vault took over a position and the margin behind it (Hyperliquid §5.2)."""

    venue: str
    market: str
    account: int
    quantity: float
    """Signed base quantity the vault took."""
    price: float
    """Mark at the take-over, USD: the vault's entry."""
    equity_usd: float
    """Equity the account handed over with it (negative: the vault absorbed a deficit)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingSettled(Event):
    """Funding for one interval was paid between longs and shorts of one market."""

    venue: str
    market: str
    rate: float
    """Rate for the interval; positive means longs paid shorts."""
    price: float
    """Price the payment was computed on (oracle on Hyperliquid, mark on Binance)."""
    longs_paid_usd: float
    """What the venue's long positions paid in total (negative: they received)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueHalted(Event):
    """A perp venue stopped trading, liquidating and accepting margin transfers."""

    venue: str
    until_s: float
    """When it resumes unless told otherwise."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueResumed(Event):
    """A halted perp venue resumed; the positions it held carried through."""

    venue: str


PERP_EVENT_KINDS: tuple[type[Event], ...] = (
    AdlExecuted,
    InsuranceFundChanged,
    BackstopTookOver,
    FundingSettled,
    VenueHalted,
    VenueResumed,
)
"""The event kinds this package adds."""
