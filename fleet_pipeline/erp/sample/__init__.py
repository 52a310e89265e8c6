"""The sample ERP: its tables, a deterministic generator with realistic defects, a writer."""
