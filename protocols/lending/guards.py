"""How a lending venue treats the answers of its oracles: the consumer guards (issue 5).

Each protocol applies its own rules to what its feed returns (mechanics §1.2, §1.8, §4.1–4.2):

- **Aave v3's AaveOracle** has no staleness check: a stale answer is used as it is. An answer of
  zero or below is replaced by the fallback oracle's (``AaveOracle.getAssetPrice``); with no
  fallback the call reverts, so nothing involving the asset can be liquidated.
- **A staleness check** (``updatedAt`` older than ``max_age_s``, as Chainlink advises consumers
  to do against the heartbeat) either pauses the asset (calls revert), switches to a fallback
  oracle (Liquity-style), or uses the stale answer anyway.
- **Aave's L2 PriceOracleSentinel** (v3.0–v3.6): after the sequencer comes back up, a
  liquidation is allowed only if the health factor is below 0.95 until the grace period has
  passed (``MINIMUM_HEALTH_FACTOR_LIQUIDATION_THRESHOLD``; aave-v3-origin
  ``PriceOracleSentinel.sol``, ``ValidationLogic.validateLiquidationCall``).

The guard logs `OracleGuardTriggered` whenever its decision for an asset changes. Its cause is
what changed the decision: the newest answer it uses; for a stale answer, the outage or freeze
of the feed when there is one (time alone made it stale only after the feed stopped); for the
sentinel, the sequencer's change (the uptime feed's round, or the chain's halt).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from protosim.blocks import Chain
from protosim.context import SimContext
from protosim.events import ROOT, OracleGuardTriggered
from protosim.interfaces import Oracle, OracleReading

SENTINEL_HEALTH_FACTOR = 0.95
"""Below this health factor the sentinel allows liquidations even during its grace period."""


class OracleGuardParams(BaseModel):
    """A venue's rules for stale, invalid and post-outage oracle answers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_age_s: float | None = Field(default=None, gt=0)
    """Answers older than this are stale; None: no staleness check (AaveOracle)."""
    on_stale: Literal["pause", "fallback", "use"] = "pause"
    """What a stale answer leads to: revert (pause the asset), the fallback oracle, or use it."""
    sentinel_grace_period_s: float | None = Field(default=None, gt=0)
    """An L2 PriceOracleSentinel's grace period after the sequencer is back (3600 s on Aave)."""
    sequencer_oracle: str | None = None
    """The sequencer uptime feed the sentinel reads (answer 0 = up, ``startedAt`` = the
    reading's ``observed_at``); None: the venue's chain's own state."""


@dataclass(frozen=True, slots=True)
class GuardedPrice:
    """A price the venue may use, and the event that set it (the cause of what follows)."""

    price: float
    seq: int
    source: str


class PriceUnavailableError(Exception):
    """The venue's guard refuses every source for an asset: calls using it revert."""


