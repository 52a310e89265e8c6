"""Validation: the delivery-job contract (pandera), the split of a partition, job payloads."""
