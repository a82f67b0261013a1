"""Registration of the Maker venue and keeper kinds."""

from __future__ import annotations

from protosim.registry import ComponentType, Registry


def register(registry: Registry) -> None:
    """Register ``lending.maker`` and ``agent.maker_keeper`` in `registry`."""
    from protosim.protocols.lending.maker import keeper, params, venue

    registry.register(
        ComponentType(
            kind="lending.maker",
            role="venue",
            params=params.MakerParams,
            build=venue.build,
            description=(
                "Maker (dss): urns per ilk, OSM spot, liquidations 1.0 (Cat/Flipper) or 2.0 "
                "(Dog/Clipper), Vow"
            ),
        )
    )
    registry.register(
        ComponentType(
            kind="agent.maker_keeper",
            role="agent",
            params=keeper.MakerKeeperParams,
            build=keeper.build,
            description="Maker keeper: bite/bark, tend/dent/deal, take/redo through the gas queue",
        )
    )
