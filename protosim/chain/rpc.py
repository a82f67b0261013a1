"""A thin JSON-RPC client on web3's providers: retries with back-off and clear errors.

Readers call :meth:`RpcClient.eth_call` and :meth:`RpcClient.get_logs`, never web3's
contract objects, so that every failure becomes one :class:`ChainReadError` naming the
call, the contract and what was wrong. Transient failures (timeouts, dropped
connections, HTTP 429/5xx, JSON-RPC rate-limit errors) are retried with exponential
back-off; reverts and undecodable answers are not, because asking again gives the same
answer.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, cast
from urllib.parse import urlsplit

import requests
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import DecodingError, EncodingError
from web3 import Web3
from web3.providers import BaseProvider, HTTPProvider
from web3.types import RPCEndpoint

from protosim.chain.errors import ChainReadError, FailureKind

__all__ = [
    "RETRYABLE_HTTP_STATUS",
    "BlockId",
    "RetryPolicy",
    "RpcClient",
    "endpoint_label",
    "format_block",
    "parse_data",
    "parse_quantity",
    "to_address",
]

_log = logging.getLogger(__name__)

BlockId: TypeAlias = int | Literal["latest", "safe", "finalized", "earliest", "pending"]

#: HTTP statuses worth asking again: the node or a gateway in front of it is overloaded,
#: restarting or timing out, and the same request may well succeed a moment later.
RETRYABLE_HTTP_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

# Providers word rate limiting differently (Infura -32005 "project ID request rate
# exceeded", Alchemy 429 "Your app has exceeded its compute units per second capacity",
# QuickNode -32007 "request limit reached"); match on the words, not on one code.
_RATE_LIMIT_RE = re.compile(
    r"rate.?limit|too many requests|request limit reached|requests? per second|throttl"
    r"|(rate|quota|capacity|compute units).{0,20}exceeded"
    r"|exceeded .{0,40}(rate|quota|capacity|compute units)",
    re.IGNORECASE,
)
_ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
_PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)
_ERRNO_RE = re.compile(r"\[Errno -?\d+\] [^'\")]+")
_REMOTE_CLOSED_RE = re.compile(r"(Remote end closed connection[^'\")]*|Connection reset by peer)")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently to retry a transient RPC failure.

    Parameters
    ----------
    max_retries : int
        Retries after the first attempt (0 = try once).
    base_delay_s : float
        Wait before the first retry; each later retry waits twice as long.
    max_delay_s : float
        Cap on any single wait, including one asked for by a ``Retry-After`` header.
    """

    max_retries: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"expected max_retries >= 0, was {self.max_retries}")
        if self.base_delay_s < 0:
            raise ValueError(f"expected base_delay_s >= 0, was {self.base_delay_s}")
        if self.max_delay_s < self.base_delay_s:
            raise ValueError(
                f"expected max_delay_s >= base_delay_s ({self.base_delay_s}), "
                f"was {self.max_delay_s}"
            )

    def delay_s(self, retry: int, *, retry_after_s: float | None = None) -> float:
        """Return the wait in seconds before retry number ``retry + 1``.

        Parameters
        ----------
        retry : int
            0 for the wait before the first retry, 1 before the second, and so on.
        retry_after_s : float, optional
            A wait the server asked for (HTTP ``Retry-After``); honoured up to
            `max_delay_s` when it is longer than the back-off.

        Returns
        -------
        float
            ``min(max_delay_s, base_delay_s * 2**retry)``, or the server's wait if longer.

        Examples
        --------
        >>> policy = RetryPolicy(max_retries=6, base_delay_s=0.5, max_delay_s=4.0)
        >>> [policy.delay_s(i) for i in range(6)]
        [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
        >>> policy.delay_s(0, retry_after_s=3.0)
        3.0
        """
        backoff = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(retry, 64))
        if retry_after_s is not None:
            backoff = max(backoff, min(retry_after_s, self.max_delay_s))
        return backoff


@dataclass(frozen=True, slots=True)
class _Failure:
    retryable: bool
    kind: FailureKind
    detail: str
    rpc_code: int | None = None
    rpc_message: str | None = None
    retry_after_s: float | None = None


