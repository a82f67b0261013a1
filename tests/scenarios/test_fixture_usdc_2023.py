"""usdc-2023: Circle's redemption is shut for the weekend, the PSM holds DAI at USDC's price, and
the venue that prices USDC at the market liquidates it while the fixed-$1 venue liquidates only
DAI collateral borrowed against USDC."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.catalog import resolve_scenario
from protosim.results import RunResult

START = datetime(2023, 3, 10, tzinfo=UTC)


def _t(*args: int) -> float:
    return (datetime(*args, tzinfo=UTC) - START).total_seconds()


CLOSED = (_t(2023, 3, 11, 3), _t(2023, 3, 13, 13, 30))


@pytest.fixture(scope="module")
def result() -> RunResult:
    scenario = Scenario.from_toml(resolve_scenario("usdc-2023"))
    return Simulation(scenario, seed=scenario.seed).run()


def _series(result: RunResult, venue: str, asset: str) -> tuple[np.ndarray, np.ndarray]:
    prices = result.prices
    rows = prices[(prices["venue"] == venue) & (prices["asset"] == asset)]
    return rows["t"].to_numpy(), rows["price"].to_numpy()


def test_circle_does_not_redeem_while_closed(result: RunResult) -> None:
    """No Circle trade between 03:00Z 11 Mar and 13:30Z 13 Mar, though USDC is far below its
    redemption value then; Circle trades before the close and again after the reopening."""
    trades = result.trades
    circle = trades[trades["trader"] == "circle"]
    inside = (circle["t"] >= CLOSED[0]) & (circle["t"] < CLOSED[1])
    assert not inside.any()
    assert (circle["t"] < CLOSED[0]).any()
    assert (circle["t"] >= CLOSED[1]).any()
    t, usdc = _series(result, "reference", "USDC")
    assert usdc[(t >= CLOSED[0]) & (t < CLOSED[1])].min() < 0.9175 * 0.999


def test_psm_holds_dai_at_usdcs_price(result: RunResult) -> None:
    """With 1 DAI <-> 1 USDC through the PSM (5 bp arbitrage cost, checked every minute), the DAI
    pool tracks USDC on the crash day: a median gap under 0.2%, never more than the minute of
    USDC's fastest moves (3%), and its low within 0.5% of USDC's (DAI's own reference stays $1;
    no DAI data is used)."""
    t_usdc, usdc = _series(result, "reference", "USDC")
    t_dai, dai = _series(result, "dai-pool", "DAI")
    assert np.array_equal(t_usdc, t_dai)
    day = (t_dai >= _t(2023, 3, 11)) & (t_dai < _t(2023, 3, 12))
    gap = np.abs(dai[day] / usdc[day] - 1.0)
    assert np.median(gap) < 0.002
    assert gap.max() < 0.03
    assert dai.min() == pytest.approx(usdc.min(), rel=0.005)
    assert result.market.reference_price("DAI", 0.0) == 1.0


def test_market_priced_emode_liquidates_usdc_collateral_with_bad_debt(result: RunResult) -> None:
    """Aave's eMode venue prices USDC at the market feed: most of its USDC-collateral debt is
    liquidated while the feed is below $0.98 (Gauntlet's line), and some positions end below
    their debt (bad debt written off under v3.0 rules)."""
    liq = result.liquidations
    emode = liq[liq["venue"] == "aave-v3-avax"]
    assert len(emode) > 0
    answers = result.oracle_updates
    feed = answers[answers["oracle"] == "chainlink-usdc-usd-avax"]
    index = np.searchsorted(feed["t"].to_numpy(), emode["t"].to_numpy(), side="right") - 1
    at_liquidation = feed["answer"].to_numpy()[index]
    below = emode["debt_repaid_usd"].to_numpy()[at_liquidation < 0.98].sum()
    assert below > 0.5 * emode["debt_repaid_usd"].sum()
    bad = result.bad_debt
    assert bad[bad["venue"] == "aave-v3-avax"]["amount_usd"].sum() > 0


def test_fixed_price_venue_liquidates_dai_collateral_not_usdc(result: RunResult) -> None:
    """Compound v2 values USDC at $1: no USDC collateral is liquidated, while DAI collateral
    (market price ~0.88) borrowed against fixed-$1 USDC is, during the DAI depeg."""
    liq = result.liquidations
    compound = liq[liq["venue"] == "compound-v2"]
    assert (compound["collateral_asset"] == "USDC").sum() == 0
    dai = compound[compound["collateral_asset"] == "DAI"]
    assert len(dai) > 0
    assert (dai["debt_asset"] == "USDC").all()
    assert dai["t"].min() > CLOSED[0]
    assert dai["t"].max() < _t(2023, 3, 13)
