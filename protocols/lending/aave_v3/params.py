"""Scenario parameters of an Aave v3 market (mechanics §1.1, §1.7)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protosim.errors import KeyedValueError
from protosim.protocols.distributions import LognormalUsd, UniformRange
from protosim.protocols.lending.guards import OracleGuardParams


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateStrategyParams(_Strict):
    """A ``DefaultReserveInterestRateStrategyV2`` and reserve factor (mechanics §1.6).

    Defaults are the §1.6 example (wstETH, Aave v3 Ethereum, July 2025): optimal utilization
    80 %, base 0, slope1 1 %, slope2 40 %, reserve factor 35 %. Bounds from the contract:
    optimal usage in [1 %, 99 %], base + slope1 + slope2 <= 1000 % (``MAX_BORROW_RATE``).
    """

    optimal_usage_bps: int = Field(default=8_000, ge=100, le=9_900)
    base_rate_bps: int = Field(default=0, ge=0)
    slope1_bps: int = Field(default=100, ge=0)
    slope2_bps: int = Field(default=4_000, ge=0)
    reserve_factor_bps: int = Field(default=3_500, ge=0, lt=10_000)
    initial_utilization: float = Field(default=0.8, gt=0, le=1)
    """Borrow usage at t = 0: the reserve's supply not held by the book's accounts (passive
    suppliers) is set so that ``book debt / total supply`` equals this."""

    @model_validator(mode="after")
    def _bounded(self) -> RateStrategyParams:
        if self.base_rate_bps + self.slope1_bps + self.slope2_bps > 100_000:
            raise ValueError(
                "expected base_rate_bps + slope1_bps + slope2_bps <= 100000 (MAX_BORROW_RATE), "
                f"was {self.base_rate_bps + self.slope1_bps + self.slope2_bps}"
            )
        return self


class ReserveParams(_Strict):
    """Risk parameters of one reserve, in basis points as Aave configures them.

    Defaults are WETH on Aave v3 Ethereum Core (mechanics §1.7): LT 83%, bonus 5%, protocol
    fee 10% of the bonus.
    """

    oracle: str
    """Id of the oracle that prices this reserve (AaveOracle source)."""
    fallback_oracle: str | None = None
    """Used when the source answers zero or below (AaveOracle), or is stale under a guard."""
    max_oracle_age_s: float | None = Field(default=None, gt=0)
    """Staleness limit for this reserve's feed, overriding the venue's ``oracle_guard``."""
    ltv_bps: int = Field(default=8050, ge=0, le=10_000)
    liquidation_threshold_bps: int = Field(default=8300, gt=0, le=10_000)
    liquidation_bonus_bps: int = Field(default=10_500, ge=10_000, le=20_000)
    """Bonus as a multiplier in bps: 10500 = 5% bonus."""
    liquidation_protocol_fee_bps: int | None = Field(default=None, ge=0, le=10_000)
    """Share of the bonus that goes to the treasury; default 10% under v3 rules, and v2 has none."""
    supply_cap: int = Field(default=0, ge=0)
    """Supply cap in whole tokens; 0 = none (``ValidationLogic.validateSupply``)."""
    borrow_cap: int = Field(default=0, ge=0)
    """Borrow cap in whole tokens; 0 = none (``ValidationLogic.validateBorrow``)."""
    borrowing_enabled: bool = True
    debt_ceiling_usd: float = Field(default=0.0, ge=0)
    """Isolation-mode debt ceiling in USD with 2 decimals; non-zero makes the asset an isolated
    collateral (``ReserveConfiguration.DEBT_CEILING_DECIMALS = 2``)."""
    borrowable_in_isolation: bool = False
    """Whether isolated-mode accounts may borrow this asset."""
    rate: RateStrategyParams | None = None
    """Interest rate strategy; None keeps this reserve's indexes at 1 (no interest accrues) and
    its liquidity unlimited."""
    passive_supply: float = Field(default=0.0, ge=0)
    """Tokens supplied at t = 0 by accounts outside the book, on top of what the rate
    strategy's ``initial_utilization`` implies (liquidity for new borrows)."""

    @model_validator(mode="after")
    def _consistent(self) -> ReserveParams:
        if round(self.debt_ceiling_usd * 100) != self.debt_ceiling_usd * 100:
            raise ValueError(
                f"expected debt_ceiling_usd with at most 2 decimals, was {self.debt_ceiling_usd}"
            )
        if self.ltv_bps > self.liquidation_threshold_bps:
            raise ValueError(
                "expected ltv_bps <= liquidation_threshold_bps, "
                f"was {self.ltv_bps} > {self.liquidation_threshold_bps}"
            )
        # PoolConfigurator.configureReserveAsCollateral requires LT · LB <= 100%.
        if self.liquidation_threshold_bps * self.liquidation_bonus_bps > 10_000 * 10_000:
            raise ValueError(
                "expected liquidation_threshold_bps × liquidation_bonus_bps <= 100% "
                f"(PoolConfigurator), was {self.liquidation_threshold_bps} × "
                f"{self.liquidation_bonus_bps}"
            )
        return self


