"""Scenario parameters of a Compound v2 market (Comptroller plus cTokens).

Defaults are mainnet's in November 2020 (crashes.md §4, compound-protocol ``networks/mainnet.json``
and ``Comptroller.sol``): close factor 50 %, liquidation incentive 8 %, and no protocol seize
share (``protocolSeizeShareMantissa`` = 2.8 % arrived with the 2021 cToken upgrade; set it for
later dates).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protosim.errors import KeyedValueError
from protosim.protocols.distributions import LognormalUsd, UniformRange


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JumpRateParams(_Strict):
    """A ``JumpRateModel`` (v1) or ``JumpRateModelV2`` in per-year terms, as deployed."""

    version: Literal["v1", "v2"] = "v2"
    base_rate_per_year: float = Field(ge=0, le=10)
    multiplier_per_year: float = Field(ge=0, le=100)
    jump_multiplier_per_year: float = Field(ge=0, le=1_000)
    kink: float = Field(gt=0, le=1)


class CTokenParams(_Strict):
    """One cToken market: its oracle, collateral factor and the totals it starts from.

    The totals describe the whole market; the venue adds its populations' supplies and borrows
    to them, so `borrows` and `cash` are those of the accounts the book does not hold.
    """

    oracle: str
    """Id of the oracle that prices the underlying (``PriceOracle.getUnderlyingPrice``)."""
    decimals: int = Field(default=18, ge=0, le=36)
    """Decimals of the underlying (cTokens have 8)."""
    collateral_factor: float = Field(default=0.75, ge=0, le=0.9)
    """``collateralFactorMantissa`` as a fraction; the Comptroller caps it at 90 %."""
    reserve_factor: float = Field(default=0.0, ge=0, le=1)
    exchange_rate: float = Field(default=0.02, gt=0)
    """Underlying per cToken at the start (``exchangeRateStored``)."""
    cash: float = Field(default=0.0, ge=0)
    """Underlying held by the cToken besides the populations' supplies, whole tokens."""
    borrows: float = Field(default=0.0, ge=0)
    """Borrows of accounts outside the book, whole tokens."""
    reserves: float = Field(default=0.0, ge=0)
    """``totalReserves`` at the start, whole tokens."""
    interest_model: JumpRateParams | None = None
    """Interest model; without one the borrow rate is zero and the indices stay put."""


class PopulationParams(_Strict):
    """A synthetic group of borrowers, each supplying one market and borrowing another.

    Collateral sizes and health factors are drawn from the venue's random stream; the borrow
    follows: ``borrow_usd = collateral_usd · CF / HF`` at the oracle prices at t = 0, where
    ``HF = sumCollateral / sumBorrow`` of ``getAccountLiquidity``.
    """

    accounts: int = Field(gt=0, le=50_000_000)
    collateral: str
    debt: str
    collateral_usd: LognormalUsd | UniformRange = Field(discriminator="kind")
    health_factor: UniformRange


class CompoundV2Params(_Strict):
    """A Compound v2 Comptroller, its cToken markets and their borrowers."""

    chain: str
    markets: dict[str, CTokenParams] = Field(min_length=1)
    """cToken markets by underlying asset id."""
    close_factor: float = Field(default=0.5, ge=0.05, le=0.9)
    """``closeFactorMantissa``; the Comptroller bounds it to [5 %, 90 %]."""
    liquidation_incentive: float = Field(default=1.08, ge=1.0, le=1.5)
    """``liquidationIncentiveMantissa`` as a multiplier (1.08 = 8 % bonus)."""
    protocol_seize_share: float = Field(default=0.0, ge=0, le=1)
    """``protocolSeizeShareMantissa``: 0 before the 2021 upgrade, 0.028 after."""
    populations: tuple[PopulationParams, ...] = ()
    recheck_interval_s: float = Field(default=60.0, gt=0)
    """While accounts stay in shortfall without a new price (declined, waiting out congestion),
    offer them to keepers again this often."""

    @model_validator(mode="after")
    def _populations_use_markets(self) -> CompoundV2Params:
        for i, pop in enumerate(self.populations):
            for role in ("collateral", "debt"):
                asset = getattr(pop, role)
                if asset not in self.markets:
                    raise KeyedValueError(
                        f"populations[{i}].{role}",
                        f"expected one of the markets {sorted(self.markets)}, was {asset!r}",
                    )
            if pop.collateral == pop.debt:
                raise KeyedValueError(
                    f"populations[{i}].debt",
                    f"expected a debt market other than the collateral, both are {pop.debt!r}",
                )
            if self.markets[pop.collateral].collateral_factor == 0:
                raise KeyedValueError(
                    f"populations[{i}].collateral",
                    f"market {pop.collateral!r} has collateral_factor 0: nothing can borrow on it",
                )
        return self
