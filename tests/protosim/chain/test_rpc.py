"""Tests of protosim.chain.rpc against a real HTTP JSON-RPC server that can misbehave."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from protosim.chain.chainlink import read_latest_round_data, read_round_data
from protosim.chain.errors import ChainReadError
from protosim.chain.rpc import RetryPolicy, RpcClient, endpoint_label

ANSWER = 187_654_321_000


@pytest.fixture
def feed_on_bridge(chain: Any, bridge: Any) -> tuple[Any, str]:
    agg = chain.deploy("MockAggregator", 8, "ETH / USD")
    chain.transact(agg.functions.submit(ANSWER))
    bridge.methods.clear()
    return bridge, agg.address


@pytest.mark.parametrize("mode", ["close", "503", "429", "rate_limit_rpc", "delay"])
def test_request_with_transient_failures_succeeds_after_backoff(
    mode: str,
    feed_on_bridge: tuple[Any, str],
    make_client: Callable[..., RpcClient],
    sleeps: list[float],
) -> None:
    """Two dropped/overloaded/stalled answers are retried with doubling waits; the third lands."""
    bridge, address = feed_on_bridge
    bridge.fail_next(2, mode)
    client = make_client(bridge.url, max_retries=3, timeout_s=0.25)
    data = read_latest_round_data(client, address)
    assert data.answer == ANSWER
    assert data.round_id == 1
    assert sleeps == [0.01, 0.02]
    assert client.requests_sent == 3
    assert len(bridge.calls("eth_call")) == 3


@pytest.mark.parametrize("mode", ["close", "503", "rate_limit_rpc"])
def test_request_when_failures_exceed_max_retries_raises_naming_call(
    mode: str,
    feed_on_bridge: tuple[Any, str],
    make_client: Callable[..., RpcClient],
    sleeps: list[float],
) -> None:
    """max_retries + 1 failures raise a ChainReadError naming the call, the contract and why."""
    bridge, address = feed_on_bridge
    bridge.fail_next(10, mode)
    client = make_client(bridge.url, max_retries=3)
    with pytest.raises(ChainReadError) as info:
        read_latest_round_data(client, address)
    message = str(info.value)
    assert message.startswith(f"eth_call latestRoundData() on {address}: gave up after 4 attempts")
    assert "max_retries=3" in message
    assert bridge.url in message
    assert info.value.kind == "transport"
    assert len(bridge.calls("eth_call")) == 4
    assert sleeps == [0.01, 0.02, 0.04]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (-32005, "project ID request rate exceeded"),  # Infura
        (429, "Your app has exceeded its compute units per second capacity."),  # Alchemy
        (-32007, "15/second request limit reached - reduce calls per second"),  # QuickNode
        (-32000, "Too Many Requests"),
        (-32090, "Rate limit exceeded: retry in 1s"),
    ],
)
def test_rate_limit_errors_of_known_providers_are_retried(
    code: int,
    message: str,
    feed_on_bridge: tuple[Any, str],
    make_client: Callable[..., RpcClient],
    sleeps: list[float],
) -> None:
    """Rate-limit wordings of common providers count as transient, whatever their code."""
    bridge, address = feed_on_bridge
    bridge.error_next(1, code, message)
    assert read_latest_round_data(make_client(bridge.url), address).answer == ANSWER
    assert sleeps == [0.01]


def test_other_rpc_errors_fail_at_once_with_code_and_message(
    feed_on_bridge: tuple[Any, str], make_client: Callable[..., RpcClient], sleeps: list[float]
) -> None:
    """A JSON-RPC error that is not a rate limit (say, a missing archive state) is not retried."""
    bridge, address = feed_on_bridge
    bridge.error_next(1, -32000, "missing trie node abc (path ) state 0x0 is not available")
    with pytest.raises(ChainReadError) as info:
        read_latest_round_data(make_client(bridge.url), address)
    assert str(info.value) == (
        f"eth_call latestRoundData() on {address}: JSON-RPC error -32000: "
        "missing trie node abc (path ) state 0x0 is not available"
    )
    assert info.value.kind == "rpc"
    assert sleeps == []


def test_backoff_is_capped_at_max_delay(
    feed_on_bridge: tuple[Any, str], make_client: Callable[..., RpcClient], sleeps: list[float]
) -> None:
    """Waits double from base_delay_s and never exceed max_delay_s."""
    bridge, address = feed_on_bridge
    bridge.fail_next(5, "503")
    client = make_client(bridge.url, max_retries=5, base_delay_s=0.5, max_delay_s=1.5)
    assert read_latest_round_data(client, address).answer == ANSWER
    assert sleeps == [0.5, 1.0, 1.5, 1.5, 1.5]


def test_retry_after_header_is_honoured_up_to_max_delay(
    feed_on_bridge: tuple[Any, str], make_client: Callable[..., RpcClient], sleeps: list[float]
) -> None:
    """A 429 with Retry-After: 7 waits 7 s when that is under max_delay_s, else max_delay_s."""
    bridge, address = feed_on_bridge
    bridge.fail_next(2, "retry_after")
    client = make_client(bridge.url, base_delay_s=0.01, max_delay_s=10.0)
    read_latest_round_data(client, address)
    assert sleeps == [7.0, 7.0]
    bridge.fail_next(1, "retry_after")
    make_client(bridge.url, base_delay_s=0.01, max_delay_s=2.0).block_number()
    assert sleeps[-1] == 2.0


def test_revert_is_not_retried_and_names_reason(
    feed_on_bridge: tuple[Any, str], make_client: Callable[..., RpcClient], sleeps: list[float]
) -> None:
    """A reverted call fails at once with the contract's reason (asking again cannot help)."""
    bridge, address = feed_on_bridge
    client = make_client(bridge.url)
    with pytest.raises(ChainReadError) as info:
        read_round_data(client, address, 999)
    assert str(info.value) == f"eth_call getRoundData(999) on {address}: reverted: No data present"
    assert info.value.kind == "reverted"
    assert info.value.rpc_code == 3
    assert len(bridge.calls("eth_call")) == 1
    assert sleeps == []


