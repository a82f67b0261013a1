"""Market impact models (mechanics §12): how a trade's size moves a venue's price.

Each model answers one question: given the venue's price before a trade and the signed
quantity traded, what does the trader pay or receive, and where does the price end? Both models
here are pure and stateless between trades; the `Market` keeps the displaced price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Fill:
    """What a trade did: USD notional exchanged and the price after it."""

    quantity: float
    """Signed quantity bought (+) or sold (-)."""
    notional_usd: float
    """USD paid for a buy, received for a sell (always >= 0)."""
    price_after: float

    @property
    def average_price(self) -> float:
        """USD per unit over the whole fill."""
        return self.notional_usd / abs(self.quantity) if self.quantity else math.nan


class ImpactModel(Protocol):
    """A rule turning a trade's size into proceeds and a new price."""

    def fill(self, price: float, quantity: float) -> Fill:
        """Return the fill of a trade of signed `quantity` at pre-trade `price`."""
        ...

    def sell_proceeds(self, price: float, quantities: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the USD each of `quantities` (>= 0) would fetch if sold alone now."""
        ...

    def quantity_for_price(self, price: float, target: float) -> float:
        """Return the signed quantity one trade needs to move the price from `price` to `target`."""
        ...

    def scaled(self, depth: float) -> ImpactModel:
        """Return the same model with its liquidity multiplied by `depth` (0 < depth <= 1)."""
        ...


@dataclass(frozen=True, slots=True)
class ConstantProductPool:
    """Uniswap v2-style pool ``x · y = k`` against a USD stablecoin (mechanics §12.1).

    The fee is taken from the input and kept outside the reserves, so ``k`` is the same before
    and after every trade and the price after it is ``k / x'²`` (mechanics §12.1 writes the
    fee-inclusive variant ``(y − Δy)/(x + Δx)``, which differs by about ``f · Δx / x``).

    The pool's liquidity is fixed by its USD depth at a reference price: with ``y0 = depth_usd``
    USD and ``x0 = depth_usd / p0`` tokens, ``k = depth_usd² / p0``. At any price ``p`` the
    reserves are ``x = √(k/p)`` and ``y = √(k·p)``, which is where arbitrage keeps a pool
    between trades.

    Parameters
    ----------
    depth_usd : float
        USD reserve of the pool at `reference_price`.
    reference_price : float
        The price at which `depth_usd` is measured.
    fee_bps : float
        Swap fee taken from the input, in basis points (30 for Uniswap v2).

    Examples
    --------
    Selling 1 token into a fee-less pool of 100 tokens and 100,000 USD (price 1,000) returns
    ``100000 − 100·100000/101 = 990.099…`` USD and leaves the price at ``(100/101)² · 1000``:

    >>> pool = ConstantProductPool(depth_usd=100_000.0, reference_price=1_000.0, fee_bps=0.0)
    >>> f = pool.fill(1_000.0, -1.0)
    >>> round(f.notional_usd, 6), round(f.price_after, 6)
    (990.09901, 980.296049)
    """

    depth_usd: float
    reference_price: float
    fee_bps: float = 30.0

    def __post_init__(self) -> None:
        if not self.depth_usd > 0:
            raise ValueError(f"expected depth_usd > 0, was {self.depth_usd}")
        if not self.reference_price > 0:
            raise ValueError(f"expected reference_price > 0, was {self.reference_price}")
        if not 0 <= self.fee_bps < 10_000:
            raise ValueError(f"expected 0 <= fee_bps < 10000, was {self.fee_bps}")

    @property
    def k(self) -> float:
        """The invariant ``x · y`` in token·USD."""
        return self.depth_usd**2 / self.reference_price

    def scaled(self, depth: float) -> ConstantProductPool:
        """Return the pool with its reserves multiplied by `depth` (liquidity withdrawn)."""
        return replace(self, depth_usd=self.depth_usd * depth)

    def fill(self, price: float, quantity: float) -> Fill:
        """Return the fill of a trade of signed `quantity` at pool price `price`."""
        k = self.k
        x = math.sqrt(k / price)
        y = math.sqrt(k * price)
        keep = 1.0 - self.fee_bps / 10_000
        # Δy = y·Δx/(x + Δx) rather than y − k/x': the difference of two near-equal numbers
        # would lose the small trades of a deep pool to cancellation.
        if quantity <= 0:
            dx = -quantity * keep
            x_after = x + dx
            return Fill(quantity, y * dx / x_after, k / (x_after * x_after))
        if quantity >= x:
            raise ValueError(f"cannot buy {quantity} from a pool holding {x}")
        x_after = x - quantity
        return Fill(quantity, y * quantity / x_after / keep, k / (x_after * x_after))

    def quantity_for_price(self, price: float, target: float) -> float:
        """Return the signed quantity that moves the pool price from `price` to `target`.

        The price is ``k / x²``, so the pool must hold ``x' = √(k / target)`` tokens: a buy
        takes ``x − x'`` out; a sale puts ``(x' − x) / (1 − fee)`` in (the fee stays outside).

        Examples
        --------
        Doubling the price of a 100-token pool needs ``100 − 100/√2 = 29.29`` tokens bought:

        >>> pool = ConstantProductPool(depth_usd=100_000.0, reference_price=1_000.0, fee_bps=0.0)
        >>> round(pool.quantity_for_price(1_000.0, 2_000.0), 4)
        29.2893
        """
        if not target > 0:
            raise ValueError(f"expected a target price > 0, was {target}")
        k = self.k
        x = math.sqrt(k / price)
        x_target = math.sqrt(k / target)
        if x_target < x:
            return x - x_target
        return -(x_target - x) / (1.0 - self.fee_bps / 10_000)

    def sell_proceeds(self, price: float, quantities: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the USD each of `quantities` would fetch if sold alone at `price`."""
        k = self.k
        x = math.sqrt(k / price)
        y = math.sqrt(k * price)
        dx = quantities * (1.0 - self.fee_bps / 10_000)
        out: NDArray[np.float64] = y * dx / (x + dx)
        return out


