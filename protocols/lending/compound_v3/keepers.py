"""Comet's two keepers: the absorber and the storefront buyer (mechanics §2.3, §11.1).

The absorber calls ``absorb`` for liquidatable accounts after its reaction latency. ``absorb``
pays nothing but liquidator points (Comet has no absorb gas rebate in token), so the absorber
only checks that the gas per account stays within what it is willing to spend.

The buyer watches the storefront: while ``buyCollateral`` is open it buys an asset's collateral
when the discounted price is below what the collateral fetches on its market venue by more
than its gas and its profit threshold, within its capital, then sells it there at once.

Both submit `Tx` to the chain like `protosim.protocols.lending.keeper` does; under congestion
(base fee up, blocks full) their transactions wait for room and a base fee within their cap.
"""

from __future__ import annotations

import numpy as np

from protosim.blocks import Tx
from protosim.clock import Phase, ProcessGenerator
from protosim.context import SimContext
from protosim.events import LiquidationsDeclined
from protosim.protocols.lending.compound_v3.params import AbsorberParams, BuyerParams
from protosim.protocols.lending.compound_v3.venue import CometMarket, CometReverted
from protosim.scenario import ComponentSpec


def _gas_usd(ctx: SimContext, market: CometMarket, gas: int, priority: float, cap: float) -> float:
    chain = market.chain
    return chain.tx_cost_usd(
        gas,
        priority_fee_gwei=priority,
        max_fee_gwei=cap,
        gas_price_usd=ctx.market.price(chain.params.gas_asset),
    )


class Absorber:
    """Calls ``absorb`` on a Comet market's liquidatable accounts.

    Parameters
    ----------
    ctx : SimContext
        The run's context (its venue must already be built).
    agent_id : str
        The absorber's id.
    params : AbsorberParams
        Latency, gas and bidding.
    """

    def __init__(self, ctx: SimContext, agent_id: str, params: AbsorberParams) -> None:
        venue = ctx.venue(params.venue)
        if not isinstance(venue, CometMarket):
            raise KeyError(f"venue: {params.venue!r} is not a lending.compound_v3 market")
        if venue.chain.params.gas_asset not in ctx.market.assets:
            raise KeyError(f"the absorber pays gas in {venue.chain.params.gas_asset!r}, unpriced")
        self.agent_id = agent_id
        self.params = params
        self.venue = venue
        self._ctx = ctx
        self._in_flight = np.zeros(len(venue.debt), dtype=np.bool_)
        self.stats = {"submitted": 0.0, "absorbed": 0.0, "declined": 0.0, "gas_usd": 0.0}

    def start(self) -> None:
        """Look at the venue's candidates after its risk check in every block."""
        self.venue.chain.on_phase(Phase.RISK, self._react, rank=10)

    def metrics(self) -> dict[str, float]:
        """Return counts of submitted, absorbed and declined accounts and the gas spent."""
        return dict(self.stats)

    def _react(self, block: int) -> None:
        del block
        p = self.params
        for found in self.venue.candidates:
            fresh = found.positions[~self._in_flight[found.positions]]
            if fresh.size == 0:
                continue
            gas = _gas_usd(
                self._ctx, self.venue, p.gas_per_absorb, p.priority_fee_gwei, p.max_fee_gwei
            )
            if gas > p.max_gas_usd_per_account:
                self.stats["declined"] += fresh.size
                self._ctx.log.emit(
                    LiquidationsDeclined,
                    cause=found.cause,
                    venue=self.venue.venue_id,
                    keeper=self.agent_id,
                    count=int(fresh.size),
                    reason="gas",
                    debt_usd=float(
                        self.venue.debt[fresh].sum() * self.venue.price(self.venue.base)
                    ),
                )
                continue
            self._submit(fresh, found.cause)

    def _submit(self, positions: np.ndarray, cause: int) -> None:
        p = self.params
        self._in_flight[positions] = True
        self.stats["submitted"] += positions.size

        def execute(start: int, stop: int) -> None:
            chunk = positions[start:stop]
            self._in_flight[chunk] = False
            done = self.venue.absorb(chunk, absorber=self.agent_id, cause=cause)
            self.stats["absorbed"] += done
            self.stats["gas_usd"] += (stop - start) * _gas_usd(
                self._ctx, self.venue, p.gas_per_absorb, p.priority_fee_gwei, p.max_fee_gwei
            )

        self.venue.chain.submit(
            Tx(
                sender=self.agent_id,
                phase=Phase.KEEPER,
                gas_per_item=p.gas_per_absorb,
                items=int(positions.size),
                priority_fee_gwei=p.priority_fee_gwei,
                max_fee_gwei=p.max_fee_gwei,
                execute=execute,
            ),
            latency_s=p.latency_s,
        )


