"""The FTX-2022 fixture: perp liquidations follow the replayed FTT, SOL, BTC and ETH falls, each
triggered by its own index, and the liquidation orders push the books below the replayed lows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.catalog import resolve_scenario
from protosim.events import LiquidationExecuted, OracleUpdated, TradeExecuted
from protosim.protocols.perps.params import PerpVenueParams
from protosim.results import RunResult

MARKETS = ("FTT", "SOL", "BTC", "ETH")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.from_toml(resolve_scenario("ftx-2022"))


@pytest.fixture(scope="module")
def result(scenario: Scenario) -> RunResult:
    return Simulation(scenario).run()


def _tiers(scenario: Scenario) -> list[Any]:
    rows = []
    for venue in scenario.venues:
        params = PerpVenueParams.model_validate(venue.params)
        for market in params.markets.values():
            rows.extend(market.margin_table().tiers)
    return rows


def test_no_position_is_liquidated_before_its_price_moved_a_maintenance_distance(
    scenario: Scenario, result: RunResult
) -> None:
    """With leverage L <= 20 capped at each tier's maximum and mmr <= 1/(2·max leverage) in
    every tier (checked here), a position needs a move d = (1/L - mmr)/(1 - mmr) >= 1/40 = 2.5%
    from its entry (the starting price) to reach maintenance; so each market's first
    liquidation comes no earlier than the first time its replayed price has moved 2.5%."""
    for tier in _tiers(scenario):
        assert tier.mmr <= 1.0 / (2.0 * tier.max_leverage) + 1e-12
    liq = result.log.frame(LiquidationExecuted)
    grid = np.arange(0.0, scenario.horizon_s, 60.0)
    for asset in MARKETS:
        prices = result.market.reference_prices(asset, grid)
        moved = np.abs(prices / prices[0] - 1.0) >= 0.025
        assert moved.any()
        first_move = grid[np.argmax(moved)]
        mine = liq[liq["debt_asset"].astype(str) == asset]
        assert len(mine) > 0, asset
        assert mine["t"].min() >= first_move, asset


def test_every_liquidation_is_triggered_by_its_own_markets_index(result: RunResult) -> None:
    """Each liquidation names as cause an index update of the asset it liquidates (the cascade
    runs through the index that reads the book the liquidations sell into)."""
    liq = result.log.frame(LiquidationExecuted)
    updates = result.log.frame(OracleUpdated).set_index("seq")
    assert set(liq["cause"]) <= set(updates.index)
    assets = updates.loc[liq["cause"].to_numpy(), "asset"].astype(str).to_numpy()
    assert (assets == liq["debt_asset"].astype(str).to_numpy()).all()


@pytest.mark.parametrize("asset", ["BTC", "ETH"])
def test_liquidation_orders_push_the_book_below_the_replayed_low(
    result: RunResult, asset: str
) -> None:
    """Only liquidation orders trade on the books, so a book low under the replayed low is
    their price impact: the cascade deepens the fall the path alone would give."""
    traders = {str(t) for t in result.log.frame(TradeExecuted)["trader"]}
    assert traders
    assert all(t.startswith(("binance", "cex")) for t in traders)
    book = f"{asset}@{asset.lower()}-book"
    assert result.min_prices()[book] < result.min_prices()[asset]


def test_the_fall_days_carry_the_liquidations(result: RunResult) -> None:
    """BTC and ETH fell on 8-9 Nov (BTC ~$20.9K → $15.6K): their liquidations are on those days."""
    liq = result.log.frame(LiquidationExecuted)
    start = result.scenario.start_utc
    assert start is not None
    t8 = (np.datetime64("2022-11-08T00:00:00") - np.datetime64(start.replace(tzinfo=None))) / (
        np.timedelta64(1, "s")
    )
    t10 = t8 + 2 * 86_400.0
    for asset in ("BTC", "ETH"):
        mine = liq[liq["debt_asset"].astype(str) == asset]
        inside = mine[(mine["t"] >= t8) & (mine["t"] < t10)]
        assert inside["debt_repaid_usd"].sum() > 0.9 * mine["debt_repaid_usd"].sum(), asset
