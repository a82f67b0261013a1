"""Scenario parameters of a Maker (dss) venue: ilks, liquidations 1.0 or 2.0, the Vow, and the
urn populations (mechanics §3).

Amounts are given as the scenario author thinks of them (DAI, collateral tokens, fractions,
seconds) and converted to the contracts' wad/ray/rad integers at the venue's boundary. Defaults
of the Flipper are flip.sol's constructor values; those of the Clipper are ETH-A's (mechanics
§3.5).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protosim.protocols.distributions import LognormalUsd, UniformRange

__all__ = [
    "AbacusParams",
    "ClipParams",
    "FlipParams",
    "IlkParams",
    "MakerParams",
    "RatioBucket",
    "UrnPopulationParams",
    "VowParams",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FlipParams(_Strict):
    """A Flipper (liquidations 1.0): English then reverse auction (dss ``src/flip.sol``)."""

    beg: float = Field(default=0.05, ge=0, lt=1)
    """Minimum bid increase (tend) or lot decrease (dent), as a fraction (0.03 = 3 %)."""
    ttl_s: int = Field(default=3 * 3_600, gt=0)
    """Bid lifetime: the auction can be settled this long after the last bid."""
    tau_s: int = Field(default=2 * 86_400, gt=0)
    """Auction lifetime from kick."""


class AbacusParams(_Strict):
    """The Clipper's price-decrease function (dss ``src/abaci.sol``)."""

    kind: Literal["stairstep_exponential", "exponential", "linear"] = "stairstep_exponential"
    step_s: int = Field(default=90, gt=0)
    """Seconds between drops (stairstep only)."""
    cut: float = Field(default=0.99, gt=0, le=1)
    """Factor per step (stairstep) or per second (exponential)."""
    tau_s: int = Field(default=7_200, gt=0)
    """Seconds to reach zero (linear only)."""


class ClipParams(_Strict):
    """A Clipper (liquidations 2.0): Dutch auction (dss ``src/clip.sol``); defaults ETH-A 2025
    (mechanics §3.5).
    """

    buf: float = Field(default=1.10, gt=0)
    """Start price as a multiple of the OSM price."""
    tail_s: int = Field(default=7_200, gt=0)
    cusp: float = Field(default=0.45, gt=0, le=1)
    chip: float = Field(default=0.001, ge=0, lt=1)
    """Keeper reward as a fraction of ``tab``."""
    tip_dai: float = Field(default=250.0, ge=0)
    """Flat keeper reward."""
    calc: AbacusParams = AbacusParams()


class RatioBucket(_Strict):
    """A share of an ilk's debt held by urns collateralised between two ratios."""

    low: float = Field(gt=0)
    """Lowest collateral ratio (collateral value / debt, at the OSM price at t = 0)."""
    high: float = Field(gt=0)
    debt_share: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> RatioBucket:
        if self.high < self.low:
            raise ValueError(f"expected high >= low, was {self.high} < {self.low}")
        return self


class UrnPopulationParams(_Strict):
    """Synthetic urns of one ilk: debt sizes, total debt and the collateralisation distribution.

    Each urn's debt is drawn from `debt_dai` and the draws are scaled so they sum to
    `total_debt_dai`; each urn falls in a `collateral_ratio` bucket with probability equal to the
    bucket's ``debt_share`` and gets a ratio uniform within it; ``ink = debt · ratio / price``
    at the ilk's OSM price at t = 0.
    """

    urns: int = Field(gt=0)
    total_debt_dai: float = Field(gt=0)
    debt_dai: LognormalUsd | UniformRange
    collateral_ratio: tuple[RatioBucket, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _shares(self) -> UrnPopulationParams:
        total = sum(b.debt_share for b in self.collateral_ratio)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"expected collateral_ratio debt_share to sum to 1, was {total:g}")
        return self


class IlkParams(_Strict):
    """One collateral type: Vat, Spotter, Jug, Cat/Dog and its auction house."""

    collateral: str
    """Asset id of the collateral (the ilk's gem)."""
    oracle: str
    """Id of the OSM (the Spotter's ``pip``)."""
    mat: float = Field(default=1.5, gt=1)
    """Liquidation ratio (1.5 = 150 %)."""
    chop: float = Field(default=1.13, ge=1)
    """Liquidation penalty multiplier (1.13 = 13 %)."""
    duty_per_year: float = Field(default=0.0, ge=0, lt=10)
    """Stability fee, annual (Jug ``duty`` = (1 + this)^(1/year) per second)."""
    dust_dai: float = Field(default=0.0, ge=0)
    lump: float = Field(default=50.0, gt=0)
    """Liquidations 1.0: collateral per bite (Cat ``lump``)."""
    dunk_dai: float = Field(default=50_000.0, gt=0)
    """Liquidations 1.2: largest ``tab`` of one bite (Cat ``dunk``; 50,000 DAI in the 2020
    onboarding spells)."""
    hole_dai: float = Field(default=40e6, gt=0)
    """Liquidations 2.0: most DAI (``tab``) in auction for this ilk (Dog ``ilk.hole``)."""
    flip: FlipParams = FlipParams()
    clip: ClipParams = ClipParams()
    populations: tuple[UrnPopulationParams, ...] = ()


class VowParams(_Strict):
    """The Vow at t = 0 (dss ``src/vow.sol``)."""

    surplus_dai: float = Field(default=0.0, ge=0)
    """DAI held by the Vow (``joy``)."""
    wait_s: int = Field(default=0, ge=0)
    """Seconds before queued bad debt can be flogged."""
    sump_dai: float = Field(default=50_000.0, gt=0)
    """DAI raised per debt (flop) auction."""
    dump_mkr: float = Field(default=250.0, ge=0)
    """MKR offered at the start of a flop."""
    hump_dai: float = Field(default=0.0, ge=0)
    bump_dai: float = Field(default=10_000.0, ge=0)


class MakerParams(_Strict):
    """A Maker deployment on one chain."""

    chain: str
    liquidations: Literal["1.0", "1.2", "2.0"] = "2.0"
    """``1.0``: Cat (launch version, fixed ``lump``) and Flipper; ``1.2``: Cat with ``dunk``,
    ``box`` and ``litter`` (Aug 2020) and Flipper; ``2.0``: Dog and Clipper."""
    box_dai: float = Field(default=10e6, gt=0)
    """Liquidations 1.2: most DAI (``tab``) in Flipper auctions over all ilks (Cat ``box``)."""
    ilks: dict[str, IlkParams] = Field(min_length=1)
    hole_dai: float = Field(default=150e6, gt=0)
    """Liquidations 2.0: most DAI in auction over all ilks (Dog ``Hole``)."""
    vow: VowParams = VowParams()
    dai_asset: str | None = None
    """Asset id pricing DAI in USD for reporting; None means 1 USD."""
