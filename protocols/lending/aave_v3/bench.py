"""``aave-multi`` benchmark: a multi-collateral, multi-debt Aave v3 market at scale.

The issue-2 lending benchmark (`protosim.bench.lending_bench_scenario`: 48 hours, ETH GBM at
1-second resolution, σ = 60 %/yr, a 40 % fall over two hours from hour 24, Chainlink feeds
watching constant-product pools, a keeper selling what it seizes), with three collateral
reserves (ETH, WBTC, wstETH) and two debt reserves (USDC, USDT, with interest) instead of one
pair: every account holds 60 % ETH, 30 % WBTC and 10 % wstETH of collateral value and owes
70 % USDC and 30 % USDT. WBTC and wstETH follow their own GBM paths and take the same 40 %
fall at the same time. Reserve parameters are Aave v3 Ethereum Core's (mechanics §1.7).
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

from protosim.bench import BuildRunMeter, lending_bench_scenario, run_lending_bench
from protosim.scenario import Scenario

__all__ = ["multi_bench_scenario", "multi_scenario_dict", "run_multi_bench"]

_COLLATERAL = {"ETH": 0.6, "WBTC": 0.3, "wstETH": 0.1}
_DEBT = {"USDC": 0.7, "USDT": 0.3}


def multi_scenario_dict(base: dict[str, Any], accounts: int) -> dict[str, Any]:
    """Return `base` (a `lending_bench_scenario` as a dict) turned multi-reserve.

    Adds WBTC, wstETH and USDT (paths, pools, oracles, reserves), replaces the single-pair
    population by a multi-reserve one of `accounts` borrowers, sells every seized collateral,
    and extends the ETH shock to WBTC and wstETH.
    """
    d = copy.deepcopy(base)
    eth = next(a for a in d["assets"] if a["id"] == "ETH")
    sigma = eth["path"].get("sigma_per_year", 0.6)
    dt = eth["path"].get("dt_s", 1.0)
    d["assets"] += [
        {
            "id": "WBTC",
            "decimals": 8,
            "path": {"kind": "gbm", "p0": 100_000.0, "sigma_per_year": sigma, "dt_s": dt},
        },
        {
            "id": "wstETH",
            "decimals": 18,
            "path": {"kind": "gbm", "p0": 4_800.0, "sigma_per_year": sigma, "dt_s": dt},
        },
        {"id": "USDT", "decimals": 6, "path": {"kind": "constant", "price": 1.0}},
    ]
    pool = next(m for m in d["markets"] if m["id"] == "pool")
    d["markets"] += [
        {"id": f"pool-{a}", "asset": a, "impact": copy.deepcopy(pool["impact"])}
        for a in ("WBTC", "wstETH")
    ]
    eth_oracle = next(o for o in d["oracles"] if o["params"]["asset"] == "ETH")
    for asset in ("WBTC", "wstETH"):
        oracle = copy.deepcopy(eth_oracle)
        oracle["id"] = f"{asset.lower()}-usd"
        oracle["params"]["asset"] = asset
        oracle["params"]["observes"] = [f"pool-{asset}"]
        d["oracles"].append(oracle)
    d["oracles"].append(
        {
            "id": "usdt-usd",
            "kind": "oracle.chainlink",
            "params": {
                "asset": "USDT",
                "chain": eth_oracle["params"]["chain"],
                "deviation_bps": 25.0,
                "heartbeat_s": 86400.0,
            },
        }
    )
    venue = next(v for v in d["venues"] if v["kind"] == "lending.aave_v3")
    params = venue["params"]
    population = params.pop("populations")[0]
    stable = {"ltv_bps": 7500, "liquidation_threshold_bps": 7800, "liquidation_bonus_bps": 10450}
    rate = {"slope1_bps": 650, "slope2_bps": 6000, "optimal_usage_bps": 9000}
    params["reserves"] = {
        # mechanics §1.7, Aave v3 Ethereum Core.
        "ETH": {"oracle": "eth-usd"},
        "WBTC": {
            "oracle": "wbtc-usd",
            "ltv_bps": 7300,
            "liquidation_threshold_bps": 7800,
            "liquidation_bonus_bps": 10500,
        },
        "wstETH": {
            "oracle": "wsteth-usd",
            "ltv_bps": 7850,
            "liquidation_threshold_bps": 8100,
            "liquidation_bonus_bps": 10600,
        },
        "USDC": {"oracle": "usdc-usd", **stable, "rate": rate},
        "USDT": {"oracle": "usdt-usd", **stable, "rate": rate},
    }
    params["multi_populations"] = [
        {
            "accounts": accounts,
            "collateral": dict(_COLLATERAL),
            "debt": dict(_DEBT),
            "collateral_usd": population["collateral_usd"],
            "health_factor": population["health_factor"],
        }
    ]
    keeper = next(a for a in d["agents"] if a["kind"] == "agent.lending_keeper")
    keeper["params"]["sell_on"] = {"ETH": "pool", "WBTC": "pool-WBTC", "wstETH": "pool-wstETH"}
    shock = next(s for s in d["shocks"] if s["kind"] == "price_jump" and s["asset"] == "ETH")
    for asset in ("WBTC", "wstETH"):
        d["shocks"].append(dict(copy.deepcopy(shock), asset=asset))
    d["name"] = f"bench-aave-v3-multi-{accounts}"
    return d


def multi_bench_scenario(accounts: int = 1_000_000, hours: float = 48.0) -> Scenario:
    """Return the multi-reserve benchmark scenario (see the module docstring)."""
    base = lending_bench_scenario(accounts, hours).model_dump(mode="json", exclude_unset=True)
    return Scenario.from_dict(multi_scenario_dict(base, accounts))


def run_multi_bench(accounts: int = 1_000_000, hours: float = 48.0) -> dict[str, Any]:
    """Run the single-pair benchmark, then the multi-reserve one, in this process.

    Returns
    -------
    dict
        The multi run's ``wall_s``, ``build_s``, ``run_s``, memory (``bytes_per_account`` of
        peak-memory growth, ``book_bytes_per_account``), liquidations, bad debt and index
        references; ``single_wall_s`` and ``single_liquidations`` of the single-pair run; and
        ``ratio_to_single`` (target ≤ 2). ``cpu_s``, ``single_cpu_s`` and
        ``cpu_ratio_to_single``: the same in CPU seconds of this process (scenario, build and
        run), which other load on a shared machine disturbs less than wall time.
    """
    from protosim.engine import Simulation

    lending_bench_scenario(1, hours)  # loads the component registry outside the figures
    cpu = time.process_time()
    single = run_lending_bench(accounts, hours, baseline=False)
    single_cpu = time.process_time() - cpu
    cpu = time.process_time()
    scenario = multi_bench_scenario(accounts, hours)
    meter = BuildRunMeter()
    sim = Simulation(scenario)
    meter.built()
    result = sim.run()
    meter.ran()
    multi_cpu = time.process_time() - cpu
    venue = sim.context.venues["aave"]
    summary = result.summary()
    figures: dict[str, Any] = {
        "accounts": accounts,
        "simulated_hours": hours,
        "collateral_reserves": len(venue.multi.book.collateral_assets),
        "debt_reserves": len(venue.multi.book.debt_assets),
        **meter.figures(accounts, "account"),
        "book_bytes_per_account": venue.multi.book.nbytes / accounts,
        "events": summary["events"],
        "liquidations": summary["liquidations"],
        "oracle_updates": summary["oracle_updates"],
        "liquidated_debt_usd": summary["liquidated_debt_usd"],
        "bad_debt_usd": summary["bad_debt_usd"],
        "index_references": venue.multi.book.references,
        "single_wall_s": single["wall_s"],
        "single_liquidations": single["liquidations"],
    }
    figures["ratio_to_single"] = (
        figures["wall_s"] / single["wall_s"] if single["wall_s"] > 0 else math.nan
    )
    figures["cpu_s"] = multi_cpu
    figures["single_cpu_s"] = single_cpu
    figures["cpu_ratio_to_single"] = multi_cpu / single_cpu if single_cpu > 0 else math.nan
    return figures
