"""Read a Chainlink price feed: its rounds, and its ``AnswerUpdated`` history as CSV.

The read surface is ``AggregatorV3Interface`` (``decimals``, ``description``,
``latestRoundData``, ``getRoundData``) and the aggregator's event
``AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt)``.
Both indexed values sit in topics 1 and 2 and ``updatedAt`` is the only word of data;
``current`` is a signed two's-complement word, so a negative answer decodes as negative.

Feed addresses people know are usually ``EACAggregatorProxy`` contracts, which emit no
events: :func:`resolve_aggregator` follows the proxy's ``aggregator()`` to the contract
that does. Round ids in the CSV are then the aggregator's own; the proxy exposes the
same round as ``(phaseId << 64) | roundId``.

The CSV (``round_id,answer,updated_at,block_number,tx_hash``) is what a scenario replays:
answers are exact decimal strings scaled by the feed's ``decimals`` and times are
ISO-8601 UTC with a ``Z``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from web3 import Web3

from protosim.chain._files import write_text_atomic
from protosim.chain.errors import ChainReadError
from protosim.chain.rpc import BlockId, RpcClient, parse_data, parse_quantity, to_address

__all__ = [
    "ANSWER_UPDATED_TOPIC",
    "CSV_COLUMNS",
    "AnswerUpdate",
    "FeedRounds",
    "RoundData",
    "decode_answer_updated",
    "format_answer",
    "format_utc",
    "read_answer_updates",
    "read_decimals",
    "read_description",
    "read_feed_rounds",
    "read_latest_round_data",
    "read_round_data",
    "resolve_aggregator",
    "rounds_csv_text",
    "write_rounds_csv",
]

#: keccak256("AnswerUpdated(int256,uint256,uint256)"), the event's topic 0.
ANSWER_UPDATED_TOPIC = "0x" + Web3.keccak(text="AnswerUpdated(int256,uint256,uint256)").hex()

#: Header of the oracle-rounds CSV.
CSV_COLUMNS = ("round_id", "answer", "updated_at", "block_number", "tx_hash")

_ROUND_TYPES = ("uint80", "int256", "uint256", "uint256", "uint80")

# Wordings nodes use when one eth_getLogs range holds too many logs or blocks
# (geth/Infura "query returned more than 10000 results", Alchemy "Log response size
# exceeded", others "block range is too wide", "exceed maximum block range").
_RANGE_TOO_LARGE_RE = re.compile(
    r"more than \d+ (results|logs)|query returned more|response size|block range"
    r"|range (is )?too (large|wide|big)|too many (results|logs|blocks)"
    r"|max(imum)? (block )?range|limit exceeded",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundData:
    """One round as ``latestRoundData``/``getRoundData`` return it (raw integers).

    Attributes
    ----------
    round_id : int
        Round id as the called contract numbers it (phase-encoded on a proxy).
    answer : int
        Signed answer in units of ``10**-decimals``.
    started_at, updated_at : int
        Unix seconds.
    answered_in_round : int
        Round in which the answer was computed.
    """

    round_id: int
    answer: int
    started_at: int
    updated_at: int
    answered_in_round: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerUpdate:
    """One decoded ``AnswerUpdated`` log.

    Attributes
    ----------
    round_id : int
        The aggregator's round id (topic 2).
    answer : int
        Signed answer in units of ``10**-decimals`` (topic 1).
    updated_at : int
        Unix seconds (data word 0).
    block_number : int
        Block that included the log.
    tx_hash : str
        Transaction hash, ``0x``-prefixed lower-case hex.
    log_index : int
        Position of the log in its block.
    """

    round_id: int
    answer: int
    updated_at: int
    block_number: int
    tx_hash: str
    log_index: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedRounds:
    """A feed's answer history over a block range, ready to write as CSV.

    Attributes
    ----------
    feed : str
        The address asked for (a proxy or an aggregator).
    aggregator : str
        The contract whose logs were read.
    decimals : int
        The feed's ``decimals()``.
    description : str or None
        The feed's ``description()``, when it has one.
    from_block, to_block : int
        Inclusive block range read.
    updates : tuple of AnswerUpdate
        Logs in chain order (block, then log index).
    """

    feed: str
    aggregator: str
    decimals: int
    description: str | None
    from_block: int
    to_block: int
    updates: tuple[AnswerUpdate, ...]


def format_answer(answer: int, decimals: int) -> str:
    """Return a raw feed answer as an exact decimal string with `decimals` places.

    Parameters
    ----------
    answer : int
        Signed raw answer (``int256``).
    decimals : int
        The feed's ``decimals()``.

    Returns
    -------
    str
        ``answer / 10**decimals`` written out exactly; never scientific notation.

    Examples
    --------
    >>> format_answer(123456789012, 8)
    '1234.56789012'
    >>> format_answer(-50000000, 8)
    '-0.50000000'
    >>> format_answer(7, 0)
    '7'
    """
    if decimals < 0:
        raise ValueError(f"expected decimals >= 0, was {decimals}")
    sign = "-" if answer < 0 else ""
    whole, frac = divmod(abs(answer), 10**decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}" if decimals else f"{sign}{whole}"


def format_utc(timestamp: int) -> str:
    """Return Unix seconds as ISO-8601 UTC with a ``Z`` suffix.

    Examples
    --------
    >>> format_utc(1583971200)
    '2020-03-12T00:00:00Z'
    """
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _word(value: Any, what: str) -> bytes:
    raw = parse_data(value)
    if len(raw) != 32:
        raise ValueError(f"expected {what} to be one 32-byte word, was {len(raw)} bytes")
    return raw


def decode_answer_updated(log: Mapping[str, Any]) -> AnswerUpdate:
    """Decode one raw ``AnswerUpdated`` log object from ``eth_getLogs``.

    Parameters
    ----------
    log : Mapping
        A JSON-RPC log: ``topics`` (topic 0 is :data:`ANSWER_UPDATED_TOPIC`), ``data``,
        ``blockNumber``, ``transactionHash``, ``logIndex``.

    Returns
    -------
    AnswerUpdate
        Round id, signed answer, updatedAt and where the log was included.

    Raises
    ------
    ValueError
        When the log is not a well-formed ``AnswerUpdated``.

    Examples
    --------
    A round-7 answer of -1 (two's complement all ones) updated at 1583971200:

    >>> log = {
    ...     "topics": [ANSWER_UPDATED_TOPIC, "0x" + "ff" * 32, "0x" + "00" * 31 + "07"],
    ...     "data": "0x" + (1583971200).to_bytes(32, "big").hex(),
    ...     "blockNumber": "0x10", "logIndex": "0x0", "transactionHash": "0x" + "ab" * 32,
    ... }
    >>> update = decode_answer_updated(log)
    >>> update.round_id, update.answer, update.updated_at, update.block_number
    (7, -1, 1583971200, 16)
    """
    topics = log.get("topics")
    if not isinstance(topics, list) or len(topics) != 3:
        raise ValueError(f"expected 3 topics (signature, current, roundId), was {topics!r:.200}")
    if str(topics[0]).lower() != ANSWER_UPDATED_TOPIC:
        raise ValueError(f"expected topic 0 {ANSWER_UPDATED_TOPIC}, was {topics[0]!r}")
    try:
        (answer,) = abi_decode(["int256"], _word(topics[1], "topic 1 (current)"))
        (round_id,) = abi_decode(["uint256"], _word(topics[2], "topic 2 (roundId)"))
        data = parse_data(log.get("data"))
        if len(data) != 32:
            raise ValueError(f"expected data to be one word (updatedAt), was {len(data)} bytes")
        (updated_at,) = abi_decode(["uint256"], data)
    except DecodingError as exc:
        raise ValueError(str(exc)) from exc
    tx_hash = parse_data(log.get("transactionHash"))
    if len(tx_hash) != 32:
        raise ValueError(f"expected a 32-byte transactionHash, was {log.get('transactionHash')!r}")
    return AnswerUpdate(
        round_id=int(round_id),
        answer=int(answer),
        updated_at=int(updated_at),
        block_number=parse_quantity(log.get("blockNumber")),
        tx_hash="0x" + tx_hash.hex(),
        log_index=parse_quantity(log.get("logIndex")),
    )


def read_decimals(client: RpcClient, feed: str, *, block: BlockId = "latest") -> int:
    """Return the feed's ``decimals()``."""
    (decimals,) = client.eth_call(feed, "decimals()", returns=("uint8",), block=block)
    return int(decimals)


def read_description(client: RpcClient, feed: str, *, block: BlockId = "latest") -> str:
    """Return the feed's ``description()``, e.g. ``"ETH / USD"``."""
    (description,) = client.eth_call(feed, "description()", returns=("string",), block=block)
    return str(description)


def _round(values: Sequence[Any]) -> RoundData:
    return RoundData(
        round_id=int(values[0]),
        answer=int(values[1]),
        started_at=int(values[2]),
        updated_at=int(values[3]),
        answered_in_round=int(values[4]),
    )


def read_latest_round_data(client: RpcClient, feed: str, *, block: BlockId = "latest") -> RoundData:
    """Return the feed's ``latestRoundData()``."""
    return _round(client.eth_call(feed, "latestRoundData()", returns=_ROUND_TYPES, block=block))


def read_round_data(
    client: RpcClient, feed: str, round_id: int, *, block: BlockId = "latest"
) -> RoundData:
    """Return the feed's ``getRoundData(round_id)``; a missing round raises ``ChainReadError``."""
    values = client.eth_call(
        feed, "getRoundData(uint80)", (round_id,), returns=_ROUND_TYPES, block=block
    )
    return _round(values)


def resolve_aggregator(client: RpcClient, feed: str, *, block: BlockId = "latest") -> str:
    """Return the aggregator behind a proxy feed, or `feed` itself if it is not a proxy.

    A proxy answers ``aggregator()``; an aggregator reverts or returns nothing, and
    is then taken to be the emitter of ``AnswerUpdated`` itself. A node that cannot be
    reached still raises.
    """
    try:
        (aggregator,) = client.eth_call(feed, "aggregator()", returns=("address",), block=block)
    except ChainReadError as exc:
        if exc.kind in ("reverted", "malformed"):
            return to_address(feed)
        raise
    if int(aggregator, 16) == 0:
        raise ChainReadError(
            "eth_call aggregator()", "the proxy points at the zero address", address=feed
        )
    return to_address(aggregator)


def read_answer_updates(
    client: RpcClient,
    aggregator: str,
    from_block: int,
    to_block: int,
    *,
    chunk_size: int = 2000,
    on_chunk: Callable[[int, int], None] | None = None,
) -> list[AnswerUpdate]:
    """Return the ``AnswerUpdated`` logs of `aggregator` in an inclusive block range.

    The range is read in ``eth_getLogs`` requests of at most `chunk_size` blocks (nodes
    cap the range or the result count); a chunk the node refuses as too large is split
    in half and read again, down to single blocks.

    Parameters
    ----------
    client : RpcClient
        The node to read from.
    aggregator : str
        The contract that emits the logs (see :func:`resolve_aggregator`).
    from_block, to_block : int
        Inclusive block range.
    chunk_size : int
        Most blocks per ``eth_getLogs`` request.
    on_chunk : callable, optional
        Called as ``on_chunk(blocks_done, blocks_total)`` after each chunk.

    Returns
    -------
    list of AnswerUpdate
        In chain order; logs flagged ``removed`` (reorged out) are skipped.
    """
    if from_block < 0 or to_block < from_block:
        raise ValueError(f"expected 0 <= from_block <= to_block, was {from_block}..{to_block}")
    if chunk_size < 1:
        raise ValueError(f"expected chunk_size >= 1, was {chunk_size}")
    total = to_block - from_block + 1
    pending = [
        (start, min(start + chunk_size - 1, to_block))
        for start in range(from_block, to_block + 1, chunk_size)
    ]
    pending.reverse()
    updates: list[AnswerUpdate] = []
    done = 0
    while pending:
        start, end = pending.pop()
        call = f"eth_getLogs AnswerUpdated blocks {start}-{end}"
        try:
            logs = client.get_logs(
                aggregator, topics=[ANSWER_UPDATED_TOPIC], from_block=start, to_block=end, call=call
            )
        except ChainReadError as exc:
            if exc.kind == "rpc" and end > start and _RANGE_TOO_LARGE_RE.search(exc.detail):
                middle = (start + end) // 2
                pending.extend([(middle + 1, end), (start, middle)])
                continue
            raise
        for log in logs:
            if log.get("removed") is True:
                continue
            try:
                updates.append(decode_answer_updated(log))
            except ValueError as exc:
                raise ChainReadError(
                    call, f"malformed AnswerUpdated log: {exc}", address=aggregator
                ) from None
        done += end - start + 1
        if on_chunk is not None:
            on_chunk(done, total)
    updates.sort(key=lambda u: (u.block_number, u.log_index))
    return updates


def read_feed_rounds(
    client: RpcClient,
    feed: str,
    from_block: int,
    to_block: int | None = None,
    *,
    chunk_size: int = 2000,
    on_chunk: Callable[[int, int], None] | None = None,
) -> FeedRounds:
    """Read a feed's decimals, description and ``AnswerUpdated`` history.

    Parameters
    ----------
    client : RpcClient
        The node to read from.
    feed : str
        A proxy (``EACAggregatorProxy``) or aggregator address.
    from_block : int
        First block to read.
    to_block : int, optional
        Last block to read; the node's latest block when omitted.
    chunk_size : int
        Most blocks per ``eth_getLogs`` request.
    on_chunk : callable, optional
        Progress callback, see :func:`read_answer_updates`.

    Returns
    -------
    FeedRounds
        Everything :func:`write_rounds_csv` needs.

    Notes
    -----
    Through a proxy, logs are read from the aggregator the proxy points at on
    `to_block`. A range that spans an aggregator upgrade (a new proxy phase) therefore
    holds only the rounds of the newest aggregator: read earlier ranges from the older
    aggregator's address.
    """
    feed = to_address(feed)
    last = client.block_number() if to_block is None else to_block
    aggregator = resolve_aggregator(client, feed, block=last)
    decimals = read_decimals(client, feed, block=last)
    try:
        description: str | None = read_description(client, feed, block=last)
    except ChainReadError as exc:
        if exc.kind not in ("reverted", "malformed"):
            raise
        description = None
    updates = read_answer_updates(
        client, aggregator, from_block, last, chunk_size=chunk_size, on_chunk=on_chunk
    )
    return FeedRounds(
        feed=feed,
        aggregator=aggregator,
        decimals=decimals,
        description=description,
        from_block=from_block,
        to_block=last,
        updates=tuple(updates),
    )


def rounds_csv_text(updates: Sequence[AnswerUpdate], decimals: int) -> str:
    """Return the oracle-rounds CSV for `updates`.

    Examples
    --------
    >>> update = AnswerUpdate(round_id=3, answer=-150000000, updated_at=1583971200,
    ...                       block_number=9652000, tx_hash="0x" + "ab" * 32, log_index=0)
    >>> print(rounds_csv_text([update], 8), end="")
    round_id,answer,updated_at,block_number,tx_hash
    3,-1.50000000,2020-03-12T00:00:00Z,9652000,0xabababababababababababababababababababababababababababababababab
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for update in updates:
        writer.writerow(
            (
                update.round_id,
                format_answer(update.answer, decimals),
                format_utc(update.updated_at),
                update.block_number,
                update.tx_hash,
            )
        )
    return buffer.getvalue()


def write_rounds_csv(path: str | Path, rounds: FeedRounds) -> Path:
    """Write `rounds` as an oracle-rounds CSV, atomically (all or nothing).

    Returns
    -------
    Path
        The file written.
    """
    return write_text_atomic(path, rounds_csv_text(rounds.updates, rounds.decimals))
