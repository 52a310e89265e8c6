"""Validation in Dagster: the `delivery_jobs` asset and its rejection-rate check."""
