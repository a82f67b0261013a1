"""Tests of protosim.clock's cheap waits: `Clock.every` and `Clock.wait_timer_or` must run
things in exactly the order of the plain SimPy constructs they replace (a process looping on a
timeout, a wait on ``any_of``), which the tests build side by side.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import simpy

from protosim.clock import Clock, ProcessGenerator

Trace = list[tuple[float, str]]


def _neighbours(clock: Clock, trace: Trace) -> None:
    """Processes ticking at instants the 60 s loop also hits, started before and after it."""

    def ticker(name: str, every: float, delay: float) -> ProcessGenerator:
        yield clock.timeout(delay)
        while True:
            trace.append((clock.now, name))
            yield clock.timeout(every)

    clock.start("a", ticker("a", 12.0, 0.0))
    clock.start("b", ticker("b", 30.0, 60.0))


def _run_loop(start_loop: Callable[[Clock, Trace], None]) -> Trace:
    clock = Clock()
    trace: Trace = []
    _neighbours(clock, trace)
    start_loop(clock, trace)

    def late() -> ProcessGenerator:  # started after the loop, due at its first instants
        trace.append((clock.now, "c"))
        yield clock.timeout(60.0)
        trace.append((clock.now, "c"))

    clock.start("c", late())
    clock.env.run(until=400.0)
    return trace


def test_every_runs_in_the_order_of_the_process_loop_it_replaces() -> None:
    """Ticks every 60 s, interleaved with 12 s and 30 s tickers hitting the same instants, in
    the same order as a process ``begin(); while True: yield timeout(60); tick()``."""

    def as_process(clock: Clock, trace: Trace) -> None:
        def loop() -> ProcessGenerator:
            trace.append((clock.now, "begin"))
            while True:
                yield clock.timeout(60.0)
                trace.append((clock.now, "tick"))

        clock.start("loop", loop())

    def as_every(clock: Clock, trace: Trace) -> None:
        def begin() -> float:
            trace.append((clock.now, "begin"))
            return 60.0

        clock.every("loop", begin, lambda: trace.append((clock.now, "tick")))

    want = _run_loop(as_process)
    assert [t for t, name in want if name == "tick"] == [60.0 * k for k in range(1, 7)]
    assert _run_loop(as_every) == want


@pytest.mark.parametrize(
    ("timer_s", "wakes_s"),
    [
        (50.0, (None, None)),  # the timer
        (50.0, (20.0, None)),  # the first wake
        (50.0, (None, 20.0)),  # the second wake
        (50.0, (20.0, 20.0)),  # both wakes at once
        (50.0, (50.0, None)),  # a wake at the timer's instant
    ],
)
def test_wait_timer_or_several_wakes_resumes_as_any_of(
    timer_s: float, wakes_s: tuple[float | None, float | None]
) -> None:
    """Waiting on a timer or any of two wakes returns, and resumes the waiter, where a wait on
    ``any_of`` of the three would (the timer observes last at its instant)."""

    def run(use_any_of: bool) -> Trace:
        clock = Clock()
        env = clock.env
        trace: Trace = []
        wakes = [env.event(), env.event()]

        def waiter() -> ProcessGenerator:
            timer = clock.observe_after(timer_s)
            if use_any_of:
                woke = yield env.any_of([timer, *wakes])
                fired = timer in woke
            else:
                fired = yield from clock.wait_timer_or(timer, *wakes)
            trace.append((clock.now, f"resumed timer={fired}"))
            yield clock.timeout(1.0)
            trace.append((clock.now, "after"))

        def waker(event: simpy.Event, at: float, name: str) -> ProcessGenerator:
            yield clock.timeout(at)
            trace.append((clock.now, name))
            event.succeed()
            yield clock.timeout(0.0)
            trace.append((clock.now, f"{name} next step"))

        clock.start("waiter", waiter())
        for i, at in enumerate(wakes_s):
            if at is not None:
                clock.start(f"waker{i}", waker(wakes[i], at, f"wake{i}"))
        env.run(until=100.0)
        return trace

    want = run(use_any_of=True)
    assert any(name.startswith("resumed") for _, name in want)
    assert run(use_any_of=False) == want
