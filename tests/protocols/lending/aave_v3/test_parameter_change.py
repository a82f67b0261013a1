"""Governance parameter changes in a run (``parameter_change`` shocks) on an Aave v3 market."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from protosim import Scenario, Simulation
from protosim.cli import main
from protosim.errors import ScenarioError
from protosim.events import (
    LiquidationExecuted,
    ParameterChanged,
    PositionsBecameLiquidatable,
    ShockApplied,
)
from protosim.testing import tiny_scenario_dict

MULTI = Path(__file__).parent / "data" / "multi_crash.toml"
CUT_AT_S = 600.0


def _lt_cut(lt_bps: int = 7_000, **changes: Any) -> dict[str, Any]:
    """The tiny market with a flat ETH price, a keeper that holds what it seizes (so no sale
    moves the price), and ETH's liquidation threshold cut from 83 % to `lt_bps` at 600 s."""
    data = tiny_scenario_dict(accounts=500)
    data["agents"][0]["params"]["sell_on"] = {}
    data["shocks"] = [
        {
            "kind": "parameter_change",
            "at_s": CUT_AT_S,
            "venue": "aave",
            "changes": {
                "reserves.ETH.ltv_bps": min(lt_bps, 8_050),
                "reserves.ETH.liquidation_threshold_bps": lt_bps,
                **changes,
            },
        }
    ]
    return data


def test_a_threshold_cut_makes_exactly_the_accounts_below_the_new_line_liquidatable() -> None:
    """HF scales with LT: cutting ETH's LT from 8,300 to 7,000 bps at a flat price puts every
    account with HF₀ < 8300/7000 = 1.1857 below 1, at the cut and not before."""
    sim = Simulation(Scenario.from_dict(_lt_cut()))
    book = sim.context.venues["aave"].books[0]
    hf0 = book.collateral * 2_000.0 * 0.83 / book.debt  # ETH $2,000, USDC $1 (flat paths)
    expected = int((hf0 < 8_300 / 7_000).sum())
    assert 0 < expected < len(hf0)
    result = sim.run()
    crossed = result.log.frame(PositionsBecameLiquidatable)
    assert int(crossed["count"].sum()) == expected
    assert (crossed["t"] >= CUT_AT_S).all()
    liq = result.log.frame(LiquidationExecuted)
    assert len(liq) > 0
    assert (liq["t"] > CUT_AT_S).all()
    assert (hf0[liq["account"].to_numpy()] < 8_300 / 7_000).all()


def test_the_change_is_logged_and_is_the_root_cause_of_the_liquidations() -> None:
    """The shock logs one ParameterChanged per key with the old and new value, and each
    liquidation it sets off traces back to that shock (not to an oracle round)."""
    result = Simulation(Scenario.from_dict(_lt_cut())).run()
    changes = {c.parameter: (c.before, c.after) for c in result.log.of_type(ParameterChanged)}
    assert changes == {
        "reserves.ETH.ltv_bps": ("8050", "7000"),
        "reserves.ETH.liquidation_threshold_bps": ("8300", "7000"),
    }
    first = int(result.log.frame(LiquidationExecuted)["seq"].min())
    root = result.log.root_of(first)
    assert isinstance(root, ShockApplied)
    assert root.shock == "parameter_change"


def test_a_bonus_change_applies_to_later_liquidations() -> None:
    """Liquidations after the change seize debt / price × the new bonus (8 %, not 5 %):
    collateral seized · $2,000 = debt repaid · 1.08."""
    result = Simulation(
        Scenario.from_dict(_lt_cut(**{"reserves.ETH.liquidation_bonus_bps": 10_800}))
    ).run()
    liq = result.log.frame(LiquidationExecuted)
    assert len(liq) > 0
    np.testing.assert_allclose(
        liq["collateral_seized"] * 2_000.0, liq["debt_repaid"] * 1.08, rtol=1e-9
    )


def test_multi_reserve_accounts_are_revalued_after_a_threshold_cut() -> None:
    """The multi-reserve book takes the new threshold: with prices flat, cutting ETH's LT from
    83 % to 50 % takes the USD borrowers' weighted threshold from 0.6·0.83 + 0.3·0.78 +
    0.1·0.81 = 0.813 to 0.615, so those with HF₀ < 0.813/0.615 = 1.3220 cross the line (the
    floor to whole basis points moves the edge by < 2e-4) and no e-mode account does."""
    with MULTI.open("rb") as f:
        data = tomllib.load(f)
    data["shocks"] = [
        {
            "kind": "parameter_change",
            "at_s": 60.0,
            "venue": "aave",
            "changes": {
                "reserves.ETH.ltv_bps": 5_000,
                "reserves.ETH.liquidation_threshold_bps": 5_000,
            },
        }
    ]
    sim = Simulation(Scenario.from_dict(data))
    multi = sim.context.venues["aave"].multi
    hf0 = multi.health_factors()
    result = sim.run()
    liquidated = set(result.log.frame(LiquidationExecuted)["account"].tolist())
    usd = np.arange(300)
    assert liquidated <= set(usd[hf0[usd] < 1.3222].tolist())
    assert set(usd[hf0[usd] < 1.3218].tolist()) <= liquidated
    assert not liquidated & set(range(300, 500))


def test_unknown_key_is_an_error_naming_the_shock_and_key() -> None:
    """A key path the venue's params do not have fails validation with its full path."""
    data = _lt_cut()
    data["shocks"][0]["changes"] = {"reserves.ETH.liquidation_treshold_bps": 7_000}
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data)
    assert err.value.key_path == "shocks[0].changes.reserves.ETH.liquidation_treshold_bps"


def test_invalid_new_value_is_an_error_naming_the_rule() -> None:
    """The new parameters are validated as the venue's own: LTV above LT is refused."""
    data = _lt_cut(lt_bps=7_000)
    data["shocks"][0]["changes"]["reserves.ETH.ltv_bps"] = 7_500
    with pytest.raises(ScenarioError, match="ltv_bps <= liquidation_threshold_bps") as err:
        Scenario.from_dict(data)
    assert (err.value.key_path or "").startswith("shocks[0].changes.reserves.ETH")


def test_wiring_cannot_change_mid_run() -> None:
    """A reserve's oracle is wiring, not a risk parameter: the change is refused when the run
    is built, naming the key."""
    data = _lt_cut()
    data["shocks"][0]["changes"] = {"reserves.ETH.oracle": "usdc-usd"}
    with pytest.raises(ScenarioError, match=r"reserves\.ETH\.oracle"):
        Simulation(Scenario.from_dict(data))


def test_cli_runs_a_scenario_with_a_parameter_change(tmp_path: Path) -> None:
    """`protosim run` takes a scenario file whose only shock is a parameter_change (the
    multi-reserve market with its price falls replaced by ETH's LT cut to 50 %) and reports
    the liquidations it set off."""
    text = MULTI.read_text(encoding="utf-8")
    text = text[: text.index("[[shocks]]")] + (
        "[[shocks]]\n"
        'kind = "parameter_change"\n'
        "at_s = 60.0\n"
        'venue = "aave"\n'
        'changes = { "reserves.ETH.ltv_bps" = 5000, '
        '"reserves.ETH.liquidation_threshold_bps" = 5000 }\n'
    )
    path = tmp_path / "lt-cut.toml"
    path.write_text(text, encoding="utf-8")
    out = CliRunner().invoke(main, ["run", str(path), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["summary"]["liquidations"] > 0
