# %% [markdown]
# # protosim quick start
#
# Replay the ETH leg of the 10 October 2025 crash through an Aave v3 market: real Binance
# prices filled to 1 s, a Chainlink feed, synthetic borrowers, keepers that sell what they
# seize. Then ask the two questions protosim is for: *who got liquidated* and *why*.
#
# Set `PROTOSIM_FAST=1` to run a shorter window (the tests do).
#
# ![prices](figures/01_prices.png)
# ![timeline](figures/01_timeline.png)

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write figures to files; a notebook front end shows them inline too
import matplotlib.pyplot as plt

from protosim import Scenario, Simulation
from protosim.catalog import resolve_scenario
from protosim.graph import ContagionGraph
from protosim.plot import plot_contagion_timeline, plot_prices

FAST = os.environ.get("PROTOSIM_FAST") == "1"
FIGURES = Path(os.environ.get("PROTOSIM_FIGURES", Path(__file__).resolve().parent / "figures"))

# %% [markdown]
# Load the shipped scenario; the fast setting keeps only the crash day.

# %%
scenario = Scenario.from_toml(resolve_scenario("eth-oct-2025-aave"))
if FAST:
    scenario = scenario.with_values(
        {"horizon_s": 48 * 3600.0, "venues.aave-v3-core.params.populations[0].accounts": 5_000}
    )
result = Simulation(scenario).run()
summary = result.summary()
{
    key: summary[key]
    for key in ("liquidations", "liquidated_debt_usd", "bad_debt_usd", "oracle_updates")
}

# %% [markdown]
# Liquidations per hour: the crash hour (21:00 UTC on 10 October) dominates.

# %%
liq = result.liquidations
liq["hour"] = (liq["t"] // 3600).astype(int)
by_hour = liq.groupby("hour")["debt_repaid_usd"].sum().sort_values(ascending=False)
by_hour.head(5)

# %%
fig, ax = plt.subplots(figsize=(9, 3.5))
plot_prices(result, ax=ax)
fig.savefig(FIGURES / "01_prices.png", dpi=90, bbox_inches="tight")
fig, ax = plt.subplots(figsize=(9, 3.5))
plot_contagion_timeline(result, ax=ax)
fig.savefig(FIGURES / "01_timeline.png", dpi=90, bbox_inches="tight")

# %% [markdown]
# Why did the first liquidation happen? Walk its causes back to the root.

# %%
first = int(liq["seq"].iloc[0])
for event in result.log.cause_chain(first):
    print(type(event).__name__, round(event.t), getattr(event, "answer", ""))

# %% [markdown]
# Attribute the market's liquidated debt to root causes: the exogenous price path, or the
# keepers' own selling feeding back through the oracle.

# %%
contagion = ContagionGraph.from_result(result)
attribution = contagion.attribution("liquidated_usd", by="category")
attribution

# %%
# Headline: the crash hour holds the most liquidated debt, and shares add up to 100%.
crash_hour = 24 + 21  # 21:00 UTC on 10 Oct is hour 45 after 9 Oct 00:00
assert int(by_hour.index[0]) == crash_hour
assert abs(attribution["share"].sum() - 1.0) < 1e-9
