"""Graphs of a scenario and of a run: who is exposed to what before it starts (`ExposureGraph`,
blast radius at first order), and how losses travelled once it ran (`ContagionGraph`, the DAG
of events and attribution of losses to root causes).
"""

from protosim.graph.contagion import NO_SOURCE, SHOCK_CATEGORIES, ContagionGraph
from protosim.graph.exposure import NODE_KINDS, RELATIONS, BlastRadius, ExposureGraph

__all__ = [
    "NODE_KINDS",
    "NO_SOURCE",
    "RELATIONS",
    "SHOCK_CATEGORIES",
    "BlastRadius",
    "ContagionGraph",
    "ExposureGraph",
]
