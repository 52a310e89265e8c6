"""The Dagster shell: assets, checks, sensors and schedules that call the layers below."""
