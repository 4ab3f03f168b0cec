"""Quality rules, the GATE of write → audit → publish: rule files → RuleSet → CheckResults.

`rules` (with `specs`, `packs`, `yamlnodes`) is static: yaml and the standard library only.
`evaluate` is the one module that touches data (polars, duckdb, pandera): import it where checks
actually run. This package imports nothing itself, so `audit` costs no YAML on a project without
rules (the no-op path).
"""
