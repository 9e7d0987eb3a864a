# Two entry points for a fresh machine: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= build/demo

export DVC_NO_ANALYTICS := 1
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1

.PHONY: setup demo test lint docs clean

$(BIN)/crisp-lint: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/crisp-lint

demo: setup
	rm -rf $(DEMO)
	$(BIN)/crisp-ml new $(DEMO) --defaults --quiet
	# build/ is ignored by this repo, so the demo gets a repository of its own for DVC.
	git -C $(DEMO) rev-parse --show-toplevel | grep -qx "$(abspath $(DEMO))" || git -C $(DEMO) init --quiet
	$(BIN)/python -m pip install --quiet --no-deps -e $(DEMO)
	$(MAKE) -C $(DEMO) repro PYTHON=$(abspath $(BIN))/python
	$(BIN)/crisp-lint $(DEMO)

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

docs: setup
	$(BIN)/python -m crisp_lint.docs > docs/rules.md

clean:
	rm -rf $(VENV) build .pytest_cache
