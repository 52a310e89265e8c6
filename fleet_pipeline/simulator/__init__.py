"""A local, faithful Cartrack Fleet API: the same paths, auth, rules, errors, rate limit and
signed bulk-upload callbacks, with its state in SQLite and seeded fault injection.

`create_app(config)` builds the FastAPI app; `running_simulator(config)` serves it on loopback.
"""

from fleet_pipeline.simulator.app import create_app
from fleet_pipeline.simulator.config import SimulatorConfig, load_config
from fleet_pipeline.simulator.server import RunningSimulator, running_simulator

__all__ = ["RunningSimulator", "SimulatorConfig", "create_app", "load_config", "running_simulator"]
