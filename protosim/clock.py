"""Simulated time: a thin wrapper over `simpy.Environment` and the on-chain phase order."""

from __future__ import annotations

from collections.abc import Callable, Generator
from enum import IntEnum
from typing import Any

import simpy
from simpy.events import NORMAL, URGENT, EventPriority

ProcessGenerator = Generator[simpy.Event, Any, Any]

# The same-time rule, by SimPy event priority (events at one instant run by priority, then
# creation): scheduled shocks first, then blocks and everything ordinary, then agents that act
# on what they see, then observers (oracle nodes, indices), which see what all the others left.
_SHOCK = EventPriority(0)
_ACT = EventPriority(2)
_OBSERVE = EventPriority(3)


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
        # Read SimPy's field directly: this is called ~10^5 times a run.
        now = self.env._now
        return now if type(now) is float else float(now)

    def timeout(self, delay_s: float) -> simpy.Timeout:
        """Return an event that fires `delay_s` seconds from now."""
        return self.env.timeout(delay_s)

    def _scheduled(self, delay_s: float, priority: EventPriority) -> simpy.Event:
        if delay_s < 0:
            raise ValueError(f"expected delay_s >= 0, was {delay_s}")
        event = simpy.Event(self.env)
        # A pre-succeeded event, as simpy.Timeout builds one, at the priority asked for.
        event._ok = True
        event._value = None
        self.env.schedule(event, priority=priority, delay=delay_s)
        return event

    def act_after(self, delay_s: float) -> simpy.Event:
        """Return an event that fires `delay_s` from now, after blocks and ordinary events at
        that instant but before observers: agents that trade on what they see (arbitrageurs,
        mint/redeem channels) wait on this.
        """
        return self._scheduled(delay_s, _ACT)

    def observe_after(self, delay_s: float) -> simpy.Event:
        """Return an event that fires `delay_s` from now, after everything else at that instant.

        Observers (oracle nodes, indices) wait on this rather than `timeout`: at an instant
        where a shock, a block's trades, an arbitrage and an observation coincide, the
        observation sees the market all of those left, whatever order the processes were
        started in.
        """
        return self._scheduled(delay_s, _OBSERVE)

    def start(self, name: str, process: ProcessGenerator) -> simpy.Process:
        """Start `process` under `name`; starts are recorded in order, for debugging."""
        self.started.append(name)
        return self.env.process(process)

    def every(self, name: str, begin: Callable[[], float], tick: Callable[[], None]) -> None:
        """Run ``begin()``, which returns an interval in seconds, and then ``tick()`` every
        interval, in the same order as the process ``begin(); while True: yield
        timeout(interval); tick()`` started now: `begin` where the process's first step would
        run, each tick's timer scheduled where the process would have yielded it.

        For loops that tick all run long with mostly nothing to do: a tick is a callback on
        its timer, with no process to resume.
        """
        self.started.append(name)
        env = self.env
        interval = 0.0

        def fire(_: simpy.Event) -> None:
            tick()
            env.timeout(interval).callbacks.append(fire)

        def first(_: simpy.Event) -> None:
            nonlocal interval
            interval = begin()
            env.timeout(interval).callbacks.append(fire)

        # As `simpy.Process` starts a process: an urgent event at this instant runs its first
        # step.
        started = simpy.Event(env)
        started._ok = True
        started._value = None
        started.callbacks.append(first)
        env.schedule(started, priority=URGENT)

    def call_at(
        self, t: float, name: str, action: Callable[[], None], *, first: bool = False
    ) -> simpy.Process:
        """Run `action` once at simulated time `t` (or now, if `t` has passed).

        With `first`, it runs before anything else at that instant (scheduled shocks do: a
        shock at a block's time lands before the block).
        """

        def _wait() -> ProcessGenerator:
            delay = max(0.0, t - self.now)
            yield self._scheduled(delay, _SHOCK) if first else self.env.timeout(delay)
            action()

        return self.start(name, _wait())

    # -- cheap waits for processes that tick every second (oracle feeds) -------------------------
    # These read SimPy internals (the event heap, a process's resume callback); they live here
    # so that the engine alone depends on them (simpy>=4.1,<5 is pinned).

    def normal_event_due_now(self) -> bool:
        """Return whether an event of normal (or higher) priority is scheduled for this very
        instant, i.e. something else will run before time moves on.
        """
        queue = self.env._queue  # (time, priority, id, event) heap: read, never written
        return bool(queue) and queue[0][0] == self.env.now and queue[0][1] <= NORMAL

    def wait_timer_or(
        self, timer: simpy.Event, *wakes: simpy.Event
    ) -> Generator[simpy.Event, Any, bool]:
        """Wait for `timer` or any of `wakes`, whichever fires first; return True if the timer
        did.

        Equivalent, in the order of everything at an instant, to waiting on
        ``env.any_of([timer, *wakes])``, at a third of the cost: the timer resumes the process
        directly (the condition would have fired next, before anything else due at that
        instant, since the timer has the lowest same-time priority), and the first wake
        resumes it one step after that wake is processed, as the condition did; the others
        are no longer listened to (the condition, once fired, ignored them).
        """
        env = self.env
        process = env.active_process
        assert process is not None  # called from inside a process
        resume = process._resume

        def woken(_: simpy.Event) -> None:
            assert timer.callbacks is not None
            timer.callbacks.remove(resume)
            for other in wakes:
                # The wake being processed has no callback list any more.
                if other.callbacks is not None and woken in other.callbacks:
                    other.callbacks.remove(woken)
            relay = env.event()
            relay.callbacks.append(resume)
            relay.succeed(_WOKEN)

        for wake in wakes:
            assert wake.callbacks is not None
            wake.callbacks.append(woken)
        value = yield timer
        if value is _WOKEN:
            return False
        for wake in wakes:
            assert wake.callbacks is not None
            wake.callbacks.remove(woken)
        return True


_WOKEN = object()
