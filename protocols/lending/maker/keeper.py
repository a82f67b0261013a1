"""Maker keepers: bite/bark callers and auction bidders that go through the chain's gas queue
(mechanics §11.1, §3).

Each block the keeper looks at the venue after its risk check and sends transactions, each after
its latency and with its priority fee and fee cap:

- ``bite``/``bark`` every unsafe urn not already in flight (liquidations 1.0: one bite per
  ``lump`` of the urn's collateral), ``tick`` expired flip auctions without bids and ``redo``
  sales that need it (if `MakerKeeperParams.bite`);
- bid in flip auctions (``bid = "market"``): ``tend`` up to ``value · (1 − margin)`` where
  ``value`` is what the lot fetches on the keeper's market venue (impact included), capped at
  ``tab``; then ``dent`` down to the lot worth ``tab / (1 − margin)``; the beg rule and the
  keeper's Vat DAI (its capital) must allow the bid, and the profit after gas must exceed
  ``min_profit_usd``;
- or bid the minimum (``bid = "minimum"``): one ``tend`` of 1 rad (1e-45 DAI, the least
  flip.sol accepts, since it requires ``bid > 0``) on every auction without a bid; never raise.
  With a priority fee above the congestion's background demand this is the Black Thursday bot:
  its bid gets in while the others wait in the queue, and nobody outbids it before ``ttl``;
- ``take`` a Clipper sale when its price is at or below ``market · (1 − margin)``, choosing
  among such sales with the lending keeper's `decide` (profit after gas above the threshold,
  most profitable first within its DAI), then a partial take with the DAI left (the minimum
  bidder behaves the same way here: a Dutch auction has no minimum bid);
- ``deal`` the flip auctions it won once they are finished, and sell every collateral it wins on
  its market venue at once (``GemJoin.exit`` then a trade).

A transaction's call is made against the venue's state when it is included; a call the
contract would reject (outbid meanwhile, auction finished, too expensive) is counted as reverted.
Gas per call is an estimate (no trace source): see the defaults.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from protosim.blocks import Tx
from protosim.clock import Phase
from protosim.context import SimContext
from protosim.events import ROOT, LiquidationsDeclined
from protosim.protocols.lending.keeper import decide
from protosim.protocols.lending.maker.auctions import FlipBid, FlipPhase
from protosim.protocols.lending.maker.math import RAD, DssReverted
from protosim.protocols.lending.maker.venue import MakerVenue, to_rad, to_ray, to_wad
from protosim.scenario import ComponentSpec
from protosim.units import WAD

__all__ = ["MakerKeeper", "MakerKeeperParams", "build", "dent_lot", "tend_bid"]


class MakerKeeperParams(BaseModel):
    """Parameters of a Maker keeper."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    venue: str
    sell_on: dict[str, str] = Field(default_factory=dict)
    """Trading venue on which to sell each won collateral asset; unlisted assets are held."""
    capital_dai: float = Field(default=1e6, ge=0, allow_inf_nan=False)
    """Vat DAI the keeper starts with: the most it can have bid or paid at once."""
    recycle: bool = True
    """Join the proceeds of each sale back into the Vat as DAI to bid with (at $1 a DAI)."""
    bite: bool = True
    """Call bite/bark on unsafe urns, tick and redo auctions."""
    bid: Literal["market", "minimum", "none"] = "market"
    margin: float = Field(default=0.05, ge=0, lt=1)
    """Discount to the market value the keeper wants on what it buys."""
    min_profit_usd: float = Field(default=0.0, ge=0)
    latency_s: float = Field(default=1.0, ge=0)
    priority_fee_gwei: float = Field(default=2.0, ge=0)
    max_fee_gwei: float = Field(default=math.inf, gt=0)
    recheck_s: float = Field(default=60.0, ge=0)
    """How often an auction nobody has moved is valued again."""
    gas_bite: int = Field(default=200_000, gt=0)
    """Cat.bite + flip.kick, or Dog.bark + clip.kick (estimate)."""
    gas_bid: int = Field(default=120_000, gt=0)
    """tend, dent or take (estimate)."""
    gas_deal: int = Field(default=80_000, gt=0)
    """deal, tick or redo (estimate)."""


