"""The ERP extraction in Dagster: the `erp_deliveries` asset and the resources it reads through."""
