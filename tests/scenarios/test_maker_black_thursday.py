"""The black-thursday-2020 fixture: zero-bid Flipper wins come from the gas queue (or from
keepers out of DAI, or lots too small to pay a bid's gas), never by script, and the Vow ends
with more debt than surplus."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pytest
from click.testing import CliRunner

from protosim import Scenario, Simulation
from protosim.catalog import resolve_scenario
from protosim.cli import main
from protosim.events import LiquidationsDeclined, ShockApplied
from protosim.protocols.lending.events import AuctionBidPlaced, AuctionSettled, AuctionStarted
from protosim.results import RunResult

START = datetime(2020, 3, 12, tzinfo=UTC)


def _s(utc: str) -> float:
    return (datetime.fromisoformat(utc) - START).total_seconds()


# The congestion episodes of scenario.toml, written out independently of the file.
CONGESTION = [
    (_s("2020-03-12T10:00:00+00:00"), _s("2020-03-12T14:00:00+00:00")),
    (_s("2020-03-12T23:00:00+00:00"), _s("2020-03-13T04:00:00+00:00")),
]


@pytest.fixture(scope="module")
def result() -> RunResult:
    scenario = Scenario.from_toml(resolve_scenario("black-thursday-2020"))
    return Simulation(scenario).run()


def _congested(t: np.ndarray) -> np.ndarray:
    inside = np.zeros(t.shape, dtype=bool)
    for start, end in CONGESTION:
        inside |= (t >= start) & (t < end)
    return inside


def test_congestion_episodes_are_the_fixture_shocks(result: RunResult) -> None:
    """The scenario's congestion shocks fire at the UTC times this test assumes."""
    shocks = result.log.frame(ShockApplied)
    shocks = shocks[shocks.shock == "chain_congestion"]
    assert shocks.t.tolist() == [start for start, _ in CONGESTION]
    assert (shocks.t + shocks.duration_s).tolist() == [end for _, end in CONGESTION]


# A market keeper bids only if the lot's value less its bid exceeds the bid's gas. Outside
# congestion one bid costs 120,000 gas (MakerKeeperParams.gas_bid default) at 13.3 gwei base +
# at most 20 gwei tip = 4.0e-3 ETH, about $0.80 with ETH at <= $200; a keeper's edge is its margin
# (3-5 % of the lot), so a lot worth under $0.80 / 0.03 = $27 never pays a bid. Bound: $20.
DUST_LOT_USD = 20.0


def test_zero_bid_wins_come_from_congestion_or_keepers_out_of_dai(result: RunResult) -> None:
    """A 1-rad bid wins only if it was placed while blocks were congested, while every market
    keeper that wanted the lot had no free DAI for it (LiquidationsDeclined 'capital'), or on a
    lot too small to pay a market keeper's gas."""
    log = result.log
    settled = log.frame(AuctionSettled)
    zero = settled[settled.raised < 1.0]
    assert len(zero) > 0
    assert (zero.raised == 1e-45).all()  # flip.sol: bid > 0, so the least bid is 1 rad
    bids = log.frame(AuctionBidPlaced)
    first_bid = bids.sort_values("seq").groupby("auction").first()
    placed = first_bid.loc[zero.auction.to_numpy()]
    assert (placed.bidder == "keeper-zero").all()
    inside = _congested(placed.t.to_numpy())
    assert inside.mean() > 0.5  # most zero-bid wins: while the gas queue was blocked
    starts = log.frame(AuctionStarted).set_index("auction")
    declined = log.frame(LiquidationsDeclined)
    short = set(declined[declined.reason == "capital"].cause.tolist())
    outside = zero[~inside]
    for a, value in zip(outside.auction, outside.collateral_value_usd, strict=True):
        assert int(starts.loc[a].seq) in short or value < DUST_LOT_USD


def test_competitive_auctions_outside_congestion(result: RunResult) -> None:
    """With blocks not full, market keepers win auctions at a price near the market."""
    settled = result.log.frame(AuctionSettled)
    won = settled[settled.raised >= 1.0]
    assert len(won) > 0
    assert not _congested(won.t.to_numpy()).all()
    ratio = won.raised / won.collateral_value_usd
    assert float(np.median(ratio)) > 0.9


def test_vow_debt_exceeds_surplus_so_a_flop_is_due(result: RunResult) -> None:
    """Bad debt queued in the Vow outweighs its surplus: debt auctions are due once it waited."""
    m = result.component_metrics["maker"]
    assert m["vow_debt_dai"] > m["vow_surplus_dai"]
    assert m["vow_deficit_dai"] > 0
    assert m["flop_due_after_wait"] == 1.0
    assert m["flop_lots_due"] >= 1
    assert m["bad_debt_dai"] > 0


@pytest.mark.slow
def test_protosim_run_black_thursday_takes_under_20_s() -> None:
    """`protosim run black-thursday-2020` succeeds in under 20 s of CPU."""
    t0 = time.process_time()
    out = CliRunner().invoke(main, ["run", "black-thursday-2020", "--quiet"])
    assert out.exit_code == 0, out.output
    assert time.process_time() - t0 < 20.0
    assert "zero_bid_wins" in out.output
