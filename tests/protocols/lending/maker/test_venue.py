"""The Maker venue: Jug duty, the Spotter's unsafe test, conservation of DAI and collateral
through bite/kick/tend/dent/deal, and the Vow's flop once debt exceeds surplus."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protosim import Scenario, Simulation
from protosim.protocols.lending.events import ReservesChanged
from protosim.protocols.lending.maker.math import RAD, DssReverted, is_unsafe
from protosim.protocols.lending.maker.testing import maker_scenario_dict
from protosim.protocols.lending.maker.venue import MakerVenue, duty_from_annual
from protosim.units import RAY, WAD


@pytest.mark.parametrize(
    ("annual", "duty"),
    [
        # makerdao/spells-mainnet archive/2020-03-15-DssSpell/DssSpell.sol ZERO_FIVE_PCT_RATE
        (0.005, 1000000000158153903837946257),
        # makerdao/spells-mainnet archive/2020-03-27-DssSpell/DssSpell.sol SIXTEEN_PCT_RATE
        (0.16, 1000000004706367499604668374),
        # archive/2020-03-20-DssSpell/DssSpell.t.sol thisWeek.dutyETH (0 %)
        (0.0, RAY),
    ],
)
def test_duty_from_annual_matches_executive_spell_constants(annual: float, duty: int) -> None:
    """The Jug duty of an annual fee is the spells' e(l(1 + r) / year) to 27 decimals."""
    assert duty_from_annual(annual) == duty


def _sim(**changes: Any) -> tuple[Simulation, MakerVenue]:
    data = maker_scenario_dict(urns=30, zero_bidder=False, congestion=False)
    data["agents"] = []  # the test makes every call itself
    data["shocks"] = []
    ilk = data["venues"][0]["params"]["ilks"]["ETH-A"]
    # Half the debt below 150 %: unsafe at the t = 0 OSM price of $200.
    ilk["populations"][0]["collateral_ratio"] = [
        {"low": 1.0, "high": 1.45, "debt_share": 0.5},
        {"low": 1.6, "high": 2.5, "debt_share": 0.5},
    ]
    for key, value in changes.items():
        data["venues"][0]["params"][key] = value
    sim = Simulation(Scenario.from_dict(data), seed=3)
    sim.run_until(13.0)  # the first block checks the urns
    venue = sim.context.venues["maker"]
    assert isinstance(venue, MakerVenue)
    return sim, venue


def test_candidates_are_exactly_the_urns_dss_calls_unsafe() -> None:
    """An urn is a candidate iff ink·spot < art·rate in the Vat's integer arithmetic."""
    _, venue = _sim()
    book = venue.ilks["ETH-A"]
    exact = [
        i
        for i in range(len(book))
        if is_unsafe(book.ink_wad[i], book.art_wad[i], book.rate, book.spot)
    ]
    assert exact, "the population has unsafe urns by construction"
    assert book.candidates.tolist() == exact
    # spot.sol: spot = rdiv(rdiv(val · 1e9, par), mat) with par = 1 ray, val = $200 as a wad
    assert book.spot == (200 * WAD * 10**9) * RAY // (3 * RAY // 2)


