# bodycam-agent — every developer and CI entry point.
# `make demo` and `make test` install what they need (npm packages, Debian packages) and say so.
SHELL := /bin/bash
.DEFAULT_GOAL := build
NODE_TEST := node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout
DEPS := scripts/deps.sh
STAMP := .cache/stamps

.PHONY: build codegen check-generated lint test test-unit test-media test-integrity test-mqtt \
        test-offload test-hil hil demo bench clean deps package
.PHONY: test-yocto yocto-check yocto-check-layer

$(STAMP):
	@mkdir -p $@

# npm packages: native addons (i2c-bus, onoff/epoll, sd-notify) need a compiler and libsystemd.
node_modules/.installed: package.json package-lock.json | $(STAMP)
	@$(DEPS) build
	@echo ">> installing npm packages (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.installed

codegen: node_modules/.installed
	@node codegen/run.mjs

# Generated code is committed (reviewable, no generator on the device); CI fails when it is stale.
check-generated: node_modules/.installed
	@node codegen/run.mjs --check

build: node_modules/.installed
	@npx tsc -p tsconfig.json
	@chmod +x dist/agent/cli/main.js

lint: node_modules/.installed
	@npx eslint --max-warnings=0 .
	@npx buf lint

# Stages run fast to slow; each prints node's test summary and leaves TAP in .cache/results.
define run_stage
	@mkdir -p .cache/results
	@files=$$(find dist/test/$(1) -name '*.test.js' 2>/dev/null | sort); \
	if [ -z "$$files" ]; then echo ">> stage $(1): no tests"; exit 0; fi; \
	echo ">> stage $(1)"; \
	$(NODE_TEST) --test-reporter=tap --test-reporter-destination=.cache/results/$(1).tap $$files
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
test-offload: build
	@$(DEPS) media ceph
	$(call run_stage,offload)
test-hil hil: build
	@$(DEPS) media hil
	@bash test/hil/run.sh

# The Yocto layer through real BitBake (scarthgap and wrynose from ../shared/yocto, as an
# unprivileged user): parse, `-e`, `-g bodycam-image`, `-c unpack` of this checkout.
# YOCTO_SERIES="scarthgap" limits it to one series.
test-yocto yocto-check: build
	@$(DEPS) yocto
	$(call run_stage,yocto)

# yocto-check-layer per series (11–21 min each): not part of `make test`.
yocto-check-layer:
	@$(DEPS) yocto
	@for s in $${YOCTO_SERIES:-scarthgap wrynose}; do scripts/yocto-check-layer $$s || exit 1; done

test: check-generated lint
	@rm -rf .cache/results
	@# -k: every stage runs even after a failure, so one CI run shows every failing stage.
	@$(MAKE) --no-print-directory -k test-unit test-media test-integrity test-mqtt test-offload test-hil test-yocto; \
	status=$$?; node scripts/summarize-tests.mjs .cache/results || status=1; exit $$status

demo: build
	@$(DEPS) media
	@node dist/agent/demo/demo.js

bench: build
	@$(DEPS) media mqtt ceph
	@node dist/test/bench/run.js

clean:
	rm -rf dist .cache
