"""Sending a day's jobs to the Fleet API, crash-safe.

batching.py (cut queued jobs into uploads) and policy.py (bulk or one by one) are pure;
planning.py (valid jobs into the ledger, uploads planned and written), bulk.py and single.py
(intent, request, outcome), recovery.py (what every run does first) and run.py (a whole day,
for the Dagster assets and `fleet-pipeline send` alike) apply them. outcomes.py says what a
failed request means for its jobs, connection.py builds the paced clients, settings.py reads
the environment, crash.py holds the crash test's kill switch.
"""
