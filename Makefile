# The two commands of the README: `make run` (the local default, end to end) and `make test`.
# Both install what they need first: Debian packages, the Python venv, the Maven jars, the Pulumi CLI.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test setup lint bench clean image

run: setup
	$(PY) -m localrun

test: setup lint image
	mvn --batch-mode --quiet --strict-checksums -f docker/pom.xml -pl replication-policy,worker-extensions verify
	$(PY) -m pytest

setup: $(VENV)/.requirements-installed
	tools/system/install.sh
	$(PY) -m localkafka build
	tools/pulumi/build.sh >/dev/null

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

bench: setup
	$(PY) -m bench

$(VENV)/.requirements-installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

clean:
	-$(PY) -m localkafka down
	rm -rf .cache .local .pulumi-state

# The image without a Docker engine: buildah, with stand-in Debian bases unless the pinned ones are
# in storage; also writes .cache/image/mm2-eks.oci.tar for `ctr images import` (tools/image/build.sh).
image:
	tools/image/build.sh
