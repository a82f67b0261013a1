"""Scheduled disturbances: each shock spec becomes a timed action that logs `ShockApplied`
and then acts on the market, an oracle, a chain or an agent. The event it logs is the root
cause of everything the shock sets off.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from protosim.context import SimContext
from protosim.errors import ScenarioError, SimulationError
from protosim.events import ROOT, ParameterChanged, ShockApplied
from protosim.scenario import (
    AgentEventSpec,
    ChainCongestionSpec,
    LiquidityDrainSpec,
    MarketHaltSpec,
    MarketTradeSpec,
    OracleBadPrintSpec,
    OracleDelaySpec,
    OracleOutageSpec,
    ParameterChangeSpec,
    PriceJumpSpec,
    SequencerOutageSpec,
    ShockSpec,
    VenueEventSpec,
    WithdrawalFreezeSpec,
    changed_params,
    value_at,
)


def check_shock(ctx: SimContext, shock: ShockSpec, name: str) -> None:
    """Raise ScenarioError if the built components refuse `shock`: a parameter change the
    venue does not take (named `name`, as ``shocks[2]``).
    """
    if not isinstance(shock, ParameterChangeSpec):
        return
    venue = ctx.venue(shock.venue)
    check = getattr(venue, "check_parameters", None)
    if check is None:
        raise ScenarioError(
            f"venue {shock.venue!r} takes no parameter changes", key_path=f"{name}.venue"
        )
    try:
        check(_changed(venue, shock, f"{name}.changes"))
    except KeyError as exc:
        detail = str(exc.args[0]) if exc.args else "not a parameter the venue takes"
        raise ScenarioError(detail, key_path=f"{name}.changes") from None


def schedule_shock(ctx: SimContext, shock: ShockSpec, at_s: float, name: str) -> None:
    """Arrange for `shock` to happen at simulated time `at_s` (a drawn shock is checked now,
    see `check_shock`).
    """
    check_shock(ctx, shock, name)

    def fire() -> None:
        apply_shock(ctx, shock)

    ctx.clock.call_at(at_s, name, fire, first=True)


def apply_shock(ctx: SimContext, shock: ShockSpec) -> int:
    """Apply `shock` now and return the ``seq`` of its `ShockApplied` event."""
    return _APPLY[type(shock)](ctx, shock)


def _root(ctx: SimContext, kind: str, target: str, size: float, duration_s: float) -> int:
    return ctx.log.emit(
        ShockApplied, cause=ROOT, shock=kind, target=target, size=size, duration_s=duration_s
    )


def _price_jump(ctx: SimContext, shock: PriceJumpSpec) -> int:
    seq = _root(ctx, shock.kind, shock.asset, shock.change, shock.duration_s)
    ctx.market.apply_jump(shock.asset, 1.0 + shock.change, shock.duration_s, seq=seq)
    return seq


def _oracle_outage(ctx: SimContext, shock: OracleOutageSpec) -> int:
    seq = _root(ctx, f"oracle_{shock.mode}", shock.oracle, 0.0, shock.duration_s)
    oracle = ctx.oracle(shock.oracle)
    oracle.set_state(shock.mode, cause=seq)
    ctx.clock.call_at(
        ctx.clock.now + shock.duration_s,
        f"shock.{shock.oracle}.resume",
        lambda: oracle.set_state("live", cause=seq),
    )
    return seq


def _oracle_bad_print(ctx: SimContext, shock: OracleBadPrintSpec) -> int:
    oracle = ctx.oracle(shock.oracle)
    price = shock.price
    if price is None:
        assert shock.change is not None  # one of the two, checked on validation
        price = oracle.read().price * (1.0 + shock.change)
    seq = _root(ctx, shock.kind, shock.oracle, price, 0.0)
    oracle.inject_bad_print(price, cause=seq)
    return seq


def _oracle_delay(ctx: SimContext, shock: OracleDelaySpec) -> int:
    seq = _root(ctx, shock.kind, shock.oracle, shock.extra_latency_s, shock.duration_s)
    ctx.oracle(shock.oracle).add_delay(shock.extra_latency_s, ctx.clock.now + shock.duration_s)
    return seq


def _chain_congestion(ctx: SimContext, shock: ChainCongestionSpec) -> int:
    seq = _root(ctx, shock.kind, shock.chain, shock.base_fee_multiplier, shock.duration_s)
    ctx.chain(shock.chain).congest(
        duration_s=shock.duration_s,
        base_fee_multiplier=shock.base_fee_multiplier,
        background_gas_share=shock.background_gas_share,
        background_priority_fee_gwei=shock.background_priority_fee_gwei,
        cause=seq,
    )
    return seq


def _sequencer_outage(ctx: SimContext, shock: SequencerOutageSpec) -> int:
    seq = _root(ctx, shock.kind, shock.chain, 0.0, shock.duration_s)
    ctx.chain(shock.chain).halt(shock.duration_s, cause=seq)
    return seq


def _market_trade(ctx: SimContext, shock: MarketTradeSpec) -> int:
    market = ctx.market
    quantity = shock.quantity
    if quantity is None:
        assert shock.target_change is not None  # one of the two, checked on validation
        asset = market.venues[shock.venue].asset
        target = market.price(asset, shock.venue) * (1.0 + shock.target_change)
        quantity = market.quantity_for_price(shock.venue, target)
    seq = _root(ctx, shock.kind, shock.venue, quantity, shock.hold_s or 0.0)
    market.trade(shock.venue, quantity, trader=shock.trader, cause=seq)
    if shock.hold_s is not None:
        unwind = -quantity

        def close() -> None:
            market.trade(shock.venue, unwind, trader=shock.trader, cause=seq)

        ctx.clock.call_at(ctx.clock.now + shock.hold_s, f"shock.{shock.venue}.unwind", close)
    return seq


def _liquidity_drain(ctx: SimContext, shock: LiquidityDrainSpec) -> int:
    seq = _root(ctx, shock.kind, shock.venue, shock.factor, 0.0)
    ctx.market.withdraw_liquidity(shock.venue, shock.factor, shock.side)
    return seq


def _market_halt(ctx: SimContext, shock: MarketHaltSpec) -> int:
    seq = _root(ctx, shock.kind, shock.venue, 0.0, shock.duration_s)
    ctx.market.halt(shock.venue, ctx.clock.now + shock.duration_s)
    return seq


def _withdrawal_freeze(ctx: SimContext, shock: WithdrawalFreezeSpec) -> int:
    seq = _root(ctx, shock.kind, shock.venue, 0.0, shock.duration_s)
    ctx.market.freeze_withdrawals(shock.venue, ctx.clock.now + shock.duration_s)
    return seq


def _agent_event(ctx: SimContext, shock: AgentEventSpec) -> int:
    seq = _root(ctx, f"{shock.kind}:{shock.event}", shock.agent, shock.value, shock.duration_s)
    handler = getattr(ctx.agents[shock.agent], "on_event", None)
    if handler is None:
        raise SimulationError(f"agent {shock.agent!r} takes no events (shock {shock.event!r})")
    handler(shock.event, shock.value, shock.duration_s, cause=seq)
    return seq


def _venue_event(ctx: SimContext, shock: VenueEventSpec) -> int:
    seq = _root(ctx, f"{shock.kind}:{shock.event}", shock.venue, shock.value, shock.duration_s)
    handler = getattr(ctx.venue(shock.venue), "on_event", None)
    if handler is None:
        raise SimulationError(f"venue {shock.venue!r} takes no events (shock {shock.event!r})")
    handler(shock.event, shock.value, shock.duration_s, cause=seq)
    return seq


def _changed(venue: Any, shock: ParameterChangeSpec, where: str) -> Any:
    return changed_params(type(venue.params), venue.params, shock.changes, where=where)


def _parameter_change(ctx: SimContext, shock: ParameterChangeSpec) -> int:
    seq = _root(ctx, shock.kind, shock.venue, 0.0, 0.0)
    venue = ctx.venue(shock.venue)
    # From the venue's parameters now: an earlier change to the same venue stays.
    new = _changed(venue, shock, "changes")
    before, after = venue.params.model_dump(mode="json"), new.model_dump(mode="json")
    first = seq
    for i, key in enumerate(shock.changes):
        logged = ctx.log.emit(
            ParameterChanged,
            cause=seq,
            venue=shock.venue,
            parameter=key,
            before=_text(value_at(before, key)),
            after=_text(value_at(after, key)),
        )
        first = logged if i == 0 else first
    venue.change_parameters(new, cause=first)
    return seq


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


_APPLY: dict[type, Callable[[SimContext, Any], int]] = {
    PriceJumpSpec: _price_jump,
    OracleOutageSpec: _oracle_outage,
    OracleBadPrintSpec: _oracle_bad_print,
    OracleDelaySpec: _oracle_delay,
    ChainCongestionSpec: _chain_congestion,
    SequencerOutageSpec: _sequencer_outage,
    MarketTradeSpec: _market_trade,
    LiquidityDrainSpec: _liquidity_drain,
    MarketHaltSpec: _market_halt,
    WithdrawalFreezeSpec: _withdrawal_freeze,
    AgentEventSpec: _agent_event,
    VenueEventSpec: _venue_event,
    ParameterChangeSpec: _parameter_change,
}
