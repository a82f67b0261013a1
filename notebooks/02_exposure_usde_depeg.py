# %% [markdown]
# # Exposure graph of a multi-venue USDe book, and the blast radius of a depeg
#
# Five lending markets lend USDT against USDe with the same borrowers; each prices USDe
# differently (a Chainlink feed over four venues, Pyth, a weighted median index, Binance's own
# book, and the USDT/USD feed as Aave has since February 2025). Before running anything, the
# exposure graph says which markets a USDe depeg reaches, and how much debt crosses its
# liquidation line at first order. Then a run shows what really happens once keepers sell.
#
# ![exposure](figures/02_exposure.png)

# %%
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from usde_book import ORACLE_DESIGNS, usde_scenario

from protosim import Simulation
from protosim.graph import ExposureGraph
from protosim.plot import draw_exposure

FAST = os.environ.get("PROTOSIM_FAST") == "1"
FIGURES = Path(os.environ.get("PROTOSIM_FIGURES", HERE / "figures"))
scenario = usde_scenario(ORACLE_DESIGNS, accounts=300 if FAST else 3_000)

# %%
graph = ExposureGraph.from_scenario(scenario)
graph.counts()

# %%
fig, ax = plt.subplots(figsize=(11, 6))
draw_exposure(graph, ax=ax)
fig.savefig(FIGURES / "02_exposure.png", dpi=80, bbox_inches="tight")

# %% [markdown]
# Which oracles does a USDe depeg reach? Those whose sources lead to a USDe market or to the
# USDe reference price; not the one that follows the USDT feed.

# %%
blast = graph.blast_radius(asset="USDE", shock=-0.10)
blast.by_venue

# %% [markdown]
# A depeg on one venue only is an oracle question: blast radius of each oracle moving 10%.

# %%
ranking = graph.rank_oracles(-0.10)
ranking

# %% [markdown]
# Now run it: Binance's book falls to 0.65 for forty minutes and nothing else moves, except
# through the keepers' own sales.

# %%
result = Simulation(scenario).run()
liquidated = result.liquidations.groupby(result.liquidations["venue"].astype(str))[
    "debt_repaid_usd"
].sum()
liquidated

# %%
# Headline: the USDT-priced market is outside the blast radius and is never liquidated,
# while the market on Binance's own book is.
at_risk = blast.by_venue.set_index("venue")["positions"]
assert at_risk["lender-usdt-feed"] == 0
assert at_risk["lender-own-book"] > 0
assert "lender-usdt-feed" not in liquidated.index
assert liquidated.get("lender-own-book", 0.0) > 0
