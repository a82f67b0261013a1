"""Scheduled disturbances: each shock spec becomes a timed action that logs `ShockApplied`
and then acts on the market, an oracle or a chain. The event it logs is the root cause of
everything the shock sets off.
"""

from __future__ import annotations

from protosim.context import SimContext
from protosim.events import ROOT, ShockApplied
from protosim.scenario import (
    ChainCongestionSpec,
    MarketTradeSpec,
    OracleBadPrintSpec,
    OracleDelaySpec,
    OracleOutageSpec,
    PriceJumpSpec,
    SequencerOutageSpec,
    ShockSpec,
)


def schedule_shock(ctx: SimContext, shock: ShockSpec, at_s: float, name: str) -> None:
    """Arrange for `shock` to happen at simulated time `at_s`."""

    def fire() -> None:
        apply_shock(ctx, shock)

    ctx.clock.call_at(at_s, name, fire)


def apply_shock(ctx: SimContext, shock: ShockSpec) -> int:
    """Apply `shock` now and return the ``seq`` of its `ShockApplied` event."""
    match shock:
        case PriceJumpSpec():
            seq = ctx.log.emit(
                ShockApplied,
                cause=ROOT,
                shock=shock.kind,
                target=shock.asset,
                size=shock.change,
                duration_s=shock.duration_s,
            )
            ctx.market.apply_jump(shock.asset, 1.0 + shock.change, shock.duration_s, seq=seq)
        case OracleOutageSpec():
            seq = ctx.log.emit(
                ShockApplied,
                cause=ROOT,
                shock=f"oracle_{shock.mode}",
                target=shock.oracle,
                size=0.0,
                duration_s=shock.duration_s,
            )
            oracle = ctx.oracle(shock.oracle)
            oracle.set_state(shock.mode, cause=seq)
            ctx.clock.call_at(
                ctx.clock.now + shock.duration_s,
                f"shock.{shock.oracle}.resume",
                lambda: oracle.set_state("live", cause=seq),
            )
        case ChainCongestionSpec():
            seq = ctx.log.emit(
                ShockApplied,
                cause=ROOT,
                shock=shock.kind,
                target=shock.chain,
                size=shock.base_fee_multiplier,
                duration_s=shock.duration_s,
            )
            ctx.chain(shock.chain).congest(
                duration_s=shock.duration_s,
                base_fee_multiplier=shock.base_fee_multiplier,
                background_gas_share=shock.background_gas_share,
                background_priority_fee_gwei=shock.background_priority_fee_gwei,
                cause=seq,
            )
        case OracleBadPrintSpec():
            oracle = ctx.oracle(shock.oracle)
            price = shock.price
            if price is None:
                assert shock.change is not None  # one of the two, checked on validation
                price = oracle.read().price * (1.0 + shock.change)
            seq = ctx.log.emit(
                ShockApplied,
                cause=ROOT,
                shock=shock.kind,
                target=shock.oracle,
                size=price,
                duration_s=0.0,
            )
            oracle.inject_bad_print(price, cause=seq)
        case OracleDelaySpec():
            seq = ctx.log.emit(
                ShockApplied,
                cause=ROOT,
                shock=shock.kind,
                target=shock.oracle,
                size=shock.extra_latency_s,
                duration_s=shock.duration_s,
            )
            ctx.oracle(shock.oracle).add_delay(
                shock.extra_latency_s, ctx.clock.now + shock.duration_s
            )
        case SequencerOutageSpec():
            seq = ctx.log.emit(
                ShockApplied,
                cause=ROOT,
                shock=shock.kind,
                target=shock.chain,
                size=0.0,
                duration_s=shock.duration_s,
            )
            ctx.chain(shock.chain).halt(shock.duration_s, cause=seq)
        case MarketTradeSpec():
            seq = _apply_trade(ctx, shock)
    return seq


def _apply_trade(ctx: SimContext, shock: MarketTradeSpec) -> int:
    market = ctx.market
    venue = market.venues[shock.venue]
    quantity = shock.quantity
    if quantity is None:
        assert shock.target_change is not None  # one of the two, checked on validation
        price = market.price(venue.asset, shock.venue)
        quantity = venue.impact.quantity_for_price(price, price * (1.0 + shock.target_change))
    seq = ctx.log.emit(
        ShockApplied,
        cause=ROOT,
        shock=shock.kind,
        target=shock.venue,
        size=quantity,
        duration_s=shock.hold_s or 0.0,
    )
    market.trade(shock.venue, quantity, trader=shock.trader, cause=seq)
    if shock.hold_s is not None:
        unwind = -quantity

        def close() -> None:
            market.trade(shock.venue, unwind, trader=shock.trader, cause=seq)

        ctx.clock.call_at(ctx.clock.now + shock.hold_s, f"shock.{shock.venue}.unwind", close)
    return seq
