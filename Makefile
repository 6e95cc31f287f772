# Two entry points: `make demo` (install, then run the demo department) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml pipelines/ingest/_log_lines.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

demo: install
	$(BIN)/ent-analytics demo

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) data/raw/*/ data/warehouse/*/ data/warehouse/*.parquet data/warehouse/*.duckdb data/dashboards data/truth.json