class PopulationParams(_Strict):
    """A synthetic group of borrowers, each with one collateral and one debt reserve.

    Collateral sizes and health factors are drawn from the venue's random stream; debt follows:
    ``debt_usd = collateral_usd · LT / HF`` at the oracle prices at t = 0.
    """

    accounts: int = Field(gt=0, le=50_000_000)
    collateral: str
    debt: str
    collateral_usd: LognormalUsd | UniformRange = Field(discriminator="kind")
    health_factor: UniformRange


class EModeCategoryParams(_Strict):
    """An efficiency-mode category (mechanics §1.1; aave-v3-origin ``EModeLogic``, v3.2+ bitmaps).

    Defaults are the ETH-correlated category of Aave v3 Ethereum (mechanics §1.7): LTV 93 %,
    LT 95 %, bonus 1 %.
    """

    label: str = ""
    ltv_bps: int = Field(default=9_300, ge=0, le=10_000)
    liquidation_threshold_bps: int = Field(default=9_500, gt=0, le=10_000)
    liquidation_bonus_bps: int = Field(default=10_100, gt=10_000, le=20_000)
    collateral_assets: tuple[str, ...] = Field(min_length=1)
    """Reserves whose LTV, LT and bonus the category replaces (``collateralBitmap``)."""
    borrowable_assets: tuple[str, ...] = Field(min_length=1)
    """Reserves an account in the category may borrow (``borrowableBitmap``)."""

    @model_validator(mode="after")
    def _consistent(self) -> EModeCategoryParams:
        # PoolConfigurator.setEModeCategory: ltv <= lt, lt · lb <= 100 %, lb > 100 %.
        if self.ltv_bps > self.liquidation_threshold_bps:
            raise ValueError(
                "expected ltv_bps <= liquidation_threshold_bps, "
                f"was {self.ltv_bps} > {self.liquidation_threshold_bps}"
            )
        if self.liquidation_threshold_bps * self.liquidation_bonus_bps > 10_000 * 10_000:
            raise ValueError(
                "expected liquidation_threshold_bps × liquidation_bonus_bps <= 100% "
                "(PoolConfigurator.setEModeCategory)"
            )
        return self


