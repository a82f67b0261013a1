"""Distributions that venue populations are drawn from (sizes, health factors, leverage).

One definition for every venue, so a scenario says ``{ kind = "lognormal", median = …,
sigma = … }`` the same way for an Aave, Compound, Maker or perp population, and each draws it
with the same calls on its named random stream.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["LognormalUsd", "UniformRange"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LognormalUsd(_Strict):
    """Sizes in USD drawn log-normally around a median: ``median · exp(σ · Z)``."""

    kind: Literal["lognormal"]
    median: float = Field(gt=0, allow_inf_nan=False)
    sigma: float = Field(ge=0, allow_inf_nan=False)

    def draw(self, rng: np.random.Generator, shape: int | tuple[int, ...]) -> NDArray[np.float64]:
        """Return draws of `shape` from `rng`.

        Examples
        --------
        >>> LognormalUsd(kind="lognormal", median=100.0, sigma=0.0).draw(
        ...     np.random.default_rng(0), 3).tolist()
        [100.0, 100.0, 100.0]
        """
        out: NDArray[np.float64] = self.median * np.exp(self.sigma * rng.standard_normal(shape))
        return out


class UniformRange(_Strict):
    """Values drawn uniformly from ``[low, high]``."""

    kind: Literal["uniform"]
    low: float = Field(gt=0, allow_inf_nan=False)
    high: float = Field(gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> UniformRange:
        if self.high < self.low:
            raise ValueError(f"expected high >= low, was {self.high} < {self.low}")
        return self

    def draw(self, rng: np.random.Generator, shape: int | tuple[int, ...]) -> NDArray[np.float64]:
        """Return draws of `shape` from `rng`.

        Examples
        --------
        >>> UniformRange(kind="uniform", low=2.0, high=2.0).draw(
        ...     np.random.default_rng(0), 2).tolist()
        [2.0, 2.0]
        """
        out: NDArray[np.float64] = rng.uniform(self.low, self.high, shape)
        return out
