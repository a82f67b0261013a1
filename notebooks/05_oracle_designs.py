# %% [markdown]
# # Oracle design under the same depeg: push, pull, median index, own book, fixed feed
#
# One forced seller takes USDe on Binance's book to 0.65 for forty minutes (10 Oct 2025,
# 21:36–22:16 UTC); every other venue stays near 1. Five lending markets with the same
# borrowers price USDe five ways. Which ones liquidate, and how much of it is the depeg itself
# versus keepers of the first market selling seized USDe where the other oracles look?
#
# ![answers](figures/05_answers.png)

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
from protosim.graph import ContagionGraph

FAST = os.environ.get("PROTOSIM_FAST") == "1"
FIGURES = Path(os.environ.get("PROTOSIM_FIGURES", HERE / "figures"))
result = Simulation(usde_scenario(ORACLE_DESIGNS, accounts=300 if FAST else 3_000)).run()

# %%
liq = result.liquidations
liq["venue"] = liq["venue"].astype(str)
table = liq.groupby("venue").agg(liquidations=("seq", "size"), debt_usd=("debt_repaid_usd", "sum"))
table

# %%
answers = result.oracle_updates
fig, ax = plt.subplots(figsize=(9, 4))
for oracle, rows in answers.groupby(answers["oracle"].astype(str)):
    if oracle.startswith("usde-"):
        ax.step(rows["t"] / 3600, rows["answer"], where="post", label=oracle)
ax.set_xlabel("hours")
ax.set_ylabel("USDe answer (USD)")
ax.legend()
fig.savefig(FIGURES / "05_answers.png", dpi=90, bbox_inches="tight")

# %% [markdown]
# Liquidations on markets whose oracle never saw Binance's print come from elsewhere: the
# cross-venue attribution names the market whose keepers' sales reached them.

# %%
cross = ContagionGraph.from_result(result).cross_venue_attribution("liquidated_usd")
cross

# %%
# Headline: the own-book market liquidates the most; the median index and the USDT feed none.
assert table["debt_usd"].idxmax() == "lender-own-book"
assert "lender-median" not in table.index
assert "lender-usdt-feed" not in table.index
