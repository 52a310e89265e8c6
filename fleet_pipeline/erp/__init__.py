"""The ERP side: the canonical delivery record, source queries, extraction and the sample ERP."""
