"""Mint and redeem channels that hold a token near its peg (issue 6, mechanics §9–10).

One agent stands for the arbitrageurs with access to an issuer: when the market price is
below the redemption value (net of fees and the carry of waiting), they buy on the market and
redeem; above the mint price, they mint and sell. How firmly that holds a peg is set by the
issuer's rules, each a parameter:

- **fiat-backed** (USDC): redemption at par while the window is open; closed windows (a weekend,
  a bank failure) are `closed` periods or ``close`` events; a collateral loss is a ``target``
  event (the value the token is redeemed at);
- **synthetic dollar** (USDe): mint and redeem with fees and a per-interval capacity
  (Ethena's whitelisted minters, ~$2M per block: mechanics §9); a venue without this agent
  has no access and stays wherever the market left it;
- **algorithmic** (UST/LUNA): redemption pays in the volatile twin (`redeem_into`), which the
  arbitrageur sells on that asset's venue: every dollar of UST redeemed is LUNA sold;
- **liquid staking token** (stETH): redemption through a withdrawal queue that is processed at
  `queue_rate` tokens per second; capital waits in the queue, so an arbitrageur needs a
  discount of at least the fee plus its carry over the wait (`carry_per_year`): the discount
  widens as the queue grows (``redemptions`` events) or stalls (``queue_stall``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protosim.clock import ProcessGenerator
from protosim.context import SimContext
from protosim.events import ROOT
from protosim.scenario import ComponentSpec

YEAR_S = 365 * 86_400.0


class RedeemInto(BaseModel):
    """Redemptions pay in another asset, sold at once on its venue (UST → LUNA)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    asset: str
    venue: str


class PegParams(BaseModel):
    """Parameters of a mint/redeem arbitrage channel."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    asset: str
    venue: str
    """The market venue where the token trades and the arbitrageur buys or sells it."""
    target: float = Field(default=1.0, gt=0)
    """Redemption value in units of `target_asset` (1.0 for a dollar token)."""
    target_asset: str | None = None
    """Price the target in this asset's reference price (stETH: ETH); None: USD."""
    mint: bool = True
    redeem: bool = True
    mint_fee_bps: float = Field(default=10.0, ge=0)
    redeem_fee_bps: float = Field(default=10.0, ge=0)
    capacity: float = Field(default=math.inf, gt=0)
    """Tokens that can be minted or redeemed per `capacity_interval_s`."""
    capacity_interval_s: float = Field(default=12.0, gt=0)
    check_interval_s: float = Field(default=12.0, gt=0)
    capital_usd: float = Field(default=math.inf, gt=0)
    """USD the arbitrageurs can tie up in redemptions waiting in the queue."""
    queue_rate: float = Field(default=math.inf, gt=0)
    """Withdrawal-queue processing, tokens per second; infinite: redemption is immediate."""
    carry_per_year: float = Field(default=0.05, ge=0)
    """Return the arbitrageurs require on capital waiting in the queue."""
    closed: tuple[tuple[float, float], ...] = ()
    """Periods ``(start_s, end_s)`` when the issuer neither mints nor redeems."""
    redeem_into: RedeemInto | None = None

    @model_validator(mode="after")
    def _windows(self) -> PegParams:
        for i, (start, end) in enumerate(self.closed):
            if not 0 <= start < end:
                raise ValueError(f"closed[{i}]: expected 0 <= start < end, was ({start}, {end})")
        return self


@dataclass(slots=True)
class _Pending:
    done_s: float
    usd: float


