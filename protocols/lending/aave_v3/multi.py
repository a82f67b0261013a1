"""Multi-reserve accounts of an Aave v3 market: reserves' interest state, e-mode, isolation,
caps, the supply/borrow validation, risk checks and liquidations of the `MultiBook`.

Rules (mechanics §1; aave-dao/aave-v3-origin v3.3.0 unless noted):

- account data: ``GenericLogic.calculateUserAccountData``: collateral counts where the account
  enabled it and its LT is non-zero; an account in an e-mode category uses the category's LTV
  and LT for the category's collateral assets (``EModeLogic``, v3.2+ bitmaps);
- supply: ``ValidationLogic.validateSupply`` (supply cap in whole tokens, checked against the
  supply including accrued interest); the first supply of an asset is enabled as collateral per
  ``ValidationLogic.validateUseAsCollateral`` (LTV ≠ 0; the first collateral always; later ones
  only outside isolation mode and if not themselves isolated). The
  ``ISOLATED_COLLATERAL_SUPPLIER_ROLE`` check of automatic enabling is not modelled: a user
  supplying an isolated asset enables it itself (``setUserUseReserveAsCollateral``);
- borrow: ``ValidationLogic.validateBorrow`` in its order: amount, borrowing enabled, e-mode
  borrowable, available liquidity (virtual balance), borrow cap, isolation (borrowable in
  isolation, debt ceiling in USD with 2 decimals counted in debt-token units, as the contract
  does), then collateral ≠ 0, LTV ≠ 0, HF > 1 and ``(debt + amount) / LTV <= collateral``
  (LTV, not LT). Siloed borrowing and the price-oracle sentinel's borrow check are not modelled;
- interest: ``DefaultReserveInterestRateStrategyV2`` rates, the liquidity index linear and the
  variable borrow index compounded (``MathUtils``), updated on every action that touches the
  reserve, read as ``index · growth since the update`` in between (``getNormalizedDebt``);
- liquidation: `kernels.liquidate_accounts` (close factor over total debt, dust rule, deficit
  burning all debts when no collateral is left, v3.3; 50 %/100 % and residual bad debt, v3.0;
  50 %, v2), the bonus of the collateral reserve or of the account's e-mode category when it
  covers the collateral. The protocol fee stays in the reserve as the treasury's aTokens;
  ``accruedToTreasury`` (the reserve factor's share of interest) is not tracked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from protosim.protocols.lending.aave_v3 import kernels
from protosim.protocols.lending.aave_v3.errors import AaveReverted
from protosim.protocols.lending.aave_v3.events import AccountOpened, Borrowed, Supplied
from protosim.protocols.lending.aave_v3.math import LiquidationRules
from protosim.protocols.lending.aave_v3.multibook import MultiBook, Valuation
from protosim.protocols.lending.aave_v3.params import (
    AaveV3Params,
    MultiPopulationParams,
    RateStrategyParams,
)
from protosim.protocols.lending.batches import log_bad_debt, log_liquidations

if TYPE_CHECKING:
    from protosim.protocols.lending.aave_v3.venue import AaveV3Market

__all__ = ["MultiMarket", "ReserveState"]

SECONDS_PER_YEAR = 365 * 86_400.0
_REFERENCE_SLACK = 0.05
"""Re-reference the whole book when the band to compute exceeds the accounts last found
below 1 by this share of it (a reference costs one pass over the book; a loose band, a
gather per row at every check until the next)."""

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _executes_all(ok: NDArray[np.bool_]) -> bool:
    """Return whether every call of a liquidation batch executes."""
    return bool(np.count_nonzero(ok) == ok.size)


def _executed(
    rows: IntArray,
    batch: kernels.LiquidationBatch,
    health: FloatArray,
    ok: NDArray[np.bool_],
    every: bool,
    at: NDArray[np.intp] | None,
) -> tuple[
    IntArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray
]:
    """Return the executed calls' rows, debt repaid, collateral seized, fee, deficit, bad
    debt, collateral to the liquidator and health factors (`at`: the quote's positions, None
    if `health` is the kept valuation's own array).
    """
    if not every:
        return (
            rows[ok],
            batch.debt_repaid[ok],
            batch.collateral_seized[ok],
            batch.protocol_fee[ok],
            batch.deficit[ok],
            batch.bad_debt[ok],
            batch.collateral_to_liquidator[ok],
            health[ok],
        )
    # Every call executes (usually): the quote's own fresh arrays, without copying them;
    # copies of those the log would otherwise share with the caller or the kept valuation.
    return (
        rows.copy(),
        batch.debt_repaid,
        batch.collateral_seized,
        batch.protocol_fee,
        batch.deficit,
        batch.bad_debt,
        batch.collateral_to_liquidator,
        health if at is not None else health.copy(),
    )


def _executed_balances(
    valued: Valuation, ok: NDArray[np.bool_], every: bool, at: NDArray[np.intp] | None
) -> tuple[FloatArray, FloatArray]:
    """Return copies of the executed calls' scaled balances in `valued` (`at`: the quote's
    positions there, None if all in order).
    """
    if at is None and every:
        return valued.supplied.copy(), valued.borrowed.copy()
    picked = np.flatnonzero(ok) if at is None else at if every else at[ok]
    return np.take(valued.supplied, picked, axis=0), np.take(valued.borrowed, picked, axis=0)


@dataclass(slots=True)
class ReserveState:
    """A reserve's interest and liquidity state (floats; whole tokens, rates per year)."""

    strategy: RateStrategyParams | None
    liquidity_index: float = 1.0
    borrow_index: float = 1.0
    liquidity_rate: float = 0.0
    borrow_rate: float = 0.0
    updated_at: float = 0.0
    scaled_supply: float = 0.0
    """All aTokens, scaled: the book's accounts, passive suppliers and the treasury."""
    scaled_debt: float = 0.0
    virtual_balance: float = math.inf
    """Tokens the reserve holds (``virtualUnderlyingBalance``); infinite without a strategy."""
    isolation_debt_cents: int = 0
    """``isolationModeTotalDebt`` of an isolated collateral, USD cents of debt tokens."""
    _last_indexes: tuple[tuple[float | bool, ...], tuple[float, float]] | None = field(
        default=None, repr=False, compare=False
    )
    """The last `indexes` asked for and what it was computed from (every valuation of an
    instant asks again, usually of an unchanged state)."""

    def indexes(self, now: float) -> tuple[float, float]:
        """Return the liquidity and borrow index at `now` without updating the state."""
        dt = now - self.updated_at
        if dt <= 0 or self.strategy is None:
            return self.liquidity_index, self.borrow_index
        owes = self.scaled_debt > 0
        inputs = (
            dt,
            self.liquidity_index,
            self.liquidity_rate,
            self.borrow_index,
            self.borrow_rate,
            owes,
        )
        last = self._last_indexes
        if last is not None and last[0] == inputs:
            return last[1]
        li = self.liquidity_index * (1.0 + self.liquidity_rate * dt / SECONDS_PER_YEAR)
        bi = self.borrow_index
        if owes:
            bi *= float(kernels.compounded_interest(self.borrow_rate, dt))
        self._last_indexes = (inputs, (li, bi))
        return li, bi

    def update(self, now: float) -> None:
        """Accrue the indexes to `now` (``ReserveLogic.updateState``)."""
        self.liquidity_index, self.borrow_index = self.indexes(now)
        self.updated_at = now

    def update_rates(self) -> None:
        """Recompute the rates from the utilization (``ReserveLogic.updateInterestRates``)."""
        s = self.strategy
        if s is None:
            return
        self.liquidity_rate, self.borrow_rate = kernels.interest_rates(
            self.scaled_debt * self.borrow_index,
            max(self.virtual_balance, 0.0),
            optimal_usage=s.optimal_usage_bps / 10_000,
            base_rate=s.base_rate_bps / 10_000,
            slope1=s.slope1_bps / 10_000,
            slope2=s.slope2_bps / 10_000,
            reserve_factor=s.reserve_factor_bps / 10_000,
        )