class PriceGuard:
    """Applies a venue's oracle guard to every reserve's oracle.

    Parameters
    ----------
    ctx : SimContext
        The run's context.
    venue_id : str
        For the events.
    oracles, fallbacks : dict
        The primary oracle of each asset, and its fallback (None if it has none).
    max_ages : dict
        Per-asset staleness limits overriding ``params.max_age_s`` (feeds differ: a 24 h
        heartbeat stablecoin feed is not stale after an hour).
    params : OracleGuardParams
        The guard's rules.
    chain : Chain
        The venue's chain (its sequencer matters to the sentinel).
    """

    def __init__(
        self,
        ctx: SimContext,
        venue_id: str,
        oracles: dict[str, Oracle],
        fallbacks: dict[str, Oracle | None],
        params: OracleGuardParams,
        chain: Chain,
        max_ages: dict[str, float | None] | None = None,
        sequencer_feed: Oracle | None = None,
    ) -> None:
        self._ctx = ctx
        self._venue_id = venue_id
        self._oracles = oracles
        self._fallbacks = fallbacks
        self._params = params
        self._chain = chain
        self._sequencer_feed = sequencer_feed
        overrides = max_ages or {}
        self._max_age = {
            asset: overrides.get(asset) if overrides.get(asset) is not None else params.max_age_s
            for asset in oracles
        }
        has_age = any(age is not None for age in self._max_age.values())
        self._watches_time = has_age or params.sentinel_grace_period_s is not None
        self._decisions: dict[str, tuple[str, str]] = dict.fromkeys(oracles, ("ok", "use"))
        self._used: dict[str, tuple[OracleReading, float, tuple[str, str, GuardedPrice]]] = {}
        self._sentinel_state = "ok"
        self._sequencer_cause = ROOT
        if sequencer_feed is None:
            chain.on_sequencer_change(self._on_sequencer_change)

    def _on_sequencer_change(self, up: bool, at_s: float, cause: int) -> None:
        del up, at_s
        self._sequencer_cause = cause

    def _decision_cause(self, oracle: Oracle, condition: str) -> int:
        if condition == "stale" and oracle.state != "live" and oracle.state_cause != ROOT:
            return oracle.state_cause
        return oracle.read().seq

    def _decide(self, asset: str) -> tuple[str, str, GuardedPrice | None]:
        primary = self._oracles[asset]
        reading = primary.read()
        max_age = self._max_age[asset]
        # A decision to use the primary's answer depends only on that (frozen) reading and,
        # with a staleness check, on the time: venues ask many times per block.
        cached = self._used.get(asset)
        if cached is not None and cached[0] is reading:
            if max_age is None:
                return cached[2]  # without reading the clock
            if cached[1] == self._ctx.clock.now:
                return cached[2]
        now = self._ctx.clock.now
        p = self._params
        condition = "ok"
        if reading.price <= 0:
            condition = "invalid"
        elif max_age is not None and now - reading.updated_at > max_age:
            condition = "stale"
        if condition == "ok" or (condition == "stale" and p.on_stale == "use"):
            decision = (
                condition,
                "use",
                GuardedPrice(reading.price, reading.seq, primary.oracle_id),
            )
            self._used[asset] = (reading, now, decision)
            return decision
        wants_fallback = condition == "invalid" or p.on_stale == "fallback"
        fallback = self._fallbacks.get(asset)
        if wants_fallback and fallback is not None:
            backup = fallback.read()
            fresh = max_age is None or now - backup.updated_at <= max_age
            if backup.price > 0 and fresh:
                guarded = GuardedPrice(backup.price, backup.seq, fallback.oracle_id)
                return condition, "fallback", guarded
        return condition, "pause", None

    def price(self, asset: str) -> GuardedPrice:
        """Return the price the venue uses for `asset` now.

        Raises
        ------
        PriceUnavailableError
            When the guard refuses every source (liquidations involving `asset` revert).
        """
        _, _, guarded = self._decide(asset)
        if guarded is None:
            raise PriceUnavailableError(asset)
        return guarded

    def available(self, asset: str) -> bool:
        """Return whether `asset` has a usable price now."""
        return self._decide(asset)[2] is not None

    def guarded(self, asset: str) -> GuardedPrice | None:
        """Return the price the venue uses for `asset` now, or None if the guard pauses it."""
        return self._decide(asset)[2]

    def refresh(self) -> bool:
        """Re-evaluate every asset and the sentinel; log and return whether anything changed."""
        changed = False
        for asset, oracle in self._oracles.items():
            condition, action, _ = self._decide(asset)
            if (condition, action) != self._decisions[asset]:
                self._decisions[asset] = (condition, action)
                changed = True
                self._ctx.log.emit(
                    OracleGuardTriggered,
                    cause=self._decision_cause(oracle, condition),
                    venue=self._venue_id,
                    asset=asset,
                    oracle=oracle.oracle_id,
                    condition=condition,
                    action=action,
                )
        state = "ok" if self._sentinel_open() else "sequencer_grace"
        if self._params.sentinel_grace_period_s is not None and state != self._sentinel_state:
            self._sentinel_state = state
            changed = True
            feed = self._sequencer_feed
            self._ctx.log.emit(
                OracleGuardTriggered,
                cause=feed.read().seq if feed is not None else self._sequencer_cause,
                venue=self._venue_id,
                asset="*",
                oracle="sequencer",
                condition=state,
                action="use" if state == "ok" else "pause",
            )
        return changed

    def _sentinel_open(self) -> bool:
        grace = self._params.sentinel_grace_period_s
        if grace is None:
            return True
        now = self._ctx.clock.now
        if self._sequencer_feed is not None:
            status = self._sequencer_feed.read()
            if status.seq == ROOT:
                return True  # the feed's initial "up": the sequencer was running before the run
            return status.price == 0 and now - status.observed_at > grace
        chain = self._chain
        return chain.sequencer_up and now - chain.sequencer_up_since > grace

    @property
    def sentinel_closed(self) -> bool:
        """Whether the sentinel is holding back liquidations of health 0.95 and above now."""
        return not self._sentinel_open()

    def sentinel_allows(self, health: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Return which positions with health factors `health` the sentinel lets be liquidated."""
        if self._sentinel_open():
            return np.ones(health.shape, dtype=np.bool_)
        out: NDArray[np.bool_] = health < SENTINEL_HEALTH_FACTOR
        return out

    @property
    def watches_time(self) -> bool:
        """Whether decisions can change with time alone (a staleness check or a sentinel)."""
        return self._watches_time
