"""Scenario parameters of the perp venues: markets, margin tables, collateral, the liquidation
ladder, funding, and the synthetic or explicit accounts a venue starts with.

Three kinds share one model, each with its venue's defaults (mechanics §5, §6, §11.2, §14):

- `HyperliquidParams` (``perps.hyperliquid``): maintenance margin is half the initial margin at
  the tier's maximum leverage, the Hyperliquid mark (§5.3), hourly funding capped at 4 %/h, no
  clearance fee, the partial-liquidation ladder ($100k, 20 %, 30 s), the liquidator-vault
  backstop below 2/3 of the maintenance margin, then ADL ranked by the docs' sorting index.
- `BinanceParams` (``perps.binance``): USDⓈ-M brackets with their maintenance amounts, the
  Binance mark (§6.4), 8-hour funding, a clearance fee to the insurance fund, Binance's ADL
  ranking, and unified (portfolio) margin when collateral assets are listed: liquidation at
  ``uniMMR ≤ 1.05`` (§6.5) with each collateral asset priced by the oracle the scenario names
  (its own spot book, or a redemption or conversion index; §6.6).
- `CexPerpParams` (``perps.cex``): a generic exchange (Bybit/OKX-like): index mark, 8-hour
  funding, clearance fee, insurance fund, the classic ``PnL% × leverage`` ADL queue.

Every amount is USD (the venue's quote stablecoin); every rate a fraction.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protosim.errors import KeyedValueError
from protosim.protocols.distributions import LognormalUsd, UniformRange
from protosim.protocols.perps.adl import AdlPolicy
from protosim.protocols.perps.math import (
    BINANCE_BTCUSDT,
    BINANCE_BTCUSDT_2021,
    HYPERLIQUID_TABLES,
    MarginTable,
    MarginTier,
)

__all__ = [
    "TABLE_PRESETS",
    "AccountParams",
    "BackstopParams",
    "BinanceParams",
    "CexPerpParams",
    "CollateralParams",
    "FundingParams",
    "HyperliquidParams",
    "LognormalUsd",
    "PartialLiquidationParams",
    "PerpMarketParams",
    "PerpPopulationParams",
    "PerpVenueParams",
    "PositionParams",
    "TierParams",
    "UniformRange",
]

TABLE_PRESETS: dict[str, MarginTable] = {
    **{table.name: table for table in HYPERLIQUID_TABLES.values()},
    BINANCE_BTCUSDT.name: BINANCE_BTCUSDT,
    BINANCE_BTCUSDT_2021.name: BINANCE_BTCUSDT_2021,
}
"""Margin tables a market can name by ``table``: ``hyperliquid.<COIN>`` (mechanics §5.4),
``binance.BTCUSDT`` (§6.1 snapshot) and ``binance.BTCUSDT.2021-03-18`` (the FAQ's table)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierParams(_Strict):
    """One row of a margin table: notional floor, maximum leverage and maintenance rate.

    ``mmr`` left out means Hyperliquid's rule, half the initial margin at the tier's maximum
    leverage: ``1 / (2 · max_leverage)`` (mechanics §5.2).
    """

    floor: float = Field(ge=0, allow_inf_nan=False)
    max_leverage: float = Field(ge=1, allow_inf_nan=False)
    mmr: float | None = Field(default=None, gt=0, lt=1)


class CollateralParams(_Strict):
    """A unified-margin collateral asset: how the venue prices it, haircuts it and sells it."""

    oracle: str
    """Index the venue values the asset by: its own spot book (an internal-book feed), or a
    redemption or conversion-ratio index (mechanics §6.6)."""
    collateral_rate: float = Field(default=0.95, gt=0, le=1)
    """Haircut applied to positive balances in the unified equity (§6.5; ≈0.95 for wBETH-like
    assets before October 2025)."""
    book: str | None = None
    """Trading venue the venue sells the asset on when it liquidates an account (its own spot
    book); None converts at the index price without a trade."""


class FundingParams(_Strict):
    """Funding: the formula, the interval and its clamps (mechanics §5.3, §6.4)."""

    rule: Literal["hyperliquid", "binance"]
    """``hyperliquid``: 8-hour rate paid hourly at 1/8, capped per hour, on the oracle price;
    ``binance``: the interval's rate from the premium, on the mark price."""
    interval_s: float = Field(gt=0, le=8 * 3600.0)
    interest_rate: float = Field(default=0.0001, allow_inf_nan=False)
    """``I`` per 8 hours."""
    clamp: float = Field(default=0.0005, ge=0, allow_inf_nan=False)
    cap: float | None = Field(default=None, gt=0)
    """Hyperliquid: cap per hour (0.04); Binance: the symbol's cap per interval, or None."""


class PartialLiquidationParams(_Strict):
    """Hyperliquid's ladder: positions above a notional go to the book in slices (§5.2)."""

    min_notional_usd: float = Field(default=100_000.0, gt=0, allow_inf_nan=False)
    fraction: float = Field(default=0.2, gt=0, le=1)
    cooldown_s: float = Field(default=30.0, ge=0, allow_inf_nan=False)
    """After a partial liquidation, a further market liquidation within this time is full."""


class BackstopParams(_Strict):
    """A liquidator vault that takes over accounts the book did not save (Hyperliquid's HLP)."""

    equity_fraction_of_mm: float = Field(default=2.0 / 3.0, gt=0, le=1)
    """The vault takes over when equity falls below this share of the maintenance margin."""
    vault_usd: float = Field(default=50_000_000.0, ge=0, allow_inf_nan=False)
    """The vault's capital at the start."""
    min_equity_usd: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    """The vault takes no account whose deficit would leave it below this equity."""
    unwind_half_life_s: float = Field(default=60.0, ge=0, allow_inf_nan=False)
    """The vault closes what it took into the book with this half-life (0: at once)."""


class PerpPopulationParams(_Strict):
    """A synthetic group of accounts, drawn from the venue's random stream.

    Each account holds one position in each of `markets` (several markets make a cross
    account with several positions). Notionals are drawn per position and scaled so the
    population's total is `notional_usd` when it is given; leverage (total notional over
    equity at the starting marks) is drawn per account and capped at the tier's maximum
    leverage; each position is long with probability `long_share`; entries are the starting
    mark times ``exp(N(0, entry_dispersion))``, so accounts start with unrealized PnL.
    """

    accounts: int = Field(gt=0, le=50_000_000)
    markets: tuple[str, ...] = Field(min_length=1)
    position_usd: LognormalUsd | UniformRange = Field(discriminator="kind")
    notional_usd: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Total notional of the population's positions (open interest of both sides)."""
    leverage: UniformRange
    long_share: float = Field(default=0.5, ge=0, le=1)
    margin_mode: Literal["cross", "isolated"] = "cross"
    entry_dispersion: float = Field(default=0.0, ge=0, le=1)
    collateral: dict[str, float] = Field(default_factory=dict)
    """Unified margin: share of each account's equity held in each collateral asset (valued
    after its haircut); the rest is USD."""

    @model_validator(mode="after")
    def _consistent(self) -> PerpPopulationParams:
        if self.margin_mode == "isolated" and len(self.markets) != 1:
            raise KeyedValueError(
                "margin_mode",
                f"an isolated position has one market, was {len(self.markets)} markets",
            )
        if self.margin_mode == "isolated" and self.collateral:
            raise KeyedValueError(
                "collateral", "unified collateral backs cross positions, not isolated ones"
            )
        for asset, share in self.collateral.items():
            if not 0 < share <= 1:
                raise KeyedValueError(
                    f"collateral.{asset}", f"expected 0 < share <= 1, was {share}"
                )
        if sum(self.collateral.values()) > 1 + 1e-12:
            raise KeyedValueError(
                "collateral",
                f"expected shares summing to <= 1, was {sum(self.collateral.values())}",
            )
        return self


class PositionParams(_Strict):
    """One explicit position of an explicit account."""

    market: str
    size: float = Field(allow_inf_nan=False)
    """Signed base quantity (positive long); non-zero."""
    entry_price: float = Field(gt=0, allow_inf_nan=False)
    isolated_margin: float | None = Field(default=None, allow_inf_nan=False)
    """Margin of an isolated position (USD); None: the position is cross."""

    @model_validator(mode="after")
    def _open(self) -> PositionParams:
        if self.size == 0:
            raise KeyedValueError("size", "expected a non-zero size")
        return self


class AccountParams(_Strict):
    """One explicit account: its USD wallet, collateral balances and positions."""

    wallet_usd: float = Field(default=0.0, allow_inf_nan=False)
    """Cross wallet balance (deposits plus realized PnL), USD."""
    collateral: dict[str, float] = Field(default_factory=dict)
    """Unified margin: quantity held of each collateral asset (>= 0)."""
    positions: tuple[PositionParams, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> AccountParams:
        for asset, quantity in self.collateral.items():
            if not quantity >= 0:
                raise KeyedValueError(f"collateral.{asset}", f"expected >= 0, was {quantity}")
        seen: set[str] = set()
        for i, position in enumerate(self.positions):
            if position.market in seen:
                raise KeyedValueError(
                    f"positions[{i}].market",
                    f"one position per market and account, {position.market!r} is repeated",
                )
            seen.add(position.market)
        return self


class PerpMarketParams(_Strict):
    """One perpetual market: underlying, index, liquidation book and margin table."""

    asset: str
    """The underlying asset (as the scenario's market prices it)."""
    index_oracle: str
    """Index feed the mark is computed from (Hyperliquid's oracle, Binance's index)."""
    book: str
    """Trading venue (of `asset`) the venue sends liquidation orders to; its price is the
    perp's own book mid in the mark formulas."""
    cex_perp_books: tuple[str, ...] = ()
    """Trading venues of `asset` standing for other exchanges' perp books: with
    ``mark = "hyperliquid"`` the median of their mids is the mark's third input (mechanics §5.3,
    "median of CEX perp mids"). Empty: only two inputs exist and §5.3's 30 s EMA of the book mid
    takes its place."""
    table: str | None = None
    """A preset margin table (`TABLE_PRESETS`); or give `tiers`."""
    tiers: tuple[TierParams, ...] | None = None
    liquidation_fee_rate: float | None = Field(default=None, ge=0, lt=1)
    """Clearance fee on the liquidated amount; None: the venue's default."""

    @model_validator(mode="after")
    def _one_table(self) -> PerpMarketParams:
        if (self.table is None) == (self.tiers is None):
            raise KeyedValueError("table", "expected exactly one of table and tiers")
        if self.table is not None and self.table not in TABLE_PRESETS:
            raise KeyedValueError(
                "table", f"expected one of {sorted(TABLE_PRESETS)}, was {self.table!r}"
            )
        if self.tiers is not None:
            try:
                self.margin_table()
            except ValueError as exc:
                raise KeyedValueError("tiers", str(exc)) from None
        return self

    def margin_table(self) -> MarginTable:
        """Return the market's `MarginTable` (the preset, or the tiers given)."""
        if self.table is not None:
            return TABLE_PRESETS[self.table]
        assert self.tiers is not None  # one of the two, checked on validation
        rows = tuple(
            MarginTier(
                floor=t.floor,
                max_leverage=t.max_leverage,
                mmr=t.mmr if t.mmr is not None else 1.0 / (2.0 * t.max_leverage),
            )
            for t in self.tiers
        )
        return MarginTable(rows, f"{self.asset}.custom")


class PerpVenueParams(_Strict):
    """What every perp venue has; the three kinds differ only in their defaults."""

    markets: dict[str, PerpMarketParams] = Field(min_length=1)
    collateral: dict[str, CollateralParams] = Field(default_factory=dict)
    risk_interval_s: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    """Cadence of mark updates and risk checks."""
    mark: Literal["index", "hyperliquid", "binance"] = "index"
    """``index``: mark = index; ``hyperliquid``: §5.3's median of oracle + 150 s EMA basis, the
    book mid and the median of the market's ``cex_perp_books`` mids (a 30 s EMA of the mid
    where it names none); ``binance``: §6.4's median of the funding-basis index,
    index + 30 s mean basis, and the book price."""
    funding: FundingParams = FundingParams(rule="binance", interval_s=8 * 3600.0)
    liquidation_fee_rate: float = Field(default=0.005, ge=0, lt=1)
    """Clearance fee on the liquidated amount, to the insurance fund (Binance FAQ)."""
    partial: PartialLiquidationParams | None = None
    backstop: BackstopParams | None = None
    insurance_fund_usd: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    insurance_max_position_ratio: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    """Largest notional the fund takes over, as a multiple of its balance (Binance: 100 %)."""
    adl_policy: AdlPolicy = AdlPolicy.CLASSIC
    liquidation_unimmr: float = Field(default=1.05, ge=1, allow_inf_nan=False)
    """Unified accounts (with collateral) are liquidated at ``uniMMR <=`` this (§6.5)."""
    accounts: tuple[AccountParams, ...] = ()
    populations: tuple[PerpPopulationParams, ...] = ()

    @model_validator(mode="after")
    def _references(self) -> PerpVenueParams:
        for market_id in self.markets:
            if "." in market_id:
                raise KeyedValueError(f"markets.{market_id}", "expected a market id without dots")
        for i, pop in enumerate(self.populations):
            for market_id in pop.markets:
                self._known_market(market_id, f"populations[{i}].markets")
            for asset in pop.collateral:
                self._known_collateral(asset, f"populations[{i}].collateral.{asset}")
        for i, account in enumerate(self.accounts):
            for asset in account.collateral:
                self._known_collateral(asset, f"accounts[{i}].collateral.{asset}")
            for j, position in enumerate(account.positions):
                self._known_market(position.market, f"accounts[{i}].positions[{j}].market")
        return self

    def _known_market(self, market_id: str, where: str) -> None:
        if market_id not in self.markets:
            raise KeyedValueError(
                where, f"expected markets of the venue {sorted(self.markets)}, was {market_id!r}"
            )

    def _known_collateral(self, asset: str, where: str) -> None:
        if asset not in self.collateral:
            raise KeyedValueError(
                where, f"expected a collateral asset of the venue {sorted(self.collateral)}"
            )

    def fee_rate(self, market_id: str) -> float:
        """Return the clearance fee rate of `market_id` (its own, else the venue's)."""
        own = self.markets[market_id].liquidation_fee_rate
        return self.liquidation_fee_rate if own is None else own


class HyperliquidParams(PerpVenueParams):
    """A Hyperliquid-like venue (mechanics §5; defaults of §14)."""

    mark: Literal["index", "hyperliquid", "binance"] = "hyperliquid"
    funding: FundingParams = FundingParams(rule="hyperliquid", interval_s=3600.0, cap=0.04)
    liquidation_fee_rate: float = Field(default=0.0, ge=0, lt=1)
    partial: PartialLiquidationParams | None = PartialLiquidationParams()
    backstop: BackstopParams | None = BackstopParams()
    adl_policy: AdlPolicy = AdlPolicy.HYPERLIQUID
    risk_interval_s: float = Field(default=1.0, gt=0, allow_inf_nan=False)


class BinanceParams(PerpVenueParams):
    """A Binance-like venue: USDⓈ-M futures and portfolio margin (mechanics §6)."""

    mark: Literal["index", "hyperliquid", "binance"] = "binance"
    funding: FundingParams = FundingParams(rule="binance", interval_s=8 * 3600.0)
    liquidation_fee_rate: float = Field(default=0.005, ge=0, lt=1)
    insurance_fund_usd: float = Field(default=1_000_000_000.0, ge=0, allow_inf_nan=False)
    adl_policy: AdlPolicy = AdlPolicy.BINANCE


class CexPerpParams(PerpVenueParams):
    """A generic centralised perp venue (Bybit/OKX-like), every rule a parameter."""

    insurance_fund_usd: float = Field(default=100_000_000.0, ge=0, allow_inf_nan=False)
    adl_policy: AdlPolicy = AdlPolicy.CLASSIC
