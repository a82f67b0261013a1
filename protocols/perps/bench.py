"""The perp benchmark of issue 4: two perp venues, three markets, millions of accounts.

BTC, ETH and SOL follow GBM paths at 1-second resolution (σ = 50 %, 70 % and 90 % a year) and
fall 15 % together over ten minutes halfway through. Each asset trades on three books (a
Binance-like, an OKX-like and the Hyperliquid book) with square-root impact; one index feed per
asset publishes every second (a weighted median of the two CEX books, mechanics §4.6), so the
Binance-like venue's liquidation orders move a book its own index reads. A
Hyperliquid-like venue and a Binance-like venue each hold half the accounts: per venue, one
population per market of single-position accounts (cross and isolated) and a tenth of the
accounts in cross accounts with a BTC and an ETH position. Both check risk every second.

Wall time, peak memory and book sizes are measured here and only here; nothing in the
simulation reads a clock.
"""

from __future__ import annotations

from typing import Any

from protosim.bench import BuildRunMeter
from protosim.registry import Registry
from protosim.scenario import Scenario

__all__ = ["perp_bench_registry", "perp_bench_scenario", "run_perp_bench"]

_ASSETS = {"BTC": (100_000.0, 0.5), "ETH": (4_000.0, 0.7), "SOL": (200.0, 0.9)}


def perp_bench_registry() -> Registry:
    """Return the installed plugins' registry with the perp kinds added."""
    from protosim.protocols.perps.kinds import register

    registry = Registry().load_entry_points()
    register(registry)
    return registry


def _venue(venue_id: str, kind: str, accounts: int) -> dict[str, Any]:
    multi = accounts // 10
    single = (accounts - multi) // 3
    markets: dict[str, Any] = {}
    for asset in _ASSETS:
        market: dict[str, Any] = {
            "asset": asset,
            "index_oracle": f"{asset.lower()}-index",
            "book": f"{venue_id}-{asset.lower()}",
        }
        if kind == "perps.hyperliquid":
            market["table"] = f"hyperliquid.{asset}"
        elif asset == "BTC":
            market["table"] = "binance.BTCUSDT"
        else:
            # Binance-like brackets for the others: the BTCUSDT ladder from 75x.
            market["tiers"] = [
                {"floor": 0.0, "max_leverage": 75.0, "mmr": 0.0065},
                {"floor": 600_000.0, "max_leverage": 50.0, "mmr": 0.01},
                {"floor": 3_000_000.0, "max_leverage": 25.0, "mmr": 0.02},
                {"floor": 20_000_000.0, "max_leverage": 10.0, "mmr": 0.05},
            ]
        markets[asset] = market
    populations: list[dict[str, Any]] = []
    for i, asset in enumerate(_ASSETS):
        populations.append(
            {
                "accounts": single,
                "markets": [asset],
                "position_usd": {"kind": "lognormal", "median": 5_000.0, "sigma": 1.2},
                "leverage": {"kind": "uniform", "low": 1.5, "high": 25.0},
                "long_share": 0.55,
                "margin_mode": "isolated" if i == 2 else "cross",
                "entry_dispersion": 0.02,
            }
        )
    populations.append(
        {
            "accounts": accounts - 3 * single,
            "markets": ["BTC", "ETH"],
            "position_usd": {"kind": "lognormal", "median": 10_000.0, "sigma": 1.0},
            "leverage": {"kind": "uniform", "low": 1.5, "high": 15.0},
            "long_share": 0.55,
            "entry_dispersion": 0.02,
        }
    )
    params: dict[str, Any] = {"markets": markets, "populations": populations}
    if kind == "perps.binance":
        params["insurance_fund_usd"] = 500_000_000.0
    return {"id": venue_id, "kind": kind, "params": params}


def perp_bench_scenario(accounts: int = 2_000_000, hours: float = 24.0) -> Scenario:
    """Return the benchmark scenario with `accounts` accounts over `hours` simulated hours."""
    horizon = hours * 3600.0
    book = {"kind": "square_root", "daily_volume_usd": 20e9, "daily_volatility": 0.03}
    markets = [
        {
            "id": f"{venue}-{asset.lower()}",
            "asset": asset,
            "impact": book,
            "recovery_half_life_s": 300.0,
        }
        for asset in _ASSETS
        for venue in ("binance", "okx", "hl")
    ]
    oracles = [
        {
            "id": f"{asset.lower()}-index",
            "kind": "oracle.median_index",
            "params": {
                "asset": asset,
                "weights": {f"binance-{asset.lower()}": 3.0, f"okx-{asset.lower()}": 2.0},
                "update_interval_s": 1.0,
            },
        }
        for asset in _ASSETS
    ]
    half = accounts // 2
    return Scenario.from_dict(
        {
            "name": f"bench-perps-{accounts}",
            "seed": 42,
            "horizon_s": horizon,
            "price_sample_s": 300.0,
            "assets": [
                {
                    "id": asset,
                    "path": {"kind": "gbm", "p0": p0, "sigma_per_year": sigma, "dt_s": 1.0},
                }
                for asset, (p0, sigma) in _ASSETS.items()
            ],
            "markets": markets,
            "oracles": oracles,
            "venues": [
                _venue("hl", "perps.hyperliquid", half),
                _venue("binance", "perps.binance", accounts - half),
            ],
            "shocks": [
                {
                    "kind": "price_jump",
                    "at_s": horizon / 2,
                    "asset": asset,
                    "change": -0.15,
                    "duration_s": 600.0,
                }
                for asset in _ASSETS
            ],
        },
        registry=perp_bench_registry(),
    )


def run_perp_bench(accounts: int = 2_000_000, hours: float = 24.0) -> dict[str, Any]:
    """Build and run the perp benchmark; return wall times, memory and counts.

    Returns
    -------
    dict
        ``build_s``, ``run_s``, ``wall_s``; ``peak_rss_mb`` and ``rss_growth_mb`` (peak resident
        memory after the run minus before the build); ``bytes_per_position`` (that growth per
        open position at the start) and ``book_bytes_per_position`` (the books' own arrays);
        ``positions``, ``events``, ``liquidations``, ``adl_fills``, ``bad_debt_usd`` and the
        largest conservation residual of the two venues.
    """
    from protosim.engine import Simulation

    scenario = perp_bench_scenario(accounts, hours)
    registry = perp_bench_registry()
    meter = BuildRunMeter()
    sim = Simulation(scenario, registry=registry)
    meter.built()
    venues = [sim.context.venues[v] for v in ("hl", "binance")]
    positions = sum(v.book.positions for v in venues)
    book_bytes = sum(v.book.nbytes for v in venues)
    result = sim.run()
    meter.ran()
    metrics = [v.metrics() for v in venues]
    return {
        "accounts": accounts,
        "positions": positions,
        "simulated_hours": hours,
        **meter.figures(positions, "position"),
        "book_bytes_per_position": book_bytes / positions,
        "events": len(result.log),
        "liquidations": sum(m["liquidations"] for m in metrics),
        "adl_fills": sum(m["adl_fills"] for m in metrics),
        "bad_debt_usd": sum(m["bad_debt_usd"] for m in metrics),
        "conservation_residual_usd": max(abs(m["residual_usd"]) for m in metrics),
    }
