"""Built-in source queries for the sample ERP (shipped as package data)."""
