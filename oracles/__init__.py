"""Oracle feed models; registered in the engine through the ``protosim.plugins`` entry point."""

from __future__ import annotations

from protosim.registry import ComponentType, Registry


def register(registry: Registry) -> None:
    """Register the built-in oracle kinds in `registry`."""
    from protosim.oracles import (
        chainlink,
        compound_reporter,
        exchange_rate,
        fixed,
        internal_book,
        median,
        osm,
        pyth,
        sequencer,
        twap,
    )

    kinds = [
        ComponentType(
            kind="oracle.chainlink",
            role="oracle",
            params=chainlink.ChainlinkParams,
            build=chainlink.build,
            description="Chainlink push feed: deviation threshold, heartbeat, publish latency",
        ),
        ComponentType(
            kind="oracle.pyth",
            role="oracle",
            params=pyth.PythParams,
            build=pyth.build,
            description="Pyth pull feed: publisher votes, confidence, EMA; lands when pulled",
        ),
        ComponentType(
            kind="oracle.uniswap_twap",
            role="oracle",
            params=twap.TwapParams,
            build=twap.build,
            description="Uniswap v3 tick TWAP (geometric mean) of one venue over a window",
        ),
        ComponentType(
            kind="oracle.maker_osm",
            role="oracle",
            params=osm.OsmParams,
            build=osm.build,
            description="Maker OSM: the source price of the previous hop, poked on chain",
        ),
        ComponentType(
            kind="oracle.median_index",
            role="oracle",
            params=median.MedianIndexParams,
            build=median.build,
            description="Weighted median (or mean) index of several venues, outlier rule",
        ),
        ComponentType(
            kind="oracle.internal_book",
            role="oracle",
            params=internal_book.InternalBookParams,
            build=internal_book.build,
            description="One venue's own book price, optionally time-averaged",
        ),
        ComponentType(
            kind="oracle.compound_reporter",
            role="oracle",
            params=compound_reporter.CompoundReporterParams,
            build=compound_reporter.build,
            description="Compound v2 reporter price accepted within a Uniswap TWAP anchor",
        ),
        ComponentType(
            kind="oracle.fixed",
            role="oracle",
            params=fixed.FixedParams,
            build=fixed.build,
            description="Hardcoded price: a constant, or another feed's answers repeated",
        ),
        ComponentType(
            kind="oracle.exchange_rate",
            role="oracle",
            params=exchange_rate.ExchangeRateParams,
            build=exchange_rate.build,
            description="Base feed × exchange ratio, capped by Aave CAPO growth",
        ),
        ComponentType(
            kind="oracle.sequencer_uptime",
            role="oracle",
            params=sequencer.SequencerUptimeParams,
            build=sequencer.build,
            description="Chainlink L2 sequencer uptime feed: 0 up / 1 down, startedAt",
        ),
    ]
    for kind in kinds:
        registry.register(kind)
