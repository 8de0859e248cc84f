# Vigil. `make` or `make help` lists the targets; each target's `##` comment is its help text.

# ---- Variables (override on the command line: make test JOBS=4) -------------------------------
JOBS           ?= $(shell nproc)
BUILD_DIR      ?= build
BUILD_TYPE     ?= RelWithDebInfo
CMAKE_ARGS     ?=
CTEST_ARGS     ?=
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS   ?= 60
FUZZ_ARGS      ?= -timeout=10 -rss_limit_mb=2048
BENCH_ARGS     ?=
CLANG_FORMAT   ?= clang-format
CLANG_TIDY     ?= clang-tidy
# `make run ARGS="--output json"` passes ARGS to vigil-agent.
ARGS           ?=

# CI may run without HOME: ccache, Go and the control-plane cache keep their files under it.
HOME ?= $(shell getent passwd $$(id -u) | cut -d: -f6)
export HOME
# ccache: default CCACHE_DIR, bounded size.
export CCACHE_MAXSIZE ?= 2G
# Relative paths in the cache key, so a fresh clone elsewhere (CI) reuses the cache.
export CCACHE_BASEDIR ?= $(CURDIR)

# C++ sources that fmt/lint cover (checked-in vmlinux.h is generated, so it is left alone).
CXX_SOURCE_DIRS := common cli operator agent bpf test bench fuzz
CXX_SOURCES = $(shell find $(CXX_SOURCE_DIRS) -type f \
                \( -name '*.h' -o -name '*.hpp' -o -name '*.cc' -o -name '*.cpp' -o -name '*.c' \) \
                ! -name 'vmlinux*.h' ! -path 'test/data/*' 2>/dev/null | sort)
# clang-tidy covers these translation units.
TIDY_SOURCES = $(shell find common cli -type f -name '*.cc' 2>/dev/null | sort)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m [VAR=value]\n"} \
	  /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)
	@printf '\nVariables: JOBS=%s BUILD_DIR=%s BUILD_TYPE=%s FUZZ_SECONDS=%s\n\n' \
	  '$(JOBS)' '$(BUILD_DIR)' '$(BUILD_TYPE)' '$(FUZZ_SECONDS)'

.PHONY: deps
deps: ## Install the Debian packages Vigil needs (scripts/install-deps.sh; root, Debian 12).
	@scripts/install-deps.sh

##@ Development

.PHONY: fmt
fmt: ## Format every C++ source in place with clang-format.
	@files="$(CXX_SOURCES)"; \
	if [[ -z "$$files" ]]; then echo "fmt: no C++ sources."; exit 0; fi; \
	$(CLANG_FORMAT) -i $$files; \
	echo "fmt: formatted $$(wc -w <<<"$$files") files."

.PHONY: lint
lint: $(BUILD_DIR)/build.ninja ## clang-format check on all C++ sources, clang-tidy on common/ and cli/.
	@files="$(CXX_SOURCES)"; \
	echo "lint: clang-format --dry-run --Werror on $$(wc -w <<<"$$files") files"; \
	fmt_rc=0; [[ -z "$$files" ]] || $(CLANG_FORMAT) --dry-run --Werror $$files || fmt_rc=$$?; \
	tidy="$(TIDY_SOURCES)"; \
	echo "lint: clang-tidy on $$(wc -w <<<"$$tidy") files (-p $(BUILD_DIR), $(JOBS) jobs)"; \
	ninja -C $(BUILD_DIR) generated/embedded_rules.cc >/dev/null; \
	tidy_rc=0; [[ -z "$$tidy" ]] || printf '%s\n' $$tidy | xargs -P $(JOBS) -n 1 \
	  $(CLANG_TIDY) -p $(BUILD_DIR) --quiet --warnings-as-errors='*' \
	  --header-filter='^$(CURDIR)/(common|cli)/' >$(BUILD_DIR)/clang-tidy.log 2>&1 || tidy_rc=$$?; \
	grep -v -E '^[0-9]+ (warnings?|errors?)( and [0-9]+ errors?)? generated\.$$' $(BUILD_DIR)/clang-tidy.log || true; \
	if [[ $$fmt_rc -ne 0 ]]; then echo "lint: FAILED: clang-format (run make fmt)"; fi; \
	if [[ $$tidy_rc -ne 0 ]]; then echo "lint: FAILED: clang-tidy"; fi; \
	if [[ $$fmt_rc -ne 0 || $$tidy_rc -ne 0 ]]; then exit 1; fi; \
	echo "lint: OK"

