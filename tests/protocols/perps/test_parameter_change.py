"""Governance changes to a running perp venue: Binance's switch of wBETH collateral pricing
from its own order book to the conversion index (``parameter_change`` shocks)."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.errors import ScenarioError
from protosim.events import LiquidationExecuted, ParameterChanged
from protosim.replay import fixture_dir

FIXTURE = fixture_dir("perps-wbeth-own-book") / "scenario.toml"
SWITCH_S = 36 * 60 + 3.0  # 21:36:03 UTC, three seconds into the wBETH book's 85 % fall
VENUE = "binance-own-book"


def _scenario(changes: dict[str, Any] | None = None) -> Scenario:
    data = tomllib.loads(FIXTURE.read_text(encoding="utf-8"))
    if changes is not None:
        data["shocks"].append(
            {
                "kind": "parameter_change",
                "at_utc": data["start_utc"] + timedelta(seconds=SWITCH_S),
                "venue": VENUE,
                "changes": changes,
            }
        )
    return Scenario.from_dict(data, base_dir=FIXTURE.parent)


@pytest.fixture(scope="module")
def runs() -> tuple[Any, Any, Simulation]:
    base = Simulation(_scenario()).run()
    sim = Simulation(_scenario({"collateral.WBETH.oracle": "wbeth-conversion"}))
    return base, sim.run(), sim


def _own_book(result: Any) -> Any:
    liq = result.log.frame(LiquidationExecuted)
    return liq[liq["venue"] == VENUE]


def test_switching_to_the_conversion_index_stops_the_own_book_liquidations(runs: Any) -> None:
    """With wBETH valued by its own book the venue keeps liquidating after 21:36:03; valued
    by 1.07 × the ETH index from then on (where the book's fall does not reach), it
    liquidates no one after the switch, and everything before it is the same."""
    base, switched, _ = runs
    before, after = _own_book(base), _own_book(switched)
    assert int((before["t"] >= SWITCH_S).sum()) > 0
    assert int((after["t"] >= SWITCH_S).sum()) == 0
    early = before[before["t"] < SWITCH_S]
    np.testing.assert_array_equal(
        early["account"].to_numpy(), after[after["t"] < SWITCH_S]["account"].to_numpy()
    )


def test_the_venue_values_wbeth_by_the_new_oracle(runs: Any) -> None:
    """After the switch the venue's wBETH price is the conversion oracle's (1.07 × ETH index),
    and the change is logged with its old and new value."""
    _, switched, sim = runs
    venue = sim.context.venues[VENUE]
    k = venue.collateral_assets.index("WBETH")
    assert venue.collateral_prices[k] == pytest.approx(
        sim.context.oracle("wbeth-conversion").read().price, rel=1e-12
    )
    (change,) = switched.log.of_type(ParameterChanged)
    assert (change.parameter, change.before, change.after) == (
        "collateral.WBETH.oracle",
        "wbeth-own-book",
        "wbeth-conversion",
    )


def test_an_oracle_of_another_asset_is_refused_when_the_run_is_built() -> None:
    """The new oracle must price the collateral asset: the run is refused, naming the key."""
    with pytest.raises(ScenarioError, match=r"collateral\.WBETH\.oracle.*prices 'ETH'"):
        Simulation(_scenario({"collateral.WBETH.oracle": "eth-index"}))


def test_market_wiring_cannot_change_mid_run() -> None:
    """A market's index oracle is not a parameter a running venue takes."""
    with pytest.raises(ScenarioError, match=r"markets\.ETH\.index_oracle"):
        Simulation(_scenario({"markets.ETH.index_oracle": "wbeth-conversion"}))


def test_a_collateral_repricing_is_the_cause_of_the_liquidations_it_sets_off() -> None:
    """A unified account's liquidation names what cost it most since the previous check: when
    wBETH collateral is switched at 21:15 (mid-crash) to a feed answering $300, the change
    moved each holder's margin by quantity × 95 % × ($300 − the book price), more than any
    price did in that second, so most liquidations of that instant trace back to the change;
    later ones go back to price readings again."""
    data = tomllib.loads(FIXTURE.read_text(encoding="utf-8"))
    data["oracles"].append(
        {"id": "wbeth-300", "kind": "oracle.fixed", "params": {"asset": "WBETH", "price": 300.0}}
    )
    at = 15 * 60.0
    data["shocks"].append(
        {
            "kind": "parameter_change",
            "at_utc": data["start_utc"] + timedelta(seconds=at),
            "venue": VENUE,
            "changes": {"collateral.WBETH.oracle": "wbeth-300"},
        }
    )
    result = Simulation(Scenario.from_dict(data, base_dir=FIXTURE.parent)).run()
    liq = _own_book(result)

    def by_change(rows: Any) -> np.ndarray:
        roots = [result.log.root_of(int(seq)) for seq in rows["seq"]]
        return np.array([getattr(r, "shock", None) == "parameter_change" for r in roots])

    at_change = liq[liq["t"] == at]
    assert len(at_change) > 0
    assert by_change(at_change).mean() > 0.5
    later = liq[liq["t"] > at + 60.0].head(200)
    assert len(later) > 0
    assert not by_change(later).any()
