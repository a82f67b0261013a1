"""Pyth pull oracle: publishers' votes aggregated on Pythnet, landed on demand (mechanics §4.3).

Off chain (Pythnet), every `publish_interval_s` (a 400 ms slot by default) each of N publishers
reports a price and a confidence. Here publisher *i* watches one venue (``observes[i mod n]``,
or the reference price when `observes` is empty) and reports ``p·(1 + s_i·ε)``, ε ~ N(0, 1)
from the feed's random stream, with confidence ``z·s_i·p`` (`publisher_spread_bps` gives
``s_i``; `publisher_conf_z` = 1.96 since publishers target 95% coverage).

Aggregation, as the Pyth docs describe it ("Price Aggregation") and pyth-client implements it
(``upd_aggregate``, ``price_model_core``): each publisher casts three votes, at ``p_i − c_i``,
``p_i`` and ``p_i + c_i``; the aggregate price is the median of the 3N sorted votes (the mean of
the two middle votes for an even count); the confidence is the larger of the distances from it
to the 25th and 75th percentile votes, ``votes[n >> 2]`` and ``votes[n − 1 − (n >> 2)]``.
Quotes with a confidence <= 0 are not counted.

EMA price and EMA confidence: Pyth keeps a slot-weighted, inverse-confidence-weighted EMA with
a half-life of 5921 slots (``PD_EMA_DECAY = 1e9·−ln 2 / 5921`` in pyth-client ``pd.h``; "for
a 1 hour EMA, the samples 1 hour in the past get 50% of the weighting", docs "EMA Price
Aggregation"), and restarts it after a gap of more than 4145 slots (``PD_EMA_MAX_DIFF``). Here
time stands in for slots: each aggregate is weighted by ``1/conf`` times the integral of
``2^(−s/H)`` over the interval it closes, with ``H = ema_half_life_s`` (3600 s, the documented
"≈ 1 h"), and the EMA restarts after a gap of more than ``H · 4145/5921``. The EMA of the
confidence is the same average of the confidences. At t = 0 the EMA is warm: as if the initial
aggregate had held forever (the run starts in the middle of a feed's history).

Pull model: the on-chain answer changes only when an update is landed: by a consumer calling
`pull` (``updatePriceFeeds`` in its own transaction, so it lands at once, and may pick any
aggregate kept from the last `history_s`: the adversarial selection of mechanics §4.3), or by
a scheduled pusher every `update_interval_s` (a transaction through `chain` if one is given).
An update not newer than the stored one is ignored, as ``updatePriceFeeds`` keeps the newer
publish time. ``read().observed_at`` is the aggregate's publish time and ``read().updated_at``
when it landed; `age` is ``now − publishTime``, the quantity ``getPriceNoOlderThan`` checks.

Failure modes: an outage stops the publishers (no new aggregate, so the staleness grows even if
consumers pull); ``frozen`` makes them repeat the last aggregate with fresh publish times (looks
fresh, is wrong); a bad print is the price of the next update that lands.

Sources: pyth-network/documentation ``pages/price-feeds/how-pyth-works/price-aggregation.mdx``
and ``ema-price-aggregation.mdx``; pyth-network/pyth-client ``program/c/src/oracle/
upd_aggregate.h`` (``upd_ema``, ``upd_aggregate``) and ``model/price_model.c``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import simpy
from pydantic import Field, model_validator

from protosim.clock import ProcessGenerator
from protosim.context import SimContext
from protosim.interfaces import OracleReading
from protosim.oracles.base import Feed, FeedParams, check_observed_venues, priced_feed_builder

EMA_HALF_LIFE_SLOTS = 5921
"""pyth-client ``PD_EMA_DECAY = 1e9·−ln 2 / 5921``: the EMA's half-life in slots."""
EMA_MAX_DIFF_SLOTS = 4145
"""pyth-client ``PD_EMA_MAX_DIFF``: a longer gap restarts the EMA."""


@dataclass(frozen=True, slots=True)
class PythPrice:
    """A Pyth price: aggregate price and confidence, their EMAs, and the publish time."""

    price: float
    conf: float
    ema_price: float
    ema_conf: float
    publish_time: float


