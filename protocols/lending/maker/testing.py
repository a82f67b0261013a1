"""A small ready-made Maker scenario for tests, doctests and notebooks (public API)."""

from __future__ import annotations

from typing import Any

__all__ = ["maker_scenario_dict"]


def maker_scenario_dict(
    *,
    liquidations: str = "1.0",
    congestion: bool = True,
    urns: int = 150,
    shock: float = -0.4,
    horizon_s: float = 5 * 3600.0,
    congestion_at_s: float = 7_000.0,
    congestion_s: float = 3_600.0,
    zero_bidder: bool = True,
    capital_dai: float = 5e6,
) -> dict[str, Any]:
    """Return, as nested dicts, one ETH-A ilk under an ETH crash seen through a one-hour OSM.

    ETH starts at $200 (flat path) and moves by `shock` over five minutes from t = 600 s; the
    OSM (hop 1 h, poking at a 150 gwei tip) serves the pre-crash price until t = 3,600 s and the
    crashed one from t = 7,200 s. `urns` urns owe 5M DAI, collateralised uniformly between 155 %
    and 300 %. Flipper: beg 3 %, ttl 10 min, tau 6 h; lump 50 ETH; chop 13 %. Two market
    keepers (2 gwei tips, 3 % and 6 % margins, `capital_dai` each, selling on a 100M-a-side
    pool) and, if `zero_bidder`, one keeper bidding the minimum (1 rad) at a 150 gwei tip. With
    `congestion`, from `congestion_at_s` for `congestion_s` the base fee is 6× and background
    demand paying 100 gwei tips fills every block.
    """
    keepers: list[dict[str, Any]] = [
        {
            "id": "keeper-a",
            "kind": "agent.maker_keeper",
            "params": {
                "venue": "maker",
                "sell_on": {"ETH": "uniswap"},
                "capital_dai": capital_dai,
                "margin": 0.03,
                "priority_fee_gwei": 2.0,
                "latency_s": 2.0,
            },
        },
        {
            "id": "keeper-b",
            "kind": "agent.maker_keeper",
            "params": {
                "venue": "maker",
                "sell_on": {"ETH": "uniswap"},
                "capital_dai": capital_dai,
                "margin": 0.06,
                "priority_fee_gwei": 3.0,
                "latency_s": 5.0,
            },
        },
    ]
    if zero_bidder:
        keepers.append(
            {
                "id": "keeper-zero",
                "kind": "agent.maker_keeper",
                "params": {
                    "venue": "maker",
                    "sell_on": {"ETH": "uniswap"},
                    "capital_dai": 1.0,
                    "bid": "minimum",
                    "priority_fee_gwei": 150.0,
                    "latency_s": 1.0,
                },
            }
        )
    shocks: list[dict[str, Any]] = [
        {"kind": "price_jump", "at_s": 600.0, "asset": "ETH", "change": shock, "duration_s": 300.0}
    ]
    if congestion:
        shocks.append(
            {
                "kind": "chain_congestion",
                "at_s": congestion_at_s,
                "chain": "ethereum",
                "duration_s": congestion_s,
                "base_fee_multiplier": 6.0,
                "background_gas_share": 1.0,
                "background_priority_fee_gwei": 100.0,
            }
        )
    return {
        "name": f"maker-{liquidations}",
        "description": "ETH crash through a one-hour OSM into a Maker ETH-A ilk",
        "seed": 7,
        "horizon_s": horizon_s,
        "assets": [{"id": "ETH", "decimals": 18, "path": {"kind": "constant", "price": 200.0}}],
        "chains": [
            {"id": "ethereum", "block_time_s": 12.0, "gas_limit": 10_000_000, "base_fee_gwei": 13.0}
        ],
        "markets": [
            {
                "id": "uniswap",
                "asset": "ETH",
                "impact": {"kind": "constant_product", "depth_usd": 100e6, "fee_bps": 30.0},
                "recovery_half_life_s": 600.0,
            }
        ],
        "oracles": [
            {
                "id": "osm-eth",
                "kind": "oracle.maker_osm",
                "params": {
                    "asset": "ETH",
                    "chain": "ethereum",
                    "hop_s": 3600.0,
                    "priority_fee_gwei": 150.0,
                    "decimals": 18,
                },
            }
        ],
        "venues": [
            {
                "id": "maker",
                "kind": "lending.maker",
                "params": {
                    "chain": "ethereum",
                    "liquidations": liquidations,
                    "vow": {"surplus_dai": 100_000.0, "sump_dai": 50_000.0},
                    "ilks": {
                        "ETH-A": {
                            "collateral": "ETH",
                            "oracle": "osm-eth",
                            "mat": 1.5,
                            "chop": 1.13,
                            "duty_per_year": 0.04,
                            "lump": 50.0,
                            "dust_dai": 20.0,
                            "flip": {"beg": 0.03, "ttl_s": 600, "tau_s": 21_600},
                            "populations": [
                                {
                                    "urns": urns,
                                    "total_debt_dai": 5e6,
                                    "debt_dai": {
                                        "kind": "lognormal",
                                        "median": 20_000.0,
                                        "sigma": 1.0,
                                    },
                                    "collateral_ratio": [
                                        {"low": 1.55, "high": 3.0, "debt_share": 1.0}
                                    ],
                                }
                            ],
                        }
                    },
                },
            }
        ],
        "agents": keepers,
        "shocks": shocks,
    }
