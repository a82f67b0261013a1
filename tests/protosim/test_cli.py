"""The protosim command line: runs, machine output, and one clear message on bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from protosim.cli import main
from protosim.testing import tiny_scenario_dict


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml_value(v)}' for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def _write_toml(path: Path, data: dict[str, object]) -> Path:
    lines = [f"{key} = {_toml_value(value)}" for key, value in data.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tomllib.loads(path.read_text(encoding="utf-8"))  # the helper must write valid TOML
    return path


@pytest.fixture
def tiny_toml(tmp_path: Path) -> Path:
    data = tiny_scenario_dict(accounts=200, horizon_s=3_600.0)
    return _write_toml(tmp_path / "tiny.toml", data)


def test_run_json_prints_the_summary(tiny_toml: Path) -> None:
    """`protosim run --json` exits 0 and prints the summary with its headline figures."""
    out = CliRunner().invoke(main, ["run", str(tiny_toml), "--json", "--seed", "4"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)["summary"]
    assert summary["seed"] == 4
    assert summary["liquidations"] > 0
    assert {"liquidated_debt_usd", "bad_debt_usd", "oracle_updates", "min_price"} <= set(summary)


def test_run_table_and_out_dir(tiny_toml: Path, tmp_path: Path) -> None:
    """`protosim run --out DIR` prints a table and writes events, Parquet and a summary."""
    out_dir = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(tiny_toml), "--out", str(out_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "liquidations" in result.output
    assert (out_dir / "events.jsonl").stat().st_size > 0
    assert (out_dir / "LiquidationExecuted.parquet").exists()
    assert json.loads((out_dir / "summary.json").read_text())["summary"]["liquidations"] > 0


def test_run_set_changes_a_value(tiny_toml: Path) -> None:
    """`--set KEY=VALUE` changes the scenario by key path before the run."""
    args = [
        "run",
        str(tiny_toml),
        "--json",
        "--set",
        "venues.aave.params.populations[0].accounts=50",
    ]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["components"]["aave"]["accounts"] == 50


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["venues"][0]["params"]["reserves"]["ETH"].update(
                liquidation_threshold_bps=12_000
            ),
            "venues[0].params.reserves.ETH.liquidation_threshold_bps",
        ),
        (lambda d: d.update(colour="red"), "key colour: unknown key"),
        (lambda d: d["assets"][0]["path"].update(price=-5.0), "assets[0].path.price"),
        (lambda d: d.update(horizon_s="long"), "horizon_s"),
        (
            lambda d: d["venues"][0]["params"]["reserves"]["ETH"].update(oracel="x"),
            "venues[0].params.reserves.ETH.oracel: unknown key",
        ),
    ],
)
def test_invalid_scenario_exits_2_with_one_clear_message(
    tmp_path: Path, change: object, expected: str
) -> None:
    """A bad scenario exits with status 2, names file and key path, and prints no traceback."""
    data = tiny_scenario_dict(accounts=10)
    change(data)  # type: ignore[operator]
    path = _write_toml(tmp_path / "bad.toml", data)
    out = (
        CliRunner(mix_stderr=False).invoke(main, ["run", str(path), "--quiet"])
        if _mix()
        else (CliRunner().invoke(main, ["run", str(path), "--quiet"]))
    )
    assert out.exit_code == 2
    text = out.output + (out.stderr if _mix() else "")
    assert "bad.toml" in text
    assert expected in text
    assert "Traceback" not in text


def _mix() -> bool:
    import inspect

    return "mix_stderr" in inspect.signature(CliRunner.__init__).parameters


def test_price_csv_out_of_order_names_file_and_line(tmp_path: Path) -> None:
    """A replay CSV whose times go backwards fails with the file, line and column."""
    csv = tmp_path / "eth.csv"
    csv.write_text(
        "time_utc,open,high,low,close,volume\n"
        "2025-10-10T21:00:00Z,100,101,99,100,1\n"
        "2025-10-10T21:05:00Z,100,101,99,100,1\n"
        "2025-10-10T21:00:00Z,100,101,99,100,1\n",
        encoding="utf-8",
    )
    data = tiny_scenario_dict(accounts=10)
    data["assets"][0]["path"] = {"kind": "replay", "file": "eth.csv"}
    path = _write_toml(tmp_path / "replay.toml", data)
    proc = subprocess.run(
        [sys.executable, "-m", "protosim.cli", "run", str(path), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "eth.csv, line 4, column time_utc" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_schema_is_json_schema_with_component_params() -> None:
    """`protosim schema` prints a JSON Schema including each registered kind's parameters."""
    out = CliRunner().invoke(main, ["schema"])
    assert out.exit_code == 0
    schema = json.loads(out.output)
    assert "properties" in schema
    assert "horizon_s" in schema["properties"]
    assert {"lending.aave_v3", "oracle.chainlink", "agent.lending_keeper"} <= set(
        schema["x-component-params"]
    )


