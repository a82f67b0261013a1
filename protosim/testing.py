"""Small ready-made scenarios for tests, doctests and notebooks (public API)."""

from __future__ import annotations

from typing import Any

from protosim.scenario import Scenario


def tiny_scenario_dict(
    *,
    accounts: int = 2_000,
    depth_usd: float = 500_000_000.0,
    shock: float = -0.2,
    horizon_s: float = 3 * 3600.0,
    rules: str = "v3.3",
) -> dict[str, Any]:
    """Return, as nested dicts, a one-market cascade scenario.

    ETH at $2,000 (flat path) and USDC at $1; one Ethereum chain (12 s blocks); a
    constant-product ETH/USD pool of `depth_usd` per side that a Chainlink ETH/USD feed (0.5%,
    1 h) observes; an Aave v3 market of `accounts` ETH-collateral/USDC-debt borrowers with
    health factors uniform in [1.0, 1.6]; one keeper that sells seized ETH into the pool; and
    a `shock` price move of ETH over five minutes starting ten minutes in.
    """
    return {
        "name": "tiny-cascade",
        "description": "ETH shock; keepers sell into the pool the Aave oracle watches",
        "seed": 1,
        "horizon_s": horizon_s,
        "assets": [
            {"id": "ETH", "decimals": 18, "path": {"kind": "constant", "price": 2000.0}},
            {"id": "USDC", "decimals": 6, "path": {"kind": "constant", "price": 1.0}},
        ],
        "chains": [
            {"id": "ethereum", "block_time_s": 12.0, "gas_limit": 30_000_000, "base_fee_gwei": 20.0}
        ],
        "markets": [
            {
                "id": "uniswap",
                "asset": "ETH",
                "impact": {"kind": "constant_product", "depth_usd": depth_usd, "fee_bps": 30.0},
            }
        ],
        "oracles": [
            {
                "id": "eth-usd",
                "kind": "oracle.chainlink",
                "params": {
                    "asset": "ETH",
                    "chain": "ethereum",
                    "observes": ["uniswap"],
                    "deviation_bps": 50.0,
                    "heartbeat_s": 3600.0,
                },
            },
            {
                "id": "usdc-usd",
                "kind": "oracle.chainlink",
                "params": {
                    "asset": "USDC",
                    "chain": "ethereum",
                    "deviation_bps": 25.0,
                    "heartbeat_s": 86400.0,
                },
            },
        ],
        "venues": [
            {
                "id": "aave",
                "kind": "lending.aave_v3",
                "params": {
                    "chain": "ethereum",
                    "rules": rules,
                    "reserves": {
                        "ETH": {
                            "oracle": "eth-usd",
                            "ltv_bps": 8050,
                            "liquidation_threshold_bps": 8300,
                            "liquidation_bonus_bps": 10500,
                        },
                        "USDC": {
                            "oracle": "usdc-usd",
                            "ltv_bps": 7500,
                            "liquidation_threshold_bps": 7800,
                            "liquidation_bonus_bps": 10450,
                        },
                    },
                    "populations": [
                        {
                            "accounts": accounts,
                            "collateral": "ETH",
                            "debt": "USDC",
                            "collateral_usd": {
                                "kind": "lognormal",
                                "median": 20000.0,
                                "sigma": 1.0,
                            },
                            "health_factor": {"kind": "uniform", "low": 1.0, "high": 1.6},
                        }
                    ],
                },
            }
        ],
        "agents": [
            {
                "id": "keeper",
                "kind": "agent.lending_keeper",
                "params": {"venue": "aave", "sell_on": {"ETH": "uniswap"}, "latency_s": 1.0},
            }
        ],
        "shocks": [
            {
                "kind": "price_jump",
                "at_s": 600.0,
                "asset": "ETH",
                "change": shock,
                "duration_s": 300.0,
            }
        ],
    }


def tiny_scenario(**overrides: Any) -> Scenario:
    """Return `tiny_scenario_dict` as a validated `Scenario` (keyword arguments as there)."""
    return Scenario.from_dict(tiny_scenario_dict(**overrides))