def tend_bid(value_dai: float, tab: int, bid: int, beg: int) -> int | None:
    """Return the tend a keeper valuing the lot at `value_dai` makes, or None.

    The bid is ``min(tab, value)`` in rad; it must beat `bid` by the factor `beg` (wad) unless it
    equals `tab` (flip.sol ``tend``).

    Examples
    --------
    With a 3 % beg, 100 DAI can follow a bid of 97 DAI but not one of 98:

    >>> beg = 103 * WAD // 100
    >>> tend_bid(100.0, 500 * RAD, 97 * RAD, beg) == 100 * RAD
    True
    >>> tend_bid(100.0, 500 * RAD, 98 * RAD, beg) is None
    True
    >>> tend_bid(1e6, 500 * RAD, 499 * RAD, beg) == 500 * RAD
    True
    """
    target = min(tab, to_rad(value_dai))
    if target <= bid:
        return None
    if target * WAD >= beg * bid or target == tab:
        return target
    return None


def dent_lot(tab_dai: float, price_dai: float, lot: int, beg: int) -> int | None:
    """Return the lot (wad) a keeper accepts for the full tab at `price_dai` a token, or None.

    The new lot ``tab / price`` must be below `lot` by the factor `beg` (flip.sol ``dent``).

    Examples
    --------
    A 1,000 DAI tab at 100 DAI a token is worth 10 tokens: a dent from 12 tokens, not from 10.2:

    >>> beg = 103 * WAD // 100
    >>> dent_lot(1_000.0, 100.0, 12 * WAD, beg) == 10 * WAD
    True
    >>> dent_lot(1_000.0, 100.0, 102 * WAD // 10, beg) is None
    True
    """
    if price_dai <= 0:
        return None
    want = to_wad(tab_dai / price_dai)
    if 0 < want < lot and beg * want <= lot * WAD:
        return want
    return None


