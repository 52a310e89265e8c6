"""The chaos suite: seeded days of the sample ERP sent end to end under faults, with the
pipeline killed, the webhook receiver restarted, and the result checked against the simulator.
`python -m tests.chaos --scenarios 20 --seed 1` runs it; test_chaos_short.py runs a short one."""
