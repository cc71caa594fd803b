"""Answer extraction and comparison, one module per answer convention."""
