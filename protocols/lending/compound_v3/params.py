"""Scenario parameters of a Compound v3 (Comet) market and its keepers.

Defaults are cUSDCv3 on Ethereum at deployment (mechanics §2.5; compound-finance/comet
``deployments/mainnet/usdc/configuration.json``): store-front price factor 0.5, target reserves
5,000,000 USDC; WETH 0.825 / 0.895 / 0.95.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protosim.errors import KeyedValueError
from protosim.protocols.distributions import LognormalUsd, UniformRange


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CometAssetParams(_Strict):
    """One collateral asset of a Comet market (``AssetConfig``)."""

    oracle: str
    """Id of the oracle behind ``priceFeed`` (read with no staleness check, mechanics §2.5)."""
    borrow_collateral_factor: float = Field(default=0.825, ge=0, lt=1)
    liquidate_collateral_factor: float = Field(default=0.895, gt=0, le=1)
    liquidation_factor: float = Field(default=0.95, ge=0, le=1)
    """Share of the collateral's value credited to the account on ``absorb``."""

    @model_validator(mode="after")
    def _ordered(self) -> CometAssetParams:
        # Comet.getPackedAssetInternal: BorrowCFTooLarge unless borrowCF < liquidateCF.
        if self.borrow_collateral_factor >= self.liquidate_collateral_factor:
            raise ValueError(
                "expected borrow_collateral_factor < liquidate_collateral_factor (Comet's "
                f"BorrowCFTooLarge), was {self.borrow_collateral_factor} >= "
                f"{self.liquidate_collateral_factor}"
            )
        return self


class CometPopulationParams(_Strict):
    """A synthetic group of borrowers of the base asset, each posting one collateral asset.

    ``health_factor`` is the liquidation ratio ``Σ value · liquidateCF / debt``: below 1 the
    account can be absorbed. Debt follows: ``debt_usd = collateral_usd · liquidateCF / HF``.
    """

    accounts: int = Field(gt=0, le=50_000_000)
    collateral: str
    collateral_usd: LognormalUsd | UniformRange = Field(discriminator="kind")
    health_factor: UniformRange


class CometParams(_Strict):
    """A Comet market: base asset, collaterals, storefront and the starting borrowers."""

    chain: str
    base: str
    """The base asset's id (USDC for cUSDCv3)."""
    base_oracle: str
    assets: dict[str, CometAssetParams] = Field(min_length=1)
    store_front_price_factor: float = Field(default=0.5, ge=0, le=1)
    target_reserves: float = Field(default=5_000_000.0, ge=0)
    """``targetReserves`` in base tokens: ``buyCollateral`` reverts ``NotForSale`` at or above."""
    reserves: float = 0.0
    """``getReserves()`` at the start, base tokens (may be negative)."""
    populations: tuple[CometPopulationParams, ...] = ()
    recheck_interval_s: float = Field(default=60.0, gt=0)
    """Offer accounts still liquidatable to absorbers again this often without a new price."""

    @model_validator(mode="after")
    def _consistent(self) -> CometParams:
        if self.base in self.assets:
            raise KeyedValueError(
                f"assets.{self.base}", "the base asset cannot also be a collateral asset"
            )
        if not math.isfinite(self.reserves):
            raise KeyedValueError("reserves", f"expected a finite number, was {self.reserves}")
        for i, pop in enumerate(self.populations):
            if pop.collateral not in self.assets:
                raise KeyedValueError(
                    f"populations[{i}].collateral",
                    f"expected one of the assets {sorted(self.assets)}, was {pop.collateral!r}",
                )
        return self


class AbsorberParams(_Strict):
    """An account that calls ``absorb`` on liquidatable accounts (mechanics §2.3, §11.1).

    ``absorb`` pays the caller nothing but liquidator points (Comet's ``LiquidatorPoints``:
    ``approxSpend`` of gas, no token), so it acts while the gas per account stays within
    `max_gas_usd_per_account` (what the protocol or a buyer is willing to spend to open the
    storefront).
    """

    venue: str
    latency_s: float = Field(default=1.0, ge=0)
    gas_per_absorb: int = Field(default=250_000, gt=0)
    """Gas of absorbing one account (a few hundred thousand, mechanics §11.1)."""
    priority_fee_gwei: float = Field(default=2.0, ge=0)
    max_fee_gwei: float = Field(default=math.inf, gt=0)
    max_gas_usd_per_account: float = Field(default=math.inf, gt=0)


class BuyerParams(_Strict):
    """An arbitrageur buying Comet's collateral at the storefront and selling it on a market."""

    venue: str
    sell_on: dict[str, str] = Field(min_length=1)
    """Trading venue on which to sell each collateral asset it buys (assets not listed are
    not bought)."""
    latency_s: float = Field(default=1.0, ge=0)
    gas_per_buy: int = Field(default=350_000, gt=0)
    """``buyCollateral`` plus the swap."""
    priority_fee_gwei: float = Field(default=2.0, ge=0)
    max_fee_gwei: float = Field(default=math.inf, gt=0)
    min_profit_usd: float = Field(default=10.0, ge=0)
    capital_usd: float = Field(default=math.inf, gt=0)
    """Base (in USD) the buyer can pay per purchase and have in flight at once."""
    check_interval_s: float = Field(default=60.0, gt=0)
    """While collateral is for sale, look at the storefront again this often (markets recover,
    gas falls) even without a new block."""