class PegArbitrage:
    """Arbitrage through an issuer's mint and redeem, with its fees, capacity, windows and queue."""

    def __init__(self, ctx: SimContext, agent_id: str, params: PegParams) -> None:
        self.agent_id = agent_id
        self.params = params
        self._ctx = ctx
        market = ctx.market
        venue = market.venues.get(params.venue)
        if venue is None or venue.asset != params.asset:
            raise KeyError(f"venue: {params.venue!r} is not a trading venue of {params.asset!r}")
        if params.target_asset is not None and params.target_asset not in market.assets:
            raise KeyError(f"target_asset: {params.target_asset!r} is not priced by the market")
        if params.redeem_into is not None:
            into = market.venues.get(params.redeem_into.venue)
            if into is None or into.asset != params.redeem_into.asset:
                raise KeyError(
                    f"redeem_into: {params.redeem_into.venue!r} is not a trading venue of "
                    f"{params.redeem_into.asset!r}"
                )
        self.target = params.target
        self._target_cause = ROOT
        self.queue = 0.0
        """Tokens waiting in the withdrawal queue (everyone's, not only the arbitrageurs')."""
        self._queue_updated = 0.0
        self._stalled_until = 0.0
        self._closed_until = 0.0
        self._pending: list[_Pending] = []
        self._window_start = -math.inf
        self._used = 0.0
        self.stats = {"minted": 0.0, "redeemed": 0.0, "locked_usd": 0.0, "into_sold": 0.0}

    # -- component -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start watching the market."""
        self._ctx.clock.start(f"agent.{self.agent_id}", self.run())

    def metrics(self) -> dict[str, float]:
        """Return tokens minted and redeemed, and the queue left."""
        return {**self.stats, "queue": self._queue_now(), "target": self.target}

    def on_event(self, event: str, value: float, duration_s: float, *, cause: int) -> None:
        """Apply a scenario event: ``target`` (new redemption value), ``close`` (for
        `duration_s`), ``redemptions`` (`value` tokens join the queue), ``queue_stall``.
        """
        now = self._ctx.clock.now
        if event == "target":
            if not value > 0:
                raise ValueError(f"expected a target > 0, was {value}")
            self.target, self._target_cause = value, cause
        elif event == "close":
            self._closed_until = max(self._closed_until, now + duration_s)
        elif event == "redemptions":
            self.queue = self._queue_now() + value
            self._queue_updated = now
        elif event == "queue_stall":
            self.queue = self._queue_now()
            self._queue_updated = now
            self._stalled_until = max(self._stalled_until, now + duration_s)
        else:
            raise ValueError(
                f"{self.agent_id}: unknown event {event!r}; expected target, close, "
                "redemptions or queue_stall"
            )

    # -- state ---------------------------------------------------------------------------------

    def _queue_now(self) -> float:
        now = self._ctx.clock.now
        rate = self.params.queue_rate
        if math.isinf(rate):
            return 0.0
        flowing_from = max(self._queue_updated, min(self._stalled_until, now))
        processed = rate * max(0.0, now - flowing_from)
        return max(0.0, self.queue - processed)

    def wait_s(self, extra: float = 0.0) -> float:
        """Return how long a redemption joining the queue now (plus `extra` tokens) waits."""
        rate = self.params.queue_rate
        if math.isinf(rate):
            return 0.0
        stall = max(0.0, self._stalled_until - self._ctx.clock.now)
        return stall + (self._queue_now() + extra) / rate

    def target_price(self) -> float:
        """Return the redemption value in USD now."""
        base = self.params.target_asset
        scale = 1.0 if base is None else self._ctx.market.price(base)
        return self.target * scale

    def is_open(self) -> bool:
        """Return whether the issuer mints and redeems now."""
        now = self._ctx.clock.now
        if now < self._closed_until:
            return False
        return not any(start <= now < end for start, end in self.params.closed)

    def redeem_floor(self) -> float:
        """Return the market price below which redeeming pays, after fees and carry."""
        p = self.params
        carry = p.carry_per_year * self.wait_s() / YEAR_S
        return self.target_price() * (1.0 - p.redeem_fee_bps / 10_000) / (1.0 + carry)

    def mint_ceiling(self) -> float:
        """Return the market price above which minting pays."""
        return self.target_price() * (1.0 + self.params.mint_fee_bps / 10_000)

    # -- behaviour -----------------------------------------------------------------------------

    def run(self) -> ProcessGenerator:
        """Each interval (or at a move), mint or redeem as far as capacity and capital allow."""
        clock = self._ctx.clock
        market = self._ctx.market
        while True:
            yield clock.env.any_of(
                [clock.act_after(self.params.check_interval_s), market.moved(self.params.asset)]
            )
            self._release()
            if not self.is_open() or market.halted(self.params.venue):
                continue
            price = market.price(self.params.asset, self.params.venue)
            if self.params.redeem and price < self.redeem_floor():
                self._redeem(self.redeem_floor())
            elif self.params.mint and price > self.mint_ceiling():
                self._mint(self.mint_ceiling())

    def _room(self) -> float:
        now = self._ctx.clock.now
        if now - self._window_start >= self.params.capacity_interval_s:
            self._window_start, self._used = now, 0.0
        return self.params.capacity - self._used

    def _release(self) -> None:
        now = self._ctx.clock.now
        done = [p for p in self._pending if p.done_s <= now]
        if done:
            self._pending = [p for p in self._pending if p.done_s > now]
            self.stats["locked_usd"] -= sum(p.usd for p in done)

    def _cause(self) -> tuple[int, int]:
        market = self._ctx.market
        seq, span = market.last_mover(
            self.params.asset, [self.params.venue], -math.inf, excluding=self.agent_id
        )
        if self._target_cause != ROOT and self._target_cause > seq:
            return self._target_cause, 1
        return seq, max(span, 1)

    def _redeem(self, floor: float) -> None:
        market = self._ctx.market
        p = self.params
        wanted = market.quantity_for_price(p.venue, floor)
        free_capital = p.capital_usd - self.stats["locked_usd"]
        quantity = min(wanted, self._room(), free_capital / floor)
        if quantity <= 0:
            return
        cause, span = self._cause()
        fill = market.trade(p.venue, quantity, trader=self.agent_id, cause=cause, cause_span=span)
        self._used += quantity
        self.stats["redeemed"] += quantity
        value = quantity * self.target_price() * (1.0 - p.redeem_fee_bps / 10_000)
        wait = self.wait_s(quantity)
        if not math.isinf(p.queue_rate):
            self.queue = self._queue_now() + quantity
            self._queue_updated = self._ctx.clock.now
        if wait > 0:
            self._pending.append(_Pending(self._ctx.clock.now + wait, fill.notional_usd))
            self.stats["locked_usd"] += fill.notional_usd
        if p.redeem_into is not None:
            # The redemption pays `value` USD worth of the twin, which is sold at once.
            into = p.redeem_into
            twin = value / market.price(into.asset, into.venue)
            sold = market.trade(
                into.venue, -twin, trader=self.agent_id, cause=cause, cause_span=span
            )
            self.stats["into_sold"] += sold.notional_usd

    def _mint(self, ceiling: float) -> None:
        market = self._ctx.market
        p = self.params
        wanted = -market.quantity_for_price(p.venue, ceiling)
        quantity = min(wanted, self._room())
        if quantity <= 0:
            return
        cause, span = self._cause()
        market.trade(p.venue, -quantity, trader=self.agent_id, cause=cause, cause_span=span)
        self._used += quantity
        self.stats["minted"] += quantity


def build(ctx: SimContext, spec: ComponentSpec, params: PegParams, where: str) -> PegArbitrage:
    """Build a `PegArbitrage` from its scenario entry."""
    del where
    return PegArbitrage(ctx, spec.id, params)
