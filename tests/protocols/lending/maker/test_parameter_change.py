"""Governance changes in a run (``parameter_change`` shocks) on a Maker system: a spell's
``file`` calls, taking effect as dss applies them."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from protosim import Scenario, Simulation
from protosim.cli import main
from protosim.errors import ScenarioError
from protosim.events import ParameterChanged, ShockApplied
from protosim.protocols.lending.events import AuctionBidPlaced, AuctionStarted
from protosim.protocols.lending.maker.math import rmul, rpow
from protosim.protocols.lending.maker.testing import maker_scenario_dict
from protosim.protocols.lending.maker.venue import duty_from_annual
from protosim.units import RAY

CHANGE_AT_S = 1_800.0


def _spell(changes: dict[str, Any], *, crash: bool = False, **options: Any) -> dict[str, Any]:
    """The small ETH-A system (ETH flat at $200 unless `crash`, no congestion, no zero
    bidder) with `changes` filed at 1,800 s."""
    data = maker_scenario_dict(congestion=False, zero_bidder=False, **options)
    if not crash:
        data["shocks"] = []
    data["shocks"].append(
        {"kind": "parameter_change", "at_s": CHANGE_AT_S, "venue": "maker", "changes": changes}
    )
    return data


def test_a_higher_mat_makes_exactly_the_urns_below_it_unsafe_from_the_next_poke() -> None:
    """At a flat $200, an urn is unsafe iff ink·200/mat < art·rate (Spotter.poke, Cat.bite):
    raising mat from 150 % to 200 % bites exactly the urns with a collateral ratio under 200 %,
    from the block after the change and not before (the Jug's 4 %/yr over five hours moves no
    urn across: rate < 1 + 3e-5, and no urn sits that close to 200 %)."""
    sim = Simulation(Scenario.from_dict(_spell({"ilks.ETH-A.mat": 2.0})))
    book = sim.context.venues["maker"].ilks["ETH-A"]
    ratio = book.ink * 200.0 / book.art
    assert not np.any(np.abs(ratio / 2.0 - 1.0) < 3e-5)
    expected = np.flatnonzero(ratio < 2.0)
    assert 0 < expected.size < len(ratio)
    result = sim.run()
    started = result.log.frame(AuctionStarted)
    assert (started["t"] > CHANGE_AT_S).all()
    assert started["t"].min() < CHANGE_AT_S + 60.0  # the next block pokes, not the next OSM hop
    bitten = np.unique(started["account"].to_numpy() - book.first_account)
    np.testing.assert_array_equal(bitten, expected)


def test_the_spell_is_logged_and_is_the_root_cause_of_the_bites() -> None:
    """Each filed key is logged with its old and new value, and the auctions it starts trace
    back to the shock, not to an OSM update."""
    result = Simulation(Scenario.from_dict(_spell({"ilks.ETH-A.mat": 2.0}))).run()
    changes = {c.parameter: (c.before, c.after) for c in result.log.of_type(ParameterChanged)}
    assert changes == {"ilks.ETH-A.mat": ("1.5", "2.0")}
    first = int(result.log.frame(AuctionStarted)["seq"].min())
    root = result.log.root_of(first)
    assert isinstance(root, ShockApplied)
    assert root.shock == "parameter_change"


def test_a_new_duty_accrues_from_the_change_after_a_drip_at_the_old_one() -> None:
    """Jug.file(duty) requires rho == now, so the spell drips first: after T seconds the rate
    is rpow(old, 1800)·rpow(new, T − 1800) (dss jug.sol; 4 %/yr then 40 %/yr)."""
    sim = Simulation(Scenario.from_dict(_spell({"ilks.ETH-A.duty_per_year": 0.4})))
    venue = sim.context.venues["maker"]
    sim.run_until(3_600.0)
    venue.drip("ETH-A")
    old, new = duty_from_annual(0.04), duty_from_annual(0.4)
    expected = rmul(rpow(new, 1_800, RAY), rmul(rpow(old, 1_800, RAY), RAY))
    assert venue.ilks["ETH-A"].rate == expected


def test_a_longer_ttl_applies_to_the_bids_after_it_and_tau_to_the_auctions_after_it() -> None:
    """flip.sol: tend sets tic = now + ttl and kick sets end = now + tau, each with the value
    in force at the call. With ttl 10 min → 6 h and tau 6 h → 1 day filed at 1,800 s, before
    the crash reaches the OSM (3,600 s), every auction still running at the end has tic = its
    last bid + 6 h and end = its kick + 1 day."""
    data = _spell(
        {"ilks.ETH-A.flip.ttl_s": 21_600, "ilks.ETH-A.flip.tau_s": 86_400},
        crash=True,
        horizon_s=4 * 3600.0,
    )
    sim = Simulation(Scenario.from_dict(data))
    result = sim.run()
    running = sim.context.venues["maker"].flips
    assert running
    kicked = result.log.frame(AuctionStarted).set_index("auction")["t"]
    assert (kicked > CHANGE_AT_S).all()
    bids = result.log.frame(AuctionBidPlaced).groupby("auction")["t"].max()
    assert any(a.state.tic for a in running.values())  # bid on, and still running
    for auction in running.values():
        state = auction.state
        assert state.end == round(kicked[state.id]) + 86_400
        if state.tic:
            assert state.tic == round(bids[state.id]) + 21_600


def test_what_a_running_system_cannot_change_is_refused_naming_the_key() -> None:
    """The liquidation contracts in use, an ilk's oracle and the Vow's balance are not
    parameters: the run is refused at build, naming the key."""
    for key, value, message in (
        ("liquidations", "2.0", "liquidations: cannot change"),
        ("ilks.ETH-A.oracle", "other", "ilks.ETH-A.oracle: cannot change"),
        ("vow.surplus_dai", 1.0, "vow.surplus_dai: the Vow's surplus is a balance"),
    ):
        with pytest.raises(ScenarioError, match=message) as err:
            Simulation(Scenario.from_dict(_spell({key: value})))
        assert err.value.key_path == "shocks[0].changes"


def test_cli_replays_black_thursday_with_a_spell_filed_mid_run() -> None:
    """`protosim replay … --set` takes a Maker spell: mat 150 % → 250 % filed at 01:00 UTC
    makes urns unsafe at once, so bites start within the minute, an hour before the first
    bites of the unchanged replay (02:00, when the OSM passes on the crash)."""
    out = CliRunner().invoke(
        main,
        [
            "replay",
            "black-thursday-2020",
            "--set",
            "horizon_s=10800",
            "--set",
            (
                'shocks=[{kind="parameter_change", at_utc=2020-03-12T01:00:00Z, venue="maker", '
                'changes={"ilks.ETH-A.mat"=2.5}}]'
            ),
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["totals"]["liquidations"] > 0
    first = report["mechanism"][0].split(", ")[-1].split(" .. ")[0]
    assert first.startswith("2020-03-12 01:00:")
