"""Who holds the other side: the venue's house ledgers, and an insurance fund for batches.

Perp trading is zero-sum: every unit a trader holds long, someone holds short. In the simulation
that someone is another account of the venue, or one of four *house* ledgers kept here, each
with a cash balance and a position per market (or collateral asset):

- ``external``: the book's liquidity providers and whoever holds the open interest the modelled
  accounts do not (a population with more longs than shorts). Every liquidation order and
  collateral sale fills against it; it pays or receives the funding of the imbalance.
- ``insurance_fund``: cash only; what it takes over at the bankruptcy price it unwinds into the
  book at once (Binance, mechanics §6.2).
- ``vault``: Hyperliquid's liquidator vault (§5.2), holding what it took over at the mark.
- ``uncovered``: the venue itself, for what neither the fund, the vault nor ADL could take (the
  loss Binance paid back as compensation in October 2025; crashes.md §1).

Because each transfer moves a position and cash between two ledgers, the sum of every account's
equity and every house ledger's value at the same marks never changes: that is the
conservation law the tests check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from protosim.protocols.perps.insurance import InsuranceFund, LiquidationSettlement

__all__ = ["BatchInsuranceFund", "HouseLedger"]


@dataclass(slots=True)
class HouseLedger:
    """Cash and positions of one house participant.

    Attributes
    ----------
    name : str
        ``external``, ``vault``, ``uncovered`` …
    cash : float
        USD.
    positions : dict of str to float
        Signed quantity per market or collateral asset.
    """

    name: str
    cash: float = 0.0
    positions: dict[str, float] = field(default_factory=dict)

    def trade(self, instrument: str, quantity: float, price: float) -> None:
        """Buy signed `quantity` of `instrument` at `price` (cash moves the other way)."""
        self.positions[instrument] = self.positions.get(instrument, 0.0) + quantity
        self.cash -= quantity * price

    def value(self, prices: Mapping[str, float]) -> float:
        """Return cash plus every position at `prices`, USD."""
        return self.cash + sum(q * prices[i] for i, q in self.positions.items() if q)


class BatchInsuranceFund(InsuranceFund):
    """An `InsuranceFund` that also books the aggregate of a vectorized batch at once.

    A venue liquidating thousands of positions in one instant settles them as arrays; this adds
    the two aggregate moves it needs (fees in, a loss out) on top of the scalar ledger, through
    the same bookkeeping, so `inflows`, `outflows`, `uncovered` and `times_exhausted` mean what
    they mean for the scalar `settle` and `take_over`.

    Examples
    --------
    >>> fund = BatchInsuranceFund(10.0)
    >>> fund.collect([1.0, 2.0])
    3.0
    >>> fund.cover(20.0)
    (13.0, 7.0)
    >>> fund.balance, fund.uncovered
    (0.0, 7.0)
    """

    def collect(self, amounts: Iterable[float]) -> float:
        """Add fees or gains (each ≥ 0) and return their total, USD."""
        total = float(sum(amounts))
        if total < 0.0:
            raise ValueError(f"expected amounts >= 0, their total was {total}")
        if total:
            self._book(LiquidationSettlement(total, 0.0, total, 0.0, 0.0))
        return total

    def cover(self, loss: float) -> tuple[float, float]:
        """Pay up to `available` of `loss` (≥ 0); return ``(paid, left uncovered)``, USD."""
        if loss < 0.0:
            raise ValueError(f"expected a loss >= 0, was {loss}")
        paid = min(loss, self.available)
        if loss:
            self._book(LiquidationSettlement(-paid, loss - paid, 0.0, loss, 0.0))
        return paid, loss - paid
