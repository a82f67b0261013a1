"""The perp benchmark helper runs end to end at a tiny size (the benchmark itself is not a test)."""

from __future__ import annotations

from protosim.protocols.perps.bench import run_perp_bench


def test_bench_helper_reports_its_figures_on_a_tiny_run() -> None:
    """3,000 accounts over 0.4 simulated hours (the 15 % fall starts at 12 minutes): the
    figures are present, positions count the extra BTC+ETH accounts' second position (10 %),
    something is liquidated, and value is conserved on both venues."""
    figures = run_perp_bench(accounts=3_000, hours=0.4)
    assert figures["positions"] == 3_000 + 2 * 150
    for key in ("wall_s", "rss_growth_mb", "bytes_per_position", "book_bytes_per_position"):
        assert figures[key] >= 0.0
    assert figures["liquidations"] > 0
    assert abs(figures["conservation_residual_usd"]) < 1e-3
