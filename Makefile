# The two set-up commands: `make run` and `make test`. Both create .venv on first use.
VENV := .venv
# pip's download cache stays in the checkout too.
export PIP_CACHE_DIR := $(CURDIR)/var/cache/pip
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum < requirements.lock | cut -d' ' -f1)

.PHONY: run test lint messages clean-venv

$(STAMP): requirements.lock
	@test -x $(PY) || { python=$$(bin/find-python) && echo "Creating $(VENV) with $$python" && "$$python" -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check --requirement requirements.lock
	@rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	$(PY) -m ima_site.localdev run

test: $(STAMP)
	$(PY) -m ima_site.localdev test $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	# Types of the services, tasks and other plain modules (settings need some URLs).
	DJANGO_DEBUG=1 DATABASE_URL=postgres://localhost/types REDIS_URL=redis://localhost/0 \
		$(VENV)/bin/mypy

# Refresh the translation catalogues after changing user-facing strings.
messages: $(STAMP)
	$(PY) -m ima_site.localdev manage makemessages --locale es --locale fr --locale id --locale fil --no-obsolete --ignore '.venv/*' --ignore 'var/*'
	$(PY) -m ima_site.localdev manage compilemessages --ignore '.venv/*'

clean-venv:
	rm -rf $(VENV)
