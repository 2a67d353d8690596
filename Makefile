# strategy-bot: `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-at lint typecheck unit browser-deps faketime-deps bench screenshots clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/strategy-bot db upgrade
	$(BIN)/strategy-bot serve

# Debian's chromium drives the browser tests (Playwright's own download is not used).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# Debian's faketime (libfaketime): tests that start `strategy-bot serve` at a frozen instant
# give it that instant through LD_PRELOAD (tests/instants.py).
faketime-deps:
	@if ! ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1; then \
		echo "installing Debian's faketime for the frozen-instant tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null; \
	fi

# The Microsoft 365 Agents Playground (local Teams emulator) for tests/teams/test_playground.py,
# pinned in tests/teams/playground/package-lock.json; reinstalled when the lock changes.
PLAYGROUND := tests/teams/playground

.PHONY: playground-deps
playground-deps: $(PLAYGROUND)/node_modules/.package-lock.json

$(PLAYGROUND)/node_modules/.package-lock.json: $(PLAYGROUND)/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "installing Debian's nodejs and npm (for the Teams playground test)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	fi
	npm ci --prefix $(PLAYGROUND) --no-audit --no-fund
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check bot storage tests bench
	$(BIN)/ruff format --check bot storage tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy bot storage

unit: $(STAMP) browser-deps playground-deps faketime-deps
	$(BIN)/python -m pytest -q

test: lint typecheck unit

# The whole suite at a chosen moment: make test-at AT="2026-12-01 13:44 UTC" (any date
# that GNU date reads; prefix TZ=Asia/Tokyo to move the machine's zone too). libfaketime
# moves every process's clock there, OpenSSL's and the browser's included; tests marked
# `instants` still travel to their own instants (see README, Tests).
test-at: $(STAMP) browser-deps playground-deps faketime-deps
	@test -n "$(AT)" || { echo 'usage: make test-at AT="2026-12-01 13:44 UTC"'; exit 2; }
	faketime -m "$(AT)" $(BIN)/python -m pytest -q

# The translators' template: every sentence of bot/messages.py (marked with _, ngettext or
# N_) into bot/locale/strategy-bot.pot; then each language's catalogue is brought up to
# date with it and compiled to the .mo the bot reads (docs/translating.md).
# tests/test_messages.py extracts the same way and fails when the committed .pot is stale.
LOCALE := bot/locale
POT := $(LOCALE)/strategy-bot.pot

messages: $(STAMP)
	$(BIN)/pybabel extract --project=strategy-bot --version=0.1.0 \
		--copyright-holder="strategy-bot contributors" -c Translators: -s -o $(POT) bot
	@if ls $(LOCALE)/*/LC_MESSAGES/strategy-bot.po >/dev/null 2>&1; then \
		$(BIN)/pybabel update -D strategy-bot -i $(POT) -d $(LOCALE) --previous && \
		$(BIN)/pybabel compile -D strategy-bot -d $(LOCALE) --statistics; \
	fi

bench: $(STAMP)
	$(BIN)/python -m bench

# Refresh the README's picture of the CIO's summary, drawn by the console in Chromium.
screenshots: $(STAMP) browser-deps
	SUMMARY_SCREENSHOT=docs/images/console-summary.png $(BIN)/python -m pytest -q tests/console/test_summary.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
