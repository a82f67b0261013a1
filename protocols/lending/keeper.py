"""A liquidation keeper for lending venues (mechanics §11.1).

Each block the keeper reads the venue's liquidatable positions, prices what a liquidation would
pay at the venue's oracle prices, subtracts the cost of selling the collateral on its market
venue (impact, after what its transactions still waiting to execute will sell there), the gas
and the flash-loan premium, and submits one batch transaction with the profitable ones after
its reaction latency. The chain includes the batch as gas allows; each
included slice is liquidated against the prices of that block (a slice whose positions recovered
or were taken by a faster keeper fails) and its collateral is sold at once, moving the price
the oracles watch.

For a venue's multi-reserve book (Aave v3 `MultiBook`) the keeper also chooses, per account,
which collateral to seize and which debt to repay: by default the largest collateral value and
the largest debt value, as real liquidation bots do (``pair_choice = "largest"``), or the
collateral with the largest bonus (``"best_bonus"``); accounts are then batched per chosen pair.
An account whose call on its pair would revert (v3.3's dust rule, say) is offered on its next.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from protosim.blocks import Tx
from protosim.clock import Phase
from protosim.context import SimContext
from protosim.events import LiquidationsDeclined
from protosim.protocols.lending.aave_v3.multibook import MultiBook, row_argmax
from protosim.scenario import ComponentSpec

_total = np.add.reduce
"""``ndarray.sum`` (the same pairwise sum) without its wrapper's call overhead: the keeper sums
small arrays several times per transaction."""


_REPEATED_QUOTE_MAX_ROWS = 8_192
"""Largest quote an Aave venue hands out again (its ``_MEMO_MAX_ROWS``)."""


class KeeperParams(BaseModel):
    """Parameters of a lending liquidation keeper (defaults: mechanics §11.1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    venue: str
    sell_on: dict[str, str] = Field(default_factory=dict)
    """Trading venue on which to sell each seized collateral asset; unlisted assets are held."""
    latency_s: float = Field(default=1.0, ge=0)
    """Time from a risk check to the transaction reaching the chain."""
    gas_per_liquidation: int = Field(default=400_000, gt=0)
    """Liquidation plus flash loan and swap (≈400–800k gas)."""
    priority_fee_gwei: float = Field(default=2.0, ge=0)
    max_fee_gwei: float = Field(default=math.inf, gt=0)
    min_profit_usd: float = Field(default=10.0, ge=0)
    flashloan_premium_bps: float = Field(default=5.0, ge=0, le=10_000)
    capital_usd: float = Field(default=math.inf, gt=0)
    """Debt the keeper can repay per block; infinite with flash loans."""
    pair_choice: Literal["largest", "best_bonus"] = "largest"
    """Multi-reserve accounts: seize the largest collateral and repay the largest debt, or
    seize the collateral with the highest liquidation bonus (ties: the largest)."""


class LendingVenue(Protocol):
    """What a keeper needs of a lending venue."""

    venue_id: str
    chain: Any
    candidates: list[Any]
    books: list[Any]

    def price(self, asset: str) -> float:
        """Return the oracle price of `asset` the venue uses now."""
        ...

    def quote(self, book_index: int, positions: NDArray[np.int64], **pair: Any) -> Any:
        """Return what liquidating `positions` would do now, without doing it (``pair``:
        ``collateral`` and ``debt`` reserves, for a multi-reserve book, which also takes
        ``candidate_at``: where `positions` are in the book's `candidates`).
        """
        ...

    def liquidate(
        self,
        book_index: int,
        positions: NDArray[np.int64],
        *,
        liquidator: str,
        cause: int | NDArray[np.int64],
        **pair: str,
    ) -> Any:
        """Liquidate `positions` as one batch and return a report."""
        ...


@dataclass(frozen=True, slots=True)
class Decision:
    """Which candidates a keeper acts on, and why the rest were left."""

    act: NDArray[np.bool_]
    unprofitable: int
    over_capital: int


def decide(
    repay_usd: NDArray[np.float64],
    proceeds_usd: NDArray[np.float64],
    *,
    gas_cost_usd: float,
    flashloan_premium_bps: float,
    min_profit_usd: float,
    capital_usd: float,
) -> Decision:
    """Choose the liquidations worth doing (mechanics §11.1).

    ``profit = proceeds − repay − premium · repay − gas`` per liquidation; act iff
    ``profit > min_profit_usd``, most profitable first, while the total repaid fits `capital_usd`.

    Examples
    --------
    Repaying 1,000 to sell collateral for 1,050 with 20 of gas and a 5 bp premium earns 29.5:

    >>> d = decide(np.array([1000.0, 1000.0]), np.array([1050.0, 1020.0]), gas_cost_usd=20.0,
    ...            flashloan_premium_bps=5.0, min_profit_usd=10.0, capital_usd=math.inf)
    >>> d.act.tolist(), d.unprofitable
    ([True, False], 1)
    """
    profit = proceeds_usd - repay_usd * (1.0 + flashloan_premium_bps / 10_000) - gas_cost_usd
    act = profit > min_profit_usd
    unprofitable = act.size - int(np.count_nonzero(act))
    over = 0
    if math.isfinite(capital_usd) and act.any():
        chosen = np.flatnonzero(act)
        ranked = chosen[np.argsort(-profit[chosen], kind="stable")]
        fits = np.cumsum(repay_usd[ranked]) <= capital_usd
        act[ranked[~fits]] = False
        over = int((~fits).sum())
    return Decision(act, unprofitable, over)


def _descending_rank(a: NDArray[np.float64]) -> NDArray[np.int64]:
    """Return each column's place when every row of `a` (k × a few columns, no NaN) is sorted
    by value, largest first, ties to the earlier column: the inverse of
    ``argsort(-a, axis=1, kind="stable")``.

    >>> _descending_rank(np.array([[1.0, 3.0, 1.0], [-np.inf, -np.inf, 2.0]])).tolist()
    [[1, 0, 2], [1, 2, 0]]
    """
    k, n = a.shape
    # Column by column in contiguous copies (strided columns of a few are slow to read), the
    # answer the transpose of that.
    columns = np.ascontiguousarray(a.T)
    rank = np.zeros((n, k), dtype=np.int64)
    for j in range(n):
        for i in range(n):
            if i != j:
                # Column i goes before j if larger, or equal and earlier.
                rank[j] += columns[i] >= columns[j] if i < j else columns[i] > columns[j]
    out: NDArray[np.int64] = rank.T
    return out


def _column_at_place(
    a: NDArray[np.float64], place: int, floor: float
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Return each row's column at `place` when the row of `a` (k × a few columns, no NaN) is
    sorted by value, largest first, ties to the earlier column
    (``argsort(-a, axis=1, kind="stable")[:, place]``), and whether its value is above `floor`.

    >>> column, above = _column_at_place(np.array([[1.0, 3.0, 1.0], [0.0, 0.0, 2.0]]), 1, 0.0)
    >>> column.tolist(), above.tolist()
    ([0, 0], [True, False])
    """
    rank = _descending_rank(a)
    column = np.zeros(a.shape[0], dtype=np.int64)
    for j in range(1, a.shape[1]):
        np.putmask(column, rank[:, j] == place, j)
    value = np.take_along_axis(a, column[:, None], axis=1)[:, 0]
    above: NDArray[np.bool_] = value > floor
    return column, above


def _pair_groups(
    keys: NDArray[np.int64], offered: NDArray[np.intp] | None
) -> list[tuple[int, NDArray[np.intp] | None]]:
    """Return each pair key of `keys` in key order with the places of its rows among the
    pending ones (`offered[i]` is the place of the row of ``keys[i]``; None for `offered`:
    the i-th row; None for a group: every pending row).

    >>> [(k, None if at is None else at.tolist())
    ...  for k, at in _pair_groups(np.array([3, 1, 3]), np.array([0, 2, 5]))]
    [(1, [2]), (3, [0, 5])]
    """
    # Pairs in key order (a count per pair, not a sort of the positions).
    pairs = np.flatnonzero(np.bincount(keys)).tolist()
    if len(pairs) == 1:
        return [(pairs[0], offered)]
    out = []
    for key in pairs:
        at = (keys == key).nonzero()[0]
        out.append((key, at if offered is None else offered[at]))
    return out


class LendingKeeper:
    """A keeper liquidating one lending venue and selling what it seizes.

    Parameters
    ----------
    ctx : SimContext
        The run's context (its venue must already be built).
    agent_id : str
        The keeper's id.
    params : KeeperParams
        Reaction, bidding and profit rules.
    """

    def __init__(self, ctx: SimContext, agent_id: str, params: KeeperParams) -> None:
        self.agent_id = agent_id
        self.params = params
        self._ctx = ctx
        self.venue: LendingVenue = ctx.venue(params.venue)
        self.chain = self.venue.chain
        for asset, trading in params.sell_on.items():
            market_venue = ctx.market.venues.get(trading)
            if market_venue is None or market_venue.asset != asset:
                raise KeyError(f"sell_on.{asset}: {trading!r} is not a trading venue of {asset!r}")
        gas_asset = self.chain.params.gas_asset
        if gas_asset not in ctx.market.assets:
            raise KeyError(f"the keeper pays gas in {gas_asset!r}, which the market does not price")
        self._in_flight = [np.zeros(len(book), dtype=np.bool_) for book in self.venue.books]
        self._in_flight_count = 0
        """How many positions are in flight, over every book (each is flagged once, when its
        transaction is sent, and cleared once, when its slice executes)."""
        self._committed_usd = 0.0
        self._last_quote: tuple[Any, ...] | None = None
        """The last quote `_consider` read and what it made of it (see there)."""
        self._gas_at: tuple[float, float] | None = None
        self._selling: dict[str, list[float]] = {}
        """Per trading venue: collateral tokens the keeper's submitted liquidations will sell
        when they execute, and how many of those transactions are still waiting."""
        self.stats = {
            "submitted": 0.0,
            "liquidated": 0.0,
            "declined": 0.0,
            "sold_usd": 0.0,
            "gas_usd": 0.0,
            "held_collateral": 0.0,
        }

    def start(self) -> None:
        """Look at the venue's candidates after its risk check in every block."""
        self.chain.on_phase(Phase.RISK, self._react, rank=10)

    def metrics(self) -> dict[str, float]:
        """Return counts of submitted, executed and declined liquidations and USD sold."""
        return dict(self.stats)

    def _gas_cost_usd(self) -> float:
        # The base fee and the gas asset's price are fixed within an instant once its shocks
        # have landed: one computation serves every quote and execution of that instant.
        now = self._ctx.clock.now
        if self._gas_at is not None and self._gas_at[0] == now:
            return self._gas_at[1]
        p = self.params
        cost = float(
            self.chain.tx_cost_usd(
                p.gas_per_liquidation,
                priority_fee_gwei=p.priority_fee_gwei,
                max_fee_gwei=p.max_fee_gwei,
                gas_price_usd=self._ctx.market.price(self.chain.params.gas_asset),
            )
        )
        self._gas_at = (now, cost)
        return cost

    def _react(self, block: int) -> None:
        del block
        # One capital budget per block across every book, less what is still waiting to be
        # included (it was lent out when that transaction was sent).
        budget = self.params.capital_usd - self._committed_usd
        for found in self.venue.candidates:
            fresh = found.positions
            fresh_at = None
            # Usually none is: then no look-up, and no copy of a backlog of thousands.
            if self._in_flight_count:
                in_flight = self._flight(found.book)[fresh]
                if np.count_nonzero(in_flight):
                    fresh_at = (~in_flight).nonzero()[0]
                    fresh = fresh[fresh_at]
            if fresh.size == 0 or budget <= 0:
                continue
            book = self.venue.books[found.book]
            if isinstance(book, MultiBook):
                budget -= self._consider_multi(found.book, fresh, found.cause, budget, fresh_at)
            else:
                budget -= self._consider(found.book, fresh, found.cause, budget)[0]

    def _flight(self, book_index: int) -> NDArray[np.bool_]:
        # Books grow (accounts opened during the run, a multi book created late).
        while len(self._in_flight) <= book_index:
            self._in_flight.append(np.zeros(0, dtype=np.bool_))
        size = len(self.venue.books[book_index])
        if len(self._in_flight[book_index]) < size:
            grown = np.zeros(size, dtype=np.bool_)
            grown[: len(self._in_flight[book_index])] = self._in_flight[book_index]
            self._in_flight[book_index] = grown
        return self._in_flight[book_index]

    def _consider_multi(
        self,
        book_index: int,
        positions: NDArray[np.int64],
        cause: int,
        budget: float,
        candidate_at: NDArray[np.intp] | None = None,
    ) -> float:
        """Liquidate multi-reserve `positions` pair by pair; return the debt committed.

        Each account ranks its pairs: collateral by `_collateral_score`, then debt by value,
        ties to the earlier column (pair ``collateral × D + debt`` at place ``collateral place
        × D + debt place``). Accounts are batched per the pair at their first place. An account
        whose call on that pair would revert (v3.3's dust rule when the close
        factor caps the repayment, a collateral not enabled) is offered again on its next
        pair it holds both reserves of, as a liquidation bot simulating its call first would
        do.

        `candidate_at`: where `positions` are in the venue's candidates (None: they are the
        candidates), handed on so the venue finds them in what its risk check kept.
        """
        venue: Any = self.venue
        if candidate_at is None:
            candidate_at = np.arange(positions.size)
        c_assets, coll_usd, d_assets, debt_usd = venue.reserve_values(
            book_index, positions, candidate_at
        )
        d = len(d_assets)
        # Every account's first choice; its later places are worked out, one at a time, only
        # for the few whose call on the one before would revert.
        best_c = np.empty(positions.size)
        best_d = np.empty(positions.size)
        if self.params.pair_choice == "largest":
            # The score is the value where positive (-inf where not held): the largest positive
            # value's column is the largest score's, so the score need not be made.
            ci = row_argmax(coll_usd, best_c)
            held = best_c > 0
        else:
            ci = row_argmax(self._collateral_score(book_index, positions, coll_usd), best_c)
            held = best_c > -np.inf
        di = row_argmax(debt_usd, best_d)
        held &= best_d > 0
        keys = ci * d + di
        # `pending`: the rows still to offer; `every`: whether that is all of them, in order
        # (then a row's place in `pending` is the row).
        every = np.count_nonzero(held) == held.size
        pending = np.arange(positions.size)
        if not every:
            pending = held.nonzero()[0]
            keys = keys[pending]
        spent = 0.0
        for rank in range(len(c_assets) * d):
            # `offered`: the places in `pending` of the rows offered a pair at this place
            # (None: every one of them); the others hold no reserve of the pair at this
            # place and wait for their next place.
            offered: NDArray[np.intp] | None = None
            if rank:
                keys, offered = self._pair_at(
                    rank, book_index, positions, pending, ci, di, coll_usd, debt_usd
                )
            # Which rows go on to their next place: those waiting, and those whose call
            # reverts.
            carry = np.ones(pending.size, dtype=np.bool_)
            carry[slice(None) if offered is None else offered] = False
            for key, at in _pair_groups(keys, offered):
                if budget - spent <= 0:
                    return spent
                # Order within a group is the venue's (most underwater first). Often every
                # account prefers one pair: then the group is all of them, as they came.
                members = pending if at is None else at if every else pending[at]
                whole = members.size == positions.size
                group = positions if whole else positions[members]
                pair = (c_assets[key // d], d_assets[key % d])
                committed, executable = self._consider(
                    book_index,
                    group,
                    cause,
                    budget - spent,
                    pair,
                    candidate_at=candidate_at if whole else candidate_at[members],
                )
                spent += committed
                carry[slice(None) if at is None else at] = ~executable
            pending = pending[carry.nonzero()[0]]
            if pending.size == 0:
                break
            every = False
        return spent

    def _pair_at(
        self,
        rank: int,
        book_index: int,
        positions: NDArray[np.int64],
        rows: NDArray[np.int64],
        ci: NDArray[np.int64],
        di: NDArray[np.int64],
        coll_usd: NDArray[np.float64],
        debt_usd: NDArray[np.float64],
    ) -> tuple[NDArray[np.int64], NDArray[np.intp] | None]:
        """Return the keys of the pairs `rows` of `positions` place `rank`-th (see
        `_consider_multi`) where both reserves are held, and which of `rows` those are (None:
        all of them; `ci`, `di`: every row's first collateral and debt column, which they
        hold).
        """
        d = debt_usd.shape[1]
        c_place, d_place = divmod(rank, d)
        out: NDArray[np.int64]
        ok: NDArray[np.bool_] | None = None
        if c_place:
            # np.take: several times faster than indexing rows of a few columns.
            coll = np.take(coll_usd, rows, axis=0)
            score = self._collateral_score(book_index, positions[rows], coll)
            out, ok = _column_at_place(score, c_place, -np.inf)
            out *= d
        else:
            out = ci[rows] * d
        if d_place:
            column, d_ok = _column_at_place(np.take(debt_usd, rows, axis=0), d_place, 0.0)
            out += column
            ok = d_ok if ok is None else ok & d_ok
        else:
            out += di[rows]
        if ok is None or np.count_nonzero(ok) == ok.size:
            return out, None
        held = ok.nonzero()[0]
        return out[held], held

    def _collateral_score(
        self, book_index: int, positions: NDArray[np.int64], coll_usd: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Return how much the keeper prefers seizing each collateral of `positions` (k × C;
        -inf where not held): its value, or its bonus with the value breaking ties.
        """
        if self.params.pair_choice == "best_bonus":
            venue: Any = self.venue
            bonus = venue.collateral_bonus(book_index, positions)
            out: NDArray[np.float64] = np.where(coll_usd > 0, bonus * 1e30 + coll_usd, -np.inf)
        else:
            out = np.where(coll_usd > 0, coll_usd, -np.inf)
        return out

    def _consider(
        self,
        book_index: int,
        positions: NDArray[np.int64],
        cause: int,
        budget: float,
        pair: tuple[str, str] | None = None,
        *,
        candidate_at: NDArray[np.intp] | None = None,
    ) -> tuple[float, NDArray[np.bool_]]:
        """Quote `positions`, submit the profitable ones; return the debt committed and which
        positions' calls would execute (the rest would revert). `candidate_at`: where
        `positions` are in the venue's candidates, for a multi-reserve book's quote.
        """
        book = self.venue.books[book_index]
        kwargs = {} if pair is None else {"collateral": pair[0], "debt": pair[1]}
        collateral_asset, debt_asset = pair if pair else (book.collateral_asset, book.debt_asset)
        hint = {} if candidate_at is None else {"candidate_at": candidate_at}
        quote = self.venue.quote(book_index, positions, **kwargs, **hint)
        ok = quote.executed
        positions, received, repay_usd, sold = self._executable(quote, positions, debt_asset)
        if positions.size == 0:
            return 0.0, ok
        proceeds = self._marginal_proceeds(collateral_asset, received, sold)
        gas_usd = self._gas_cost_usd()
        choice = decide(
            repay_usd,
            proceeds,
            gas_cost_usd=gas_usd,
            flashloan_premium_bps=self.params.flashloan_premium_bps,
            min_profit_usd=self.params.min_profit_usd,
            capital_usd=budget,
        )
        # Every position not acted on was either unprofitable or over the capital budget.
        left = choice.unprofitable + choice.over_capital
        if left:
            self.stats["declined"] += left
            reason = "unprofitable" if choice.unprofitable >= choice.over_capital else "capital"
            self._ctx.log.emit(
                LiquidationsDeclined,
                cause=cause,
                venue=self.venue.venue_id,
                keeper=self.agent_id,
                count=left,
                reason=reason,
                # All declined (a backlog's usual answer): the same values, in the same order.
                debt_usd=float(
                    _total(repay_usd) if left == repay_usd.size else _total(repay_usd[~choice.act])
                ),
            )
        # In the order the sale was priced in (most underwater first): when the block's gas
        # runs out, those are in.
        ranked = choice.act.nonzero()[0]
        chosen = positions[ranked]
        if chosen.size == 0:
            return 0.0, ok
        chosen_repay = repay_usd[ranked]
        self._flight(book_index)[chosen] = True
        self._in_flight_count += chosen.size
        self._committed_usd += float(_total(chosen_repay))
        self.stats["submitted"] += chosen.size
        p = self.params
        trading = p.sell_on.get(collateral_asset)
        to_sell = received[ranked]
        if trading is not None:
            selling = self._selling.setdefault(trading, [0.0, 0])
            selling[0] += float(_total(to_sell))
            selling[1] += 1
        left_to_run = [int(chosen.size)]

        def execute(start: int, stop: int) -> None:
            self._committed_usd -= float(_total(chosen_repay[start:stop]))
            if trading is not None:
                selling = self._selling[trading]
                selling[0] -= float(_total(to_sell[start:stop]))
                left_to_run[0] -= stop - start
                if left_to_run[0] == 0:
                    selling[1] -= 1
                    if selling[1] == 0:
                        selling[0] = 0.0  # no rounding residue once nothing waits
            self._execute(book_index, chosen[start:stop], cause, kwargs)

        self.chain.submit(
            Tx(
                sender=self.agent_id,
                phase=Phase.KEEPER,
                gas_per_item=p.gas_per_liquidation,
                items=int(chosen.size),
                priority_fee_gwei=p.priority_fee_gwei,
                max_fee_gwei=p.max_fee_gwei,
                execute=execute,
            ),
            latency_s=p.latency_s,
        )
        return float(_total(chosen_repay)), ok

    def _executable(
        self, quote: Any, positions: NDArray[np.int64], debt_asset: str
    ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Return the positions of `quote` whose calls execute, the collateral each pays the
        liquidator, the USD of the debt each repays, and the running total of that collateral.
        """
        ok = quote.executed
        last = self._last_quote
        if last is not None and last[0] is quote:
            # The venue handed out its last answer again (same positions, balances and prices:
            # a declined backlog offered anew): so is what follows from the answer alone.
            all_ok, received, repay_usd, sold = last[1:]
            return (positions if all_ok else positions[ok.nonzero()[0]]), received, repay_usd, sold
        repaid, received = quote.debt_repaid, quote.collateral_to_liquidator
        all_ok = np.count_nonzero(ok) == ok.size
        if not all_ok:  # most batches execute whole: no copies then
            # Gathers at the indices are faster than three passes of the boolean mask.
            at = ok.nonzero()[0]
            positions, repaid, received = positions[at], repaid[at], received[at]
        repay_usd = repaid * self.venue.price(debt_asset)
        # np.add.accumulate is np.cumsum (sequential) without its wrapper's call overhead.
        sold = np.add.accumulate(received)
        for array in (repay_usd, sold):
            array.setflags(write=False)  # cheaper than going through `array.flags`
        # Only a quote the venue may hand out again is worth keeping: it remembers those of up
        # to `_REPEATED_QUOTE_MAX_ROWS` positions, and a crash's backlog of hundreds of
        # thousands would otherwise be held between blocks.
        small = quote.executed.size <= _REPEATED_QUOTE_MAX_ROWS
        self._last_quote = (quote, all_ok, received, repay_usd, sold) if small else None
        return positions, received, repay_usd, sold

    def _marginal_proceeds(
        self,
        asset: str,
        received: NDArray[np.float64],
        sold: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """Return what each of `received` (`sold`: their running total, if already summed)
        adds to the keeper's sale of `asset` (mechanics §11.1's "cost of selling the
        collateral").

        The batch is sold in one trade after what the keeper's earlier transactions, still
        waiting to execute, will sell on the same venue (they execute first): each liquidation
        fetches what it adds to all those sales, not what it would fetch alone.
        """
        market = self._ctx.market
        trading = self.params.sell_on.get(asset)
        if trading is None:
            out: NDArray[np.float64] = received * market.price(asset)
            return out
        # Candidates come most underwater first, which is about most profitable first; the sale
        # is priced in that order (sorting a crash's hundreds of thousands again costs more
        # than it would change).
        ahead = self._selling.get(trading, [0.0, 0])[0]
        if sold is None:
            sold = np.add.accumulate(received)
        if ahead > 0:
            # The waiting sales are priced in the same call, as the sale's first amount.
            amounts = np.empty(received.size + 1)
            amounts[0] = ahead
            np.add(ahead, sold, out=amounts[1:])
            cumulative = market.sell_proceeds(trading, amounts)
            after: NDArray[np.float64] = cumulative[1:] - cumulative[:-1]
            return after
        cumulative = market.sell_proceeds(trading, sold)
        marginal: NDArray[np.float64] = cumulative.copy()
        marginal[1:] -= cumulative[:-1]
        return marginal

    def _execute(
        self,
        book_index: int,
        positions: NDArray[np.int64],
        cause: int,
        pair: dict[str, str] | None = None,
    ) -> None:
        self._flight(book_index)[positions] = False
        self._in_flight_count -= positions.size
        report = self.venue.liquidate(
            book_index, positions, liquidator=self.agent_id, cause=cause, **(pair or {})
        )
        executed = len(report.executed)
        if executed == 0:
            return
        self.stats["liquidated"] += executed
        self.stats["gas_usd"] += executed * self._gas_cost_usd()
        trading = self.params.sell_on.get(report.collateral_asset)
        if trading is not None and report.collateral_to_liquidator > 0:
            if self._ctx.market.halted(trading):
                # Nowhere to sell: the keeper holds the collateral (its price risk is its own).
                self.stats["held_collateral"] += report.collateral_to_liquidator
                return
            fill = self._ctx.market.trade(
                trading,
                -report.collateral_to_liquidator,
                trader=self.agent_id,
                cause=report.first_seq,
                cause_span=executed,
            )
            self.stats["sold_usd"] += fill.notional_usd


def build(ctx: SimContext, spec: ComponentSpec, params: KeeperParams, where: str) -> LendingKeeper:
    """Build a `LendingKeeper` from its scenario entry."""
    del where
    return LendingKeeper(ctx, spec.id, params)
