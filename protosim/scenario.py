"""`Scenario`: the frozen, validated description of a run, loaded from TOML or built in Python.

Every table is a pydantic model with unknown keys forbidden, so a typo fails on load with the
file, the key path and what was expected. The parameters of each venue, oracle and agent are
validated against the model its kind registers (see `protosim.registry`).
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from protosim.errors import KeyedValueError, ScenarioError
from protosim.registry import Registry, Role, default_registry


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- price paths ----------------------------------------------------------------------------


class ConstantPathSpec(_Strict):
    """A price that never moves on its own."""

    kind: Literal["constant"]
    price: float = Field(gt=0, allow_inf_nan=False)


class GbmPathSpec(_Strict):
    """Geometric Brownian motion, drawn from the stream ``paths.<asset>``."""

    kind: Literal["gbm"]
    p0: float = Field(gt=0, allow_inf_nan=False)
    mu_per_year: float = Field(default=0.0, allow_inf_nan=False)
    sigma_per_year: float = Field(ge=0, allow_inf_nan=False)
    dt_s: float = Field(default=1.0, gt=0, allow_inf_nan=False)


class ReplayPathSpec(_Strict):
    """Historical OHLC bars from a CSV, filled onto a fine grid."""

    kind: Literal["replay"]
    file: str
    """CSV with columns ``time_utc,open,high,low,close,volume``, relative to the scenario file."""
    fill: Literal["ohlc_bridge", "step"] = "ohlc_bridge"
    dt_s: float = Field(default=1.0, gt=0, allow_inf_nan=False)


class JumpDiffusionPathSpec(_Strict):
    """Merton jump-diffusion: GBM plus Poisson jumps with normal log sizes (drift stays mu)."""

    kind: Literal["jump_diffusion"]
    p0: float = Field(gt=0, allow_inf_nan=False)
    mu_per_year: float = Field(default=0.0, allow_inf_nan=False)
    sigma_per_year: float = Field(ge=0, allow_inf_nan=False)
    jump_intensity_per_year: float = Field(ge=0, allow_inf_nan=False)
    jump_mean: float = Field(default=0.0, allow_inf_nan=False)
    jump_sigma: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    dt_s: float = Field(default=1.0, gt=0, allow_inf_nan=False)


class GarchPathSpec(_Strict):
    """GARCH(1,1) log returns per step: σ²ₜ = ω + α·ε²ₜ₋₁ + β·σ²ₜ₋₁ (per step of `dt_s`)."""

    kind: Literal["garch"]
    p0: float = Field(gt=0, allow_inf_nan=False)
    omega: float = Field(gt=0, allow_inf_nan=False)
    alpha: float = Field(ge=0, allow_inf_nan=False)
    beta: float = Field(ge=0, allow_inf_nan=False)
    mu_per_step: float = Field(default=0.0, allow_inf_nan=False)
    dt_s: float = Field(default=1.0, gt=0, allow_inf_nan=False)


class BootstrapPathSpec(_Strict):
    """Moving-block bootstrap of the close-to-close log returns of an OHLC CSV."""

    kind: Literal["bootstrap"]
    file: str
    """CSV relative to the scenario file; its bar spacing is the path's `dt_s`."""
    p0: float | None = Field(default=None, gt=0)
    """Starting price; default the file's first open."""
    block_len: int = Field(default=12, ge=1)


class GroupPathSpec(_Strict):
    """Take this asset's path from a correlated group in `path_groups`."""

    kind: Literal["group"]
    group: str


PathSpec = Annotated[
    ConstantPathSpec
    | GbmPathSpec
    | ReplayPathSpec
    | JumpDiffusionPathSpec
    | GarchPathSpec
    | BootstrapPathSpec
    | GroupPathSpec,
    Field(discriminator="kind"),
]


class GroupAssetSpec(_Strict):
    """One asset of a correlated group: GBM parameters, or a factor beta and idiosyncratic vol."""

    p0: float = Field(gt=0, allow_inf_nan=False)
    mu_per_year: float = Field(default=0.0, allow_inf_nan=False)
    sigma_per_year: float | None = Field(default=None, ge=0)
    beta: float | None = None
    idio_sigma_per_year: float | None = Field(default=None, ge=0)


