"""Oracle manipulation through a thin market (issue 8): buy the asset where an oracle reads it,
wait for the oracle to publish the pumped price, borrow everything the lending venue allows
against the inflated collateral, and walk away.

The sequence is the one Solidus Labs reconstructed for Mango Markets on 11 October 2022
(crashes.md §9): an account holding a large position in the asset (Mango: a 483M MNGO-PERP long
bought at $0.0382, whose unrealized PnL Mango counted as collateral), spot buys of a few million
dollars on the thin venues the oracle aggregates, then borrows of every other asset against the
pumped value until the venue refuses. Nothing here is scripted to reach a figure: how far the
price moves is the venues' impact model (mechanics §12: constant product, square root), when
the agent borrows is when the oracle has published a price observed after its last buy, and how
much it borrows is whatever the venue's own checks (LTV, borrow caps) accept, found by trying
borrows until they revert (``ValidationLogic.validateBorrow`` in aave-v3-origin).

The venue is reached only through its public account API (`BorrowingVenue`): ``open_account``,
``supply``, ``borrow`` raising ``AaveReverted`` and ``price``, as ``lending.aave_v3`` offers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protosim.clock import ProcessGenerator
from protosim.context import SimContext
from protosim.events import ROOT, Event
from protosim.market import VenueHaltedError
from protosim.protocols.lending.aave_v3.errors import AaveReverted
from protosim.registry import ComponentType, Registry
from protosim.scenario import ComponentSpec

__all__ = [
    "BorrowingVenue",
    "BuyParams",
    "Manipulator",
    "ManipulatorBorrowed",
    "ManipulatorParams",
    "borrow_max",
    "build",
    "register",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _When(_Strict):
    """A time: seconds after the start, or a UTC time (with the scenario's ``start_utc``)."""

    at_s: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    at_utc: datetime | None = None

    @model_validator(mode="after")
    def _one_time(self) -> _When:
        if (self.at_s is None) == (self.at_utc is None):
            raise ValueError("expected exactly one of at_s or at_utc")
        if self.at_utc is not None and self.at_utc.utcoffset() is None:
            raise ValueError(f"expected a timezone-aware at_utc, was naive {self.at_utc}")
        return self

    def seconds(self, start_utc: datetime | None, where: str) -> float:
        """Return the time in seconds after the start."""
        if self.at_s is not None:
            return self.at_s
        assert self.at_utc is not None  # one of the two, checked on validation
        if start_utc is None:
            raise KeyError(f"{where}.at_utc: the scenario has no start_utc to convert it with")
        offset = (self.at_utc - start_utc).total_seconds()
        if offset < 0:
            raise KeyError(f"{where}.at_utc: {self.at_utc} is before the scenario's start_utc")
        return offset


class BuyParams(_When):
    """One spot purchase: spend `usd` on market venue `venue`, from the time given, in `slices`
    equal trades spread evenly over `over_s` seconds.
    """

    venue: str
    usd: float = Field(gt=0, allow_inf_nan=False)
    over_s: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    slices: int = Field(default=1, ge=1, le=10_000)


class ManipulatorParams(_Strict):
    """Parameters of a thin-market oracle manipulator."""

    venue: str
    """The lending venue it borrows from."""
    asset: str
    """The asset it pumps and borrows against."""
    oracle: str
    """The feed the venue prices `asset` with; the agent borrows once this feed has published
    a price observed after its last buy."""
    open_at: _When
    """When the account is opened with `collateral` and `debt`."""
    collateral: dict[str, float] = Field(min_length=1)
    """Tokens the account starts with as collateral (Mango: the perp long's 483M MNGO)."""
    debt: dict[str, float] = Field(default_factory=dict)
    """Tokens the account starts owing (Mango: the perp long's quote balance)."""
    buys: tuple[BuyParams, ...] = Field(min_length=1)
    supply_bought: bool = False
    """Supply the tokens it buys to the account as collateral (False: they only move the
    price, as the Mango wallets that bought spot were not the borrowing account)."""
    borrow: tuple[str, ...] = Field(min_length=1)
    """Assets to borrow, in this order, each as much as the venue allows."""
    min_borrow_usd: float = Field(default=1_000.0, gt=0, allow_inf_nan=False)
    """Stop halving a refused borrow below this size: the precision of "the maximum"."""
    poll_s: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    """How often it looks at the oracle while waiting."""
    max_wait_s: float = Field(default=3_600.0, gt=0, allow_inf_nan=False)
    """Give up (borrow nothing) if the oracle has not caught up by then."""

    @model_validator(mode="after")
    def _consistent(self) -> ManipulatorParams:
        for role in ("collateral", "debt"):
            for asset, amount in getattr(self, role).items():
                if not amount > 0 or not math.isfinite(amount):
                    raise ValueError(f"{role}.{asset}: expected a finite amount > 0, was {amount}")
        if self.asset in self.borrow:
            raise ValueError(f"borrow: expected assets other than {self.asset!r}, the pumped one")
        if len(set(self.borrow)) != len(self.borrow):
            raise ValueError(f"borrow: expected distinct assets, was {list(self.borrow)}")
        return self


@dataclass(frozen=True, slots=True, kw_only=True)
class ManipulatorBorrowed(Event):
    """A manipulator borrowed all the venue allowed of one asset against pumped collateral."""

    venue: str
    agent: str
    account: int
    asset: str
    amount: float
    """Tokens borrowed in all (0 if the first try was refused down to the floor)."""
    amount_usd: float
    """At the venue's price of `asset` when borrowed."""
    collateral_price: float
    """The venue's price of the pumped asset when it borrowed."""
    stopped_by: str
    """The revert that ended the borrowing (``BORROW_CAP_EXCEEDED``,
    ``COLLATERAL_CANNOT_COVER_NEW_BORROW`` ...), or "" if none was met."""


class BorrowingVenue(Protocol):
    """What the manipulator needs of a lending venue (``lending.aave_v3``'s account API)."""

    def open_account(
        self,
        *,
        collateral: Mapping[str, float],
        debt: Mapping[str, float],
        emode: int = 0,
        cause: int = ROOT,
    ) -> int:
        """Open an account holding `collateral` and owing `debt`; return its id."""
        ...

    def supply(self, account: int, asset: str, amount: float, *, cause: int) -> None:
        """Add `amount` of `asset` to the account's collateral."""
        ...

    def borrow(self, account: int, asset: str, amount: float, *, cause: int) -> None:
        """Borrow `amount` of `asset`, or raise ``AaveReverted``."""
        ...

    def price(self, asset: str) -> float:
        """Return the venue's oracle price of `asset` now."""
        ...


def borrow_max(
    try_borrow: Any, upper: float, floor: float, attempts: int = 200
) -> tuple[float, str]:
    """Borrow as much as `try_borrow` accepts, trying `upper` first and halving on refusals.

    A borrow that goes through is kept and the same size is tried again; a refused one is
    halved, until the size falls below `floor`. The total is within `floor` of the largest
    amount the venue accepts when its limit is a threshold on the total borrowed.

    Parameters
    ----------
    try_borrow : callable
        ``try_borrow(amount)`` borrows or raises `AaveReverted`.
    upper : float
        First size tried (an amount no venue would accept in one piece is fine).
    floor : float
        Precision: the total ends within `floor` of the limit.
    attempts : int
        Hard cap on tries.

    Returns
    -------
    tuple of (float, str)
        The total borrowed and the last revert error ("" if none).

    Examples
    --------
    A venue that lends at most 100 in all:

    >>> lent = []
    >>> def venue(amount):
    ...     if sum(lent) + amount > 100.0:
    ...         raise AaveReverted("BORROW_CAP_EXCEEDED", "cap 100")
    ...     lent.append(amount)
    >>> total, error = borrow_max(venue, upper=1_000.0, floor=0.01)
    >>> 100.0 - 0.01 <= total <= 100.0, error
    (True, 'BORROW_CAP_EXCEEDED')
    """
    total, size, error = 0.0, upper, ""
    for _ in range(attempts):
        # Stopping below floor / 2 means the last refused size was below `floor`: the gap
        # between the total and the limit is smaller than that.
        if size < floor / 2.0:
            break
        try:
            try_borrow(size)
        except AaveReverted as exc:
            error = exc.error
            size /= 2.0
            continue
        total += size
    return total, error


class Manipulator:
    """Pumps a thin market an oracle reads, borrows the most it can against it, and leaves.

    Parameters
    ----------
    ctx : SimContext
        The run's context (the venue and the oracle must already be built).
    agent_id : str
        The agent's id; its trades carry it as ``trader``.
    params : ManipulatorParams
        The plan: account, buys, oracle to wait for, assets to borrow.
    """

    def __init__(self, ctx: SimContext, agent_id: str, params: ManipulatorParams) -> None:
        self.agent_id = agent_id
        self.params = params
        self._ctx = ctx
        self.venue: BorrowingVenue = ctx.venue(params.venue)
        for name in ("open_account", "supply", "borrow", "price"):
            if not callable(getattr(self.venue, name, None)):
                raise KeyError(
                    f"venue: {params.venue!r} has no {name}(); expected a lending venue with "
                    "the account API of lending.aave_v3"
                )
        self.oracle = ctx.oracle(params.oracle)
        if self.oracle.asset != params.asset:
            raise KeyError(
                f"oracle: {params.oracle!r} prices {self.oracle.asset!r}, not {params.asset!r}"
            )
        market = ctx.market
        for i, buy in enumerate(params.buys):
            found = market.venues.get(buy.venue)
            if found is None or found.asset != params.asset:
                raise KeyError(
                    f"buys[{i}].venue: {buy.venue!r} is not a market venue of {params.asset!r}"
                )
        start_utc = ctx.scenario.start_utc
        self._open_s = params.open_at.seconds(start_utc, "open_at")
        self._buy_s = [b.seconds(start_utc, f"buys[{i}]") for i, b in enumerate(params.buys)]
        self.account: int | None = None
        self.bought = 0.0
        self.spent_usd = 0.0
        self.borrowed: dict[str, float] = {}
        self.stats = {"buys": 0.0, "halted_buys": 0.0, "gave_up": 0.0, "borrowed_usd": 0.0}

    def start(self) -> None:
        """Start the plan: open the account, buy, wait for the oracle, borrow."""
        self._ctx.clock.start(f"agent.{self.agent_id}", self.run())

    def metrics(self) -> dict[str, float]:
        """Return what it spent and borrowed, and its account's value at the final prices.

        ``shortfall_usd`` is the debt (principal) less the collateral at the venue's final
        prices: what the lenders lose if the account is never repaid.
        """
        venue = self.venue
        out = dict(self.stats)
        out["spent_usd"] = self.spent_usd
        out["tokens_bought"] = self.bought
        collateral = dict(self.params.collateral)
        if self.params.supply_bought:
            collateral[self.params.asset] = collateral.get(self.params.asset, 0.0) + self.bought
        debt = dict(self.params.debt)
        for asset, amount in self.borrowed.items():
            debt[asset] = debt.get(asset, 0.0) + amount
        opened = self.account is not None
        coll_usd = sum(q * venue.price(a) for a, q in collateral.items()) if opened else 0.0
        debt_usd = sum(q * venue.price(a) for a, q in debt.items()) if opened else 0.0
        out["collateral_usd_end"] = coll_usd
        out["debt_usd_end"] = debt_usd
        out["shortfall_usd"] = max(0.0, debt_usd - coll_usd)
        return out

    def _wait_until(self, t: float) -> Any:
        return self._ctx.clock.act_after(max(0.0, t - self._ctx.clock.now))

    def run(self) -> ProcessGenerator:
        """Open at `open_at`, buy on schedule, wait for the oracle, borrow, stop."""
        p = self.params
        yield self._wait_until(self._open_s)
        self.account = self.venue.open_account(
            collateral=dict(p.collateral), debt=dict(p.debt), cause=ROOT
        )
        # Every slice of every buy, in time order (ties: the order the scenario lists them).
        plan = sorted(
            (t0 + k * (b.over_s / b.slices), i, b)
            for i, (t0, b) in enumerate(zip(self._buy_s, p.buys, strict=True))
            for k in range(b.slices)
        )
        last_buy_t = -math.inf
        for t, _, buy in plan:
            yield self._wait_until(t)
            if self._buy(buy.venue, buy.usd / buy.slices):
                last_buy_t = self._ctx.clock.now
        waited = 0.0
        while self.oracle.read().observed_at < last_buy_t:
            if waited >= p.max_wait_s:
                self.stats["gave_up"] = 1.0
                return
            yield self._ctx.clock.act_after(p.poll_s)
            waited += p.poll_s
        self._borrow_all()

    def _buy(self, venue: str, usd: float) -> bool:
        market = self._ctx.market
        if market.halted(venue):
            self.stats["halted_buys"] += 1
            return False

        # Spend `usd`: the quantity whose fill costs that much (bisection on the quote). Buying
        # only raises the price, so `usd / price` tokens cost at least `usd`: an upper bound.
        def cost(quantity: float) -> float:
            try:
                return market.quote(venue, quantity).notional_usd
            except ValueError:  # more than a pool holds
                return math.inf

        low, high = 0.0, usd / market.price(self.params.asset, venue)
        for _ in range(100):
            mid = (low + high) / 2.0
            if cost(mid) <= usd:
                low = mid
            else:
                high = mid
        try:
            fill = market.trade(venue, low, trader=self.agent_id)
        except VenueHaltedError:  # pragma: no cover - checked just above
            self.stats["halted_buys"] += 1
            return False
        self.bought += low
        self.spent_usd += fill.notional_usd
        self.stats["buys"] += 1
        if self.params.supply_bought and self.account is not None:
            self.venue.supply(self.account, self.params.asset, low, cause=ROOT)
        return True

    def _borrow_all(self) -> None:
        p = self.params
        venue = self.venue
        account = self.account
        assert account is not None  # opened before any buy
        reading = self.oracle.read()
        cause = reading.seq
        collateral_price = venue.price(p.asset)
        held = dict(p.collateral)
        if p.supply_bought:
            held[p.asset] = held.get(p.asset, 0.0) + self.bought
        # No venue lends more than the collateral is worth (LTV <= 100%): the first size tried.
        ceiling_usd = sum(q * venue.price(a) for a, q in held.items())
        for asset in p.borrow:
            price = venue.price(asset)

            def attempt(amount: float, asset: str = asset) -> None:
                venue.borrow(account, asset, amount, cause=cause)

            amount, error = borrow_max(attempt, ceiling_usd / price, p.min_borrow_usd / price)
            self.borrowed[asset] = amount
            self.stats["borrowed_usd"] += amount * price
            self._ctx.log.emit(
                ManipulatorBorrowed,
                cause=cause,
                venue=p.venue,
                agent=self.agent_id,
                account=account,
                asset=asset,
                amount=amount,
                amount_usd=amount * price,
                collateral_price=collateral_price,
                stopped_by=error,
            )


def build(
    ctx: SimContext, spec: ComponentSpec, params: ManipulatorParams, where: str
) -> Manipulator:
    """Build a `Manipulator` from its scenario entry."""
    del where
    return Manipulator(ctx, spec.id, params)


def register(registry: Registry) -> None:
    """Register ``agent.manipulator`` in `registry`."""
    registry.register(
        ComponentType(
            kind="agent.manipulator",
            role="agent",
            params=ManipulatorParams,
            build=build,
            description=(
                "Thin-market oracle manipulator: buys where the oracle reads, borrows the max,"
                " walks away"
            ),
        )
    )
