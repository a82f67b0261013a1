"""Stochastic and correlated paths through the scenario format."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from protosim import Scenario, ScenarioError, Simulation


def _scenario(assets: list[dict[str, Any]], **extra: Any) -> Scenario:
    return Scenario.from_dict({"name": "paths", "horizon_s": 3_600.0, "assets": assets, **extra})


def test_common_jump_moves_each_asset_of_a_group_by_its_change() -> None:
    """BTC −15% and SOL −40% over ten minutes at t = 600, with no diffusion: prices end at
    exactly 0.85 and 0.60 of where they started."""
    group = {
        "id": "crypto",
        "assets": {
            "BTC": {"p0": 100_000.0, "sigma_per_year": 0.0},
            "SOL": {"p0": 200.0, "sigma_per_year": 0.0},
        },
        "correlation": [[1.0, 0.8], [0.8, 1.0]],
        "jumps": [{"changes": {"BTC": -0.15, "SOL": -0.4}, "at_s": [600.0], "duration_s": 600.0}],
    }
    scenario = _scenario(
        [{"id": a, "path": {"kind": "group", "group": "crypto"}} for a in ("BTC", "SOL")],
        path_groups=[group],
    )
    market = Simulation(scenario, seed=3).context.market
    assert market.reference_price("BTC", 1_300.0) == pytest.approx(85_000.0)
    assert market.reference_price("SOL", 1_300.0) == pytest.approx(120.0)
    assert market.reference_price("SOL", 900.0) == pytest.approx(200.0 * 0.6**0.5)


def test_group_without_parameters_for_an_asset_names_it() -> None:
    """An asset pointing at a group that lacks it fails with the key path."""
    group = {
        "id": "g",
        "assets": {"BTC": {"p0": 1.0, "sigma_per_year": 0.1}},
        "correlation": [[1.0]],
    }
    with pytest.raises(ScenarioError, match=r"assets\[0\].path.group"):
        _scenario([{"id": "ETH", "path": {"kind": "group", "group": "g"}}], path_groups=[group])


def test_jump_diffusion_and_garch_paths_build_with_named_streams() -> None:
    """Each stochastic kind builds a path from its own stream: same seed, same path."""
    assets = [
        {
            "id": "A",
            "path": {
                "kind": "jump_diffusion",
                "p0": 10.0,
                "sigma_per_year": 0.5,
                "jump_intensity_per_year": 50.0,
                "jump_mean": -0.05,
                "jump_sigma": 0.02,
            },
        },
        {
            "id": "B",
            "path": {"kind": "garch", "p0": 10.0, "omega": 1e-9, "alpha": 0.05, "beta": 0.9},
        },
    ]
    one = Simulation(_scenario(assets), seed=5).context.market
    two = Simulation(_scenario(assets), seed=5).context.market
    for asset in ("A", "B"):
        assert np.array_equal(one.path(asset).prices, two.path(asset).prices)
        assert one.path(asset).prices[0] == 10.0


def test_bootstrap_path_resamples_real_returns(shared_dir: object) -> None:
    """A bootstrap of the Oct 2025 ETH 5-minute returns starts at the file's first open and
    steps every 5 minutes by returns that occur in the file."""
    from pathlib import Path

    from protosim.paths import load_ohlc_csv, log_returns_from_bars

    csv = Path(str(shared_dir)) / "data/prices/oct-2025/binance_ETHUSDT_5m.csv"
    scenario = Scenario.from_dict(
        {
            "name": "boot",
            "horizon_s": 86_400.0,
            "assets": [
                {"id": "ETH", "path": {"kind": "bootstrap", "file": str(csv), "block_len": 6}}
            ],
        }
    )
    path = Simulation(scenario, seed=1).context.market.path("ETH")
    bars = load_ohlc_csv(csv)
    assert path.dt_s == 300.0
    assert path.prices[0] == pytest.approx(bars.open[0])
    steps = np.diff(np.log(path.prices))
    real = log_returns_from_bars(bars)
    assert np.isin(np.round(steps, 12), np.round(real, 12)).all()
