"""``protosim bench``: the engine's speed and memory on the issue-2 benchmark scenario.

One Aave v3 market of N accounts (ETH collateral, USDC debt, health factors uniform in
[1.0, 3.0]), a 48-hour ETH path at 1-second resolution (GBM, σ = 60%/yr) with a 40% fall over
two hours starting at hour 24, a Chainlink ETH/USD feed (0.5%, 3600 s) that watches a
constant-product pool, and a keeper selling seized ETH into that pool. Blocks every 12 s with a
gas limit that does not bind. Wall time and peak
memory are measured here and only here; nothing in the simulation reads a clock.
"""

from __future__ import annotations

import gc
import math
import resource
import time
from typing import Any

import numpy as np

from protosim.scenario import PriceJumpSpec, Scenario

_POOL_DEPTH_USD = 20e9
_COLLATERAL_MEDIAN_USD = 10_000.0
# A gas limit that never binds: the benchmark measures the engine, not congestion (a 30M-gas
# Ethereum block fits only 75 liquidations, so a million-account cascade would queue for a day).
_GAS_LIMIT = 4_000_000_000


def lending_bench_scenario(
    accounts: int = 1_000_000, hours: float = 48.0, markets: str = "constant_product"
) -> Scenario:
    """Return the benchmark scenario with `accounts` borrowers over `hours` simulated hours.

    `markets` is ``constant_product`` (issue 2: keepers sell into a constant-product pool the
    feed watches) or ``stableswap+book`` (issue 6: they sell into a stableswap pool, and the
    feed reports the median of that pool and a square-root order book).
    """
    horizon = hours * 3600.0
    if markets not in {"constant_product", "stableswap+book"}:
        raise ValueError(f"expected markets constant_product or stableswap+book, was {markets!r}")
    pool: dict[str, Any] = {
        "kind": "constant_product",
        "depth_usd": _POOL_DEPTH_USD,
        "fee_bps": 5.0,
    }
    watched = ["pool"]
    extra_markets: list[dict[str, Any]] = []
    if markets == "stableswap+book":
        pool = {
            "kind": "stableswap",
            "amplification": 100.0,
            "depth_usd": 2 * _POOL_DEPTH_USD,
            "fee_bps": 4.0,
        }
        book = {
            "kind": "square_root",
            "daily_volume_usd": _POOL_DEPTH_USD,
            "daily_volatility": 0.04,
        }
        extra_markets = [
            {"id": "book", "asset": "ETH", "impact": book, "recovery_half_life_s": 600.0}
        ]
        watched = ["pool", "book"]
    return Scenario.from_dict(
        {
            "name": f"bench-aave-v3-{accounts}",
            "seed": 42,
            "horizon_s": horizon,
            "price_sample_s": 300.0,
            "assets": [
                {
                    "id": "ETH",
                    "decimals": 18,
                    "path": {"kind": "gbm", "p0": 4000.0, "sigma_per_year": 0.6, "dt_s": 1.0},
                },
                {"id": "USDC", "decimals": 6, "path": {"kind": "constant", "price": 1.0}},
            ],
            "chains": [
                {
                    "id": "ethereum",
                    "block_time_s": 12.0,
                    "gas_limit": _GAS_LIMIT,
                    "base_fee_gwei": 10.0,
                }
            ],
            "markets": [{"id": "pool", "asset": "ETH", "impact": pool}, *extra_markets],
            "oracles": [
                {
                    "id": "eth-usd",
                    "kind": "oracle.chainlink",
                    "params": {
                        "asset": "ETH",
                        "chain": "ethereum",
                        "observes": watched,
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
                        "reserves": {
                            "ETH": {"oracle": "eth-usd"},
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
                                    "median": _COLLATERAL_MEDIAN_USD,
                                    "sigma": 1.0,
                                },
                                "health_factor": {"kind": "uniform", "low": 1.0, "high": 3.0},
                            }
                        ],
                    },
                }
            ],
            "agents": [
                {
                    "id": "keeper",
                    "kind": "agent.lending_keeper",
                    "params": {"venue": "aave", "sell_on": {"ETH": "pool"}, "latency_s": 1.0},
                }
            ],
            "shocks": [
                {
                    "kind": "price_jump",
                    "at_s": min(24 * 3600.0, horizon / 2),
                    "asset": "ETH",
                    "change": -0.4,
                    "duration_s": 7200.0,
                }
            ],
        }
    )


def peak_rss_bytes() -> int:
    """Return the process's peak resident memory so far, in bytes."""
    # ru_maxrss is in KiB on Linux.
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


