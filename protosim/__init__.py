"""protosim: discrete-event simulation of DeFi and CEX protocol risk with oracle modelling.

The public API::

    from protosim import Scenario, Simulation
    result = Simulation(Scenario.from_toml("scenario.toml"), seed=1).run()
    result.liquidations          # pandas DataFrame
    result.summary()             # headline figures
"""

from __future__ import annotations

from protosim.engine import Simulation, run
from protosim.errors import DataFileError, ProtosimError, ScenarioError, SimulationError
from protosim.eventlog import EventLog
from protosim.results import RunResult
from protosim.scenario import Scenario

__version__ = "0.1.0"

__all__ = [
    "DataFileError",
    "EventLog",
    "ProtosimError",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "SimulationError",
    "__version__",
    "run",
]
