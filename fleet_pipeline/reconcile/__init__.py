"""The reconciliation: what became of every job of a day, retries, and what needs a person."""
