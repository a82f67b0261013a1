"""Tests of the stochastic builders of protosim.paths: Merton jump diffusion, GARCH(1,1), moving-
block bootstrap, correlated and one-factor GBM with common jumps.

Statistical checks compare a sample statistic with its exact value, within 5 standard errors
derived in each test; the seeds are fixed, so every run draws the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from protosim.paths import (
    SECONDS_PER_YEAR,
    CommonJump,
    FactorAsset,
    GbmAsset,
    PricePath,
    bootstrap_path,
    correlated_paths,
    factor_paths,
    garch_path,
    jump_diffusion_path,
    load_ohlc_csv,
    log_returns_from_bars,
)

DATA = Path(__file__).resolve().parent / "data"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
ETH_5M = SHARED / "data" / "prices" / "oct-2025" / "binance_ETHUSDT_5m.csv"
HOUR = 3600.0


def _log_returns(p: PricePath) -> NDArray[np.float64]:
    return np.diff(np.log(p.prices))


def _lag1_autocorrelation(x: NDArray[np.float64]) -> float:
    d = x - x.mean()
    return float(np.dot(d[:-1], d[1:]) / np.dot(d, d))


# --- jump diffusion -----------------------------------------------------------------------------


def test_jump_diffusion_log_returns_have_merton_mean_and_variance() -> None:
    """Log returns: mean (mu - s^2/2 - lam kappa + lam m) h, variance (s^2 + lam (m^2 + v^2)) h."""
    mu, sigma, lam, m, v = 0.2, 0.6, 500.0, -0.03, 0.02
    dt_s, n = HOUR, 200_001
    p = jump_diffusion_path(100.0, mu, sigma, lam, m, v, n * dt_s, dt_s, np.random.default_rng(1))
    r = _log_returns(p)
    h = dt_s / SECONDS_PER_YEAR
    kappa = math.exp(m + v**2 / 2) - 1
    mean = (mu - sigma**2 / 2 - lam * kappa) * h + lam * h * m
    var = sigma**2 * h + lam * h * (m**2 + v**2)
    # Returns are iid: SE of the mean sqrt(var / k); of the sample variance
    # sqrt((mu4 - var^2) / k), with the fourth central moment mu4 estimated from the sample.
    k = r.size
    mu4 = float(np.mean((r - r.mean()) ** 4))
    assert abs(r.mean() - mean) < 5 * math.sqrt(var / k)
    assert abs(r.var(ddof=1) - var) < 5 * math.sqrt((mu4 - var**2) / k)


def test_jump_diffusion_jump_counts_match_poisson_intensity() -> None:
    """With fixed jump sizes and no diffusion, jumps per step are Poisson with mean lam h."""
    lam, m, dt_s, n = 1000.0, -0.05, HOUR, 100_001
    p = jump_diffusion_path(1.0, 0.0, 0.0, lam, m, 0.0, n * dt_s, dt_s, np.random.default_rng(2))
    h = dt_s / SECONDS_PER_YEAR
    drift = -lam * math.expm1(m) * h  # the compensator is the only drift when mu = sigma = 0
    counts = (_log_returns(p) - drift) / m
    assert np.abs(counts - np.round(counts)).max() < 1e-6  # whole numbers of jumps per step
    k, rate = counts.size, lam * h
    # Poisson(rate) counts: SE of the mean sqrt(rate / k); the variance of a Poisson is its mean,
    # and the SE of a sample variance is sqrt((mu4 - rate^2) / k) with mu4 = rate + 3 rate^2.
    assert abs(counts.mean() - rate) < 5 * math.sqrt(rate / k)
    assert abs(counts.var(ddof=1) - rate) < 5 * math.sqrt((rate + 2 * rate**2) / k)


def test_jump_diffusion_expected_price_grows_at_mu() -> None:
    """The compensator keeps E[P_T] = p0 exp(mu T) over many paths; without it the mean is off."""
    p0, mu, sigma, lam, m, v = 100.0, 0.1, 0.5, 10.0, -0.1, 0.1
    dt_s = SECONDS_PER_YEAR / 8
    horizon_s = 9 * dt_s  # samples at 0, T/8, ..., T with T = 1 year
    rng = np.random.default_rng(3)
    ends = np.array(
        [
            jump_diffusion_path(p0, mu, sigma, lam, m, v, horizon_s, dt_s, rng).prices[-1]
            for _ in range(20_000)
        ]
    )
    expected = p0 * math.exp(mu * 1.0)
    se = ends.std(ddof=1) / math.sqrt(ends.size)  # paths are independent
    assert abs(ends.mean() - expected) < 5 * se
    # An uncompensated drift would give p0 exp((mu + lam kappa) T): tens of SEs away.
    uncompensated = p0 * math.exp(mu + lam * math.expm1(m + v**2 / 2))
    assert abs(uncompensated - expected) > 50 * se


def test_jump_diffusion_without_jumps_equals_gbm_and_same_seed_same_path() -> None:
    """lam = 0 gives GBM; equal seeds give equal paths; parameters are recorded in source."""
    a = jump_diffusion_path(50.0, 0.3, 0.9, 40.0, -0.2, 0.1, HOUR, 1.0, np.random.default_rng(4))
    b = jump_diffusion_path(50.0, 0.3, 0.9, 40.0, -0.2, 0.1, HOUR, 1.0, np.random.default_rng(4))
    np.testing.assert_array_equal(a.prices, b.prices)
    assert a.prices[0] == 50.0
    assert "lambda=40.0, jump_mean=-0.2" in a.source
    off = jump_diffusion_path(
        50.0, 0.0, 0.0, 0.0, -0.2, 0.1, 3 * 86_400.0, 86_400.0, np.random.default_rng(0)
    )
    assert off.prices.tolist() == [50.0, 50.0, 50.0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"jump_intensity_per_year": -1.0}, "jump_intensity_per_year >= 0"),
        ({"jump_sigma": -0.1}, "jump_sigma >= 0"),
        ({"jump_mean": math.nan}, "finite jump_mean"),
        ({"p0": 0.0}, "p0 > 0"),
    ],
)
def test_jump_diffusion_invalid_parameters_raise(kwargs: dict[str, float], match: str) -> None:
    """Negative intensity or jump sigma, a NaN jump mean or p0 <= 0 is a ValueError."""
    params = {
        "p0": 1.0,
        "mu_per_year": 0.0,
        "sigma_per_year": 0.5,
        "jump_intensity_per_year": 1.0,
        "jump_mean": -0.1,
        "jump_sigma": 0.1,
    } | kwargs
    with pytest.raises(ValueError, match=match):
        jump_diffusion_path(**params, horizon_s=60.0, dt_s=1.0, rng=np.random.default_rng(0))


# --- GARCH --------------------------------------------------------------------------------------


def test_garch_follows_the_variance_recursion_step_by_step() -> None:
    """r_t = mu + sigma_t Z_t, sigma_t^2 = omega + alpha (r_{t-1} - mu)^2 + beta sigma_{t-1}^2."""
    omega, alpha, beta, mu, v1 = 1e-6, 0.1, 0.85, 2e-4, 4e-4
    p = garch_path(10.0, omega, alpha, beta, 6.0, 1.0, np.random.default_rng(5), mu, v1)
    z = np.random.default_rng(5).standard_normal(5)
    var, expected = v1, []
    for zt in z:
        eps = math.sqrt(var) * zt
        expected.append(mu + eps)
        var = omega + alpha * eps**2 + beta * var
    np.testing.assert_allclose(_log_returns(p), expected, rtol=1e-9, atol=1e-15)
    assert p.prices[0] == 10.0


def test_garch_unconditional_variance_is_omega_over_one_minus_alpha_beta() -> None:
    """From the long-run variance, the mean shock^2 is omega / (1 - alpha - beta); mean r is mu."""
    omega, alpha, beta, mu, k = 2e-6, 0.1, 0.85, 1e-4, 200_000
    p = garch_path(
        1.0, omega, alpha, beta, (k + 1) * 1.0, 1.0, np.random.default_rng(6), mu_per_step=mu
    )
    r = _log_returns(p)
    v = omega / (1 - alpha - beta)
    phi = alpha + beta
    # Gaussian GARCH(1,1) moments (Bollerslev 1986; He and Teräsvirta 1999):
    # E[eps^4] = 3 v^2 (1 - phi^2) / (1 - phi^2 - 2 alpha^2), finite as 1 - phi^2 - 2 alpha^2 > 0;
    # the autocorrelations of eps^2 are rho_1 phi^(j-1) with
    # rho_1 = alpha (1 - alpha beta - beta^2) / (1 - 2 alpha beta - beta^2), so the long-run
    # variance of the mean of eps^2 is Var(eps^2) (1 + 2 rho_1 / (1 - phi)) / k.
    m4 = 3 * v**2 * (1 - phi**2) / (1 - phi**2 - 2 * alpha**2)
    rho1 = alpha * (1 - alpha * beta - beta**2) / (1 - 2 * alpha * beta - beta**2)
    se_var = math.sqrt((m4 - v**2) * (1 + 2 * rho1 / (1 - phi)) / k)
    assert abs(np.mean((r - mu) ** 2) - v) < 5 * se_var
    # The shocks are uncorrelated, so the mean return has the iid SE.
    assert abs(r.mean() - mu) < 5 * math.sqrt(v / k)


@pytest.mark.parametrize(("alpha", "clustered"), [(0.1, True), (0.0, False)])
def test_garch_squared_returns_autocorrelated_only_when_alpha_positive(
    alpha: float, clustered: bool
) -> None:
    """alpha > 0 gives a positive lag-1 autocorrelation of r^2; alpha = 0 gives iid returns."""
    k = 200_000
    p = garch_path(1.0, 1e-6, alpha, 0.85, (k + 1) * 1.0, 1.0, np.random.default_rng(7))
    rho = _lag1_autocorrelation(_log_returns(p) ** 2)
    # Under iid returns (alpha = 0 and started at omega / (1 - beta), the variance never moves)
    # the sample autocorrelation is about N(0, 1 / k).
    band = 5 / math.sqrt(k)
    if clustered:
        assert rho > band
    else:
        assert abs(rho) < band


@pytest.mark.parametrize(
    ("omega", "alpha", "beta", "match"),
    [
        (1e-6, 0.2, 0.8, r"alpha \+ beta < 1 .*was 1\.0 \(alpha=0\.2, beta=0\.8\)"),
        (1e-6, 0.5, 0.6, r"alpha \+ beta < 1"),
        (0.0, 0.1, 0.8, "omega > 0"),
        (1e-6, -0.1, 0.8, "alpha >= 0"),
    ],
)
def test_garch_non_stationary_or_negative_parameters_raise(
    omega: float, alpha: float, beta: float, match: str
) -> None:
    """alpha + beta >= 1 (no stationary variance), omega <= 0 or a weight < 0 is a ValueError."""
    with pytest.raises(ValueError, match=match):
        garch_path(1.0, omega, alpha, beta, 60.0, 1.0, np.random.default_rng(0))


def test_garch_same_seed_same_path() -> None:
    """Equal seeds give identical GARCH paths; another seed gives another path."""
    a, b, c = (
        garch_path(5.0, 1e-6, 0.1, 0.85, HOUR, 1.0, np.random.default_rng(s)) for s in (8, 8, 9)
    )
    np.testing.assert_array_equal(a.prices, b.prices)
    assert not np.array_equal(a.prices, c.prices)


# --- bootstrap ----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    n_returns=st.integers(min_value=1, max_value=40),
    block_len=st.integers(min_value=1, max_value=40),
    n_samples=st.integers(min_value=1, max_value=120),
)
def test_bootstrap_path_is_contiguous_blocks_of_the_input(
    seed: int, n_returns: int, block_len: int, n_samples: int
) -> None:
    """Each run of block_len path returns is a contiguous slice of the input returns."""
    block_len = min(block_len, n_returns)
    # Distinct returns, 1e-3 apart, so each path return identifies its input index.
    returns = (np.arange(n_returns) + 1) * 1e-3 * np.where(np.arange(n_returns) % 2, -1, 1)
    p = bootstrap_path(returns, 7.0, float(n_samples), 1.0, block_len, np.random.default_rng(seed))
    assert len(p) == n_samples
    assert p.prices[0] == 7.0
    r = _log_returns(p)
    distance = np.abs(r[:, None] - returns[None, :])
    index = distance.argmin(axis=1)
    assert (distance.min(axis=1) < 1e-9).all()  # every sampled return is an input return
    for start in range(0, r.size, block_len):
        block = index[start : start + block_len]
        assert block[0] <= n_returns - block_len  # a whole block fits from its start
        np.testing.assert_array_equal(block, block[0] + np.arange(block.size))


def test_bootstrap_same_seed_same_path_other_seed_other_path() -> None:
    """Equal seeds give identical bootstrap paths; another seed resamples other blocks."""
    returns = np.random.default_rng(0).normal(0.0, 0.01, 500)
    a, b, c = (
        bootstrap_path(returns, 1.0, 1000.0, 1.0, 20, np.random.default_rng(s)) for s in (1, 1, 2)
    )
    np.testing.assert_array_equal(a.prices, b.prices)
    assert not np.array_equal(a.prices, c.prices)
    assert "blocks of 20 of 500 returns" in a.source


@pytest.mark.parametrize(("block_len", "clustered"), [(100, True), (1, False)])
def test_bootstrap_keeps_volatility_clustering_inside_blocks(
    block_len: int, clustered: bool
) -> None:
    """Blocks keep the r^2 autocorrelation of GARCH input; block_len 1 (iid) removes it."""
    garch = garch_path(1.0, 1e-6, 0.1, 0.85, 20_001.0, 1.0, np.random.default_rng(10))
    returns = _log_returns(garch)
    k = 100_000
    p = bootstrap_path(returns, 1.0, k + 1.0, 1.0, block_len, np.random.default_rng(11))
    rho = _lag1_autocorrelation(_log_returns(p) ** 2)
    band = 5 / math.sqrt(k)  # iid returns: the sample autocorrelation is about N(0, 1 / k)
    if clustered:
        assert rho > band
    else:
        assert abs(rho) < band


def test_bootstrap_real_eth_bars_at_bar_spacing() -> None:
    """Close-to-close returns of real ETH 5m bars bootstrap into a 5-minute path made of them."""
    if not ETH_5M.is_file():
        pytest.skip(f"shared price data not found at {ETH_5M} (expected ../shared next to repo)")
    bars = load_ohlc_csv(ETH_5M)
    returns = log_returns_from_bars(bars)
    assert returns.size == len(bars) - 1
    np.testing.assert_allclose(np.exp(np.cumsum(returns)), bars.close[1:] / bars.close[0])
    p = bootstrap_path(returns, 2000.0, 86_400.0, bars.bar_s, 12, np.random.default_rng(12))
    assert (len(p), p.dt_s) == (288, 300.0)
    r = _log_returns(p)
    assert np.abs(r[:, None] - returns[None, :]).min(axis=1).max() < 1e-9


def test_log_returns_from_bars_with_gap_raises() -> None:
    """A return across a gap would span several bars, so bars with a gap are a ValueError."""
    bars = load_ohlc_csv(DATA / "bad_gap.csv", allow_gaps=True)
    with pytest.raises(ValueError, match=r"without gaps.*after 2025-10-10T21:10:00Z opens 600 s"):
        log_returns_from_bars(bars)


@pytest.mark.parametrize(
    ("returns", "block_len", "match"),
    [
        ([0.1, 0.2], 3, r"1 <= block_len <= 2"),
        ([0.1, 0.2], 0, r"1 <= block_len <= 2"),
        ([0.1, math.nan], 1, "finite returns, was nan at index 1"),
        ([], 1, "non-empty 1-D"),
        ([[0.1, 0.2]], 1, "non-empty 1-D"),
    ],
)
def test_bootstrap_invalid_input_raises(returns: list[float], block_len: int, match: str) -> None:
    """A block longer than the data, non-finite returns or a non-1-D input is a ValueError."""
    with pytest.raises(ValueError, match=match):
        bootstrap_path(returns, 1.0, 10.0, 1.0, block_len, np.random.default_rng(0))


# --- correlated and factor paths ----------------------------------------------------------------

NAMES = ("BTC", "ETH", "SOL")


def _specs(sigmas: tuple[float, ...], mu: float = 0.0) -> dict[str, GbmAsset]:
    return {
        a: GbmAsset(p0=p0, mu_per_year=mu, sigma_per_year=s)
        for a, p0, s in zip(NAMES, (100_000.0, 4000.0, 200.0), sigmas, strict=True)
    }


def _check_correlations(
    paths: dict[str, PricePath], expected: NDArray[np.float64], vols: NDArray[np.float64]
) -> None:
    r = np.array([_log_returns(p) for p in paths.values()])
    k = r.shape[1]
    h = next(iter(paths.values())).dt_s / SECONDS_PER_YEAR
    sample = np.corrcoef(r)
    # Normal returns: the sample correlation has SE (1 - rho^2) / sqrt(k), the sample variance
    # var sqrt(2 / (k - 1)).
    se = np.maximum((1 - expected**2) / math.sqrt(k), 1e-12)
    assert (np.abs(sample - expected) < 5 * se).all()
    var = vols**2 * h
    assert (np.abs(r.var(axis=1, ddof=1) - var) < 5 * var * math.sqrt(2 / (k - 1))).all()


def test_correlated_paths_sample_correlation_matches_matrix() -> None:
    """Log returns have the given correlations and each asset its own volatility."""
    corr = np.array([[1.0, 0.8, -0.3], [0.8, 1.0, 0.1], [-0.3, 0.1, 1.0]])
    sigmas = (0.5, 0.8, 1.2)
    paths = correlated_paths(
        _specs(sigmas, mu=0.3), corr, 100_000.0, 1.0, np.random.default_rng(13)
    )
    assert list(paths) == list(NAMES)
    assert all(
        p.prices[0] == s.p0 for p, s in zip(paths.values(), _specs(sigmas).values(), strict=True)
    )
    _check_correlations(paths, corr, np.array(sigmas))


def test_correlated_paths_singular_psd_matrix_uses_eigen_root() -> None:
    """A PSD matrix without a Cholesky factor (rho = 1) is accepted: those assets move as one."""
    corr = [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    paths = correlated_paths(
        _specs((0.6, 0.6, 0.6)), corr, 20_000.0, 1.0, np.random.default_rng(14)
    )
    btc, eth, sol = paths.values()
    np.testing.assert_allclose(btc.prices / btc.prices[0], eth.prices / eth.prices[0], rtol=1e-12)
    r_btc, r_sol = _log_returns(btc), _log_returns(sol)
    assert r_btc.std() > 0
    assert abs(np.corrcoef(r_btc, r_sol)[0, 1]) < 5 / math.sqrt(r_btc.size)


def test_correlated_paths_same_seed_same_paths() -> None:
    """Equal seeds give identical paths for every asset."""
    corr = np.eye(3)
    a = correlated_paths(_specs((0.5, 0.5, 0.5)), corr, HOUR, 1.0, np.random.default_rng(15))
    b = correlated_paths(_specs((0.5, 0.5, 0.5)), corr, HOUR, 1.0, np.random.default_rng(15))
    for name in NAMES:
        np.testing.assert_array_equal(a[name].prices, b[name].prices)


@pytest.mark.parametrize(
    ("corr", "fragments"),
    [
        (
            [[1.0, 0.5, 0.0], [0.4, 1.0, 0.0], [0.0, 0.0, 1.0]],
            ["symmetric", "0.5 at row 0 (BTC), column 1 (ETH)", "0.4 at row 1 (ETH), column 0"],
        ),
        (
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.9]],
            ["unit diagonal", "0.9 at row/column 2 (SOL)"],
        ),
        (
            [[1.0, 1.2, 0.0], [1.2, 1.0, 0.0], [0.0, 0.0, 1.0]],
            ["[-1, 1]", "1.2 at row 0 (BTC), column 1 (ETH)"],
        ),
        (
            [[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]],
            ["positive semi-definite", "row/column 2 (SOL) is inconsistent"],
        ),
        ([[1.0, 0.5], [0.5, 1.0]], ["3x3", "BTC, ETH, SOL", "shape (2, 2)"]),
        (
            [[1.0, math.nan, 0.0], [math.nan, 1.0, 0.0], [0.0, 0.0, 1.0]],
            ["finite", "row 0 (BTC), column 1 (ETH)"],
        ),
    ],
)
def test_correlated_paths_invalid_matrix_raises_naming_row_and_column(
    corr: list[list[float]], fragments: list[str]
) -> None:
    """A bad correlation matrix is a ValueError that names the problem and the row/column."""
    with pytest.raises(ValueError, match="expected") as info:
        correlated_paths(_specs((0.5, 0.5, 0.5)), corr, 60.0, 1.0, np.random.default_rng(0))
    for fragment in fragments:
        assert fragment in str(info.value)


def test_factor_paths_correlation_is_beta_i_beta_j_sigma_f_squared_over_vols() -> None:
    """Factor returns: volatility s = sqrt(b^2 sf^2 + e^2), correlation b_i b_j sf^2 / (s_i s_j)."""
    betas, idio, sigma_f = np.array([1.0, 1.5, -0.5]), np.array([0.2, 0.6, 0.3]), 0.7
    specs = {
        a: FactorAsset(p0=10.0, mu_per_year=0.1, beta=b, idio_sigma_per_year=e)
        for a, b, e in zip(NAMES, betas, idio, strict=True)
    }
    paths = factor_paths(specs, sigma_f, 100_000.0, 1.0, np.random.default_rng(16))
    # Cov(i, j) = b_i b_j sf^2 (+ e_i^2 on the diagonal): the factor is the only shared shock.
    vols = np.sqrt(betas**2 * sigma_f**2 + idio**2)
    expected = np.outer(betas, betas) * sigma_f**2 / np.outer(vols, vols)
    np.fill_diagonal(expected, 1.0)
    _check_correlations(paths, expected, vols)


# --- common jumps -------------------------------------------------------------------------------


@pytest.mark.parametrize("builder", ["correlated", "factor"])
def test_common_jump_crash_over_ten_minutes_moves_each_asset_exactly(builder: str) -> None:
    """With sigma = 0, BTC -15% and alts -40% over ten minutes are exact and log-linear."""
    crash = CommonJump.from_changes(
        {"BTC": -0.15, "ETH": -0.40, "SOL": -0.40}, at_s=(600.0,), duration_s=600.0
    )
    rng = np.random.default_rng(17)
    p0 = {"BTC": 100_000.0, "ETH": 4000.0, "SOL": 200.0, "USDC": 1.0}
    if builder == "correlated":
        specs = {a: GbmAsset(p0=p, sigma_per_year=0.0) for a, p in p0.items()}
        paths = correlated_paths(specs, np.eye(4), HOUR, 10.0, rng, jumps=[crash])
    else:
        fspecs = {a: FactorAsset(p0=p, beta=1.0, idio_sigma_per_year=0.0) for a, p in p0.items()}
        paths = factor_paths(fspecs, 0.0, HOUR, 10.0, rng, jumps=[crash])
    t = paths["BTC"].times_s()
    for asset, factor in [("BTC", 0.85), ("ETH", 0.60), ("SOL", 0.60), ("USDC", 1.0)]:
        prices = paths[asset].prices
        assert (prices[t <= 600.0] == p0[asset]).all()
        np.testing.assert_allclose(prices[t >= 1200.0], p0[asset] * factor, rtol=1e-12)
        # Log-linear: equal log steps over each 10 s sample of the ten minutes.
        inside = np.diff(np.log(prices[(t >= 600.0) & (t <= 1200.0)]))
        np.testing.assert_allclose(inside, math.log(factor) / 60, rtol=1e-9, atol=1e-15)
    assert "1 common jump events" in paths["SOL"].source


def test_common_jump_poisson_times_are_shared_and_count_matches_intensity() -> None:
    """Poisson common jumps hit the named assets at the same samples, lam * span times."""
    lam, dt_s, n = 400.0 * 12, HOUR, 24 * 30 + 1  # 400 events expected over the 30 days
    jump = CommonJump(log_moves={"BTC": -0.01, "ETH": -0.02}, intensity_per_year=lam)
    specs = _specs((0.0, 0.0, 0.0))
    paths = correlated_paths(
        specs, np.eye(3), n * dt_s, dt_s, np.random.default_rng(18), jumps=[jump]
    )
    r = {a: _log_returns(p) for a, p in paths.items()}
    events = r["BTC"] / -0.01
    np.testing.assert_allclose(r["ETH"], 2 * r["BTC"], rtol=1e-9, atol=1e-15)
    assert (r["SOL"] == 0).all()
    assert np.abs(events - np.round(events)).max() < 1e-6
    mean = lam * (n - 1) * dt_s / SECONDS_PER_YEAR
    assert abs(events.sum() - mean) < 5 * math.sqrt(mean)  # a Poisson count: SD sqrt(mean)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: CommonJump(log_moves={"BTC": -0.1}), "exactly one of at_s"),
        (
            lambda: CommonJump(log_moves={"BTC": -0.1}, at_s=(1.0,), intensity_per_year=1.0),
            "exactly one of at_s",
        ),
        (lambda: CommonJump(log_moves={}, at_s=(1.0,)), "at least one asset"),
        (lambda: CommonJump(log_moves={"BTC": -0.1}, at_s=(-1.0,)), "at_s >= 0"),
        (lambda: CommonJump.from_changes({"BTC": -1.0}, at_s=(1.0,)), "change > -1 for BTC"),
    ],
)
def test_common_jump_invalid_spec_raises(make: Callable[[], CommonJump], match: str) -> None:
    """A jump needs exactly one timing, at least one asset, times >= 0 and changes > -100%."""
    with pytest.raises(ValueError, match=match):
        make()


def test_common_jump_unknown_asset_raises() -> None:
    """A jump naming an asset that has no path is a ValueError naming it."""
    jump = CommonJump(log_moves={"BTC": -0.1, "XRP": -0.3}, at_s=(10.0,))
    with pytest.raises(ValueError, match="among BTC, ETH, SOL, was XRP"):
        correlated_paths(
            _specs((0.1, 0.1, 0.1)), np.eye(3), 60.0, 1.0, np.random.default_rng(0), jumps=[jump]
        )
