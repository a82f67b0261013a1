"""A Compound v3 (Comet) market as a simulated venue: one base asset lent against several
collaterals, ``absorb`` of whole accounts into the protocol's reserves, and the storefront
(``buyCollateral``) that sells the absorbed collateral at a discount while reserves are below
target.

Rules followed (mechanics §2; compound-finance/comet ``Comet.sol``, mirrored in `math.py`):

- ``isLiquidatable``: ``−debt · P_base + Σ Q_i · P_i · liquidateCF_i < 0``;
- ``absorb`` takes every collateral of the account and credits it at ``liquidationFactor``;
  the account keeps any excess as a supply balance, and the reserves pay
  ``newBalance − oldBalance``, going negative when they cannot (`ReservesChanged`, reason
  ``absorb``; the uncovered part is logged as `BadDebtRealized`, treatment ``reserves``);
- ``buyCollateral`` reverts ``NotForSale`` while ``reserves >= 0 and reserves >= targetReserves``,
  sells at ``P · (1 − storeFrontPriceFactor · (1 − liquidationFactor))`` and adds the base paid
  to the reserves (`AuctionBidPlaced`, `ReservesChanged` reason ``buy_collateral``); a storefront
  lot opens (`AuctionStarted`, kind ``storefront``) when an asset's collateral reserves go from
  empty to positive and settles (`AuctionSettled`) when they are sold out.

Simplified: interest is not accrued (the base indices stay at their starting value, so debts are
present values and the reserves move only by absorbs and purchases over a run), and supply caps,
``baseBorrowMin`` and pause flags are not modelled.
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
    BadDebtRealized,
    LiquidationExecuted,
    PositionsBecameLiquidatable,
)
from protosim.interfaces import Oracle, OracleReading
from protosim.protocols.lending.batches import log_failed
from protosim.protocols.lending.compound_v3 import kernels
from protosim.protocols.lending.compound_v3.params import CometParams, CometPopulationParams
from protosim.protocols.lending.events import (
    AuctionBidPlaced,
    AuctionSettled,
    AuctionStarted,
    ReservesChanged,
)
from protosim.protocols.lending.governance import refuse_fixed, refuse_fixed_entries
from protosim.scenario import ComponentSpec

if TYPE_CHECKING:
    import pandas as pd

_DUST = 1e-9
"""Collateral tokens below which a storefront lot counts as sold out."""


class CometReverted(Exception):  # noqa: N818 - named after the on-chain revert
    """A Comet call the venue refused, named by the contract's custom error."""


@dataclass(frozen=True, slots=True)
class Candidates:
    """Accounts found liquidatable by the latest risk check."""

    positions: NDArray[np.int64]
    cause: int
    """``seq`` of the newest oracle answer the check used."""


@dataclass
class _Lot:
    """The storefront's running sale of one collateral asset."""

    auction: int
    started_seq: int
    """``seq`` of its `AuctionStarted`."""
    tab: float
    """Base the reserves paid out for the absorbs that fed this lot."""
    sold: float = 0.0
    raised: float = 0.0
    value_usd: float = 0.0


