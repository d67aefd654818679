# Two commands do everything on a fresh machine:
#   make run    set up, then the main job: generate R1 data, run the pipeline, score examples
#   make test   set up, then the test suite (what CI runs)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ROWS ?= 100000
DATA ?= .specscan/data/r1-$(ROWS).csv

.PHONY: setup java chromium run test lint bench clean

$(BIN)/specscan: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[train,serve,app,spark,dev]'
	touch $@

# Spark (batch-score --engine spark and its tests) needs a Java 17 runtime: Debian's, where missing.
java:
	@command -v java >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	  else echo "Java 17 is missing: sudo apt-get install openjdk-17-jre-headless (Spark tests skip here, fail under CI)"; fi; }

# The web app's browser tests drive Debian's Chromium through Playwright (never a downloaded browser).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: sudo apt-get install chromium (browser tests skip here, fail under CI)"; fi; }

setup: $(BIN)/specscan java

run: setup
	$(BIN)/specscan data generate --revision R1 --rows $(ROWS) --seed 0 --out $(DATA)
	$(BIN)/specscan pipeline run --data $(DATA) --config configs/r1.yaml --bootstrap
	$(BIN)/specscan predict --model models:/compliance-classifier@champion \
	  "Front brake pad set, low-metallic, copper-free, E-marked to UN ECE R90" \
	  "BRK LINING RR DRUM, CHRYSOTILE REINF., OEM REPLACEMENT" \
	  "Wiring harness connector, PA66-GF30 housing, tin-plated brass contacts, Pb 2.8 % in the brass" \
	  "Cable sheathing, flexible PVC with lead stabiliser (0.4 wt.% Pb)" \
	  "LED tail lamp assembly, 12 V, 4.2 W, E-mark application pending"

test: setup chromium
	$(BIN)/python -m pytest -q --durations=15

lint: setup
	$(BIN)/ruff check src tests

bench: setup
	$(BIN)/python benchmarks/pipeline_bench.py

clean:
	rm -rf .specscan
