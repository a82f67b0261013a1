"""The Compound v2 money market as a simulated venue: a Comptroller over cToken markets, each
priced by its own oracle, with vectorized books of borrowers and batch ``liquidateBorrow``.

Rules followed (mechanics §0.1, §0.3, §11.1; compound-finance/compound-protocol
``Comptroller.sol`` and ``CToken.sol``, mirrored in `math.py`):

- ``getAccountLiquidity`` uses the *stored* exchange rates and borrow balances (no accrual), and
  an account is liquidatable iff its shortfall is positive; the venue accrues every market when
  a new price lands, standing for the other users whose calls keep the markets accrued;
- ``liquidateBorrow`` first accrues interest in both markets (``accrueInterest``: simple
  interest per block from the market's ``JumpRateModel``), repays at most ``closeFactor`` of the
  borrow, seizes ``repay · incentive · P_borrowed / (P_collateral · exchangeRate)`` cTokens and
  burns ``protocolSeizeShare`` of them into the collateral market's reserves
  (`ReservesChanged`, reason ``seize_share``);
- debt is never written off: an account whose collateral is gone keeps its borrow
  (`BadDebtRealized`, treatment ``residual``), which dilutes the suppliers (§0.3).

Each book holds accounts that supply one market and borrow another (a two-market slice of the
accounts × markets matrix); the venue exposes ``candidates``/``books``/``quote``/``liquidate``
like the Aave venue, so ``agent.lending_keeper`` liquidates it unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
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
from protosim.protocols.lending.batches import (
    Candidates,
    LiquidationReport,
    log_bad_debt,
    log_failed,
    log_liquidations,
)
from protosim.protocols.lending.compound_v2 import kernels
from protosim.protocols.lending.compound_v2 import math as cmath
from protosim.protocols.lending.compound_v2.params import (
    CompoundV2Params,
    CTokenParams,
    PopulationParams,
)
from protosim.protocols.lending.events import ReservesChanged
from protosim.protocols.lending.governance import refuse_fixed, refuse_fixed_entries
from protosim.scenario import ComponentSpec

if TYPE_CHECKING:
    import pandas as pd

C_TOKEN_DECIMALS = 8
"""Every mainnet cToken has 8 decimals (``CErc20Delegator`` deployments)."""

_DUST = 1e-12
"""Relative size below which a collateral balance counts as gone (float rounding)."""


class CTokenState:
    """One cToken market's stored totals (integers, as on chain) and its interest model.

    Parameters
    ----------
    asset : str
        The underlying's id.
    params : CTokenParams
        The market's configuration and starting totals.
    supplied : float
        Underlying the book's populations supply to it, whole tokens.
    borrowed : float
        Underlying the book's populations borrow from it, whole tokens.
    """

    def __init__(self, asset: str, params: CTokenParams, supplied: float, borrowed: float) -> None:
        self.asset = asset
        self.params = params
        self.scale: int = 10**params.decimals
        # exchangeRateMantissa = underlying base units per cToken unit, × 1e18.
        self._rate_unit: int = 10 ** (18 + params.decimals - C_TOKEN_DECIMALS)
        cash = params.cash + supplied
        borrows = params.borrows + borrowed
        underlying = cash + borrows - params.reserves
        if underlying <= 0:
            raise KeyError(
                f"markets.{asset}: cash + borrows − reserves must be positive, was {underlying}"
            )
        rate = round(params.exchange_rate * self._rate_unit)
        supply = self._units(underlying) * 10**18 // rate
        self.market = cmath.CTokenMarket(
            cash=self._units(cash),
            total_borrows=self._units(borrows),
            total_reserves=self._units(params.reserves),
            total_supply=supply,
            reserve_factor_mantissa=round(params.reserve_factor * 10**18),
        )
        self.model = _rate_model(params)
        self.accrual_block = 0

    def reconfigure(self, params: CTokenParams, block: int) -> None:
        """Take `params`' collateral factor, reserve factor and interest model from now on
        (``_setCollateralFactor``, ``_setReserveFactor``, ``_setInterestRateModel``; the
        latter two accrue interest to `block` first, as the cToken does).
        """
        self.accrue(block)
        self.params = params
        self.model = _rate_model(params)
        self.market = dataclasses.replace(
            self.market, reserve_factor_mantissa=round(params.reserve_factor * 10**18)
        )

    def _units(self, tokens: float) -> int:
        return round(tokens * self.scale)

    @property
    def exchange_rate(self) -> float:
        """``exchangeRateStored`` in underlying per cToken."""
        return cmath.exchange_rate_stored(self.market) / self._rate_unit

    @property
    def borrow_index(self) -> float:
        """``borrowIndex`` as a number (1.0 at the start)."""
        return self.market.borrow_index / 10**18

    @property
    def reserves(self) -> float:
        """``totalReserves`` in whole tokens."""
        return self.market.total_reserves / self.scale

    def accrue(self, block: int) -> None:
        """Apply ``accrueInterest`` up to `block` (nothing without an interest model)."""
        delta = block - self.accrual_block
        if delta <= 0:
            return
        self.accrual_block = block
        if self.model is None:
            return
        m = self.market
        rate = cmath.borrow_rate(self.model, m.cash, m.total_borrows, m.total_reserves)
        self.market = cmath.accrue_interest(m, rate, delta).market

    def repaid(self, amount: float) -> None:
        """Apply repayments of `amount` underlying (``repayBorrowFresh``: cash up, borrows down)."""
        units = min(self._units(amount), self.market.total_borrows)
        self.market = dataclasses.replace(
            self.market,
            cash=self.market.cash + units,
            total_borrows=self.market.total_borrows - units,
        )

    def seized(self, protocol_tokens: float, protocol_amount: float) -> None:
        """Burn `protocol_tokens` cTokens into `protocol_amount` underlying of reserves."""
        self.market = dataclasses.replace(
            self.market,
            total_reserves=self.market.total_reserves + self._units(protocol_amount),
            total_supply=self.market.total_supply - round(protocol_tokens * 10**C_TOKEN_DECIMALS),
        )


class AccountBook:
    """Accounts that each supply one cToken market and borrow another.

    Parameters
    ----------
    collateral_asset, debt_asset : str
        The two markets' underlying ids.
    c_tokens : ndarray of float64
        Collateral cTokens per account (whole cTokens).
    principal : ndarray of float64
        ``accountBorrows.principal``, whole underlying.
    interest_index : float
        The debt market's borrow index the principals were recorded at.
    first_account : int
        Account id of row 0.
    """

    def __init__(
        self,
        collateral_asset: str,
        debt_asset: str,
        c_tokens: NDArray[np.float64],
        principal: NDArray[np.float64],
        interest_index: float,
        first_account: int,
    ) -> None:
        if c_tokens.shape != principal.shape or c_tokens.ndim != 1:
            raise ValueError(f"expected equal 1-d arrays, were {c_tokens.shape}, {principal.shape}")
        self.collateral_asset = collateral_asset
        self.debt_asset = debt_asset
        self.c_tokens = np.ascontiguousarray(c_tokens, dtype=np.float64)
        self.principal = np.ascontiguousarray(principal, dtype=np.float64)
        self.interest_index = np.full(len(principal), interest_index)
        self.first_account = first_account

    def __len__(self) -> int:
        return len(self.principal)

    def borrow(
        self, borrow_index: float, positions: NDArray[np.int64] | None = None
    ) -> NDArray[np.float64]:
        """Return ``borrowBalanceStored``: ``principal · borrowIndex / interestIndex``."""
        if positions is None:
            return self.principal * (borrow_index / self.interest_index)
        return self.principal[positions] * (borrow_index / self.interest_index[positions])


def _rate_model(params: CTokenParams) -> cmath.JumpRateModel | None:
    m = params.interest_model
    if m is None:
        return None
    build = cmath.JumpRateModel.v2 if m.version == "v2" else cmath.JumpRateModel.v1
    return build(
        base_rate_per_year=round(m.base_rate_per_year * 10**18),
        multiplier_per_year=round(m.multiplier_per_year * 10**18),
        jump_multiplier_per_year=round(m.jump_multiplier_per_year * 10**18),
        kink=round(m.kink * 10**18),
    )


_CHANGEABLE = ("close_factor", "liquidation_incentive", "protocol_seize_share", "markets")
"""Comptroller parameters a running market takes new values of (`check_parameters`)."""
_MARKET_CHANGEABLE = ("collateral_factor", "reserve_factor", "interest_model")


class CompoundV2Market:
    """A Compound v2 Comptroller and its cToken markets.

    Parameters
    ----------
    ctx : SimContext
        The run's context (oracles must already be built).
    venue_id : str
        The venue's id.
    params : CompoundV2Params
        Comptroller parameters, markets and the starting borrowers.
    """

    def __init__(self, ctx: SimContext, venue_id: str, params: CompoundV2Params) -> None:
        self.venue_id = venue_id
        self.params = params
        self._ctx = ctx
        self.chain = ctx.chain(params.chain)
        self.oracles: dict[str, Oracle] = {}
        for asset, market in params.markets.items():
            oracle = ctx.oracle(market.oracle)
            if oracle.asset != asset:
                raise KeyError(
                    f"markets.{asset}.oracle: oracle {market.oracle!r} prices "
                    f"{oracle.asset!r}, not {asset!r}"
                )
            self.oracles[asset] = oracle
        drawn = [
            self._draw(pop, ctx.rng.stream(f"population.{venue_id}.{i}"))
            for i, pop in enumerate(params.populations)
        ]
        supplied = dict.fromkeys(params.markets, 0.0)
        borrowed = dict.fromkeys(params.markets, 0.0)
        for pop, (collateral, debt) in zip(params.populations, drawn, strict=True):
            supplied[pop.collateral] += float(collateral.sum())
            borrowed[pop.debt] += float(debt.sum())
        self.markets = {
            asset: CTokenState(asset, m, supplied[asset], borrowed[asset])
            for asset, m in params.markets.items()
        }
        self.books: list[AccountBook] = []
        first = 0
        for pop, (collateral, debt) in zip(params.populations, drawn, strict=True):
            coll_market = self.markets[pop.collateral]
            c_tokens = collateral / coll_market.exchange_rate
            debt_market = self.markets[pop.debt]
            self.books.append(
                AccountBook(
                    pop.collateral, pop.debt, c_tokens, debt, debt_market.borrow_index, first
                )
            )
            first += pop.accounts
        self.candidates: list[Candidates] = []
        self._dirty = True
        self._recheck: list[tuple[int, NDArray[np.int64], int]] = []
        self._left_below: list[Candidates] = []
        self._flagged = [np.zeros(len(b), dtype=np.bool_) for b in self.books]
        self.totals = {
            "liquidations": 0.0,
            "debt_repaid_usd": 0.0,
            "collateral_seized_usd": 0.0,
            "protocol_seize_usd": 0.0,
            "residual_bad_debt_usd": 0.0,
            "failed_liquidations": 0.0,
            "largest_liquidation_usd": 0.0,
            "liquidation_penalty_usd": 0.0,
        }
        self.bonus_usd: dict[str, float] = {}
        """Per liquidator: collateral received less debt repaid, USD at the oracle prices."""
        self.starting_reserves = {a: m.reserves for a, m in self.markets.items()}
        self.parameters_seq = ROOT
        """``seq`` of the last governance change: a cause of what it puts in shortfall."""
        for oracle in self.oracles.values():
            oracle.subscribe(self._on_price)

    # -- governance ---------------------------------------------------------------------------

    def check_parameters(self, params: CompoundV2Params) -> None:
        """Raise KeyError (its message starts with the key path) if `params` changes more than
        the Comptroller's admin sets in a running market: the close factor, the liquidation
        incentive, the protocol seize share, and each market's collateral factor, reserve
        factor and interest model. Oracles, starting totals and borrowers are set-up.
        """
        old = self.params
        refuse_fixed(old, params, _CHANGEABLE)
        refuse_fixed_entries(
            old.markets, params.markets, _MARKET_CHANGEABLE, key="markets", what="a market"
        )

    def change_parameters(self, params: CompoundV2Params, *, cause: int) -> None:
        """Take `params` from now on (see `check_parameters`); the next block's shortfall
        check looks at every account, naming `cause` as what moved.
        """
        self.check_parameters(params)
        block = self.chain.current_block
        for asset, market in self.markets.items():
            market.reconfigure(params.markets[asset], block)
        self.params = params
        self.parameters_seq = cause
        self._dirty = True
        self.chain.request_block()

    # -- set-up -------------------------------------------------------------------------------

    def _draw(
        self, pop: PopulationParams, rng: np.random.Generator
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        # Collateral underlying and borrow of each account at the t = 0 oracle prices.
        n = pop.accounts
        size = pop.collateral_usd
        collateral_usd = size.draw(rng, n)
        hf = pop.health_factor.draw(rng, n)
        cf = self.params.markets[pop.collateral].collateral_factor
        p_c = self.oracles[pop.collateral].read().price
        p_d = self.oracles[pop.debt].read().price
        return collateral_usd / p_c, collateral_usd * cf / hf / p_d

    def start(self) -> None:
        """Check shortfalls in every block's RISK phase; look at the books in the first block."""
        self.chain.on_phase(Phase.RISK, self._check_risk, rank=0)
        self.chain.request_block()
        self._ctx.clock.start(f"venue.{self.venue_id}.recheck", self._recheck_loop())

    def _on_price(self, reading: OracleReading) -> None:
        del reading
        self._dirty = True
        self.chain.request_block()

    def _recheck_loop(self) -> ProcessGenerator:
        # Accounts left in shortfall (declined as unprofitable, or whose transactions wait out
        # congestion) are offered again every interval while no new price arrives.
        while True:
            yield self._ctx.clock.timeout(self.params.recheck_interval_s)
            if self._left_below and not self._dirty:
                self._recheck.extend((c.book, c.positions, c.cause) for c in self._left_below)
                self.chain.request_block()

    # -- risk ---------------------------------------------------------------------------------

    def price(self, asset: str) -> float:
        """Return ``getUnderlyingPrice`` of `asset` in USD per whole token."""
        return self.oracles[asset].read().price

    def _prices(self, book: AccountBook) -> tuple[float, float, int]:
        coll = self.oracles[book.collateral_asset].read()
        debt = self.oracles[book.debt_asset].read()
        return coll.price, debt.price, max(coll.seq, debt.seq, self.parameters_seq)

    def health_factors(
        self,
        book_index: int,
        positions: NDArray[np.int64] | None = None,
        prices: Mapping[str, float] | None = None,
    ) -> NDArray[np.float64]:
        """Return ``sumCollateral / sumBorrow`` of accounts of a book (inf without a borrow),
        at the oracle prices or at `prices` (asset → USD) where given.
        """
        book = self.books[book_index]
        p_c, p_d, _ = self._prices(book)
        if prices is not None:
            p_c = prices.get(book.collateral_asset, p_c)
            p_d = prices.get(book.debt_asset, p_d)
        coll_m = self.markets[book.collateral_asset]
        c = book.c_tokens if positions is None else book.c_tokens[positions]
        coll, debt = kernels.account_liquidity(
            c,
            book.borrow(self.markets[book.debt_asset].borrow_index, positions),
            p_c,
            p_d,
            coll_m.exchange_rate,
            coll_m.params.collateral_factor,
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            hf: NDArray[np.float64] = np.where(debt > 0, coll / np.where(debt > 0, debt, 1), np.inf)
        return hf

    def _shortfall(self, book_index: int, positions: NDArray[np.int64] | None) -> NDArray[np.int64]:
        hf = self.health_factors(book_index, positions)
        idx = np.flatnonzero(hf < 1.0)
        order = idx[np.argsort(hf[idx], kind="stable")]  # deepest shortfall first
        return order.astype(np.int64) if positions is None else positions[order]

    def _check_risk(self, block: int) -> None:
        found: list[Candidates] = []
        if self._dirty:
            self._dirty = False
            self._recheck = []
            # Other users' mints, borrows and repays accrue the markets all the time on mainnet;
            # the model accrues them whenever a price lands (and in every liquidation).
            for market in self.markets.values():
                market.accrue(block)
            for i, book in enumerate(self.books):
                positions = self._shortfall(i, None)
                if positions.size:
                    found.append(Candidates(i, positions, self._prices(book)[2]))
            self._left_below = found
        elif self._recheck:
            for i, positions, cause in self._recheck:
                left = self._shortfall(i, np.unique(positions))
                if left.size:
                    found.append(Candidates(i, left, cause))
            self._recheck = []
            # What stays in shortfall is offered again by the recheck loop; the rest is done.
            self._left_below = [
                Candidates(c.book, left, c.cause)
                for c in self._left_below
                if (left := self._shortfall(c.book, c.positions)).size
            ]
        self.candidates = found
        for cand in found:
            flagged = self._flagged[cand.book]
            fresh = cand.positions[~flagged[cand.positions]]
            if fresh.size == 0:
                continue
            flagged[fresh] = True
            book = self.books[cand.book]
            debt = book.borrow(self.markets[book.debt_asset].borrow_index, fresh)
            self._ctx.log.emit(
                PositionsBecameLiquidatable,
                cause=cand.cause,
                venue=self.venue_id,
                count=int(fresh.size),
                debt_usd=float(debt.sum() * self.price(book.debt_asset)),
            )

    # -- liquidation --------------------------------------------------------------------------

    def quote(self, book_index: int, positions: NDArray[np.int64]) -> kernels.LiquidationBatch:
        """Return what the largest allowed ``liquidateBorrow`` of each of `positions` would do
        now, at the stored exchange rate and borrow index.
        """
        book = self.books[book_index]
        coll_m = self.markets[book.collateral_asset]
        debt_m = self.markets[book.debt_asset]
        p_c, p_d, _ = self._prices(book)
        return kernels.liquidate_max(
            book.c_tokens[positions],
            book.borrow(debt_m.borrow_index, positions),
            p_c,
            p_d,
            coll_m.exchange_rate,
            collateral_factor=coll_m.params.collateral_factor,
            close_factor=self.params.close_factor,
            liquidation_incentive=self.params.liquidation_incentive,
            protocol_seize_share=self.params.protocol_seize_share,
            debt_decimals=debt_m.params.decimals,
        )

    def liquidate(
        self,
        book_index: int,
        positions: NDArray[np.int64],
        *,
        liquidator: str,
        cause: int | NDArray[np.int64],
    ) -> LiquidationReport:
        """Liquidate `positions` of one book, each with the largest allowed repayment, as one
        batch of ``liquidateBorrow`` calls; calls that would revert are counted as failed.
        """
        book = self.books[book_index]
        log = self._ctx.log
        coll_m = self.markets[book.collateral_asset]
        debt_m = self.markets[book.debt_asset]
        block = self.chain.current_block
        coll_m.accrue(block)
        debt_m.accrue(block)
        p_c, p_d, _ = self._prices(book)
        health = self.health_factors(book_index, positions)
        batch = self.quote(book_index, positions)
        ok = batch.executed
        done = positions[ok]
        failed = int(positions.size - done.size)
        if failed:
            self.totals["failed_liquidations"] += failed
            log_failed(
                log,
                venue=self.venue_id,
                liquidator=liquidator,
                count=failed,
                cause=cause,
                reason="reverted",
            )
        if done.size == 0:
            return LiquidationReport(len(log), done, book.collateral_asset, 0.0, 0.0, failed)
        repaid = batch.debt_repaid[ok]
        seized = batch.collateral_seized[ok]
        fee = batch.protocol_fee[ok]
        causes = cause[ok] if isinstance(cause, np.ndarray) else cause
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
            health=health[ok],
            cause=causes,
        )
        borrow_index = debt_m.borrow_index
        new_debt = np.maximum(book.borrow(borrow_index, done) - repaid, 0.0)
        book.principal[done] = new_debt
        book.interest_index[done] = borrow_index
        left = book.c_tokens[done] - batch.seize_tokens[ok]
        left[left <= _DUST * np.maximum(book.c_tokens[done], 1.0)] = 0.0
        book.c_tokens[done] = left
        debt_m.repaid(float(repaid.sum()))
        reserves_before = coll_m.reserves
        coll_m.seized(float(batch.protocol_seize_tokens[ok].sum()), float(fee.sum()))
        paid = np.flatnonzero(fee > 0)
        if paid.size:
            log.emit_batch(
                ReservesChanged,
                int(paid.size),
                cause=first + paid,
                venue=self.venue_id,
                asset=book.collateral_asset,
                amount=fee[paid],
                amount_usd=fee[paid] * p_c,
                balance=reserves_before + np.cumsum(fee[paid]),
                reason="seize_share",
            )
        bare = np.flatnonzero((left == 0) & (new_debt > 0))
        if bare.size:
            log_bad_debt(
                log,
                venue=self.venue_id,
                first=first,
                where=bare,
                accounts=done[bare] + book.first_account,
                asset=book.debt_asset,
                amounts=new_debt[bare],
                price=p_d,
                treatment="residual",
            )
            self.totals["residual_bad_debt_usd"] += float(new_debt[bare].sum() * p_d)
        self._flagged[book_index][done] = False
        t = self.totals
        t["liquidations"] += done.size
        t["debt_repaid_usd"] += float(repaid.sum() * p_d)
        t["collateral_seized_usd"] += float(seized.sum() * p_c)
        t["protocol_seize_usd"] += float(fee.sum() * p_c)
        t["largest_liquidation_usd"] = max(t["largest_liquidation_usd"], float(repaid.max() * p_d))
        # The borrower's loss beyond the debt repaid: the incentive plus the protocol's share.
        t["liquidation_penalty_usd"] += float(seized.sum() * p_c - repaid.sum() * p_d)
        gain = float(batch.collateral_to_liquidator[ok].sum() * p_c - repaid.sum() * p_d)
        self.bonus_usd[liquidator] = self.bonus_usd.get(liquidator, 0.0) + gain
        # A 50 % close factor leaves most accounts still in shortfall: look again next block.
        self._recheck.append((book_index, done, first))
        self.chain.request_block()
        return LiquidationReport(
            first,
            done,
            book.collateral_asset,
            float(batch.collateral_to_liquidator[ok].sum()),
            float(repaid.sum()),
            failed,
        )

    # -- reporting ----------------------------------------------------------------------------

    def metrics(self) -> dict[str, float]:
        """Return liquidation totals (``liquidation_penalty_usd``: seized less repaid, at the
        oracle prices; ``max_liquidator_bonus_usd``: the best-paid liquidator's gain), each
        market's totals and reserves, and what the books still hold.
        """
        out = dict(self.totals)
        out["accounts"] = float(sum(len(b) for b in self.books))
        out["collateral_usd"] = float(
            sum(
                b.c_tokens.sum()
                * self.markets[b.collateral_asset].exchange_rate
                * self.price(b.collateral_asset)
                for b in self.books
            )
        )
        out["debt_usd"] = float(
            sum(
                b.borrow(self.markets[b.debt_asset].borrow_index).sum() * self.price(b.debt_asset)
                for b in self.books
            )
        )
        out["max_liquidator_bonus_usd"] = max(self.bonus_usd.values(), default=0.0)
        for asset, m in self.markets.items():
            out[f"total_borrows_{asset}"] = m.market.total_borrows / m.scale
            out[f"total_supplied_{asset}"] = (
                m.market.cash + m.market.total_borrows - m.market.total_reserves
            ) / m.scale
            out[f"reserves_{asset}"] = m.reserves
            out[f"reserves_change_{asset}"] = m.reserves - self.starting_reserves[asset]
        return out

    def positions_frame(self) -> pd.DataFrame:
        """Return every account now, one row each (the rows `health_under` follows).

        Columns: ``venue``, ``account``, ``collateral_asset``, ``debt_asset``, ``c_tokens``,
        ``collateral`` and ``debt`` (underlying tokens), ``collateral_usd``, ``debt_usd``,
        ``collateral_factor``, ``health_factor``, ``collateral_oracle``, ``debt_oracle``.
        """
        import pandas as pd

        frames = []
        for i, book in enumerate(self.books):
            coll_m = self.markets[book.collateral_asset]
            collateral = book.c_tokens * coll_m.exchange_rate
            debt = book.borrow(self.markets[book.debt_asset].borrow_index)
            frames.append(
                pd.DataFrame(
                    {
                        "venue": self.venue_id,
                        "account": np.arange(len(book)) + book.first_account,
                        "collateral_asset": book.collateral_asset,
                        "debt_asset": book.debt_asset,
                        "c_tokens": book.c_tokens,
                        "collateral": collateral,
                        "debt": debt,
                        "collateral_usd": collateral * self.price(book.collateral_asset),
                        "debt_usd": debt * self.price(book.debt_asset),
                        "collateral_factor": coll_m.params.collateral_factor,
                        "health_factor": self.health_factors(i),
                        "collateral_oracle": coll_m.params.oracle,
                        "debt_oracle": self.params.markets[book.debt_asset].oracle,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def health_under(self, prices: Mapping[str, float]) -> NDArray[np.float64]:
        """Return every account's ``sumCollateral / sumBorrow`` if the oracles answered
        `prices` (asset → USD; others keep their answer), in `positions_frame` order. First
        order: no liquidation, no market impact.
        """
        out = [self.health_factors(i, prices=prices) for i in range(len(self.books))]
        return np.concatenate(out) if out else np.empty(0)

    def priced_by(self) -> dict[str, tuple[str, ...]]:
        """Return the oracle id each market's price comes from."""
        return {asset: (m.oracle,) for asset, m in self.params.markets.items()}

    @property
    def chain_id(self) -> str:
        """The chain the Comptroller lives on."""
        return self.params.chain


def build(
    ctx: SimContext, spec: ComponentSpec, params: CompoundV2Params, where: str
) -> CompoundV2Market:
    """Build a `CompoundV2Market` from its scenario entry."""
    del where
    return CompoundV2Market(ctx, spec.id, params)


__all__ = [
    "C_TOKEN_DECIMALS",
    "AccountBook",
    "CTokenState",
    "Candidates",
    "CompoundV2Market",
    "LiquidationReport",
    "build",
]
