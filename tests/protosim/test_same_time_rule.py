"""The same-time rule: shocks, then blocks and ordinary events, then acting agents, then
observers — whatever order the processes were created in."""

from __future__ import annotations

from protosim.clock import Clock, ProcessGenerator


def _order(create: list[str]) -> list[str]:
    """Create one process per kind in the given order, all due at t = 10; return run order."""
    clock = Clock()
    ran: list[str] = []

    def waiter(kind: str) -> ProcessGenerator:
        event = {
            "observer": lambda: clock.observe_after(10.0),
            "agent": lambda: clock.act_after(10.0),
            "block": lambda: clock.timeout(10.0),
        }[kind]()
        yield event
        ran.append(kind)

    for kind in create:
        if kind == "shock":
            clock.call_at(10.0, "shock", lambda: ran.append("shock"), first=True)
        else:
            clock.start(kind, waiter(kind))
    clock.env.run(until=20.0)
    return ran


def test_same_instant_runs_shock_block_agent_observer_in_any_creation_order() -> None:
    """Creation order forwards or backwards, the run order is the rule's."""
    rule = ["shock", "block", "agent", "observer"]
    assert _order(["observer", "agent", "block", "shock"]) == rule
    assert _order(["shock", "block", "agent", "observer"]) == rule


def test_shock_at_a_block_time_lands_before_that_block() -> None:
    """A price shock due exactly at a block's time is seen by that block's risk check."""
    from protosim import Scenario, Simulation
    from protosim.testing import tiny_scenario_dict

    data = tiny_scenario_dict(accounts=50, horizon_s=120.0)
    data["shocks"] = [{"kind": "price_jump", "at_s": 36.0, "asset": "ETH", "change": -0.3}]
    sim = Simulation(Scenario.from_dict(data), seed=1)
    seen: list[float] = []
    chain = sim.context.chains["ethereum"]
    from protosim.clock import Phase

    market = sim.context.market
    chain.on_phase(
        Phase.MARKET, lambda block: seen.append(market.reference_price("ETH")), every_block=True
    )
    sim.run_until(40.0)
    # Blocks at 12, 24, 36: the block at 36 already sees the 30% fall.
    assert seen == [2000.0, 2000.0, 2000.0 * 0.7]
