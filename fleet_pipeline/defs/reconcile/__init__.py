"""Dagster shell of the reconciliation: callback landing, reconciliation, checks, sensor and
schedule."""
