"""fleet_pipeline: ERP deliveries into the Cartrack Fleet API, and proof of each outcome."""

__version__ = "0.1.0"
