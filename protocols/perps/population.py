"""The accounts a perp venue starts with: explicit ones from the scenario, then synthetic
populations drawn from the venue's random streams (as the Aave venue draws its borrowers).

A population is described by what a risk desk knows of a venue: open interest, the long/short
split, the leverage distribution, the margin mode and, on a unified-margin venue, how much of
each account's equity sits in each collateral asset. Draws are vectorized (millions of accounts
in a few numpy calls) and come from one stream per population, ``population.<venue>.<i>``, so
adding a population or a venue leaves the others' accounts unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from protosim.protocols.perps.book import MarketBook, TableArrays, VenueBook
from protosim.protocols.perps.params import AccountParams, PerpPopulationParams, PerpVenueParams

__all__ = ["BookParts", "build_book", "draw_population"]

FloatArray = NDArray[np.float64]


@dataclass(slots=True)
class BookParts:
    """Arrays of accounts and positions collected before the book is assembled."""

    wallet: list[FloatArray] = field(default_factory=list)
    collateral: dict[str, list[FloatArray]] = field(default_factory=dict)
    account: dict[str, list[NDArray[np.int64]]] = field(default_factory=dict)
    size: dict[str, list[FloatArray]] = field(default_factory=dict)
    entry: dict[str, list[FloatArray]] = field(default_factory=dict)
    margin: dict[str, list[FloatArray]] = field(default_factory=dict)
    isolated: dict[str, list[NDArray[np.bool_]]] = field(default_factory=dict)
    accounts: int = 0

    def add_positions(
        self,
        market: str,
        account: NDArray[np.int64],
        size: FloatArray,
        entry: FloatArray,
        margin: FloatArray,
        isolated: NDArray[np.bool_],
    ) -> None:
        """Append rows to `market`."""
        for store, value in (
            (self.account, account),
            (self.size, size),
            (self.entry, entry),
            (self.margin, margin),
            (self.isolated, isolated),
        ):
            store.setdefault(market, []).append(value)  # type: ignore[arg-type]


def _explicit(parts: BookParts, accounts: Sequence[AccountParams], assets: Sequence[str]) -> None:
    n = len(accounts)
    if n == 0:
        return
    first = parts.accounts
    parts.wallet.append(np.asarray([a.wallet_usd for a in accounts], dtype=np.float64))
    for asset in assets:
        parts.collateral.setdefault(asset, []).append(
            np.asarray([a.collateral.get(asset, 0.0) for a in accounts], dtype=np.float64)
        )
    for i, account in enumerate(accounts):
        for position in account.positions:
            iso = position.isolated_margin is not None
            parts.add_positions(
                position.market,
                np.asarray([first + i], dtype=np.int64),
                np.asarray([position.size]),
                np.asarray([position.entry_price]),
                np.asarray([position.isolated_margin if iso else 0.0]),
                np.asarray([iso]),
            )
    parts.accounts += n


def draw_population(
    parts: BookParts,
    pop: PerpPopulationParams,
    rng: np.random.Generator,
    *,
    marks: Mapping[str, float],
    tables: Mapping[str, TableArrays],
    collateral_prices: Mapping[str, float],
    collateral_rates: Mapping[str, float],
    assets: Sequence[str],
) -> None:
    """Draw `pop`'s accounts and positions into `parts`.

    Per position: a notional (scaled so the population totals ``notional_usd`` if given), a side
    (long with probability ``long_share``) and an entry ``mark · exp(N(0, dispersion))``. Per
    account: a leverage, so the equity at the starting marks is ``Σ notional / leverage``, but
    never less than the initial margin at each tier's maximum leverage. A cross account's equity
    is split into collateral (each asset's share, valued after its haircut) and a USD wallet
    that absorbs the starting unrealized PnL; an isolated position's margin does instead.
    """
    n = pop.accounts
    k = len(pop.markets)
    size_spec = pop.position_usd
    notional = size_spec.draw(rng, (k, n))
    if pop.notional_usd is not None:
        notional *= pop.notional_usd / float(notional.sum())
    long = rng.random((k, n)) < pop.long_share
    leverage = pop.leverage.draw(rng, n)
    dispersion = (
        np.exp(pop.entry_dispersion * rng.standard_normal((k, n)))
        if pop.entry_dispersion > 0
        else np.ones((k, n))
    )
    # The equity must cover the initial margin of every position at its tier's max leverage.
    floor_im = np.zeros(n)
    for j, market in enumerate(pop.markets):
        floor_im += notional[j] / tables[market].max_leverage_at(notional[j])
    equity = np.maximum(notional.sum(axis=0) / leverage, floor_im)
    del leverage, floor_im
    ids = np.arange(parts.accounts, parts.accounts + n, dtype=np.int64)
    upnl_total = np.zeros(n)
    isolated = pop.margin_mode == "isolated"
    for j, market in enumerate(pop.markets):
        mark = marks[market]
        size = np.where(long[j], 1.0, -1.0) * notional[j] / mark
        entry = mark * dispersion[j]
        upnl = size * (mark - entry)
        upnl_total += upnl
        if isolated:
            margin = equity - upnl
            parts.add_positions(market, ids, size, entry, margin, np.ones(n, dtype=np.bool_))
        else:
            parts.add_positions(market, ids, size, entry, np.zeros(n), np.zeros(n, dtype=np.bool_))
    share_total = 0.0
    for asset in assets:
        share = pop.collateral.get(asset, 0.0)
        share_total += share
        quantity = share * equity / (collateral_prices[asset] * collateral_rates[asset])
        parts.collateral.setdefault(asset, []).append(
            quantity if share else np.zeros(n, dtype=np.float64)
        )
    if isolated:
        parts.wallet.append(np.zeros(n))
    else:
        parts.wallet.append((1.0 - share_total) * equity - upnl_total)
    parts.accounts += n


def build_book(
    params: PerpVenueParams,
    *,
    marks: Mapping[str, float],
    collateral_prices: Mapping[str, float],
    streams: Sequence[np.random.Generator],
) -> VenueBook:
    """Return the venue's book: explicit accounts first (ids 0, 1, …), then each population.

    Parameters
    ----------
    params : PerpVenueParams
        The venue's parameters.
    marks : mapping of str to float
        Starting mark per market.
    collateral_prices : mapping of str to float
        Starting index price per collateral asset.
    streams : sequence of numpy.random.Generator
        One random stream per population, in order.
    """
    tables = {m: TableArrays.of(p.margin_table()) for m, p in params.markets.items()}
    assets = tuple(params.collateral)
    rates = {a: c.collateral_rate for a, c in params.collateral.items()}
    parts = BookParts()
    _explicit(parts, params.accounts, assets)
    for pop, rng in zip(params.populations, streams, strict=True):
        draw_population(
            parts,
            pop,
            rng,
            marks=marks,
            tables=tables,
            collateral_prices=collateral_prices,
            collateral_rates=rates,
            assets=assets,
        )
    books = {}
    for market_id, market in params.markets.items():
        books[market_id] = MarketBook(
            market_id,
            market.margin_table(),
            account=_cat(parts.account.get(market_id), np.int64),
            size=_cat(parts.size.get(market_id), np.float64),
            entry=_cat(parts.entry.get(market_id), np.float64),
            margin=_cat(parts.margin.get(market_id), np.float64),
            isolated=_cat(parts.isolated.get(market_id), np.bool_),
        )
    return VenueBook(
        wallet=_cat(parts.wallet, np.float64),
        collateral={a: _cat(parts.collateral.get(a), np.float64) for a in assets},
        markets=books,
        collateral_rates=rates,
        liquidation_unimmr=params.liquidation_unimmr,
    )


def _cat(chunks: Sequence[NDArray[Any]] | None, dtype: type[np.generic]) -> NDArray[Any]:
    if not chunks:
        return np.empty(0, dtype=dtype)
    if len(chunks) == 1:
        return np.asarray(chunks[0], dtype=dtype)
    return np.concatenate(chunks).astype(dtype, copy=False)
