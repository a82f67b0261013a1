"""VaR and expected shortfall against closed forms; per-run metrics against the event log."""

from __future__ import annotations

import math

import numpy as np
import pytest

from protosim import Simulation
from protosim.metrics import bootstrap, expected_shortfall, run_metrics, tail_table, value_at_risk
from protosim.testing import tiny_scenario


def test_var_of_uniform_losses_is_the_quantile() -> None:
    """For losses 1..1000 the 95% VaR is the 950th smallest, the 99% VaR the 990th."""
    losses = np.arange(1, 1001)
    assert value_at_risk(losses, 0.95) == 950.0
    assert value_at_risk(losses, 0.99) == 990.0


def test_es_of_uniform_losses_is_the_tail_mean() -> None:
    """ES95 of 1..1000 is the mean of 950..1000 = 975."""
    assert expected_shortfall(np.arange(1, 1001), 0.95) == pytest.approx(975.0)


def test_exponential_var_and_es_match_closed_form() -> None:
    """For Exp(1): VaR_a = −ln(1 − a), ES_a = VaR_a + 1 (memorylessness); 400k draws."""
    losses = np.random.default_rng(3).exponential(1.0, 400_000)
    for level in (0.95, 0.99):
        var = -math.log(1 - level)
        assert value_at_risk(losses, level) == pytest.approx(var, rel=0.02)
        assert expected_shortfall(losses, level) == pytest.approx(var + 1, rel=0.02)


def test_bootstrap_interval_brackets_the_true_value() -> None:
    """A 90% bootstrap interval of VaR95 from 4,000 Exp(1) draws contains −ln(0.05)."""
    losses = np.random.default_rng(5).exponential(1.0, 4_000)
    est = bootstrap(losses, "var", 0.95, resamples=400, seed=1)
    assert est.low <= -math.log(0.05) <= est.high
    assert est.low <= est.value <= est.high


def test_tail_table_reports_each_metric_and_level() -> None:
    """The table has one row per (metric, level) with the probability of a positive loss."""
    import pandas as pd

    runs = pd.DataFrame({"bad_debt_usd": [0.0, 0.0, 10.0, 20.0], "liquidated_usd": [1.0] * 4})
    table = tail_table(runs, levels=(0.5,))
    row = table[table.metric == "bad_debt_usd"].iloc[0]
    assert row["p_positive"] == 0.5
    assert row["var"] == 0.0  # the lower 50% quantile of (0, 0, 10, 20)


def test_run_metrics_agree_with_the_summary() -> None:
    """Per-run metrics restate the run's summary and component metrics."""
    result = Simulation(tiny_scenario(accounts=300, horizon_s=3_600.0), seed=2).run()
    metrics = run_metrics(result)
    summary = result.summary()
    assert metrics["liquidations"] == summary["liquidations"]
    assert metrics["liquidated_usd"] == pytest.approx(summary["liquidated_debt_usd"])
    assert metrics["aave.liquidations"] == summary["liquidations"]
