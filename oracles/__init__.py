"""Oracle feed models; registered in the engine through the ``protosim.plugins`` entry point."""

from __future__ import annotations

from protosim.registry import ComponentType, Registry


def register(registry: Registry) -> None:
    """Register the built-in oracle kinds in `registry`."""
    from protosim.oracles import chainlink

    registry.register(
        ComponentType(
            kind="oracle.chainlink",
            role="oracle",
            params=chainlink.ChainlinkParams,
            build=chainlink.build,
            description="Chainlink push feed: deviation threshold, heartbeat, publish latency",
        )
    )