class MakerKeeper:
    """A keeper of one Maker venue.

    Parameters
    ----------
    ctx : SimContext
        The run's context (its venue must already be built).
    agent_id : str
        The keeper's id.
    params : MakerKeeperParams
        Capital, gas bidding, latency and bidding rules.
    """

    def __init__(self, ctx: SimContext, agent_id: str, params: MakerKeeperParams) -> None:
        self.agent_id = agent_id
        self.params = params
        self._ctx = ctx
        venue = ctx.venue(params.venue)
        if not isinstance(venue, MakerVenue):
            raise KeyError(f"venue: {params.venue!r} is not a lending.maker venue")
        self.venue = venue
        self.chain = venue.chain
        for asset, trading in params.sell_on.items():
            market_venue = ctx.market.venues.get(trading)
            if market_venue is None or market_venue.asset != asset:
                raise KeyError(f"sell_on.{asset}: {trading!r} is not a trading venue of {asset!r}")
        if self.chain.params.gas_asset not in ctx.market.assets:
            raise KeyError(
                f"the keeper pays gas in {self.chain.params.gas_asset!r}, "
                "which the market does not price"
            )
        venue.deposit_dai(agent_id, params.capital_dai)
        self._in_flight = {name: np.zeros(len(b), dtype=np.int64) for name, b in venue.ilks.items()}
        self._pending: set[int] = set()
        self._declined: set[int] = set()
        self._starved: set[int] = set()
        self._cursor = 0
        self._retry: set[int] = set()
        self._timers: list[tuple[int, int]] = []
        self._committed = 0  # rad promised by transactions not yet included
        self.stats = {
            "bites_sent": 0.0,
            "bites": 0.0,
            "bids_sent": 0.0,
            "bids": 0.0,
            "deals": 0.0,
            "reverted": 0.0,
            "declined_capital": 0.0,
            "won_collateral": 0.0,
            "sold_usd": 0.0,
            "paid_dai": 0.0,
            "gas_usd": 0.0,
        }

    def start(self) -> None:
        """Look at the venue after its risk check in every block (auctions age with time)."""
        self.chain.on_phase(Phase.RISK, self._react, rank=10, every_block=True)

    def metrics(self) -> dict[str, float]:
        """Return counts of calls sent and made, collateral won and DAI left."""
        out = dict(self.stats)
        out["dai"] = self.venue.dai_of(self.agent_id)
        return out

    # -- helpers ------------------------------------------------------------------------------

    def _gas_usd(self, gas: int) -> float:
        p = self.params
        return self.chain.tx_cost_usd(
            gas,
            priority_fee_gwei=p.priority_fee_gwei,
            max_fee_gwei=p.max_fee_gwei,
            gas_price_usd=self._ctx.market.price(self.chain.params.gas_asset),
        )

    def _send(self, gas: int, items: int, execute: Callable[[int, int], None]) -> None:
        p = self.params
        self.chain.submit(
            Tx(
                sender=self.agent_id,
                phase=Phase.KEEPER,
                gas_per_item=gas,
                items=items,
                priority_fee_gwei=p.priority_fee_gwei,
                max_fee_gwei=p.max_fee_gwei,
                execute=execute,
            ),
            latency_s=p.latency_s,
        )

    def _market_values(self, asset: str, tokens: NDArray[np.float64]) -> NDArray[np.float64]:
        """USD the keeper expects for each of `tokens` of `asset` sold alone, after impact."""
        market = self._ctx.market
        trading = self.params.sell_on.get(asset)
        if trading is None:
            out: NDArray[np.float64] = tokens * market.price(asset)
            return out
        return market.sell_proceeds(trading, tokens)

    def _free_dai(self) -> int:
        return self.venue.dai.get(self.agent_id, 0) - self._committed

    # -- each block ---------------------------------------------------------------------------

    def _react(self, block: int) -> None:
        del block
        if self.params.bite:
            self._liquidate()
        if self.venue.flips:
            self._flip_actions(int(self._ctx.clock.now))
        if self.venue.sales:
            self._clip_actions()

    def _liquidate(self) -> None:
        v = self.venue
        for name, book in v.ilks.items():
            cands = book.candidates
            if cands.size == 0:
                continue
            flight = self._in_flight[name]
            fresh = cands[flight[cands] == 0]
            if fresh.size == 0:
                continue
            if v.liquidations == "1.0":
                lots = np.maximum(np.ceil(book.ink[fresh] / (book.lump / WAD) - 1e-9), 1)
                lots = lots.astype(np.int64)
            else:
                lots = np.ones(fresh.size, dtype=np.int64)
            urn_of_item = np.repeat(fresh, lots)
            flight[fresh] += lots
            self.stats["bites_sent"] += float(urn_of_item.size)
            execute = self._bites(name, urn_of_item, book.cause)
            self._send(self.params.gas_bite, int(urn_of_item.size), execute)

    def _bites(self, ilk: str, urns: NDArray[np.int64], cause: int) -> Callable[[int, int], None]:
        def execute(start: int, stop: int) -> None:
            v = self.venue
            call = v.bark if v.liquidations == "2.0" else v.bite
            flight = self._in_flight[ilk]
            for k in range(start, stop):
                i = int(urns[k])
                flight[i] -= 1
                try:
                    call(ilk, i, keeper=self.agent_id, cause=cause)
                except DssReverted:
                    self.stats["reverted"] += 1
                    continue
                self.stats["bites"] += 1
                self.stats["gas_usd"] += self._gas_usd(self.params.gas_bite)
            # The urn may still be unsafe (a partial bark): look again next block.
            v.mark_dirty()

        return execute

    def _flip_actions(self, now: int) -> None:
        # Only auctions that changed since the last look, or whose clock ran out, need one.
        p = self.params
        v = self.venue
        look = set(v.changed[self._cursor :])
        self._cursor = len(v.changed)
        look |= self._retry
        self._retry = set()
        timers = self._timers
        while timers and timers[0][0] <= now:
            look.add(heapq.heappop(timers)[1])
        todo: list[tuple[int, str, FlipBid]] = []
        for auction_id in sorted(look):
            a = v.flips.get(auction_id)
            if a is None or auction_id in self._pending:
                continue  # gone, or our transaction's execution will ask for another look
            s = a.state
            if self._flip_housekeeping(auction_id, s, now):
                continue
            # When this auction's bid or life runs out (deal or tick becomes possible).
            heapq.heappush(timers, ((min(s.tic, s.end) if s.tic else s.end) + 1, auction_id))
            if s.guy == self.agent_id or p.bid == "none":
                continue
            if p.bid == "minimum":
                if s.bid == 0 and self._free_dai() >= 1:
                    self._call(auction_id, "tend", 1, cost=1)
                continue
            if auction_id in self._starved:
                continue  # looked at when the keeper has DAI again, below
            # An auction nobody moved is valued again every `recheck_s` (the market moves).
            heapq.heappush(timers, (now + math.ceil(p.recheck_s), auction_id))
            todo.append((auction_id, a.ilk, s))
        gas = self._gas_usd(p.gas_bid)
        for ilk, book in self.venue.ilks.items():
            mine = [t for t in todo if t[1] == ilk]
            if not mine:
                continue
            lots = np.array([s.lot / WAD for _, _, s in mine])
            values = self._market_values(book.params.collateral, lots)
            for (auction_id, _, s), value in zip(mine, values.tolist(), strict=True):
                self._flip_bid(auction_id, book.flipper.beg, s, value, gas)
        self._feed_starved(now, gas)

    def _feed_starved(self, now: int, gas: float) -> None:
        # Auctions the keeper wanted but could not pay for, oldest first, while its DAI lasts:
        # the first one it still cannot pay for ends the pass.
        v = self.venue
        for auction_id in sorted(self._starved):
            if self._free_dai() <= 0:
                return
            a = v.flips.get(auction_id)
            if a is None or auction_id in self._pending:
                self._starved.discard(auction_id)
                continue
            s = a.state
            finished = (s.tic != 0 and (s.tic < now or s.end < now)) or s.end < now
            if finished or s.guy == self.agent_id:
                self._starved.discard(auction_id)
                continue
            book = v.ilks[a.ilk]
            value = float(self._market_values(book.params.collateral, np.array([s.lot / WAD]))[0])
            self._starved.discard(auction_id)
            self._flip_bid(auction_id, book.flipper.beg, s, value, gas)
            if auction_id in self._starved:
                return

    def _flip_housekeeping(self, auction_id: int, s: FlipBid, now: int) -> bool:
        # Deal what we won, tick what nobody bid on; True when the auction is finished.
        if s.tic != 0 and (s.tic < now or s.end < now):
            if s.guy == self.agent_id:
                self._call(auction_id, "deal", 0)
            return True
        if s.tic == 0 and s.end < now:
            if self.params.bite:
                self._call(auction_id, "tick", 0)
            return True
        return False

    def _short_of_capital(self, auction_id: int, tab: int) -> None:
        # Logged once per auction: the keeper wanted to bid and had no free DAI for it.
        self._starved.add(auction_id)
        if auction_id in self._declined:
            return
        self._declined.add(auction_id)
        self.stats["declined_capital"] += 1
        self._ctx.log.emit(
            LiquidationsDeclined,
            cause=self.venue.flips[auction_id].start_seq,
            venue=self.venue.venue_id,
            keeper=self.agent_id,
            count=1,
            reason="capital",
            debt_usd=tab / RAD,
        )

    def _flip_bid(self, auction_id: int, beg: int, s: FlipBid, value: float, gas: float) -> None:
        p = self.params
        if s.phase is FlipPhase.TEND:
            bid = tend_bid(value * (1 - p.margin), s.tab, s.bid, beg)
            if bid is None or value - bid / RAD - gas <= p.min_profit_usd:
                return
            if bid > self._free_dai():
                self._short_of_capital(auction_id, s.tab)
                return
            self._call(auction_id, "tend", bid, cost=bid)
            return
        lot = s.lot / WAD
        price = value / lot * (1 - p.margin) if lot > 0 else 0.0
        new_lot = dent_lot(s.tab / RAD, price, s.lot, beg)
        if new_lot is None or value * new_lot / s.lot - s.tab / RAD - gas <= p.min_profit_usd:
            return
        if s.tab > self._free_dai():
            self._short_of_capital(auction_id, s.tab)
            return
        self._call(auction_id, "dent", new_lot, cost=s.tab)

    def _call(self, auction_id: int, action: str, amount: int, *, cost: int = 0) -> None:
        self._pending.add(auction_id)
        self._committed += cost
        if action in ("tend", "dent"):
            self.stats["bids_sent"] += 1
        gas = self.params.gas_bid if action in ("tend", "dent", "take") else self.params.gas_deal

        def execute(start: int, stop: int) -> None:
            del start, stop
            self._pending.discard(auction_id)
            self._committed -= cost
            self._retry.add(auction_id)  # look again, whatever the call did
            v = self.venue
            me = self.agent_id
            before = v.dai.get(me, 0)
            try:
                if action == "tend":
                    v.tend(auction_id, who=me, bid=amount)
                elif action == "dent":
                    v.dent(auction_id, who=me, lot=amount)
                elif action == "deal":
                    seq = v.deal(auction_id)
                    self.stats["deals"] += 1
                    self._sell_won(seq)
                elif action == "tick":
                    v.tick(auction_id)
                else:
                    v.redo(auction_id, kpr=me)
            except DssReverted:
                self.stats["reverted"] += 1
                return
            if action in ("tend", "dent"):
                self.stats["bids"] += 1
            self.stats["paid_dai"] += max(before - v.dai.get(me, 0), 0) / RAD
            self.stats["gas_usd"] += self._gas_usd(gas)

        self._send(gas, 1, execute)

    def _clip_actions(self) -> None:
        p = self.params
        offers: list[tuple[int, float, float, float]] = []  # id, price, tokens, market value
        for auction_id, a in self.venue.sales.items():
            if auction_id in self._pending:
                continue
            done, price = self.venue.sale_price(auction_id)
            if done:
                if p.bite:
                    self._call(auction_id, "redo", 0)
                continue
            if p.bid == "none" or price <= 0:
                continue
            asset = self.venue.ilks[a.ilk].params.collateral
            # Buy up to the tab: past it the contract gives the rest back to the vault.
            tokens = min(a.state.lot / WAD, a.state.tab / RAD / price)
            value = float(self._market_values(asset, np.array([tokens]))[0])
            if tokens > 0 and price <= value / tokens * (1 - p.margin):
                offers.append((auction_id, price, tokens, value))
        if offers:
            self._buy(offers)

    def _buy(self, offers: list[tuple[int, float, float, float]]) -> None:
        p = self.params
        # The lending keeper's rule (mechanics §11.1): profit after gas above the threshold,
        # most profitable first while the DAI lasts; then what DAI is left buys part of a lot.
        owe = np.array([o[1] * o[2] for o in offers])
        value = np.array([o[3] for o in offers])
        free = self._free_dai() / RAD
        choice = decide(
            owe,
            value,
            gas_cost_usd=self._gas_usd(p.gas_bid),
            flashloan_premium_bps=0.0,
            min_profit_usd=p.min_profit_usd,
            capital_usd=free,
        )
        for k, (auction_id, price, tokens, _) in enumerate(offers):
            if choice.act[k]:
                self._take(auction_id, to_wad(tokens), to_ray(price), to_rad(owe[k]))
                free -= owe[k]
        for k, (auction_id, price, tokens, val) in enumerate(offers):
            if choice.act[k] or free <= 0:
                continue
            part = min(tokens, free / price)
            if part * (val / tokens - price) - self._gas_usd(p.gas_bid) > p.min_profit_usd:
                self._take(auction_id, to_wad(part), to_ray(price), to_rad(part * price))
                free -= part * price

    def _take(self, auction_id: int, amt: int, max_price: int, cost: int) -> None:
        self._pending.add(auction_id)
        self._committed += cost
        self.stats["bids_sent"] += 1

        def execute(start: int, stop: int) -> None:
            del start, stop
            self._pending.discard(auction_id)
            self._committed -= cost
            v = self.venue
            me = self.agent_id
            before = v.dai.get(me, 0)
            try:
                seq = v.take(auction_id, who=me, amt=amt, max_price=max_price)
            except DssReverted:
                self.stats["reverted"] += 1
                return
            self.stats["bids"] += 1
            self.stats["paid_dai"] += (before - v.dai.get(me, 0)) / RAD
            self.stats["gas_usd"] += self._gas_usd(self.params.gas_bid)
            self._sell_won(seq)

        self._send(self.params.gas_bid, 1, execute)

    def _sell_won(self, cause: int) -> None:
        market = self._ctx.market
        for name, book in self.venue.ilks.items():
            if self.venue.gem_of(name, self.agent_id) == 0:
                continue
            tokens = self.venue.exit_gem(name, self.agent_id)
            self.stats["won_collateral"] += tokens
            trading = self.params.sell_on.get(book.params.collateral)
            if trading is None or tokens <= 0 or market.halted(trading):
                continue  # held: its price risk is the keeper's own
            fill = market.trade(
                trading, -tokens, trader=self.agent_id, cause=cause if cause >= 0 else ROOT
            )
            self.stats["sold_usd"] += fill.notional_usd
            if self.params.recycle:
                # Buy DAI with the proceeds and join it to bid again (DAI taken at $1).
                self.venue.deposit_dai(self.agent_id, fill.notional_usd)


def build(
    ctx: SimContext, spec: ComponentSpec, params: MakerKeeperParams, where: str
) -> MakerKeeper:
    """Build a `MakerKeeper` from its scenario entry."""
    del where
    return MakerKeeper(ctx, spec.id, params)
