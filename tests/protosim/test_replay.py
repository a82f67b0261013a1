"""Replay machinery: the measure grammar on hand-made event logs, reported.toml validation,
fixture-folder checks and the golden text format."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from protosim import Scenario, Simulation
from protosim.errors import ScenarioError
from protosim.eventlog import EventLog
from protosim.events import BadDebtRealized, LiquidationExecuted
from protosim.replay import (
    evaluate_measure,
    load_fixture,
    load_reported,
    parse_measure,
    relative_error,
    replay,
)
from protosim.results import PriceSamples, RunResult
from protosim.testing import tiny_scenario_dict

START = datetime(2025, 10, 10, 21, 0, tzinfo=UTC)


def _liq(
    log: EventLog,
    clock: list[float],
    t: float,
    venue: str,
    account: int,
    usd: float,
    collateral: str = "ETH",
) -> None:
    clock[0] = t
    log.emit(
        LiquidationExecuted,
        venue=venue,
        account=account,
        liquidator="k",
        collateral_asset=collateral,
        debt_asset="USDC",
        debt_repaid=usd,
        collateral_seized=usd / 2000.0,
        protocol_fee=0.0,
        debt_repaid_usd=usd,
        collateral_seized_usd=usd * 1.05,
        health_before=0.9,
    )


@pytest.fixture(scope="module")
def hand_run() -> RunResult:
    """Four liquidations and one bad debt, at known times (start 21:00 UTC)."""
    clock = [0.0]
    log = EventLog(now=lambda: clock[0], block=lambda: 0)
    _liq(log, clock, 60.0, "aave", 1, 1000.0)
    _liq(log, clock, 120.0, "aave", 2, 2000.0)
    _liq(log, clock, 2160.0, "aave", 1, 4000.0, collateral="USDe")  # 21:36 UTC
    _liq(log, clock, 3000.0, "binance", 7, 8000.0)
    clock[0] = 3100.0
    log.emit(
        BadDebtRealized,
        venue="aave",
        account=2,
        asset="USDC",
        amount=50.0,
        amount_usd=50.0,
        treatment="deficit",
    )
    scenario = Scenario.from_dict({**tiny_scenario_dict(accounts=10), "start_utc": START})
    return RunResult(
        scenario=scenario,
        seed=1,
        log=log,
        component_metrics={"aave": {"bad_debt_usd": 50.0}},
        price_samples=PriceSamples(),
        market=None,  # type: ignore[arg-type]  # no price measure reads it here
    )


@pytest.mark.parametrize(
    ("measure", "expected"),
    [
        # 1000 + 2000 + 4000 + 8000
        ("sum:LiquidationExecuted.debt_repaid_usd", 15_000.0),
        ("sum:LiquidationExecuted.debt_repaid_usd{venue=aave}", 7_000.0),
        ("sum:LiquidationExecuted.debt_repaid_usd{venue!=aave}", 8_000.0),
        ("count:LiquidationExecuted{venue=aave,collateral_asset=ETH}", 2.0),
        # 21:36 UTC is t = 2160 s: the USDe one and the binance one are at or after it
        ("count:LiquidationExecuted{t>=2025-10-10T21:36:00Z}", 2.0),
        ("count:LiquidationExecuted{t>2025-10-10T21:36:00Z}", 1.0),
        ("count:LiquidationExecuted{t<120}", 1.0),
        ("count:LiquidationExecuted{t<=120}", 2.0),
        ("count:LiquidationExecuted{account=1}", 2.0),
        ("nunique:LiquidationExecuted.account{venue=aave}", 2.0),  # accounts 1 and 2
        ("max:LiquidationExecuted.debt_repaid_usd", 8_000.0),  # the binance one
        ("min:LiquidationExecuted.debt_repaid_usd{venue=aave}", 1_000.0),
        ("first_t:LiquidationExecuted{venue=aave}", 60.0),
        ("last_t:LiquidationExecuted{venue=aave}", 2160.0),
        ("sum:BadDebtRealized.amount_usd{venue=aave}", 50.0),
        ("count:AdlExecuted", 0.0),  # a kind a plugin defines, absent from this log
        ("metric:aave.bad_debt_usd", 50.0),
    ],
)
def test_measure_grammar_on_a_hand_made_log(
    hand_run: RunResult, measure: str, expected: float
) -> None:
    """Each operation and filter of the grammar gives the hand-counted figure."""
    assert evaluate_measure(hand_run, measure) == expected


def test_first_t_of_nothing_is_nan(hand_run: RunResult) -> None:
    """first_t of a kind with no matching event is NaN, not 0."""
    assert math.isnan(evaluate_measure(hand_run, "first_t:LiquidationExecuted{venue=none}"))


def test_max_of_nothing_is_nan(hand_run: RunResult) -> None:
    """The largest of no events is NaN (no liquidation), not 0."""
    assert math.isnan(evaluate_measure(hand_run, "max:LiquidationExecuted.debt_repaid_usd{t<0}"))


@pytest.mark.parametrize(
    ("measure", "words"),
    [
        ("count:LiquidationExecutd", "unknown event kind 'LiquidationExecutd'"),
        ("sum:LiquidationExecuted.usd", "has no field 'usd'"),
        ("count:LiquidationExecuted{vneue=aave}", "has no field 'vneue'"),
        ("metric:nobody.x", "unknown component 'nobody'"),
        ("metric:aave.nothing", "has no metric 'nothing'"),
        ("sum:LiquidationExecuted.venue", "numeric"),
        ("count:LiquidationExecuted{venue>aave}", "only t takes"),
        ("avg:LiquidationExecuted.t", "expected one of"),
        ("count:LiquidationExecuted.t", "without a field"),
        ("min_price:ETH", "ASSET@VENUE"),
        ("count:LiquidationExecuted{t>=yesterday}", "neither seconds nor a UTC time"),
    ],
)
def test_bad_measures_name_the_problem(hand_run: RunResult, measure: str, words: str) -> None:
    """An unknown kind, field, component or operation fails with a message naming it."""
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        evaluate_measure(hand_run, measure)


def test_measures_are_parsed_once() -> None:
    """Parsing the same text twice returns the cached object."""
    assert parse_measure("count:LiquidationExecuted") is parse_measure("count:LiquidationExecuted")


def test_price_measures_on_a_tiny_run() -> None:
    """min/max of the reference: ETH at $2,000 falls 20 % (hand: 1,600) and never rises."""
    result = Simulation(Scenario.from_dict(tiny_scenario_dict(accounts=50))).run()
    assert evaluate_measure(result, "min_price:ETH@reference") == pytest.approx(1600.0)
    assert evaluate_measure(result, "max_price:ETH@reference") == pytest.approx(2000.0)
    assert evaluate_measure(result, "min_price:ETH@uniswap") <= 1600.0 * 1.0001
    with pytest.raises(ValueError, match="not a market venue of ETH"):
        evaluate_measure(result, "min_price:ETH@binance")
    with pytest.raises(ValueError, match="unknown asset 'BTC'"):
        evaluate_measure(result, "min_price:BTC@reference")


def test_price_measures_in_a_time_window() -> None:
    """A t window reads the price then: ETH is 2,000 until the jump at 600 s and falls
    log-linearly to 1,600 at 900 s (hand: 2,000 · 0.8^½ = 1,788.9 at 750 s); a window before
    the jump never sees it."""
    result = Simulation(Scenario.from_dict(tiny_scenario_dict(accounts=50))).run()
    assert evaluate_measure(result, "min_price:ETH@reference{t<=600}") == pytest.approx(2000.0)
    at_750 = "min_price:ETH@reference{t>=750,t<=750}"
    assert evaluate_measure(result, at_750) == pytest.approx(2000.0 * 0.8**0.5, rel=1e-6)
    assert evaluate_measure(result, "max_price:ETH@reference{t>=900}") == pytest.approx(1600.0)
    with pytest.raises(ValueError, match="only t>=, t>, t<=, t< filters"):
        evaluate_measure(result, "min_price:ETH@reference{venue=x}")


def test_relative_error_edges() -> None:
    """(sim − rep)/rep, with 0/0 = 0, x/0 = ±inf and NaN kept."""
    assert relative_error(90.0, 100.0) == pytest.approx(-0.1)
    assert relative_error(0.0, 0.0) == 0.0
    assert relative_error(3.0, 0.0) == math.inf
    assert math.isnan(relative_error(math.nan, 1.0))


# -- reported.toml and fixture folders --------------------------------------------------------

_FIGURE = """
[[figures]]
id = "liquidations"
description = "liquidations"
measure = "count:LiquidationExecuted"
value = 1.0
unit = "count"
source = "hand"
"""


def _fixture(tmp_path: Path, event: str = "tiny", figures: str = _FIGURE) -> Path:
    folder = tmp_path / event
    folder.mkdir()
    lines = []
    for key, value in tiny_scenario_dict(accounts=200, horizon_s=1800.0).items():
        lines.append(f"{key} = {_toml(value)}")
    (folder / "scenario.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "README.md").write_text("# tiny\n", encoding="utf-8")
    (folder / "reported.toml").write_text(
        f'event = "{event}"\ntitle = "Tiny"\nsummary = "a tiny cascade"\n{figures}',
        encoding="utf-8",
    )
    return folder


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def test_reported_errors_name_file_key_and_expectation(tmp_path: Path) -> None:
    """A bad figure names reported.toml, the key path and what was expected."""
    bad = _FIGURE.replace('unit = "count"', 'unit = "dollars"')
    folder = _fixture(tmp_path, figures=bad)
    with pytest.raises(ScenarioError) as info:
        load_reported(folder / "reported.toml")
    assert info.value.file == str(folder / "reported.toml")
    assert info.value.key_path == "figures[0].unit"
    assert "'usd'" in info.value.detail


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (
            ('measure = "count:LiquidationExecuted"', 'measure = "count:Nope"'),
            "figures[0].measure",
            "unknown event kind",
        ),
        (("value = 1.0", "range = [2.0, 1.0]"), "figures[0]", "low <= high"),
        (("value = 1.0", ""), "figures[0]", "value, range or both"),
        (('id = "liquidations"', 'id = "Liquidations"'), "figures[0].id", "pattern"),
        (
            ('source = "hand"', 'source = "hand"\ncolour = "red"'),
            "figures[0].colour",
            "unknown key",
        ),
    ],
)
def test_figure_validation(tmp_path: Path, change: tuple[str, str], key: str, words: str) -> None:
    """Each rule of a figure is checked on load, naming its key path."""
    folder = _fixture(tmp_path, figures=_FIGURE.replace(*change))
    with pytest.raises(ScenarioError, match=words) as info:
        load_reported(folder / "reported.toml")
    assert info.value.key_path == key


def test_duplicate_figure_ids_fail(tmp_path: Path) -> None:
    """Two figures with one id are refused."""
    folder = _fixture(tmp_path, figures=_FIGURE + _FIGURE)
    with pytest.raises(ScenarioError, match="used twice"):
        load_reported(folder / "reported.toml")


def test_event_must_equal_folder_name(tmp_path: Path) -> None:
    """reported.toml's event must be the folder's name."""
    folder = _fixture(tmp_path)
    folder.rename(tmp_path / "other")
    with pytest.raises(ScenarioError, match="expected the folder name 'other'") as info:
        load_fixture(tmp_path / "other")
    assert info.value.key_path == "event"


def test_folder_needs_readme_and_sources(tmp_path: Path) -> None:
    """A fixture without README.md, or with CSVs but no data/SOURCES.md, is refused."""
    folder = _fixture(tmp_path)
    (folder / "data").mkdir()
    (folder / "data" / "x.csv").write_text("time_utc,open,high,low,close,volume\n")
    with pytest.raises(ScenarioError, match=r"SOURCES\.md"):
        load_fixture(folder)
    (folder / "data" / "SOURCES.md").write_text("x\n")
    (folder / "README.md").unlink()
    with pytest.raises(ScenarioError, match=r"README\.md"):
        load_fixture(folder)


def test_replay_report_of_a_tiny_fixture(tmp_path: Path) -> None:
    """A replay evaluates each figure, flags the range and prints a stable golden text."""
    figures = _FIGURE + _FIGURE.replace('"liquidations"', '"bad_debt"', 1).replace(
        'measure = "count:LiquidationExecuted"', 'measure = "sum:BadDebtRealized.amount_usd"'
    ).replace("value = 1.0", "value = 0.0\nrange = [0.0, 0.0]")
    folder = _fixture(tmp_path, figures=figures)
    report = replay(folder, overrides=["venues[0].params.populations[0].accounts=100"])
    rows = {f.id: f for f in report.figures}
    count = rows["liquidations"].simulated
    assert count > 0  # a 20 % fall with health factors from 1.0 liquidates some
    assert rows["liquidations"].rel_error == pytest.approx(count - 1.0)  # (n − 1)/1
    assert rows["liquidations"].in_range is None
    assert rows["bad_debt"].in_range is (rows["bad_debt"].simulated == 0.0)
    text = report.to_text()
    assert (
        text == replay(folder, overrides=["venues[0].params.populations[0].accounts=100"]).to_text()
    )
    assert text.index("  bad_debt |") < text.index("  liquidations |")  # sorted by id
    assert "set venues[0].params.populations[0].accounts=100" in text
    assert report.to_dict()["figures"][0]["id"] == "bad_debt"


def test_a_figure_without_measure_is_listed_as_not_modelled(tmp_path: Path) -> None:
    """A reported figure the model does not produce has no measure: it is shown as context,
    "not modelled", never compared with a made-up zero."""
    context = (
        _FIGURE.replace('"liquidations"', '"recap_auction_mkr"', 1)
        .replace('measure = "count:LiquidationExecuted"\n', "")
        .replace("value = 1.0", "value = 20000.0")
    )
    folder = _fixture(tmp_path, figures=_FIGURE + context)
    report = replay(folder, overrides=["venues[0].params.populations[0].accounts=50"])
    row = {f.id: f for f in report.figures}["recap_auction_mkr"]
    assert (row.measure, row.simulated, row.rel_error, row.in_range) == (None, None, None, None)
    assert "  recap_auction_mkr | count | 20000 [-] | not modelled" in report.to_text()
