"""Portfolio risk across venues: spot holdings, lending positions and perps held by one owner.

Questions a trader asks in a crash, answered at first order (each position on its own venue's
rules, prices moved, no market impact from the portfolio itself):

- where is each position liquidated if one asset moves (`liquidation_prices`), and how far is
  that (`headroom`)?
- does the portfolio survive a scenario or a replay, and what does it lose (`check`)?
- how large can a position be for a scenario to cost at most a share of capital (`size_for`)?
- does a hedge help: a spot long with a perp short of a chosen ratio (`hedge_analysis`)?

Rules: lending health factor ``Σ c·P·LT / Σ d·P`` (mechanics §0.1), liquidated below 1 with the
liquidation bonus as the penalty on the debt repaid; perp margin and liquidation price from
`protosim.protocols.perps.math` (Binance and Hyperliquid tier tables, mechanics §5–6), a
liquidated isolated position losing its margin.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from protosim.errors import ScenarioError
from protosim.protocols.perps.math import (
    BINANCE_BTCUSDT,
    HYPERLIQUID_TABLES,
    MarginTable,
    liquidation_price,
    maintenance_margin_many,
)
from protosim.scenario import read_toml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpotPosition(_Strict):
    """Tokens held outright (negative: borrowed and sold short off-venue)."""

    kind: Literal["spot"]
    asset: str
    quantity: float = Field(allow_inf_nan=False)


class LendingPosition(_Strict):
    """A borrow on a lending venue: collateral and debt per asset, in tokens."""

    kind: Literal["lending"]
    venue: str
    collateral: dict[str, float] = Field(min_length=1)
    debt: dict[str, float] = Field(default_factory=dict)
    liquidation_threshold: dict[str, float]
    """Per collateral asset, as a fraction (0.83 for WETH on Aave v3 Core, mechanics §1.7)."""
    liquidation_bonus: float = Field(default=1.05, ge=1.0, le=2.0)

    @model_validator(mode="after")
    def _thresholds(self) -> LendingPosition:
        missing = sorted(set(self.collateral) - set(self.liquidation_threshold))
        if missing:
            raise ValueError(f"liquidation_threshold: expected a value for {missing}")
        for asset, lt in self.liquidation_threshold.items():
            if not 0 < lt <= 1:
                raise ValueError(f"liquidation_threshold.{asset}: expected 0 < LT <= 1, was {lt}")
        for table in (self.collateral, self.debt):
            for asset, amount in table.items():
                if amount < 0:
                    raise ValueError(f"{asset}: expected an amount >= 0, was {amount}")
        return self


class PerpPosition(_Strict):
    """A perpetual futures position margined in isolation (or alone in a cross account)."""

    kind: Literal["perp"]
    venue: str
    asset: str
    size: float = Field(allow_inf_nan=False)
    """Signed quantity: positive long, negative short."""
    entry_price: float = Field(gt=0, allow_inf_nan=False)
    margin_usd: float = Field(gt=0, allow_inf_nan=False)
    """Isolated margin, or the cross wallet balance of an account holding only this position."""
    table: str = "hyperliquid"
    """``hyperliquid`` (the asset's Hyperliquid tiers), ``binance:BTCUSDT``, or ``flat:0.005``."""

    @model_validator(mode="after")
    def _nonzero(self) -> PerpPosition:
        if self.size == 0:
            raise ValueError("size: expected a non-zero position")
        margin_table(self)  # fails early on an unknown table
        return self


Position = Annotated[SpotPosition | LendingPosition | PerpPosition, Field(discriminator="kind")]


class Portfolio(_Strict):
    """One owner's positions across venues, and the prices they are marked at now."""

    name: str = "portfolio"
    capital_usd: float | None = Field(default=None, gt=0)
    prices: dict[str, float] = Field(default_factory=dict)
    positions: tuple[Position, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _priced(self) -> Portfolio:
        for asset in sorted(assets_of(self)):
            price = self.prices.get(asset)
            if price is not None and not price > 0:
                raise ValueError(f"prices.{asset}: expected a price > 0, was {price}")
        return self

    @classmethod
    def from_toml(cls, path: str | Path) -> Portfolio:
        """Load and validate a portfolio file; errors name the file and the key path."""
        path = Path(path)
        data = read_toml(path)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            key = ".".join(str(p) for p in err["loc"] if p not in {"spot", "lending", "perp"})
            raise ScenarioError(
                str(err["msg"]).removeprefix("Value error, "), file=path, key_path=key
            ) from None

    def with_prices(self, prices: Mapping[str, float]) -> Portfolio:
        """Return a copy marked at `prices` (merged over the current ones)."""
        return self.model_copy(update={"prices": {**self.prices, **prices}})

    def scaled(self, index: int, factor: float) -> Portfolio:
        """Return a copy with position `index` multiplied by `factor` (sizes, amounts, margin)."""
        position = self.positions[index]
        changed: Any
        if isinstance(position, SpotPosition):
            changed = position.model_copy(update={"quantity": position.quantity * factor})
        elif isinstance(position, LendingPosition):
            changed = position.model_copy(
                update={
                    "collateral": {a: q * factor for a, q in position.collateral.items()},
                    "debt": {a: q * factor for a, q in position.debt.items()},
                }
            )
        else:
            changed = position.model_copy(
                update={"size": position.size * factor, "margin_usd": position.margin_usd * factor}
            )
        positions = list(self.positions)
        positions[index] = changed
        return self.model_copy(update={"positions": tuple(positions)})


def assets_of(portfolio: Portfolio) -> set[str]:
    """Return every asset the portfolio's positions depend on."""
    out: set[str] = set()
    for p in portfolio.positions:
        if isinstance(p, SpotPosition | PerpPosition):
            out.add(p.asset)
        else:
            out |= set(p.collateral) | set(p.debt)
    return out


def margin_table(position: PerpPosition) -> MarginTable:
    """Return the tier table a perp position is margined with."""
    spec = position.table
    if spec == "hyperliquid":
        table = HYPERLIQUID_TABLES.get(position.asset)
        if table is None:
            raise ValueError(f"table: no Hyperliquid tiers for {position.asset!r}")
        return table
    if spec == "binance:BTCUSDT":
        return BINANCE_BTCUSDT
    if spec.startswith("flat:"):
        mmr = float(spec.removeprefix("flat:"))
        if not 0 < mmr < 1:
            raise ValueError(f"table: expected 0 < flat mmr < 1, was {mmr}")
        return MarginTable.from_brackets(spec, [(0.0, 1.0 / (2 * mmr), mmr)])
    raise ValueError(f"table: expected hyperliquid, binance:BTCUSDT or flat:<mmr>, was {spec!r}")


# -- state of each position on a grid of prices ------------------------------------------------


def _column(prices: Mapping[str, NDArray[np.float64]], asset: str) -> NDArray[np.float64]:
    try:
        return prices[asset]
    except KeyError:
        raise ScenarioError(f"no price for {asset!r}", key_path=f"prices.{asset}") from None


def health(position: Position, prices: Mapping[str, NDArray[np.float64]]) -> NDArray[np.float64]:
    """Return the position's health on price grids (liquidated below 1; spot: infinite).

    Lending: the health factor. Perp: equity over maintenance margin.
    """
    if isinstance(position, SpotPosition):
        return np.full_like(_column(prices, position.asset), np.inf)
    if isinstance(position, LendingPosition):
        weighted = sum(
            q * _column(prices, a) * position.liquidation_threshold[a]
            for a, q in position.collateral.items()
        )
        debt = sum(q * _column(prices, a) for a, q in position.debt.items())
        with np.errstate(divide="ignore", invalid="ignore"):
            out: NDArray[np.float64] = np.where(
                np.asarray(debt) > 0, np.asarray(weighted) / np.asarray(debt), np.inf
            )
        return out
    p = _column(prices, position.asset)
    equity = position.margin_usd + position.size * (p - position.entry_price)
    mm = maintenance_margin_many(abs(position.size) * p, margin_table(position))
    with np.errstate(divide="ignore"):
        result: NDArray[np.float64] = np.where(mm > 0, equity / mm, np.inf)
    return result


def value(position: Position, prices: Mapping[str, NDArray[np.float64]]) -> NDArray[np.float64]:
    """Return the position's equity in USD on price grids (collateral − debt; perp margin + PnL)."""
    if isinstance(position, SpotPosition):
        return position.quantity * _column(prices, position.asset)
    if isinstance(position, LendingPosition):
        coll = sum(q * _column(prices, a) for a, q in position.collateral.items())
        debt = sum(q * _column(prices, a) for a, q in position.debt.items())
        return np.asarray(coll - debt, dtype=np.float64)
    p = _column(prices, position.asset)
    return position.margin_usd + position.size * (p - position.entry_price)


def liquidation_loss(
    position: Position, prices: Mapping[str, NDArray[np.float64]]
) -> NDArray[np.float64]:
    """Return what a liquidation at these prices costs the owner beyond the price move.

    Lending: the bonus on the debt that collateral can repay, ``(LB − 1) · min(debt, coll/LB)``.
    Perp: the remaining equity, which the venue keeps (insurance fund) when it closes the
    position. Spot: nothing.
    """
    if isinstance(position, SpotPosition):
        return np.zeros_like(_column(prices, position.asset))
    if isinstance(position, LendingPosition):
        coll = sum(q * _column(prices, a) for a, q in position.collateral.items())
        debt = sum(q * _column(prices, a) for a, q in position.debt.items())
        repaid = np.minimum(np.asarray(debt), np.asarray(coll) / position.liquidation_bonus)
        return np.asarray((position.liquidation_bonus - 1.0) * repaid, dtype=np.float64)
    return np.maximum(value(position, prices), 0.0)


# -- questions ----------------------------------------------------------------------------------


def _grid(portfolio: Portfolio) -> dict[str, NDArray[np.float64]]:
    missing = sorted(assets_of(portfolio) - set(portfolio.prices))
    if missing:
        raise ScenarioError(f"expected prices for {missing}", key_path="prices")
    return {a: np.array([p]) for a, p in portfolio.prices.items()}


def position_liquidation_price(
    position: Position, asset: str, prices: Mapping[str, float]
) -> float:
    """Return the price of `asset` (others fixed) at which `position` is liquidated; NaN if no
    price of `asset` liquidates it (or it does not depend on `asset`).
    """
    if isinstance(position, SpotPosition):
        return math.nan
    if isinstance(position, PerpPosition):
        if position.asset != asset:
            return math.nan
        price = liquidation_price(
            constant=position.margin_usd - position.size * position.entry_price,
            size=position.size,
            table=margin_table(position),
        )
        return price if price > 0 else math.nan
    # HF(p) = (A + a·p) / (B + b·p) = 1  ⇔  p = (B − A) / (a − b)   (§0.1, linear in one price)
    a = position.collateral.get(asset, 0.0) * position.liquidation_threshold.get(asset, 0.0)
    b = position.debt.get(asset, 0.0)
    if a == b:
        return math.nan
    others = {k: v for k, v in prices.items() if k != asset}
    big_a = sum(
        q * others[x] * position.liquidation_threshold[x]
        for x, q in position.collateral.items()
        if x != asset
    )
    big_b = sum(q * others[x] for x, q in position.debt.items() if x != asset)
    price = (big_b - big_a) / (a - b)
    return price if price > 0 else math.nan


def liquidation_prices(portfolio: Portfolio, asset: str) -> Any:
    """Return, per position, the price of `asset` that liquidates it and the move from now."""
    import pandas as pd

    now = portfolio.prices[asset]
    rows = []
    for i, position in enumerate(portfolio.positions):
        price = position_liquidation_price(position, asset, portfolio.prices)
        rows.append(
            {
                "position": i,
                "kind": position.kind,
                "venue": getattr(position, "venue", ""),
                "asset": asset,
                "liquidation_price": price,
                "move": price / now - 1.0 if math.isfinite(price) else math.nan,
            }
        )
    return pd.DataFrame(rows)


def headroom(portfolio: Portfolio) -> Any:
    """Return each position's health, its USD above the liquidation line and its equity."""
    import pandas as pd

    grid = _grid(portfolio)
    rows = []
    for i, position in enumerate(portfolio.positions):
        h = float(health(position, grid)[0])
        v = float(value(position, grid)[0])
        if isinstance(position, LendingPosition):
            weighted = sum(
                q * portfolio.prices[a] * position.liquidation_threshold[a]
                for a, q in position.collateral.items()
            )
            debt = sum(q * portfolio.prices[a] for a, q in position.debt.items())
            usd = weighted - debt
        elif isinstance(position, PerpPosition):
            notional = abs(position.size) * portfolio.prices[position.asset]
            mm = float(maintenance_margin_many(notional, margin_table(position)))
            usd = v - mm
        else:
            usd = math.inf
        rows.append(
            {
                "position": i,
                "kind": position.kind,
                "health": h,
                "headroom_usd": usd,
                "equity_usd": v,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """How a portfolio fares along a price path."""

    liquidations: Any
    """Per position: first time (s) it is liquidated, or NaN, and the price then."""
    pnl: NDArray[np.float64]
    """Portfolio profit and loss (USD) at each time of the path."""
    times: NDArray[np.float64]

    @property
    def worst_loss_usd(self) -> float:
        """The largest loss along the path (0 if it never loses)."""
        return float(max(0.0, -self.pnl.min()))

    @property
    def final_pnl_usd(self) -> float:
        """Profit and loss at the end of the path."""
        return float(self.pnl[-1])


def check(
    portfolio: Portfolio, times: NDArray[np.float64], paths: Mapping[str, NDArray[np.float64]]
) -> CheckResult:
    """Walk the portfolio along price `paths` (asset → prices at `times`).

    A position liquidated at a time keeps, from then on, its value at that time less the
    liquidation loss (it is closed). Prices absent from `paths` stay at the portfolio's own.
    """
    import pandas as pd

    n = len(times)
    grid = {a: np.full(n, p) for a, p in portfolio.prices.items()}
    grid.update({a: np.asarray(p, dtype=np.float64) for a, p in paths.items()})
    start = {a: v[:1] for a, v in grid.items()}
    total = np.zeros(n)
    rows = []
    for i, position in enumerate(portfolio.positions):
        h = health(position, grid)
        v = value(position, grid)
        below = np.flatnonzero(h < 1.0)
        if below.size:
            k = int(below[0])
            closed = (
                v[k] - liquidation_loss(position, {a: g[k : k + 1] for a, g in grid.items()})[0]
            )
            v = np.concatenate([v[:k], np.full(n - k, closed)])
            rows.append(
                {
                    "position": i,
                    "kind": position.kind,
                    "liquidated_at_s": float(times[k]),
                    "price": _main_price(position, grid, k),
                }
            )
        else:
            rows.append(
                {
                    "position": i,
                    "kind": position.kind,
                    "liquidated_at_s": math.nan,
                    "price": math.nan,
                }
            )
        total += v - value(position, start)[0]
    return CheckResult(pd.DataFrame(rows), total, np.asarray(times, dtype=np.float64))


def _main_price(position: Position, grid: Mapping[str, NDArray[np.float64]], k: int) -> float:
    asset = (
        position.asset
        if isinstance(position, SpotPosition | PerpPosition)
        else next(iter(position.collateral))
    )
    return float(grid[asset][k])


def scenario_paths(
    scenario: Any, *, seed: int | None = None, resolution_s: float | None = None
) -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]]]:
    """Return times and reference prices of every asset of `scenario` (path and price shocks),
    every `resolution_s` seconds (default: the finest path spacing, at least 1 s, so a replay's
    recorded lows are on the grid): the market a portfolio is checked against, without impact.
    """
    from protosim.engine import Simulation
    from protosim.scenario import PriceJumpSpec

    sim = Simulation(scenario, seed=seed)
    market = sim.context.market
    if resolution_s is None:
        resolution_s = max(1.0, min(market.path(a).dt_s for a in market.assets))
    times = np.arange(0.0, scenario.horizon_s, resolution_s)
    paths = {}
    for asset in market.assets:
        prices = market.path(asset).prices_at(times)
        log_move = np.zeros_like(times)
        for i, shock in enumerate(scenario.shocks):
            if isinstance(shock, PriceJumpSpec) and shock.asset == asset:
                start = scenario.shock_time(i)
                frac = (
                    np.clip((times - start) / shock.duration_s, 0, 1)
                    if shock.duration_s
                    else (times >= start).astype(float)
                )
                log_move += math.log(1.0 + shock.change) * frac
        paths[asset] = prices * np.exp(log_move)
    return times, paths


def size_for(
    portfolio: Portfolio,
    index: int,
    times: NDArray[np.float64],
    paths: Mapping[str, NDArray[np.float64]],
    *,
    max_loss_fraction: float,
    upper: float = 100.0,
    tolerance: float = 1e-4,
) -> float:
    """Return the largest multiple of position `index` whose worst loss along the paths is at
    most `max_loss_fraction` of the portfolio's capital (bisection on the multiple).
    """
    if portfolio.capital_usd is None:
        raise ScenarioError("position sizing needs capital_usd", key_path="capital_usd")
    budget = max_loss_fraction * portfolio.capital_usd

    def loss(factor: float) -> float:
        return check(portfolio.scaled(index, factor), times, paths).worst_loss_usd

    if loss(upper) <= budget:
        return upper
    low, high = 0.0, upper
    while high - low > tolerance * upper:
        mid = (low + high) / 2
        low, high = (mid, high) if loss(mid) <= budget else (low, mid)
    return low


def hedge_analysis(
    *,
    asset: str,
    quantity: float,
    price: float,
    hedge_ratio: float,
    margin_usd: float,
    table: str = "hyperliquid",
    venue: str = "perp",
    times: NDArray[np.float64],
    paths: Mapping[str, NDArray[np.float64]],
) -> Any:
    """Compare a spot long of `quantity` with and without a perp short of ``hedge_ratio ×
    quantity`` margined with `margin_usd`: liquidation point of the short and loss along the
    paths.
    """
    import pandas as pd

    spot = SpotPosition(kind="spot", asset=asset, quantity=quantity)
    unhedged = Portfolio(prices={asset: price}, positions=(spot,))
    rows = []
    for label, portfolio in (("unhedged", unhedged), ("hedged", None)):
        if portfolio is None:
            short = PerpPosition(
                kind="perp",
                venue=venue,
                asset=asset,
                size=-hedge_ratio * quantity,
                entry_price=price,
                margin_usd=margin_usd,
                table=table,
            )
            portfolio = Portfolio(prices={asset: price}, positions=(spot, short))
        result = check(portfolio, times, paths)
        liq = liquidation_prices(portfolio, asset)
        perp_liq = liq.loc[liq["kind"] == "perp", "liquidation_price"]
        rows.append(
            {
                "case": label,
                "hedge_ratio": 0.0 if label == "unhedged" else hedge_ratio,
                "short_liquidation_price": float(perp_liq.iloc[0]) if len(perp_liq) else math.nan,
                "short_liquidated_at_s": float(result.liquidations["liquidated_at_s"].iloc[-1])
                if label == "hedged"
                else math.nan,
                "worst_loss_usd": result.worst_loss_usd,
                "final_pnl_usd": result.final_pnl_usd,
            }
        )
    return pd.DataFrame(rows)


def load_paths_for(
    portfolio: Portfolio, scenario: Any, seed: int | None = None
) -> tuple[Portfolio, NDArray[np.float64], dict[str, NDArray[np.float64]]]:
    """Mark `portfolio` at the scenario's t = 0 prices where it has none; return it with the
    scenario's reference paths.
    """
    times, paths = scenario_paths(scenario, seed=seed)
    start = {a: float(p[0]) for a, p in paths.items() if a not in portfolio.prices}
    return portfolio.with_prices(start), times, paths


__all__ = [
    "CheckResult",
    "LendingPosition",
    "PerpPosition",
    "Portfolio",
    "SpotPosition",
    "check",
    "headroom",
    "hedge_analysis",
    "liquidation_prices",
    "position_liquidation_price",
    "scenario_paths",
    "size_for",
]
