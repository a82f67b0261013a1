"""Read a Uniswap v3 pool's oracle: ``slot0``, ``observe`` and the TWAP over a window.

Uniswap v3 ``Oracle.sol`` accumulates ``tickCumulative += tick * elapsed`` on every
write; ``observe([window, 0])`` returns the cumulatives at ``now - window`` and
``now`` (interpolated between observations), so::

    arithmetic mean tick = (tickCumulative(now) - tickCumulative(now - window)) / window
    geometric TWAP       = 1.0001 ** mean tick      (token1 per token0, raw units)

``OracleLibrary.consult`` truncates the division and then rounds a negative,
inexact mean down, i.e. the mean tick is ``floor(delta / window)``; that integer tick
is what on-chain consumers price with, and :func:`arithmetic_mean_tick` returns it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from protosim.chain._files import write_text_atomic
from protosim.chain.chainlink import format_utc
from protosim.chain.errors import ChainReadError
from protosim.chain.rpc import BlockId, RpcClient, to_address

__all__ = [
    "TWAP_FORMAT",
    "Slot0",
    "TokenInfo",
    "TwapReading",
    "arithmetic_mean_tick",
    "read_observe",
    "read_slot0",
    "read_twap",
    "sqrt_price_x96_to_price",
    "tick_to_price",
    "twap_to_dict",
    "write_twap_json",
]

#: Identifies the JSON layout written by :func:`write_twap_json`.
TWAP_FORMAT = "protosim.chain.univ3_twap/1"

# feeProtocol is uint8 in Uniswap v3 and uint32 in some forks (PancakeSwap v3); uint32
# decodes both.
_SLOT0_TYPES = ("uint160", "int24", "uint16", "uint16", "uint16", "uint32", "bool")
_MAX_TICK = 887272


@dataclass(frozen=True, slots=True, kw_only=True)
class Slot0:
    """A pool's ``slot0()``.

    Attributes
    ----------
    sqrt_price_x96 : int
        ``sqrt(token1/token0) * 2**96`` (raw units).
    tick : int
        Current tick.
    observation_index, observation_cardinality, observation_cardinality_next : int
        The oracle ring buffer: last written slot, slots in use, slots allocated.
    fee_protocol : int
        Protocol fee setting.
    unlocked : bool
        False only during a swap (re-entrancy lock).
    """

    sqrt_price_x96: int
    tick: int
    observation_index: int
    observation_cardinality: int
    observation_cardinality_next: int
    fee_protocol: int
    unlocked: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenInfo:
    """A pool token, as far as it answers ``symbol()`` and ``decimals()``.

    Attributes
    ----------
    address : str
        Token address.
    symbol : str or None
        ``symbol()``.
    decimals : int or None
        ``decimals()``.
    """

    address: str
    symbol: str | None
    decimals: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TwapReading:
    """A pool's TWAP over a window ending at one block.

    Attributes
    ----------
    pool : str
        Pool address.
    chain_id, block_number, block_timestamp : int
        Where and when (timestamp in Unix seconds; the window ends there).
    window_s : int
        Window length in seconds.
    slot0 : Slot0
        ``slot0()`` at the block.
    token0, token1 : TokenInfo or None
        The pool's tokens, when it answers ``token0()``/``token1()``.
    tick_cumulative_start, tick_cumulative_end : int
        ``observe([window_s, 0])``.
    mean_tick : int
        ``floor((end - start) / window_s)``, as ``OracleLibrary.consult``.
    mean_tick_exact : float
        ``(end - start) / window_s`` without rounding.
    """

    pool: str
    chain_id: int
    block_number: int
    block_timestamp: int
    window_s: int
    slot0: Slot0
    token0: TokenInfo | None
    token1: TokenInfo | None
    tick_cumulative_start: int
    tick_cumulative_end: int
    mean_tick: int
    mean_tick_exact: float

    @property
    def twap_price(self) -> float:
        """Geometric-mean price, token1 per token0 in raw units: ``1.0001 ** mean_tick``."""
        return tick_to_price(self.mean_tick)

    @property
    def spot_price(self) -> float:
        """Price from ``slot0.sqrtPriceX96``, token1 per token0 in raw units."""
        return sqrt_price_x96_to_price(self.slot0.sqrt_price_x96)

    def decimals_factor(self) -> float | None:
        """Return ``10**(decimals0 - decimals1)``, which turns a raw price into whole tokens."""
        if self.token0 is None or self.token1 is None:
            return None
        if self.token0.decimals is None or self.token1.decimals is None:
            return None
        return float(Fraction(10) ** (self.token0.decimals - self.token1.decimals))


def arithmetic_mean_tick(
    tick_cumulative_start: int, tick_cumulative_end: int, window_s: int
) -> int:
    """Return the arithmetic-mean tick over a window, rounded toward negative infinity.

    Parameters
    ----------
    tick_cumulative_start, tick_cumulative_end : int
        ``tickCumulative`` at the start and end of the window (``observe([window, 0])``).
    window_s : int
        Window length in seconds (> 0).

    Returns
    -------
    int
        ``floor((end - start) / window_s)``, the tick ``OracleLibrary.consult`` returns.

    Examples
    --------
    Ticks 100, 200 and -50 for 600 s each: (60000 + 120000 - 30000) / 1800 = 83.3

    >>> arithmetic_mean_tick(0, 150_000, 1800)
    83

    The mirror path averages -83.3, which rounds down, not toward zero:

    >>> arithmetic_mean_tick(0, -150_000, 1800)
    -84
    """
    if window_s <= 0:
        raise ValueError(f"expected window_s > 0, was {window_s}")
    return (tick_cumulative_end - tick_cumulative_start) // window_s


def tick_to_price(tick: int) -> float:
    """Return ``1.0001 ** tick``: token1 per token0 in raw units at `tick`.

    Examples
    --------
    >>> tick_to_price(0)
    1.0

    At the lowest tick it agrees with TickMath.MIN_SQRT_RATIO (4295128739), the
    sqrtPriceX96 Uniswap v3 computes for that tick:

    >>> abs(tick_to_price(-887272) / sqrt_price_x96_to_price(4295128739) - 1) < 1e-9
    True
    """
    if not -_MAX_TICK <= tick <= _MAX_TICK:
        raise ValueError(f"expected a tick in [-{_MAX_TICK}, {_MAX_TICK}], was {tick}")
    return float(1.0001**tick)


def sqrt_price_x96_to_price(sqrt_price_x96: int) -> float:
    """Return ``(sqrt_price_x96 / 2**96) ** 2``: token1 per token0 in raw units.

    Examples
    --------
    >>> sqrt_price_x96_to_price(2**96)
    1.0
    >>> sqrt_price_x96_to_price(2 * 2**96)
    4.0
    """
    return float(Fraction(sqrt_price_x96 * sqrt_price_x96, 1 << 192))


def read_slot0(client: RpcClient, pool: str, *, block: BlockId = "latest") -> Slot0:
    """Return the pool's ``slot0()``."""
    v = client.eth_call(pool, "slot0()", returns=_SLOT0_TYPES, block=block)
    return Slot0(
        sqrt_price_x96=int(v[0]),
        tick=int(v[1]),
        observation_index=int(v[2]),
        observation_cardinality=int(v[3]),
        observation_cardinality_next=int(v[4]),
        fee_protocol=int(v[5]),
        unlocked=bool(v[6]),
    )


