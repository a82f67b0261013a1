"""Registration of the Compound v2 component kinds."""

from __future__ import annotations

from protosim.registry import ComponentType, Registry


def register(registry: Registry) -> None:
    """Register ``lending.compound_v2`` in `registry`."""
    from protosim.protocols.lending.compound_v2 import params, venue

    registry.register(
        ComponentType(
            kind="lending.compound_v2",
            role="venue",
            params=params.CompoundV2Params,
            build=venue.build,
            description=(
                "Compound v2 Comptroller + cTokens: shortfall, close factor, seize share, "
                "JumpRateModel interest; liquidated by agent.lending_keeper"
            ),
        )
    )
