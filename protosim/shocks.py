"""Scheduled disturbances: each shock spec becomes a timed action that logs `ShockApplied`
and then acts on the market, an oracle or a chain. The event it logs is the root cause of
everything the shock sets off.
"""

from __future__ import annotations

from protosim.context import SimContext
from protosim.events import ROOT, ShockApplied
from protosim.scenario import ChainCongestionSpec, OracleOutageSpec, PriceJumpSpec, ShockSpec


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
    return seq
