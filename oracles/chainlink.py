"""Chainlink-style push feed (mechanics §4.1).

Off-chain nodes watch the market and start a new round when the observed price deviates from
the on-chain answer by more than the deviation threshold, or when the heartbeat has passed since
the last update, whichever comes first. The round's transaction reaches the chain after a
publish latency and lands in the next block's ORACLE phase. One round is in flight at a time.
Answers are kept at the feed's decimals (8 for USD feeds). Where an aggregator still has
``minAnswer``/``maxAnswer``, a report outside them is rejected (the OCR aggregator's
``transmit`` requires ``minAnswer <= median <= maxAnswer``) and the last answer stands: that is
how Chainlink's LUNA/USD feed stayed at $0.107 in May 2022 while LUNA traded far lower
(crashes §5). Nodes then treat the rejected report as their new reference, so they retry on the
next deviation from it or on the heartbeat, not in a loop.

Source: smartcontractkit/documentation, ``architecture-decentralized-model.mdx`` (deviation and
heartbeat triggers); ``latestRoundData`` semantics in ``data-feeds/api-reference.mdx``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy
from pydantic import BaseModel, ConfigDict, Field, model_validator

from protosim.blocks import Tx
from protosim.clock import Phase, ProcessGenerator
from protosim.context import SimContext
from protosim.events import ROOT, OracleRoundRejected, OracleStateChanged, OracleUpdated
from protosim.interfaces import OracleReading
from protosim.scenario import ComponentSpec


class ChainlinkParams(BaseModel):
    """Parameters of a Chainlink push feed (defaults: ETH/USD on Ethereum, mechanics §4.1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    asset: str
    chain: str
    observes: tuple[str, ...] = ()
    """Trading venues whose median price the nodes report; empty: the reference price."""
    deviation_bps: float = Field(default=50.0, gt=0, lt=10_000)
    heartbeat_s: float = Field(default=3600.0, gt=0)
    latency_min_s: float = Field(default=1.0, ge=0)
    latency_max_s: float = Field(default=30.0, ge=0)
    """Publish latency drawn uniformly from [min, max], before block inclusion."""
    observation_s: float = Field(default=1.0, gt=0)
    """How often the nodes look at their sources (finer paths are seen at their own spacing)."""
    decimals: int = Field(default=8, ge=0, le=18)
    min_answer: float = Field(default=0.0, ge=0)
    max_answer: float = Field(default=math.inf, gt=0)
    gas: int = Field(default=250_000, gt=0)
    priority_fee_gwei: float = Field(default=5.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> ChainlinkParams:
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


class ChainlinkFeed:
    """A push feed for one asset, publishing on deviation or heartbeat.

    Parameters
    ----------
    ctx : SimContext
        The run's context.
    oracle_id : str
        The feed's id.
    params : ChainlinkParams
        Update rule and publication parameters.
    """

    def __init__(self, ctx: SimContext, oracle_id: str, params: ChainlinkParams) -> None:
        self.oracle_id = oracle_id
        self.asset = params.asset
        self._ctx = ctx
        self._params = params
        self._chain = ctx.chain(params.chain)
        self._rng = ctx.rng.stream(f"oracle.{oracle_id}")
        self._state = "live"
        self._state_changed: simpy.Event = ctx.clock.env.event()
        self._subscribers: list[Callable[[OracleReading], None]] = []
        self._observed_at = 0.0
        self._observed_state = ctx.market.price_state(params.asset, params.observes)
        # The last report the nodes made, accepted or not: the reference of their triggers.
        self._reported_price: float | None = None
        self._reported_at = 0.0
        for venue in params.observes:
            if (
                ctx.market.venues.get(venue) is None
                or ctx.market.venues[venue].asset != params.asset
            ):
                raise KeyError(f"observes: {venue!r} is not a trading venue of {params.asset!r}")
        price = self._quantize(ctx.market.observe(self.asset, params.observes))
        self._reading = OracleReading(price=price, updated_at=0.0, observed_at=0.0, round_id=1)
        self.rounds = 0

    # -- Oracle protocol ----------------------------------------------------------------------

    def read(self) -> OracleReading:
        """Return the latest on-chain answer (no staleness check: that is the consumer's)."""
        return self._reading

    def subscribe(self, callback: Callable[[OracleReading], None]) -> None:
        """Call `callback` with each new answer as it lands on chain."""
        self._subscribers.append(callback)

    def set_state(self, state: str, *, cause: int) -> None:
        """Switch between ``live``, ``outage`` (no rounds) and ``frozen`` (rounds repeat the
        last answer on the heartbeat).
        """
        if state not in {"live", "outage", "frozen"}:
            raise ValueError(f"expected state live, outage or frozen, was {state!r}")
        self._state = state
        self._ctx.log.emit(OracleStateChanged, cause=cause, oracle=self.oracle_id, state=state)
        self._state_cause = cause
        event, self._state_changed = self._state_changed, self._ctx.clock.env.event()
        event.succeed()

    def start(self) -> None:
        """Start the node process."""
        self._ctx.clock.start(f"oracle.{self.oracle_id}", self.run())

    def metrics(self) -> dict[str, float]:
        """Return the number of rounds and the last answer."""
        return {"rounds": float(self.rounds), "last_answer": self._reading.price}

    # -- node behaviour -----------------------------------------------------------------------

    def _quantize(self, price: float) -> float:
        return round(price, self._params.decimals)

    def run(self) -> ProcessGenerator:
        """Watch the market; submit a round on deviation or heartbeat; wait for it to land."""
        clock = self._ctx.clock
        market = self._ctx.market
        p = self._params
        band = p.deviation_bps / 10_000
        while True:
            if self._state == "outage":
                yield self._state_changed
                continue
            now = clock.now
            answer = self._reading.price if self._reported_price is None else self._reported_price
            heartbeat_at = max(self._reading.updated_at, self._reported_at) + p.heartbeat_s
            due = heartbeat_at
            if self._state == "live":
                crossing = market.next_crossing(
                    self.asset,
                    p.observes,
                    low=answer * (1 - band),
                    high=answer * (1 + band),
                    t_from=now,
                    t_to=heartbeat_at,
                    resolution_s=p.observation_s,
                )
                if crossing is not None:
                    due = crossing
            if due > now:
                timer = clock.timeout(due - now)
                woke = yield clock.env.any_of(
                    [timer, market.moved(self.asset), self._state_changed]
                )
                if timer not in woke:
                    continue  # a trade, shock or state change came first: look again
            landed = clock.env.event()
            if self._submit_round(landed):
                yield landed

    def _submit_round(self, landed: simpy.Event) -> bool:
        """Report the observed price; return False if the report was rejected (no round)."""
        now = self._ctx.clock.now
        p = self._params
        previous = self._reading
        if self._state == "frozen":
            price, reason = previous.price, "frozen"
            cause, span = self._state_cause, 1
        else:
            price = self._quantize(self._ctx.market.observe(self.asset, p.observes))
            moved = abs(price / previous.price - 1) > p.deviation_bps / 10_000
            reason = "deviation" if moved else "heartbeat"
            market = self._ctx.market
            cause, span = market.attribute(self.asset, p.observes, self._observed_state)
            self._observed_state = market.price_state(self.asset, p.observes)
        self._observed_at = now
        observed_at = now
        self._reported_price, self._reported_at = price, now
        if not p.min_answer <= price <= p.max_answer:
            self._ctx.log.emit(
                OracleRoundRejected,
                cause=cause,
                cause_span=max(span, 1),
                oracle=self.oracle_id,
                asset=self.asset,
                observed=price,
                reason="below_min_answer" if price < p.min_answer else "above_max_answer",
            )
            return False

        def execute(start: int, stop: int) -> None:
            del start, stop
            self.rounds += 1
            seq = self._ctx.log.emit(
                OracleUpdated,
                cause=cause,
                cause_span=max(span, 1),
                oracle=self.oracle_id,
                asset=self.asset,
                answer=price,
                previous=self._reading.price,
                round_id=self._reading.round_id + 1,
                observed_at=observed_at,
                reason=reason,
            )
            self._reading = OracleReading(
                price=price,
                updated_at=self._ctx.clock.now,
                observed_at=observed_at,
                round_id=self._reading.round_id + 1,
                seq=seq,
            )
            self._reported_price = None
            for callback in self._subscribers:
                callback(self._reading)
            landed.succeed()

        latency = float(self._rng.uniform(p.latency_min_s, p.latency_max_s))
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


def build(
    ctx: SimContext, spec: ComponentSpec, params: ChainlinkParams, where: str
) -> ChainlinkFeed:
    """Build a `ChainlinkFeed` from its scenario entry."""
    del where
    if params.asset not in ctx.market.assets:
        raise KeyError(f"asset {params.asset!r} is not priced by the market")
    return ChainlinkFeed(ctx, spec.id, params)


__all__ = ["ROOT", "ChainlinkFeed", "ChainlinkParams", "build"]
