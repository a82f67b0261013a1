"""Tests of ``protosim graph``: tables, JSON, the four export formats, and clear errors."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from protosim.errors import ScenarioError
from protosim.graph.cli import graph
from protosim.graph.exposure import ExposureGraph
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


@pytest.fixture
def tiny_toml(tmp_path: Path) -> Path:
    data = tiny_scenario_dict(accounts=200, horizon_s=1_800.0)
    path = tmp_path / "tiny.toml"
    path.write_text("\n".join(f"{k} = {_toml_value(v)}" for k, v in data.items()) + "\n")
    tomllib.loads(path.read_text())  # the helper must write valid TOML
    return path


def test_graph_prints_node_and_edge_counts(tiny_toml: Path) -> None:
    """Without --blast the command prints the nodes per kind and the edges per relation."""
    out = CliRunner().invoke(graph, [str(tiny_toml)])
    assert out.exit_code == 0, out.output
    assert "node venue" in out.output
    assert "edge priced_by" in out.output


def test_graph_blast_json_matches_the_python_api(tiny_toml: Path) -> None:
    """``--blast oracle:ID --json`` prints the same figures as `ExposureGraph.blast_radius`."""
    out = CliRunner().invoke(
        graph, [str(tiny_toml), "--blast", "oracle:eth-usd", "--shock", "-0.3", "--json"]
    )
    assert out.exit_code == 0, out.output
    printed = json.loads(out.output)["blast_radius"]
    expected = ExposureGraph.from_scenario(tiny_toml).blast_radius(oracle="eth-usd", shock=-0.3)
    assert printed["positions"] == expected.positions > 0
    assert printed["debt_usd"] == pytest.approx(expected.debt_usd, rel=1e-12)
    assert printed["oracles"] == ["eth-usd"]


def test_graph_blast_table_names_the_target(tiny_toml: Path) -> None:
    """A venue halt prints a table with the venue and its positions."""
    out = CliRunner().invoke(graph, [str(tiny_toml), "--blast", "venue:aave"])
    assert out.exit_code == 0, out.output
    assert "venue:aave" in out.output
    assert "200 of 200" in out.output


@pytest.mark.parametrize("fmt", ["graphml", "json", "html", "png"])
def test_graph_writes_each_format(tiny_toml: Path, tmp_path: Path, fmt: str) -> None:
    """``--format F --out FILE`` writes a non-empty file; graphml and json read back equal."""
    target = tmp_path / f"exposure.{fmt}"
    out = CliRunner().invoke(
        graph, [str(tiny_toml), "--format", fmt, "--out", str(target), "--seed", "5"]
    )
    assert out.exit_code == 0, out.output
    assert target.stat().st_size > 0
    expected = ExposureGraph.from_scenario(tiny_toml, seed=5)
    if fmt == "graphml":
        assert ExposureGraph.from_graphml(target) == expected
    elif fmt == "json":
        assert ExposureGraph.from_json(target) == expected


def test_graph_format_follows_the_out_suffix(tiny_toml: Path, tmp_path: Path) -> None:
    """Without --format the suffix of --out picks the format; an unknown suffix is refused."""
    target = tmp_path / "g.json"
    out = CliRunner().invoke(graph, [str(tiny_toml), "--out", str(target), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["written"] == str(target)
    assert "edges" in json.loads(target.read_text())
    bad = CliRunner().invoke(graph, [str(tiny_toml), "--out", str(tmp_path / "g.txt")])
    assert bad.exit_code == 2
    assert "--format" in bad.output


def test_graph_at_shows_a_later_moment(tiny_toml: Path) -> None:
    """``--at T`` runs to T first: after the shock and the keeper, fewer positions remain."""
    runner = CliRunner()
    start = json.loads(runner.invoke(graph, [str(tiny_toml), "--json"]).output)
    later = runner.invoke(graph, [str(tiny_toml), "--json", "--at", "1500"])
    assert later.exit_code == 0, later.output
    data = json.loads(later.output)
    assert data["t"] == 1500.0
    assert data["edges"]["owes"]["usd"] < start["edges"]["owes"]["usd"]
    too_late = runner.invoke(graph, [str(tiny_toml), "--at", "99999"])
    assert too_late.exit_code == 2


@pytest.mark.parametrize(
    ("blast", "listed"),
    [("oracle:btc-usd", "eth-usd"), ("asset:BTC", "USDC"), ("pool:x", "oracle:ID")],
)
def test_graph_bad_blast_raises_scenario_error_with_valid_ids(
    tiny_toml: Path, blast: str, listed: str
) -> None:
    """A bad --blast id is a ScenarioError that lists what is valid."""
    out = CliRunner().invoke(graph, [str(tiny_toml), "--blast", blast])
    assert isinstance(out.exception, ScenarioError)
    assert listed in str(out.exception)
