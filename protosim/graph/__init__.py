"""Graphs of a run: the contagion DAG of its events and attribution of losses to root causes."""

from protosim.graph.contagion import NO_SOURCE, SHOCK_CATEGORIES, ContagionGraph

__all__ = ["NO_SOURCE", "SHOCK_CATEGORIES", "ContagionGraph"]