def endpoint_label(url: str) -> str:
    """Return `url` without path, query or credentials, safe to print in an error.

    Hosted RPC URLs carry the API key in the path (``/v2/<key>``) or query, so errors
    name only the scheme, host and port.

    Examples
    --------
    >>> endpoint_label("https://user:pw@eth-mainnet.example.com/v2/SECRETKEY?x=1")
    'https://eth-mainnet.example.com'
    >>> endpoint_label("http://127.0.0.1:8545")
    'http://127.0.0.1:8545'
    """
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def parse_quantity(value: Any) -> int:
    """Return a JSON-RPC quantity (``"0x1b4"``) as an int; an int is passed through.

    Examples
    --------
    >>> parse_quantity("0x1b4"), parse_quantity(436)
    (436, 436)
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value[:2] in ("0x", "0X"):
        return int(value, 16)
    raise ValueError(f"expected a hex quantity like '0x1b4', was {value!r}")


def parse_data(value: Any) -> bytes:
    r"""Return JSON-RPC data (``"0x00ff"``) as bytes.

    Examples
    --------
    >>> parse_data("0x00ff")
    b'\x00\xff'
    """
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str) and value[:2] in ("0x", "0X"):
        digits = value[2:]
        if len(digits) % 2:
            raise ValueError(f"expected an even number of hex digits, was {value[:20]!r}")
        return bytes.fromhex(digits)
    raise ValueError(f"expected hex data like '0x00ff', was {value!r:.60}")


def to_address(value: str) -> str:
    """Return `value` as an EIP-55 checksummed address, or raise ``ValueError``.

    Examples
    --------
    >>> to_address("0x5f4ec3df9cbd43714fe2740f5e3616155c5b8419")
    '0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419'
    """
    if not isinstance(value, str) or not re.fullmatch(r"0[xX][0-9a-fA-F]{40}", value):
        raise ValueError(f"expected a 20-byte hex address like 0x5f4e…8419, was {value!r}")
    return str(Web3.to_checksum_address(value))


def format_block(block: BlockId) -> str:
    """Return `block` as a JSON-RPC block parameter (``"0x10"`` or a tag).

    Examples
    --------
    >>> format_block(16), format_block("latest")
    ('0x10', 'latest')
    """
    if isinstance(block, int):
        if block < 0:
            raise ValueError(f"expected a block number >= 0, was {block}")
        return hex(block)
    return block


def _split_types(signature: str) -> tuple[str, list[str]]:
    name, sep, rest = signature.partition("(")
    if not sep or not rest.endswith(")") or not name:
        raise ValueError(f"expected a function signature like 'f(uint256)', was {signature!r}")
    inner = rest[:-1]
    types: list[str] = []
    depth = 0
    current = ""
    for char in inner:
        if char == "," and depth == 0:
            types.append(current.strip())
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    if current.strip():
        types.append(current.strip())
    return name, types


def _format_arg(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_format_arg(v) for v in value) + "]"
    return str(value)


def _revert_reason(message: str, data: Any) -> str:
    raw: bytes | None = None
    if isinstance(data, str):
        try:
            raw = parse_data(data)
        except ValueError:
            raw = None
    if raw and raw[:4] == _ERROR_SELECTOR:
        try:
            return str(abi_decode(["string"], raw[4:])[0])
        except (DecodingError, ValueError):
            pass
    if raw and raw[:4] == _PANIC_SELECTOR and len(raw) >= 36:
        return f"panic 0x{int.from_bytes(raw[4:36], 'big'):02x}"
    reason = re.sub(
        r"^(VM Exception while processing transaction: )?(execution )?reverted:?\s*",
        "",
        message,
        flags=re.IGNORECASE,
    ).strip()
    if reason:
        return reason
    if raw:
        return f"custom error 0x{raw[:4].hex()}"
    return "no reason given"


def _classify_rpc_error(error: Any) -> _Failure:
    if not isinstance(error, Mapping):
        return _Failure(False, "malformed", f"malformed JSON-RPC error object: {error!r:.200}")
    raw_code = error.get("code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    message = str(error.get("message", ""))
    if code == 429 or _RATE_LIMIT_RE.search(message):
        return _Failure(
            True,
            "rpc",
            f"rate limited (JSON-RPC error {code}: {message})",
            rpc_code=code,
            rpc_message=message,
        )
    if code == 3 or "revert" in message.lower():
        reason = _revert_reason(message, error.get("data"))
        return _Failure(
            False, "reverted", f"reverted: {reason}", rpc_code=code, rpc_message=message
        )
    return _Failure(
        False, "rpc", f"JSON-RPC error {code}: {message}", rpc_code=code, rpc_message=message
    )


def _parse_retry_after(value: str | None) -> float | None:
    # Only the delta-seconds form: an HTTP date would need the wall clock to interpret.
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _describe_connection_error(exc: BaseException) -> str:
    # requests' own text embeds the request URL, which may hold an API key: keep only
    # the operating system's reason.
    text = repr(exc)
    for pattern in (_REMOTE_CLOSED_RE, _ERRNO_RE):
        match = pattern.search(text)
        if match:
            return f"connection failed: {match.group(0).strip()}"
    return f"connection failed ({type(exc).__name__})"


def _classify_exception(exc: Exception) -> _Failure:
    if isinstance(exc, requests.exceptions.HTTPError):
        response = exc.response
        status = response.status_code if response is not None else None
        reason = response.reason if response is not None else ""
        retry_after = (
            _parse_retry_after(response.headers.get("Retry-After"))
            if response is not None
            else None
        )
        return _Failure(
            status in RETRYABLE_HTTP_STATUS,
            "transport",
            f"HTTP {status} {reason}".strip(),
            retry_after_s=retry_after,
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return _Failure(True, "transport", "timed out waiting for the node")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return _Failure(True, "transport", _describe_connection_error(exc))
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return _Failure(True, "transport", "connection broke off mid-response")
    if isinstance(exc, requests.exceptions.RequestException):
        return _Failure(False, "transport", f"request failed ({type(exc).__name__})")
    if isinstance(exc, ValueError):
        # web3 raises a ValueError subclass when the body is not JSON (an HTML error page).
        return _Failure(False, "malformed", f"response is not JSON-RPC: {exc!s:.200}")
    if isinstance(exc, OSError):
        return _Failure(True, "transport", _describe_connection_error(exc))
    raise exc


class RpcClient:
    """JSON-RPC client that retries transient failures and names the call when it fails.

    Parameters
    ----------
    provider : web3.providers.BaseProvider
        Anything with web3's ``make_request(method, params) -> response dict``; usually
        an ``HTTPProvider`` built by :meth:`from_url`, with web3's own retries off.
    retry : RetryPolicy, optional
        Retry count and back-off; defaults to ``RetryPolicy()``.
    sleep : callable, optional
        Called with the back-off in seconds between attempts (``time.sleep``); tests
        pass a recorder so they do not wait.
    label : str, optional
        Where the client points, for error messages (no secrets: see
        :func:`endpoint_label`).

    Examples
    --------
    >>> client = RpcClient.from_url("http://127.0.0.1:8545", retry=RetryPolicy(max_retries=2))
    >>> client.label
    'http://127.0.0.1:8545'
    """

    def __init__(
        self,
        provider: BaseProvider,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        label: str | None = None,
    ) -> None:
        self._provider = provider
        self._retry = retry if retry is not None else RetryPolicy()
        self._sleep = sleep
        self.label = label or type(provider).__name__
        self._requests_sent = 0

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RpcClient:
        """Return a client for an HTTP(S) JSON-RPC endpoint.

        Parameters
        ----------
        url : str
            The endpoint, e.g. ``https://eth-mainnet.example.com/v2/<key>``.
        timeout_s : float
            Seconds to wait for one HTTP response before counting it as a timeout.
        retry : RetryPolicy, optional
            Retry count and back-off.
        sleep : callable, optional
            Back-off sleeper (``time.sleep``).

        Returns
        -------
        RpcClient
            A client whose provider does not retry on its own (this class does).
        """
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"expected an http:// or https:// RPC URL, was {endpoint_label(url)}")
        if timeout_s <= 0:
            raise ValueError(f"expected timeout_s > 0, was {timeout_s}")
        provider = HTTPProvider(
            url, request_kwargs={"timeout": timeout_s}, exception_retry_configuration=None
        )
        return cls(provider, retry=retry, sleep=sleep, label=endpoint_label(url))

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy in force."""
        return self._retry

    @property
    def requests_sent(self) -> int:
        """Number of HTTP requests made so far, retries included."""
        return self._requests_sent

    def request(
        self,
        method: str,
        params: Sequence[Any],
        *,
        call: str | None = None,
        address: str | None = None,
    ) -> Any:
        """Send one JSON-RPC request, retrying transient failures, and return its result.

        Parameters
        ----------
        method : str
            JSON-RPC method, e.g. ``eth_call``.
        params : sequence
            JSON-RPC params, already in wire format (hex quantities).
        call : str, optional
            How to name the request in an error; defaults to `method`.
        address : str, optional
            The contract the request is about, for the error message.

        Returns
        -------
        Any
            The response's ``result`` member, undecoded.

        Raises
        ------
        ChainReadError
            When a non-transient failure happens, or transient ones outlast
            ``retry.max_retries``.
        """
        name = call or method
        attempts = self._retry.max_retries + 1
        for attempt in range(attempts):
            self._requests_sent += 1
            try:
                response = self._provider.make_request(RPCEndpoint(method), list(params))
            except Exception as exc:  # unknown kinds are re-raised by _classify_exception
                failure = _classify_exception(exc)
            else:
                ok, value = self._unwrap(response)
                if ok:
                    return value
                failure = cast(_Failure, value)
            if not failure.retryable:
                detail = failure.detail
                if failure.kind == "transport":
                    detail = f"{detail} (via {self.label})"
                raise ChainReadError(
                    name,
                    detail,
                    address=address,
                    kind=failure.kind,
                    rpc_code=failure.rpc_code,
                    rpc_message=failure.rpc_message,
                )
            if attempt + 1 < attempts:
                delay = self._retry.delay_s(attempt, retry_after_s=failure.retry_after_s)
                _log.info(
                    "%s: %s; retry %d/%d in %.2f s",
                    name,
                    failure.detail,
                    attempt + 1,
                    self._retry.max_retries,
                    delay,
                )
                self._sleep(delay)
        raise ChainReadError(
            name,
            f"gave up after {attempts} attempt{'s' if attempts > 1 else ''} "
            f"(max_retries={self._retry.max_retries}) via {self.label}; "
            f"last error: {failure.detail}",
            address=address,
            kind="transport",
            rpc_code=failure.rpc_code,
            rpc_message=failure.rpc_message,
        )

    @staticmethod
    def _unwrap(response: Any) -> tuple[bool, Any]:
        if not isinstance(response, Mapping):
            return False, _Failure(
                False, "malformed", f"response is not a JSON object: {response!r:.200}"
            )
        error = response.get("error")
        if error is not None:
            return False, _classify_rpc_error(error)
        if "result" not in response:
            return False, _Failure(False, "malformed", "response has neither 'result' nor 'error'")
        return True, response["result"]

    def block_number(self) -> int:
        """Return the number of the node's latest block (``eth_blockNumber``)."""
        result = self.request("eth_blockNumber", [])
        try:
            return parse_quantity(result)
        except ValueError as exc:
            raise ChainReadError("eth_blockNumber", str(exc)) from None

    def chain_id(self) -> int:
        """Return the chain id (``eth_chainId``)."""
        result = self.request("eth_chainId", [])
        try:
            return parse_quantity(result)
        except ValueError as exc:
            raise ChainReadError("eth_chainId", str(exc)) from None

    def block_timestamp(self, block: BlockId) -> int:
        """Return the Unix timestamp of `block` (``eth_getBlockByNumber``)."""
        call = f"eth_getBlockByNumber {block}"
        result = self.request("eth_getBlockByNumber", [format_block(block), False], call=call)
        if not isinstance(result, Mapping):
            raise ChainReadError(
                call,
                f"expected a block object, was {result!r:.80}"
                + (" (block not found)" if result is None else ""),
            )
        try:
            return parse_quantity(result.get("timestamp"))
        except ValueError as exc:
            raise ChainReadError(call, f"block timestamp: {exc}") from None

    def eth_call(
        self,
        address: str,
        signature: str,
        args: Sequence[Any] = (),
        *,
        returns: Sequence[str],
        block: BlockId = "latest",
    ) -> tuple[Any, ...]:
        """Call a view function and return its ABI-decoded outputs.

        Parameters
        ----------
        address : str
            Contract address.
        signature : str
            Canonical function signature, e.g. ``getRoundData(uint80)``.
        args : sequence
            Arguments, in the order of `signature`.
        returns : sequence of str
            ABI output types, e.g. ``("uint80", "int256", "uint256", "uint256", "uint80")``.
        block : int or str
            Block number or tag to evaluate at.

        Returns
        -------
        tuple
            Decoded outputs (ints, strs, bools, tuples, checksummed address strings).

        Raises
        ------
        ChainReadError
            On transport failure, revert, empty return (no contract or no such
            function) or undecodable return data.
        """
        name, arg_types = _split_types(signature)
        if len(arg_types) != len(args):
            raise ValueError(f"{signature} takes {len(arg_types)} arguments, was given {len(args)}")
        try:
            payload = Web3.keccak(text=signature)[:4] + abi_encode(arg_types, list(args))
        except (EncodingError, TypeError, OverflowError) as exc:
            raise ValueError(
                f"cannot encode arguments {list(args)!r} for {signature}: {exc}"
            ) from exc
        shown = f"{name}({', '.join(_format_arg(a) for a in args)})"
        call = f"eth_call {shown}" + (f" at block {block}" if isinstance(block, int) else "")
        result = self.request(
            "eth_call",
            [{"to": address, "data": "0x" + payload.hex()}, format_block(block)],
            call=call,
            address=address,
        )
        try:
            raw = parse_data(result)
        except ValueError as exc:
            raise ChainReadError(call, str(exc), address=address) from None
        expected = f"({','.join(returns)})"
        if not raw:
            raise ChainReadError(
                call,
                f"returned no data; expected ABI-encoded {expected}. Is there a contract "
                f"with {name}() at this address on this chain"
                + (f" at block {block}" if isinstance(block, int) else "")
                + "?",
                address=address,
            )
        try:
            return tuple(abi_decode(list(returns), raw))
        except (DecodingError, ValueError, OverflowError) as exc:
            raise ChainReadError(
                call, f"cannot decode {len(raw)} bytes as {expected}: {exc}", address=address
            ) from None

    def get_logs(
        self,
        address: str,
        *,
        topics: Sequence[str | None],
        from_block: int,
        to_block: int,
        call: str | None = None,
    ) -> list[Mapping[str, Any]]:
        """Return the raw logs of one ``eth_getLogs`` request (no chunking here).

        Parameters
        ----------
        address : str
            Emitting contract.
        topics : sequence of str or None
            Topic filter, hex strings (``None`` matches anything in that position).
        from_block, to_block : int
            Inclusive block range.
        call : str, optional
            How to name the request in an error.

        Returns
        -------
        list of Mapping
            The node's log objects, as sent (hex fields).
        """
        name = call or f"eth_getLogs blocks {from_block}-{to_block}"
        result = self.request(
            "eth_getLogs",
            [
                {
                    "address": address,
                    "fromBlock": format_block(from_block),
                    "toBlock": format_block(to_block),
                    "topics": list(topics),
                }
            ],
            call=name,
            address=address,
        )
        if not isinstance(result, list) or not all(isinstance(log, Mapping) for log in result):
            raise ChainReadError(
                name, f"expected a list of log objects, was {result!r:.120}", address=address
            )
        return result
