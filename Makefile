# The two set-up commands: `make run` and `make test`. Both create .venv on first use.
VENV := .venv
# pip's download cache stays in the checkout too.
export PIP_CACHE_DIR := $(CURDIR)/var/cache/pip
PY := $(VENV)/bin/python
# `make run` needs what the site runs on; `make test` adds the test and lint tools.
LOCKS := $(shell cat requirements.lock requirements-dev.lock | cksum | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(shell cksum < requirements.lock | cut -d' ' -f1)
DEV_STAMP := $(VENV)/.installed-dev-$(LOCKS)

.PHONY: run test lint messages clean-venv

$(VENV)/bin/python:
	@python=$$(bin/find-python) && echo "Creating $(VENV) with $$python" && "$$python" -m venv $(VENV)

$(STAMP): requirements.lock | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check --requirement requirements.lock
	@rm -f $(VENV)/.installed-[0-9]* && touch $@

$(DEV_STAMP): requirements.lock requirements-dev.lock | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check --requirement requirements-dev.lock
	@rm -f $(VENV)/.installed-* && touch $@ $(STAMP)

run: $(STAMP)
	$(PY) -m ima_site.localdev run

test: $(DEV_STAMP)
	$(PY) -m ima_site.localdev test $(ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	# Types of the services, tasks and other plain modules (settings need some URLs).
	DJANGO_DEBUG=1 DATABASE_URL=postgres://localhost/types REDIS_URL=redis://localhost/0 \
		$(VENV)/bin/mypy

# Refresh the translation catalogues after changing user-facing strings.
messages: $(DEV_STAMP)
	$(PY) -m ima_site.localdev manage makemessages --locale es --locale fr --locale id --locale fil --no-obsolete --ignore '.venv/*' --ignore 'var/*'
	$(PY) -m ima_site.localdev manage compilemessages --ignore '.venv/*'

clean-venv:
	rm -rf $(VENV)
