"""Quality rules, the GATE of write → audit → publish: rule files → RuleSet → CheckResults.

`rules` (with `specs`, `packs`, `yamlnodes`) is static: yaml and the standard library only, safe on
the no-op path. `evaluate` is the one module that touches data (polars, duckdb, pandera): import it
where checks actually run. `junit` formats results for CI.
"""

from assetbuild.gate.rules import Rule, RuleSet, check_columns, load_rules

__all__ = ["Rule", "RuleSet", "check_columns", "load_rules"]
