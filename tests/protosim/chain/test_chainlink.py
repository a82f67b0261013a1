"""Tests of protosim.chain.chainlink: feed reads and the oracle-rounds CSV, on a real EVM."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from protosim.chain.chainlink import (
    ANSWER_UPDATED_TOPIC,
    CSV_COLUMNS,
    decode_answer_updated,
    format_answer,
    read_answer_updates,
    read_decimals,
    read_description,
    read_feed_rounds,
    read_latest_round_data,
    read_round_data,
    resolve_aggregator,
    write_rounds_csv,
)
from protosim.chain.errors import ChainReadError
from protosim.chain.rpc import RpcClient

# keccak256("AnswerUpdated(int256,uint256,uint256)") as Etherscan shows it on every
# Chainlink aggregator's event log.
ETHERSCAN_ANSWER_UPDATED = "0x0559884fd3a460db3073b7fc896cc77986f16e378210ded43186175bf646fc5f"


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def test_answer_updated_topic_matches_event_signature_hash() -> None:
    """Topic 0 is the well-known hash of AnswerUpdated(int256,uint256,uint256)."""
    assert ANSWER_UPDATED_TOPIC == ETHERSCAN_ANSWER_UPDATED


def test_feed_metadata_and_latest_round_match_chain(
    feed: Any, make_client: Callable[..., RpcClient]
) -> None:
    """decimals, description and latestRoundData are what the contract was given."""
    client = make_client(feed.bridge.url)
    last = feed.rounds[-1]
    assert read_decimals(client, feed.aggregator) == 8
    assert read_description(client, feed.aggregator) == "ETH / USD"
    latest = read_latest_round_data(client, feed.aggregator)
    assert (latest.round_id, latest.answer, latest.updated_at) == (50, last.answer, last.updated_at)
    assert latest.answered_in_round == 50


def test_get_round_data_returns_each_round_including_negative(
    feed: Any, make_client: Callable[..., RpcClient]
) -> None:
    """getRoundData(r) returns round r's answer and time; round 18 holds a negative answer."""
    client = make_client(feed.bridge.url)
    for expected in (feed.rounds[0], feed.rounds[17], feed.rounds[49]):
        got = read_round_data(client, feed.aggregator, expected.round_id)
        assert (got.round_id, got.answer, got.updated_at) == (
            expected.round_id,
            expected.answer,
            expected.updated_at,
        )
    assert read_round_data(client, feed.aggregator, 18).answer == -123_456_789


def test_logs_over_many_blocks_read_in_small_chunks(
    feed: Any, make_client: Callable[..., RpcClient]
) -> None:
    """50 rounds in separate blocks, read 7 blocks per eth_getLogs: every round once, in order."""
    client = make_client(feed.bridge.url)
    updates = read_answer_updates(
        client, feed.aggregator, feed.first_block, feed.last_block, chunk_size=7
    )
    span = feed.last_block - feed.first_block + 1
    assert len(feed.bridge.calls("eth_getLogs")) == math.ceil(span / 7)
    assert span > 50  # empty blocks sit inside the range
    got = [(u.round_id, u.answer, u.updated_at, u.block_number, u.tx_hash) for u in updates]
    want = [(r.round_id, r.answer, r.updated_at, r.block_number, r.tx_hash) for r in feed.rounds]
    assert got == want


def test_chunks_cover_range_exactly_at_edges(
    feed: Any, make_client: Callable[..., RpcClient]
) -> None:
    """A range starting and ending on round blocks includes both ends and nothing outside."""
    client = make_client(feed.bridge.url)
    lo, hi = feed.rounds[10].block_number, feed.rounds[20].block_number
    updates = read_answer_updates(client, feed.aggregator, lo, hi, chunk_size=4)
    assert [u.round_id for u in updates] == list(range(11, 22))
    ranges = [
        (int(p[0]["fromBlock"], 16), int(p[0]["toBlock"], 16))
        for p in feed.bridge.calls("eth_getLogs")
    ]
    assert ranges[0][0] == lo
    assert ranges[-1][1] == hi
    assert all(b - a + 1 <= 4 for a, b in ranges)
    assert all(ranges[i][1] + 1 == ranges[i + 1][0] for i in range(len(ranges) - 1))


