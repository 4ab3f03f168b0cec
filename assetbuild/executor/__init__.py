"""DO: run one asset and turn its result into a table — the only home of polars, pyarrow and duckdb."""
