"""Event kinds of Aave v3 account actions (mechanics §1.9: supply, borrow).

Liquidations use the shared `protosim.events.LiquidationExecuted` and `BadDebtRealized`; what
has no counterpart there is an account being opened, supplying and borrowing through the
venue's action API (`AaveV3Market.open_account`, `supply`, `borrow`). Like every event they are
frozen, past tense, and name their cause.
"""

from __future__ import annotations

from dataclasses import dataclass

from protosim.events import Event

__all__ = ["AAVE_EVENT_KINDS", "AccountOpened", "Borrowed", "Supplied"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountOpened(Event):
    """A new account entered the market's book (its supplies and borrows follow)."""

    venue: str
    account: int
    emode: int
    """E-mode category the account chose (``setUserEMode``), 0 for none."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Supplied(Event):
    """An account supplied a reserve (``Pool.supply``)."""

    venue: str
    account: int
    asset: str
    amount: float
    """Tokens supplied."""
    amount_usd: float
    as_collateral: bool
    """Whether the balance counts as collateral (``validateUseAsCollateral``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Borrowed(Event):
    """An account borrowed a reserve at the variable rate (``Pool.borrow``)."""

    venue: str
    account: int
    asset: str
    amount: float
    """Tokens borrowed."""
    amount_usd: float


AAVE_EVENT_KINDS: tuple[type[Event], ...] = (AccountOpened, Supplied, Borrowed)
