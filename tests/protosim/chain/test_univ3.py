"""Tests of protosim.chain.univ3: slot0, observe and the TWAP of a tick path set on a real EVM."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from protosim.chain.errors import ChainReadError
from protosim.chain.rpc import RpcClient
from protosim.chain.univ3 import (
    TWAP_FORMAT,
    arithmetic_mean_tick,
    read_observe,
    read_slot0,
    read_twap,
    sqrt_price_x96_to_price,
    tick_to_price,
    write_twap_json,
)

Q96 = 2**96


def _run_path(
    chain: Any,
    ticks: list[int],
    step_s: int,
    *,
    decimals: tuple[int, int] = (18, 18),
    cardinality: int = 16,
) -> tuple[str, int, int]:
    """Pool at T0 with ticks[0], move to ticks[i] at T0 + i*step_s; end at T0 + n*step_s."""
    t0 = chain.timestamp(chain.latest) + 1000
    token0 = chain.deploy("MockToken", "Token0", "TKA", decimals[0])
    token1 = chain.deploy("MockToken", "Token1", "TKB", decimals[1])
    chain.set_next_timestamp(t0)
    pool = chain.deploy("MockUniV3Pool", token0.address, token1.address, Q96, ticks[0], cardinality)
    for i, tick in enumerate(ticks[1:], start=1):
        chain.set_next_timestamp(t0 + i * step_s)
        chain.transact(pool.functions.swapTo(tick, 2 * Q96))
    chain.set_next_timestamp(t0 + len(ticks) * step_s)
    chain.mine(1)
    assert chain.timestamp(chain.latest) == t0 + len(ticks) * step_s
    return pool.address, chain.latest, t0


def test_twap_of_known_tick_path(
    chain: Any, bridge: Any, make_client: Callable[..., RpcClient]
) -> None:
    """Ticks 100, 200, -50 for 600 s each: cumulative delta 150000, mean 83.33 -> tick 83."""
    pool, block, _ = _run_path(chain, [100, 200, -50], 600)
    reading = read_twap(make_client(bridge.url), pool, 1800, block=block)
    # By hand: 100*600 + 200*600 + (-50)*600 = 60000 + 120000 - 30000.
    assert reading.tick_cumulative_end - reading.tick_cumulative_start == 150_000
    assert reading.mean_tick == 83
    assert reading.mean_tick_exact == pytest.approx(150_000 / 1800)
    assert reading.twap_price == pytest.approx(math.exp(83 * math.log(1.0001)), rel=1e-12)
    assert reading.slot0.tick == -50
    assert reading.slot0.sqrt_price_x96 == 2 * Q96
    assert reading.spot_price == 4.0
    assert (reading.slot0.observation_index, reading.slot0.observation_cardinality) == (2, 16)


def test_twap_negative_mean_rounds_toward_negative_infinity(
    chain: Any, bridge: Any, make_client: Callable[..., RpcClient]
) -> None:
    """Ticks -100, -200, 50: mean -83.33 is tick -84 (OracleLibrary.consult), not -83."""
    pool, block, _ = _run_path(chain, [-100, -200, 50], 600)
    reading = read_twap(make_client(bridge.url), pool, 1800, block=block)
    assert reading.tick_cumulative_end - reading.tick_cumulative_start == -150_000
    assert reading.mean_tick == -84


def test_twap_window_starting_between_observations_interpolates(
    chain: Any, bridge: Any, make_client: Callable[..., RpcClient]
) -> None:
    """A 900 s window over 100/200/-50 covers 300 s at 200 and 600 s at -50: mean 33.33 -> 33."""
    pool, block, _ = _run_path(chain, [100, 200, -50], 600)
    client = make_client(bridge.url)
    reading = read_twap(client, pool, 900, block=block)
    assert reading.tick_cumulative_end - reading.tick_cumulative_start == 200 * 300 - 50 * 600
    assert reading.mean_tick == 33
    cumulatives, _ = read_observe(client, pool, [1800, 1200, 600, 0], block=block)
    assert cumulatives == [0, 60_000, 180_000, 150_000]


def test_twap_price_in_whole_tokens_uses_decimals(
    chain: Any, bridge: Any, make_client: Callable[..., RpcClient], tmp_path: Path
) -> None:
    """A USDC(6)/WETH(18)-like pool near tick 200133 prices about 2036 USDC per WETH."""
    pool, block, _ = _run_path(chain, [200_000, 201_000, 199_400], 600, decimals=(6, 18))
    reading = read_twap(make_client(bridge.url), pool, 1800, block=block)
    # (200000 + 201000 + 199400) * 600 / 1800 = 200133.33
    assert reading.mean_tick == 200_133
    weth_per_usdc = 1.0001**200_133 * 10 ** (6 - 18)
    data = json.loads(write_twap_json(tmp_path / "twap.json", reading).read_text())
    assert data["format"] == TWAP_FORMAT
    assert data["twap_price"] == pytest.approx(weth_per_usdc, rel=1e-12)
    assert 2030 < 1 / data["twap_price"] < 2040
    assert data["token0"] == {"address": reading.token0.address, "symbol": "TKA", "decimals": 6}
    assert data["tick_cumulatives"] == ["0", str(200_133 * 1800 + 600)]
    assert data["arithmetic_mean_tick"] == 200_133
    assert data["block_number"] == block
    assert data["window_s"] == 1800
    assert data["slot0"]["sqrt_price_x96"] == str(2 * Q96)


def test_window_older_than_observations_raises_naming_observe(
    chain: Any, bridge: Any, make_client: Callable[..., RpcClient]
) -> None:
    """Asking for 1801 s of a pool with 1800 s of history reverts OLD; the error says why."""
    pool, block, _ = _run_path(chain, [100, 200, -50], 600)
    with pytest.raises(ChainReadError) as info:
        read_twap(make_client(bridge.url), pool, 1801, block=block)
    message = str(info.value)
    assert message.startswith(
        f"eth_call observe([1801, 0]) at block {block} on {pool}: reverted: OLD"
    )
    assert "16 observations" in message


def test_read_slot0_decodes_every_field(
    chain: Any, bridge: Any, make_client: Callable[..., RpcClient]
) -> None:
    """slot0 carries price, negative tick and the observation ring buffer position."""
    pool, block, _ = _run_path(chain, [5, -887_000], 60, cardinality=3)
    slot0 = read_slot0(make_client(bridge.url), pool, block=block)
    assert (slot0.sqrt_price_x96, slot0.tick) == (2 * Q96, -887_000)
    assert (
        slot0.observation_index,
        slot0.observation_cardinality,
        slot0.observation_cardinality_next,
    ) == (1, 3, 3)
    assert (slot0.fee_protocol, slot0.unlocked) == (0, True)


@pytest.mark.parametrize(
    ("start", "end", "window", "mean"),
    [
        (0, 1800, 1800, 1),
        (0, 1799, 1800, 0),
        (0, -1, 1800, -1),
        (0, -1800, 1800, -1),
        (10**15, 10**15 + 7 * 60, 60, 7),
        (-(2**55), -(2**55) + 3600 * -887_272, 3600, -887_272),
    ],
)
def test_arithmetic_mean_tick_is_floor_of_average(
    start: int, end: int, window: int, mean: int
) -> None:
    """The mean tick is floor(delta / window) for any signs and magnitudes int56 allows."""
    assert arithmetic_mean_tick(start, end, window) == mean


def test_prices_from_tick_and_sqrt_price_agree() -> None:
    """1.0001**tick equals (sqrtPriceX96 / 2**96)**2 at tick 0 and Uniswap's max tick."""
    assert tick_to_price(0) == sqrt_price_x96_to_price(Q96) == 1.0
    max_sqrt_ratio = 1461446703485210103287273052203988822378723970342  # TickMath.MAX_SQRT_RATIO
    assert tick_to_price(887_272) == pytest.approx(
        sqrt_price_x96_to_price(max_sqrt_ratio), rel=1e-9
    )
    with pytest.raises(ValueError, match="tick"):
        tick_to_price(887_273)
