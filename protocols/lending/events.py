"""Event kinds lending venues share beyond the engine's (`protosim.events`).

A lending liquidation is always logged with the shared `LiquidationExecuted` and its bad debt
with `BadDebtRealized`. What has no counterpart there is here: collateral auctions (Maker's
Flipper and Clipper, Comet's storefront), and the protocol's own reserves or system surplus
moving (Compound's reserves, Comet's reserves that may go negative, Maker's Vow). Like every
event they are frozen, past tense, and name their cause.
"""

from __future__ import annotations

from dataclasses import dataclass

from protosim.events import Event

__all__ = [
    "LENDING_EVENT_KINDS",
    "AuctionBidPlaced",
    "AuctionSettled",
    "AuctionStarted",
    "ReservesChanged",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AuctionStarted(Event):
    """A venue put seized collateral up for auction (``flip`` kick, ``clip`` kick or redo)."""

    venue: str
    auction: int
    """The venue's auction number (Maker's ``kicks``)."""
    account: int
    """The account (urn) whose collateral is sold; -1 for collateral the protocol owns."""
    kind: str
    """``flip`` (English, liquidations 1.x), ``clip`` (Dutch, 2.0), ``redo`` (a clip restarted)
    or ``storefront`` (Comet's ``buyCollateral``)."""
    collateral_asset: str
    lot: float
    """Collateral tokens offered."""
    tab: float
    """Debt the auction must raise, in the debt token (DAI for Maker)."""
    tab_usd: float
    start_price: float
    """Price the auction starts at (Clipper ``top``); 0 for an English auction."""
    keeper: str
    """Who called it (``bite``/``bark``/``redo``)."""
    incentive_usd: float
    """What the caller was paid for it (Clipper ``chip`` + ``tip``; 0 for the Cat)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuctionBidPlaced(Event):
    """A bidder moved an auction (Flipper ``tend``/``dent``, Clipper ``take``, storefront)."""

    venue: str
    auction: int
    bidder: str
    action: str
    lot: float
    """Collateral tokens the bid is for (after a ``dent``: the lot accepted)."""
    bid: float
    """Debt tokens offered (``tend``/``dent``) or paid (``take``/``buy``)."""
    bid_usd: float
    price: float
    """Debt tokens per collateral token implied by the bid."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuctionSettled(Event):
    """An auction ended (``deal``, the last ``take``, or a storefront sale that filled)."""

    venue: str
    auction: int
    winner: str
    """Highest bidder, or ``""`` when nobody bid."""
    lot_sold: float
    """Collateral tokens the winner received."""
    raised: float
    """Debt tokens the auction raised."""
    raised_usd: float
    tab: float
    """Debt tokens it had to raise."""
    collateral_returned: float
    """Collateral tokens given back to the account (a ``dent`` phase or a finished clip)."""
    shortfall: float
    """``max(tab − raised, 0)``: left to the system as bad debt."""
    collateral_value_usd: float
    """Market value of the collateral sold, at the moment it settled (to measure the discount)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservesChanged(Event):
    """The protocol's own reserves (or system surplus) changed because of a liquidation."""

    venue: str
    asset: str
    amount: float
    """Change, in tokens of `asset` (negative: a loss the reserves absorbed)."""
    amount_usd: float
    balance: float
    """Reserves after the change; may be negative (Comet, Maker's Vow)."""
    reason: str
    """``seize_share`` (Compound v2), ``absorb`` / ``buy_collateral`` (Comet), ``vow_fess`` /
    ``vow_kiss`` / ``flop`` (Maker) …"""


LENDING_EVENT_KINDS: tuple[type[Event], ...] = (
    AuctionStarted,
    AuctionBidPlaced,
    AuctionSettled,
    ReservesChanged,
)