class CommonJumpSpec(_Strict):
    """A move of several assets together ("BTC −15% and alts −40% in ten minutes")."""

    changes: dict[str, float]
    """Relative move per asset (-0.4 is a 40% fall)."""
    at_s: tuple[float, ...] = ()
    intensity_per_year: float | None = Field(default=None, gt=0)
    duration_s: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class PathGroupSpec(_Strict):
    """Several assets driven together: a correlation matrix (order of `assets`) or one market
    factor, plus common jumps. Drawn from the stream ``paths.group.<id>``.
    """

    id: str = Field(min_length=1)
    assets: dict[str, GroupAssetSpec] = Field(min_length=1)
    correlation: tuple[tuple[float, ...], ...] | None = None
    factor_sigma_per_year: float | None = Field(default=None, ge=0)
    jumps: tuple[CommonJumpSpec, ...] = ()
    dt_s: float = Field(default=1.0, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_model(self) -> PathGroupSpec:
        if (self.correlation is None) == (self.factor_sigma_per_year is None):
            raise ValueError("expected exactly one of correlation or factor_sigma_per_year")
        need = (
            ("sigma_per_year",) if self.correlation is not None else ("beta", "idio_sigma_per_year")
        )
        for asset, spec in self.assets.items():
            for name in need:
                if getattr(spec, name) is None:
                    raise KeyedValueError(
                        f"assets.{asset}.{name}", "required for this group's model"
                    )
        return self


class AssetSpec(_Strict):
    """An asset: its id, token decimals, exogenous price path, and what it is tied to."""

    id: str = Field(min_length=1)
    decimals: int = Field(default=18, ge=0, le=36)
    path: PathSpec
    pegged_to: str | None = None
    """The asset (or ``"USD"``) this one is meant to trade at par with: a stablecoin's peg."""
    underlying: str | None = None
    """The asset this one is staked or bridged from (stETH from ETH, wBETH from ETH)."""


# -- trading venues (where trades move prices) ----------------------------------------------


class ConstantProductSpec(_Strict):
    """A Uniswap v2-style pool against USD (mechanics §12.1)."""

    kind: Literal["constant_product"]
    depth_usd: float = Field(gt=0, allow_inf_nan=False)
    """USD reserve at the asset's initial price."""
    fee_bps: float = Field(default=30.0, ge=0, lt=10_000)


class SquareRootSpec(_Strict):
    """An order book with square-root impact (mechanics §12.4)."""

    kind: Literal["square_root"]
    daily_volume_usd: float = Field(gt=0, allow_inf_nan=False)
    daily_volatility: float = Field(gt=0, allow_inf_nan=False)
    impact_coefficient: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    fee_bps: float = Field(default=0.0, ge=0, lt=10_000)


class StableSwapSpec(_Strict):
    """A Curve stableswap pool of the asset against its peg asset (Curve's StableSwap)."""

    kind: Literal["stableswap"]
    amplification: float = Field(ge=1, le=1_000_000)
    depth_usd: float = Field(gt=0, allow_inf_nan=False)
    """Total USD in the pool when balanced (half each side)."""
    fee_bps: float = Field(default=4.0, ge=0, lt=10_000)
    peg: float | None = Field(default=None, gt=0)
    """USD price at which the pool is balanced; default: the asset's reference price at each
    trade (a token against its underlying: stETH/ETH, USDe/USDT)."""


class ConcentratedSpec(_Strict):
    """A Uniswap v3 pool against USD: liquidity in price ranges (ticks are crossed exactly)."""

    kind: Literal["concentrated"]
    ranges: tuple[tuple[float, float, float], ...] | None = None
    """``(lower price, upper price, liquidity USD)`` per range; or give depth_usd and width."""
    depth_usd: float | None = Field(default=None, gt=0)
    width: float | None = Field(default=None, gt=0, lt=1)
    """One range of ``depth_usd`` over ``price · (1 ± width)`` around the price at t = 0."""
    fee_bps: float = Field(default=30.0, ge=0, lt=10_000)

    @model_validator(mode="after")
    def _one_shape(self) -> ConcentratedSpec:
        if (self.ranges is None) == (self.depth_usd is None or self.width is None):
            raise ValueError("expected either ranges, or depth_usd and width")
        return self


ImpactSpec = Annotated[
    ConstantProductSpec | SquareRootSpec | StableSwapSpec | ConcentratedSpec,
    Field(discriminator="kind"),
]


class TradingVenueSpec(_Strict):
    """A market venue where one asset trades against USD."""

    id: str = Field(min_length=1)
    asset: str
    impact: ImpactSpec
    recovery_half_life_s: float = Field(default=math.inf, gt=0)
    """Half-life with which the venue's price returns to the reference after a trade."""
    drain_usd: float = Field(default=math.inf, gt=0)
    """One-sided flow (USD) that cuts that side's depth by a factor e; infinite: never drains."""
    depth_half_life_s: float = Field(default=3_600.0, gt=0, allow_inf_nan=False)
    """Half-life with which drained or withdrawn depth comes back."""


# -- chains ---------------------------------------------------------------------------------


class ChainSpec(_Strict):
    """A chain: block time, gas limit and base fee."""

    id: str = Field(min_length=1)
    block_time_s: float = Field(default=12.0, gt=0, allow_inf_nan=False)
    gas_limit: int = Field(default=30_000_000, gt=0)
    base_fee_gwei: float = Field(default=20.0, ge=0, allow_inf_nan=False)
    gas_asset: str = "ETH"


# -- components -----------------------------------------------------------------------------


class ComponentSpec(_Strict):
    """An oracle, venue or agent: a registered kind and its parameters."""

    id: str = Field(min_length=1)
    kind: str
    params: dict[str, Any] = Field(default_factory=dict)


# -- shocks ---------------------------------------------------------------------------------


class _ShockBase(_Strict):
    at_s: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Seconds after the start."""
    at_utc: datetime | None = None
    """Or a UTC time, with the scenario's ``start_utc``."""

    @model_validator(mode="after")
    def _one_time(self) -> _ShockBase:
        if (self.at_s is None) == (self.at_utc is None):
            raise ValueError("expected exactly one of at_s or at_utc")
        return self


class PriceJumpSpec(_ShockBase):
    """The reference price of an asset moves by `change`, over `duration_s` (0: at once)."""

    kind: Literal["price_jump"]
    asset: str
    change: float = Field(gt=-1, allow_inf_nan=False)
    """Relative change: -0.25 is a 25% fall."""
    duration_s: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class OracleOutageSpec(_ShockBase):
    """An oracle stops publishing (`outage`) or keeps publishing its last answer (`frozen`)."""

    kind: Literal["oracle_outage"]
    oracle: str
    duration_s: float = Field(gt=0)
    mode: Literal["outage", "frozen"] = "outage"


class ChainCongestionSpec(_ShockBase):
    """Gas prices spike and background demand fills blocks (mechanics §11.1)."""

    kind: Literal["chain_congestion"]
    chain: str
    duration_s: float = Field(gt=0, allow_inf_nan=False)
    base_fee_multiplier: float = Field(default=10.0, ge=1, allow_inf_nan=False)
    background_gas_share: float = Field(default=0.9, ge=0, le=1)
    background_priority_fee_gwei: float = Field(default=100.0, ge=0, allow_inf_nan=False)


class OracleBadPrintSpec(_ShockBase):
    """An oracle reports one wrong value now (a single bad print), then recovers."""

    kind: Literal["oracle_bad_print"]
    oracle: str
    price: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """The wrong answer in USD; or give `change`."""
    change: float | None = Field(default=None, gt=-1, allow_inf_nan=False)
    """The wrong answer relative to the current one (-0.5: half of it)."""

    @model_validator(mode="after")
    def _one_value(self) -> OracleBadPrintSpec:
        if (self.price is None) == (self.change is None):
            raise ValueError("expected exactly one of price or change")
        return self


class OracleDelaySpec(_ShockBase):
    """An oracle's rounds take `extra_latency_s` longer to reach the chain for a while."""

    kind: Literal["oracle_delay"]
    oracle: str
    extra_latency_s: float = Field(gt=0, allow_inf_nan=False)
    duration_s: float = Field(gt=0, allow_inf_nan=False)


class MarketTradeSpec(_ShockBase):
    """Someone trades on a market venue: a forced seller, or a manipulator moving a thin market
    that an oracle reads (with `hold_s`, the position is unwound after that long).
    """

    kind: Literal["market_trade"]
    venue: str
    quantity: float | None = Field(default=None, allow_inf_nan=False)
    """Signed quantity of the venue's asset bought (+) or sold (-); or give `target_change`."""
    target_change: float | None = Field(default=None, gt=-1, allow_inf_nan=False)
    """Move the venue's price by this fraction (0.5: up 50%) with one trade."""
    hold_s: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    trader: str = "shock"

    @model_validator(mode="after")
    def _one_size(self) -> MarketTradeSpec:
        if (self.quantity is None) == (self.target_change is None):
            raise ValueError("expected exactly one of quantity or target_change")
        if self.quantity == 0 or self.target_change == 0:
            raise ValueError("expected a non-zero trade")
        return self


class SequencerOutageSpec(_ShockBase):
    """An L2 sequencer stops: no blocks, no transactions, until it comes back (mechanics §4.2)."""

    kind: Literal["sequencer_outage"]
    chain: str
    duration_s: float = Field(gt=0, allow_inf_nan=False)


class LiquidityDrainSpec(_ShockBase):
    """Market makers pull depth from a venue: a side's depth is multiplied by `factor`."""

    kind: Literal["liquidity_drain"]
    venue: str
    factor: float = Field(gt=0, le=1)
    side: Literal["bid", "ask", "both"] = "both"


class MarketHaltSpec(_ShockBase):
    """A trading venue halts: nothing trades there for `duration_s`."""

    kind: Literal["market_halt"]
    venue: str
    duration_s: float = Field(gt=0, allow_inf_nan=False)


class WithdrawalFreezeSpec(_ShockBase):
    """Funds cannot leave a venue for `duration_s` (arbitrageurs cannot rebalance through it)."""

    kind: Literal["withdrawal_freeze"]
    venue: str
    duration_s: float = Field(gt=0, allow_inf_nan=False)


class AgentEventSpec(_ShockBase):
    """Something happens to an agent's world that its own rules respond to: an issuer's backing
    falls (``target``), a withdrawal queue stalls (``queue_stall``), a run of redemptions joins
    the queue (``redemptions``), a mint window closes (``close``) …; the agent says which.
    """

    kind: Literal["agent_event"]
    agent: str
    event: str = Field(min_length=1)
    value: float = Field(default=0.0, allow_inf_nan=False)
    duration_s: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class VenueEventSpec(_ShockBase):
    """Something happens to a venue that its own rules respond to: ``halt`` (for
    `duration_s`), ``resume`` …; the venue says which events it takes.
    """

    kind: Literal["venue_event"]
    venue: str
    event: str = Field(min_length=1)
    value: float = Field(default=0.0, allow_inf_nan=False)
    duration_s: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class ParameterChangeSpec(_ShockBase):
    """Governance changes a protocol venue's parameters mid-run: a liquidation-threshold cut, a
    frozen borrow, a new bonus, a rules upgrade. `changes` sets values by key path inside the
    venue's ``params``, as ``--set`` does for a scenario; the venue says which it takes.
    """

    kind: Literal["parameter_change"]
    venue: str
    changes: dict[str, Any] = Field(min_length=1)
    """Key path inside the venue's params (``reserves.CRV.liquidation_threshold_bps``) → new
    value."""


ShockSpec = Annotated[
    PriceJumpSpec
    | OracleOutageSpec
    | OracleBadPrintSpec
    | OracleDelaySpec
    | ChainCongestionSpec
    | SequencerOutageSpec
    | MarketTradeSpec
    | LiquidityDrainSpec
    | MarketHaltSpec
    | WithdrawalFreezeSpec
    | AgentEventSpec
    | VenueEventSpec
    | ParameterChangeSpec,
    Field(discriminator="kind"),
]


_SHOCK_ADAPTER: TypeAdapter[Any] = TypeAdapter(ShockSpec)


# -- shocks drawn at random ------------------------------------------------------------------

_DISTRIBUTIONS = ("uniform", "normal", "lognormal", "choice")


class RandomShockSpec(_Strict):
    """A shock that happens with `probability`, its numbers drawn per run (issue 9).

    `shock` is written like a shock table, where any number may instead be a distribution:
    ``{uniform = [low, high]}``, ``{normal = [mean, sd]}``, ``{lognormal = [median, sigma]}``
    or ``{choice = [v1, v2, ...]}``. Draws come from the run's stream ``shocks.random.<i>``.
    """

    probability: float = Field(default=1.0, gt=0, le=1)
    shock: dict[str, Any]

    def sample(self, rng: Any) -> ShockSpec | None:
        """Return the shock of one run, or None if it does not happen in this run."""
        if rng.random() >= self.probability:
            return None
        drawn = {key: _draw(value, rng) for key, value in self.shock.items()}
        shock: ShockSpec = _SHOCK_ADAPTER.validate_python(drawn)
        return shock

    @model_validator(mode="after")
    def _valid_template(self) -> RandomShockSpec:
        for key, value in self.shock.items():
            if isinstance(value, dict):
                _check_distribution(key, value)
        # A representative draw must be a valid shock (kind, fields, targets).
        central = {key: _central(value) for key, value in self.shock.items()}
        _SHOCK_ADAPTER.validate_python(central)
        return self


def _check_distribution(key: str, spec: dict[str, Any]) -> None:
    if len(spec) != 1 or next(iter(spec)) not in _DISTRIBUTIONS:
        raise KeyedValueError(
            f"shock.{key}", f"expected one of {{{', '.join(_DISTRIBUTIONS)} = [...]}}, was {spec}"
        )
    name, args = next(iter(spec.items()))
    if not isinstance(args, list | tuple) or not args:
        raise KeyedValueError(f"shock.{key}.{name}", f"expected a list of numbers, was {args!r}")
    if name in {"uniform", "normal", "lognormal"} and len(args) != 2:
        raise KeyedValueError(f"shock.{key}.{name}", f"expected two numbers, was {args!r}")
    if name == "uniform" and not args[0] <= args[1]:
        raise KeyedValueError(f"shock.{key}.uniform", f"expected low <= high, was {args!r}")
    if name in {"normal", "lognormal"} and args[1] < 0:
        raise KeyedValueError(f"shock.{key}.{name}", f"expected a spread >= 0, was {args[1]}")


def _central(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    name, args = next(iter(value.items()))
    if name == "uniform":
        return (args[0] + args[1]) / 2
    if name in {"normal", "lognormal"}:
        return args[0]
    return args[0]


def _draw(value: Any, rng: Any) -> Any:
    if not isinstance(value, dict):
        return value
    name, args = next(iter(value.items()))
    if name == "uniform":
        return float(rng.uniform(args[0], args[1]))
    if name == "normal":
        return float(rng.normal(args[0], args[1]))
    if name == "lognormal":
        return float(args[0] * math.exp(args[1] * rng.standard_normal()))
    return args[int(rng.integers(len(args)))]


# -- the scenario ---------------------------------------------------------------------------


class Scenario(_Strict):
    """A complete, validated description of a run.

    Load one with `Scenario.from_toml`; change one with `Scenario.replace` or `with_values`.
    Relative data-file paths resolve against `base_dir` (the TOML file's folder).
    """

    name: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(default=0, ge=0)
    horizon_s: float = Field(gt=0, allow_inf_nan=False)
    start_utc: datetime | None = None
    """Wall time of t = 0, for replays of real dates (never read from the machine's clock)."""
    price_sample_s: float = Field(default=60.0, gt=0)
    """Interval at which `RunResult.prices` samples every asset and venue."""
    assets: tuple[AssetSpec, ...] = Field(min_length=1)
    path_groups: tuple[PathGroupSpec, ...] = ()
    chains: tuple[ChainSpec, ...] = ()
    markets: tuple[TradingVenueSpec, ...] = ()
    oracles: tuple[ComponentSpec, ...] = ()
    venues: tuple[ComponentSpec, ...] = ()
    agents: tuple[ComponentSpec, ...] = ()
    shocks: tuple[ShockSpec, ...] = ()
    random_shocks: tuple[RandomShockSpec, ...] = ()
    base_dir: str = Field(default=".", exclude=True)

    @field_validator("start_utc")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("expected a UTC time with an offset, such as 2025-10-10T20:00:00Z")
        return value

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        assets = [a.id for a in self.assets]
        _unique(assets, "assets")
        _unique([c.id for c in self.chains], "chains")
        _unique([m.id for m in self.markets], "markets")
        _unique(
            [c.id for group in (self.oracles, self.venues, self.agents) for c in group],
            "oracles/venues/agents",
        )
        self._check_groups()
        self._check_shock_times()
        for i, asset in enumerate(self.assets):
            for field in ("pegged_to", "underlying"):
                target = getattr(asset, field)
                if target is not None and target not in assets and target != "USD":
                    raise _at(
                        f"assets[{i}].{field}",
                        f"expected one of the assets {assets} or 'USD', was {target!r}",
                    )
        for i, market in enumerate(self.markets):
            if market.asset not in assets:
                raise _at(
                    f"markets[{i}].asset",
                    f"expected one of the assets {assets}, was {market.asset!r}",
                )
        known = {
            "asset": assets,
            "oracle": [o.id for o in self.oracles],
            "chain": [c.id for c in self.chains],
            "venue": [m.id for m in self.markets],
            "agent": [a.id for a in self.agents],
        }
        plural = {
            "asset": "assets",
            "oracle": "oracles",
            "chain": "chains",
            "venue": "markets",
            "agent": "agents",
        }
        drawn: list[tuple[str, Any]] = [(f"shocks[{i}]", s) for i, s in enumerate(self.shocks)]
        for i, random in enumerate(self.random_shocks):
            central = {key: _central(value) for key, value in random.shock.items()}
            drawn.append((f"random_shocks[{i}].shock", _SHOCK_ADAPTER.validate_python(central)))
        protocol_venues = [v.id for v in self.venues]
        for where, shock in drawn:
            for field, ids in known.items():
                target = getattr(shock, field, None)
                noun = plural[field]
                if isinstance(shock, VenueEventSpec | ParameterChangeSpec) and field == "venue":
                    ids, noun = protocol_venues, "venues"  # a protocol venue, not a market
                if isinstance(target, str) and target not in ids:
                    raise _at(
                        f"{where}.{field}", f"expected one of the {noun} {ids}, was {target!r}"
                    )
            if shock.at_utc is not None and self.start_utc is None:
                raise _at(
                    f"{where}.at_utc",
                    "at_utc needs the scenario's start_utc; use at_s otherwise",
                )
        return self

    def _check_shock_times(self) -> None:
        for i, shock in enumerate(self.shocks):
            if shock.at_s is None and self.start_utc is None:
                continue  # reported with the other references: at_utc needs start_utc
            t = self.shock_time(i)
            if not 0 <= t < self.horizon_s:
                when = "at_s" if shock.at_s is not None else "at_utc"
                raise _at(
                    f"shocks[{i}].{when}",
                    f"expected a time inside the run [0, {self.horizon_s:g}) s, was {t:g} s",
                )

    def _check_groups(self) -> None:
        groups = {g.id: g for g in self.path_groups}
        for i, asset in enumerate(self.assets):
            if not isinstance(asset.path, GroupPathSpec):
                continue
            group = groups.get(asset.path.group)
            if group is None:
                raise _at(
                    f"assets[{i}].path.group",
                    f"expected one of the path_groups {sorted(groups)}, was {asset.path.group!r}",
                )
            if asset.id not in group.assets:
                raise _at(
                    f"assets[{i}].path.group",
                    f"group {group.id!r} has no parameters for {asset.id!r}",
                )

    # -- time -------------------------------------------------------------------------------

    def shock_time(self, index: int | ShockSpec) -> float:
        """Return the start of shock `index` (or of the shock given) in seconds after t = 0."""
        shock = self.shocks[index] if isinstance(index, int) else index
        if shock.at_s is not None:
            return shock.at_s
        # Both are checked on validation.
        assert shock.at_utc is not None
        assert self.start_utc is not None
        return (shock.at_utc - self.start_utc).total_seconds()

    def utc(self, t: float) -> datetime | None:
        """Return the UTC time of simulated second `t`, if the scenario has a start time."""
        if self.start_utc is None:
            return None
        return datetime.fromtimestamp(self.start_utc.timestamp() + t, tz=UTC)

    def resolve(self, relative: str) -> Path:
        """Return the path of a data file named relative to the scenario file."""
        path = Path(relative)
        return path if path.is_absolute() else Path(self.base_dir) / path

    # -- identity and variants --------------------------------------------------------------

    @property
    def id(self) -> str:
        """A stable hash of the scenario's canonical JSON and the bytes of its data files."""
        digest = hashlib.sha256(self.canonical_json().encode("utf-8"))
        for asset in self.assets:
            if isinstance(asset.path, ReplayPathSpec | BootstrapPathSpec):
                digest.update(self.resolve(asset.path.file).read_bytes())
        return digest.hexdigest()[:16]

    def canonical_json(self) -> str:
        """Return the scenario as JSON with sorted keys (without `base_dir`)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def replace(self, **changes: Any) -> Scenario:
        """Return a validated copy with top-level fields changed (components included)."""
        data = _thaw(self.model_dump())
        data.update(changes)
        data["base_dir"] = self.base_dir
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError as exc:
            raise validation_error(exc, None) from None
        scenario.validate_components(default_registry())
        return scenario

    def with_values(self, assignments: dict[str, Any]) -> Scenario:
        """Return a validated copy with values set by dotted key path.

        Keys address tables by id: ``venues.aave.params.population.accounts`` or
        ``shocks[0].change``; an index one past the end of a list adds an entry
        (``shocks[3]`` of a scenario with three shocks adds a fourth).
        """
        data = _thaw(self.model_dump())
        for key, value in assignments.items():
            _set_path(data, key, value)
        data["base_dir"] = self.base_dir
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError as exc:
            raise validation_error(exc, None) from None
        scenario.validate_components(default_registry())
        return scenario

    # -- loading ----------------------------------------------------------------------------

    @classmethod
    def from_toml(cls, path: str | Path, *, registry: Registry | None = None) -> Scenario:
        """Load, validate and return the scenario in the TOML file `path`.

        Raises
        ------
        ScenarioError
            Naming the file, the key path and what was expected.
        """
        path = Path(path)
        raw = read_toml(path)
        return cls.from_dict(raw, base_dir=path.parent, source=path, registry=registry)

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        *,
        base_dir: str | Path = ".",
        source: str | Path | None = None,
        registry: Registry | None = None,
    ) -> Scenario:
        """Validate a scenario given as nested dicts (as TOML parses)."""
        if "base_dir" in data:
            raise ScenarioError(
                "unknown key (base_dir is set by the loader)", file=source, key_path="base_dir"
            )
        try:
            scenario = cls.model_validate({**data, "base_dir": str(base_dir)})
        except ValidationError as exc:
            raise validation_error(exc, source) from None
        scenario.validate_components(registry or default_registry(), source=source)
        return scenario

    def validate_components(self, registry: Registry, *, source: str | Path | None = None) -> None:
        """Check every component's kind and parameters against `registry`."""
        tables: tuple[tuple[Role, str, tuple[ComponentSpec, ...]], ...] = (
            ("oracle", "oracles", self.oracles),
            ("venue", "venues", self.venues),
            ("agent", "agents", self.agents),
        )
        for role, table, specs in tables:
            for i, spec in enumerate(specs):
                where = f"{table}[{i}]"
                if spec.kind not in registry:
                    raise ScenarioError(
                        f"unknown kind {spec.kind!r}; expected one of {registry.kinds(role)}",
                        file=source,
                        key_path=f"{where}.kind",
                    )
                ctype = registry.get(spec.kind)
                if ctype.role != role:
                    raise ScenarioError(
                        f"{spec.kind!r} is a {ctype.role}, listed under {table}; "
                        f"expected one of {registry.kinds(role)}",
                        file=source,
                        key_path=f"{where}.kind",
                    )
                try:
                    ctype.params.model_validate(spec.params)
                except ValidationError as exc:
                    raise validation_error(exc, source, prefix=f"{where}.params") from None
        venues = {spec.id: spec for spec in self.venues}
        for i, shock in enumerate(self.shocks):
            if isinstance(shock, ParameterChangeSpec):
                spec = venues[shock.venue]  # the id was checked on validation
                params_model = registry.get(spec.kind).params
                changed_params(
                    params_model,
                    params_model.model_validate(spec.params),
                    shock.changes,
                    source=source,
                    where=f"shocks[{i}].changes",
                )


def read_toml(path: str | Path) -> dict[str, Any]:
    """Return the tables of the TOML file `path`.

    Raises
    ------
    ScenarioError
        Naming the file when it is missing or not valid TOML.
    """
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError("no such file", file=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML: {exc}", file=path) from None


def changed_params(
    params_model: type[BaseModel],
    params: BaseModel,
    changes: Mapping[str, Any],
    *,
    source: str | Path | None = None,
    where: str = "changes",
) -> BaseModel:
    """Return `params` with `changes` (key path → value) applied, validated by `params_model`.

    Raises
    ------
    ScenarioError
        Naming ``<where>.<key path>`` and what was expected.
    """
    data = _thaw(params.model_dump())
    for key, value in changes.items():
        try:
            _set_path(data, key, value)
        except (ScenarioError, IndexError, ValueError, TypeError) as exc:
            detail = exc.detail if isinstance(exc, ScenarioError) else "no such key"
            raise ScenarioError(detail, file=source, key_path=f"{where}.{key}") from None
    try:
        return params_model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, source, prefix=where) from None


def _unique(ids: list[str], table: str) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise ValueError(f"{table}: id {value!r} is used twice")
        seen.add(value)


def _at(key_path: str, message: str) -> ValueError:
    return KeyedValueError(key_path, message)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {
            "venue_event",
            "parameter_change",
            "stableswap",
            "concentrated",
            "jump_diffusion",
            "garch",
            "bootstrap",
            "group",
            "liquidity_drain",
            "market_halt",
            "withdrawal_freeze",
            "agent_event",
            "oracle_bad_print",
            "oracle_delay",
            "market_trade",
            "sequencer_outage",
            "constant",
            "gbm",
            "replay",
            "constant_product",
            "square_root",
            "price_jump",
            "oracle_outage",
            "chain_congestion",
        }:
            continue  # pydantic's discriminator tag, not a key the user wrote
        else:
            out += f".{part}" if out else str(part)
    return out


def validation_error(
    exc: ValidationError, source: str | Path | None, prefix: str = ""
) -> ScenarioError:
    """Return the `ScenarioError` for a pydantic validation failure of a file's contents:
    the first problem's key path (as the user wrote it, without discriminator tags) and what
    was expected, then up to five more.
    """
    errors = exc.errors(include_url=False)
    lines = []
    for err in errors:
        key = _loc(tuple(err["loc"]))
        keyed = err.get("ctx", {}).get("error")
        if isinstance(keyed, KeyedValueError):
            key = f"{key}.{keyed.key_path}" if key else keyed.key_path
        key = f"{prefix}.{key}" if prefix and key else (prefix or key)
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        if (
            "input" in err
            and err["type"] not in {"missing", "extra_forbidden"}
            and not isinstance(err["input"], dict)
        ):
            msg += f" (was {err['input']!r})"
        lines.append((key, msg))
    key, first = lines[0]
    if len(lines) > 1:
        first += "".join(f"\n  also {k or '(top level)'}: {m}" for k, m in lines[1:6])
        if len(lines) > 6:
            first += f"\n  and {len(lines) - 6} more"
    return ScenarioError(first, file=source, key_path=key or None)


def _set_path(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.replace("]", "").replace("[", ".").split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list | tuple):
            if part.isdigit():
                node = node[int(part)]
                continue
            matches = [item for item in node if isinstance(item, dict) and item.get("id") == part]
            if not matches:
                raise ScenarioError(f"no entry with id {part!r}", key_path=".".join(parts[: i + 1]))
            node = matches[0]
        elif isinstance(node, dict):
            part_key = _dict_key(node, part)
            if part_key not in node:
                raise ScenarioError("no such key", key_path=".".join(parts[: i + 1]))
            node = node[part_key]
    last = parts[-1]
    if isinstance(node, list):
        index = int(last)
        if index == len(node):
            node.append(value)  # one past the end adds an entry (another shock, say)
        elif 0 <= index < len(node):
            node[index] = value
        else:
            raise ScenarioError(
                f"expected an index up to {len(node)} (one past the end adds an entry)",
                key_path=key,
            )
    else:
        node[_dict_key(node, last)] = value


def value_at(data: Mapping[str, Any], key: str) -> Any:
    """Return the value at dotted key path `key` of nested dicts and lists (as `with_values`
    addresses them); raises KeyError naming the key if there is none.

    >>> value_at({"reserves": {"ETH": {"ltv_bps": 8050}}, "x": [1, 2]}, "reserves.ETH.ltv_bps")
    8050
    >>> value_at({"x": [1, 2]}, "x[1]")
    2
    """
    node: Any = data
    for part in key.replace("]", "").replace("[", ".").split("."):
        try:
            node = (
                node[int(part)] if isinstance(node, list | tuple) else node[_dict_key(node, part)]
            )
        except (KeyError, IndexError, ValueError, TypeError):
            raise KeyError(f"{key}: no such key") from None
    return node


def _dict_key(node: dict[Any, Any], part: str) -> Any:
    # Tables keyed by number (e-mode categories) dump with int keys; a key path spells them.
    if part not in node and part.isdigit() and int(part) in node:
        return int(part)
    return part


def _thaw(value: Any) -> Any:
    # model_dump keeps tuples; assignments by key path need lists.
    if isinstance(value, dict):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(v) for v in value]
    return value
