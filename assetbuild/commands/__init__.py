"""Click commands beyond the core build ones, grouped by concern; cli.py registers them."""
