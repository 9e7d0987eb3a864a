# Two entry points for a fresh machine: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= build/demo

export DVC_NO_ANALYTICS := 1
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1

.PHONY: setup wheel demo test lint docs clean

$(BIN)/crisp-lint: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/crisp-lint

# crisp-ml's wheel goes into a local folder that pip searches besides its usual places
# (PIP_FIND_LINKS is added to, never replaced), and the demo project is driven through the
# commands of its own README, `make setup` first: nothing is cloned from a code host.
WHEELS ?= build/wheels
DEMO_IDENTITY := GIT_AUTHOR_NAME="crisp-ml demo" GIT_AUTHOR_EMAIL=demo@crisp-ml.invalid \
	GIT_COMMITTER_NAME="crisp-ml demo" GIT_COMMITTER_EMAIL=demo@crisp-ml.invalid

wheel: setup
	rm -rf $(WHEELS)
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir $(WHEELS) .

demo: wheel
	rm -rf $(DEMO)
	$(BIN)/crisp-ml new $(DEMO) --defaults --quiet
	# build/ is ignored by this repo, so the demo gets a repository of its own for DVC.
	git -C $(DEMO) rev-parse --show-toplevel | grep -qx "$(abspath $(DEMO))" || git -C $(DEMO) init --quiet --initial-branch=main
	env -u VIRTUAL_ENV PIP_FIND_LINKS="$(abspath $(WHEELS)) $$PIP_FIND_LINKS" $(DEMO_IDENTITY) \
		$(BIN)/python scripts/readme_commands.py $(DEMO)

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# The generated pages first, then the site into build/site; --strict fails on a broken link
# or anchor and on a page left out of mkdocs.yml's nav.
docs: setup
	$(BIN)/python -m crisp_lint.docs > docs/rules.md
	$(BIN)/python -m crisp_ml.docs_questions docs/questions.md
	$(BIN)/mkdocs build --strict --site-dir build/site

clean:
	rm -rf $(VENV) build .pytest_cache
