"""Structural types that venues, oracles and agents implement, and that the engine relies on.

A venue never imports an oracle class: it reads prices through `Oracle`. The engine never
imports a venue class: it builds components through the registry and starts them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from protosim.events import ROOT

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class OracleReading:
    """What an on-chain consumer reads from an oracle.

    Attributes
    ----------
    price : float
        The answer in USD.
    updated_at : float
        When the answer landed on chain (simulated seconds).
    observed_at : float
        When the off-chain source price behind it existed.
    round_id : int
        Increases by one with every new answer.
    seq : int
        ``seq`` of the event that set the answer (``ROOT`` for the initial answer); a consumer
        names it as the cause of what it does with the price.
    """

    price: float
    updated_at: float
    observed_at: float
    round_id: int
    seq: int = ROOT


@runtime_checkable
class Oracle(Protocol):
    """A price feed for one asset, run as a process with its own update rules."""

    oracle_id: str
    asset: str

    def read(self) -> OracleReading:
        """Return what a consumer sees now (possibly stale)."""
        ...

    def subscribe(self, callback: Callable[[OracleReading], None]) -> None:
        """Call `callback` with every new answer as it lands."""
        ...

    @property
    def state(self) -> str:
        """``live``, ``outage`` or ``frozen``."""
        ...

    @property
    def state_cause(self) -> int:
        """``seq`` of the event that set the current `state` (``ROOT`` while never changed)."""
        ...

    def set_state(self, state: str, *, cause: int) -> None:
        """Switch to ``"outage"`` (no new rounds), ``"frozen"`` (rounds repeat the last answer)
        or back to ``"live"``; `cause` is the shock's event.
        """
        ...

    def inject_bad_print(self, price: float, *, cause: int) -> None:
        """Make the next round report `price` (a single wrong value), now."""
        ...

    def add_delay(self, extra_s: float, until_s: float) -> None:
        """Add `extra_s` to the publication latency of rounds started before `until_s`."""
        ...

    def start(self) -> None:
        """Start the oracle's processes."""
        ...

    def sources(self) -> tuple[tuple[str, str], ...]:
        """Return what the answer is computed from: ``("market", venue id)``,
        ``("reference", asset id)``, ``("oracle", oracle id)`` or ``("constant", value)``.
        """
        ...


@runtime_checkable
class ExposureVenue(Protocol):
    """A venue whose positions exposure analysis can read and stress at first order."""

    venue_id: str

    @property
    def chain_id(self) -> str | None:
        """The chain the venue settles on (None for an off-chain venue)."""
        ...

    def positions_frame(self) -> pd.DataFrame:
        """Return one row per position with at least ``venue``, ``account``,
        ``collateral_usd``, ``debt_usd`` and ``health_factor``.
        """
        ...

    def health_under(self, prices: Mapping[str, float]) -> NDArray[np.float64]:
        """Return each position's health (liquidatable below 1) if its oracles answered
        `prices`, in `positions_frame` order.
        """
        ...

    def priced_by(self) -> Mapping[str, tuple[str, ...]]:
        """Return, per asset the venue prices, the oracle ids it reads (in order of use)."""
        ...


@runtime_checkable
class Component(Protocol):
    """Anything the engine builds from a scenario: it starts itself and reports metrics."""

    def start(self) -> None:
        """Register phase handlers and start processes; called once before the run."""
        ...

    def metrics(self) -> Mapping[str, float]:
        """Return end-of-run figures (liquidated USD, bad debt …), keyed by name."""
        ...
