"""Tests of the ``protosim chain`` commands through click's CliRunner against a local node."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from protosim.chain.cli import chain as chain_group

FAST = ["--max-retries", "1", "--base-delay", "0", "--max-delay", "0", "--timeout", "5"]


def _run(args: list[Any]) -> Result:
    return CliRunner().invoke(chain_group, [str(a) for a in args])


def _one_error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_feed_command_writes_rounds_csv(feed: Any, tmp_path: Path) -> None:
    """`chain feed` writes one CSV row per AnswerUpdated log and reports the count."""
    out = tmp_path / "eth_usd.csv"
    result = _run(
        [
            "feed",
            "--rpc",
            feed.bridge.url,
            "--address",
            feed.proxy.lower(),
            "--from-block",
            feed.first_block,
            "--to-block",
            feed.last_block,
            "--out",
            out,
            "--chunk",
            10,
            *FAST,
        ]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"50 rounds of ETH / USD (aggregator {feed.aggregator})")
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["round_id"]) for r in rows] == list(range(1, 51))
    assert rows[17]["answer"] == "-1.23456789"
    assert len(feed.bridge.calls("eth_getLogs")) == -(
        -(feed.last_block - feed.first_block + 1) // 10
    )


def test_chain_group_attaches_to_a_parent_cli(feed: Any, tmp_path: Path) -> None:
    """`main.add_command(chain)` exposes `main chain feed` with the same behaviour."""

    @click.group()
    def main() -> None:
        pass

    main.add_command(chain_group)
    out = tmp_path / "rounds.csv"
    result = CliRunner().invoke(
        main,
        [
            "chain",
            "feed",
            "--rpc",
            feed.bridge.url,
            "--address",
            feed.aggregator,
            "--from-block",
            str(feed.first_block),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 51


def test_aave_command_writes_positions_json(chain: Any, bridge: Any, tmp_path: Path) -> None:
    """`chain aave` snapshots reserves and the users asked for."""
    pool = chain.deploy("MockAavePool")
    weth = chain.deploy("MockToken", "Wrapped Ether", "WETH", 18)
    a_weth = chain.deploy("MockToken", "Aave WETH", "aWETH", 18)
    d_weth = chain.deploy("MockToken", "Debt WETH", "vWETH", 18)
    chain.transact(
        pool.functions.initReserve(weth.address, a_weth.address, d_weth.address, 10**27, 10**27)
    )
    chain.transact(
        pool.functions.setReserveParams(weth.address, 8000, 8250, 10500, 18, 1500, 0, 0, 1000, 0)
    )
    user = chain.accounts[2]
    chain.transact(a_weth.functions.setBalance(user, 3 * 10**18))
    chain.transact(pool.functions.setUsingAsCollateral(user, 0, True))
    out = tmp_path / "aave.json"
    result = _run(
        ["aave", "--rpc", bridge.url, "--pool", pool.address, "--user", user, "--out", out, *FAST]
    )
    assert result.exit_code == 0, result.output
    assert "1 reserves, 1 users" in result.stdout
    data = json.loads(out.read_text())
    assert data["reserves"][0]["configuration"]["ltv_bps"] == 8000
    assert data["users"][0]["reserves"] == [
        {
            "asset": weth.address,
            "reserve_id": 0,
            "a_token_balance": str(3 * 10**18),
            "variable_debt_balance": "0",
            "collateral_enabled": True,
            "borrowing": False,
        }
    ]


def _pool_with_history(chain: Any) -> str:
    t0 = chain.timestamp(chain.latest) + 100
    chain.set_next_timestamp(t0)
    pool = chain.deploy("MockUniV3Pool", chain.accounts[1], chain.accounts[2], 2**96, 10, 8)
    chain.set_next_timestamp(t0 + 1200)
    chain.transact(pool.functions.swapTo(-20, 2**96))
    chain.set_next_timestamp(t0 + 1800)
    chain.mine(1)
    return str(pool.address)


def test_univ3_command_writes_twap_json(chain: Any, bridge: Any, tmp_path: Path) -> None:
    """`chain univ3` reports the mean tick: (10*1200 - 20*600) / 1800 = 0."""
    pool = _pool_with_history(chain)
    out = tmp_path / "twap.json"
    result = _run(
        ["univ3", "--rpc", bridge.url, "--pool", pool, "--window", 1800, "--out", out, *FAST]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("mean tick 0 over 1800 s")
    data = json.loads(out.read_text())
    assert data["arithmetic_mean_tick"] == 0
    # The pool's tokens are plain accounts here: no symbol, no decimals, so no whole-token price.
    assert data["token0"] == {"address": chain.accounts[1], "symbol": None, "decimals": None}
    assert data["twap_price"] is None
    assert data["twap_price_raw"] == 1.0


def test_univ3_window_too_long_is_one_error_line(chain: Any, bridge: Any, tmp_path: Path) -> None:
    """A revert (OLD) prints one line naming observe and the pool, exits 2, writes nothing."""
    pool = _pool_with_history(chain)
    out = tmp_path / "twap.json"
    result = _run(
        ["univ3", "--rpc", bridge.url, "--pool", pool, "--window", 3600, "--out", out, *FAST]
    )
    line = _one_error_line(result)
    assert line.startswith("error: eth_call observe([3600, 0]) at block ")
    assert f"on {pool}: reverted: OLD" in line
    assert not out.exists()


def test_unreachable_rpc_is_one_error_line(tmp_path: Path) -> None:
    """A node that refuses connections gives one line naming the call, exit 2, no file."""
    out = tmp_path / "rounds.csv"
    address = "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419"
    result = _run(
        [
            "feed",
            "--rpc",
            "http://127.0.0.1:9/v3/KEY",
            "--address",
            address,
            "--from-block",
            1,
            "--to-block",
            2,
            "--out",
            out,
            *FAST,
        ]
    )
    line = _one_error_line(result)
    assert line.startswith(
        f"error: eth_call aggregator() at block 2 on {address}: gave up after 2 attempts"
    )
    assert "KEY" not in line
    assert not out.exists()


def test_node_failing_mid_read_leaves_no_file(feed: Any, tmp_path: Path) -> None:
    """The node dies after some eth_getLogs chunks: exit 2, one line naming the chunk, no CSV."""
    out = tmp_path / "rounds.csv"
    feed.bridge.fail_from(served=5, mode="close")
    result = _run(
        [
            "feed",
            "--rpc",
            feed.bridge.url,
            "--address",
            feed.aggregator,
            "--from-block",
            feed.first_block,
            "--to-block",
            feed.last_block,
            "--out",
            out,
            "--chunk",
            5,
            *FAST,
        ]
    )
    line = _one_error_line(result)
    assert line.startswith("error: eth_getLogs AnswerUpdated blocks ")
    assert "connection failed" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["feed", "--address", "0x1234", "--from-block", "1", "--out", "x.csv"], "--address"),
        (
            [
                "feed",
                "--address",
                "0x" + "ab" * 20,
                "--from-block",
                "9",
                "--to-block",
                "3",
                "--out",
                "x.csv",
            ],
            "--to-block",
        ),
        (["univ3", "--pool", "0x" + "ab" * 20, "--window", "0", "--out", "x.json"], "--window"),
        (["aave", "--pool", "0x" + "ab" * 20, "--out", "no/such/dir/x.json"], "--out"),
    ],
)
def test_invalid_options_are_usage_errors(
    args: list[str], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad addresses, ranges, windows or output folders are refused before any RPC call."""
    monkeypatch.chdir(tmp_path)
    result = _run([*args, "--rpc", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.output