def aggregate(prices: Sequence[float], confs: Sequence[float]) -> tuple[float, float] | None:
    """Return Pyth's aggregate ``(price, conf)`` of publishers' quotes, or None if none counts.

    Parameters
    ----------
    prices, confs : sequence of float
        Each publisher's price and confidence; quotes with ``conf <= 0`` do not count.

    Returns
    -------
    tuple of float, or None
        Median of the votes ``p − c, p, p + c``, and the larger distance from it to the 25th
        and 75th percentile votes.

    Examples
    --------
    The docs' example of two publishers at 101 ± 1 and 110 ± 10, plus one at 100 ± 1: the
    sorted votes are 99 100 100 100 101 101 102 110 120; the median (5th) is 101, the 25th
    percentile vote (index 9 >> 2 = 2) is 100 and the 75th (index 9 − 1 − 2 = 6) is 102:

    >>> aggregate([100.0, 101.0, 110.0], [1.0, 1.0, 10.0])
    (101.0, 1.0)

    One publisher far off with a tight interval moves neither value:

    >>> aggregate([100.0, 100.0, 100.0, 100.0, 80.0], [1.0, 1.0, 1.0, 1.0, 0.1])
    (100.0, 1.0)
    """
    votes: list[float] = []
    for p, c in zip(prices, confs, strict=True):
        if c > 0:
            votes.extend((p - c, p, p + c))
    if not votes:
        return None
    votes.sort()
    n = len(votes)
    # Odd count: the middle vote; even: the mean of the two middle votes (price_model_core).
    p50 = votes[n // 2] if n % 2 else (votes[n // 2 - 1] + votes[n // 2]) / 2.0
    p25 = votes[n >> 2]
    p75 = votes[n - 1 - (n >> 2)]
    return p50, max(p50 - p25, p75 - p50)


class InverseConfidenceEma:
    """Pyth's inverse-confidence-weighted EMA, with time standing in for slots.

    ``numer ← numer·d + (x/c)·u`` and ``denom ← denom·d + (1/c)·u`` where ``d = 2^(−Δt/H)`` and
    ``u = H/ln 2 · (1 − d)`` is the decayed length of the interval the sample closes; the value
    is ``numer / denom``. A gap longer than `reset_gap_s` restarts it from the sample.

    Parameters
    ----------
    half_life_s : float
        ``H``.
    reset_gap_s : float
        Longest gap that keeps the history.
    value, conf : float
        Initial value and confidence; the EMA starts warm, as if they had always held.
    now : float
        Time of the initial value.

    Examples
    --------
    Warm at 2000 (conf 2), then 1800 (conf 1.8) for exactly one half-life: the old and new
    eras carry equal decayed time, weighted by 1/conf, so the EMA is their harmonic mean
    ``2 / (1/2000 + 1/1800) = 1894.7368…``:

    >>> ema = InverseConfidenceEma(3600.0, 2520.0, 2000.0, 2.0, now=0.0)
    >>> for t in range(1, 3601):
    ...     _ = ema.update(1800.0, 1.8, float(t))
    >>> round(ema.value, 4)
    1894.7368
    """

    def __init__(
        self, half_life_s: float, reset_gap_s: float, value: float, conf: float, now: float
    ) -> None:
        self._half_life_s = half_life_s
        self._reset_gap_s = reset_gap_s
        mass = half_life_s / math.log(2.0)
        self._numer = value / conf * mass
        self._denom = 1.0 / conf * mass
        self._last = now

    @property
    def value(self) -> float:
        """The average now."""
        return self._numer / self._denom

    def update(self, value: float, conf: float, now: float) -> float:
        """Add `value` with confidence `conf` (> 0) at time `now`; return the new average."""
        dt = now - self._last
        if dt <= 0:
            return self.value
        self._last = now
        decay = 2.0 ** (-dt / self._half_life_s)
        length = self._half_life_s / math.log(2.0) * (1.0 - decay)
        weight = length / conf
        if dt > self._reset_gap_s:
            self._numer, self._denom = value * weight, weight
        else:
            self._numer = self._numer * decay + value * weight
            self._denom = self._denom * decay + weight
        return self.value


class PythParams(FeedParams):
    """Parameters of a Pyth pull feed (defaults: Pythnet cadence, no scheduled pusher)."""

    observes: tuple[str, ...] = ()
    """Trading venues the publishers watch (publisher i: ``observes[i mod n]``); empty: the
    reference price."""
    publishers: int = Field(default=5, ge=1)
    publisher_spread_bps: float | tuple[float, ...] = 5.0
    """Each publisher's error, one standard deviation in bps of the price (one value for all,
    or one per publisher)."""
    publisher_conf_z: float = Field(default=1.96, gt=0)
    """Publisher confidence = z × spread × price (95% coverage target: 1.96)."""
    publish_interval_s: float = Field(default=0.4, gt=0)
    """Pythnet slot; a coarser value trades fidelity for speed."""
    ema_half_life_s: float = Field(default=3600.0, gt=0)
    """Half-life of the EMA: 5921 slots, documented as ≈ 1 h."""
    update_interval_s: float | None = Field(default=None, gt=0)
    """A scheduled pusher lands the latest aggregate this often; None: consumers pull."""
    history_s: float = Field(default=60.0, ge=0)
    """How old an aggregate a consumer may still pick in `pull`."""

    @model_validator(mode="after")
    def _spreads(self) -> PythParams:
        spreads = self.publisher_spread_bps
        values = spreads if isinstance(spreads, tuple) else (spreads,)
        if isinstance(spreads, tuple) and len(spreads) != self.publishers:
            raise ValueError(f"expected {self.publishers} publisher spreads, was {len(spreads)}")
        if any(not s > 0 for s in values):
            raise ValueError(f"expected publisher spreads > 0 bps, was {spreads}")
        return self


class PythFeed(Feed):
    """A Pyth price feed: publishers, Pythnet aggregation and EMA, and on-demand landing.

    Parameters
    ----------
    ctx : SimContext
        The run's context.
    oracle_id : str
        The feed's id.
    params : PythParams
        Publishers, cadences and landing.
    """

    def __init__(self, ctx: SimContext, oracle_id: str, params: PythParams) -> None:
        check_observed_venues(ctx, params.asset, params.observes)
        self._params = params
        spreads = params.publisher_spread_bps
        per_publisher = spreads if isinstance(spreads, tuple) else (spreads,) * params.publishers
        self._spreads = np.asarray(per_publisher, dtype=np.float64) / 10_000
        observes = params.observes
        self._sources: tuple[str | None, ...] = tuple(
            observes[i % len(observes)] if observes else None for i in range(params.publishers)
        )
        # The base class draws from the same named stream: the first quotes come first.
        first = self._quotes(ctx, params.asset, ctx.rng.stream(f"oracle.{oracle_id}"))
        if first is None:  # pragma: no cover - spreads > 0 make every quote count
            raise ValueError("no publisher quote counts at t = 0")
        super().__init__(ctx, oracle_id, params, first[0])
        now = ctx.clock.now
        reset_gap = params.ema_half_life_s * EMA_MAX_DIFF_SLOTS / EMA_HALF_LIFE_SLOTS
        self._ema = InverseConfidenceEma(params.ema_half_life_s, reset_gap, *first, now=now)
        self._ema_conf = InverseConfidenceEma(
            params.ema_half_life_s, reset_gap, first[1], first[1], now=now
        )
        # The answer at t = 0 is this initial aggregate, as if landed then.
        self._latest = PythPrice(first[0], first[1], first[0], first[1], now)
        keep = math.ceil(params.history_s / params.publish_interval_s) + 2
        self._history: deque[PythPrice] = deque([self._latest], maxlen=keep)
        self._onchain = self._latest
        self._signed: dict[float, PythPrice] = {}
        self._landed_state = ctx.market.price_state(params.asset, observes)
        self.pulls = 0

    # -- Pythnet ----------------------------------------------------------------------------

    def _quotes(
        self, ctx: SimContext, asset: str, rng: np.random.Generator
    ) -> tuple[float, float] | None:
        seen: dict[str | None, float] = {}
        for source in self._sources:
            if source not in seen:
                seen[source] = ctx.market.price(asset, source)
        truth = np.asarray([seen[s] for s in self._sources])
        noise = rng.standard_normal(len(truth))
        prices = truth * (1.0 + self._spreads * noise)
        confs = self._params.publisher_conf_z * self._spreads * truth
        return aggregate(prices.tolist(), confs.tolist())

    def _aggregate_now(self) -> None:
        now = self._ctx.clock.now
        if self.state == "frozen":
            quote: tuple[float, float] | None = (self._latest.price, self._latest.conf)
        else:
            quote = self._quotes(self._ctx, self.asset, self._rng)
        if quote is None:
            return
        price, conf = quote
        ema = self._ema.update(price, conf, now)
        ema_conf = self._ema_conf.update(conf, conf, now)
        self._latest = PythPrice(price, conf, ema, ema_conf, now)
        self._history.append(self._latest)

    def run(self) -> ProcessGenerator:
        """Aggregate the publishers' quotes at every multiple of `publish_interval_s`."""
        clock = self._ctx.clock
        every = self._params.publish_interval_s
        slot = math.floor(clock.now / every)
        while True:
            if self.state == "outage":
                yield self.state_changed
                slot = math.floor(clock.now / every)
                continue
            slot += 1
            timer = clock.observe_after(max(slot * every - clock.now, 0.0))
            woke = yield clock.env.any_of([timer, self.state_changed])
            if timer not in woke:
                slot -= 1
                continue
            self._aggregate_now()

    def start(self) -> None:
        """Start the aggregation and, if configured, the scheduled pusher."""
        super().start()
        if self._params.update_interval_s is not None:
            self._ctx.clock.start(
                f"oracle.{self.oracle_id}.pusher", self._pusher(self._params.update_interval_s)
            )

    def aggregate(self) -> PythPrice:
        """Return the latest Pythnet aggregate (what a pull would land now)."""
        return self._latest

    # -- on chain ---------------------------------------------------------------------------

    def price_info(self) -> PythPrice:
        """Return the landed price: price, confidence, EMAs and publish time."""
        return self._onchain

    def confidence(self) -> float:
        """Return the confidence of the landed price (USD, ± around the price)."""
        return self._onchain.conf

    def ema_price(self) -> float:
        """Return the EMA price of the landed update."""
        return self._onchain.ema_price

    def ema_confidence(self) -> float:
        """Return the EMA confidence of the landed update."""
        return self._onchain.ema_conf

    def age(self, now: float | None = None) -> float:
        """Return ``now − publishTime`` of the landed price (what ``getPriceNoOlderThan``
        compares with its ``age``).
        """
        when = self._ctx.clock.now if now is None else now
        return when - self._onchain.publish_time

    def pull(self, now: float | None = None) -> OracleReading:
        """Land, at once, the latest aggregate published at or before `now` (default: now).

        A consumer calls this inside its own transaction (``updatePriceFeeds`` then read). It
        may pick an aggregate up to `history_s` old. Nothing lands if that aggregate is not
        newer than the stored one, or if it is outside the answer bounds.

        Returns
        -------
        OracleReading
            The answer after the pull.
        """
        clock_now = self._ctx.clock.now
        at = clock_now if now is None else now
        if at > clock_now:
            raise ValueError(f"cannot pull an update published after now ({at} > {clock_now})")
        bad = self.take_bad_print()
        if bad is not None:
            chosen = replace(self._latest, price=bad[0], publish_time=clock_now)
            reason, cause, span = "bad_print", bad[1], 1
        else:
            found = self._published_at_or_before(at)
            if found is None or found.publish_time <= self._onchain.publish_time:
                return self.read()
            chosen, reason = found, "pull"
            cause, span = self._attribute()
        self.pulls += 1
        price = self._quantize(chosen.price)
        out_of_bounds = self.answer_bounds_violation(price)
        if out_of_bounds is not None:
            self.reject(price, out_of_bounds, cause, span)
            return self.read()
        self._signed[chosen.publish_time] = chosen
        self._land(price, chosen.publish_time, reason, cause, span)
        return self.read()

    def _published_at_or_before(self, at: float) -> PythPrice | None:
        for kept in reversed(self._history):
            if kept.publish_time <= at:
                return kept
        if at < self._history[0].publish_time and len(self._history) == self._history.maxlen:
            raise ValueError(
                f"no aggregate kept at t = {at}: the feed keeps the last {self._params.history_s} s"
            )
        return None

    def _attribute(self) -> tuple[int, int]:
        market = self._ctx.market
        observes = self._params.observes
        cause, span = market.attribute(self.asset, observes, self._landed_state)
        self._landed_state = market.price_state(self.asset, observes)
        return cause, span

    def admit(self, price: float, observed_at: float, cause: int, span: int) -> bool:
        """Keep the stored price if it is as new as the update (``updatePriceFeeds``)."""
        del price, cause, span
        chosen = self._signed.pop(observed_at, None)
        if chosen is None or observed_at <= self._onchain.publish_time:
            return False
        self._onchain = chosen
        return True

    def _pusher(self, every: float) -> ProcessGenerator:
        clock = self._ctx.clock
        while True:
            if self._bad_print is None:
                due = (math.floor(clock.now / every) + 1) * every
                timer = clock.observe_after(due - clock.now)
                woke = yield clock.env.any_of([timer, self.state_changed])
                if timer not in woke:
                    continue
            landed = clock.env.event()
            if self._push(landed):
                yield landed

    def _push(self, landed: simpy.Event) -> bool:
        now = self._ctx.clock.now
        bad = self.take_bad_print()
        if bad is not None:
            chosen = replace(self._latest, price=bad[0], publish_time=now)
            reason, cause, span = "bad_print", bad[1], 1
        else:
            chosen = self._latest
            if chosen.publish_time <= self._onchain.publish_time:
                return False
            reason = "scheduled"
            cause, span = self._attribute()
        self._signed[chosen.publish_time] = chosen
        if not self.publish(
            chosen.price,
            observed_at=chosen.publish_time,
            reason=reason,
            cause=cause,
            cause_span=span,
            landed=landed,
        ):
            self._signed.pop(chosen.publish_time, None)
            return False
        return True

    def metrics(self) -> dict[str, float]:
        """Return the base metrics plus the number of pulls and the landed confidence."""
        return {
            **super().metrics(),
            "pulls": float(self.pulls),
            "last_confidence": self._onchain.conf,
        }


build = priced_feed_builder(PythFeed)
"""Build a `PythFeed` from its scenario entry."""
