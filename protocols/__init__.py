"""Venue models (lending, perps, AMMs); registered through the ``protosim.plugins`` entry point."""

from __future__ import annotations

from protosim.registry import ComponentType, Registry


def register(registry: Registry) -> None:
    """Register the built-in venue and agent kinds in `registry`."""
    from protosim.protocols import cli
    from protosim.protocols.lending import keeper
    from protosim.protocols.lending.aave_v3 import bench as aave_bench
    from protosim.protocols.lending.aave_v3 import params as aave_params
    from protosim.protocols.lending.aave_v3 import venue as aave_venue
    from protosim.protocols.lending.compound_v2 import kinds as compound_v2_kinds
    from protosim.protocols.lending.compound_v3 import kinds as compound_v3_kinds
    from protosim.protocols.lending.maker import kinds as maker_kinds
    from protosim.protocols.markets import arbitrage, forced_seller, pegs
    from protosim.protocols.perps import bench as perp_bench
    from protosim.protocols.perps import kinds as perp_kinds

    registry.register(
        ComponentType(
            kind="lending.aave_v3",
            role="venue",
            params=aave_params.AaveV3Params,
            build=aave_venue.build,
            description="Aave v3 market (v3.3 / v3.0 / v2 liquidation rules), vectorized book",
        )
    )
    registry.register(
        ComponentType(
            kind="agent.lending_keeper",
            role="agent",
            params=keeper.KeeperParams,
            build=keeper.build,
            description=(
                "Liquidation keeper: latency, gas bidding, profit check, sells seized collateral"
            ),
        )
    )
    registry.register(
        ComponentType(
            kind="agent.arbitrage",
            role="agent",
            params=arbitrage.ArbitrageParams,
            build=arbitrage.build,
            description="Cross-venue arbitrage: threshold, latency, inventory per venue, transfers",
        )
    )
    registry.register(
        ComponentType(
            kind="agent.peg",
            role="agent",
            params=pegs.PegParams,
            build=pegs.build,
            description="Mint/redeem arbitrage: fees, capacity, windows, withdrawal queue, twin",
        )
    )
    forced_seller.register(registry)
    from protosim.protocols.markets import manipulation as manipulation_kinds

    manipulation_kinds.register(registry)
    perp_kinds.register(registry)
    maker_kinds.register(registry)
    compound_v2_kinds.register(registry)
    compound_v3_kinds.register(registry)
    registry.register_command(cli.portfolio)
    registry.register_benchmark("perps", perp_bench.run_perp_bench)
    registry.register_benchmark("aave-multi", aave_bench.run_multi_bench)
