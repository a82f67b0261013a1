"""Seeded scenario: an insurance fund too small for a bankrupt long, and ADL filling the gap,
with who is deleveraged under each policy derived by hand.

One generic CEX venue (flat 1 % maintenance rate, mark = index) holds five isolated positions
at a price of 100; the price gaps to 90 at t = 10:

=======  =====  =====  ======  =================================================
account  size   entry  margin  at 90
=======  =====  =====  ======  =================================================
0 (A)    +1     100    5       equity −5, bankruptcy price 90 + 5/1 = 95
1 (B)    +10    100    50      equity −50, bankruptcy price 90 + 50/10 = 95
2 (S1)   −10    180    30      uPnL 900, equity 930, leverage 900/930 = 0.968
3 (S2)   −10    100    60      uPnL 100, equity 160, leverage 5.625
4 (S3)   −10    92     100     uPnL 20, equity 120, leverage 7.5
=======  =====  =====  ======  =================================================

Selling A and B into the book fills below 90, worse than their bankruptcy price 95, so neither
may go there as a market order. With a fund of 25 the fund takes A (loss ≈ 1 × (95 − 90) = 5)
and cannot take B as well (≈ 50 more): B's 10 units are deleveraged at 95. With a fund of 0
(already exhausted) A's unit is deleveraged too: 11 units at 95.

Each unit closed at 95 against a mark of 90 moves 5 from a short to the bankrupt side; every
short can give all 10 units (equity/5 ≥ 24). Rankings by hand (MM = 1 % × 900 = 9):

- Binance ``(uPnL/wallet)·(MM/equity)``: S1 30 × 9/930 = 0.290, S2 1.667 × 9/160 = 0.094,
  S3 0.2 × 9/120 = 0.015 → S1, S2, S3.
- classic ``PnL% × leverage``: S1 0.5 × 0.968 = 0.484, S2 0.1 × 5.625 = 0.5625,
  S3 (2/92) × 7.5 = 0.163 → S2, S1, S3.
- Hyperliquid ``(1 + PnL%) × leverage``: S1 1.452, S2 6.19, S3 7.66 → S3, S2, S1.
- pro rata by size: equal thirds; risk-aware pro rata: in proportion to leverage.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.events import BadDebtRealized, LiquidationExecuted
from protosim.protocols.perps.events import AdlExecuted
from protosim.protocols.perps.kinds import register
from protosim.protocols.perps.venue import PerpVenue
from protosim.registry import Registry

REGISTRY = Registry().load_entry_points()
register(REGISTRY)

LEVERAGE = np.array([900.0 / 930.0, 900.0 / 160.0, 900.0 / 120.0])


def _position(size: float, entry: float, margin: float) -> dict[str, Any]:
    return {
        "positions": [
            {"market": "BTC", "size": size, "entry_price": entry, "isolated_margin": margin}
        ]
    }


def _run(policy: str, fund_usd: float) -> tuple[Simulation, PerpVenue]:
    accounts = [
        _position(1.0, 100.0, 5.0),
        _position(10.0, 100.0, 50.0),
        _position(-10.0, 180.0, 30.0),
        _position(-10.0, 100.0, 60.0),
        _position(-10.0, 92.0, 100.0),
    ]
    venue = {
        "id": "cex",
        "kind": "perps.cex",
        "params": {
            "markets": {
                "BTC": {
                    "asset": "BTC",
                    "index_oracle": "btc-index",
                    "book": "book",
                    "tiers": [{"floor": 0.0, "max_leverage": 50.0, "mmr": 0.01}],
                }
            },
            "insurance_fund_usd": fund_usd,
            # Let the fund's balance, not Binance's take-over size limit, decide.
            "insurance_max_position_ratio": 100.0,
            "adl_policy": policy,
            "accounts": accounts,
        },
    }
    pool = {"kind": "constant_product", "depth_usd": 1e6, "fee_bps": 0.0}
    scenario = Scenario.from_dict(
        {
            "name": "perps-adl",
            "seed": 7,
            "horizon_s": 20.0,
            "assets": [{"id": "BTC", "path": {"kind": "constant", "price": 100.0}}],
            "markets": [
                {"id": "spot", "asset": "BTC", "impact": {**pool, "depth_usd": 1e15}},
                {"id": "book", "asset": "BTC", "impact": pool},
            ],
            "oracles": [
                {
                    "id": "btc-index",
                    "kind": "oracle.internal_book",
                    "params": {"asset": "BTC", "venue": "spot"},
                }
            ],
            "venues": [venue],
            "shocks": [{"kind": "price_jump", "at_s": 10.0, "asset": "BTC", "change": -0.1}],
        },
        registry=REGISTRY,
    )
    sim = Simulation(scenario, registry=REGISTRY)
    sim.run()
    perp = sim.context.venues["cex"]
    assert isinstance(perp, PerpVenue)
    return sim, perp


def _expected(policy: str, quantity: float) -> list[float]:
    queues = {"binance": (0, 1, 2), "classic": (1, 0, 2), "hyperliquid": (2, 1, 0)}
    if policy in queues:
        out = [0.0, 0.0, 0.0]
        left = quantity
        for i in queues[policy]:
            out[i] = min(10.0, left)
            left -= out[i]
        return out
    if policy == "pro_rata":
        return [quantity / 3.0] * 3
    return list(quantity * LEVERAGE / LEVERAGE.sum())


POLICIES = ["binance", "classic", "hyperliquid", "pro_rata", "risk_aware_pro_rata"]


def _closed(sim: Simulation) -> list[float]:
    frame = sim.result().log.frame(AdlExecuted)
    per = frame.groupby("account")["quantity"].sum()
    return [float(per.get(account, 0.0)) for account in (2, 3, 4)]


@pytest.mark.parametrize("policy", POLICIES)
def test_fund_takes_what_it_can_and_adl_closes_the_rest_by_policy(policy: str) -> None:
    """Fund 25: A goes to the fund, B's 10 units are deleveraged at 95 against the shorts the
    policy picks (module table); B and A end at zero equity, no short below zero."""
    sim, venue = _run(policy, 25.0)
    routes = sim.result().log.frame(LiquidationExecuted)
    assert dict(zip(routes["account"], routes["liquidator"].astype(str), strict=True)) == {
        0: "insurance_fund",
        1: "adl",
    }
    np.testing.assert_allclose(_closed(sim), _expected(policy, 10.0), rtol=1e-9, atol=1e-12)
    fills = sim.result().log.of_type(AdlExecuted)
    assert {f.counterparty_of for f in fills} == {1}
    assert all(f.price == pytest.approx(95.0, rel=1e-12) for f in fills)
    equity = venue.account_equity()
    assert equity[:2] == pytest.approx([0.0, 0.0], abs=1e-9)
    shorts = np.array([930.0, 160.0, 120.0]) - 5.0 * np.array(_expected(policy, 10.0))
    np.testing.assert_allclose(equity[2:], shorts, rtol=1e-9)
    assert venue.fund.balance < 25.0
    assert venue.fund.balance < 50.0  # could never have covered B's loss
    debts = {
        e.account: (e.treatment, e.amount_usd) for e in sim.result().log.of_type(BadDebtRealized)
    }
    assert debts[1] == ("adl", pytest.approx(50.0, rel=1e-12))
    assert debts[0][0] == "insurance_fund"
    assert debts[0][1] == pytest.approx(25.0 - venue.fund.balance, rel=1e-9)
    metrics = venue.metrics()
    assert metrics["adl_notional_usd"] == pytest.approx(950.0, rel=1e-12)
    assert metrics["residual_usd"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("policy", POLICIES)
def test_exhausted_fund_leaves_both_bankrupt_longs_to_adl(policy: str) -> None:
    """Fund 0: A's and B's 11 units are deleveraged at 95; the queues spill from their first
    pick into their second (10 + 1), pro rata splits 11 by the module's weights."""
    sim, venue = _run(policy, 0.0)
    assert venue.fund.exhausted
    np.testing.assert_allclose(_closed(sim), _expected(policy, 11.0), rtol=1e-9, atol=1e-12)
    metrics = venue.metrics()
    hit = sum(q > 0 for q in _expected(policy, 11.0))
    assert metrics["adl_accounts_hit"] == hit
    assert metrics["adl_notional_usd"] == pytest.approx(11.0 * 95.0, rel=1e-12)
    # Overshoot: profit closed at the mark beyond the 55 covered (uPnL per unit 90, 10, 2).
    pnl = np.array([90.0, 10.0, 2.0]) @ np.array(_expected(policy, 11.0))
    assert metrics["adl_overshoot_usd"] == pytest.approx(pnl - 55.0, rel=1e-9)
    assert venue.account_equity().min() >= -1e-9
    assert metrics["residual_usd"] == pytest.approx(0.0, abs=1e-9)