##@ Build

# Configure only when the build dir has no build.ninja yet; after that Ninja re-runs CMake itself
# whenever a CMakeLists.txt or a globbed directory changes.
$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

.PHONY: build
build: $(BUILD_DIR)/build.ninja ## Build everything into build/ (CMake + Ninja + ccache, RelWithDebInfo).
	ninja -C $(BUILD_DIR) -j $(JOBS)

.PHONY: clean
clean: ## Remove build/ and build-fuzz/.
	rm -rf $(BUILD_DIR) $(FUZZ_BUILD_DIR)

.PHONY: run
run: build ## Run vigil-agent on this host with the default rules (root); ARGS="--rules f.yaml" adds flags.
	./$(BUILD_DIR)/vigil-agent $(ARGS)

.PHONY: images
images: ## Container images with buildah from scratch (offline; see deploy/images/README.md)
	@scripts/build-images.sh

##@ Test

.PHONY: test
test: deps ## Every test: install deps, build, the local control plane binaries and helm (cached), ctest.
	@$(MAKE) --no-print-directory build
	@VIGIL_CONTROLLERS=garbagecollector,namespace scripts/controlplane.sh build
	@scripts/helm.sh path >/dev/null
	@echo "test: ctest in $(BUILD_DIR)/ with $(JOBS) jobs"
	@rc=0; cd $(BUILD_DIR) && ctest --output-on-failure --no-tests=error -j $(JOBS) --timeout 300 \
	  $(CTEST_ARGS) 2>&1 | tee ctest-last.log || rc=$$?; \
	summary=$$(grep -E '[0-9]+% tests passed' ctest-last.log | tail -n 1 || true); \
	if [[ $$rc -eq 0 ]]; then echo "test: PASSED: $${summary:-ctest exited 0}"; \
	else echo "test: FAILED (ctest exit $$rc): $${summary:-see output above}"; exit $$rc; fi

.PHONY: test-e2e
test-e2e: build ## Only the end-to-end tests (real kube-apiserver + etcd, real binaries).
	@scripts/controlplane.sh build
	@cd $(BUILD_DIR) && ctest --output-on-failure -L e2e $(CTEST_ARGS)