def test_bite_takes_one_lump_with_proportional_debt() -> None:
    """Cat.bite (launch version) takes min(ink, lump) and art · lot / ink; tab = due · chop."""
    _, venue = _sim()
    book = venue.ilks["ETH-A"]
    i = int(book.candidates[0])
    ink, art = book.ink_wad[i], book.art_wad[i]
    auction = venue.bite("ETH-A", i, keeper="k", cause=-1)
    lot = min(ink, 50 * WAD)
    dart = lot * art // ink
    a = venue.flips[auction].state
    assert a.lot == lot
    assert book.art_wad[i] == art - dart
    assert a.tab == dart * book.rate * (113 * RAY // 100) // RAY


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bids=st.lists(st.floats(min_value=0.0, max_value=1.3), min_size=1, max_size=6),
    dent=st.floats(min_value=0.3, max_value=1.0),
)
def test_dai_and_collateral_are_conserved_through_auctions(bids: list[float], dent: float) -> None:
    """Σdai − joined + joy − ΣArt·rate − awe and all collateral stay constant through every call,
    whatever sequence of (valid or reverting) tends, dents and the deal."""
    sim, venue = _sim()
    for who in ("ali", "bob"):
        venue.deposit_dai(who, 1e7)
    dai0 = venue.dai_invariant()
    gem0 = venue.gem_total("ETH-A")
    i = int(venue.ilks["ETH-A"].candidates[0])
    auction = venue.bite("ETH-A", i, keeper="k", cause=-1)
    assert (venue.dai_invariant(), venue.gem_total("ETH-A")) == (dai0, gem0)
    for k, fraction in enumerate(bids):
        a = venue.flips[auction].state
        bid = min(a.tab, int(a.tab * fraction)) if fraction > 0 else 1
        who = ("ali", "bob")[k % 2]
        try:
            if a.bid == a.tab:
                venue.dent(auction, who=who, lot=int(a.lot * dent))
            else:
                venue.tend(auction, who=who, bid=bid)
        except DssReverted:
            pass
        assert (venue.dai_invariant(), venue.gem_total("ETH-A")) == (dai0, gem0)
    sim.run_until(13.0 + 601 + 24)  # past the bid's ttl (600 s)
    a = venue.flips[auction].state
    if a.tic:
        venue.deal(auction)
    assert (venue.dai_invariant(), venue.gem_total("ETH-A")) == (dai0, gem0)


def test_flop_auctions_start_when_bad_debt_exceeds_surplus() -> None:
    """With wait 0 the Vow flogs, heals its surplus, then starts floor(woe / sump) flops."""
    sim, venue = _sim(vow={"surplus_dai": 1_000.0, "sump_dai": 10_000.0, "wait_s": 0})
    venue.deposit_dai("ali", 1.0)
    book = venue.ilks["ETH-A"]
    i = int(book.candidates[0])
    auction = venue.bite("ETH-A", i, keeper="k", cause=-1)
    due = venue.flips[auction].due
    joy = venue.vow.joy  # surplus plus the fee dripped since t = 0
    venue.tend(auction, who="ali", bid=1)  # the Black Thursday bid: 1 rad
    sim.run_until(13.0 + 601 + 12)
    venue.deal(auction)
    sim.run_until(13.0 + 601 + 12 + 26)  # a block's SETTLE phase runs the Vow's upkeep
    # Hand derivation: woe = due − (joy + 1 rad) after heal; flops while woe >= sump.
    woe = due - (joy + 1)
    flops = venue._ctx.log.frame(ReservesChanged)
    flops = flops[flops.reason == "flop"]
    assert len(flops) == woe // (10_000 * RAD)
    m = venue.metrics()
    assert m["vow_surplus_dai"] == 0.0
    assert m["vow_on_flop_dai"] == pytest.approx(len(flops) * 10_000.0)
    assert m["flop_due"] == 0.0  # what is left is below one sump
    assert np.isclose(m["bad_debt_dai"], due / RAD - 1e-45)


def test_cat_1_2_bites_up_to_dunk_and_claws_litter_back_at_deal() -> None:
    """Liquidations 1.2: dart = min(art, dunk / rate / chop), litter += tab; deal claws it."""
    sim, venue = _sim(liquidations="1.2", box_dai=1e6)
    book = venue.ilks["ETH-A"]
    i = int(book.candidates[np.argmax(book.art[book.candidates])])  # the largest unsafe urn
    art = book.art_wad[i]
    auction = venue.bite("ETH-A", i, keeper="k", cause=-1)
    # cat.sol (1.2): dart = min(art, min(dunk, room) · WAD / rate / chop), dunk 50,000 DAI.
    dart = min(art, 50_000 * RAD * WAD // book.rate // (113 * WAD // 100))
    assert art - book.art_wad[i] == dart
    tab = venue.flips[auction].state.tab
    assert venue.litter == tab
    venue.deposit_dai("ali", 1.0)
    venue.tend(auction, who="ali", bid=1)
    sim.run_until(13.0 + 601 + 12)
    venue.deal(auction)
    assert venue.litter == 0