@dataclass(frozen=True, slots=True)
class SquareRootBook:
    """Order-book impact by the square-root law (mechanics §12.4).

    ``ΔP/P = Y · σ_daily · √(Q / V_daily)`` with `Q` and `V_daily` in USD. The price moves
    multiplicatively, ``P' = P · exp(∓ Y σ √(Q/V))``, which equals the linear form for small
    trades and never crosses zero; the fill's average price sits at two thirds of the final
    move (the integral of a square root), minus the taker fee.

    The law holds for a *metaorder*, the whole of a sequence of trades in one direction, not
    for each child order (Tóth et al. 2011; Bouchaud et al., *Trades, Quotes and Prices*,
    ch. 12): `outstanding_usd` is the signed notional whose impact is still in the price (the
    market keeps it from the venue's displacement, which decays with its recovery half-life),
    and a trade continues it. N orders in a row therefore move the price exactly as one order
    of their total does, not √N times more. With `outstanding_usd` = 0 a trade is a fresh
    metaorder.

    Parameters
    ----------
    daily_volume_usd : float
        Typical daily traded volume, USD.
    daily_volatility : float
        Daily volatility of returns (0.04 = 4%).
    impact_coefficient : float
        The constant `Y` (0.5 to 1 in the literature; Tóth et al. 2011).
    fee_bps : float
        Taker fee, basis points.
    outstanding_usd : float
        Signed notional of the metaorder in progress (negative: selling).

    Examples
    --------
    Selling 1% of daily volume with σ = 4% and Y = 1 moves the price by ``1 − e^{−0.004}``:

    >>> book = SquareRootBook(daily_volume_usd=1e9, daily_volatility=0.04, fee_bps=0.0)
    >>> f = book.fill(100.0, -1e5)
    >>> round(f.price_after, 6)
    99.600799

    Four sales of a quarter of that ($2.5M each), each continuing the last, end at the same
    price, and the venue's displacement says how much of the metaorder is outstanding:

    >>> price = 100.0
    >>> for i in range(4):
    ...     continued = replace(book, outstanding_usd=-2.5e6 * i)
    ...     price = continued.fill(price, -2.5e6 / price).price_after
    >>> round(price, 6)
    99.600799
    >>> round(book.continuing(math.log(price / 100.0)).outstanding_usd)
    -10000000
    """

    daily_volume_usd: float
    daily_volatility: float
    impact_coefficient: float = 1.0
    fee_bps: float = 0.0
    outstanding_usd: float = 0.0

    def __post_init__(self) -> None:
        if not self.daily_volume_usd > 0:
            raise ValueError(f"expected daily_volume_usd > 0, was {self.daily_volume_usd}")
        if not self.daily_volatility > 0:
            raise ValueError(f"expected daily_volatility > 0, was {self.daily_volatility}")
        if not self.impact_coefficient > 0:
            raise ValueError(f"expected impact_coefficient > 0, was {self.impact_coefficient}")
        if not 0 <= self.fee_bps < 10_000:
            raise ValueError(f"expected 0 <= fee_bps < 10000, was {self.fee_bps}")
        if not math.isfinite(self.outstanding_usd):
            raise ValueError(f"expected a finite outstanding_usd, was {self.outstanding_usd}")

    def scaled(self, depth: float) -> SquareRootBook:
        """Return the book with its traded volume (the depth it stands for) scaled by `depth`."""
        return replace(self, daily_volume_usd=self.daily_volume_usd * depth)

    @property
    def _scale(self) -> float:
        return self.impact_coefficient * self.daily_volatility

    def continuing(self, log_displacement: float) -> SquareRootBook:
        """Return the book with the metaorder whose impact is `log_displacement` (the venue's
        log price offset from trades) in progress: ``Q = ±V · (d / (Y σ))²``.
        """
        outstanding = self.daily_volume_usd * (log_displacement / self._scale) ** 2
        return replace(self, outstanding_usd=math.copysign(outstanding, log_displacement))

    def _log_level(self, signed_usd: float | NDArray[np.float64]) -> NDArray[np.float64]:
        # The log displacement of a metaorder of signed notional Q: sign(Q) Y σ √(|Q|/V).
        q = np.asarray(signed_usd, dtype=np.float64)
        return np.asarray(np.sign(q) * self._scale * np.sqrt(np.abs(q) / self.daily_volume_usd))

    def _moves(
        self, signed_usd: float | NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        # (final, average) log move of continuing the metaorder by `signed_usd`. The average
        # is the mean log level over the fill, ∫ sign(Q)√|Q| dQ = (2/3)|Q|^{3/2}, less the
        # level before; with nothing outstanding it is two thirds of the final move.
        q0 = self.outstanding_usd
        q = np.asarray(signed_usd, dtype=np.float64)
        q1 = q0 + q
        level0 = float(self._log_level(q0))
        final = self._log_level(q1) - level0
        antiderivative = (2.0 / 3.0) * self._scale / math.sqrt(self.daily_volume_usd)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_level = antiderivative * (np.abs(q1) ** 1.5 - abs(q0) ** 1.5) / q
        average = np.where(q == 0.0, 0.0, mean_level - level0)
        return final, np.asarray(average, dtype=np.float64)

    def fill(self, price: float, quantity: float) -> Fill:
        """Return the fill of a trade of signed `quantity` at mid `price`."""
        final, average = self._moves(quantity * price)
        sign = 1.0 if quantity > 0 else -1.0
        fee = 1.0 + sign * self.fee_bps / 10_000
        return Fill(
            quantity,
            abs(quantity) * price * math.exp(float(average)) * fee,
            price * math.exp(float(final)),
        )

    def quantity_for_price(self, price: float, target: float) -> float:
        """Return the signed quantity whose impact moves the mid from `price` to `target`:
        the metaorder's level goes from ``d0`` to ``d0 + ln(target/price)``, and
        ``Q = ±V · (d / (Y σ))²`` at each end.
        """
        if not target > 0:
            raise ValueError(f"expected a target price > 0, was {target}")
        level0 = float(self._log_level(self.outstanding_usd))
        level1 = level0 + math.log(target / price)
        q1 = math.copysign(self.daily_volume_usd * (level1 / self._scale) ** 2, level1)
        return (q1 - self.outstanding_usd) / price

    def sell_proceeds(self, price: float, quantities: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the USD each of `quantities` would fetch if sold alone at `price`."""
        _, average = self._moves(-quantities * price)
        out: NDArray[np.float64] = (
            quantities * price * np.exp(average) * (1.0 - self.fee_bps / 10_000)
        )
        return out