def read_observe(
    client: RpcClient, pool: str, seconds_agos: list[int], *, block: BlockId = "latest"
) -> tuple[list[int], list[int]]:
    """Return ``observe(secondsAgos)``: tick cumulatives and seconds-per-liquidity cumulatives."""
    ticks, per_liquidity = client.eth_call(
        pool, "observe(uint32[])", (seconds_agos,), returns=("int56[]", "uint160[]"), block=block
    )
    if len(ticks) != len(seconds_agos):
        raise ChainReadError(
            f"eth_call observe({seconds_agos})",
            f"expected {len(seconds_agos)} tick cumulatives, was {len(ticks)}",
            address=pool,
        )
    return [int(t) for t in ticks], [int(s) for s in per_liquidity]


def _optional(client: RpcClient, address: str, signature: str, returns: str, block: int) -> Any:
    try:
        return client.eth_call(address, signature, returns=(returns,), block=block)[0]
    except ChainReadError as exc:
        if exc.kind in ("reverted", "malformed"):
            return None
        raise


def _token(client: RpcClient, pool: str, which: str, block: int) -> TokenInfo | None:
    address = _optional(client, pool, f"{which}()", "address", block)
    if address is None:
        return None
    symbol = _optional(client, address, "symbol()", "string", block)
    decimals = _optional(client, address, "decimals()", "uint8", block)
    return TokenInfo(
        address=to_address(address),
        symbol=None if symbol is None else str(symbol),
        decimals=None if decimals is None else int(decimals),
    )