def test_call_to_address_without_code_says_no_contract(
    chain: Any, bridge: Any, make_client: Callable[..., RpcClient]
) -> None:
    """An eth_call to an account without code returns no data; the error asks for a contract."""
    eoa = chain.accounts[5]
    with pytest.raises(ChainReadError) as info:
        read_latest_round_data(make_client(bridge.url), eoa)
    message = str(info.value)
    assert message.startswith(f"eth_call latestRoundData() on {eoa}: returned no data")
    assert "Is there a contract" in message
    assert info.value.kind == "malformed"


def test_non_json_answer_is_malformed_and_not_retried(
    feed_on_bridge: tuple[Any, str], make_client: Callable[..., RpcClient], sleeps: list[float]
) -> None:
    """An HTML page with status 200 is a malformed answer, reported without retrying."""
    bridge, address = feed_on_bridge
    bridge.fail_next(1, "garbage")
    with pytest.raises(
        ChainReadError, match=r"latestRoundData\(\) on .*: response is not JSON-RPC"
    ):
        read_latest_round_data(make_client(bridge.url), address)
    assert sleeps == []


def test_unreachable_node_error_names_host_but_not_url_path(
    make_client: Callable[..., RpcClient], sleeps: list[float]
) -> None:
    """Connection refused is retried, then reported with scheme://host:port only (no key)."""
    client = make_client("http://127.0.0.1:9/v2/SECRETKEY", max_retries=1)
    with pytest.raises(ChainReadError) as info:
        client.block_number()
    message = str(info.value)
    assert message.startswith("eth_blockNumber: gave up after 2 attempts")
    assert "http://127.0.0.1:9" in message
    assert "SECRETKEY" not in message
    assert "connection failed" in message
    assert sleeps == [0.01]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"max_retries": -1}, "max_retries >= 0"),
        ({"base_delay_s": -0.1}, "base_delay_s >= 0"),
        ({"base_delay_s": 2.0, "max_delay_s": 1.0}, "max_delay_s >= base_delay_s"),
    ],
)
def test_retry_policy_rejects_invalid_values(kwargs: dict[str, Any], expected: str) -> None:
    """Negative counts or delays, or a cap below the first wait, are refused."""
    with pytest.raises(ValueError, match=expected):
        RetryPolicy(**kwargs)


def test_endpoint_label_drops_credentials_path_and_query() -> None:
    """Only scheme, host and port of an RPC URL are ever printed."""
    assert (
        endpoint_label("https://u:p@rpc.example.org:8443/key/abc?token=1")
        == "https://rpc.example.org:8443"
    )