class MultiPopulationParams(_Strict):
    """A synthetic group of borrowers, each holding several collateral and debt reserves.

    Every account splits its collateral value over ``collateral`` by the given weights and its
    debt value over ``debt``; sizes and health factors are drawn as for `PopulationParams`:
    ``debt_usd = Σ collateral_usd_i · LT_i / HF`` at t = 0 (LT of the account's e-mode where
    the category covers the asset). Accounts of an ``emode`` category must borrow only assets
    borrowable in it; a population whose collateral is an isolated asset must hold only that
    collateral and borrow only assets borrowable in isolation, within the debt ceiling.
    """

    accounts: int = Field(gt=0, le=50_000_000)
    collateral: dict[str, float] = Field(min_length=1)
    """Collateral reserve → share of each account's collateral value (shares sum to 1)."""
    debt: dict[str, float] = Field(min_length=1)
    """Debt reserve → share of each account's debt value (shares sum to 1)."""
    collateral_usd: LognormalUsd | UniformRange = Field(discriminator="kind")
    health_factor: UniformRange
    emode: int = Field(default=0, ge=0, le=255)

    @model_validator(mode="after")
    def _weights(self) -> MultiPopulationParams:
        for role in ("collateral", "debt"):
            weights: dict[str, float] = getattr(self, role)
            if any(not w > 0 for w in weights.values()):
                raise ValueError(f"expected {role} shares > 0, were {weights}")
            if abs(sum(weights.values()) - 1.0) > 1e-9:
                raise ValueError(
                    f"expected {role} shares summing to 1, sum {sum(weights.values())}"
                )
        both = set(self.collateral) & set(self.debt)
        if both:
            raise ValueError(f"expected different collateral and debt reserves, both hold {both}")
        return self


DEFAULT_PROTOCOL_FEE_BPS = 1_000
"""Liquidation protocol fee of Aave v3 reserves when a scenario does not set one (§1.7)."""