def read_twap(
    client: RpcClient, pool: str, window_s: int, *, block: int | None = None
) -> TwapReading:
    """Read a pool's ``slot0`` and its TWAP over `window_s` seconds ending at `block`.

    Parameters
    ----------
    client : RpcClient
        The node to read from.
    pool : str
        Pool address.
    window_s : int
        Window length in seconds (1 .. 2**32 - 1).
    block : int, optional
        Block whose timestamp ends the window; the node's latest block when omitted.

    Returns
    -------
    TwapReading
        Cumulatives, mean tick and prices.

    Raises
    ------
    ChainReadError
        Among others when the window reaches past the oldest observation (the pool
        reverts with ``OLD``); the message then gives the pool's cardinality.
    """
    if not 0 < window_s < 1 << 32:
        raise ValueError(f"expected 0 < window_s < 2**32, was {window_s}")
    pool = to_address(pool)
    at = client.block_number() if block is None else block
    chain_id = client.chain_id()
    timestamp = client.block_timestamp(at)
    slot0 = read_slot0(client, pool, block=at)
    try:
        ticks, _ = read_observe(client, pool, [window_s, 0], block=at)
    except ChainReadError as exc:
        if exc.kind == "reverted" and "OLD" in exc.detail:
            raise ChainReadError(
                exc.call,
                f"{exc.detail}: the pool's {slot0.observation_cardinality} observations do "
                f"not reach {window_s} s back; use a shorter window",
                address=pool,
                kind="reverted",
                rpc_code=exc.rpc_code,
                rpc_message=exc.rpc_message,
            ) from None
        raise
    start, end = ticks
    return TwapReading(
        pool=pool,
        chain_id=chain_id,
        block_number=at,
        block_timestamp=timestamp,
        window_s=window_s,
        slot0=slot0,
        token0=_token(client, pool, "token0", at),
        token1=_token(client, pool, "token1", at),
        tick_cumulative_start=start,
        tick_cumulative_end=end,
        mean_tick=arithmetic_mean_tick(start, end, window_s),
        mean_tick_exact=(end - start) / window_s,
    )


def _token_dict(token: TokenInfo | None) -> dict[str, Any] | None:
    if token is None:
        return None
    return {"address": token.address, "symbol": token.symbol, "decimals": token.decimals}


def twap_to_dict(reading: TwapReading) -> dict[str, Any]:
    """Return `reading` as the JSON-ready dict that :func:`write_twap_json` writes.

    Integers that overflow a float64 mantissa (``sqrtPriceX96``, tick cumulatives)
    are decimal strings; prices are floats, raw (token1 per token0 base units) and,
    when both tokens report decimals, in whole tokens.
    """
    factor = reading.decimals_factor()
    s = reading.slot0
    return {
        "format": TWAP_FORMAT,
        "pool": reading.pool,
        "chain_id": reading.chain_id,
        "block_number": reading.block_number,
        "block_timestamp": format_utc(reading.block_timestamp),
        "window_s": reading.window_s,
        "token0": _token_dict(reading.token0),
        "token1": _token_dict(reading.token1),
        "slot0": {
            "sqrt_price_x96": str(s.sqrt_price_x96),
            "tick": s.tick,
            "observation_index": s.observation_index,
            "observation_cardinality": s.observation_cardinality,
            "observation_cardinality_next": s.observation_cardinality_next,
            "fee_protocol": s.fee_protocol,
            "unlocked": s.unlocked,
        },
        "tick_cumulatives": [str(reading.tick_cumulative_start), str(reading.tick_cumulative_end)],
        "arithmetic_mean_tick": reading.mean_tick,
        "arithmetic_mean_tick_exact": reading.mean_tick_exact,
        "twap_price_raw": reading.twap_price,
        "spot_price_raw": reading.spot_price,
        "twap_price": None if factor is None else reading.twap_price * factor,
        "spot_price": None if factor is None else reading.spot_price * factor,
    }


def write_twap_json(path: str | Path, reading: TwapReading) -> Path:
    """Write `reading` as JSON (sorted keys, 2-space indent), atomically.

    Returns
    -------
    Path
        The file written.
    """
    return write_text_atomic(
        path, json.dumps(twap_to_dict(reading), indent=2, sort_keys=True) + "\n"
    )
