"""Simulated time: a thin wrapper over `simpy.Environment` and the on-chain phase order."""

from __future__ import annotations

from collections.abc import Callable, Generator
from enum import IntEnum
from typing import Any

import simpy
from simpy.events import EventPriority

ProcessGenerator = Generator[simpy.Event, Any, Any]

_LATE = EventPriority(2)  # after simpy's URGENT (0) and NORMAL (1) events at one instant


class Phase(IntEnum):
    """Order of on-chain work inside one block; lower runs first.

    This is the documented same-time rule: inside a block, included oracle transactions update
    answers before venues check risk, and liquidations execute after both, so a liquidation can
    back-run the oracle update that made it possible only from the next block on.
    """

    MARKET = 0  # shocks and market moves due at this block land
    ORACLE = 10  # included oracle transactions update on-chain answers
    RISK = 20  # venues find newly liquidatable positions
    KEEPER = 30  # included keeper transactions execute
    SETTLE = 40  # interest, bad-debt accounting
    OBSERVE = 90  # read-only snapshots


class Clock:
    """Simulated time in seconds on a SimPy environment; never reads the wall clock.

    Parameters
    ----------
    env : simpy.Environment, optional
        The environment to wrap; a new one starting at 0 by default.
    """

    def __init__(self, env: simpy.Environment | None = None) -> None:
        self.env = env if env is not None else simpy.Environment()
        self.started: list[str] = []

    @property
    def now(self) -> float:
        """Current simulated time in seconds."""
        return float(self.env.now)

    def timeout(self, delay_s: float) -> simpy.Timeout:
        """Return an event that fires `delay_s` seconds from now."""
        return self.env.timeout(delay_s)

    def observe_after(self, delay_s: float) -> simpy.Event:
        """Return an event that fires `delay_s` from now, after everything else at that instant.

        Observers (oracle nodes, indices) wait on this rather than `timeout`: at an instant
        where a block's trades, a shock and an observation coincide, the observation always
        sees the market those left, whatever order the processes were started in. (SimPy
        orders events at one time by priority, then creation; this uses a priority below
        every ordinary event.)
        """
        if delay_s < 0:
            raise ValueError(f"expected delay_s >= 0, was {delay_s}")
        event = simpy.Event(self.env)
        event._ok = True
        event._value = None
        self.env.schedule(event, priority=_LATE, delay=delay_s)
        return event

    def start(self, name: str, process: ProcessGenerator) -> simpy.Process:
        """Start `process` under `name`; starts are recorded in order, for debugging."""
        self.started.append(name)
        return self.env.process(process)

    def call_at(self, t: float, name: str, action: Callable[[], None]) -> simpy.Process:
        """Run `action` once at simulated time `t` (or now, if `t` has passed)."""

        def _wait() -> ProcessGenerator:
            yield self.env.timeout(max(0.0, t - self.now))
            action()

        return self.start(name, _wait())
