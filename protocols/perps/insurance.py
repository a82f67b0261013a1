"""Insurance fund: clearance-fee inflows, bad-debt outflows and exhaustion, in float64 USD.

This is rung 2 of the bad-debt ladder (mechanics §0.3). Binance's fund "will collect liquidation
fees from clients that do not result in client bankruptcy", tops a bankrupt account back up to
zero, and takes over positions up to a net notional of 100 % of its size. When it cannot, the
position goes to counterparty liquidation, i.e. ADL (FAQ "Insurance Fund" 360033525371;
mechanics §6.2). Hyperliquid has no fund: its liquidator vault (HLP) is the buffer (§5.2).

`settle_liquidation` is the pure rule for one liquidation filled in the book. `InsuranceFund` is
the small stateful ledger a venue keeps; it only orchestrates that rule and
``math.insurance_take``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from protosim.protocols.perps.math import insurance_take, liquidation_fee

__all__ = ["InsuranceFund", "LiquidationSettlement", "settle_liquidation"]


class LiquidationSettlement(NamedTuple):
    """How one liquidation fill was paid for.

    Attributes
    ----------
    fund_change : float
        Change of the insurance fund, USD: the fee taken (≥ 0), or minus the bad debt it covered.
    shortfall : float
        Bad debt the fund could not cover, USD, ≥ 0; it is left for ADL or socialisation.
    fee : float
        Clearance fee actually collected, USD (capped by the margin left).
    bad_debt : float
        The account's deficit after the fill and before the fund, USD, ≥ 0.
    trader_equity : float
        What the account is left with, USD; ``−shortfall`` when the fund ran dry.
    """

    fund_change: float
    shortfall: float
    fee: float
    bad_debt: float
    trader_equity: float


def settle_liquidation(
    *,
    size: float,
    entry_price: float,
    margin: float,
    fill_price: float,
    fee_rate: float,
    fund_balance: float,
) -> LiquidationSettlement:
    """Settle a liquidation filled in the book: fee to the fund, or bad debt from the fund.

    The account realizes ``size · (fill − entry)`` on the quantity filled; its equity is then
    ``E = margin + size · (fill − entry)``.

    - ``E ≥ 0``: the clearance fee (``math.liquidation_fee``) goes to the fund, capped at ``E``.
      Binance charges the fee and, if that leaves the account below zero, the fund tops it up
      again, so the net is the same as the cap.
    - ``E < 0``: the fund covers the deficit up to ``fund_balance``; the rest is the shortfall.

    Parameters
    ----------
    size : float
        Signed quantity of the liquidated position that filled.
    entry_price : float
        USD.
    margin : float
        Margin standing behind that quantity, USD (for a partial fill, its pro-rata share).
    fill_price : float
        Average fill price of the liquidation order, USD.
    fee_rate : float
        Clearance fee rate, a fraction (0 for Hyperliquid book liquidations).
    fund_balance : float
        What the fund can pay out, USD (negative counts as 0).

    Returns
    -------
    LiquidationSettlement
        ``fund_change`` and ``shortfall`` first, then the details.

    Examples
    --------
    A long of 1 from 100 with 10 of margin (bankrupt at 90). Filled at 95, it keeps
    5 − 0.95 = 4.05 and the fund earns the 1 % fee, 0.95. Filled at 85, it owes 5: a fund of 3
    pays 3 and 2 is left for ADL.

    >>> s = settle_liquidation(size=1.0, entry_price=100.0, margin=10.0, fill_price=95.0,
    ...                        fee_rate=0.01, fund_balance=3.0)
    >>> round(s.fund_change, 12), s.shortfall, round(s.trader_equity, 12)
    (0.95, 0.0, 4.05)
    >>> s = settle_liquidation(size=1.0, entry_price=100.0, margin=10.0, fill_price=85.0,
    ...                        fee_rate=0.01, fund_balance=3.0)
    >>> s.fund_change, s.shortfall, s.bad_debt, s.trader_equity
    (-3.0, 2.0, 5.0, -2.0)
    """
    equity = margin + size * (fill_price - entry_price)
    if equity >= 0.0:
        fee = min(liquidation_fee(size, fill_price, fee_rate), equity)
        return LiquidationSettlement(fee, 0.0, fee, 0.0, equity - fee)
    deficit = -equity
    covered = min(deficit, max(fund_balance, 0.0))
    left = deficit - covered
    return LiquidationSettlement(-covered, left, 0.0, deficit, -left)


class InsuranceFund:
    """A venue's insurance fund: balance, inflows, outflows and exhaustion.

    Parameters
    ----------
    balance : float
        Opening balance, USD, ≥ 0.
    floor : float
        Balance the fund will not pay below, USD, default 0. The fund is *exhausted* once its
        balance is at or under the floor.
    max_position_ratio : float
        Largest net notional the fund may take over, as a multiple of its balance. The default
        1.0 is Binance's "by default, this is 100% the size of the insurance fund".

    Examples
    --------
    >>> fund = InsuranceFund(3.0)
    >>> fund.settle(size=1.0, entry_price=100.0, margin=10.0, fill_price=85.0,
    ...             fee_rate=0.01).shortfall
    2.0
    >>> fund.balance, fund.exhausted, fund.uncovered
    (0.0, True, 2.0)
    """

    def __init__(
        self, balance: float, *, floor: float = 0.0, max_position_ratio: float = 1.0
    ) -> None:
        if not (math.isfinite(balance) and balance >= 0.0):
            raise ValueError(f"expected a finite balance >= 0, was {balance}")
        if not (math.isfinite(floor) and floor >= 0.0):
            raise ValueError(f"expected a finite floor >= 0, was {floor}")
        if not max_position_ratio >= 0.0:
            raise ValueError(f"expected max_position_ratio >= 0, was {max_position_ratio}")
        self._balance = float(balance)
        self._floor = float(floor)
        self._max_position_ratio = float(max_position_ratio)
        self._inflows = 0.0
        self._outflows = 0.0
        self._uncovered = 0.0
        self._times_exhausted = 0

    @property
    def balance(self) -> float:
        """Current balance, USD."""
        return self._balance

    @property
    def available(self) -> float:
        """What the fund can still pay out: ``max(balance − floor, 0)``, USD."""
        return max(self._balance - self._floor, 0.0)

    @property
    def exhausted(self) -> bool:
        """True once the balance is at or below the floor."""
        return self._balance <= self._floor

    @property
    def inflows(self) -> float:
        """Total fees and take-over gains received, USD."""
        return self._inflows

    @property
    def outflows(self) -> float:
        """Total bad debt and take-over losses paid, USD."""
        return self._outflows

    @property
    def uncovered(self) -> float:
        """Total shortfall the fund passed on to ADL, USD."""
        return self._uncovered

    @property
    def times_exhausted(self) -> int:
        """Settlements that left a shortfall because the fund could not pay all of it."""
        return self._times_exhausted

    def can_take_over(self, notional: float) -> bool:
        """Return whether the fund may take over a position of ``|notional|`` USD.

        The check is ``|notional| ≤ max_position_ratio · balance``; a fund that is exhausted takes
        nothing.
        """
        return not self.exhausted and abs(notional) <= self._max_position_ratio * self._balance

    def settle(
        self, *, size: float, entry_price: float, margin: float, fill_price: float, fee_rate: float
    ) -> LiquidationSettlement:
        """Apply `settle_liquidation` against the available balance and record it.

        Parameters
        ----------
        size, entry_price, margin, fill_price, fee_rate : float
            As in `settle_liquidation`.

        Returns
        -------
        LiquidationSettlement
            The settlement, already booked.
        """
        result = settle_liquidation(
            size=size,
            entry_price=entry_price,
            margin=margin,
            fill_price=fill_price,
            fee_rate=fee_rate,
            fund_balance=self.available,
        )
        self._book(result)
        return result

    def take_over(
        self,
        *,
        size: float,
        bankruptcy_price: float,
        fill_price: float,
        fee_cap_rate: float | None = None,
    ) -> LiquidationSettlement:
        """Take over a position at its bankruptcy price and book its unwind at ``fill_price``.

        The trader ends at zero equity. The fund gains or loses ``math.insurance_take``; a loss
        beyond `available` is returned as the shortfall.

        Parameters
        ----------
        size : float
            Signed quantity of the liquidated position taken over.
        bankruptcy_price, fill_price : float
            USD.
        fee_cap_rate : float, optional
            dYdX's cap on a gain (see ``math.insurance_take``); None for Binance.

        Returns
        -------
        LiquidationSettlement
            ``fee`` holds a gain and ``bad_debt`` a loss; ``trader_equity`` is 0.

        Examples
        --------
        >>> fund = InsuranceFund(100.0)
        >>> fund.take_over(size=-2.0, bankruptcy_price=110.0, fill_price=108.0).fund_change
        4.0
        >>> fund.balance, fund.inflows
        (104.0, 4.0)
        """
        take = insurance_take(size, bankruptcy_price, fill_price, fee_cap_rate=fee_cap_rate)
        if take >= 0.0:
            result = LiquidationSettlement(take, 0.0, take, 0.0, 0.0)
        else:
            covered = min(-take, self.available)
            result = LiquidationSettlement(-covered, -take - covered, 0.0, -take, 0.0)
        self._book(result)
        return result

    def _book(self, result: LiquidationSettlement) -> None:
        self._balance += result.fund_change
        if result.fund_change >= 0.0:
            self._inflows += result.fund_change
        else:
            self._outflows -= result.fund_change
        if result.shortfall > 0.0:
            self._uncovered += result.shortfall
            self._times_exhausted += 1
