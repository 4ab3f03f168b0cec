"""WHAT the project says, read statically: never imports user code, polars or duckdb."""
