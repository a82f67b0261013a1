"""Risk metrics: per-run figures from a `RunResult`, and tail statistics across runs.

Per run: liquidated USD, bad debt, time to first bad debt, and whatever each component reports
(insurance fund drawdown and ADL notional once perp venues report them). Across runs: value at
risk and expected shortfall of a loss distribution at 95% and 99%, with bootstrap confidence
intervals from the sample (Gauntlet reports VaR95 of bad debt; Chainrisk runs 10,000 paths).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from protosim.events import BadDebtRealized, LiquidationExecuted, OracleUpdated

if TYPE_CHECKING:
    import pandas as pd

    from protosim.results import RunResult


def run_metrics(result: RunResult) -> dict[str, float]:
    """Return the headline figures of one run as a flat dict of floats.

    Keys: ``liquidations``, ``liquidated_usd``, ``bad_debt_usd``, ``deficit_usd``,
    ``time_to_first_bad_debt_s`` (NaN if none), ``oracle_updates``, ``min_price.<ASSET>``, and
    ``<component>.<metric>`` for every component metric.
    """
    log = result.log
    out: dict[str, float] = {
        "liquidations": float(log.count(LiquidationExecuted)),
        "liquidated_usd": log.total(LiquidationExecuted, "debt_repaid_usd"),
        "bad_debt_usd": log.total(BadDebtRealized, "amount_usd"),
        "oracle_updates": float(log.count(OracleUpdated)),
    }
    treatment, names = log.codes(BadDebtRealized, "treatment")
    amounts = log.column(BadDebtRealized, "amount_usd")
    deficit_code = names.index("deficit") if "deficit" in names else -1
    out["deficit_usd"] = float(amounts[treatment == deficit_code].sum())
    bad_times = log.column(BadDebtRealized, "t")
    out["time_to_first_bad_debt_s"] = float(bad_times.min()) if bad_times.size else math.nan
    for asset, price in result.min_prices().items():
        out[f"min_price.{asset}"] = float(price)
    for component, metrics in result.component_metrics.items():
        for name, value in metrics.items():
            out[f"{component}.{name}"] = float(value)
    return out


def value_at_risk(losses: ArrayLike, level: float) -> float:
    """Return the `level` quantile of `losses` (losses positive), the empirical VaR.

    Uses the lower empirical quantile: the smallest loss ``x`` with ``P(L <= x) >= level``.

    Examples
    --------
    >>> value_at_risk(np.arange(1, 101), 0.95)
    95.0
    """
    data = np.sort(np.asarray(losses, dtype=np.float64))
    if data.size == 0:
        raise ValueError("expected at least one loss")
    if not 0 < level < 1:
        raise ValueError(f"expected 0 < level < 1, was {level}")
    k = math.ceil(level * data.size) - 1
    return float(data[k])


def expected_shortfall(losses: ArrayLike, level: float) -> float:
    """Return the mean of the losses at or beyond the `level` VaR (the tail average).

    Examples
    --------
    >>> expected_shortfall(np.arange(1, 101), 0.95)
    97.5
    """
    data = np.sort(np.asarray(losses, dtype=np.float64))
    var = value_at_risk(data, level)
    return float(data[data >= var].mean())


@dataclass(frozen=True, slots=True)
class TailEstimate:
    """A tail statistic with a bootstrap confidence interval."""

    value: float
    low: float
    high: float


def bootstrap(
    losses: ArrayLike,
    statistic: str,
    level: float,
    *,
    confidence: float = 0.90,
    resamples: int = 1_000,
    seed: int = 0,
) -> TailEstimate:
    """Return ``var`` or ``es`` of `losses` at `level` with a percentile bootstrap interval."""
    data = np.asarray(losses, dtype=np.float64)
    fn = {"var": value_at_risk, "es": expected_shortfall}[statistic]
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, data.size, size=(resamples, data.size))
    stats = np.array([fn(data[row], level) for row in draws])
    alpha = (1 - confidence) / 2
    return TailEstimate(
        fn(data, level), float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))
    )


def tail_table(
    runs: pd.DataFrame,
    columns: tuple[str, ...] = ("bad_debt_usd", "liquidated_usd"),
    levels: tuple[float, ...] = (0.95, 0.99),
    *,
    confidence: float = 0.90,
    seed: int = 0,
) -> pd.DataFrame:
    """Return mean, VaR and ES (with bootstrap intervals) of each column at each level."""
    import pandas as pd

    rows = []
    for column in columns:
        data = runs[column].to_numpy(dtype=np.float64)
        data = data[np.isfinite(data)]
        if data.size == 0:
            continue
        for level in levels:
            var = bootstrap(data, "var", level, confidence=confidence, seed=seed)
            es = bootstrap(data, "es", level, confidence=confidence, seed=seed)
            rows.append(
                {
                    "metric": column,
                    "level": level,
                    "runs": int(data.size),
                    "mean": float(data.mean()),
                    "var": var.value,
                    "var_low": var.low,
                    "var_high": var.high,
                    "es": es.value,
                    "es_low": es.low,
                    "es_high": es.high,
                    "p_positive": float((data > 0).mean()),
                }
            )
    return pd.DataFrame(rows)


def group_summary(
    runs: pd.DataFrame, by: list[str], columns: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Return per-group mean and 95% VaR of bad debt and liquidations (a sweep's table)."""
    wanted = dict(columns or {"bad_debt_usd": "bad_debt", "liquidated_usd": "liquidated"})
    grouped = runs.groupby(by, sort=True)
    out = grouped.size().rename("runs").to_frame()
    for column, label in wanted.items():
        out[f"{label}_mean"] = grouped[column].mean()
        out[f"{label}_var95"] = grouped[column].apply(lambda s: value_at_risk(s.to_numpy(), 0.95))
    return out.reset_index()
