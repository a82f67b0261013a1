"""Tests of protosim.scenario: loading TOML, errors that name the file and key path, identity,
and variants by key path.

Scenarios are written to ``tmp_path`` from `protosim.testing.tiny_scenario_dict`, one fault at a
time. The bad price CSVs are the hand-written ones under ``data/`` (see test_paths.py); the line
numbers expected below are counted in those files (the header is line 1).
"""

from __future__ import annotations

import copy
import json
import math
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from protosim.engine import Simulation
from protosim.errors import DataFileError, ScenarioError
from protosim.scenario import OracleOutageSpec, PriceJumpSpec, Scenario
from protosim.testing import tiny_scenario_dict

DATA = Path(__file__).resolve().parent / "data"


# -- a small TOML writer (tomllib reads only) ---------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string for these plain strings
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "inf" if value == math.inf else repr(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def to_toml(data: dict[str, Any]) -> str:
    return "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in data.items())


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(to_toml(data), encoding="utf-8")
    return path


@pytest.fixture
def base() -> dict[str, Any]:
    return tiny_scenario_dict(accounts=300)


@pytest.fixture
def toml_file(tmp_path: Path, base: dict[str, Any]) -> Path:
    return write(tmp_path / "tiny.toml", base)


# -- loading ------------------------------------------------------------------------------------


def test_from_toml_valid_file_loads_every_table(toml_file: Path, base: dict[str, Any]) -> None:
    """A valid TOML file loads with every value as written."""
    scenario = Scenario.from_toml(toml_file)
    assert scenario.name == base["name"]
    assert scenario.horizon_s == 3 * 3600.0
    assert [a.id for a in scenario.assets] == ["ETH", "USDC"]
    assert scenario.assets[0].path.price == 2000.0  # type: ignore[union-attr]
    assert scenario.chains[0].block_time_s == 12.0
    assert scenario.markets[0].impact.depth_usd == 500_000_000.0  # type: ignore[union-attr]
    assert [o.id for o in scenario.oracles] == ["eth-usd", "usdc-usd"]
    assert scenario.venues[0].params["reserves"]["ETH"]["liquidation_threshold_bps"] == 8300
    assert scenario.venues[0].params["populations"][0]["accounts"] == 300
    assert isinstance(scenario.shocks[0], PriceJumpSpec)
    assert (scenario.shocks[0].change, scenario.shock_time(0)) == (-0.2, 600.0)
    assert Path(scenario.base_dir) == toml_file.parent


def test_from_toml_equals_from_dict(toml_file: Path, base: dict[str, Any]) -> None:
    """Loading the TOML gives the scenario (and id) of the dicts it was written from."""
    from_file = Scenario.from_toml(toml_file)
    from_dict = Scenario.from_dict(base, base_dir=toml_file.parent)
    assert from_file == from_dict
    assert from_file.id == from_dict.id


def test_from_toml_missing_file_raises_scenario_error(tmp_path: Path) -> None:
    """A path that does not exist is a ScenarioError naming it."""
    missing = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError, match="no such file") as info:
        Scenario.from_toml(missing)
    assert str(missing) in str(info.value)


def test_from_toml_malformed_toml_raises_scenario_error(tmp_path: Path) -> None:
    """A file that is not TOML is a ScenarioError naming it."""
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\nhorizon_s = = 3\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid TOML") as info:
        Scenario.from_toml(bad)
    assert str(bad) in str(info.value)


# -- invalid inputs: file, key path, what was expected --------------------------------------------


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _unknown_top(d: dict[str, Any]) -> None:
    d["colour"] = "blue"


def _unknown_reserve_key(d: dict[str, Any]) -> None:
    d["venues"][0]["params"]["reserves"]["ETH"]["liquidation_treshold_bps"] = 8300


def _wrong_type(d: dict[str, Any]) -> None:
    d["chains"][0]["gas_limit"] = "lots"


def _threshold_too_high(d: dict[str, Any]) -> None:
    d["venues"][0]["params"]["reserves"]["ETH"]["liquidation_threshold_bps"] = 10_001


