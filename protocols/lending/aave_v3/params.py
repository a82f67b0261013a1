"""Scenario parameters of an Aave v3 market (mechanics §1.1, §1.7)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protosim.errors import KeyedValueError
from protosim.protocols.lending.guards import OracleGuardParams


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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

    @model_validator(mode="after")
    def _consistent(self) -> ReserveParams:
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


class LognormalUsd(_Strict):
    """Position sizes in USD drawn log-normally around a median."""

    kind: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(ge=0)


class UniformRange(_Strict):
    """Values drawn uniformly from [low, high]."""

    kind: Literal["uniform"]
    low: float = Field(gt=0)
    high: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> UniformRange:
        if self.high < self.low:
            raise ValueError(f"expected high >= low, was {self.high} < {self.low}")
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


DEFAULT_PROTOCOL_FEE_BPS = 1_000
"""Liquidation protocol fee of Aave v3 reserves when a scenario does not set one (§1.7)."""


class AaveV3Params(_Strict):
    """An Aave v3 market: its chain, liquidation rules, reserves and borrowers."""

    chain: str
    rules: Literal["v3.3", "v3.0", "v2"] = "v3.3"
    """Close-factor and bad-debt rules: v3.3+ (deficit), v3.0–v3.2 or v2 (mechanics §1.3, §1.5)."""
    reserves: dict[str, ReserveParams] = Field(min_length=1)
    populations: tuple[PopulationParams, ...] = ()
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