class BuildRunMeter:
    """Wall time of a benchmark's build and run phases, and the growth of peak memory.

    Create it just before building the simulation (it collects garbage and reads the peak
    resident memory first), call `built` after the build and `ran` after the run.
    """

    def __init__(self) -> None:
        gc.collect()
        self._rss_before = peak_rss_bytes()
        self._rss_peak = self._rss_before
        self._started = time.perf_counter()
        self._built = self._ran = self._started

    def built(self) -> None:
        """Mark the end of the build."""
        self._built = time.perf_counter()

    def ran(self) -> None:
        """Mark the end of the run and read the peak memory."""
        self._ran = time.perf_counter()
        self._rss_peak = peak_rss_bytes()

    def figures(self, count: int, unit: str) -> dict[str, float]:
        """Return ``build_s``, ``run_s``, ``wall_s``, ``peak_rss_mb``, ``rss_growth_mb`` and
        ``bytes_per_<unit>`` (the growth over `count` units).
        """
        growth = self._rss_peak - self._rss_before
        return {
            "build_s": self._built - self._started,
            "run_s": self._ran - self._built,
            "wall_s": self._ran - self._started,
            "peak_rss_mb": self._rss_peak / 2**20,
            "rss_growth_mb": growth / 2**20,
            f"bytes_per_{unit}": growth / count,
        }


def run_lending_bench(
    accounts: int = 1_000_000,
    hours: float = 48.0,
    *,
    baseline: bool = True,
    markets: str = "constant_product",
) -> dict[str, Any]:
    """Build and run the benchmark; return wall times, memory and counts."""
    from protosim.engine import Simulation

    scenario = lending_bench_scenario(accounts, hours, markets)
    meter = BuildRunMeter()
    sim = Simulation(scenario)
    meter.built()
    result = sim.run()
    meter.ran()
    venue = sim.context.venues["aave"]
    book_bytes = sum(book.nbytes for book in venue.books)
    summary = result.summary()
    figures: dict[str, Any] = {
        "markets": markets,
        "accounts": accounts,
        "simulated_hours": hours,
        **meter.figures(accounts, "account"),
        "book_bytes_per_account": book_bytes / accounts,
        "events": summary["events"],
        "liquidations": summary["liquidations"],
        "oracle_updates": summary["oracle_updates"],
        "liquidated_debt_usd": summary["liquidated_debt_usd"],
        "bad_debt_usd": summary["bad_debt_usd"],
        "min_eth_price_pool": summary["min_price"].get("ETH@pool", math.nan),
        "index_rebuilds": sum(book.rebuilds for book in venue.books),
    }
    if baseline:
        path = sim.context.market.path("ETH")
        book = venue.books[0]
        figures.update(_baseline_loops(path.prices, scenario, accounts, book.liquidation_threshold))
        figures["ratio_to_indexed_loop"] = figures["wall_s"] / figures["baseline_indexed_s"]
    return figures


def _baseline_loops(
    prices: np.ndarray, scenario: Scenario, accounts: int, lt: float
) -> dict[str, float]:
    """Time the single-purpose numpy loops the issue compares against (no engine, no events).

    Both walk the same path with the Chainlink rule (0.5% deviation or 1 h heartbeat, 40% fall
    applied), liquidate every account whose HF is below 1 at each oracle update with a 50%
    close factor and a 5% bonus, and sell the seized ETH into the same constant-product pool.
    One sweeps the whole book at every update; the other keeps keys sorted and touches only the
    accounts each update's price crosses (so it never liquidates an account twice: a lower bound
    on the work, not the same model).
    """
    rng = np.random.default_rng(7)
    t = np.arange(len(prices), dtype=np.float64)
    shock = scenario.shocks[0]
    if not isinstance(shock, PriceJumpSpec):
        raise TypeError(f"the benchmark's first shock must be a price jump, was {shock.kind}")
    start = scenario.shock_time(0)
    frac = np.clip((t - start) / shock.duration_s, 0.0, 1.0)
    ref = prices * np.exp(np.log(1.0 + shock.change) * frac)
    coll_usd = _COLLATERAL_MEDIAN_USD * np.exp(rng.standard_normal(accounts))
    hf = rng.uniform(1.0, 3.0, accounts)
    p0 = ref[0]
    out: dict[str, float] = {}
    for mode in ("sweep", "indexed"):
        coll = coll_usd / p0
        debt = coll_usd * lt / hf
        k = _POOL_DEPTH_USD**2 / p0
        offset = 0.0
        began = time.perf_counter()
        key = debt / (coll * lt)
        order = np.argsort(key)
        sorted_key = key[order]
        frontier = len(order)  # positions order[frontier:] have been reached by the price
        answer = ref[0]
        updated = 0
        i = 0
        n = len(ref)
        while i < n:
            observed = ref[i : updated + 3601] * math.exp(offset)
            crossed = np.flatnonzero(np.abs(observed / answer - 1.0) > 0.005)
            nxt = min(i + int(crossed[0]) if crossed.size else n, updated + 3600)
            if nxt >= n:
                break
            i = nxt
            answer = ref[i] * math.exp(offset)
            updated = i
            if mode == "sweep":
                hit = np.flatnonzero(coll * answer * lt < debt)
            else:
                lo = int(np.searchsorted(sorted_key, answer, side="right"))
                fresh = order[lo:frontier] if lo < frontier else order[:0]
                frontier = min(frontier, lo)
                # Touch only the accounts this update's price crossed (the indexed loop).
                hit = fresh[coll[fresh] * answer * lt < debt[fresh]]
            if hit.size:
                repay = debt[hit] * 0.5
                seized = np.minimum(repay * 1.05 / answer, coll[hit])
                coll[hit] -= seized
                debt[hit] -= repay
                price = ref[i] * math.exp(offset)
                x = math.sqrt(k / price)
                x_after = x + float(seized.sum())
                offset += math.log((x / x_after) ** 2)
        out[f"baseline_{mode}_s"] = time.perf_counter() - began
    return out


