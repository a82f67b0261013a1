"""The Aave v3 market as a simulated venue: oracle-priced reserves, a vectorized book per
(collateral, debt) pair, risk checks in the RISK phase, and batch liquidations.

Rules followed (mechanics §1): liquidatable iff HF < 1
(``ValidationLogic.validateLiquidationCall``); close factor, bonus, protocol fee, dust rule
and deficit per the selected rules version, computed by `kernels.liquidate_max`, which mirrors
``LiquidationLogic.executeLiquidationCall`` of aave-dao/aave-v3-origin (v3.3) and
aave/aave-v3-core (v3.0–v3.2) and is tested against the integer reference math in `math.py`.
The AaveOracle has no staleness check (§1.8): the venue reads whatever answer its oracle holds.

Multi-collateral, multi-debt accounts (``multi_populations`` and accounts opened through
`AaveV3Market.open_account`) live in one `MultiBook` handled by `multi.MultiMarket`, with
e-mode, isolation, caps and interest; it is the last entry of ``books`` once it has accounts.
Single-pair populations keep their sorted-index fast path and accrue no interest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from protosim.clock import Phase, ProcessGenerator
from protosim.context import SimContext
from protosim.events import (
    ROOT,
    PositionsBecameLiquidatable,
)
from protosim.interfaces import Oracle, OracleReading
from protosim.protocols.lending.aave_v3 import governance, kernels
from protosim.protocols.lending.aave_v3.book import PairBook
from protosim.protocols.lending.aave_v3.errors import AaveReverted
from protosim.protocols.lending.aave_v3.math import LiquidationRules
from protosim.protocols.lending.aave_v3.multi import MultiMarket
from protosim.protocols.lending.aave_v3.multibook import MultiBook
from protosim.protocols.lending.aave_v3.params import AaveV3Params, PopulationParams, ReserveParams
from protosim.protocols.lending.batches import (
    Candidates,
    LiquidationReport,
    log_bad_debt,
    log_failed,
    log_liquidations,
)
from protosim.protocols.lending.guards import PriceGuard
from protosim.scenario import ComponentSpec

if TYPE_CHECKING:
    import pandas as pd


class AaveV3Market:
    """An Aave v3 lending market.

    Parameters
    ----------
    ctx : SimContext
        The run's context (oracles must already be built).
    venue_id : str
        The venue's id.
    params : AaveV3Params
        Rules, reserves and the starting borrowers.
    """

    def __init__(self, ctx: SimContext, venue_id: str, params: AaveV3Params) -> None:
        self.venue_id = venue_id
        self.params = params
        self._ctx = ctx
        self.chain = ctx.chain(params.chain)
        self.reserves: dict[str, ReserveParams] = dict(params.reserves)
        self.oracles: dict[str, Oracle] = {}
        for asset, reserve in self.reserves.items():
            oracle = ctx.oracle(reserve.oracle)
            if oracle.asset != asset:
                raise KeyError(
                    f"reserves.{asset}.oracle: oracle {reserve.oracle!r} prices "
                    f"{oracle.asset!r}, not {asset!r}"
                )
            self.oracles[asset] = oracle
        fallbacks: dict[str, Oracle | None] = {}
        for asset, reserve in self.reserves.items():
            fallbacks[asset] = None
            if reserve.fallback_oracle is not None:
                fallback = ctx.oracle(reserve.fallback_oracle)
                if fallback.asset != asset:
                    raise KeyError(
                        f"reserves.{asset}.fallback_oracle: oracle {reserve.fallback_oracle!r} "
                        f"prices {fallback.asset!r}, not {asset!r}"
                    )
                fallbacks[asset] = fallback
        self.guard = PriceGuard(
            ctx,
            venue_id,
            self.oracles,
            fallbacks,
            params.oracle_guard,
            self.chain,
            {asset: r.max_oracle_age_s for asset, r in self.reserves.items()},
            sequencer_feed=(
                ctx.oracle(params.oracle_guard.sequencer_oracle)
                if params.oracle_guard.sequencer_oracle
                else None
            ),
        )
        self.books: list[PairBook | MultiBook] = []
        next_account = 0
        for i, population in enumerate(params.populations):
            book = self._populate(
                population, ctx.rng.stream(f"population.{venue_id}.{i}"), next_account
            )
            next_account += len(book)
            self.books.append(book)
        self.pair_books: list[PairBook] = [b for b in self.books if isinstance(b, PairBook)]
        self._terms_of: tuple[object, object, dict[str, kernels.PairTerms]] | None = None
        """The pair books' liquidation terms and the (params, reserves) they were built from."""
        self._last_quote: dict[int, _PairQuote] = {}
        """Per pair book, the latest quote and all it was computed from (`_quote_pair`)."""
        self._quote_rows: dict[int, NDArray[np.int32]] = {}
        """Per pair book, each position's row in the latest quote (-1: not in it)."""
        self.parameters_seq = ROOT
        """``seq`` of the last governance change (`change_parameters`): a cause of what it
        makes liquidatable."""
        self.multi = MultiMarket(self, params, next_account)
        self.multi_index: int | None = None
        """Index of the multi-reserve book in ``books`` (None until it has accounts)."""
        if len(self.multi.book):
            self.multi_index = len(self.books)
            self.books.append(self.multi.book)
        self._multi_dirty = False
        self._last_full_check = 0.0
        self.candidates: list[Candidates] = []
        self._dirty = True
        self._left_below: list[tuple[int, NDArray[np.int64], int]] = []
        self._fresh_check = False
        self._flagged = [np.zeros(len(book), dtype=np.bool_) for book in self.pair_books]
        # Positions a partial liquidation may have left below HF 1, with the liquidation's seq.
        self._recheck: list[tuple[int, NDArray[np.int64], int]] = []
        # The recheck loop's state (`_recheck_tick`), set when it starts.
        self._recheck_interval = self._recheck_wait = params.recheck_interval_s
        self._recheck_since = 0.0
        self._recheck_fee = 0.0
        self.totals = {
            "liquidations": 0.0,
            "debt_repaid_usd": 0.0,
            "collateral_seized_usd": 0.0,
            "protocol_fee_usd": 0.0,
            "deficit_usd": 0.0,
            "residual_bad_debt_usd": 0.0,
            "failed_liquidations": 0.0,
        }
        self.deficit: dict[str, float] = dict.fromkeys(self.reserves, 0.0)
        for oracle in [*self.oracles.values(), *(f for f in fallbacks.values() if f)]:
            oracle.subscribe(self._on_price)

    # -- governance ---------------------------------------------------------------------------

    def check_parameters(self, params: AaveV3Params) -> None:
        """Raise KeyError (its message starts with the key path) if `params` changes more than
        governance sets in a running market (`governance.check_parameters`).
        """
        governance.check_parameters(self.params, params)

    def change_parameters(self, params: AaveV3Params, *, cause: int) -> None:
        """Take `params` from now on, a governance change (`governance`): new thresholds,
        bonuses, fees, caps, rate strategies or rules apply from this instant, and the next
        block's risk check looks at every account, naming `cause` as what moved.
        """
        self.check_parameters(params)
        self.params = params
        self.reserves = dict(params.reserves)
        for book in self.pair_books:
            lt = self._pair_terms(book.collateral_asset).liquidation_threshold
            if lt != book.liquidation_threshold:
                book.set_liquidation_threshold(lt)
        self.multi.change_parameters(params)
        self.parameters_seq = cause
        self._dirty = True
        self.chain.request_block()

    # -- set-up -------------------------------------------------------------------------------

    def _populate(self, pop: PopulationParams, rng: np.random.Generator, first: int) -> PairBook:
        n = pop.accounts
        collateral_usd = pop.collateral_usd.draw(rng, n)
        hf = pop.health_factor.draw(rng, n)
        lt = self.reserves[pop.collateral].liquidation_threshold_bps / 10_000
        p_c = self.oracles[pop.collateral].read().price
        p_d = self.oracles[pop.debt].read().price
        collateral = collateral_usd / p_c
        debt = collateral_usd * lt / hf / p_d
        return PairBook(pop.collateral, pop.debt, collateral, debt, lt, first)

    def start(self) -> None:
        """Check risk in every block's RISK phase; look at the book in the first block."""
        self.chain.on_phase(
            Phase.RISK, self._check_risk, rank=0, every_block=self.guard.watches_time
        )
        self.chain.request_block()
        self._ctx.clock.every(
            f"venue.{self.venue_id}.recheck", self._recheck_start, self._recheck_tick
        )
        if any(r.rate is not None for r in self.reserves.values()):
            self._ctx.clock.start(f"venue.{self.venue_id}.interest", self._interest_loop())

    def _interest_loop(self) -> ProcessGenerator:
        # Debt grows with the borrow index while prices stand still: look at the book again
        # once the fastest-growing debt may have moved health factors by the tolerance.
        # A full check for a price resets the wait.
        tolerance = self.params.interest_tolerance
        while True:
            rate = self.multi.max_borrow_rate()
            wait = tolerance / rate * 365 * 86_400.0 if rate > 0 else 86_400.0
            wait = max(wait, self.chain.params.block_time_s)
            since = self._ctx.clock.now - self._last_full_check
            if wait - since > 1e-3:  # a sliver left is float noise, not a reason to wait
                yield self._ctx.clock.timeout(wait - since)
                continue
            if self.multi_index is not None and rate > 0:
                self._multi_dirty = True
                self.chain.request_block()
            yield self._ctx.clock.timeout(wait)

    def _multi_changed(self) -> None:
        # An action changed an account: its health is looked at in the next block.
        if self.multi_index is None:
            self.multi_index = len(self.books)
            self.books.append(self.multi.book)
        self.chain.request_block()

    # -- actions --------------------------------------------------------------------------------

    def open_account(
        self,
        *,
        collateral: Mapping[str, float],
        debt: Mapping[str, float],
        emode: int = 0,
        cause: int = ROOT,
    ) -> int:
        """Open an account that supplies `collateral` and borrows `debt` in one transaction.

        Supplies come first (each enabled as collateral per ``validateUseAsCollateral``), then
        borrows, each validated as ``ValidationLogic.validateBorrow`` does (LTV, not LT); if any
        step would revert, nothing happens.

        Parameters
        ----------
        collateral, debt : Mapping
            Reserve id → whole tokens.
        emode : int
            E-mode category (0: none).
        cause : int
            ``seq`` of the event that made the account act.

        Returns
        -------
        int
            The new account's id.

        Raises
        ------
        AaveReverted
            With ``.error`` the contract's error name (``INCONSISTENT_EMODE_CATEGORY``,
            ``SUPPLY_CAP_EXCEEDED``, ``BORROW_CAP_EXCEEDED``, ``DEBT_CEILING_EXCEEDED``,
            ``COLLATERAL_CANNOT_COVER_NEW_BORROW``, ...).
        """
        return self.multi.open_account(collateral, debt, emode, cause)

    def supply(self, account: int, asset: str, amount: float, *, cause: int) -> None:
        """Supply `amount` tokens of `asset` to `account` (``Pool.supply``).

        Raises
        ------
        AaveReverted
            ``SUPPLY_CAP_EXCEEDED`` or ``INVALID_AMOUNT``.
        """
        self.multi.supply(account, asset, amount, cause)

    def borrow(self, account: int, asset: str, amount: float, *, cause: int) -> None:
        """Borrow `amount` tokens of `asset` for `account` (``Pool.borrow``, variable rate).

        Raises
        ------
        AaveReverted
            As ``ValidationLogic.validateBorrow`` (see `open_account`).
        """
        self.multi.borrow(account, asset, amount, cause)

    # Positions left below the line by keepers (unprofitable now, or waiting for gas) get
    # another look when time alone may have changed their answer: at once when the gas price
    # changes, else after a wait that doubles while the same positions stay (up to an hour),
    # restarting at every new price. Only those positions, not the whole book. The look comes
    # every `recheck_interval_s` (as it was when the run started) of the whole run.

    def _recheck_start(self) -> float:
        interval = self.params.recheck_interval_s
        self._recheck_interval = interval
        self._recheck_wait = interval
        self._recheck_since = 0.0
        self._recheck_fee = self.chain.base_fee_gwei
        return interval

    def _recheck_tick(self) -> None:
        now = self._ctx.clock.now
        if self._fresh_check:
            self._fresh_check = False
            self._recheck_wait, self._recheck_since = self._recheck_interval, now
        # Read once: this ticks every interval of the whole run.
        fee_now = self.chain.base_fee_gwei
        fee_moved = fee_now != self._recheck_fee
        self._recheck_fee = fee_now
        if (
            not self._left_below
            or self._dirty
            or not (fee_moved or now - self._recheck_since >= self._recheck_wait)
        ):
            return
        self._recheck.extend(self._left_below)
        self._left_below = []
        self._recheck_wait = min(2 * self._recheck_wait, 3_600.0)
        self._recheck_since = now
        self.chain.request_block()

    def _on_price(self, reading: OracleReading) -> None:
        del reading
        self._dirty = True
        # An off-chain feed lands outside any block: the next block must look at it.
        self.chain.request_block()

    # -- risk ---------------------------------------------------------------------------------

    def price(self, asset: str) -> float:
        """Return the price of `asset` this venue uses now, after its oracle guard.

        Raises
        ------
        PriceUnavailableError
            When the guard pauses the asset (a call using it would revert).
        """
        return self.guard.price(asset).price

    def valuation_price(self, asset: str) -> float:
        """Return the guarded price, or the raw oracle answer when the guard pauses the asset
        (for reporting values, never for liquidating).
        """
        if self.guard.available(asset):
            return self.price(asset)
        return self.oracles[asset].read().price

    def _pair_prices(self, book: PairBook) -> tuple[float, float, int] | None:
        coll = self.guard.guarded(book.collateral_asset)
        debt = self.guard.guarded(book.debt_asset)
        if coll is None or debt is None:
            return None
        return coll.price, debt.price, max(coll.seq, debt.seq, self.parameters_seq)

    def _check_risk(self, block: int) -> None:
        del block
        if (self._dirty or self.guard.watches_time) and self.guard.refresh():
            self._dirty = True
        full_check = self._dirty
        found = self._sentinel_filter(self._find_candidates())
        # What is below the line now and not liquidated by the next recheck gets looked at
        # then; a full check with nothing below the line clears it.
        if found or full_check:
            self._left_below = [(c.book, c.positions, c.cause) for c in found]
        if full_check:
            self._fresh_check = True
        self.candidates = found
        for cand in found:
            # Log each position once when it crosses the line, not at every check it stays.
            book = self.books[cand.book]
            flagged = (
                self.multi.flagged() if isinstance(book, MultiBook) else self._flagged[cand.book]
            )
            seen = flagged[cand.positions]
            if np.count_nonzero(seen) == seen.size:  # the backlog, logged when it crossed
                continue
            fresh_at = (~seen).nonzero()[0]
            fresh = cand.positions[fresh_at]
            flagged[fresh] = True
            if isinstance(book, MultiBook):
                # Where they are among the candidates: the risk check valued those.
                debt_usd = self.multi.debt_usd(fresh, fresh_at)
            else:
                debt_usd = float(book.debt[fresh].sum() * self.guard.price(book.debt_asset).price)
            self._ctx.log.emit(
                PositionsBecameLiquidatable,
                cause=cand.cause,
                venue=self.venue_id,
                count=int(fresh.size),
                debt_usd=debt_usd,
            )

    def _find_candidates(self) -> list[Candidates]:  # noqa: C901 - multi book, then pair books
        found: list[Candidates] = []
        multi = self.multi_index
        if multi is not None:
            # Prices, indexes (interest) or touched accounts: the multi-reserve book looks
            # at what may have changed (see MultiBook).
            full = self._dirty or self._multi_dirty
            self._multi_dirty = False
            if full:
                self._last_full_check = self._ctx.clock.now
            hit = self.multi.find(full=full)
            if hit is not None and hit[0].size:
                found.append(Candidates(multi, hit[0], hit[1]))
        if self._dirty:
            # A price moved: query every book's index.
            self._dirty = False
            self._recheck = [r for r in self._recheck if r[0] != multi]
            for i, book in enumerate(self.books):
                if not isinstance(book, PairBook):
                    continue
                prices = self._pair_prices(book)
                if prices is None:
                    continue
                p_c, p_d, cause = prices
                positions = book.liquidatable(p_c / p_d)
                if positions.size:
                    found.append(Candidates(i, positions, cause))
        elif self._recheck:
            # Prices unchanged: only positions just partially liquidated can still be below 1.
            for i, positions, cause in self._recheck:
                if i == multi:
                    continue  # its touched accounts were looked at above
                pair = self.books[i]
                assert isinstance(pair, PairBook)
                prices = self._pair_prices(pair)
                if prices is None:
                    continue
                left = pair.still_liquidatable(positions, prices[0] / prices[1])
                if left.size:
                    found.append(Candidates(i, left, cause))
            self._recheck = []
        return found

    def _sentinel_filter(self, found: list[Candidates]) -> list[Candidates]:
        if not self.guard.sentinel_closed:
            return found
        kept = []
        for cand in found:
            book = self.books[cand.book]
            if isinstance(book, MultiBook):
                allowed = self.guard.sentinel_allows(self.multi.health_factors(cand.positions))
                if allowed.any():
                    kept.append(Candidates(cand.book, cand.positions[allowed], cand.cause))
                continue
            ratio = self.price(book.collateral_asset) / self.price(book.debt_asset)
            allowed = self.guard.sentinel_allows(book.health_factors(ratio, cand.positions))
            if allowed.all():
                kept.append(cand)
            elif allowed.any():
                kept.append(Candidates(cand.book, cand.positions[allowed], cand.cause))
        return kept

    # -- liquidation --------------------------------------------------------------------------

    def quote(
        self,
        book_index: int,
        positions: NDArray[np.int64],
        *,
        collateral: str | None = None,
        debt: str | None = None,
        candidate_at: NDArray[np.intp] | None = None,
    ) -> kernels.LiquidationBatch:
        """Return what liquidating `positions` with the maximum debt to cover would do now.

        A single-pair book's answer for up to `_MEMO_MAX_ROWS` positions has read-only arrays
        (the same answer serves the same question again). For the multi-reserve book,
        `collateral` and `debt` name the reserves the liquidator chose (required there; ignored
        for single-pair books), and `candidate_at` may say where `positions` are in its latest
        `candidates` (the risk check valued those: see `MultiBook.valued`).
        """
        book = self.books[book_index]
        if isinstance(book, MultiBook):
            if collateral is None or debt is None:
                raise ValueError("expected the collateral and debt reserve for a multi book")
            return self.multi.quote(positions, collateral, debt, candidate_at)[0]
        return self._quote_pair(
            book_index,
            positions,
            self.price(book.collateral_asset),
            self.price(book.debt_asset),
        )

    def _pair_terms(self, collateral: str) -> kernels.PairTerms:
        """Return the liquidation terms of a pair book holding `collateral` under the current
        parameters: its reserve's LT, bonus and protocol fee, and the rules. Built once per
        parameter set (a keeper quotes and liquidates hundreds of times a run).
        """
        params, reserves = self.params, self.reserves
        built = self._terms_of
        if built is None or built[0] is not params or built[1] is not reserves:
            rules = LiquidationRules(params.rules)
            terms = {
                asset: kernels.PairTerms(
                    liquidation_threshold=reserve.liquidation_threshold_bps / 10_000,
                    liquidation_bonus=reserve.liquidation_bonus_bps / 10_000,
                    protocol_fee=params.protocol_fee_bps(asset) / 10_000,
                    rules=rules,
                )
                for asset, reserve in reserves.items()
            }
            built = self._terms_of = (params, reserves, terms)
        return built[2][collateral]

    def _quote_pair(
        self, book_index: int, positions: NDArray[np.int64], p_c: float, p_d: float
    ) -> kernels.LiquidationBatch:
        book = self.books[book_index]
        assert isinstance(book, PairBook)
        terms = self._pair_terms(book.collateral_asset)
        # A keeper offered the same positions again at unchanged prices (the recheck of what
        # it declined) gets the same answer: the kernel is a function of exactly these inputs.
        # The answer's arrays are read-only, as it may be handed out again. With no `update`
        # of the book since, the balances are those of the quote without reading them.
        last = self._last_quote.get(book_index)
        again = (
            last
            if last is not None
            and last.priced_as(p_c, p_d, terms)
            and _same(last.positions, positions)
            else None
        )
        if again is not None and again.book_version == book.version:
            return again.batch
        c = book.collateral[positions]
        d = book.debt[positions]
        if again is not None and again.holds(c, d):
            return again.batch
        batch = kernels.liquidate_max_pair(c, d, p_c, p_d, terms)
        rows = self._quote_rows.get(book_index)
        if rows is not None and last is not None:
            rows[last.positions] = -1
        if positions.size > _MEMO_MAX_ROWS:
            # Not kept: a large book's crash backlog would be held from block to block.
            self._last_quote.pop(book_index, None)
            return batch
        if rows is None:
            rows = self._quote_rows[book_index] = np.full(len(book), -1, dtype=np.int32)
        rows[positions] = np.arange(positions.size)
        for array in batch.arrays():
            array.setflags(write=False)  # cheaper than going through `array.flags`
        self._last_quote[book_index] = _PairQuote(
            positions.copy(), c, d, p_c, p_d, terms, batch, book.version
        )
        return batch

    def _quoted_rows(
        self,
        book_index: int,
        positions: NDArray[np.int64],
        c: NDArray[np.float64],
        d: NDArray[np.float64],
        p_c: float,
        p_d: float,
        terms: kernels.PairTerms,
    ) -> kernels.LiquidationBatch | None:
        # A keeper's transaction usually executes in the next block, before any new price:
        # its positions' rows of the quote it was sent on are the kernel's answer again when
        # the prices, the terms and every balance are those of that quote (else None).
        last = self._last_quote.get(book_index)
        if last is None or not last.priced_as(p_c, p_d, terms):
            return None
        rows = self._quote_rows[book_index][positions]
        if positions.size == 0 or np.minimum.reduce(rows) < 0:
            return None
        # With no `update` of the book since the quote, its balances are these.
        book = self.books[book_index]
        assert isinstance(book, PairBook)
        if book.version != last.book_version and not last.holds(c, d, rows):
            return None
        return last.batch.take(rows)

    def liquidate(
        self,
        book_index: int,
        positions: NDArray[np.int64],
        *,
        liquidator: str,
        cause: int | NDArray[np.int64],
        collateral: str | None = None,
        debt: str | None = None,
    ) -> LiquidationReport:
        """Liquidate `positions` of one book with the maximum debt to cover, as one batch of
        ``liquidationCall``s; calls that would revert (health restored, dust) are counted.
        `collateral` and `debt` are the liquidator's choice of reserves in the multi book.
        """
        book = self.books[book_index]
        if isinstance(book, MultiBook):
            return self._liquidate_multi(book_index, positions, liquidator, cause, collateral, debt)
        log = self._ctx.log
        prices = self._pair_prices(book)
        if prices is None:
            return self._fail_count(
                book.collateral_asset, positions, liquidator, cause, "oracle_unavailable"
            )
        p_c, p_d, _ = prices
        terms = self._pair_terms(book.collateral_asset)
        # The guard's prices at this instant are the ones `quote` would read; the balances
        # are read once for the quote and the health factors.
        c = book.collateral[positions]
        d = book.debt[positions]
        batch = self._quoted_rows(book_index, positions, c, d, p_c, p_d, terms)
        if batch is None:
            batch = kernels.liquidate_max_pair(c, d, p_c, p_d, terms)
        health = book.health_of(c, d, p_c / p_d)
        ok = batch.executed
        if self.guard.sentinel_closed:
            ok = ok & self.guard.sentinel_allows(health)
        done = positions[ok]
        failed = int(positions.size - done.size)
        if failed:
            self._fail_count(book.collateral_asset, positions[~ok], liquidator, cause, "reverted")
        if done.size == 0:
            return LiquidationReport(len(log), done, book.collateral_asset, 0.0, 0.0, failed)
        if failed:
            health_before = health[ok]
            repaid = batch.debt_repaid[ok]
            seized = batch.collateral_seized[ok]
            fee = batch.protocol_fee[ok]
            deficit = batch.deficit[ok]
            residual = batch.bad_debt[ok]
            to_liquidator_tokens = batch.collateral_to_liquidator[ok]
            causes = cause[ok] if isinstance(cause, np.ndarray) else cause
        else:
            # Every call executes: the batch's own (fresh) arrays, without copying them.
            health_before = health
            repaid = batch.debt_repaid
            seized = batch.collateral_seized
            fee = batch.protocol_fee
            deficit = batch.deficit
            residual = batch.bad_debt
            to_liquidator_tokens = batch.collateral_to_liquidator
            causes = cause.copy() if isinstance(cause, np.ndarray) else cause
        first = log_liquidations(
            log,
            venue=self.venue_id,
            liquidator=liquidator,
            accounts=done + book.first_account,
            collateral_asset=book.collateral_asset,
            debt_asset=book.debt_asset,
            repaid=repaid,
            seized=seized,
            fee=fee,
            collateral_price=p_c,
            debt_price=p_d,
            health=health_before,
            cause=causes,
        )
        # v3.3 burns what is left into the deficit; v2 and v3.0 leave it as residual bad debt
        # (`kernels.liquidate`): the other column is all zeros, and adding it changes nothing.
        v3_3 = terms.rules is LiquidationRules.V3_3
        unbacked, treatment = (deficit, "deficit") if v3_3 else (residual, "residual")
        new_collateral = (c if done.size == positions.size else c[ok]) - seized
        new_debt = (d if done.size == positions.size else d[ok]) - repaid
        if v3_3:
            new_debt -= deficit
        # Float rounding must not leave a negative dust balance.
        np.maximum(new_collateral, 0.0, out=new_collateral)
        np.maximum(new_debt, 0.0, out=new_debt)
        book.update(done, new_collateral, new_debt)
        self._flagged[book_index][done] = False  # a liquidated position may cross again later
        hit = (unbacked > 0).nonzero()[0]
        if hit.size:
            log_bad_debt(
                log,
                venue=self.venue_id,
                first=first,
                where=hit,
                accounts=done[hit] + book.first_account,
                asset=book.debt_asset,
                amounts=unbacked[hit],
                price=p_d,
                treatment=treatment,
            )
        # np.add.reduce is ndarray.sum (the same pairwise sum) without its wrapper's overhead:
        # this runs for every liquidation transaction.
        total = np.add.reduce
        unbacked_sum = total(unbacked)
        repaid_sum = total(repaid)
        if v3_3:
            self.deficit[book.debt_asset] += float(unbacked_sum)
        to_liquidator = float(total(to_liquidator_tokens))
        t = self.totals
        t["liquidations"] += done.size
        t["debt_repaid_usd"] += float(repaid_sum * p_d)
        t["collateral_seized_usd"] += float(total(seized) * p_c)
        t["protocol_fee_usd"] += float(total(fee) * p_c)
        t["deficit_usd" if v3_3 else "residual_bad_debt_usd"] += float(unbacked_sum * p_d)
        # Positions left below HF 1 by a partial liquidation are looked at again next block.
        self._recheck.append((book_index, done, first))
        self.chain.request_block()
        return LiquidationReport(
            first, done, book.collateral_asset, to_liquidator, float(repaid_sum), failed
        )

    def reserve_values(
        self,
        book_index: int,
        positions: NDArray[np.int64],
        candidate_at: NDArray[np.intp] | None = None,
    ) -> tuple[list[str], NDArray[np.float64], list[str], NDArray[np.float64]]:
        """Return the multi book's collateral and debt reserves and, for `positions`, the USD
        value of each enabled collateral (k × C) and each debt (k × D), for a liquidator to
        choose its pair (`candidate_at`: as for `quote`).
        """
        if book_index != self.multi_index:
            raise ValueError(f"book {book_index} is not the multi-reserve book")
        return self.multi.reserve_values(positions, candidate_at)

    def collateral_bonus(
        self, book_index: int, positions: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """Return the bonus multiplier (k × C) each of `positions` would get on each collateral
        (the e-mode one where the account's category covers the asset).
        """
        if book_index != self.multi_index:
            raise ValueError(f"book {book_index} is not the multi-reserve book")
        out: NDArray[np.float64] = self.multi.bonus_table[self.multi.book.emode[positions]]
        return out

    def _liquidate_multi(
        self,
        book_index: int,
        positions: NDArray[np.int64],
        liquidator: str,
        cause: int | NDArray[np.int64],
        collateral: str | None,
        debt: str | None,
    ) -> LiquidationReport:
        if collateral is None or debt is None:
            raise ValueError("expected the collateral and debt reserve for a multi book")
        if self.multi._prices() is None:
            return self._fail_count(collateral, positions, liquidator, cause, "oracle_unavailable")
        first, done, to_liquidator, repaid, failed = self.multi.liquidate(
            positions,
            collateral,
            debt,
            liquidator=liquidator,
            cause=cause,
            allowed=np.ones(1, dtype=np.bool_) if self.guard.sentinel_closed else None,
        )
        if failed:
            bad = np.setdiff1d(positions, done)
            self._fail_count(collateral, bad, liquidator, cause, "reverted")
        if done.size:
            self._recheck.append((book_index, done, first))
            self.chain.request_block()
        return LiquidationReport(first, done, collateral, to_liquidator, repaid, failed)

    def _fail_count(
        self,
        collateral: str,
        positions: NDArray[np.int64],
        liquidator: str,
        cause: int | NDArray[np.int64],
        reason: str,
    ) -> LiquidationReport:
        count = int(positions.size)
        self.totals["failed_liquidations"] += count
        log = self._ctx.log
        log_failed(
            log, venue=self.venue_id, liquidator=liquidator, count=count, cause=cause, reason=reason
        )
        return LiquidationReport(len(log), positions[:0], collateral, 0.0, 0.0, count)

    # -- reporting ----------------------------------------------------------------------------

    def metrics(self) -> dict[str, float]:
        """Return liquidation totals, deficits and the book's remaining size."""
        out = dict(self.totals)
        out["accounts"] = float(sum(len(b) for b in self.books))
        multi_collateral, multi_debt = self.multi.totals_usd()
        out["collateral_usd"] = multi_collateral + float(
            sum(
                b.collateral.sum() * self.valuation_price(b.collateral_asset)
                for b in self.pair_books
            )
        )
        out["debt_usd"] = multi_debt + float(
            sum(b.debt.sum() * self.valuation_price(b.debt_asset) for b in self.pair_books)
        )
        out["bad_debt_usd"] = out["deficit_usd"] + out["residual_bad_debt_usd"]
        return out

    def positions_frame(self) -> pd.DataFrame:
        """Return every position now, one row each (the rows `health_under` follows).

        Columns: ``venue``, ``account``, ``collateral_asset``, ``debt_asset``, ``collateral``
        and ``debt`` (tokens), ``collateral_usd``, ``debt_usd``, ``liquidation_threshold``,
        ``health_factor``, ``collateral_oracle``, ``debt_oracle``. A multi-reserve account is
        one row naming its largest collateral and debt reserve; its tokens are those of these
        two, its USD values and threshold (``weighted / collateral``) cover all its reserves.
        """
        import pandas as pd

        frames = []
        for book in self.books:
            if isinstance(book, MultiBook):
                frames.append(self._multi_frame())
                continue
            p_c = self.valuation_price(book.collateral_asset)
            p_d = self.valuation_price(book.debt_asset)
            frames.append(
                pd.DataFrame(
                    {
                        "venue": self.venue_id,
                        "account": np.arange(len(book)) + book.first_account,
                        "collateral_asset": book.collateral_asset,
                        "debt_asset": book.debt_asset,
                        "collateral": book.collateral,
                        "debt": book.debt,
                        "collateral_usd": book.collateral * p_c,
                        "debt_usd": book.debt * p_d,
                        "liquidation_threshold": book.liquidation_threshold,
                        "health_factor": book.health_factors(p_c / p_d),
                        "collateral_oracle": self.reserves[book.collateral_asset].oracle,
                        "debt_oracle": self.reserves[book.debt_asset].oracle,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def health_under(self, prices: Mapping[str, float]) -> NDArray[np.float64]:
        """Return every position's health factor if the venue's oracles answered `prices`
        (asset → USD; assets not given keep their current price), in `positions_frame` order.
        First order: no liquidation, no market impact.
        """
        out = []
        for book in self.books:
            if isinstance(book, MultiBook):
                out.append(self._multi_health_under(prices))
                continue
            p_c = prices.get(book.collateral_asset, self.valuation_price(book.collateral_asset))
            p_d = prices.get(book.debt_asset, self.valuation_price(book.debt_asset))
            out.append(book.health_factors(p_c / p_d))
        return np.concatenate(out) if out else np.empty(0)

    def _multi_frame(self) -> pd.DataFrame:
        import pandas as pd

        multi = self.multi
        rows = np.arange(len(multi.book), dtype=np.int64)
        c_assets, coll, d_assets, debt = multi.reserve_values(rows)
        ci = coll.argmax(axis=1)
        di = debt.argmax(axis=1)
        book = multi.book
        collateral_usd = coll.sum(axis=1)
        hf = multi.health_factors()
        with np.errstate(divide="ignore", invalid="ignore"):
            lt = np.where(
                collateral_usd > 0,
                hf * debt.sum(axis=1) / np.where(collateral_usd > 0, collateral_usd, 1.0),
                0.0,
            )
        c_names = np.array(c_assets, dtype=object)[ci]
        d_names = np.array(d_assets, dtype=object)[di]
        return pd.DataFrame(
            {
                "venue": self.venue_id,
                "account": rows + book.first_account,
                "collateral_asset": c_names,
                "debt_asset": d_names,
                "collateral": coll[rows, ci] / np.array([self.valuation_price(a) for a in c_names])
                if rows.size
                else np.empty(0),
                "debt": debt[rows, di] / np.array([self.valuation_price(a) for a in d_names])
                if rows.size
                else np.empty(0),
                "collateral_usd": collateral_usd,
                "debt_usd": debt.sum(axis=1),
                "liquidation_threshold": np.where(np.isfinite(lt), lt, 0.0),
                "health_factor": hf,
                "collateral_oracle": [self.reserves[a].oracle for a in c_names],
                "debt_oracle": [self.reserves[a].oracle for a in d_names],
            }
        )

    def _multi_health_under(self, prices: Mapping[str, float]) -> NDArray[np.float64]:
        multi = self.multi
        book = multi.book
        pc = np.array([prices.get(a, self.valuation_price(a)) for a in book.collateral_assets])
        pd_ = np.array([prices.get(a, self.valuation_price(a)) for a in book.debt_assets])
        cu, du = multi.units((pc, pd_))
        return book.exact_health(np.arange(len(book), dtype=np.int64), cu, du)

    def priced_by(self) -> dict[str, tuple[str, ...]]:
        """Return the oracle ids each reserve's price comes from (source, then fallback)."""
        return {
            asset: tuple(o for o in (r.oracle, r.fallback_oracle) if o is not None)
            for asset, r in self.reserves.items()
        }

    @property
    def chain_id(self) -> str:
        """The chain the market lives on."""
        return self.params.chain


_MEMO_MAX_ROWS = 8_192
"""Largest pair-book quote kept to answer the same question again (`_quote_pair`; the
keeper's ``_REPEATED_QUOTE_MAX_ROWS`` is the same number)."""


@dataclass(frozen=True, slots=True)
class _PairQuote:
    """A pair book's quote and its inputs: positions, their balances (and the book's version
    they were read at), prices and terms.
    """

    positions: NDArray[np.int64]
    collateral: NDArray[np.float64]
    debt: NDArray[np.float64]
    collateral_price: float
    debt_price: float
    terms: kernels.PairTerms
    batch: kernels.LiquidationBatch
    book_version: int
    """The book's `PairBook.version` when the balances were read."""

    def holds(
        self,
        collateral: NDArray[np.float64],
        debt: NDArray[np.float64],
        rows: NDArray[np.int32] | None = None,
    ) -> bool:
        """Return whether the balances this quote read (at its `rows`; all if None) are
        `collateral` and `debt`.

        Equal balances may differ in the sign of a zero, which changes no output (such a row
        cannot execute: its outputs are zeros).
        """
        if rows is None:
            return _same(self.collateral, collateral) and _same(self.debt, debt)
        return _same(self.collateral[rows], collateral) and _same(self.debt[rows], debt)

    def priced_as(
        self, collateral_price: float, debt_price: float, terms: kernels.PairTerms
    ) -> bool:
        """Return whether the quote used these prices (neither zero) and terms."""
        return (
            self.terms is terms
            and self.collateral_price == collateral_price != 0.0
            and self.debt_price == debt_price != 0.0
        )


def _same(a: NDArray[np.generic], b: NDArray[np.generic]) -> bool:
    """`np.array_equal` of two arrays, without its argument conversions (asked per quote)."""
    # A full count of equal elements is ``all`` without the ndarray method's wrapper.
    return a.shape == b.shape and np.count_nonzero(a == b) == a.size


def build(ctx: SimContext, spec: ComponentSpec, params: AaveV3Params, where: str) -> AaveV3Market:
    """Build an `AaveV3Market` from its scenario entry."""
    del where
    return AaveV3Market(ctx, spec.id, params)


__all__ = ["ROOT", "AaveReverted", "AaveV3Market", "Candidates", "LiquidationReport", "build"]
