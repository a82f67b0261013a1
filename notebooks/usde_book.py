"""Shared by the notebooks: a USDe book across venues priced by different oracles."""

from __future__ import annotations

from typing import Any

from protosim import Scenario


def usde_scenario(
    oracles: dict[str, dict[str, Any]],
    *,
    accounts: int = 2_000,
    depeg: float = -0.35,
    hours: float = 3.0,
) -> Scenario:
    """Return a scenario with four USDe venues and one lending market per oracle in `oracles`.

    USDe trades on Binance's book, Bybit, OKX and a Curve-like pool; a forced seller takes
    Binance's book down by `depeg` for forty minutes from t = 1 h (10 Oct 2025: USDe at 0.65 on
    Binance only, 21:36–22:16 UTC). Each lending market lends USDT against USDe with the same
    borrowers and prices USDe by its own oracle.
    """
    book = {"kind": "square_root", "daily_volume_usd": 5e8, "daily_volatility": 0.002}
    markets = [
        {"id": "binance-usde", "asset": "USDE", "impact": book},
        {"id": "bybit-usde", "asset": "USDE", "impact": book, "recovery_half_life_s": 300.0},
        {"id": "okx-usde", "asset": "USDE", "impact": book, "recovery_half_life_s": 300.0},
        {
            "id": "curve-usde",
            "asset": "USDE",
            "impact": {"kind": "constant_product", "depth_usd": 3e8, "fee_bps": 4.0},
            "recovery_half_life_s": 300.0,
        },
    ]
    feeds = [
        {
            "id": "usdt-usd",
            "kind": "oracle.chainlink",
            "params": {
                "asset": "USDT",
                "chain": "ethereum",
                "deviation_bps": 25.0,
                "heartbeat_s": 86_400.0,
            },
        },
    ]
    venues = []
    for name, feed in oracles.items():
        feeds.append(
            {
                "id": f"usde-{name}",
                "kind": feed["kind"],
                "params": {"asset": "USDE", **feed.get("params", {})},
            }
        )
        venues.append(
            {
                "id": f"lender-{name}",
                "kind": "lending.aave_v3",
                "params": {
                    "chain": "ethereum",
                    "reserves": {
                        "USDE": {
                            "oracle": f"usde-{name}",
                            "ltv_bps": 9000,
                            "liquidation_threshold_bps": 9200,
                            "liquidation_bonus_bps": 10300,
                        },
                        "USDT": {
                            "oracle": "usdt-usd",
                            "ltv_bps": 9000,
                            "liquidation_threshold_bps": 9200,
                            "liquidation_bonus_bps": 10300,
                        },
                    },
                    "populations": [
                        {
                            "accounts": accounts,
                            "collateral": "USDE",
                            "debt": "USDT",
                            "collateral_usd": {
                                "kind": "lognormal",
                                "median": 50_000.0,
                                "sigma": 1.2,
                            },
                            "health_factor": {"kind": "uniform", "low": 1.02, "high": 2.0},
                        }
                    ],
                },
            }
        )
    agents = [
        {
            "id": f"keeper-{name}",
            "kind": "agent.lending_keeper",
            "params": {"venue": f"lender-{name}", "sell_on": {"USDE": "curve-usde"}},
        }
        for name in oracles
    ]
    return Scenario.from_dict(
        {
            "name": "usde-depeg",
            "seed": 10,
            "horizon_s": hours * 3600.0,
            "price_sample_s": 60.0,
            "assets": [
                {
                    "id": "USDE",
                    "decimals": 18,
                    "path": {"kind": "constant", "price": 1.0},
                    "pegged_to": "USD",
                },
                {
                    "id": "USDT",
                    "decimals": 6,
                    "path": {"kind": "constant", "price": 1.0},
                    "pegged_to": "USD",
                },
                {"id": "ETH", "path": {"kind": "constant", "price": 4000.0}},
            ],
            "chains": [{"id": "ethereum"}],
            "markets": markets,
            "oracles": feeds,
            "venues": venues,
            "agents": agents,
            "shocks": [
                {
                    "kind": "market_trade",
                    "at_s": 3600.0,
                    "venue": "binance-usde",
                    "target_change": depeg,
                    "hold_s": 2400.0,
                    "trader": "forced-seller",
                }
            ],
        }
    )


ORACLE_DESIGNS: dict[str, dict[str, Any]] = {
    "chainlink": {
        "kind": "oracle.chainlink",
        "params": {
            "chain": "ethereum",
            "observes": ["binance-usde", "bybit-usde", "okx-usde", "curve-usde"],
            "deviation_bps": 50.0,
            "heartbeat_s": 86_400.0,
        },
    },
    "pyth": {
        "kind": "oracle.pyth",
        "params": {
            "observes": ["binance-usde", "bybit-usde", "okx-usde", "curve-usde"],
            "update_interval_s": 12.0,
        },
    },
    "median": {
        "kind": "oracle.median_index",
        "params": {
            "weights": {"binance-usde": 3.0, "bybit-usde": 2.0, "okx-usde": 2.0, "curve-usde": 1.0},
            "exclude_outliers_bps": 500.0,
        },
    },
    "own-book": {"kind": "oracle.internal_book", "params": {"venue": "binance-usde"}},
    "usdt-feed": {"kind": "oracle.fixed", "params": {"follows": "usdt-usd"}},
}
"""Five ways to price USDe: a Chainlink feed over all venues, Pyth, a weighted median index with
Binance's outlier rule, Binance's own book (its method before 11 Oct 2025), and Aave's choice
since Feb 2025: the USDT/USD feed (mechanics §1.8, §6.4, §6.6)."""
