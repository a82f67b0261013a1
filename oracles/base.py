"""What every feed model shares: the answer consumers read, subscribers, the live / outage /
frozen state, landing a round (on a chain, or at once for an off-chain feed), and the failure
modes a scenario can inject (a bad print, an extra publication delay).

A feed model subclasses `Feed` and implements `run`: when to observe and what to report. It
calls `publish` with the price, the reason and the cause; `Feed` does the rest.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TypeVar

import simpy
from pydantic import BaseModel, ConfigDict, Field, model_validator

from protosim.blocks import Chain, Tx
from protosim.clock import Phase, ProcessGenerator
from protosim.context import SimContext
from protosim.events import OracleRoundRejected, OracleStateChanged, OracleUpdated
from protosim.interfaces import OracleReading
from protosim.market import PriceState
from protosim.scenario import ComponentSpec

STATES = ("live", "outage", "frozen")

"""Value a sleeping cadence loop is resumed with when a state change, not its timer, woke it."""


class FeedParams(BaseModel):
    """Parameters every feed has: what it prices and where (if anywhere) it publishes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    asset: str
    chain: str | None = None
    """Chain the answer is published on; None for an off-chain feed (a CEX or perp index)."""
    latency_min_s: float = Field(default=1.0, ge=0)
    latency_max_s: float = Field(default=30.0, ge=0)
    """Publish latency drawn uniformly from [min, max] before block inclusion (on-chain feeds)."""
    decimals: int = Field(default=8, ge=0, le=18)
    min_answer: float = Field(default=0.0, ge=0)
    max_answer: float = Field(default=float("inf"), gt=0)
    """Reports outside [min_answer, max_answer] are rejected; the last answer stands."""
    gas: int = Field(default=250_000, gt=0)
    priority_fee_gwei: float = Field(default=5.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> FeedParams:
        if self.latency_max_s < self.latency_min_s:
            raise ValueError(
                "expected latency_max_s >= latency_min_s, "
                f"was {self.latency_max_s} < {self.latency_min_s}"
            )
        if self.max_answer <= self.min_answer:
            raise ValueError(
                f"expected max_answer > min_answer, was {self.max_answer} <= {self.min_answer}"
            )
        return self


class Feed(ABC):
    """Base of the feed models.

    Parameters
    ----------
    ctx : SimContext
        The run's context.
    oracle_id : str
        The feed's id.
    params : FeedParams
        Common parameters (subclasses extend them).
    initial_price : float
        The answer at t = 0.
    """

    def __init__(
        self, ctx: SimContext, oracle_id: str, params: FeedParams, initial_price: float
    ) -> None:
        self.oracle_id = oracle_id
        self.asset = params.asset
        self._ctx = ctx
        self._base = params
        self._chain: Chain | None = ctx.chain(params.chain) if params.chain else None
        self._rng = ctx.rng.stream(f"oracle.{oracle_id}")
        self._state = "live"
        self._state_cause = -1
        self._state_changed: simpy.Event = ctx.clock.env.event()
        self._subscribers: list[Callable[[OracleReading], None]] = []
        self._reading = OracleReading(
            price=self._quantize(initial_price), updated_at=0.0, observed_at=0.0, round_id=1
        )
        self._bad_print: tuple[float, int] | None = None
        self._observed_state: PriceState | None = None
        self._watched_venues: tuple[str, ...] | None = None  # observed_venues(), once asked
        self._delays: list[tuple[float, float]] = []  # (until, extra seconds)
        self.rounds = 0
        self.rejected = 0

    # -- Oracle protocol ----------------------------------------------------------------------

    def read(self) -> OracleReading:
        """Return the latest answer (no staleness check: that is the consumer's guard)."""
        return self._reading

    def subscribe(self, callback: Callable[[OracleReading], None]) -> None:
        """Call `callback` with each new answer as it lands."""
        self._subscribers.append(callback)

    @property
    def state_cause(self) -> int:
        """``seq`` of the shock that set the current `state` (``ROOT`` while never changed)."""
        return self._state_cause

    def set_state(self, state: str, *, cause: int) -> None:
        """Switch between ``live``, ``outage`` (no rounds) and ``frozen`` (rounds repeat the
        last answer on the feed's own schedule).
        """
        if state not in STATES:
            raise ValueError(f"expected state live, outage or frozen, was {state!r}")
        self._state = state
        self._state_cause = cause
        self._ctx.log.emit(OracleStateChanged, cause=cause, oracle=self.oracle_id, state=state)
        self._wake()

    def inject_bad_print(self, price: float, *, cause: int) -> None:
        """Make the next round report `price` whatever the market says, now."""
        if not price > 0:
            raise ValueError(f"expected a bad print > 0, was {price}")
        self._bad_print = (price, cause)
        self._wake()

    def add_delay(self, extra_s: float, until_s: float) -> None:
        """Add `extra_s` seconds to the publication latency of rounds started before `until_s`."""
        if extra_s < 0:
            raise ValueError(f"expected extra_s >= 0, was {extra_s}")
        self._delays.append((until_s, extra_s))

    def start(self) -> None:
        """Start the feed's process (and note what its sources show at t = 0)."""
        if self.asset in self._ctx.market.assets:  # a sequencer feed prices no asset
            self._observed_state = self._ctx.market.price_state(self.asset, self._watched())
        self._ctx.clock.start(f"oracle.{self.oracle_id}", self.run())

    def metrics(self) -> dict[str, float]:
        """Return the number of rounds landed and rejected, and the last answer."""
        return {
            "rounds": float(self.rounds),
            "rejected_rounds": float(self.rejected),
            "last_answer": self._reading.price,
            "last_updated_at": self._reading.updated_at,
        }

    def sources(self) -> tuple[tuple[str, str], ...]:
        """Return what the answer is computed from: the trading venues named in the params'
        ``observes``, else the asset's reference price; models that read other feeds or
        constants override this.
        """
        observes = getattr(self._base, "observes", ())
        if observes:
            return tuple(("market", venue) for venue in observes)
        return (("reference", self.asset),)

    def observed_venues(self) -> tuple[str, ...]:
        """Return the trading venues among the feed's sources (empty: the reference price)."""
        return tuple(ident for kind, ident in self.sources() if kind == "market")

    def _watched(self) -> tuple[str, ...]:
        # The sources of a feed are fixed once it is built: ask once, not at every tick.
        if self._watched_venues is None:
            self._watched_venues = self.observed_venues()
        return self._watched_venues

    def attribute_observation(self, now: PriceState | None = None) -> tuple[int, int]:
        """Return ``(cause, span)`` of the move the feed sees since its last observation.

        `now`, if given, is the state of the feed's observed venues at this instant (as
        `observe_venues` returns it), which saves reading it again.
        """
        market = self._ctx.market
        venues = self._watched()
        if now is None:
            now = market.price_state(self.asset, venues)
        before = self._observed_state
        self._observed_state = now
        if before is None:
            before = now
        return market.attribute(self.asset, venues, before, now)

    def observe_venues(self) -> tuple[PriceState, tuple[float, ...]]:
        """Return the state of the feed's observed venues now and each one's price.

        The prices are those `Market.price` gives (reference price times the venue's trade
        displacement), in `observed_venues` order, read from one `Market.price_state`.
        """
        market = self._ctx.market
        state = market.price_state(self.asset, self._watched())
        reference = market.reference_price(self.asset, state.t)
        exp = math.exp
        return state, tuple(reference * exp(log) for _, log in state.venue_logs)

    def pending_override(self) -> tuple[float, str, int, int] | None:
        """Return ``(price, reason, cause, span)`` when a bad print or a frozen state decides
        the next report instead of an observation, else None.
        """
        bad = self.take_bad_print()
        if bad is not None:
            return bad[0], "bad_print", bad[1], 1
        if self.state == "frozen":
            return self.read().price, "frozen", self._state_cause, 1
        return None

    def report(self, observe: Callable[[], float], landed: simpy.Event | None) -> bool:
        """Publish what `observe` returns (or a pending bad print / frozen answer)."""
        return self._report_observed(lambda: (observe(), self.attribute_observation()), landed)

    def report_venues(
        self, combine: Callable[[tuple[float, ...]], float], landed: simpy.Event | None
    ) -> bool:
        """Publish `combine` of the observed venues' prices (or a pending override).

        As `report` with ``observe = lambda: combine(prices)``, reading the market once for
        both the prices and the attribution of the move.
        """

        def observed() -> tuple[float, tuple[int, int]]:
            state, prices = self.observe_venues()
            return combine(prices), self.attribute_observation(state)

        return self._report_observed(observed, landed)

    def _report_observed(
        self,
        observed: Callable[[], tuple[float, tuple[int, int]]],
        landed: simpy.Event | None,
    ) -> bool:
        # A pending bad print or frozen answer goes out instead of the observation.
        override = self.pending_override()
        if override is None:
            price, (cause, span) = observed()
            reason = "scheduled"
        else:
            price, reason, cause, span = override
        return self.publish(
            price,
            observed_at=self._ctx.clock.now,
            reason=reason,
            cause=cause,
            cause_span=span,
            landed=landed,
        )

    def run_every(
        self, every_s: float, report: Callable[[simpy.Event | None], bool]
    ) -> ProcessGenerator:
        """Call `report` at every multiple of `every_s` (at once for a bad print), waiting for
        each round to land; nothing during an outage. The loop of every cadence-driven feed.

        `report` is given the event to fire when the round lands, or None for an off-chain
        feed, whose round lands inside `report`.
        """
        clock = self._ctx.clock
        env = clock.env
        offchain = self._chain is None
        while True:
            if self.state == "outage":
                yield self.state_changed
                continue
            if self._bad_print is None:
                due = (math.floor(clock.now / every_s) + 1) * every_s
                timer = clock.observe_after(due - clock.now)
                if not (yield from clock.wait_timer_or(timer, self.state_changed)):
                    continue
            if offchain:
                # The round has landed inside `report`. Waiting for a `landed` event fired
                # then would resume this process right away unless something else is due
                # first at this instant (a subscriber's wake-up): only then wait, so the
                # same-instant order is what it would be.
                if report(None) and clock.normal_event_due_now():
                    landed = env.event()
                    landed.succeed()
                    yield landed
            else:
                landed = env.event()
                if report(landed):
                    yield landed

    @abstractmethod
    def run(self) -> ProcessGenerator:
        """Observe and publish by the model's rules (each model defines it)."""

    # -- helpers for models -------------------------------------------------------------------

    @property
    def state(self) -> str:
        """``live``, ``outage`` or ``frozen``."""
        return self._state

    @property
    def state_changed(self) -> simpy.Event:
        """An event that fires at the next state change, bad print or other wake-up."""
        return self._state_changed

    def _wake(self) -> None:
        event, self._state_changed = self._state_changed, self._ctx.clock.env.event()
        event.succeed()

    def _quantize(self, price: float) -> float:
        return round(price, self._base.decimals)

    def take_bad_print(self) -> tuple[float, int] | None:
        """Return and clear a pending bad print ``(price, cause)``."""
        pending, self._bad_print = self._bad_print, None
        return pending

    def answer_bounds_violation(self, price: float) -> str | None:
        """Return why `price` is outside ``[min_answer, max_answer]``, or None if inside.

        Such a round is rejected, never clamped (OCR ``transmit`` reverts on it).
        """
        if price < self._base.min_answer:
            return "below_min_answer"
        if price > self._base.max_answer:
            return "above_max_answer"
        return None

    def reject(self, observed: float, reason: str, cause: int, cause_span: int = 1) -> None:
        """Count and log a round that does not land (`OracleRoundRejected`)."""
        self.rejected += 1
        self._ctx.log.emit(
            OracleRoundRejected,
            cause=cause,
            cause_span=max(cause_span, 1),
            oracle=self.oracle_id,
            asset=self.asset,
            observed=observed,
            reason=reason,
        )

    def publish(
        self,
        price: float,
        *,
        observed_at: float,
        reason: str,
        cause: int,
        cause_span: int = 1,
        landed: simpy.Event | None = None,
    ) -> bool:
        """Report `price`; it lands now (off-chain) or in a later block (on-chain).

        Returns False, and lands nothing, when the report is outside the answer bounds.
        `landed`, if given, fires when the round lands.
        """
        p = self._base
        price = self._quantize(price)
        out_of_bounds = self.answer_bounds_violation(price)
        if out_of_bounds is not None:
            self.reject(price, out_of_bounds, cause, cause_span)
            return False

        if self._chain is None:
            self._land(price, observed_at, reason, cause, cause_span)
            if landed is not None:
                landed.succeed()
            return True

        def execute(start: int = 0, stop: int = 1) -> None:
            del start, stop
            self._land(price, observed_at, reason, cause, cause_span)
            if landed is not None:
                landed.succeed()

        now = self._ctx.clock.now
        latency = float(self._rng.uniform(p.latency_min_s, p.latency_max_s))
        latency += sum(extra for until, extra in self._delays if now < until)
        self._chain.submit(
            Tx(
                sender=self.oracle_id,
                phase=Phase.ORACLE,
                gas_per_item=p.gas,
                priority_fee_gwei=p.priority_fee_gwei,
                execute=execute,
            ),
            latency_s=latency,
        )
        return True

    def admit(self, price: float, observed_at: float, cause: int, span: int) -> bool:
        """Decide, as the round lands, whether the contract accepts it (default: always).

        Models whose contracts check a report on arrival override this: Compound's anchored
        view rejects a post outside the TWAP anchor, Pyth keeps the newer stored price.
        A model that rejects logs why.
        """
        del price, observed_at, cause, span
        return True

    def _land(self, price: float, observed_at: float, reason: str, cause: int, span: int) -> None:
        if not self.admit(price, observed_at, cause, span):
            return
        previous = self._reading
        if self._chain is None and price == previous.price:
            # An off-chain index republishing the same value is fresher, not new: no round,
            # no event, no consumer wake-up (a 1 s index would otherwise log 86,400 a day).
            self._reading = OracleReading(
                price=price,
                updated_at=self._ctx.clock.now,
                observed_at=observed_at,
                round_id=previous.round_id,
                seq=previous.seq,
            )
            return
        self.rounds += 1
        seq = self._ctx.log.emit(
            OracleUpdated,
            cause=cause,
            cause_span=max(span, 1),
            oracle=self.oracle_id,
            asset=self.asset,
            answer=price,
            previous=previous.price,
            round_id=previous.round_id + 1,
            observed_at=observed_at,
            reason=reason,
        )
        self._reading = OracleReading(
            price=price,
            updated_at=self._ctx.clock.now,
            observed_at=observed_at,
            round_id=previous.round_id + 1,
            seq=seq,
        )
        self.on_landed(self._reading)
        for callback in self._subscribers:
            callback(self._reading)

    def on_landed(self, reading: OracleReading) -> None:
        """Update model state after one of the feed's own rounds lands (default: nothing)."""
        del reading


def check_observed_venues(ctx: SimContext, asset: str, venues: tuple[str, ...]) -> None:
    """Raise KeyError naming the first of `venues` that is not a trading venue of `asset`."""
    for venue in venues:
        found = ctx.market.venues.get(venue)
        if found is None or found.asset != asset:
            raise KeyError(f"observes: {venue!r} is not a trading venue of {asset!r}")


P = TypeVar("P", bound=FeedParams)
F = TypeVar("F", bound=Feed)


def priced_feed_builder(
    feed_type: Callable[[SimContext, str, P], F],
) -> Callable[[SimContext, ComponentSpec, P, str], F]:
    """Return the registry ``build`` of a feed model that prices one market asset.

    The built function raises KeyError (which the engine reports with the spec's key path)
    when the scenario's market does not price ``params.asset``, then constructs the feed.

    Parameters
    ----------
    feed_type : callable
        The feed class, constructed as ``feed_type(ctx, oracle_id, params)``.

    Returns
    -------
    callable
        ``build(ctx, spec, params, where)``.
    """

    def build(ctx: SimContext, spec: ComponentSpec, params: P, where: str) -> F:
        del where
        if params.asset not in ctx.market.assets:
            raise KeyError(f"asset {params.asset!r} is not priced by the market")
        return feed_type(ctx, spec.id, params)

    return build