def test_range_refused_as_too_large_is_split(
    feed: Any, make_client: Callable[..., RpcClient]
) -> None:
    """A node refusing wide eth_getLogs ranges gets halves of them; no round is lost or doubled."""
    feed.bridge.max_log_range = 5
    client = make_client(feed.bridge.url)
    updates = read_answer_updates(
        client, feed.aggregator, feed.first_block, feed.last_block, chunk_size=40
    )
    assert [u.round_id for u in updates] == list(range(1, 51))
    widths = [
        int(p[0]["toBlock"], 16) - int(p[0]["fromBlock"], 16) + 1
        for p in feed.bridge.calls("eth_getLogs")
    ]
    assert max(widths) == 40
    assert any(w <= 5 for w in widths)


def test_feed_csv_matches_chain(
    feed: Any, make_client: Callable[..., RpcClient], tmp_path: Path
) -> None:
    """The CSV has the header, one row per round, answers scaled by 1e-8 exactly, UTC with Z."""
    client = make_client(feed.bridge.url)
    rounds = read_feed_rounds(
        client, feed.aggregator, feed.first_block, feed.last_block, chunk_size=16
    )
    out = write_rounds_csv(tmp_path / "rounds.csv", rounds)
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert (
        tuple(rows[0])
        == CSV_COLUMNS
        == ("round_id", "answer", "updated_at", "block_number", "tx_hash")
    )
    assert len(rows) == 51
    for row, expected in zip(rows[1:], feed.rounds, strict=True):
        assert int(row[0]) == expected.round_id
        assert Decimal(row[1]) == Decimal(expected.answer) / Decimal(10**8)
        assert len(row[1].split(".")[1]) == 8
        assert row[2] == _iso(expected.updated_at)
        assert int(row[3]) == expected.block_number
        assert row[4] == expected.tx_hash
    assert rows[18][1] == "-1.23456789"
    assert rows[1][1] == "1500.00000000"


def test_proxy_address_reads_logs_of_its_aggregator(
    feed: Any, make_client: Callable[..., RpcClient]
) -> None:
    """Given a proxy, logs come from aggregator(); decimals and description still answer."""
    client = make_client(feed.bridge.url)
    assert resolve_aggregator(client, feed.proxy) == feed.aggregator
    assert resolve_aggregator(client, feed.aggregator) == feed.aggregator
    rounds = read_feed_rounds(client, feed.proxy, feed.first_block, feed.last_block)
    assert rounds.aggregator == feed.aggregator
    assert rounds.decimals == 8
    assert rounds.description == "ETH / USD"
    assert len(rounds.updates) == 50
    latest = read_latest_round_data(client, feed.proxy)
    assert latest.round_id == (3 << 64) | 50  # the proxy's phase-encoded id


