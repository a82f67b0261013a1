"""Cross-venue arbitrage (issue 6): an agent that buys where an asset is cheap and sells where
it is dear, so venue prices move towards each other exactly as fast as its frictions allow.

Frictions, each a parameter: the round-trip cost it must beat (fees, spread), its reaction
latency (it trades at the prices of when its orders arrive, not of when it looked), the USD and
tokens it holds on each venue (it cannot sell what it does not have there), the time to move
funds between venues, venue halts (no trading) and withdrawal freezes (no moving funds out).
A depeg on one venue therefore lasts as long as those frictions let it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protosim.clock import ProcessGenerator
from protosim.context import SimContext
from protosim.scenario import ComponentSpec


class ArbitrageParams(BaseModel):
    """Parameters of a cross-venue arbitrageur."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    asset: str
    venues: tuple[str, ...] = Field(min_length=2)
    threshold_bps: float = Field(default=10.0, ge=0)
    """Acts only when the dear venue is this much above the cheap one (its round-trip cost)."""
    latency_s: float = Field(default=1.0, ge=0)
    check_interval_s: float = Field(default=1.0, gt=0)
    usd_per_venue: float = Field(default=1e6, ge=0)
    """USD it holds on each venue at the start."""
    tokens_per_venue: float | None = Field(default=None, ge=0)
    """Tokens it holds on each venue at the start; default: worth `usd_per_venue` at t = 0."""
    max_trade_usd: float = Field(default=math.inf, gt=0)
    transfer_s: float = Field(default=1_800.0, ge=0)
    """Time for funds moved between venues to arrive (chain confirmations, exchange checks)."""

    @model_validator(mode="after")
    def _distinct(self) -> ArbitrageParams:
        if len(set(self.venues)) != len(self.venues):
            raise ValueError(f"venues: expected distinct venues, was {list(self.venues)}")
        return self


@dataclass(slots=True)
class _Wallet:
    usd: float
    tokens: float
    arriving: list[tuple[float, float, float]] = field(default_factory=list)  # (at, usd, tokens)


