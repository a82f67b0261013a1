"""The perp venue kinds as registry entries (``perps.hyperliquid``, ``perps.binance``,
``perps.cex``), for ``protosim.protocols.register`` to add to the plugin registry.
"""

from __future__ import annotations

from protosim.registry import ComponentType, Registry

__all__ = ["PERP_KINDS", "component_types", "register"]

PERP_KINDS = ("perps.hyperliquid", "perps.binance", "perps.cex")
"""Kind names of the perp venues."""


def component_types() -> tuple[ComponentType, ...]:
    """Return the three perp venue kinds."""
    from protosim.protocols.perps import params, venue

    return (
        ComponentType(
            kind="perps.hyperliquid",
            role="venue",
            params=params.HyperliquidParams,
            build=venue.build_hyperliquid,
            description=(
                "Hyperliquid-like perps: half-IM maintenance tiers, partial liquidations, "
                "liquidator vault, ADL"
            ),
        ),
        ComponentType(
            kind="perps.binance",
            role="venue",
            params=params.BinanceParams,
            build=venue.build_binance,
            description=(
                "Binance-like USDⓈ-M perps: MMR brackets, clearance fee, insurance fund, ADL, "
                "unified margin with per-asset collateral indices"
            ),
        ),
        ComponentType(
            kind="perps.cex",
            role="venue",
            params=params.CexPerpParams,
            build=venue.build_cex,
            description="Generic CEX perps (Bybit/OKX-like): every rule a parameter",
        ),
    )


def register(registry: Registry) -> None:
    """Add the perp venue kinds that `registry` does not have yet."""
    for component in component_types():
        if component.kind not in registry:
            registry.register(component)