.PHONY: bench
bench: build ## Run every benchmark: bench/*_bench binaries and bench/*_bench.sh harnesses.
	@benches=$$(find bench -maxdepth 1 -name '*_bench.cc' 2>/dev/null | sort); \
	if [[ -z "$$benches" ]]; then echo "bench: no bench/*_bench.cc yet."; exit 0; fi; \
	failed=(); \
	for src in $$benches; do \
	  name=$$(basename "$$src" .cc); \
	  echo "==== $$name"; \
	  ./$(BUILD_DIR)/$$name $(BENCH_ARGS) || failed+=("$$name"); \
	done; \
	for script in $$(find bench -maxdepth 1 -name '*_bench.sh' | sort); do \
	  echo "==== $$script"; \
	  VIGIL_OPERATOR=$(CURDIR)/$(BUILD_DIR)/vigil-operator bash "$$script" || failed+=("$$script"); \
	done; \
	if (( $${#failed[@]} )); then echo "bench: FAILED: $${failed[*]}"; exit 1; fi

.PHONY: bench-agent
bench-agent: $(BUILD_DIR)/build.ninja ## Agent overhead, CPU per event, throughput and memory (root; BENCH_ARGS="--quick").
	ninja -C $(BUILD_DIR) -j $(JOBS) vigil-agent agent_overhead_bench
	./$(BUILD_DIR)/agent_overhead_bench $(BENCH_ARGS)

.PHONY: bench-audit
bench-audit: $(BUILD_DIR)/build.ninja ## Audit events/s through the receiver + Falco's audit rules, POST-to-sink latency.
	ninja -C $(BUILD_DIR) -j $(JOBS) vigil-audit-receiver-bench
	./$(BUILD_DIR)/audit_receiver_bench $(BENCH_ARGS)

.PHONY: bench-cluster
bench-cluster: $(BUILD_DIR)/build.ninja ## Apply->Programmed on 100 nodes, writes at rest, operator RSS (root; bench/README.md).
	ninja -C $(BUILD_DIR) -j $(JOBS) vigil-operator vigil-agent vigil-node-agent-sim
	VIGIL_BUILD_DIR=$(BUILD_DIR) bash bench/cluster_bench.sh

.PHONY: fuzz
fuzz: ## Build fuzz/*_fuzz with clang+libFuzzer in build-fuzz/ and run each for FUZZ_SECONDS.
	@srcs=$$(find fuzz -maxdepth 1 -name '*_fuzz.cc' 2>/dev/null | sort); \
	if [[ -z "$$srcs" ]]; then echo "fuzz: no fuzz/*_fuzz.cc yet."; exit 0; fi; \
	names=$$(for s in $$srcs; do basename "$$s" .cc; done); \
	if [[ ! -f $(FUZZ_BUILD_DIR)/build.ninja ]]; then \
	  CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DVIGIL_BUILD_FUZZ=ON -DVIGIL_BUILD_TESTS=OFF -DVIGIL_BUILD_BENCH=OFF \
	    -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link $(CMAKE_ARGS); \
	fi; \
	ninja -C $(FUZZ_BUILD_DIR) -j $(JOBS) $$names; \
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1; \
	mkdir -p $(FUZZ_BUILD_DIR)/artifacts $(FUZZ_BUILD_DIR)/logs; \
	failed=(); report=(); \
	for name in $$names; do \
	  seeds=fuzz/corpus/$${name%_fuzz}; corpus=$(FUZZ_BUILD_DIR)/corpus/$$name; \
	  rm -rf "$$corpus"; mkdir -p "$$corpus"; \
	  if [[ -d "$$seeds" ]]; then cp -r "$$seeds"/. "$$corpus"/; \
	  else echo "fuzz: warning: no seed corpus $$seeds/"; fi; \
	  log=$(FUZZ_BUILD_DIR)/logs/$$name.log; \
	  echo "==== $$name: $(FUZZ_SECONDS)s, $$(ls -A "$$corpus" | wc -l) seeds, log $$log"; \
	  start=$$(date +%s); rc=0; \
	  ./$(FUZZ_BUILD_DIR)/$$name -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD_DIR)/artifacts/$$name- $(FUZZ_ARGS) "$$corpus" >"$$log" 2>&1 || rc=$$?; \
	  secs=$$(( $$(date +%s) - start )); \
	  execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' "$$log" | tail -n 1); \
	  line="$$name: ran $${secs}s, $${execs:-?} execs ($$(( $${execs:-0} / (secs > 0 ? secs : 1) ))/s), corpus $$(ls -A "$$corpus" | wc -l)"; \
	  if [[ $$rc -ne 0 ]]; then \
	    tail -n 40 "$$log"; line="$$line, FAILED (exit $$rc, artifacts in $(FUZZ_BUILD_DIR)/artifacts/)"; \
	    failed+=("$$name"); \
	  fi; \
	  echo "$$line"; report+=("$$line"); \
	done; \
	echo "==== fuzz summary"; printf '  %s\n' "$${report[@]}"; \
	if (( $${#failed[@]} )); then echo "fuzz: FAILED: $${failed[*]}"; exit 1; fi; \
	echo "fuzz: no crashes"

##@ Demo

.PHONY: demo
demo: deps build ## The story live: local control plane, operator, eBPF agent, sample rules, a shell in a pod, alerts on screen (root; Ctrl-C stops).
	@VIGIL_BUILD_DIR=$(BUILD_DIR) ./scripts/demo.sh
