# Quickstart:  make demo   (set up and run the demo)
#              make test   (set up and run lint, types, docs check and all tests with real servers)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-ha check lint typecheck docs unit integration bench bench-load bench-counting bench-vision bench-identity bench-page bench-guard clean

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,identity,demo]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/replens demo --serve

test: $(STAMP) test-servers check
	$(BIN)/pytest

test-servers:
	bash scripts/install-test-servers.sh

check: lint typecheck
	$(BIN)/replens docs --check

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	bash scripts/typecheck.sh

docs: $(STAMP)
	$(BIN)/replens docs

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP) test-servers
	$(BIN)/pytest tests/integration

# Discovery, states and commands in a real Home Assistant Core, once per tested release, each in its own
# virtualenv (.venv-ha-<version>): 2024.3.3 (the newest for Python 3.11) with per-component discovery, and
# 2025.4.4 (the newest for Python 3.13.0) with device-based discovery and the hand-over between the two.
# One release: make test-ha HA_TESTED=2025.4.4:python3.13
HA_TESTED ?= 2024.3.3:python3.11 2025.4.4:python3.13

test-ha: $(STAMP) test-servers
	@failed=""; for tested in $(HA_TESTED); do \
	  version=$${tested%%:*}; python=$${tested#*:}; \
	  echo "== Home Assistant $$version ($$python)"; \
	  { HA_VERSION=$$version PYTHON=$$python HA_VENV=.venv-ha-$$version bash scripts/install-home-assistant.sh \
	    && REPLENS_HASS=$(CURDIR)/.venv-ha-$$version/bin/hass $(BIN)/pytest tests/ha; } || failed="$$failed $$version"; \
	done; \
	if [ -n "$$failed" ]; then echo "test-ha failed with Home Assistant$$failed"; exit 1; fi

bench: $(STAMP) test-servers
	$(BIN)/python bench/latency.py

# Load: 40 simulated agents at 5,000 events/s through real Mosquitto, hub and InfluxDB, against a naive
# one-POST-per-event bridge in the same run (about 10 minutes).
bench-load: $(STAMP) test-servers
	$(BIN)/python bench/load.py

# Counting accuracy on ../shared/eval (or REPLENS_EVAL_DIR): RepCount-A pose series, barbell tracks, mocap velocity,
# and exercise recognition (every profile, and station lists of 4) with the count it gives.
bench-counting: $(STAMP)
	$(BIN)/python bench/repcount.py
	$(BIN)/python bench/vbt.py
	$(BIN)/python bench/recognition.py

# Trackers on ../shared/eval/videos: speed per stage at 640x480, BlazePose against MediaPipe 0.10.14 in the
# same run (installed into a separate virtualenv under /tmp by the bench itself, never a dependency).
bench-vision: $(STAMP)
	$(BIN)/python bench/trackers_speed.py
	$(BIN)/python bench/pose_tracker.py
	$(BIN)/python bench/vision_counts.py

# Accuracy guard (CI runs it when ../shared/eval exists, about a minute): the 3 shared clips count exactly and
# RepCount-A with the exercise given is no worse than bench/baselines.json. Without the data it passes, saying so.
bench-guard: $(STAMP)
	$(BIN)/python bench/guard.py

# Face identity on the real test photos: accuracy, time per face, entrance pipeline fps.
bench-identity: $(STAMP)
	$(BIN)/python bench/identity.py

# The members' page for a member with a year of training (about 50,000 reps), with and without its indexes.
bench-page: $(STAMP)
	$(BIN)/python bench/members_page.py --others 9

clean:
	rm -rf $(VENV) .venv-ha .venv-ha-* build .mypy_cache .ruff_cache .pytest_cache
