"""`Simulation`: builds a run's components from a `Scenario` through the registry and runs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from protosim.amm import ConcentratedLiquidityPool, StableSwapPool
from protosim.blocks import Chain, ChainParams
from protosim.clock import Clock, ProcessGenerator
from protosim.context import SimContext
from protosim.errors import ScenarioError
from protosim.eventlog import EventLog
from protosim.impact import ConstantProductPool, ImpactModel, SquareRootBook
from protosim.market import Market, TradingVenueParams
from protosim.paths import (
    CommonJump,
    FactorAsset,
    GbmAsset,
    PricePath,
    bootstrap_path,
    constant_path,
    correlated_paths,
    factor_paths,
    garch_path,
    gbm_path,
    jump_diffusion_path,
    load_ohlc_csv,
    log_returns_from_bars,
    replay_path,
)
from protosim.registry import Registry, default_registry
from protosim.results import PriceSamples, RunResult
from protosim.rng import RngStreams
from protosim.scenario import (
    AssetSpec,
    BootstrapPathSpec,
    ConcentratedSpec,
    ConstantPathSpec,
    ConstantProductSpec,
    GarchPathSpec,
    GbmPathSpec,
    GroupPathSpec,
    JumpDiffusionPathSpec,
    PathGroupSpec,
    ReplayPathSpec,
    Scenario,
    SquareRootSpec,
    StableSwapSpec,
    TradingVenueSpec,
)
from protosim.shocks import check_shock, schedule_shock


class Simulation:
    """One run of a scenario with one seed.

    Parameters
    ----------
    scenario : Scenario
        What to run.
    seed : int, optional
        Overrides ``scenario.seed``.
    registry : Registry, optional
        Component kinds; the installed plugins by default.

    Examples
    --------
    >>> from protosim.testing import tiny_scenario
    >>> result = Simulation(tiny_scenario(), seed=1).run()
    >>> result.summary()["liquidations"] > 0
    True
    """

    def __init__(
        self, scenario: Scenario, *, seed: int | None = None, registry: Registry | None = None
    ) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.registry = registry or default_registry()
        scenario.validate_components(self.registry)
        self._ctx = self._build()
        self._samples = PriceSamples()
        self._started = False

    @property
    def context(self) -> SimContext:
        """The context the components were built with (for inspection in tests and notebooks)."""
        return self._ctx

    def _build(self) -> SimContext:
        scenario = self.scenario
        clock = Clock()
        rng = RngStreams(self.seed)
        chains = {
            spec.id: Chain(
                clock,
                ChainParams(
                    chain_id=spec.id,
                    block_time_s=spec.block_time_s,
                    gas_limit=spec.gas_limit,
                    base_fee_gwei=spec.base_fee_gwei,
                    gas_asset=spec.gas_asset,
                ),
            )
            for spec in scenario.chains
        }
        primary = next(iter(chains.values()), None)
        log = EventLog(
            now=lambda: clock.now,
            block=(lambda: primary.current_block) if primary else (lambda: 0),
        )
        for chain in chains.values():
            chain.log = log
        groups = {g.id: _build_group(g, scenario.horizon_s, rng) for g in scenario.path_groups}
        paths = {
            asset.id: _build_path(asset, scenario, rng, groups, where=f"assets[{i}].path")
            for i, asset in enumerate(scenario.assets)
        }
        trading = [_trading_venue(spec, paths[spec.asset]) for spec in scenario.markets]
        market = Market(clock, log, paths, trading)
        ctx = SimContext(
            scenario=scenario, clock=clock, rng=rng, log=log, market=market, chains=chains
        )
        for table, specs, store in (
            ("oracles", scenario.oracles, ctx.oracles),
            ("venues", scenario.venues, ctx.venues),
            ("agents", scenario.agents, ctx.agents),
        ):
            for i, spec in enumerate(specs):
                ctype = self.registry.get(spec.kind)
                params = ctype.params.model_validate(spec.params)
                where = f"{table}[{i}]"
                try:
                    store[spec.id] = ctype.build(ctx, spec, params, where)
                except KeyError as exc:
                    raise ScenarioError(str(exc.args[0]), key_path=where) from None
        for i, shock in enumerate(scenario.shocks):
            check_shock(ctx, shock, f"shocks[{i}]")  # what the built venues refuse, now
        return ctx

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        ctx = self._ctx
        scenario = self.scenario
        for chain_id, chain in ctx.chains.items():
            ctx.clock.start(f"chain.{chain_id}", chain.run())
        for store in (ctx.oracles, ctx.venues, ctx.agents):
            for component in store.values():
                component.start()
        for i, shock in enumerate(scenario.shocks):
            schedule_shock(ctx, shock, scenario.shock_time(i), f"shock[{i}]")
        for i, random in enumerate(scenario.random_shocks):
            drawn = random.sample(ctx.rng.stream(f"shocks.random.{i}"))
            if drawn is not None:
                schedule_shock(ctx, drawn, scenario.shock_time(drawn), f"random_shock[{i}]")
        ctx.clock.start("prices", _sample_prices(ctx, self._samples, scenario.price_sample_s))

    def run_until(self, t: float) -> None:
        """Advance the simulation to time `t` (at most the horizon) and stop there.

        The state can then be inspected (venues' positions, oracle answers, an
        `ExposureGraph` of that moment) and the run continued with `run`.
        """
        if t > self.scenario.horizon_s:
            raise ValueError(f"expected t <= horizon_s ({self.scenario.horizon_s}), was {t}")
        if t < self._ctx.clock.now:
            raise ValueError(f"the run is already at t = {self._ctx.clock.now}, past {t}")
        self._start()
        self._ctx.clock.env.run(until=t)

    def run(self, progress: Callable[[float], None] | None = None) -> RunResult:
        """Run to the scenario's horizon and return the result.

        Parameters
        ----------
        progress : callable, optional
            Called with the simulated time reached, about a hundred times over the run.
        """
        ctx = self._ctx
        scenario = self.scenario
        self._start()
        start = ctx.clock.now
        steps = 100 if progress is not None else 1
        for k in range(1, steps + 1):
            until = start + (scenario.horizon_s - start) * k / steps
            if until > ctx.clock.now:
                ctx.clock.env.run(until=until)
            if progress is not None:
                progress(ctx.clock.now)
        return self.result()

    def result(self) -> RunResult:
        """Return the result of the run so far."""
        ctx = self._ctx
        components: dict[str, Any] = {**ctx.oracles, **ctx.venues, **ctx.agents}
        return RunResult(
            scenario=self.scenario,
            seed=self.seed,
            log=ctx.log,
            component_metrics={cid: dict(c.metrics()) for cid, c in components.items()},
            price_samples=self._samples,
            market=ctx.market,
        )


def run(scenario: Scenario, seed: int | None = None) -> RunResult:
    """Run `scenario` once and return its result (shorthand for `Simulation(...).run()`)."""
    return Simulation(scenario, seed=seed).run()


def _build_group(group: PathGroupSpec, horizon: float, rng: RngStreams) -> dict[str, PricePath]:
    stream = rng.stream(f"paths.group.{group.id}")
    jumps = [
        CommonJump.from_changes(
            j.changes, at_s=j.at_s, intensity_per_year=j.intensity_per_year, duration_s=j.duration_s
        )
        for j in group.jumps
    ]
    if group.correlation is not None:
        specs = {
            a: GbmAsset(p0=s.p0, mu_per_year=s.mu_per_year, sigma_per_year=s.sigma_per_year or 0.0)
            for a, s in group.assets.items()
        }
        return correlated_paths(
            specs, np.asarray(group.correlation), horizon, group.dt_s, stream, jumps=jumps
        )
    factor = {
        a: FactorAsset(
            p0=s.p0,
            mu_per_year=s.mu_per_year,
            beta=s.beta or 0.0,
            idio_sigma_per_year=s.idio_sigma_per_year or 0.0,
        )
        for a, s in group.assets.items()
    }
    return factor_paths(
        factor, group.factor_sigma_per_year or 0.0, horizon, group.dt_s, stream, jumps=jumps
    )


def _build_path(
    asset: AssetSpec,
    scenario: Scenario,
    rng: RngStreams,
    groups: dict[str, dict[str, PricePath]],
    where: str,
) -> PricePath:
    spec = asset.path
    horizon = scenario.horizon_s
    match spec:
        case GroupPathSpec():
            return groups[spec.group][asset.id]
        case JumpDiffusionPathSpec():
            return jump_diffusion_path(
                spec.p0,
                spec.mu_per_year,
                spec.sigma_per_year,
                spec.jump_intensity_per_year,
                spec.jump_mean,
                spec.jump_sigma,
                horizon,
                spec.dt_s,
                rng.stream(f"paths.{asset.id}"),
            )
        case GarchPathSpec():
            try:
                return garch_path(
                    spec.p0,
                    spec.omega,
                    spec.alpha,
                    spec.beta,
                    horizon,
                    spec.dt_s,
                    rng.stream(f"paths.{asset.id}"),
                    mu_per_step=spec.mu_per_step,
                )
            except ValueError as exc:
                raise ScenarioError(str(exc), key_path=where) from None
        case BootstrapPathSpec():
            bars = load_ohlc_csv(scenario.resolve(spec.file))
            return bootstrap_path(
                log_returns_from_bars(bars),
                spec.p0 if spec.p0 is not None else float(bars.open[0]),
                horizon,
                bars.bar_s,
                spec.block_len,
                rng.stream(f"paths.{asset.id}"),
            )
        case ConstantPathSpec():
            return constant_path(spec.price, horizon, dt_s=horizon)
        case GbmPathSpec():
            return gbm_path(
                spec.p0,
                spec.mu_per_year,
                spec.sigma_per_year,
                horizon,
                spec.dt_s,
                rng.stream(f"paths.{asset.id}"),
            )
        case ReplayPathSpec():
            bars = load_ohlc_csv(scenario.resolve(spec.file))
            try:
                return replay_path(
                    bars,
                    dt_s=spec.dt_s,
                    fill=spec.fill,
                    rng=rng.stream(f"paths.{asset.id}"),
                    start_utc=scenario.start_utc,
                    horizon_s=horizon,
                )
            except ValueError as exc:
                raise ScenarioError(str(exc), key_path=where) from None
    raise AssertionError(spec)  # pragma: no cover - the union is exhaustive


def _trading_venue(spec: TradingVenueSpec, path: PricePath) -> TradingVenueParams:
    impact: ImpactModel
    peg_to_reference = False
    match spec.impact:
        case ConstantProductSpec():
            impact = ConstantProductPool(
                depth_usd=spec.impact.depth_usd,
                reference_price=path.price_at(0.0),
                fee_bps=spec.impact.fee_bps,
            )
        case SquareRootSpec():
            impact = SquareRootBook(
                daily_volume_usd=spec.impact.daily_volume_usd,
                daily_volatility=spec.impact.daily_volatility,
                impact_coefficient=spec.impact.impact_coefficient,
                fee_bps=spec.impact.fee_bps,
            )
        case StableSwapSpec():
            impact = StableSwapPool(
                amplification=spec.impact.amplification,
                depth_usd=spec.impact.depth_usd,
                fee_bps=spec.impact.fee_bps,
                peg=spec.impact.peg if spec.impact.peg is not None else path.price_at(0.0),
            )
            peg_to_reference = spec.impact.peg is None
        case ConcentratedSpec():
            c = spec.impact
            if c.ranges is not None:
                impact = ConcentratedLiquidityPool(
                    ranges=c.ranges, reference_price=path.price_at(0.0), fee_bps=c.fee_bps
                )
            else:
                assert c.depth_usd is not None  # the spec's validator requires both
                assert c.width is not None
                impact = ConcentratedLiquidityPool.around(
                    path.price_at(0.0), c.depth_usd, c.width, fee_bps=c.fee_bps
                )
    return TradingVenueParams(
        venue_id=spec.id,
        asset=spec.asset,
        impact=impact,
        recovery_half_life_s=spec.recovery_half_life_s,
        drain_usd=spec.drain_usd,
        depth_half_life_s=spec.depth_half_life_s,
        peg_to_reference=peg_to_reference,
    )


def _sample_prices(ctx: SimContext, samples: PriceSamples, every_s: float) -> ProcessGenerator:
    market = ctx.market
    while True:
        now = np.array([ctx.clock.now])
        for asset in market.assets:
            samples.add(
                ctx.clock.now, asset, "reference", float(market.reference_prices(asset, now)[0])
            )
        for venue_id, venue in market.venues.items():
            samples.add(
                ctx.clock.now, venue.asset, venue_id, float(market.venue_prices(venue_id, now)[0])
            )
        yield ctx.clock.timeout(every_s)
