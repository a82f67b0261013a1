"""The thin-market manipulator: buys move the pools by their impact law, it borrows only after
the oracle has published a price observed after its last buy, and it borrows exactly what the
venue's limits allow, then leaves.

The lending venue here is a minimal stand-in registered for these tests (LTV check and borrow
cap, reverting with Aave's error names), so the agent's rules are checked on their own; the
Mango fixture runs it against ``lending.aave_v3``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from protosim import Scenario, Simulation
from protosim.context import SimContext
from protosim.events import ROOT, TradeExecuted
from protosim.protocols.lending.aave_v3.errors import AaveReverted
from protosim.protocols.markets.manipulation import ManipulatorBorrowed, ManipulatorParams
from protosim.registry import ComponentType, Registry
from protosim.results import RunResult
from protosim.scenario import ComponentSpec

P0 = 0.04  # the thin asset's price
DEPTH = 500_000.0  # USD reserve of each constant-product pool at P0


class _StubParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    oracles: dict[str, str]
    ltv: dict[str, float]
    caps: dict[str, float] = {}


class _StubLending:
    """Borrow iff total debt <= Σ collateral · LTV at oracle prices and within the cap."""

    def __init__(self, ctx: SimContext, params: _StubParams) -> None:
        self.params = params
        self.oracles = {a: ctx.oracle(o) for a, o in params.oracles.items()}
        self.collateral: dict[str, float] = {}
        self.debt: dict[str, float] = {}
        self.total_borrowed: dict[str, float] = {}

    def start(self) -> None:
        pass

    def metrics(self) -> dict[str, float]:
        return {}

    def price(self, asset: str) -> float:
        return self.oracles[asset].read().price

    def open_account(
        self,
        *,
        collateral: Mapping[str, float],
        debt: Mapping[str, float],
        emode: int = 0,
        cause: int = ROOT,
    ) -> int:
        del emode, cause
        self.collateral = dict(collateral)
        self.debt = dict(debt)
        return 0

    def supply(self, account: int, asset: str, amount: float, *, cause: int) -> None:
        del account, cause
        self.collateral[asset] = self.collateral.get(asset, 0.0) + amount

    def borrow(self, account: int, asset: str, amount: float, *, cause: int) -> None:
        del account, cause
        cap = self.params.caps.get(asset)
        if cap is not None and self.total_borrowed.get(asset, 0.0) + amount > cap:
            raise AaveReverted("BORROW_CAP_EXCEEDED")
        power = sum(
            q * self.price(a) * self.params.ltv.get(a, 0.0) for a, q in self.collateral.items()
        )
        owed = sum(q * self.price(a) for a, q in self.debt.items()) + amount * self.price(asset)
        if owed > power:
            raise AaveReverted("COLLATERAL_CANNOT_COVER_NEW_BORROW")
        self.debt[asset] = self.debt.get(asset, 0.0) + amount
        self.total_borrowed[asset] = self.total_borrowed.get(asset, 0.0) + amount


def _registry() -> Registry:
    registry = Registry().load_entry_points()
    registry.register(
        ComponentType(
            kind="test.stub_lending",
            role="venue",
            params=_StubParams,
            build=lambda ctx, spec, params, where: _StubLending(ctx, params),
            description="test stand-in",
        )
    )
    return registry


def _scenario(
    agent: dict[str, Any],
    *,
    caps: dict[str, float] | None = None,
    shocks: Any = (),
    recovery_s: float | None = None,
) -> dict[str, Any]:
    pool: dict[str, Any] = {"kind": "constant_product", "depth_usd": DEPTH, "fee_bps": 0.0}
    extra = {} if recovery_s is None else {"recovery_half_life_s": recovery_s}
    return {
        "name": "manipulation",
        "horizon_s": 1_800.0,
        "assets": [
            {"id": "TOK", "path": {"kind": "constant", "price": P0}},
            {"id": "USDC", "decimals": 6, "path": {"kind": "constant", "price": 1.0}},
        ],
        "markets": [
            {"id": v, "asset": "TOK", "impact": pool, **extra}
            for v in ("pool-a", "pool-b", "pool-c")
        ],
        "oracles": [
            {
                "id": "tok-index",
                "kind": "oracle.median_index",
                "params": {
                    "asset": "TOK",
                    "weights": {"pool-a": 1.0, "pool-b": 1.0, "pool-c": 1.0},
                    "update_interval_s": 10.0,
                },
            },
            {"id": "usdc-peg", "kind": "oracle.fixed", "params": {"asset": "USDC", "price": 1.0}},
        ],
        "venues": [
            {
                "id": "lender",
                "kind": "test.stub_lending",
                "params": {
                    "oracles": {"TOK": "tok-index", "USDC": "usdc-peg"},
                    "ltv": {"TOK": 0.8},
                    "caps": caps or {},
                },
            }
        ],
        "agents": [{"id": "attacker", "kind": "agent.manipulator", "params": agent}],
        "shocks": list(shocks),
    }


def _agent(**changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "venue": "lender",
        "asset": "TOK",
        "oracle": "tok-index",
        "open_at": {"at_s": 50.0},
        "collateral": {"TOK": 10_000_000.0},
        "buys": [
            {"venue": "pool-a", "usd": 500_000.0, "at_s": 100.0},
            {"venue": "pool-b", "usd": 1_000_000.0, "at_s": 105.0},
        ],
        "borrow": ["USDC"],
        "min_borrow_usd": 1.0,
    }
    params.update(changes)
    return params


def _run(agent: dict[str, Any], **kw: Any) -> RunResult:
    registry = _registry()
    scenario = Scenario.from_dict(_scenario(agent, **kw), registry=registry)
    return Simulation(scenario, seed=1, registry=registry).run()


def _borrows(result: RunResult) -> list[ManipulatorBorrowed]:
    return list(result.log.of_type(ManipulatorBorrowed))


def test_buys_move_each_pool_by_the_constant_product_law() -> None:
    """Spending x USD into a pool of USD depth D (no fee) multiplies its price by ((D + x)/D)²."""
    result = _run(_agent())
    trades = [t for t in result.log.of_type(TradeExecuted) if t.trader == "attacker"]
    assert [t.venue for t in trades] == ["pool-a", "pool-b"]
    for trade, usd in zip(trades, (500_000.0, 1_000_000.0), strict=True):
        assert trade.notional_usd == pytest.approx(usd, rel=1e-9)
        assert trade.price_after / trade.price_before == pytest.approx(
            ((DEPTH + usd) / DEPTH) ** 2, rel=1e-9
        )


def test_borrows_at_the_first_look_after_an_oracle_round_observed_after_the_last_buy() -> None:
    """Last buy at 105 s; the index observes every 10 s (at 110 s, after agents act at that
    instant), so the 1 s poll first sees it at 111 s; the borrow names that round as cause."""
    result = _run(_agent())
    (borrow,) = _borrows(result)
    assert borrow.t == 111.0
    # The median of three pools, two pumped (×4 and ×9) and one untouched, is the ×4 one.
    assert borrow.collateral_price == pytest.approx(
        P0 * ((DEPTH + 500_000.0) / DEPTH) ** 2, rel=1e-9
    )


def test_borrows_up_to_the_ltv_limit_without_a_cap() -> None:
    """Without a cap it borrows LTV × collateral value at the pumped oracle price (to $1)."""
    result = _run(_agent())
    (borrow,) = _borrows(result)
    limit = 0.8 * 10_000_000.0 * borrow.collateral_price
    assert limit - 1.0 <= borrow.amount <= limit
    assert borrow.stopped_by == "COLLATERAL_CANNOT_COVER_NEW_BORROW"


def test_a_borrow_cap_binds_before_the_collateral_does() -> None:
    """With a cap far below the LTV limit it borrows the cap (to $1) and reports why it stopped."""
    result = _run(_agent(), caps={"USDC": 250_000.0})
    (borrow,) = _borrows(result)
    assert 250_000.0 - 1.0 <= borrow.amount <= 250_000.0
    assert borrow.stopped_by == "BORROW_CAP_EXCEEDED"


def test_walks_away_leaving_the_shortfall_once_prices_return() -> None:
    """Pools that recover with a 60 s half-life are back at P0 by the end (2^-28 of the move
    left); the agent never repays, so the shortfall is borrowed − collateral × P0."""
    result = _run(_agent(), recovery_s=60.0)
    metrics = result.component_metrics["attacker"]
    (borrow,) = _borrows(result)
    assert result.component_metrics["tok-index"]["last_answer"] == pytest.approx(P0, rel=1e-6)
    assert metrics["shortfall_usd"] == pytest.approx(borrow.amount - 10_000_000.0 * P0, rel=1e-6)
    assert metrics["spent_usd"] == pytest.approx(1_500_000.0, rel=1e-9)


def test_gives_up_when_the_oracle_never_catches_up() -> None:
    """An oracle frozen from 60 s never publishes a price observed after the buys: no borrow."""
    frozen = {"kind": "oracle_outage", "at_s": 60.0, "oracle": "tok-index", "duration_s": 1_700.0}
    result = _run(_agent(max_wait_s=600.0), shocks=[frozen])
    assert _borrows(result) == []
    assert result.component_metrics["attacker"]["gave_up"] == 1.0


def test_rejects_borrowing_the_pumped_asset() -> None:
    """Borrowing the asset it pumps is a configuration error naming the field."""
    with pytest.raises(ValidationError, match="borrow"):
        ManipulatorParams.model_validate(_agent(borrow=["TOK"]))


def test_unknown_buy_venue_is_a_scenario_error() -> None:
    """A buy on a venue that does not trade the asset fails on build, naming the field."""
    from protosim.errors import ScenarioError

    bad = _agent(buys=[{"venue": "nowhere", "usd": 1.0, "at_s": 100.0}])
    with pytest.raises(ScenarioError, match=r"buys\[0\]\.venue"):
        _run(bad)


def test_spec_is_a_component_spec() -> None:
    """The agent's scenario entry is an ordinary component (kind agent.manipulator)."""
    spec = ComponentSpec(id="a", kind="agent.manipulator", params=_agent())
    assert spec.kind == "agent.manipulator"
