"""The upload chain in Dagster: `upload_batches`, `job_submissions`, the Fleet API resource."""