class CometMarket:
    """A Comet market.

    Parameters
    ----------
    ctx : SimContext
        The run's context (oracles must already be built).
    venue_id : str
        The venue's id.
    params : CometParams
        Base, collaterals, storefront and the starting borrowers.
    """

    def __init__(self, ctx: SimContext, venue_id: str, params: CometParams) -> None:
        self.venue_id = venue_id
        self.params = params
        self._ctx = ctx
        self.chain = ctx.chain(params.chain)
        self.base = params.base
        self.assets = list(params.assets)
        self.oracles: dict[str, Oracle] = {}
        for asset, oracle_id in [
            (params.base, params.base_oracle),
            *((a, p.oracle) for a, p in params.assets.items()),
        ]:
            oracle = ctx.oracle(oracle_id)
            if oracle.asset != asset:
                key = "base_oracle" if asset == params.base else f"assets.{asset}.oracle"
                raise KeyError(
                    f"{key}: oracle {oracle_id!r} prices {oracle.asset!r}, not {asset!r}"
                )
            self.oracles[asset] = oracle
        self.liquidate_cf, self.liquidation_factor = _asset_factors(params)
        self.parameters_seq = ROOT
        """``seq`` of the last governance change: a cause of what it makes absorbable."""
        n = sum(p.accounts for p in params.populations)
        self.collateral = np.zeros((n, len(self.assets)))
        """Collateral tokens per account (rows) and asset (columns)."""
        self.debt = np.zeros(n)
        """Base owed per account (present value)."""
        self.supplied = np.zeros(n)
        """Base each account supplies (what absorbs left it)."""
        first = 0
        for i, pop in enumerate(params.populations):
            rows = slice(first, first + pop.accounts)
            self._populate(pop, rows, ctx.rng.stream(f"population.{venue_id}.{i}"))
            first += pop.accounts
        self.reserves = float(params.reserves)
        self.collateral_reserves = dict.fromkeys(self.assets, 0.0)
        self.candidates: list[Candidates] = []
        self._dirty = True
        self._left = False
        self._flagged = np.zeros(n, dtype=np.bool_)
        self._lots: dict[str, _Lot] = {}
        self._auctions = 0
        self.totals = {
            "absorbed_accounts": 0.0,
            "debt_absorbed_usd": 0.0,
            "collateral_absorbed_usd": 0.0,
            "shortfall_usd": 0.0,
            "collateral_bought_usd": 0.0,
            "base_raised": 0.0,
            "failed_absorbs": 0.0,
            "min_reserves": self.reserves,
        }
        for oracle in self.oracles.values():
            oracle.subscribe(self._on_price)

    # -- governance ---------------------------------------------------------------------------

    def check_parameters(self, params: CometParams) -> None:
        """Raise KeyError (its message starts with the key path) if `params` changes more than
        a governance upgrade of the market's configuration (``Configurator.setAssetConfig``
        fields, ``setStoreFrontPriceFactor``, ``setTargetReserves``, then ``deployAndUpgradeTo``)
        does: each collateral's borrow and liquidate collateral factors and liquidation
        factor, the storefront price factor and the target reserves. The base, the assets, the
        price feeds, the reserves (a balance) and the borrowers are not parameters.
        """
        old = self.params
        refuse_fixed(old, params, _CHANGEABLE)
        refuse_fixed_entries(
            old.assets, params.assets, _ASSET_CHANGEABLE, key="assets", what="a collateral"
        )

    def change_parameters(self, params: CometParams, *, cause: int) -> None:
        """Take `params` from now on (see `check_parameters`); the next block's check looks at
        every account, naming `cause` as what moved.
        """
        self.check_parameters(params)
        self.liquidate_cf, self.liquidation_factor = _asset_factors(params)
        self.params = params
        self.parameters_seq = cause
        self._dirty = True
        self.chain.request_block()

    def _populate(self, pop: CometPopulationParams, rows: slice, rng: np.random.Generator) -> None:
        n = pop.accounts
        size = pop.collateral_usd
        collateral_usd = size.draw(rng, n)
        hf = pop.health_factor.draw(rng, n)
        k = self.assets.index(pop.collateral)
        lcf = self.liquidate_cf[k]
        self.collateral[rows, k] = collateral_usd / self.price(pop.collateral)
        self.debt[rows] = collateral_usd * lcf / hf / self.price(self.base)

    def start(self) -> None:
        """Check ``isLiquidatable`` in every block's RISK phase after a price moved."""
        self.chain.on_phase(Phase.RISK, self._check_risk, rank=0)
        self.chain.request_block()
        self._ctx.clock.start(f"venue.{self.venue_id}.recheck", self._recheck_loop())

    def _on_price(self, reading: OracleReading) -> None:
        del reading
        self._dirty = True
        self.chain.request_block()

    def _recheck_loop(self) -> ProcessGenerator:
        # Accounts absorbers left (gas too dear, transactions waiting) come back every interval.
        while True:
            yield self._ctx.clock.timeout(self.params.recheck_interval_s)
            if self._left and not self._dirty:
                self._dirty = True
                self.chain.request_block()

    # -- prices and risk ----------------------------------------------------------------------

    def price(self, asset: str) -> float:
        """Return ``getPrice`` of `asset` (its oracle's answer, no staleness check)."""
        return self.oracles[asset].read().price

    def _asset_prices(self) -> NDArray[np.float64]:
        return np.array([self.price(a) for a in self.assets])

    def _cause(self) -> int:
        return max(self.parameters_seq, *(o.read().seq for o in self.oracles.values()))

    def liquidation_ratios(
        self,
        positions: NDArray[np.int64] | None = None,
        prices: Mapping[str, float] | None = None,
    ) -> NDArray[np.float64]:
        """Return ``Σ Q · P · liquidateCF / (debt · P_base)`` of accounts; < 1 is absorbable.
        At the oracle prices, or at `prices` (asset → USD) where given.
        """
        q = self.collateral if positions is None else self.collateral[positions]
        d = self.debt if positions is None else self.debt[positions]
        asset_prices = self._asset_prices()
        base_price = self.price(self.base)
        if prices is not None:
            asset_prices = np.array(
                [prices.get(a, p) for a, p in zip(self.assets, asset_prices, strict=True)]
            )
            base_price = prices.get(self.base, base_price)
        return kernels.liquidation_ratio(q, d, asset_prices, base_price, self.liquidate_cf)

    def _check_risk(self, block: int) -> None:
        del block
        if not self._dirty:
            self.candidates = []
            return
        self._dirty = False
        ratio = self.liquidation_ratios()
        idx = np.flatnonzero(ratio < 1.0)
        positions = idx[np.argsort(ratio[idx], kind="stable")].astype(np.int64)
        cause = self._cause()
        self.candidates = [Candidates(positions, cause)] if positions.size else []
        self._left = bool(positions.size)
        fresh = positions[~self._flagged[positions]]
        if fresh.size:
            self._flagged[fresh] = True
            self._ctx.log.emit(
                PositionsBecameLiquidatable,
                cause=cause,
                venue=self.venue_id,
                count=int(fresh.size),
                debt_usd=float(self.debt[fresh].sum() * self.price(self.base)),
            )

    # -- absorb -------------------------------------------------------------------------------

    def absorb(self, positions: NDArray[np.int64], *, absorber: str, cause: int) -> int:
        """Absorb those of `positions` still liquidatable (``Comet.absorb(absorber, accounts)``);
        return how many were absorbed. Accounts no longer liquidatable revert ``NotLiquidatable``
        and are logged as failed.
        """
        log = self._ctx.log
        positions = np.unique(positions)
        ok = self.liquidation_ratios(positions) < 1.0
        failed = int((~ok).sum())
        if failed:
            self.totals["failed_absorbs"] += failed
            log_failed(
                log,
                venue=self.venue_id,
                liquidator=absorber,
                count=failed,
                cause=cause,
                reason="not_liquidatable",
            )
        done = positions[ok]
        if done.size == 0:
            return 0
        prices = self._asset_prices()
        p_base = self.price(self.base)
        q = self.collateral[done]
        debt = self.debt[done]
        ratio = self.liquidation_ratios(done)
        batch = kernels.absorb(q, debt, prices, p_base, self.liquidation_factor)
        # One LiquidationExecuted per (account, asset held); the debt is split by credited value.
        rows, cols = np.nonzero(q > 0)
        credited = q[rows, cols] * prices[cols] * self.liquidation_factor[cols] / p_base
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(
                batch.delta_balance[rows] > 0, credited / batch.delta_balance[rows], 1.0
            )
        seized = q[rows, cols]
        first = log.emit_batch(
            LiquidationExecuted,
            int(rows.size),
            cause=cause,
            venue=self.venue_id,
            account=done[rows],
            liquidator=absorber,
            collateral_asset=np.array(self.assets, dtype=object)[cols],
            debt_asset=self.base,
            debt_repaid=debt[rows] * share,
            collateral_seized=seized,
            protocol_fee=seized,  # all of it goes to the protocol's collateral reserves
            debt_repaid_usd=debt[rows] * share * p_base,
            collateral_seized_usd=seized * prices[cols],
            health_before=ratio[rows],
        )
        # The first event of each account names it in the reserve and bad-debt entries.
        # An account holding no collateral at all (nothing to log a liquidation for) names
        # the risk check's cause instead.
        account_seq = np.where(
            np.isin(np.arange(done.size), rows),
            first + np.searchsorted(rows, np.arange(done.size)),
            cause,
        )
        balance = self.reserves - np.cumsum(batch.base_paid_out)
        log.emit_batch(
            ReservesChanged,
            int(done.size),
            cause=account_seq,
            venue=self.venue_id,
            asset=self.base,
            amount=-batch.base_paid_out,
            amount_usd=-batch.base_paid_out * p_base,
            balance=balance,
            reason="absorb",
        )
        short = np.flatnonzero(batch.shortfall > 0)
        if short.size:
            log.emit_batch(
                BadDebtRealized,
                int(short.size),
                cause=account_seq[short],
                venue=self.venue_id,
                account=done[short],
                asset=self.base,
                amount=batch.shortfall[short],
                amount_usd=batch.shortfall[short] * p_base,
                treatment="reserves",
            )
        self.reserves = float(balance[-1])
        self.totals["min_reserves"] = min(self.totals["min_reserves"], self.reserves)
        self.collateral[done] = 0.0
        self.debt[done] = 0.0
        self.supplied[done] += batch.new_balance
        self._flagged[done] = False
        # Each asset's lot carries the share of the base paid out that its credit stands for.
        paid_per_row = batch.base_paid_out[rows] * share
        for k, asset in enumerate(self.assets):
            lot_size = float(q[:, k].sum())
            if lot_size <= 0:
                continue
            tab = float(paid_per_row[cols == k].sum())
            self._open_lot(asset, lot_size, tab, absorber, int(first))
            self.collateral_reserves[asset] += lot_size
        t = self.totals
        t["absorbed_accounts"] += done.size
        t["debt_absorbed_usd"] += float(debt.sum() * p_base)
        t["collateral_absorbed_usd"] += float((q @ prices).sum())
        t["shortfall_usd"] += float(batch.shortfall.sum() * p_base)
        self.chain.request_block()
        return int(done.size)

    def _open_lot(self, asset: str, lot: float, tab: float, keeper: str, cause: int) -> None:
        current = self._lots.get(asset)
        if current is not None:
            current.tab += tab
            return
        self._auctions += 1
        p_base = self.price(self.base)
        # emit_batch: AuctionStarted has a field named ``kind``, emit's own first parameter.
        seq = self._ctx.log.emit_batch(
            AuctionStarted,
            1,
            cause=cause,
            venue=self.venue_id,
            auction=self._auctions,
            account=-1,
            kind="storefront",
            collateral_asset=asset,
            lot=lot,
            tab=tab,
            tab_usd=tab * p_base,
            start_price=self.storefront_price(asset),
            keeper=keeper,
            incentive_usd=0.0,
        )
        self._lots[asset] = _Lot(self._auctions, seq, tab)

    def lot_seq(self, asset: str) -> int:
        """Return the ``seq`` of the `AuctionStarted` of `asset`'s open storefront lot.

        Raises
        ------
        KeyError
            When nothing of `asset` is for sale.
        """
        return self._lots[asset].started_seq

    # -- storefront ---------------------------------------------------------------------------

    def for_sale(self) -> bool:
        """Return whether ``buyCollateral`` is open: ``not (reserves >= 0 and reserves >=
        targetReserves)``.
        """
        return not (self.reserves >= 0 and self.reserves >= self.params.target_reserves)

    def storefront_price(self, asset: str) -> float:
        """Return the base paid per collateral token at the storefront now."""
        return float(1.0 / self.quote_collateral(asset, 1.0))

    def quote_collateral(self, asset: str, base_amount: float) -> float:
        """Return the collateral `base_amount` buys now (``quoteCollateral``)."""
        k = self.assets.index(asset)
        return float(
            kernels.quote_collateral(
                base_amount,
                self.price(asset),
                self.price(self.base),
                float(self.liquidation_factor[k]),
                self.params.store_front_price_factor,
            )
        )

    def buy_collateral(
        self, asset: str, base_amount: float, *, min_amount: float, buyer: str, cause: int
    ) -> float:
        """Sell collateral for `base_amount` of base (``buyCollateral``) and return the amount.

        Raises
        ------
        CometReverted
            ``NotForSale``, ``TooMuchSlippage`` (quote below `min_amount`) or
            ``InsufficientReserves`` (quote above the protocol's collateral reserves).
        """
        if not self.for_sale():
            raise CometReverted("NotForSale")
        if not base_amount > 0:
            raise ValueError(f"expected base_amount > 0, was {base_amount}")
        amount = self.quote_collateral(asset, base_amount)
        if amount < min_amount:
            raise CometReverted("TooMuchSlippage")
        if amount > self.collateral_reserves[asset] * (1 + 1e-12):
            raise CometReverted("InsufficientReserves")
        amount = min(amount, self.collateral_reserves[asset])
        log = self._ctx.log
        p_base = self.price(self.base)
        lot = self._lots[asset]
        bid = log.emit(
            AuctionBidPlaced,
            cause=cause,
            venue=self.venue_id,
            auction=lot.auction,
            bidder=buyer,
            action="buy",
            lot=amount,
            bid=base_amount,
            bid_usd=base_amount * p_base,
            price=base_amount / amount,
        )
        self.reserves += base_amount
        log.emit(
            ReservesChanged,
            cause=bid,
            venue=self.venue_id,
            asset=self.base,
            amount=base_amount,
            amount_usd=base_amount * p_base,
            balance=self.reserves,
            reason="buy_collateral",
        )
        self.collateral_reserves[asset] -= amount
        value = amount * self._ctx.market.price(asset)
        lot.sold += amount
        lot.raised += base_amount
        lot.value_usd += value
        self.totals["collateral_bought_usd"] += value
        self.totals["base_raised"] += base_amount
        if self.collateral_reserves[asset] <= _DUST:
            self.collateral_reserves[asset] = 0.0
            del self._lots[asset]
            log.emit(
                AuctionSettled,
                cause=bid,
                venue=self.venue_id,
                auction=lot.auction,
                winner=buyer,
                lot_sold=lot.sold,
                raised=lot.raised,
                raised_usd=lot.raised * p_base,
                tab=lot.tab,
                collateral_returned=0.0,
                shortfall=max(lot.tab - lot.raised, 0.0),
                collateral_value_usd=lot.value_usd,
            )
        return amount

    # -- reporting ----------------------------------------------------------------------------

    def metrics(self) -> dict[str, float]:
        """Return absorb and storefront totals, reserves now and the books' size."""
        out = dict(self.totals)
        out["reserves"] = self.reserves
        out["accounts"] = float(len(self.debt))
        out["debt_usd"] = float(self.debt.sum() * self.price(self.base))
        for asset in self.assets:
            out[f"collateral_reserves_{asset}"] = self.collateral_reserves[asset]
        return out

    def positions_frame(self) -> pd.DataFrame:
        """Return every account now, one row each (the rows `health_under` follows).

        Columns: ``venue``, ``account``, ``debt_asset``, ``debt`` (base), ``collateral_usd``,
        ``debt_usd``, ``health_factor`` (the liquidation ratio) and one column of tokens per
        collateral asset.
        """
        import pandas as pd

        prices = self._asset_prices()
        frame = pd.DataFrame(
            {
                "venue": self.venue_id,
                "account": np.arange(len(self.debt)),
                "debt_asset": self.base,
                "debt": self.debt,
                "collateral_usd": self.collateral @ prices,
                "debt_usd": self.debt * self.price(self.base),
                "health_factor": self.liquidation_ratios(),
            }
        )
        for k, asset in enumerate(self.assets):
            frame[asset] = self.collateral[:, k]
        return frame

    def health_under(self, prices: Mapping[str, float]) -> NDArray[np.float64]:
        """Return every account's liquidation ratio if the oracles answered `prices`, in
        `positions_frame` order (first order: no absorb, no market impact).
        """
        return self.liquidation_ratios(prices=prices)

    def priced_by(self) -> dict[str, tuple[str, ...]]:
        """Return the oracle id behind each asset's ``priceFeed``."""
        return {
            self.base: (self.params.base_oracle,),
            **{a: (p.oracle,) for a, p in self.params.assets.items()},
        }

    @property
    def chain_id(self) -> str:
        """The chain the market lives on."""
        return self.params.chain


_CHANGEABLE = {"assets", "store_front_price_factor", "target_reserves"}
_ASSET_CHANGEABLE = {
    "borrow_collateral_factor",
    "liquidate_collateral_factor",
    "liquidation_factor",
}


def _asset_factors(params: CometParams) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return each collateral's liquidateCollateralFactor and liquidationFactor (asset order)."""
    cfg = params.assets.values()
    return (
        np.array([a.liquidate_collateral_factor for a in cfg]),
        np.array([a.liquidation_factor for a in cfg]),
    )


def build(ctx: SimContext, spec: ComponentSpec, params: CometParams, where: str) -> CometMarket:
    """Build a `CometMarket` from its scenario entry."""
    del where
    return CometMarket(ctx, spec.id, params)


__all__ = ["Candidates", "CometMarket", "CometReverted", "build"]
