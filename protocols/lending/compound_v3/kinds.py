"""Registration of the Compound v3 (Comet) component kinds."""

from __future__ import annotations

from protosim.registry import ComponentType, Registry


def register(registry: Registry) -> None:
    """Register ``lending.compound_v3``, ``agent.comet_absorber`` and ``agent.comet_buyer``."""
    from protosim.protocols.lending.compound_v3 import keepers, params, venue

    registry.register(
        ComponentType(
            kind="lending.compound_v3",
            role="venue",
            params=params.CometParams,
            build=venue.build,
            description="Compound v3 (Comet): absorb into reserves (may go negative), storefront",
        )
    )
    registry.register(
        ComponentType(
            kind="agent.comet_absorber",
            role="agent",
            params=params.AbsorberParams,
            build=keepers.build_absorber,
            description="Calls Comet absorb on liquidatable accounts: latency, gas cap",
        )
    )
    registry.register(
        ComponentType(
            kind="agent.comet_buyer",
            role="agent",
            params=params.BuyerParams,
            build=keepers.build_buyer,
            description=(
                "Buys Comet storefront collateral below market net of gas and impact, "
                "sells it on a market venue, capital limit"
            ),
        )
    )
