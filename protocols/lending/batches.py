"""What a lending venue hands its keepers and reports back: the shared shape of a risk check's
candidates and of one liquidation transaction's outcome, so one keeper (`agent.lending_keeper`)
serves every venue that offers ``candidates``/``books``/``quote``/``liquidate``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from protosim.eventlog import EventLog
from protosim.events import BadDebtRealized, LiquidationExecuted, LiquidationsFailed

__all__ = ["Candidates", "LiquidationReport", "log_bad_debt", "log_failed", "log_liquidations"]


@dataclass(frozen=True, slots=True)
class Candidates:
    """Positions of one book found liquidatable by the latest risk check."""

    book: int
    positions: NDArray[np.int64]
    cause: int
    """``seq`` of the newest oracle answer (or the liquidation) the check used."""


@dataclass(frozen=True, slots=True)
class LiquidationReport:
    """What one liquidation transaction (a batch of liquidation calls) did."""

    first_seq: int
    executed: NDArray[np.int64]
    """Positions liquidated."""
    collateral_asset: str
    collateral_to_liquidator: float
    """Collateral tokens the liquidator received (redeemed underlying for Compound), in total."""
    debt_repaid: float
    failed: int


def log_failed(
    log: EventLog,
    *,
    venue: str,
    liquidator: str,
    count: int,
    cause: int | NDArray[np.int64],
    reason: str,
) -> int:
    """Log `count` liquidation calls of one transaction that reverted, as one
    `LiquidationsFailed` naming the newest of their causes; return its ``seq``.
    """
    return log.emit(
        LiquidationsFailed,
        cause=int(np.max(cause)) if np.ndim(cause) else int(cause),
        venue=venue,
        liquidator=liquidator,
        count=count,
        reason=reason,
    )


def log_bad_debt(
    log: EventLog,
    *,
    venue: str,
    first: int,
    where: NDArray[np.int64],
    accounts: NDArray[np.int64],
    asset: str,
    amounts: NDArray[np.float64],
    price: float,
    treatment: str,
) -> None:
    """Log the debt a liquidation batch left unbacked, one `BadDebtRealized` per account:
    `where` are the positions in the batch whose `LiquidationExecuted` events start at
    ``seq`` `first` (each names its own as cause), `amounts` the debt tokens of `asset`.
    """
    log.emit_batch(
        BadDebtRealized,
        int(where.size),
        cause=first + where,
        venue=venue,
        account=accounts,
        asset=asset,
        amount=amounts,
        amount_usd=amounts * price,
        treatment=treatment,
    )


def log_liquidations(
    log: EventLog,
    *,
    venue: str,
    liquidator: str,
    accounts: NDArray[np.int64],
    collateral_asset: str,
    debt_asset: str,
    repaid: NDArray[np.float64],
    seized: NDArray[np.float64],
    fee: NDArray[np.float64],
    collateral_price: float,
    debt_price: float,
    health: NDArray[np.float64],
    cause: int | NDArray[np.int64],
) -> int:
    """Log one `LiquidationExecuted` per executed call of a liquidation batch (tokens, and USD
    at the prices the calls used); return the first one's ``seq``.
    """
    return log.emit_batch(
        LiquidationExecuted,
        int(accounts.size),
        cause=cause,
        venue=venue,
        account=accounts,
        liquidator=liquidator,
        collateral_asset=collateral_asset,
        debt_asset=debt_asset,
        debt_repaid=repaid,
        collateral_seized=seized,
        protocol_fee=fee,
        debt_repaid_usd=repaid * debt_price,
        collateral_seized_usd=seized * collateral_price,
        health_before=health,
    )
