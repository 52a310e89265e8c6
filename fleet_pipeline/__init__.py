"""fleet_pipeline: ERP deliveries into the Cartrack Fleet API, and proof of each outcome."""

from fleet_pipeline.arrow_memory import choose_pool

__version__ = "0.1.0"

choose_pool()
