"""Invariants of whole perp runs: value is conserved, positions stay zero-sum, nobody ends below
zero after the ladder (book, fund or vault, ADL), whatever the venue kind and ADL policy.

Each run: BTC and ETH crash 25 % over two minutes and rebound 15 % later; a thin liquidation
book (so fills go through bankruptcy prices), a small fund or vault (so ADL is needed), funding
every ten minutes; populations of single cross, isolated, two-market cross and (Binance)
unified accounts with wBETH collateral priced off a book that also crashes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.protocols.perps.kinds import register
from protosim.protocols.perps.venue import PerpVenue
from protosim.registry import Registry

REGISTRY = Registry().load_entry_points()
register(REGISTRY)


def _population(markets: list[str], mode: str = "cross", **extra: Any) -> dict[str, Any]:
    return {
        "accounts": 600,
        "markets": markets,
        "position_usd": {"kind": "lognormal", "median": 20_000.0, "sigma": 1.2},
        "leverage": {"kind": "uniform", "low": 2.0, "high": 40.0},
        "long_share": 0.6,
        "margin_mode": mode,
        "entry_dispersion": 0.05,
        **extra,
    }


def _scenario(kind: str, policy: str, seed: int) -> Scenario:
    book = {"kind": "square_root", "daily_volume_usd": 2e8, "daily_volatility": 0.05}
    deep = {"kind": "constant_product", "depth_usd": 1e13, "fee_bps": 0.0}
    assets = {"BTC": 100_000.0, "ETH": 4_000.0, "WBETH": 4_280.0}
    markets = {
        a: {"asset": a, "index_oracle": f"{a.lower()}-index", "book": f"{a.lower()}-book"}
        for a in ("BTC", "ETH")
    }
    markets["BTC"]["table"] = (
        "hyperliquid.BTC" if kind == "perps.hyperliquid" else "binance.BTCUSDT"
    )
    markets["ETH"]["tiers"] = [
        {"floor": 0.0, "max_leverage": 50.0},
        {"floor": 1e6, "max_leverage": 20.0},
    ]
    params: dict[str, Any] = {
        "markets": markets,
        "adl_policy": policy,
        "funding": {"rule": "binance", "interval_s": 600.0, "cap": 0.02},
        "populations": [
            _population(["BTC"]),
            _population(["ETH"], "isolated"),
            _population(["BTC", "ETH"]),
        ],
    }
    if kind == "perps.hyperliquid":
        params["backstop"] = {"vault_usd": 200_000.0, "unwind_half_life_s": 30.0}
        params["funding"] = {"rule": "hyperliquid", "interval_s": 600.0, "cap": 0.04}
    else:
        params["insurance_fund_usd"] = 100_000.0
    if kind == "perps.binance":
        params["collateral"] = {
            "WBETH": {"oracle": "wbeth-index", "collateral_rate": 0.9, "book": "wbeth-book"}
        }
        params["populations"].append(_population(["ETH"], collateral={"WBETH": 0.8}))
    crash = [
        {"kind": "price_jump", "at_s": 300.0, "asset": a, "change": -0.25, "duration_s": 120.0}
        for a in assets
    ]
    rebound = [
        {"kind": "price_jump", "at_s": 900.0, "asset": a, "change": 0.15, "duration_s": 60.0}
        for a in ("BTC", "ETH")
    ]
    return Scenario.from_dict(
        {
            "name": "perps-properties",
            "seed": seed,
            "horizon_s": 1_500.0,
            "assets": [
                {"id": a, "path": {"kind": "gbm", "p0": p, "sigma_per_year": 0.8}}
                for a, p in assets.items()
            ],
            "markets": [
                *({"id": f"{a.lower()}-spot", "asset": a, "impact": deep} for a in assets),
                *(
                    {
                        "id": f"{a.lower()}-book",
                        "asset": a,
                        "impact": book,
                        "recovery_half_life_s": 120.0,
                    }
                    for a in assets
                ),
            ],
            "oracles": [
                {
                    "id": f"{a.lower()}-index",
                    "kind": "oracle.internal_book",
                    "params": {"asset": a, "venue": f"{a.lower()}-spot"},
                }
                for a in assets
            ],
            "venues": [{"id": "perp", "kind": kind, "params": params}],
            "shocks": [*crash, *rebound],
        },
        registry=REGISTRY,
    )


CASES = [
    ("perps.hyperliquid", "hyperliquid", 1),
    ("perps.binance", "binance", 2),
    ("perps.cex", "classic", 3),
    ("perps.cex", "pro_rata", 4),
    ("perps.cex", "risk_aware_pro_rata", 5),
]


@pytest.fixture(scope="module", params=CASES, ids=[f"{k}-{p}" for k, p, _ in CASES])
def finished(request: pytest.FixtureRequest) -> PerpVenue:
    kind, policy, seed = request.param
    sim = Simulation(_scenario(kind, policy, seed), registry=REGISTRY)
    sim.run()
    venue = sim.context.venues["perp"]
    assert isinstance(venue, PerpVenue)
    return venue


def test_value_is_conserved(finished: PerpVenue) -> None:
    """Traders' PnL + fund change + vault PnL + the book's counterparties' PnL + the venue's
    own loss − collateral revaluation = 0, to 1e-9 of the open interest at the start."""
    metrics = finished.metrics()
    scale = 1_800 * 20_000.0
    assert abs(metrics["residual_usd"]) < 1e-9 * scale
    assert metrics["liquidations"] > 0


def test_the_ladder_was_exercised(finished: PerpVenue) -> None:
    """The crash drives positions through the book and, with a thin book and a small fund or
    vault, through ADL: both are non-zero, and the ADL metrics are consistent."""
    m = finished.metrics()
    assert m["book_liquidations"] > 0
    assert m["adl_liquidations"] > 0
    assert m["adl_notional_usd"] > 0
    assert m["adl_accounts_hit"] > 0
    assert m["funding_settlements"] == 2 * 2  # two markets at 600 s and 1,200 s


def test_positions_stay_zero_sum(finished: PerpVenue) -> None:
    """In each market the accounts' sizes plus what the book's counterparties, the vault and
    the venue hold sum to zero."""
    for market_id, book in finished.book.markets.items():
        total = float(book.size.sum())
        for ledger in (finished.external, finished.vault, finished.uncovered):
            total += ledger.positions.get(market_id, 0.0)
        assert abs(total) < 1e-9 * float(np.abs(book.size).sum() + 1.0)


def test_no_account_ends_below_zero(finished: PerpVenue) -> None:
    """After the last check, including every ADL, no account's equity is below zero (to 1e-9
    of its notional), so nobody owes the venue."""
    equity = finished.account_equity()
    assert equity.min() >= -1e-6


def test_same_seed_gives_a_byte_identical_event_log(tmp_path: Path) -> None:
    """Two runs of the Hyperliquid case with one seed write the same JSONL event log."""
    paths = []
    for i in range(2):
        sim = Simulation(_scenario(*CASES[0]), registry=REGISTRY)
        paths.append(sim.run().to_jsonl(tmp_path / f"run{i}.jsonl"))
    assert paths[0].read_bytes() == paths[1].read_bytes()