class Arbitrageur:
    """Trades the gap between the cheapest and the dearest available venue of one asset."""

    def __init__(self, ctx: SimContext, agent_id: str, params: ArbitrageParams) -> None:
        self.agent_id = agent_id
        self.params = params
        self._ctx = ctx
        market = ctx.market
        for venue in params.venues:
            found = market.venues.get(venue)
            if found is None or found.asset != params.asset:
                raise KeyError(f"venues: {venue!r} is not a trading venue of {params.asset!r}")
        start = {v: market.price(params.asset, v) for v in params.venues}
        self.wallets = {
            v: _Wallet(
                params.usd_per_venue,
                params.tokens_per_venue
                if params.tokens_per_venue is not None
                else params.usd_per_venue / start[v],
            )
            for v in params.venues
        }
        self.stats = {"trades": 0.0, "profit_usd": 0.0, "transfers": 0.0, "blocked_transfers": 0.0}
        self._start_value = self._value()

    def start(self) -> None:
        """Start watching the venues."""
        self._ctx.clock.start(f"agent.{self.agent_id}", self.run())

    def metrics(self) -> dict[str, float]:
        """Return trades made, transfers, and the profit marked at the final prices."""
        out = dict(self.stats)
        out["profit_usd"] = self._value() - self._start_value
        return out

    def _value(self) -> float:
        market = self._ctx.market
        total = 0.0
        for venue, wallet in self.wallets.items():
            price = market.price(self.params.asset, venue)
            total += wallet.usd + wallet.tokens * price
            total += sum(usd + tokens * price for _, usd, tokens in wallet.arriving)
        return total

    def _settle_arrivals(self) -> None:
        now = self._ctx.clock.now
        for wallet in self.wallets.values():
            landed = [a for a in wallet.arriving if a[0] <= now]
            if landed:
                wallet.arriving = [a for a in wallet.arriving if a[0] > now]
                wallet.usd += sum(a[1] for a in landed)
                wallet.tokens += sum(a[2] for a in landed)

    def _gap(self) -> tuple[str, str, float] | None:
        market = self._ctx.market
        open_venues = [v for v in self.params.venues if not market.halted(v)]
        if len(open_venues) < 2:
            return None
        prices = {v: market.price(self.params.asset, v) for v in open_venues}
        cheap = min(open_venues, key=lambda v: (prices[v], v))
        dear = max(open_venues, key=lambda v: (prices[v], v))
        gap = prices[dear] / prices[cheap] - 1.0
        if gap * 10_000 <= self.params.threshold_bps:
            return None
        return cheap, dear, gap

    def run(self) -> ProcessGenerator:
        """Look every `check_interval_s` (or at a move); trade after the latency."""
        clock = self._ctx.clock
        market = self._ctx.market
        while True:
            woke = yield clock.env.any_of(
                [clock.act_after(self.params.check_interval_s), market.moved(self.params.asset)]
            )
            del woke
            self._settle_arrivals()
            if self._gap() is None:
                continue
            if self.params.latency_s:
                yield clock.act_after(self.params.latency_s)
                self._settle_arrivals()
            found = self._gap()  # prices of when the orders arrive
            if found is not None:
                self._trade(*found)
                self._rebalance()

    def _trade(self, cheap: str, dear: str, gap: float) -> None:
        del gap
        market = self._ctx.market
        p = self.params
        wallet_cheap, wallet_dear = self.wallets[cheap], self.wallets[dear]
        band = 1.0 + p.threshold_bps / 10_000
        # The most it would ever need: enough to lift the cheap venue to the dear price.
        ceiling = min(
            market.quantity_for_price(cheap, market.price(p.asset, dear)), wallet_dear.tokens
        )
        if ceiling <= 0:
            return

        def after(q: float) -> tuple[float, float, float]:
            bought = market.quote(cheap, q)
            sold = market.quote(dear, -q)
            return sold.price_after / bought.price_after, bought.notional_usd, sold.notional_usd

        budget = min(wallet_cheap.usd, p.max_trade_usd)
        # Bisection on the quantity: the largest that keeps the dear venue above the cheap one
        # by at least the band (trading further would lose money) and fits the budget.
        low, high = 0.0, ceiling
        for _ in range(60):
            mid = (low + high) / 2
            ratio, cost, _ = after(mid)
            if ratio >= band and cost <= budget:
                low = mid
            else:
                high = mid
        quantity = low
        if quantity <= 0:
            return
        cause, span = market.last_mover(p.asset, [cheap, dear], -math.inf, excluding=self.agent_id)
        span = max(span, 1)
        bought = market.trade(cheap, quantity, trader=self.agent_id, cause=cause, cause_span=span)
        sold = market.trade(dear, -quantity, trader=self.agent_id, cause=cause, cause_span=span)
        wallet_cheap.usd -= bought.notional_usd
        wallet_cheap.tokens += quantity
        wallet_dear.usd += sold.notional_usd
        wallet_dear.tokens -= quantity
        self.stats["trades"] += 1

    def _rebalance(self) -> None:
        # Send tokens from where they piled up to where they are short, and USD back, unless
        # the sending venue has frozen withdrawals.
        market = self._ctx.market
        now = self._ctx.clock.now
        venues = self.params.venues
        tokens_goal = sum(w.tokens for w in self.wallets.values()) / len(venues)
        usd_goal = sum(w.usd for w in self.wallets.values()) / len(venues)
        for venue in venues:
            wallet = self.wallets[venue]
            spare_tokens = max(0.0, wallet.tokens - tokens_goal)
            spare_usd = max(0.0, wallet.usd - usd_goal)
            if spare_tokens <= 0 and spare_usd <= 0:
                continue
            if market.withdrawals_frozen(venue):
                self.stats["blocked_transfers"] += 1
                continue
            short = [v for v in venues if v != venue]
            for other in short:
                share = 1.0 / len(short)
                self.wallets[other].arriving.append(
                    (now + self.params.transfer_s, spare_usd * share, spare_tokens * share)
                )
            wallet.tokens -= spare_tokens
            wallet.usd -= spare_usd
            self.stats["transfers"] += 1


def build(ctx: SimContext, spec: ComponentSpec, params: ArbitrageParams, where: str) -> Arbitrageur:
    """Build an `Arbitrageur` from its scenario entry."""
    del where
    return Arbitrageur(ctx, spec.id, params)