def sweep_bench_scenario(accounts: int = 10_000, hours: float = 24.0) -> Scenario:
    """Return the issue-9 sweep scenario: two lending venues sharing ETH for `hours` hours.

    ETH follows a GBM path (σ = 80%/yr, 1-second steps) drawn anew in every run, plus a 25%
    fall over an hour in the middle; an Aave v3.3 market and an Aave v2-rules market each hold
    half of `accounts`; both read one Chainlink feed watching the pool keepers sell into.
    """
    horizon = hours * 3600.0
    venue_accounts = accounts // 2

    def venue(venue_id: str, rules: str) -> dict[str, Any]:
        eth: dict[str, Any] = {"oracle": "eth-usd"}
        usdc: dict[str, Any] = {
            "oracle": "usdc-usd",
            "ltv_bps": 7500,
            "liquidation_threshold_bps": 7800,
            "liquidation_bonus_bps": 10450,
        }
        return {
            "id": venue_id,
            "kind": "lending.aave_v3",
            "params": {
                "chain": "ethereum",
                "rules": rules,
                "reserves": {"ETH": eth, "USDC": usdc},
                "populations": [
                    {
                        "accounts": venue_accounts,
                        "collateral": "ETH",
                        "debt": "USDC",
                        "collateral_usd": {"kind": "lognormal", "median": 10_000.0, "sigma": 1.0},
                        "health_factor": {"kind": "uniform", "low": 1.0, "high": 2.5},
                    }
                ],
            },
        }

    def keeper(agent_id: str, venue_id: str) -> dict[str, Any]:
        return {
            "id": agent_id,
            "kind": "agent.lending_keeper",
            "params": {"venue": venue_id, "sell_on": {"ETH": "pool"}},
        }

    return Scenario.from_dict(
        {
            "name": f"bench-sweep-{accounts}",
            "seed": 1,
            "horizon_s": horizon,
            "price_sample_s": 600.0,
            "assets": [
                {
                    "id": "ETH",
                    "path": {"kind": "gbm", "p0": 3000.0, "sigma_per_year": 0.8, "dt_s": 1.0},
                },
                {"id": "USDC", "decimals": 6, "path": {"kind": "constant", "price": 1.0}},
            ],
            "chains": [{"id": "ethereum"}],
            "markets": [
                {
                    "id": "pool",
                    "asset": "ETH",
                    "impact": {"kind": "constant_product", "depth_usd": 300e6},
                }
            ],
            "oracles": [
                {
                    "id": "eth-usd",
                    "kind": "oracle.chainlink",
                    "params": {"asset": "ETH", "chain": "ethereum", "observes": ["pool"]},
                },
                {
                    "id": "usdc-usd",
                    "kind": "oracle.chainlink",
                    "params": {
                        "asset": "USDC",
                        "chain": "ethereum",
                        "deviation_bps": 25.0,
                        "heartbeat_s": 86_400.0,
                    },
                },
            ],
            "venues": [venue("aave-v33", "v3.3"), venue("aave-v2", "v2")],
            "agents": [keeper("keeper-a", "aave-v33"), keeper("keeper-b", "aave-v2")],
            "shocks": [
                {
                    "kind": "price_jump",
                    "at_s": horizon / 2,
                    "asset": "ETH",
                    "change": -0.25,
                    "duration_s": 3600.0,
                }
            ],
        }
    )


