"""A forced seller: someone who must sell a fixed quantity of a token on a schedule, whatever the
price (issue 8: Celsius and Three Arrows unwinding stETH in June 2022, crashes §6; Anchor
depositors leaving UST in May 2022, crashes §5).

Each tranche sells `quantity` tokens evenly over ``[start_s, end_s)``, one slice every
`interval_s`. A forced seller does not wait for a better price: the only things that stop a slice
are a halted venue (the slice is carried into the next one) and an optional `limit_price` (a
seller who would rather hold than sell below it; unsold tokens are carried as well and counted
as ``unsold`` at the end of the tranche window). With ``side = "buy"`` the same schedule buys
instead: a defender that must spend a budget on a timetable (the Luna Foundation Guard buying
UST with its reserves, crashes §5); its limit is then a price it will not pay more than.
The trades are exogenous decisions, so each names the root as its cause; everything they move
(a pool's price, the oracle that watches it, the liquidations that follow) names the trade.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protosim.clock import ProcessGenerator
from protosim.context import SimContext
from protosim.events import ROOT
from protosim.registry import ComponentType, Registry
from protosim.scenario import ComponentSpec


class Tranche(BaseModel):
    """`quantity` tokens sold evenly between `start_s` and `end_s` (seconds from the start)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_s: float = Field(ge=0, allow_inf_nan=False)
    end_s: float = Field(gt=0, allow_inf_nan=False)
    quantity: float = Field(gt=0, allow_inf_nan=False)
    """Tokens to trade (a positive number; the side is the agent's)."""

    @model_validator(mode="after")
    def _ordered(self) -> Tranche:
        if not self.end_s > self.start_s:
            raise ValueError(f"expected end_s > start_s, was {self.end_s} <= {self.start_s}")
        return self


class ForcedSellerParams(BaseModel):
    """Parameters of a forced seller."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    venue: str
    """Trading venue the tokens are sold on."""
    tranches: tuple[Tranche, ...] = Field(min_length=1)
    side: Literal["sell", "buy"] = "sell"
    """Sell the tranches (a forced seller) or buy them (a scheduled defender)."""
    interval_s: float = Field(default=600.0, gt=0, allow_inf_nan=False)
    """Spacing of the slices within a tranche."""
    limit_price: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Do not sell while the venue's price is below this (buy: above it); None: any price."""


def slice_sizes(quantity: float, start_s: float, end_s: float, interval_s: float) -> list[float]:
    """Return the sizes of the slices one tranche is sold in.

    A tranche of `quantity` over ``[start_s, end_s)`` is cut into ``ceil((end − start) /
    interval)`` equal slices, so the whole quantity is offered before `end_s`.

    Parameters
    ----------
    quantity : float
        Tokens in the tranche.
    start_s, end_s : float
        The tranche's window, seconds from the start.
    interval_s : float
        Spacing of the slices.

    Returns
    -------
    list of float
        One size per slice, slice ``i`` due at ``start_s + i · interval_s``.

    Examples
    --------
    >>> slice_sizes(60.0, 0.0, 3_600.0, 600.0)
    [10.0, 10.0, 10.0, 10.0, 10.0, 10.0]
    >>> slice_sizes(10.0, 0.0, 1_000.0, 600.0)  # a short last interval still gets a slice
    [5.0, 5.0]
    """
    count = max(1, math.ceil((end_s - start_s) / interval_s - 1e-9))
    return [quantity / count] * count


class ForcedSeller:
    """Sells its tranches on one venue on schedule; carries what a halt or its limit blocked.

    Parameters
    ----------
    ctx : SimContext
        The run's context.
    agent_id : str
        The agent's id (the ``trader`` of its trades).
    params : ForcedSellerParams
        Venue, tranches, slice spacing and optional limit.
    """

    def __init__(self, ctx: SimContext, agent_id: str, params: ForcedSellerParams) -> None:
        if params.venue not in ctx.market.venues:
            raise KeyError(f"venue: {params.venue!r} is not a trading venue of the scenario")
        self.agent_id = agent_id
        self.params = params
        self._ctx = ctx
        self.stats = {"sold": 0.0, "proceeds_usd": 0.0, "unsold": 0.0, "blocked_slices": 0.0}
        """For a buyer, ``sold`` counts tokens bought and ``proceeds_usd`` the USD paid."""

    def start(self) -> None:
        """Start one selling process per tranche."""
        for i, tranche in enumerate(self.params.tranches):
            self._ctx.clock.start(f"agent.{self.agent_id}.{i}", self._sell(tranche))

    def metrics(self) -> dict[str, float]:
        """Return tokens sold, their proceeds, tokens left unsold and slices blocked."""
        return dict(self.stats)

    def _sell(self, tranche: Tranche) -> ProcessGenerator:
        clock = self._ctx.clock
        market = self._ctx.market
        p = self.params
        sizes = slice_sizes(tranche.quantity, tranche.start_s, tranche.end_s, p.interval_s)
        if tranche.start_s > clock.now:
            yield clock.act_after(tranche.start_s - clock.now)
        carried = 0.0
        for i, size in enumerate(sizes):
            due = tranche.start_s + i * p.interval_s
            if due > clock.now:
                yield clock.act_after(due - clock.now)
            wanted = carried + size
            venue = market.venues[p.venue]
            price = market.price(venue.asset, p.venue)
            buying = p.side == "buy"
            beyond_limit = p.limit_price is not None and (
                price > p.limit_price if buying else price < p.limit_price
            )
            if market.halted(p.venue) or beyond_limit:
                carried = wanted
                self.stats["blocked_slices"] += 1
                continue
            signed = wanted if buying else -wanted
            fill = market.trade(p.venue, signed, trader=self.agent_id, cause=ROOT)
            self.stats["sold"] += wanted
            self.stats["proceeds_usd"] += fill.notional_usd
            carried = 0.0
        self.stats["unsold"] += carried


def build(
    ctx: SimContext, spec: ComponentSpec, params: ForcedSellerParams, where: str
) -> ForcedSeller:
    """Build a `ForcedSeller` from its scenario entry."""
    del where
    return ForcedSeller(ctx, spec.id, params)


def register(registry: Registry) -> None:
    """Register ``agent.forced_seller`` in `registry`."""
    registry.register(
        ComponentType(
            kind="agent.forced_seller",
            role="agent",
            params=ForcedSellerParams,
            build=build,
            description="Forced seller: sells fixed tranches on a venue on schedule, any price",
        )
    )