@dataclass(slots=True)
class _Draft:
    """An account's balances (tokens) while a supply or borrow is validated."""

    emode: int
    supplied: dict[str, float] = field(default_factory=dict)
    borrowed: dict[str, float] = field(default_factory=dict)
    enabled: set[str] = field(default_factory=set)
    pending_supply: dict[str, float] = field(default_factory=dict)
    pending_debt: dict[str, float] = field(default_factory=dict)
    pending_cents: int = 0


class MultiMarket:
    """The multi-reserve side of an `AaveV3Market` (its book, reserves and actions).

    Parameters
    ----------
    venue : AaveV3Market
        The owning venue (oracles, guard, log, clock).
    params : AaveV3Params
        The market.
    first_account : int
        Account id of the book's first row.
    """

    def __init__(self, venue: AaveV3Market, params: AaveV3Params, first_account: int) -> None:
        self.venue = venue
        self.params = params
        self._ctx = venue._ctx
        self.reserves = {a: ReserveState(r.rate) for a, r in params.reserves.items()}
        self.category_ids = [0, *sorted(params.emode_categories)]
        self._category_index = {cid: i for i, cid in enumerate(self.category_ids)}
        reserve_order = list(params.reserves)
        used_c = {a for p in params.multi_populations for a in p.collateral}
        used_d = {a for p in params.multi_populations for a in p.debt}
        self.book = MultiBook(
            [a for a in reserve_order if a in used_c],
            [a for a in reserve_order if a in used_d],
            first_account,
            capacity=max(16, sum(p.accounts for p in params.multi_populations)),
        )
        self._build_tables()
        for i, pop in enumerate(params.multi_populations):
            self._populate(i, pop, venue._ctx.rng.stream(f"multi_population.{venue.venue_id}.{i}"))
        for asset, state in self.reserves.items():
            self._set_passive_supply(asset, state)
        self._flagged = np.zeros(0, dtype=np.bool_)
        self._last_found = 0
        """Accounts the last full check found below 1."""

    # -- tables -------------------------------------------------------------------------------

    def _build_tables(self) -> None:
        cats = [None, *(self.params.emode_categories[c] for c in self.category_ids[1:])]
        cols = self.book.collateral_assets
        c = len(cols)
        base_lt = np.array(
            [self.params.reserves[a].liquidation_threshold_bps / 10_000 for a in cols]
        )
        base_lb = np.array([self.params.reserves[a].liquidation_bonus_bps / 10_000 for a in cols])
        lt = np.tile(base_lt, (len(cats), 1))
        lb = np.tile(base_lb, (len(cats), 1))
        for k, cat in enumerate(cats):
            if cat is None:
                continue
            for j, asset in enumerate(cols):
                if asset in cat.collateral_assets:
                    lt[k, j] = cat.liquidation_threshold_bps / 10_000
                    lb[k, j] = cat.liquidation_bonus_bps / 10_000
        masks = np.arange(256, dtype=np.int64)
        bits = ((masks[:, None] >> np.arange(c)) & 1).astype(np.float64)  # (256, C)
        self.lt_table = lt[:, None, :] * bits[None, :, :]
        self.bonus_table = lb
        # A collateral's bonus where every category has the same (None where they differ): a
        # quote then needs no account's category.
        self._one_bonus = [float(col[0]) if np.all(col == col[0]) else None for col in lb.T]
        self.book.set_thresholds(self.lt_table)
        self._fee = np.array([self.params.protocol_fee_bps(a) / 10_000 for a in cols])
        self._rules = LiquidationRules(self.params.rules)
        # Whether a collateral has a debt ceiling (else no isolated debt to reduce).
        self._ceilings = any(self.params.reserves[a].debt_ceiling_usd > 0 for a in cols)

    def change_parameters(self, params: AaveV3Params) -> None:
        """Take `params`' reserve and e-mode risk parameters and rate strategies from now on
        (a governance change; `AaveV3Market.check_parameters` said what may change). Interest
        accrued so far stays; the next risk check values every account anew.
        """
        now = self._ctx.clock.now
        for asset, state in self.reserves.items():
            state.update(now)
            state.strategy = params.reserves[asset].rate
            state.update_rates()
        self.params = params
        self._build_tables()

    def _bit(self, asset: str) -> int:
        return 1 << self.book.collateral_assets.index(asset)

    def _populate(self, i: int, pop: MultiPopulationParams, rng: np.random.Generator) -> None:
        n = pop.accounts
        collateral_usd = pop.collateral_usd.draw(rng, n)
        hf = pop.health_factor.draw(rng, n)
        book = self.book
        cat = self.params.emode_categories.get(pop.emode)
        supplied = np.zeros((n, len(book.collateral_assets)))
        borrowed = np.zeros((n, len(book.debt_assets)))
        weighted_share = 0.0
        mask = 0
        for asset, share in pop.collateral.items():
            j = book.collateral_assets.index(asset)
            price = self.venue.oracles[asset].read().price
            supplied[:, j] = collateral_usd * share / price
            lt_bps = self.params.reserves[asset].liquidation_threshold_bps
            if cat is not None and asset in cat.collateral_assets:
                lt_bps = cat.liquidation_threshold_bps
            weighted_share += share * lt_bps / 10_000
            mask |= self._bit(asset)
        debt_usd = collateral_usd * weighted_share / hf
        for asset, share in pop.debt.items():
            j = book.debt_assets.index(asset)
            borrowed[:, j] = debt_usd * share / self.venue.oracles[asset].read().price
        isolated = [a for a in pop.collateral if self.params.reserves[a].debt_ceiling_usd > 0]
        if isolated:
            state = self.reserves[isolated[0]]
            cents = int(np.floor(borrowed * 100).sum())
            ceiling = round(self.params.reserves[isolated[0]].debt_ceiling_usd * 100)
            if state.isolation_debt_cents + cents > ceiling:
                raise KeyError(
                    f"multi_populations[{i}]: the population borrows "
                    f"${(state.isolation_debt_cents + cents) / 100:,.2f} against isolated "
                    f"{isolated[0]}, above its debt_ceiling_usd "
                    f"{ceiling / 100:,.2f} (DEBT_CEILING_EXCEEDED)"
                )
            state.isolation_debt_cents += cents
        for j, asset in enumerate(book.collateral_assets):
            self.reserves[asset].scaled_supply += float(supplied[:, j].sum())
        for j, asset in enumerate(book.debt_assets):
            self.reserves[asset].scaled_debt += float(borrowed[:, j].sum())
        book.append(supplied, borrowed, self._category_index[pop.emode], mask, bool(isolated))

    def _set_passive_supply(self, asset: str, state: ReserveState) -> None:
        s = state.strategy
        if s is None:
            return
        # Passive suppliers outside the book bring the reserve to its initial utilization.
        debt = state.scaled_debt
        total = max(debt / s.initial_utilization, state.scaled_supply)
        total += self.params.reserves[asset].passive_supply
        state.scaled_supply = total
        state.virtual_balance = total - debt
        state.update_rates()

    # -- valuation ----------------------------------------------------------------------------

    def _prices(self) -> tuple[FloatArray, FloatArray, int] | None:
        guard = self.venue.guard
        book = self.book
        seq = self.venue.parameters_seq
        out = []
        for cols in (book.collateral_assets, book.debt_assets):
            prices = np.empty(len(cols))
            for j, asset in enumerate(cols):
                g = guard.guarded(asset)
                if g is None:
                    return None
                prices[j] = g.price
                seq = max(seq, g.seq)
            out.append(prices)
        return out[0], out[1], seq

    def units(self, prices: tuple[FloatArray, FloatArray]) -> tuple[FloatArray, FloatArray]:
        """Return USD per scaled unit of every collateral and debt column now."""
        now = self._ctx.clock.now
        book = self.book
        li = np.array([self.reserves[a].indexes(now)[0] for a in book.collateral_assets])
        bi = np.array([self.reserves[a].indexes(now)[1] for a in book.debt_assets])
        return prices[0] * li, prices[1] * bi

    def valuation_units(self) -> tuple[FloatArray, FloatArray]:
        """Return `units` at the venue's prices now, using raw oracle answers where the guard
        pauses an asset (for reporting and choosing, never for liquidating).
        """
        venue = self.venue
        book = self.book
        pc = np.array([venue.valuation_price(a) for a in book.collateral_assets])
        pd = np.array([venue.valuation_price(a) for a in book.debt_assets])
        return self.units((pc, pd))

    def health_factors(self, rows: IntArray | None = None) -> FloatArray:
        """Return the health factors of `rows` (all if None) at `valuation_units`."""
        cu, du = self.valuation_units()
        if rows is None:
            rows = np.arange(len(self.book), dtype=np.int64)
        return self.book.exact_health(rows, cu, du)

    def reserve_values(
        self, rows: IntArray, kept_at: NDArray[np.intp] | None = None
    ) -> tuple[list[str], FloatArray, list[str], FloatArray]:
        """Return, for `rows`, the USD value of each enabled collateral and of each debt
        (`kept_at`: where they are among the last risk check's answer, see
        `MultiBook.valued`).

        Returns
        -------
        collateral_assets : list of str
        collateral_usd : ndarray, shape (k, C)
            Zero where the account does not use the reserve as collateral.
        debt_assets : list of str
        debt_usd : ndarray, shape (k, D)
        """
        book = self.book
        cu, du = self.valuation_units()
        # Candidates were valued by the risk check that found them (`MultiBook.below_one`).
        valued, at = book.valued(rows, cu, du, kept_at)
        coll: FloatArray = valued.pick("collateral_usd", at)
        debt: FloatArray = valued.pick("debt_usd", at)
        return list(book.collateral_assets), coll, list(book.debt_assets), debt

    # -- risk ---------------------------------------------------------------------------------

    def find(self, *, full: bool) -> tuple[IntArray, int] | None:
        """Return the accounts below HF 1 (most underwater first) and the newest oracle seq.

        `full`: prices or indexes may have moved since the last look (a new answer, or interest
        past the tolerance), so every account they may have pushed below 1 is looked at;
        otherwise only the accounts changed since the last look (liquidated, opened, supplied
        to, borrowed by).
        """
        book = self.book
        fresh = book.take_fresh()
        if len(book) == 0:
            return None
        priced = self._prices()
        if priced is None:
            return None
        pc, pd, cause = priced
        cu, du = self.units((pc, pd))
        ref = book.ref_units
        if not full:
            if fresh.size == 0:
                return None
            return book.below_one(fresh, cu, du)[0], cause
        if ref is None or len(ref[0]) != len(cu) or len(ref[1]) != len(du):
            return self._reference(cu, du, cause)
        ratio_c = cu / ref[0]
        ratio_d = du / ref[1]
        threshold = float(ratio_d.max(initial=1.0) / ratio_c.min(initial=1.0))
        rows, at = book.band_positions(threshold * (1.0 + book.margin))
        if rows.size - self._last_found > _REFERENCE_SLACK * len(book):
            # The bound has loosened: a new reference tightens it.
            return self._reference(cu, du, cause)
        moved_c = np.flatnonzero(ratio_c != 1.0)
        moved_d = np.flatnonzero(ratio_d != 1.0)
        if moved_c.size < len(cu) or moved_d.size < len(du):
            # An account holding no moved asset has its reference HF now.
            keep = book.holds(rows, moved_c, moved_d) | (
                np.take(book.hf_ref, rows) < 1.0 + book.margin
            )
            rows = rows[keep]
            at = None if at is None else at[keep]
        # The band's positions in the near copy spare looking them up again.
        found = book.below_one(rows, cu, du, positions=at)[0]
        self._last_found = found.size
        return found, cause

    def _reference(self, cu: FloatArray, du: FloatArray, cause: int) -> tuple[IntArray, int]:
        book = self.book
        hf = book.fast_health(None, cu, du)
        book.reference(hf, cu, du)
        near = np.flatnonzero(hf < 1.0 + book.margin).astype(np.int64)
        found = book.below_one(near, cu, du)[0]
        self._last_found = found.size
        return found, cause

    def still_liquidatable(self, rows: IntArray) -> IntArray:
        """Return those of `rows` whose health factor is below 1 now."""
        priced = self._prices()
        if priced is None:
            return rows[:0]
        cu, du = self.units((priced[0], priced[1]))
        out: IntArray = rows[self.book.exact_health(rows, cu, du) < 1.0]
        return out

    def max_borrow_rate(self) -> float:
        """Return the highest variable borrow rate of a reserve with debt, per year."""
        rates = [s.borrow_rate for s in self.reserves.values() if s.scaled_debt > 0]
        return max(rates, default=0.0)

    def flagged(self) -> NDArray[np.bool_]:
        """Return the "already logged as liquidatable" mask, grown to the book's size."""
        if len(self._flagged) < len(self.book):
            grown = np.zeros(len(self.book), dtype=np.bool_)
            grown[: len(self._flagged)] = self._flagged
            self._flagged = grown
        return self._flagged

    def debt_usd(self, rows: IntArray, kept_at: NDArray[np.intp] | None = None) -> float:
        """Return the total debt of `rows` in USD at the venue's prices (`kept_at`: see
        `reserve_values`).
        """
        return float(self.reserve_values(rows, kept_at)[3].sum())

    # -- liquidation --------------------------------------------------------------------------

    def quote(
        self,
        rows: IntArray,
        collateral: str,
        debt: str,
        kept_at: NDArray[np.intp] | None = None,
    ) -> tuple[kernels.LiquidationBatch, NDArray[np.bool_], FloatArray]:
        """Return what liquidating `rows` on (collateral, debt) with the maximum debt would do
        now, which calls leave no collateral, and the accounts' health factors (`kept_at`:
        where `rows` are among the last risk check's answer, see `MultiBook.valued`).
        """
        return self._quote(rows, collateral, debt, kept_at)[:3]

    def _quote(
        self,
        rows: IntArray,
        collateral: str,
        debt: str,
        kept_at: NDArray[np.intp] | None = None,
    ) -> tuple[
        kernels.LiquidationBatch, NDArray[np.bool_], FloatArray, Valuation, NDArray[np.intp] | None
    ]:
        """`quote`, and the `Valuation` it read with the positions of `rows` there (see
        `MultiBook.valued`).
        """
        book = self.book
        if collateral not in book.collateral_assets or debt not in book.debt_assets:
            raise ValueError(
                f"expected a collateral in {book.collateral_assets} and a debt in "
                f"{book.debt_assets}, were {collateral!r} and {debt!r}"
            )
        ci = book.collateral_assets.index(collateral)
        di = book.debt_assets.index(debt)
        venue = self.venue
        pc = np.array([venue.price(a) for a in book.collateral_assets])
        pd = np.array([venue.price(a) for a in book.debt_assets])
        cu, du = self.units((pc, pd))
        valued, at = book.valued(rows, cu, du, kept_at)
        health: FloatArray = valued.pick("health", at)
        li_c = cu[ci] / pc[ci]
        bi_d = du[di] / pd[di]
        # The collateral-side fields' column `ci` and the debt-side ones' `di` at `at`.
        collateral_at = valued.columns_at(at, ci, "supplied", "enabled")
        debt_at = valued.columns_at(at, di, "borrowed")
        bonus = self._one_bonus[ci]
        batch, burned = kernels.liquidate_accounts(
            collateral_at[0] * li_c,
            debt_at[0] * bi_d,
            pc[ci],
            pd[di],
            other_collateral_usd=valued.other_collateral_usd(at, ci),
            total_debt_usd=valued.pick("total_debt_usd", at),
            health=health,
            collateral_enabled=collateral_at[1],
            liquidation_bonus=np.take(self.bonus_table[:, ci], valued.pick("emode", at))
            if bonus is None
            else bonus,
            protocol_fee=self._fee[ci],
            rules=self._rules,
        )
        return batch, burned, health, valued, at

    def liquidate(
        self,
        rows: IntArray,
        collateral: str,
        debt: str,
        *,
        liquidator: str,
        cause: int | NDArray[np.int64],
        allowed: NDArray[np.bool_] | None,
    ) -> tuple[int, IntArray, float, float, int]:
        """Liquidate `rows` on (collateral, debt); return ``(first_seq, executed rows,
        collateral to the liquidator, debt repaid, failed)``.
        """
        venue = self.venue
        log = self._ctx.log
        now = self._ctx.clock.now
        book = self.book
        for asset in {collateral, debt}:
            self.reserves[asset].update(now)
        batch, burned, hf, valued, at = self._quote(rows, collateral, debt)
        ok = batch.executed
        if allowed is not None:
            ok = ok & venue.guard.sentinel_allows(hf)
        every = rows.size > 0 and _executes_all(ok)
        if not every and not np.count_nonzero(ok):
            return len(log), rows[:0].copy(), 0.0, 0.0, int(rows.size)
        done, repaid, seized, fee, deficit, residual, to_liquidator, health = _executed(
            rows, batch, hf, ok, every, at
        )
        causes = (
            cause if not isinstance(cause, np.ndarray) else cause.copy() if every else cause[ok]
        )
        failed = int(rows.size - done.size)
        ci = book.collateral_assets.index(collateral)
        di = book.debt_assets.index(debt)
        p_c = venue.price(collateral)
        p_d = venue.price(debt)
        c_state = self.reserves[collateral]
        d_state = self.reserves[debt]
        first = log_liquidations(
            log,
            venue=venue.venue_id,
            liquidator=liquidator,
            accounts=done + book.first_account,
            collateral_asset=collateral,
            debt_asset=debt,
            repaid=repaid,
            seized=seized,
            fee=fee,
            collateral_price=p_c,
            debt_price=p_d,
            health=health,
            cause=causes,
        )
        # The executed rows' balances as the quote read them (the book's: nothing changed
        # them since), from its small arrays rather than the whole book's; copies, as they
        # change below.
        supplied, borrowed = _executed_balances(valued, ok, every, at)
        held_c = supplied[:, ci]
        held_d = borrowed[:, di]
        covered = repaid + deficit
        new_supplied = held_c - seized / c_state.liquidity_index
        new_borrowed = held_d - covered / d_state.borrow_index
        # Float rounding must not leave a negative dust balance; a seizure of the whole balance
        # leaves exactly zero.
        new_supplied = np.where(
            seized >= held_c * c_state.liquidity_index,
            0.0,
            np.maximum(new_supplied, 0.0, out=new_supplied),
        )
        new_borrowed = np.where(
            covered >= held_d * d_state.borrow_index,
            0.0,
            np.maximum(new_borrowed, 0.0, out=new_borrowed),
        )
        # Through the column views: 1-d indexing, cheaper than the 2-d pair of indexes.
        book.supplied[:, ci][done] = new_supplied
        book.borrowed[:, di][done] = new_borrowed
        supplied[:, ci] = new_supplied
        borrowed[:, di] = new_borrowed
        # The liquidator takes the underlying; the fee stays as the treasury's aTokens.
        taken = float(to_liquidator.sum())
        repaid_total = float(repaid.sum())
        c_state.scaled_supply -= taken / c_state.liquidity_index
        c_state.virtual_balance -= taken
        d_state.scaled_debt = max(
            d_state.scaled_debt - float(covered.sum()) / d_state.borrow_index, 0.0
        )
        d_state.virtual_balance += repaid_total
        self._reduce_isolated_debt(done, covered)
        deficits: dict[str, tuple[IntArray, FloatArray]] = {}
        residuals: dict[str, tuple[IntArray, FloatArray]] = {}
        gone = np.flatnonzero(burned if every else burned[ok])
        if gone.size:
            # Debt is left unbacked only where no collateral is left (`burned`).
            hit = np.flatnonzero(deficit > 0)
            if hit.size:
                deficits[debt] = (hit, deficit[hit])
            hit = np.flatnonzero(residual > 0)
            if hit.size:
                residuals[debt] = (hit, residual[hit])
            self._burn_other_debts(done, gone, di, deficits, residuals, now)
        for asset in {collateral, debt}:
            self.reserves[asset].update_rates()
        for table, treatment in ((deficits, "deficit"), (residuals, "residual")):
            for asset, (where, amounts) in table.items():
                price = venue.price(asset)
                log_bad_debt(
                    log,
                    venue=venue.venue_id,
                    first=first,
                    where=where,
                    accounts=done[where] + book.first_account,
                    asset=asset,
                    amounts=amounts,
                    price=price,
                    treatment=treatment,
                )
                usd = float(amounts.sum() * price)
                if treatment == "deficit":
                    venue.deficit[asset] += float(amounts.sum())
                    venue.totals["deficit_usd"] += usd
                else:
                    venue.totals["residual_bad_debt_usd"] += usd
        # Their threshold-weighted balances and reference HF, once every balance is final.
        if gone.size:
            book.changed(done)  # other debts were burned too: read every balance again
        else:
            book.rebalanced(done, supplied, borrowed)
        self.flagged()[done] = False
        t = venue.totals
        t["liquidations"] += done.size
        t["debt_repaid_usd"] += repaid_total * p_d
        t["collateral_seized_usd"] += float(seized.sum() * p_c)
        t["protocol_fee_usd"] += float(fee.sum() * p_c)
        return first, done, taken, repaid_total, failed

    def _burn_other_debts(
        self,
        done: IntArray,
        gone: IntArray,
        di: int,
        deficits: dict[str, tuple[IntArray, FloatArray]],
        residuals: dict[str, tuple[IntArray, FloatArray]],
        now: float,
    ) -> None:
        # v3.3 _burnBadDebt: every other debt of an account with no collateral left becomes
        # its reserve's deficit. Under v2/v3.0 it stays on the account as bad debt.
        book = self.book
        v33 = self.params.rules == "v3.3"
        rows = done[gone]
        for j, asset in enumerate(book.debt_assets):
            if j == di:
                continue
            state = self.reserves[asset]
            state.update(now)
            owed = book.borrowed[rows, j] * state.borrow_index
            has = owed > 0
            if not has.any():
                continue
            target = deficits if v33 else residuals
            target[asset] = (gone[has], owed[has])
            if v33:
                book.borrowed[rows[has], j] = 0.0
                state.scaled_debt = max(
                    state.scaled_debt - float(owed[has].sum()) / state.borrow_index, 0.0
                )
                self._reduce_isolated_debt(rows[has], owed[has])
                state.update_rates()

    def _reduce_isolated_debt(self, rows: IntArray, amounts: FloatArray) -> None:
        # IsolationModeLogic.updateIsolatedDebtIfIsolated: the collateral's isolated debt falls
        # by the repaid amount in 2-decimal units, floored at zero. Without a debt ceiling no
        # collateral is isolated now.
        if not self._ceilings:
            return
        iso = self.book.isolated[rows]
        if not iso.any():
            return
        for row, amount in zip(rows[iso], amounts[iso], strict=True):
            asset = self._isolated_asset(int(row))
            if asset is None:
                continue
            state = self.reserves[asset]
            state.isolation_debt_cents = max(
                state.isolation_debt_cents - math.floor(float(amount) * 100), 0
            )

    def _isolated_asset(self, row: int) -> str | None:
        mask = int(self.book.enabled[row])
        for j, asset in enumerate(self.book.collateral_assets):
            if mask >> j & 1 and self.params.reserves[asset].debt_ceiling_usd > 0:
                return asset
        return None

    # -- actions ------------------------------------------------------------------------------

    def _draft(self, row: int) -> _Draft:
        book = self.book
        now = self._ctx.clock.now
        draft = _Draft(self.category_ids[int(book.emode[row])])
        for j, asset in enumerate(book.collateral_assets):
            if book.supplied[row, j] > 0:
                draft.supplied[asset] = book.supplied[row, j] * self.reserves[asset].indexes(now)[0]
            if int(book.enabled[row]) >> j & 1:
                draft.enabled.add(asset)
        for j, asset in enumerate(book.debt_assets):
            if book.borrowed[row, j] > 0:
                draft.borrowed[asset] = book.borrowed[row, j] * self.reserves[asset].indexes(now)[1]
        return draft

    def _isolation_asset(self, draft: _Draft) -> str | None:
        # UserConfiguration.getIsolationModeState: exactly one collateral, with a debt ceiling.
        if len(draft.enabled) != 1:
            return None
        (asset,) = draft.enabled
        return asset if self.params.reserves[asset].debt_ceiling_usd > 0 else None

    def _ltv_lt(self, draft: _Draft, asset: str) -> tuple[int, int]:
        reserve = self.params.reserves[asset]
        cat = self.params.emode_categories.get(draft.emode)
        if cat is not None and asset in cat.collateral_assets:
            return cat.ltv_bps, cat.liquidation_threshold_bps
        return reserve.ltv_bps, reserve.liquidation_threshold_bps

    def check_supply(self, draft: _Draft, asset: str, amount: float) -> bool:
        """Validate a supply on `draft`, apply it there, and return whether it is enabled as
        collateral. Raises `AaveReverted`.
        """
        reserve = self._reserve(asset)
        if not amount > 0 or not math.isfinite(amount):
            raise AaveReverted("INVALID_AMOUNT", f"supply of {amount} {asset}")
        state = self.reserves[asset]
        if reserve.supply_cap:
            now = self._ctx.clock.now
            total = state.scaled_supply * state.indexes(now)[0]
            total += draft.pending_supply.get(asset, 0.0) + amount
            if total > reserve.supply_cap:
                raise AaveReverted(
                    "SUPPLY_CAP_EXCEEDED",
                    f"{asset}: supply would be {total:,.6f} > cap {reserve.supply_cap:,}",
                )
        enable = False
        if draft.supplied.get(asset, 0.0) == 0.0 and asset not in draft.enabled:
            ltv, _ = self._ltv_lt(draft, asset)
            if ltv != 0:
                if not draft.enabled:
                    enable = True
                else:
                    enable = self._isolation_asset(draft) is None and reserve.debt_ceiling_usd == 0
        draft.supplied[asset] = draft.supplied.get(asset, 0.0) + amount
        draft.pending_supply[asset] = draft.pending_supply.get(asset, 0.0) + amount
        if enable:
            draft.enabled.add(asset)
        return enable

    def check_borrow(self, draft: _Draft, asset: str, amount: float) -> None:  # noqa: C901 - validateBorrow's checks, in its order
        """Validate a borrow on `draft` (``ValidationLogic.validateBorrow``, v3.3.0 order) and
        apply it there. Raises `AaveReverted`.
        """
        reserve = self._reserve(asset)
        if not amount > 0 or not math.isfinite(amount):
            raise AaveReverted("INVALID_AMOUNT", f"borrow of {amount} {asset}")
        if not reserve.borrowing_enabled:
            raise AaveReverted("BORROWING_NOT_ENABLED", asset)
        state = self.reserves[asset]
        now = self._ctx.clock.now
        pending = draft.pending_debt.get(asset, 0.0)
        if state.virtual_balance - pending < amount:
            raise AaveReverted(
                "INVALID_AMOUNT", f"{asset}: {amount} exceeds the available liquidity"
            )
        if reserve.borrow_cap:
            total = state.scaled_debt * state.indexes(now)[1] + pending + amount
            if total > reserve.borrow_cap:
                raise AaveReverted(
                    "BORROW_CAP_EXCEEDED",
                    f"{asset}: debt would be {total:,.6f} > cap {reserve.borrow_cap:,}",
                )
        isolated = self._isolation_asset(draft)
        if isolated is not None:
            if not reserve.borrowable_in_isolation:
                raise AaveReverted("ASSET_NOT_BORROWABLE_IN_ISOLATION", asset)
            ceiling = round(self.params.reserves[isolated].debt_ceiling_usd * 100)
            cents = math.floor(amount * 100)
            used = self.reserves[isolated].isolation_debt_cents + draft.pending_cents
            if used + cents > ceiling:
                raise AaveReverted(
                    "DEBT_CEILING_EXCEEDED",
                    f"{isolated}: isolated debt would be ${(used + cents) / 100:,.2f} > "
                    f"${ceiling / 100:,.2f}",
                )
        if draft.emode:
            cat = self.params.emode_categories[draft.emode]
            if asset not in cat.borrowable_assets:
                raise AaveReverted("NOT_BORROWABLE_IN_EMODE", f"{asset} in e-mode {draft.emode}")
        collateral = weighted_ltv = weighted_lt = 0.0
        for a in draft.enabled:
            ltv, lt = self._ltv_lt(draft, a)
            if lt == 0:
                continue
            value = draft.supplied.get(a, 0.0) * self.venue.price(a)
            collateral += value
            weighted_ltv += value * ltv / 10_000
            weighted_lt += value * lt / 10_000
        debt = sum(v * self.venue.price(a) for a, v in draft.borrowed.items())
        if collateral == 0:
            raise AaveReverted("COLLATERAL_BALANCE_IS_ZERO")
        if weighted_ltv == 0:
            raise AaveReverted("LTV_VALIDATION_FAILED")
        if debt > 0 and weighted_lt / debt <= 1.0:
            raise AaveReverted("HEALTH_FACTOR_LOWER_THAN_LIQUIDATION_THRESHOLD")
        needed = (debt + amount * self.venue.price(asset)) / (weighted_ltv / collateral)
        if needed > collateral:
            raise AaveReverted(
                "COLLATERAL_CANNOT_COVER_NEW_BORROW",
                f"needs ${needed:,.2f} of collateral at LTV, has ${collateral:,.2f}",
            )
        draft.borrowed[asset] = draft.borrowed.get(asset, 0.0) + amount
        draft.pending_debt[asset] = pending + amount
        if isolated is not None:
            draft.pending_cents += math.floor(amount * 100)

    def _reserve(self, asset: str):  # type: ignore[no-untyped-def]
        reserve = self.params.reserves.get(asset)
        if reserve is None:
            raise ValueError(f"expected one of the reserves {sorted(self.reserves)}, was {asset!r}")
        return reserve

    def open_account(
        self,
        collateral: Mapping[str, float],
        debt: Mapping[str, float],
        emode: int,
        cause: int,
    ) -> int:
        """Validate and open an account (supplies, then borrows, as one transaction)."""
        if emode != 0 and emode not in self.params.emode_categories:
            raise AaveReverted(
                "INCONSISTENT_EMODE_CATEGORY",
                f"e-mode {emode} is not one of {sorted(self.params.emode_categories)}",
            )
        draft = _Draft(emode)
        enabled = {a: self.check_supply(draft, a, float(v)) for a, v in collateral.items()}
        for asset, amount in debt.items():
            self.check_borrow(draft, asset, float(amount))
        book = self.book
        for asset in collateral:
            self._column(asset, "collateral")
        for asset in debt:
            self._column(asset, "debt")
        row = int(
            book.append(
                np.zeros((1, len(book.collateral_assets))),
                np.zeros((1, len(book.debt_assets))),
                self._category_index[emode],
                0,
            )[0]
        )
        account = row + book.first_account
        seq = self._ctx.log.emit(
            AccountOpened, cause=cause, venue=self.venue.venue_id, account=account, emode=emode
        )
        for asset, amount in collateral.items():
            self._commit_supply(row, asset, float(amount), enabled[asset], seq)
        for asset, amount in debt.items():
            self._commit_borrow(row, asset, float(amount), seq, draft)
        return account

    def _column(self, asset: str, role: str) -> int:
        book = self.book
        assets = book.collateral_assets if role == "collateral" else book.debt_assets
        if asset in assets:
            return assets.index(asset)
        j = book.add_column(asset, role)
        if role == "collateral":
            self._build_tables()
        return j

    def _row(self, account: int) -> int:
        row = account - self.book.first_account
        if not 0 <= row < len(self.book):
            raise ValueError(f"account {account} is not in this market's multi-reserve book")
        return row

    def supply(self, account: int, asset: str, amount: float, cause: int) -> None:
        """Validate and apply ``Pool.supply`` for `account`."""
        row = self._row(account)
        draft = self._draft(row)
        enable = self.check_supply(draft, asset, float(amount))
        self._column(asset, "collateral")
        self._commit_supply(row, asset, float(amount), enable, cause)

    def borrow(self, account: int, asset: str, amount: float, cause: int) -> None:
        """Validate and apply ``Pool.borrow`` for `account`."""
        row = self._row(account)
        draft = self._draft(row)
        self.check_borrow(draft, asset, float(amount))
        self._column(asset, "debt")
        self._commit_borrow(row, asset, float(amount), cause, draft)

    def _commit_supply(self, row: int, asset: str, amount: float, enable: bool, cause: int) -> None:
        book = self.book
        state = self.reserves[asset]
        state.update(self._ctx.clock.now)
        j = book.collateral_assets.index(asset)
        book.supplied[row, j] += amount / state.liquidity_index
        if enable:
            book.enabled[row] |= 1 << j
            if self.params.reserves[asset].debt_ceiling_usd > 0 and int(book.enabled[row]) == (
                1 << j
            ):
                book.isolated[row] = True
        book.refresh(np.array([row], dtype=np.int64))
        state.scaled_supply += amount / state.liquidity_index
        state.virtual_balance += amount
        state.update_rates()
        book.touch(np.array([row], dtype=np.int64))
        self._ctx.log.emit(
            Supplied,
            cause=cause,
            venue=self.venue.venue_id,
            account=row + book.first_account,
            asset=asset,
            amount=amount,
            amount_usd=amount * self.venue.price(asset),
            as_collateral=bool(int(book.enabled[row]) >> j & 1),
        )
        self.venue._multi_changed()

    def _commit_borrow(
        self, row: int, asset: str, amount: float, cause: int, draft: _Draft
    ) -> None:
        book = self.book
        state = self.reserves[asset]
        state.update(self._ctx.clock.now)
        j = book.debt_assets.index(asset)
        book.borrowed[row, j] += amount / state.borrow_index
        state.scaled_debt += amount / state.borrow_index
        state.virtual_balance -= amount
        state.update_rates()
        isolated = self._isolation_asset(draft)
        if isolated is not None:
            self.reserves[isolated].isolation_debt_cents += math.floor(amount * 100)
        book.touch(np.array([row], dtype=np.int64))
        self._ctx.log.emit(
            Borrowed,
            cause=cause,
            venue=self.venue.venue_id,
            account=row + book.first_account,
            asset=asset,
            amount=amount,
            amount_usd=amount * self.venue.price(asset),
        )
        self.venue._multi_changed()

    # -- reporting ----------------------------------------------------------------------------

    def totals_usd(self) -> tuple[float, float]:
        """Return the book's collateral and debt in USD (valuation prices)."""
        if len(self.book) == 0:
            return 0.0, 0.0
        return self.book.totals(*self.valuation_units())
