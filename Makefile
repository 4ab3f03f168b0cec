# assetbuild — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
AB := $(VENV)/bin/assetbuild

.PHONY: demo test test-fast lint bench clean lock

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/fraud/generate.py
	OPENLINEAGE_DISABLED=$${OPENLINEAGE_DISABLED:-true} $(AB) --project examples/fraud build

test: $(STAMP)
	$(VENV)/bin/ruff check assetbuild tests benchmarks examples
	$(VENV)/bin/ruff format --check assetbuild tests benchmarks examples
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/pytest -q

# The fast tier: stores and layering, no polars or duckdb (the lead adds folders as they qualify).
test-fast: $(STAMP)
	$(VENV)/bin/pytest -q tests/stores tests/architecture tests/unit

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) examples/*/.assetbuild examples/*/data examples/*/out .pytest_cache .mypy_cache .ruff_cache

# Re-pin after testing newer libraries: the content hash does not depend on their versions.
lock: $(STAMP)
	(echo '# Versions `make` installs (pip freeze of a tested venv). Regenerate: make lock'; \
	 $(PY) -m pip freeze --exclude-editable) > constraints.txt