class AaveV3Params(_Strict):
    """An Aave v3 market: its chain, liquidation rules, reserves and borrowers.

    Two borrower shapes. ``populations`` (unchanged) hold one collateral and one debt reserve
    per account and use the sorted-index fast path. ``multi_populations`` hold several of each,
    by value shares, in one multi-reserve book with e-mode, isolation and interest::

        [[venues.params.multi_populations]]
        accounts = 1000
        collateral = { ETH = 0.6, WBTC = 0.3, wstETH = 0.1 }
        debt = { USDC = 0.7, USDT = 0.3 }
        emode = 0
        collateral_usd = { kind = "lognormal", median = 20000.0, sigma = 0.8 }
        health_factor = { kind = "uniform", low = 1.05, high = 1.35 }

        [venues.params.emode_categories.1]      # defaults: mechanics §1.7 ETH-correlated
        collateral_assets = ["ETH", "wstETH"]
        borrowable_assets = ["ETH"]

    Reserves take optional ``supply_cap`` / ``borrow_cap`` (whole tokens), ``debt_ceiling_usd``
    (isolated collateral), ``borrowable_in_isolation``, ``borrowing_enabled``, ``rate`` (a
    `RateStrategyParams`) and ``passive_supply``. Accounts can also be opened during a run with
    `AaveV3Market.open_account`.
    """

    chain: str
    rules: Literal["v3.3", "v3.0", "v2"] = "v3.3"
    """Close-factor and bad-debt rules: v3.3+ (deficit), v3.0–v3.2 or v2 (mechanics §1.3, §1.5)."""
    reserves: dict[str, ReserveParams] = Field(min_length=1)
    populations: tuple[PopulationParams, ...] = ()
    """Single-collateral, single-debt borrowers (the sorted-index fast path; no interest)."""
    multi_populations: tuple[MultiPopulationParams, ...] = ()
    """Multi-collateral, multi-debt borrowers in one vectorized account book, with e-mode,
    isolation and interest (accounts opened with `AaveV3Market.open_account` join it too)."""
    emode_categories: dict[int, EModeCategoryParams] = Field(default_factory=dict)
    """E-mode categories by id (1–255; 0 means no e-mode)."""
    interest_tolerance: float = Field(default=1e-3, gt=0, lt=0.1)
    """Look at the whole multi-reserve book again once interest may have grown some account's
    debt by this fraction since the last full check."""
    recheck_interval_s: float = Field(default=60.0, gt=0)
    """While positions stay below the liquidation line without a new price (declined as
    unprofitable, waiting out congestion), look at them again this often."""
    oracle_guard: OracleGuardParams = OracleGuardParams()
    """What the market does with stale or invalid answers; default: AaveOracle (no staleness
    check, fallback on answers <= 0) on L1 (no sentinel)."""

    def protocol_fee_bps(self, asset: str) -> int:
        """Return the liquidation protocol fee of reserve `asset` under these rules."""
        fee = self.reserves[asset].liquidation_protocol_fee_bps
        if fee is None:
            return 0 if self.rules == "v2" else DEFAULT_PROTOCOL_FEE_BPS
        return fee

    @model_validator(mode="after")
    def _populations_use_reserves(self) -> AaveV3Params:
        if self.rules == "v2":
            for asset, reserve in self.reserves.items():
                if reserve.liquidation_protocol_fee_bps:
                    raise KeyedValueError(
                        f"reserves.{asset}.liquidation_protocol_fee_bps",
                        "Aave v2 has no liquidation protocol fee; expected 0 or unset, "
                        f"was {reserve.liquidation_protocol_fee_bps}",
                    )
        self._check_multi()
        for i, pop in enumerate(self.populations):
            for role in ("collateral", "debt"):
                asset = getattr(pop, role)
                if asset not in self.reserves:
                    raise KeyedValueError(
                        f"populations[{i}].{role}",
                        f"expected one of the reserves {sorted(self.reserves)}, was {asset!r}",
                    )
            if pop.collateral == pop.debt:
                raise KeyedValueError(
                    f"populations[{i}].debt",
                    f"collateral and debt must differ, both are {pop.debt!r}",
                )
        return self

    def _check_multi(self) -> None:  # noqa: C901 - one check per rule, each naming its field
        for cid, cat in self.emode_categories.items():
            if not 1 <= cid <= 255:
                raise KeyedValueError(f"emode_categories.{cid}", "expected an id in 1..255")
            for role in ("collateral_assets", "borrowable_assets"):
                for asset in getattr(cat, role):
                    if asset not in self.reserves:
                        raise KeyedValueError(
                            f"emode_categories.{cid}.{role}",
                            f"expected one of the reserves {sorted(self.reserves)}, was {asset!r}",
                        )
        for i, pop in enumerate(self.multi_populations):
            where = f"multi_populations[{i}]"
            for role in ("collateral", "debt"):
                for asset in getattr(pop, role):
                    if asset not in self.reserves:
                        raise KeyedValueError(
                            f"{where}.{role}",
                            f"expected one of the reserves {sorted(self.reserves)}, was {asset!r}",
                        )
            if pop.emode:
                category = self.emode_categories.get(pop.emode)
                if category is None:
                    raise KeyedValueError(
                        f"{where}.emode",
                        f"expected one of the e-mode categories {sorted(self.emode_categories)}"
                        f" or 0, was {pop.emode} (INCONSISTENT_EMODE_CATEGORY)",
                    )
                bad = sorted(set(pop.debt) - set(category.borrowable_assets))
                if bad:
                    raise KeyedValueError(
                        f"{where}.debt",
                        f"e-mode {pop.emode} cannot borrow {bad} (NOT_BORROWABLE_IN_EMODE)",
                    )
            isolated = [a for a in pop.collateral if self.reserves[a].debt_ceiling_usd > 0]
            if isolated:
                if len(pop.collateral) != 1:
                    raise KeyedValueError(
                        f"{where}.collateral",
                        f"isolated collateral {isolated} must be an account's only collateral",
                    )
                bad = sorted(a for a in pop.debt if not self.reserves[a].borrowable_in_isolation)
                if bad:
                    raise KeyedValueError(
                        f"{where}.debt",
                        f"{bad} not borrowable in isolation (ASSET_NOT_BORROWABLE_IN_ISOLATION)",
                    )