def test_fixtures_list_names_the_shipped_fixture() -> None:
    """The packaged fixtures are listed by name."""
    out = CliRunner().invoke(main, ["fixtures", "list"])
    assert "eth-oct-2025-aave" in out.output.split()


def test_console_script_is_installed() -> None:
    """The `protosim` entry point exists and answers --help."""
    exe = shutil.which("protosim", path=str(Path(sys.executable).parent))
    assert exe is not None
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert "run" in proc.stdout


def test_bench_small_prints_figures() -> None:
    """`protosim bench --json` on a small book reports time, memory and counts."""
    out = CliRunner().invoke(
        main, ["bench", "--accounts", "2000", "--hours", "2", "--no-baseline", "--json"]
    )
    assert out.exit_code == 0, out.output
    figures = json.loads(out.output)
    assert figures["accounts"] == 2000
    assert figures["liquidations"] > 0
    assert figures["wall_s"] > 0


# -- replay and fixtures (issue 8) ------------------------------------------------------------


def _tiny_fixture(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny-event"
    folder.mkdir()
    _write_toml(folder / "scenario.toml", tiny_scenario_dict(accounts=200, horizon_s=1_800.0))
    (folder / "README.md").write_text("# tiny\n", encoding="utf-8")
    (folder / "reported.toml").write_text(
        'event = "tiny-event"\ntitle = "Tiny event"\nsummary = "a tiny cascade"\n'
        '[[figures]]\nid = "liquidations"\ndescription = "liquidations"\n'
        'measure = "count:LiquidationExecuted"\nvalue = 0.0\nrange = [0.0, 0.0]\n'
        'unit = "count"\nsource = "hand"\n',
        encoding="utf-8",
    )
    return folder


def test_fixtures_list_shows_titles_and_reported() -> None:
    """`fixtures list` names each fixture with its title and whether it has reported.toml."""
    out = CliRunner().invoke(main, ["fixtures", "list"], terminal_width=200)
    assert out.exit_code == 0, out.output
    row = next(line for line in out.output.splitlines() if " oct-2025 " in line)
    assert "yes" in row
    assert "tariff-shock" in out.output


def test_fixtures_show_prints_timeline_in_utc() -> None:
    """`fixtures show oct-2025` prints the 21:36 UTC shocks, the data files and the figures."""
    out = CliRunner().invoke(main, ["fixtures", "show", "oct-2025"], terminal_width=200)
    assert out.exit_code == 0, out.output
    assert "2025-10-10 21:36:00Z" in out.output
    assert "binance_USDEUSDT_1m.csv" in out.output
    assert "aave_usde_liquidations" in out.output


def test_replay_json_and_table(tmp_path: Path) -> None:
    """`replay PATH --json` reports each figure; the table form prints the mechanism."""
    folder = _tiny_fixture(tmp_path)
    out = CliRunner().invoke(main, ["replay", str(folder), "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    (figure,) = payload["figures"]
    assert figure["id"] == "liquidations"
    assert figure["in_range"] is (figure["simulated"] == 0.0)
    out = CliRunner().invoke(main, ["replay", str(folder)], terminal_width=200)
    assert out.exit_code == 0, out.output
    assert "mechanism" in out.output
    assert "liquidations" in out.output


def test_replay_write_golden_with_set_needs_a_suffix(tmp_path: Path) -> None:
    """A golden of a variant must be named, so the default golden is never overwritten."""
    folder = _tiny_fixture(tmp_path)
    out = CliRunner().invoke(main, ["replay", str(folder), "--set", "seed=3", "--write-golden"])
    assert out.exit_code != 0
    assert "--golden-suffix" in out.output


def test_replay_unknown_fixture_exits_2() -> None:
    """An unknown fixture name fails with one line listing the fixtures."""
    out = CliRunner().invoke(main, ["replay", "no-such-event"])
    assert out.exit_code == 2
    assert "oct-2025" in out.output


def test_bench_replay_scales_accounts(tmp_path: Path) -> None:
    """`bench --replay PATH --accounts N` runs the fixture with N accounts in total."""
    folder = _tiny_fixture(tmp_path)
    out = CliRunner().invoke(
        main, ["bench", "--replay", str(folder), "--accounts", "300", "--hours", "0.5", "--json"]
    )
    assert out.exit_code == 0, out.output
    figures = json.loads(out.output)
    assert figures["accounts"] == 300
    assert figures["hours"] == 0.5
    assert figures["wall_s"] > 0


def test_bench_aave_multi_runs_from_the_cli() -> None:
    """`protosim bench --aave-multi` runs the registered multi-collateral benchmark and prints
    both its figures and the single-collateral one it is compared with."""
    out = CliRunner().invoke(
        main, ["bench", "--aave-multi", "--accounts", "2000", "--hours", "1", "--json"]
    )
    assert out.exit_code == 0, out.output
    figures = json.loads(out.output)
    assert figures["accounts"] == 2000
    assert figures["collateral_reserves"] == 3
    assert figures["debt_reserves"] == 2
    assert figures["wall_s"] > 0
    assert figures["single_wall_s"] > 0