class StorefrontBuyer:
    """Buys a Comet market's absorbed collateral at the storefront and sells it on a market.

    Parameters
    ----------
    ctx : SimContext
        The run's context (its venue must already be built).
    agent_id : str
        The buyer's id.
    params : BuyerParams
        Markets to sell on, latency, gas, profit threshold and capital.
    """

    _SIZES = (1.0, 0.5, 0.25, 0.125, 0.0625)
    """Fractions of the affordable lot priced each time (the sale's impact grows with size)."""

    def __init__(self, ctx: SimContext, agent_id: str, params: BuyerParams) -> None:
        venue = ctx.venue(params.venue)
        if not isinstance(venue, CometMarket):
            raise KeyError(f"venue: {params.venue!r} is not a lending.compound_v3 market")
        for asset, trading in params.sell_on.items():
            if asset not in venue.assets:
                raise KeyError(f"sell_on.{asset}: not a collateral asset of {params.venue!r}")
            market_venue = ctx.market.venues.get(trading)
            if market_venue is None or market_venue.asset != asset:
                raise KeyError(f"sell_on.{asset}: {trading!r} is not a trading venue of {asset!r}")
        self.agent_id = agent_id
        self.params = params
        self.venue = venue
        self._ctx = ctx
        self._pending: set[str] = set()
        self.stats = {
            "submitted": 0.0,
            "bought": 0.0,
            "reverted": 0.0,
            "spent_usd": 0.0,
            "sold_usd": 0.0,
            "gas_usd": 0.0,
        }

    def start(self) -> None:
        """Look at the storefront after the absorber in every block, and every
        ``check_interval_s`` while collateral is for sale.
        """
        self.venue.chain.on_phase(Phase.RISK, self._react, rank=20)
        self._ctx.clock.start(f"agent.{self.agent_id}.watch", self._watch())

    def _watch(self) -> ProcessGenerator:
        while True:
            yield self._ctx.clock.timeout(self.params.check_interval_s)
            if self.venue.for_sale() and any(
                self.venue.collateral_reserves[a] > 0 for a in self.params.sell_on
            ):
                self.venue.chain.request_block()

    def metrics(self) -> dict[str, float]:
        """Return purchases, reverts, USD spent and received, and gas."""
        return dict(self.stats)

    def _react(self, block: int) -> None:
        del block
        if not self.venue.for_sale():
            return
        for asset, trading in self.params.sell_on.items():
            available = self.venue.collateral_reserves[asset]
            if asset in self._pending or available <= 0:
                continue
            self._consider(asset, trading, available)

    def _consider(self, asset: str, trading: str, available: float) -> None:
        p = self.params
        venue = self.venue
        p_base = venue.price(venue.base)
        unit = venue.storefront_price(asset)  # base per collateral token
        affordable = min(available, p.capital_usd / (unit * p_base))
        sizes = np.array([affordable * f for f in self._SIZES])
        proceeds = self._ctx.market.sell_proceeds(trading, sizes)
        gas = _gas_usd(self._ctx, venue, p.gas_per_buy, p.priority_fee_gwei, p.max_fee_gwei)
        profit = proceeds - sizes * unit * p_base - gas
        best = int(np.argmax(profit))
        if profit[best] <= p.min_profit_usd:
            return
        quantity = float(sizes[best])
        # The purchase answers the storefront lot the absorbs opened.
        cause = venue.lot_seq(asset)
        self._pending.add(asset)
        self.stats["submitted"] += 1

        def execute(start: int, stop: int) -> None:
            del start, stop
            self._pending.discard(asset)
            self._buy_and_sell(asset, trading, quantity, cause)

        venue.chain.submit(
            Tx(
                sender=self.agent_id,
                phase=Phase.KEEPER,
                gas_per_item=p.gas_per_buy,
                items=1,
                priority_fee_gwei=p.priority_fee_gwei,
                max_fee_gwei=p.max_fee_gwei,
                execute=execute,
            ),
            latency_s=p.latency_s,
        )

    def _buy_and_sell(self, asset: str, trading: str, quantity: float, cause: int) -> None:
        venue = self.venue
        p = self.params
        gas = _gas_usd(self._ctx, venue, p.gas_per_buy, p.priority_fee_gwei, p.max_fee_gwei)
        self.stats["gas_usd"] += gas
        # At inclusion: buy no more than is left, at the storefront price of this block.
        quantity = min(quantity, venue.collateral_reserves[asset])
        if quantity <= 0:
            self.stats["reverted"] += 1
            return
        base_amount = quantity * venue.storefront_price(asset)
        try:
            got = venue.buy_collateral(
                asset,
                base_amount,
                min_amount=quantity * (1 - 1e-9),
                buyer=self.agent_id,
                cause=cause,
            )
        except CometReverted:
            self.stats["reverted"] += 1
            return
        self.stats["bought"] += 1
        venue.chain.request_block()  # look at what is left in the next block
        self.stats["spent_usd"] += base_amount * venue.price(venue.base)
        if self._ctx.market.halted(trading):
            return
        fill = self._ctx.market.trade(trading, -got, trader=self.agent_id, cause=cause)
        self.stats["sold_usd"] += fill.notional_usd


def build_absorber(
    ctx: SimContext, spec: ComponentSpec, params: AbsorberParams, where: str
) -> Absorber:
    """Build an `Absorber` from its scenario entry."""
    del where
    return Absorber(ctx, spec.id, params)


def build_buyer(
    ctx: SimContext, spec: ComponentSpec, params: BuyerParams, where: str
) -> StorefrontBuyer:
    """Build a `StorefrontBuyer` from its scenario entry."""
    del where
    return StorefrontBuyer(ctx, spec.id, params)