def run_sweep_bench(
    runs: int = 1_000, *, accounts: int = 10_000, hours: float = 24.0, dask: bool = True
) -> dict[str, Any]:
    """Time `runs` runs of the sweep scenario on 1 and 2 worker processes, and on a Dask local
    cluster of 2 workers; check that all three give the same table.
    """
    from protosim.runners import execute, plan

    scenario = sweep_bench_scenario(accounts, hours)
    specs = plan(scenario, runs=runs, seed=7)
    figures: dict[str, Any] = {"runs": runs, "accounts": accounts, "simulated_hours": hours}
    tables = {}
    for workers in (1, 2):
        began = time.perf_counter()
        tables[f"process_{workers}"] = execute(specs, workers=workers)
        elapsed = time.perf_counter() - began
        figures[f"process_{workers}_workers_s"] = elapsed
        figures[f"process_{workers}_workers_runs_per_s"] = runs / elapsed
    figures["speedup_1_to_2"] = figures["process_1_workers_s"] / figures["process_2_workers_s"]
    if dask:
        from distributed import Client, LocalCluster

        began = time.perf_counter()
        with (
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
            Client(cluster) as client,
        ):
            tables["dask_2"] = execute(specs, executor=client.get_executor())
        elapsed = time.perf_counter() - began
        figures["dask_2_workers_s"] = elapsed
        figures["dask_2_workers_runs_per_s"] = runs / elapsed
    columns = ["run", "seed", "liquidations", "liquidated_usd", "bad_debt_usd"]
    reference = tables["process_1"][columns]
    figures["tables_identical"] = all(t[columns].equals(reference) for t in tables.values())
    return figures


def replay_bench_scenario(
    name: str, accounts: int | None = None, hours: float | None = None
) -> tuple[Scenario, dict[str, Any]]:
    """Return a fixture's scenario set up for the replay benchmark, and what was changed.

    The fixture's optional ``bench.toml`` gives its benchmark defaults (``accounts``, ``hours``)
    and ``[set]`` assignments (a longer window, say); then every population's ``accounts`` is
    scaled by the same factor so that they add up to `accounts`, and the horizon becomes
    `hours`.
    """
    import tomllib

    from protosim.replay import fixture_dir

    folder = fixture_dir(name)
    spec = Scenario.from_toml(folder / "scenario.toml")
    bench_file = folder / "bench.toml"
    config: dict[str, Any] = {}
    if bench_file.is_file():
        config = tomllib.loads(bench_file.read_text(encoding="utf-8"))
    assignments: dict[str, Any] = dict(config.get("set", {}))
    accounts = accounts or config.get("accounts")
    hours = hours or config.get("hours")
    if hours is not None:
        assignments["horizon_s"] = float(hours) * 3600.0
    if assignments:
        spec = spec.with_values(assignments)
    pops = [
        (venue.id, i, int(pop["accounts"]))
        for venue in spec.venues
        for i, pop in enumerate(venue.params.get("populations", ()))
        if "accounts" in pop
    ]
    total = sum(n for _, _, n in pops)
    if accounts is not None and total:
        scaled: dict[str, Any] = {}
        for k, (venue_id, i, n) in enumerate(pops):
            share = round(n * accounts / total)
            if k == len(pops) - 1:  # the last takes the rounding so the total is exact
                share = accounts - sum(v for v in scaled.values())
            scaled[f"venues.{venue_id}.params.populations[{i}].accounts"] = max(share, 1)
        spec = spec.with_values(scaled)
        assignments.update(scaled)
    return spec, assignments


def run_replay_bench(
    name: str, accounts: int | None = None, hours: float | None = None
) -> dict[str, Any]:
    """Time a fixture's replay with its populations scaled to `accounts` over `hours`.

    Returns wall time (build and run), CPU time of the process (``cpu_s``, build and run),
    events, liquidations, accounts and simulated hours.
    """
    from protosim.engine import Simulation
    from protosim.events import LiquidationExecuted

    spec, _ = replay_bench_scenario(name, accounts, hours)
    total = sum(
        int(pop.get("accounts", 0))
        for venue in spec.venues
        for pop in venue.params.get("populations", ())
    )
    meter = BuildRunMeter()
    # CPU time of this process beside the wall time: other work on a shared machine inflates
    # the wall time, not this.
    cpu_before = time.process_time()
    sim = Simulation(spec)  # builds the components, timed apart from the run
    meter.built()
    result = sim.run()
    meter.ran()
    cpu_s = time.process_time() - cpu_before
    figures: dict[str, Any] = {
        "fixture": name,
        "cpu_s": cpu_s,
        "accounts": total,
        "hours": spec.horizon_s / 3600.0,
        "events": len(result.log),
        "liquidations": result.log.count(LiquidationExecuted),
        "accounts_liquidated": result.accounts_liquidated(),
    }
    figures.update(meter.figures(max(total, 1), "account"))
    return figures
