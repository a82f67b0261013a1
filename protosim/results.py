"""`RunResult`: the event log, component metrics and price samples of one run, as tables."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from protosim.eventlog import EventLog
from protosim.events import BadDebtRealized, LiquidationExecuted, OracleUpdated, TradeExecuted

if TYPE_CHECKING:
    import pandas as pd

    from protosim.market import Market
    from protosim.scenario import Scenario


@dataclass(slots=True)
class PriceSamples:
    """Prices sampled at a fixed interval: time, asset, venue (or ``reference``), price."""

    t: list[float] = field(default_factory=list)
    asset: list[str] = field(default_factory=list)
    venue: list[str] = field(default_factory=list)
    price: list[float] = field(default_factory=list)

    def add(self, t: float, asset: str, venue: str, price: float) -> None:
        """Append one sample."""
        self.t.append(t)
        self.asset.append(asset)
        self.venue.append(venue)
        self.price.append(price)


@dataclass(slots=True)
class RunResult:
    """What a run produced.

    Attributes
    ----------
    scenario : Scenario
        The scenario that ran.
    seed : int
        The seed it ran with.
    log : EventLog
        Every event, with causes.
    component_metrics : dict
        End-of-run figures of each oracle, venue and agent, by component id.
    price_samples : PriceSamples
        Prices every ``scenario.price_sample_s``.
    """

    scenario: Scenario
    seed: int
    log: EventLog
    component_metrics: dict[str, dict[str, float]]
    price_samples: PriceSamples
    market: Market

    # -- tables -------------------------------------------------------------------------------

    @property
    def liquidations(self) -> pd.DataFrame:
        """One row per executed liquidation."""
        return self.log.frame(LiquidationExecuted)

    @property
    def oracle_updates(self) -> pd.DataFrame:
        """One row per oracle answer that landed."""
        return self.log.frame(OracleUpdated)

    @property
    def bad_debt(self) -> pd.DataFrame:
        """One row per account whose debt was left without collateral."""
        return self.log.frame(BadDebtRealized)

    @property
    def trades(self) -> pd.DataFrame:
        """One row per trade on a market venue."""
        return self.log.frame(TradeExecuted)

    @property
    def prices(self) -> pd.DataFrame:
        """Sampled prices: ``t``, ``asset``, ``venue`` (``reference``: exogenous), ``price``."""
        import pandas as pd

        s = self.price_samples
        return pd.DataFrame({"t": s.t, "asset": s.asset, "venue": s.venue, "price": s.price})

    @property
    def events(self) -> pd.DataFrame:
        """Every event as one row (fields of all kinds; absent ones empty), in ``seq`` order."""
        import pandas as pd

        return pd.DataFrame(list(self.log.iter_rows()))

    # -- figures ------------------------------------------------------------------------------

    def min_prices(self) -> dict[str, float]:
        """Lowest price of each asset over the run: the reference price (exact, at every path
        sample and shock boundary) under key ``ASSET``, and for each trading venue the lowest of
        its sampled prices and of the prices its trades left, under ``ASSET@venue``.
        """
        horizon = self.scenario.horizon_s
        out: dict[str, float] = {}
        for asset in self.market.assets:
            out[asset] = self.market.min_reference_price(asset, horizon)
        samples = self.price_samples
        pairs = list(zip(samples.venue, samples.price, strict=True))
        for venue_id, venue in self.market.venues.items():
            sampled = [price for v, price in pairs if v == venue_id]
            lowest = min(
                self.market.min_trade_price(venue_id),
                _lowest(sampled) if sampled else math.inf,
            )
            out[f"{venue.asset}@{venue_id}"] = lowest
        return out

    def accounts_liquidated(self) -> int:
        """Return how many distinct (venue, account) pairs were liquidated at least once."""
        venues, names = self.log.codes(LiquidationExecuted, "venue")
        accounts = self.log.column(LiquidationExecuted, "account")
        if accounts.size == 0:
            return 0
        # Sorted keys, counting where they change: np.unique hashes first, several times slower
        # on a crash's millions of liquidations.
        keys = np.sort(accounts * len(names) + venues)
        return 1 + int(np.count_nonzero(keys[1:] != keys[:-1]))

    def summary(self) -> dict[str, Any]:
        """Return the headline figures of the run as a flat dict (JSON-ready)."""
        log = self.log
        return {
            "scenario": self.scenario.name,
            "scenario_id": self.scenario.id,
            "seed": self.seed,
            "horizon_s": self.scenario.horizon_s,
            "events": len(log),
            "liquidations": log.count(LiquidationExecuted),
            "accounts_liquidated": self.accounts_liquidated(),
            "liquidated_debt_usd": log.total(LiquidationExecuted, "debt_repaid_usd"),
            "collateral_seized_usd": log.total(LiquidationExecuted, "collateral_seized_usd"),
            "bad_debt_usd": log.total(BadDebtRealized, "amount_usd"),
            "oracle_updates": log.count(OracleUpdated),
            "trades": log.count(TradeExecuted),
            "min_price": self.min_prices(),
        }

    # -- output -------------------------------------------------------------------------------

    def to_jsonl(self, path: str | Path) -> Path:
        """Write the event log as JSON Lines (byte-identical for the same scenario and seed)."""
        return self.log.to_jsonl(path)

    def to_parquet(self, directory: str | Path) -> list[Path]:
        """Write one Parquet file per event kind, plus ``prices.parquet``; return the paths."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for kind in self.log.kinds:
            frame = self.log.frame(kind)
            target = out / f"{kind.__name__}.parquet"
            _atomic_parquet(frame, target)
            written.append(target)
        target = out / "prices.parquet"
        _atomic_parquet(self.prices, target)
        written.append(target)
        return written

    def write(self, directory: str | Path) -> list[Path]:
        """Write events (JSONL and Parquet), prices, summary and metrics into `directory`."""
        out = Path(directory)
        written = self.to_parquet(out)
        written.append(self.to_jsonl(out / "events.jsonl"))
        summary = {"summary": self.summary(), "components": self.component_metrics}
        target = out / "summary.json"
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(target)
        written.append(target)
        return written


def _lowest(values: list[float]) -> float:
    """Return the lowest of `values` ignoring NaN (NaN if all are), as pandas' ``min`` does;
    a run's figures need no DataFrame.

    >>> _lowest([3.0, math.nan, 2.0]), _lowest([math.nan])
    (2.0, nan)
    """
    kept = [v for v in values if not math.isnan(v)]
    return min(kept) if kept else math.nan


def _atomic_parquet(frame: pd.DataFrame, target: Path) -> None:
    tmp = target.with_suffix(".parquet.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(target)
