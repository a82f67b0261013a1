"""A real EVM for the chain readers: Vyper test contracts on py-evm behind real HTTP.

- ``contracts``: the ``contracts/*.vy`` files compiled with the ``vyper`` package (once
  per session; the output is cached in a temp dir keyed by source hash and compiler
  version, so a re-run skips the compiler).
- ``chain``: a fresh in-process chain (eth-tester + py-evm via web3's
  ``EthereumTesterProvider``) with helpers to deploy, transact and move time.
- ``bridge``: a JSON-RPC server on 127.0.0.1 (stdlib ``http.server`` in a thread) that
  forwards request bodies to that chain and answers like a node (hex quantities,
  ``code 3`` reverts with ABI-encoded reasons). It can be told to misbehave for chosen
  requests: drop the connection, answer 503 or 429, stall past the client's timeout,
  send a JSON-RPC rate-limit error or an HTML page, or refuse wide ``eth_getLogs``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract

from protosim.chain.rpc import RetryPolicy, RpcClient

CONTRACTS = Path(__file__).resolve().parent / "contracts"
FAULTS = ("close", "503", "429", "retry_after", "delay", "rate_limit_rpc", "garbage")


@dataclass(frozen=True)
class Artifact:
    abi: list[dict[str, Any]]
    bytecode: str


def _compile(vyper: Any, path: Path, cache_dir: Path) -> Artifact:
    source = path.read_text()
    key = hashlib.sha256(f"{vyper.__version__}\n{source}".encode()).hexdigest()[:24]
    cached = cache_dir / f"{path.stem}-{key}.json"
    if cached.exists():
        data = json.loads(cached.read_text())
        return Artifact(abi=data["abi"], bytecode=data["bytecode"])
    out = vyper.compile_code(source, contract_path=path.name, output_formats=["abi", "bytecode"])
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"abi": out["abi"], "bytecode": out["bytecode"]}))
    os.replace(tmp, cached)  # parallel sessions may race; the last complete write wins
    return Artifact(abi=out["abi"], bytecode=out["bytecode"])


@pytest.fixture(scope="session")
def contracts() -> dict[str, Artifact]:
    """ABI and bytecode of every test contract, by file stem (skips if vyper is missing)."""
    vyper = pytest.importorskip("vyper", reason="the chain tests compile Vyper contracts")
    pytest.importorskip("eth_tester", reason="the chain tests run on eth-tester")
    cache_dir = Path(tempfile.gettempdir()) / f"protosim-vyper-cache-{os.getuid()}"
    cache_dir.mkdir(exist_ok=True)
    return {p.stem: _compile(vyper, p, cache_dir) for p in sorted(CONTRACTS.glob("*.vy"))}


class Chain:
    """An in-process py-evm chain; every transaction is mined in its own block."""

    def __init__(self, artifacts: dict[str, Artifact]) -> None:
        self.provider = EthereumTesterProvider()
        self.w3 = Web3(self.provider)
        # web3 8.0's ENS middleware crashes on eth_getLogs filters (it feeds the filter
        # to the ENS name normaliser); the tests use no ENS names.
        self.w3.middleware_onion.remove("ens_name_to_address")
        self.tester = self.provider.ethereum_tester
        self.w3.eth.default_account = self.w3.eth.accounts[0]
        self.accounts: list[str] = list(self.w3.eth.accounts)
        self._artifacts = artifacts

    def deploy(self, name: str, *args: Any) -> Contract:
        art = self._artifacts[name]
        factory = self.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        receipt = self.w3.eth.wait_for_transaction_receipt(factory.constructor(*args).transact())
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=art.abi)

    def transact(self, fn: Any) -> Any:
        return self.w3.eth.wait_for_transaction_receipt(fn.transact())

    @property
    def latest(self) -> int:
        return int(self.w3.eth.block_number)

    def timestamp(self, block: int) -> int:
        return int(self.w3.eth.get_block(block)["timestamp"])

    def set_next_timestamp(self, timestamp: int) -> None:
        self.tester.time_travel(timestamp)

    def mine(self, blocks: int = 1) -> None:
        self.tester.mine_blocks(blocks)


@pytest.fixture
def chain(contracts: dict[str, Artifact]) -> Chain:
    """A fresh chain."""
    return Chain(contracts)


def _to_wire(value: Any) -> Any:
    # JSON-RPC writes every quantity as hex and every byte string as 0x-hex.
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_wire(v) for v in value]
    raise TypeError(f"cannot send {type(value).__name__} over JSON-RPC")


@dataclass
class Bridge:
    """Controls of the HTTP JSON-RPC bridge in front of one chain."""

    url: str
    delay_s: float = 0.6
    faults: list[str | dict[str, Any]] = field(default_factory=list)
    fail_after: int | None = None
    fail_after_mode: str = "503"
    max_log_range: int | None = None
    methods: list[tuple[str, Any]] = field(default_factory=list)
    served: int = 0

    def fail_next(self, count: int, mode: str) -> None:
        """Make the next `count` requests fail with `mode`."""
        assert mode in FAULTS, mode
        self.faults.extend([mode] * count)

    def error_next(self, count: int, code: int, message: str) -> None:
        """Answer the next `count` requests with this JSON-RPC error object (HTTP 200)."""
        self.faults.extend([{"code": code, "message": message}] * count)

    def fail_from(self, served: int, mode: str = "503") -> None:
        """Answer `served` more requests properly, then fail every later one."""
        self.fail_after = self.served + served
        self.fail_after_mode = mode

    def calls(self, method: str) -> list[Any]:
        return [params for m, params in self.methods if m == method]


class _Handler(BaseHTTPRequestHandler):
    chain: Chain
    bridge: Bridge
    lock: threading.Lock

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _fault(self, fault: str | dict[str, Any], rid: Any) -> None:
        if isinstance(fault, dict):
            return self._send(
                200, json.dumps({"jsonrpc": "2.0", "id": rid, "error": fault}).encode()
            )
        if fault == "delay":
            time.sleep(self.bridge.delay_s)  # past the client's timeout, then hang up
        if fault in ("close", "delay"):
            return self._drop()
        if fault == "rate_limit_rpc":
            error = {"code": -32005, "message": "project ID request rate exceeded"}
            body = json.dumps({"jsonrpc": "2.0", "id": rid, "error": error}).encode()
            return self._send(200, body)
        status, body, headers = {
            "503": (503, b"upstream unavailable", {}),
            "429": (429, b"slow down", {}),
            "retry_after": (429, b"slow down", {"Retry-After": "7"}),
            "garbage": (200, b"<html><body>502 Bad Gateway</body></html>", {}),
        }[fault]
        return self._send(status, body, headers)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        method, params, rid = body["method"], body.get("params", []), body.get("id")
        with self.lock:
            self.bridge.methods.append((method, params))
            fault = self.bridge.faults.pop(0) if self.bridge.faults else None
            failing = (
                self.bridge.fail_after is not None and self.bridge.served >= self.bridge.fail_after
            )
            if fault is None and failing:
                fault = self.bridge.fail_after_mode
        if fault is not None:
            return self._fault(fault, rid)
        return self._send(200, json.dumps(self._answer(method, params, rid)).encode())

    def _answer(self, method: str, params: Any, rid: Any) -> dict[str, Any]:
        if method == "eth_getLogs" and self.bridge.max_log_range is not None:
            flt = params[0]
            width = int(flt["toBlock"], 16) - int(flt["fromBlock"], 16) + 1
            if width > self.bridge.max_log_range:
                error = {"code": -32005, "message": "query returned more than 10000 results"}
                return {"jsonrpc": "2.0", "id": rid, "error": error}
        with self.lock:
            try:
                response = self.chain.w3.manager._make_request(method, params)
            except Exception as exc:
                message = str(exc)
                if "revert" in message:
                    reason = message.split("execution reverted:", 1)[-1].strip()
                    data = "0x08c379a0" + abi_encode(["string"], [reason]).hex()
                    error = {"code": 3, "message": message, "data": data}
                else:
                    error = {"code": -32000, "message": message}
                return {"jsonrpc": "2.0", "id": rid, "error": error}
            self.bridge.served += 1
        out: dict[str, Any] = {"jsonrpc": "2.0", "id": rid}
        if "error" in response:
            out["error"] = dict(response["error"])
        else:
            out["result"] = _to_wire(response["result"])
        return out


def _make_handler(
    chain: Chain, bridge: Bridge, lock: threading.Lock
) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"chain": chain, "bridge": bridge, "lock": lock})


@pytest.fixture
def bridge(chain: Chain) -> Iterator[Bridge]:
    """An HTTP JSON-RPC server on 127.0.0.1 in front of `chain`."""
    yield from _serve(chain)


def _serve(chain: Chain) -> Iterator[Bridge]:
    lock = threading.Lock()
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    server.block_on_close = False
    host, port = server.server_address[:2]
    state = Bridge(url=f"http://{host}:{port}")
    server.RequestHandlerClass = _make_handler(chain, state, lock)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def chain_factory(contracts: dict[str, Artifact]) -> Callable[[], Chain]:
    """Make fresh chains (for module-scoped fixtures that build shared state)."""
    return lambda: Chain(contracts)


@pytest.fixture(scope="session")
def serve() -> Callable[[Chain], contextlib.AbstractContextManager[Bridge]]:
    """Serve a chain over HTTP JSON-RPC for the duration of a ``with`` block."""
    return contextlib.contextmanager(_serve)


@pytest.fixture
def sleeps() -> list[float]:
    """Back-off waits the client asked for; recorded instead of slept."""
    return []


@pytest.fixture
def make_client(sleeps: list[float]) -> Callable[..., RpcClient]:
    """Build an RpcClient for a URL that records its back-off instead of sleeping."""

    def make(
        url: str,
        *,
        max_retries: int = 3,
        timeout_s: float = 2.0,
        base_delay_s: float = 0.01,
        max_delay_s: float = 0.04,
    ) -> RpcClient:
        retry = RetryPolicy(
            max_retries=max_retries, base_delay_s=base_delay_s, max_delay_s=max_delay_s
        )
        return RpcClient.from_url(url, timeout_s=timeout_s, retry=retry, sleep=sleeps.append)

    return make


# ---- a feed with history, shared by the read-only feed tests -------------------------


@dataclass(frozen=True)
class Round:
    round_id: int
    answer: int
    updated_at: int
    block_number: int
    tx_hash: str


@dataclass
class FeedHistory:
    chain: Chain
    bridge: Bridge
    aggregator: str
    proxy: str
    rounds: list[Round]
    first_block: int
    last_block: int


def _answer(i: int) -> int:
    # ETH/USD-like prices with 8 decimals, and one negative round (a broken feed can
    # print one; spreads and funding-rate feeds are legitimately negative).
    return -123_456_789 if i == 17 else 150_000_000_000 + 37_123_456 * i


@pytest.fixture(scope="session")
def feed_history(contracts: dict[str, Artifact]) -> Iterator[FeedHistory]:
    """An aggregator with 50 rounds, each mined in its own block, some empty blocks between."""
    chain = Chain(contracts)
    agg = chain.deploy("MockAggregator", 8, "ETH / USD")
    proxy = chain.deploy("MockFeedProxy", agg.address, 3)
    first = chain.latest + 1
    rounds = []
    for i in range(50):
        if i % 10 == 5:
            chain.mine(3)  # blocks without logs inside the range
        receipt = chain.transact(agg.functions.submit(_answer(i)))
        rounds.append(
            Round(
                round_id=i + 1,
                answer=_answer(i),
                updated_at=chain.timestamp(receipt["blockNumber"]),
                block_number=int(receipt["blockNumber"]),
                tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            )
        )
    chain.mine(2)
    for state in _serve(chain):
        yield FeedHistory(
            chain=chain,
            bridge=state,
            aggregator=agg.address,
            proxy=proxy.address,
            rounds=rounds,
            first_block=first,
            last_block=chain.latest,
        )


@pytest.fixture
def feed(feed_history: FeedHistory) -> FeedHistory:
    """`feed_history` with the bridge's fault controls and request log reset."""
    b = feed_history.bridge
    b.faults.clear()
    b.fail_after = None
    b.max_log_range = None
    b.methods.clear()
    return feed_history