def test_failure_mid_read_leaves_no_output_file(
    feed: Any, make_client: Callable[..., RpcClient], tmp_path: Path
) -> None:
    """When the node dies after a few chunks, the error names the chunk and no file appears."""
    out = tmp_path / "rounds.csv"
    client = make_client(feed.bridge.url, max_retries=2)
    feed.bridge.fail_from(served=6)  # metadata calls and the first chunks succeed

    def read_then_write() -> None:
        # The order the CLI uses: the file is written only after the whole read.
        rounds = read_feed_rounds(
            client, feed.aggregator, feed.first_block, feed.last_block, chunk_size=5
        )
        write_rounds_csv(out, rounds)

    with pytest.raises(ChainReadError) as info:
        read_then_write()
    assert str(info.value).startswith("eth_getLogs AnswerUpdated blocks ")
    assert f"on {feed.aggregator}: gave up after 3 attempts" in str(info.value)
    assert 1 < len(feed.bridge.calls("eth_getLogs")) < 20
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_file_and_leaves_no_temp(
    feed: Any,
    make_client: Callable[..., RpcClient],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If the final rename fails, the old CSV is untouched and the temp file is gone."""
    out = tmp_path / "rounds.csv"
    out.write_text("previous\n")
    rounds = read_feed_rounds(
        make_client(feed.bridge.url), feed.aggregator, feed.first_block, feed.first_block + 3
    )

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_rounds_csv(out, rounds)
    monkeypatch.undo()
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["rounds.csv"]


def test_negative_answer_on_fresh_feed_round_trips(
    chain: Any, bridge: Any, make_client: Callable[..., RpcClient], tmp_path: Path
) -> None:
    """A feed with 18 decimals printing -0.5 is read back as -0.500000000000000000."""
    agg = chain.deploy("MockAggregator", 18, "SPREAD")
    receipt = chain.transact(agg.functions.submit(-5 * 10**17))
    client = make_client(bridge.url)
    rounds = read_feed_rounds(client, agg.address, 0)
    assert [(u.round_id, u.answer) for u in rounds.updates] == [(1, -5 * 10**17)]
    assert rounds.updates[0].block_number == receipt["blockNumber"]
    text = write_rounds_csv(tmp_path / "spread.csv", rounds).read_text()
    assert text.splitlines()[1].split(",")[1] == "-0.500000000000000000"


def test_several_logs_in_one_block_keep_log_order(
    chain: Any, bridge: Any, make_client: Callable[..., RpcClient]
) -> None:
    """Rounds logged in one transaction come back in log-index order with the same block."""
    agg = chain.deploy("MockAggregator", 8, "BTC / USD")
    chain.transact(agg.functions.submitMany([3, -2, 1, 0]))
    updates = read_answer_updates(
        make_client(bridge.url), agg.address, 0, chain.latest, chunk_size=1
    )
    assert [(u.round_id, u.answer) for u in updates] == [(1, 3), (2, -2), (3, 1), (4, 0)]
    assert len({u.block_number for u in updates}) == 1
    assert [u.log_index for u in updates] == sorted(u.log_index for u in updates)


def _log(**changes: Any) -> dict[str, Any]:
    log = {
        "topics": [
            ANSWER_UPDATED_TOPIC,
            "0x" + (5).to_bytes(32, "big").hex(),
            "0x" + (9).to_bytes(32, "big").hex(),
        ],
        "data": "0x" + (1_600_000_000).to_bytes(32, "big").hex(),
        "blockNumber": "0x20",
        "logIndex": "0x1",
        "transactionHash": "0x" + "cd" * 32,
    }
    log.update(changes)
    return log


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"topics": [ANSWER_UPDATED_TOPIC]}, "expected 3 topics"),
        ({"topics": ["0x" + "00" * 32, "0x" + "00" * 32, "0x" + "00" * 32]}, "expected topic 0"),
        ({"data": "0x"}, "expected data to be one word"),
        ({"data": "0x" + "00" * 64}, "expected data to be one word"),
        ({"topics": [ANSWER_UPDATED_TOPIC, "0x05", "0x" + "00" * 32]}, "one 32-byte word"),
        ({"transactionHash": "0xabcd"}, "32-byte transactionHash"),
        ({"blockNumber": None}, "hex quantity"),
    ],
)
def test_decode_answer_updated_rejects_malformed_logs(
    changes: dict[str, Any], expected: str
) -> None:
    """A log that is not a well-formed AnswerUpdated is refused with what was expected."""
    with pytest.raises(ValueError, match=expected):
        decode_answer_updated(_log(**changes))


def test_decode_answer_updated_reads_twos_complement_answer() -> None:
    """Topic 1 is a signed word: 2**256 - 5 is -5; topic 2 and data are unsigned."""
    update = decode_answer_updated(
        _log(
            topics=[
                ANSWER_UPDATED_TOPIC,
                "0x" + (2**256 - 5).to_bytes(32, "big").hex(),
                "0x" + (2**70).to_bytes(32, "big").hex(),
            ]
        )
    )
    assert (update.answer, update.round_id, update.updated_at) == (-5, 2**70, 1_600_000_000)
    assert (update.block_number, update.log_index, update.tx_hash) == (32, 1, "0x" + "cd" * 32)


@pytest.mark.parametrize(
    ("answer", "decimals", "text"),
    [
        (0, 8, "0.00000000"),
        (1, 8, "0.00000001"),
        (-1, 8, "-0.00000001"),
        (10**8, 8, "1.00000000"),
        (2**255 - 1, 0, str(2**255 - 1)),
        (-(2**255), 2, str(-(2**255))[:-2] + "." + str(2**255)[-2:]),
    ],
)
def test_format_answer_is_exact(answer: int, decimals: int, text: str) -> None:
    """Scaling is exact decimal arithmetic, including the int256 extremes."""
    assert format_answer(answer, decimals) == text
    assert Decimal(text) == Decimal(answer).scaleb(-decimals)
