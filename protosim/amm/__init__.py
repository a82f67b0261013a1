"""Exact AMM liquidity math (Curve StableSwap, Uniswap v3) and the impact models built on it."""

from __future__ import annotations

from protosim.amm.stableswap import (
    StableSwapPool,
    StableSwapRevertError,
    exchange,
    get_D,
    get_D_float,
    get_dy,
    get_dy_float,
    get_y,
    get_y_float,
    rates_for_decimals,
    spot_price,
)
from protosim.amm.uniswap_v3 import (
    ConcentratedLiquidityPool,
    PoolState,
    SwapResult,
    SwapStep,
    TickMap,
    UniswapV3RevertError,
    compute_swap_step,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
    swap,
)

__all__ = [
    "ConcentratedLiquidityPool",
    "PoolState",
    "StableSwapPool",
    "StableSwapRevertError",
    "SwapResult",
    "SwapStep",
    "TickMap",
    "UniswapV3RevertError",
    "compute_swap_step",
    "exchange",
    "get_D",
    "get_D_float",
    "get_dy",
    "get_dy_float",
    "get_sqrt_ratio_at_tick",
    "get_tick_at_sqrt_ratio",
    "get_y",
    "get_y_float",
    "rates_for_decimals",
    "spot_price",
    "swap",
]