def _negative_price(d: dict[str, Any]) -> None:
    d["assets"][0]["path"]["price"] = -2000.0


def _shock_unknown_asset(d: dict[str, Any]) -> None:
    d["shocks"][0]["asset"] = "BTC"


def _shock_unknown_oracle(d: dict[str, Any]) -> None:
    d["shocks"].append(
        {"kind": "oracle_outage", "at_s": 60.0, "oracle": "btc-usd", "duration_s": 600.0}
    )


def _unknown_kind(d: dict[str, Any]) -> None:
    d["venues"][0]["kind"] = "lending.aave_v9"


def _at_utc_without_start(d: dict[str, Any]) -> None:
    del d["shocks"][0]["at_s"]
    d["shocks"][0]["at_utc"] = datetime(2025, 10, 10, 21, 0, tzinfo=UTC)


def _missing_required(d: dict[str, Any]) -> None:
    del d["horizon_s"]


@pytest.mark.parametrize(
    ("mutate", "key_path", "expected"),
    [
        (_unknown_top, "key colour", "unknown key"),
        (
            _unknown_reserve_key,
            "key venues[0].params.reserves.ETH.liquidation_treshold_bps",
            "unknown key",
        ),
        (_wrong_type, "key chains[0].gas_limit", "valid integer"),
        (
            _threshold_too_high,
            "key venues[0].params.reserves.ETH.liquidation_threshold_bps",
            "less than or equal to 10000",
        ),
        (_negative_price, "key assets[0].path.price", "greater than 0"),
        (
            _shock_unknown_asset,
            "key shocks[0].asset",
            "expected one of the assets ['ETH', 'USDC'], was 'BTC'",
        ),
        (
            _shock_unknown_oracle,
            "key shocks[1].oracle",
            "expected one of the oracles ['eth-usd', 'usdc-usd'], was 'btc-usd'",
        ),
        (_unknown_kind, "key venues[0].kind", "unknown kind 'lending.aave_v9'; expected one of ["),
        (_at_utc_without_start, "key shocks[0].at_utc", "needs the scenario's start_utc"),
        (_missing_required, "key horizon_s", "required key is missing"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_from_toml_invalid_input_raises_scenario_error_naming_file_key_and_expectation(
    tmp_path: Path,
    base: dict[str, Any],
    mutate: Callable[[dict[str, Any]], None],
    key_path: str,
    expected: str,
) -> None:
    """An invalid input is a ScenarioError naming the file, the key path and what was expected."""
    data = copy.deepcopy(base)
    mutate(data)
    path = write(tmp_path / "bad.toml", data)
    with pytest.raises(ScenarioError) as info:
        Scenario.from_toml(path)
    message = str(info.value)
    assert message.startswith(f"{path}, {key_path}: "), message
    assert expected in message, message
    assert info.value.file == str(path)
    assert info.value.key_path == key_path.removeprefix("key ")


def test_from_toml_wrong_type_reports_value_found(tmp_path: Path, base: dict[str, Any]) -> None:
    """A wrong-typed value is echoed back in the message ("was 'lots'")."""
    _wrong_type(base)
    with pytest.raises(ScenarioError, match=r"\(was 'lots'\)"):
        Scenario.from_toml(write(tmp_path / "bad.toml", base))


def test_from_toml_at_utc_with_start_utc_resolves_shock_time(
    tmp_path: Path, base: dict[str, Any]
) -> None:
    """With start_utc, a shock at_utc 21:10 of a run starting 21:00 happens at t = 600 s."""
    base["start_utc"] = datetime(2025, 10, 10, 21, 0, tzinfo=UTC)
    del base["shocks"][0]["at_s"]
    base["shocks"][0]["at_utc"] = datetime(2025, 10, 10, 21, 10, tzinfo=UTC)
    scenario = Scenario.from_toml(write(tmp_path / "utc.toml", base))
    assert scenario.shock_time(0) == 600.0
    assert scenario.utc(600.0) == datetime(2025, 10, 10, 21, 10, tzinfo=UTC)


# -- replay data files --------------------------------------------------------------------------


def _replay_scenario(tmp_path: Path, csv_name: str) -> Scenario:
    shutil.copy(DATA / csv_name, tmp_path / csv_name)
    data = {
        "name": "replay",
        "horizon_s": 600.0,
        "assets": [
            {
                "id": "ETH",
                "path": {"kind": "replay", "file": csv_name, "fill": "step", "dt_s": 60.0},
            }
        ],
    }
    return Scenario.from_toml(write(tmp_path / "replay.toml", data))


@pytest.mark.parametrize(
    ("csv_name", "line", "column"),
    [
        ("bad_time_order.csv", 4, "time_utc"),  # line 4 repeats 21:00 after 21:05 on line 3
        ("bad_nan.csv", 3, "low"),  # line 3 has low = NaN
    ],
)
def test_simulation_bad_replay_csv_raises_data_file_error_naming_file_and_line(
    tmp_path: Path, csv_name: str, line: int, column: str
) -> None:
    """A replay CSV out of order or with NaN fails at Simulation(), naming file, line, column."""
    scenario = _replay_scenario(tmp_path, csv_name)  # loading does not read the CSV
    with pytest.raises(DataFileError) as info:
        Simulation(scenario)
    assert info.value.file == str(tmp_path / csv_name)
    assert info.value.line == line
    assert info.value.field == column
    assert str(info.value).startswith(f"{tmp_path / csv_name}, line {line}, column {column}: ")


def test_simulation_good_replay_csv_builds_path_from_closes(tmp_path: Path) -> None:
    """A valid replay CSV with the step fill holds each 5-minute bar's close (101 then 92)."""
    sim = Simulation(_replay_scenario(tmp_path, "ohlc_good_5m.csv"))
    assert sim.context.market.reference_price("ETH", 0.0) == 101.0
    assert sim.context.market.reference_price("ETH", 300.0) == 92.0


# -- identity -----------------------------------------------------------------------------------


def test_scenario_id_stable_across_loads_and_folders(tmp_path: Path, base: dict[str, Any]) -> None:
    """The same content loaded twice, or from another folder, has the same id."""
    first = write(tmp_path / "a.toml", base)
    (tmp_path / "elsewhere").mkdir()
    second = write(tmp_path / "elsewhere" / "b.toml", base)
    ids = {
        Scenario.from_toml(first).id,
        Scenario.from_toml(first).id,
        Scenario.from_toml(second).id,
    }
    assert len(ids) == 1
    assert re.fullmatch(r"[0-9a-f]{16}", ids.pop())


@pytest.mark.parametrize(
    "path",
    [
        ("horizon_s",),
        ("shocks", 0, "change"),
        ("venues", 0, "params", "rules"),
        ("markets", 0, "impact", "fee_bps"),
    ],
)
def test_scenario_id_changes_when_a_value_changes(
    tmp_path: Path, base: dict[str, Any], path: tuple[Any, ...]
) -> None:
    """Changing any one value, top-level or nested in a component's params, changes the id."""
    changed = copy.deepcopy(base)
    new_value = {"horizon_s": 7200.0, "change": -0.3, "rules": "v3.0", "fee_bps": 5.0}[path[-1]]
    _set(changed, path, new_value)
    original = Scenario.from_toml(write(tmp_path / "a.toml", base))
    modified = Scenario.from_toml(write(tmp_path / "b.toml", changed))
    assert original.id != modified.id


def test_scenario_id_changes_when_replay_data_changes(tmp_path: Path) -> None:
    """The id covers the bytes of replay data files, not only their names."""
    scenario = _replay_scenario(tmp_path, "ohlc_good_5m.csv")
    before = scenario.id
    csv = tmp_path / "ohlc_good_5m.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("95.5,4", "95.5,5"), encoding="utf-8")
    assert scenario.id != before


# -- variants -----------------------------------------------------------------------------------


def test_with_values_by_id_path_sets_component_param(toml_file: Path) -> None:
    """`venues.aave.params.rules` addresses the venue with id aave; the original is unchanged."""
    scenario = Scenario.from_toml(toml_file)
    variant = scenario.with_values({"venues.aave.params.rules": "v3.0"})
    assert variant.venues[0].params["rules"] == "v3.0"
    assert scenario.venues[0].params["rules"] == "v3.3"
    assert variant.id != scenario.id
    assert variant.base_dir == scenario.base_dir


def test_with_values_by_index_sets_shock_field(toml_file: Path) -> None:
    """`shocks[0].change` addresses the first shock; several assignments apply together."""
    scenario = Scenario.from_toml(toml_file)
    variant = scenario.with_values(
        {
            "shocks[0].change": -0.35,
            "horizon_s": 7200.0,
            "oracles.eth-usd.params.deviation_bps": 100.0,
        }
    )
    assert isinstance(variant.shocks[0], PriceJumpSpec)
    assert variant.shocks[0].change == -0.35
    assert variant.horizon_s == 7200.0
    assert variant.oracles[0].params["deviation_bps"] == 100.0
    assert scenario.shocks[0].change == -0.2  # type: ignore[union-attr]


def test_with_values_one_past_the_end_adds_a_shock(toml_file: Path) -> None:
    """`shocks[N]` of a scenario with N shocks adds one (a counterfactual from the command
    line); an index further out is an error naming the key."""
    scenario = Scenario.from_toml(toml_file)
    n = len(scenario.shocks)
    added = {
        "kind": "parameter_change",
        "at_s": 60.0,
        "venue": "aave",
        "changes": {"rules": "v3.0"},
    }
    variant = scenario.with_values({f"shocks[{n}]": added})
    assert len(variant.shocks) == n + 1
    assert variant.shocks[n].kind == "parameter_change"
    with pytest.raises(ScenarioError) as info:
        scenario.with_values({f"shocks[{n + 1}]": added})
    assert info.value.key_path == f"shocks[{n + 1}]"


def test_with_values_back_to_original_restores_id(toml_file: Path) -> None:
    """Setting a value and setting it back gives the original id (the id is of content only)."""
    scenario = Scenario.from_toml(toml_file)
    there = scenario.with_values({"shocks[0].change": -0.5})
    back = there.with_values({"shocks[0].change": -0.2})
    assert back.id == scenario.id


@pytest.mark.parametrize(
    ("assignment", "key_path"),
    [
        ({"venues.compound.params.rules": "v3.0"}, "venues.compound"),  # no such id
        ({"shocks[0].change": -1.5}, "shocks[0].change"),  # change must be > -1
        ({"shocks.0.nothing.here": 1}, "shocks.0.nothing"),  # no such key
    ],
)
def test_with_values_invalid_assignment_raises_scenario_error(
    toml_file: Path, assignment: dict[str, Any], key_path: str
) -> None:
    """Assigning to a missing id or key, or an invalid value, is a ScenarioError naming the key."""
    with pytest.raises(ScenarioError) as info:
        Scenario.from_toml(toml_file).with_values(assignment)
    assert info.value.key_path == key_path


# Regression: with_values once skipped validating component params.
def test_with_values_invalid_component_param_raises_scenario_error(toml_file: Path) -> None:
    """with_values returns a validated copy: an unknown Aave rule set is rejected at once."""
    with pytest.raises(ScenarioError, match="rules"):
        Scenario.from_toml(toml_file).with_values({"venues.aave.params.rules": "v9"})


def test_oracle_outage_shock_loads_with_default_mode(tmp_path: Path, base: dict[str, Any]) -> None:
    """An oracle_outage shock naming a defined oracle loads; its mode defaults to outage."""
    base["shocks"].append(
        {"kind": "oracle_outage", "at_s": 60.0, "oracle": "eth-usd", "duration_s": 600.0}
    )
    scenario = Scenario.from_toml(write(tmp_path / "outage.toml", base))
    assert isinstance(scenario.shocks[1], OracleOutageSpec)
    assert scenario.shocks[1].mode == "outage"
