"""Scalar reference of Binance's unified (portfolio) margin ratio, mechanics §6.5.

``ΣEquity = Σ_i min(Equity_i · P_i · rate_i, Equity_i · P_i)`` over the account's assets (the
haircut applies to positive balances only), plus the USDⓈ-M wallet and unrealized PnL;
``ΣMM = Σ (|MMR · Pos · Mark| − cum)`` over the futures positions; ``uniMMR = ΣadjEquity / ΣMM``
(Binance FAQ "What Is the Unified Account Maintenance Margin Ratio (uniMMR)",
4868b2f1aa6c4d08af973328462bb0bd; Portfolio Margin Pro 5e33af8e6ac04d57a1d0a3398e0a0752).
Liquidation starts at ``uniMMR ≤ 1.05`` for classic Portfolio Margin. Open-order losses
(``ΣOpenLoss``) and margin loans are not modelled: the simulated accounts have neither.

The vectorized twin is ``book.VenueBook.complex_state``; the tests bind the two.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from protosim.protocols.perps.math import MarginTable, maintenance_margin

__all__ = ["unified_adjusted_equity", "unified_margin_ratio"]


def unified_adjusted_equity(
    *,
    wallet_usd: float,
    unrealized_pnl: float,
    balances: Mapping[str, float],
    prices: Mapping[str, float],
    collateral_rates: Mapping[str, float],
) -> float:
    """Return ``ΣEquity`` of a unified account, USD.

    Parameters
    ----------
    wallet_usd : float
        USD(T) balance, which carries no haircut (rate 1).
    unrealized_pnl : float
        Unrealized PnL of the USDⓈ-M positions at the mark, USD.
    balances : mapping of str to float
        Quantity held of each collateral asset.
    prices, collateral_rates : mapping of str to float
        Index price (USD) and collateral rate of each asset in `balances`.

    Returns
    -------
    float
        ``wallet + uPnL + Σ min(q · P · rate, q · P)``.

    Examples
    --------
    1,000 USDT, 2 wBETH at 4,000 with rate 0.95, uPnL −2,400:
    1,000 − 2,400 + 7,600 = 6,200. A negative balance is not haircut.

    >>> unified_adjusted_equity(wallet_usd=1_000.0, unrealized_pnl=-2_400.0,
    ...     balances={"WBETH": 2.0}, prices={"WBETH": 4_000.0}, collateral_rates={"WBETH": 0.95})
    6200.0
    >>> unified_adjusted_equity(wallet_usd=0.0, unrealized_pnl=0.0, balances={"BTC": -1.0},
    ...     prices={"BTC": 100.0}, collateral_rates={"BTC": 0.9})
    -100.0
    """
    total = wallet_usd + unrealized_pnl
    for asset, quantity in balances.items():
        value = quantity * prices[asset]
        total += min(value * collateral_rates[asset], value)
    return total


def unified_margin_ratio(
    *,
    adjusted_equity: float,
    positions: Sequence[tuple[float, float, MarginTable]],
) -> float:
    """Return ``uniMMR = ΣadjEquity / ΣMM``.

    Parameters
    ----------
    adjusted_equity : float
        `unified_adjusted_equity`, USD.
    positions : sequence of (float, float, MarginTable)
        ``(signed size, mark, table)`` of each futures position.

    Returns
    -------
    float
        The ratio; ``inf`` without margin to maintain.

    Examples
    --------
    The account above with a 0.6 BTC long at 96,000 under the BTCUSDT brackets (bracket 2:
    0.5 % × 57,600 − 50 = 238): 6,200 / 238 = 26.05.

    >>> from protosim.protocols.perps.math import BINANCE_BTCUSDT
    >>> round(unified_margin_ratio(adjusted_equity=6_200.0,
    ...                            positions=[(0.6, 96_000.0, BINANCE_BTCUSDT)]), 4)
    26.0504
    """
    mm = sum(maintenance_margin(size * mark, table) for size, mark, table in positions)
    if mm <= 0.0:
        return math.inf
    return adjusted_equity / mm
