# The README's two commands live here:
#   make example   set up everything, then profile the bundled example and print the report
#   make test      set up everything, then run the whole test suite
# Both install what they need (scripts/deps) and are cheap when everything is there.
#   make install   the tool, plugin, manual pages and bash completion under PREFIX
#                  (default /usr/local), staged under DESTDIR if given (scripts/install)
BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps build install example test bench bench-tool bench-threads sanitize clean

all: build

deps:
	@bash scripts/deps

build: deps
	@bash scripts/build $(BUILD)

install: build
	@bash scripts/install $(BUILD) $(abspath $(PREFIX)) $(if $(DESTDIR),$(abspath $(DESTDIR)))

example: build
	@bash scripts/example $(BUILD)

test: build
	@bash scripts/test $(BUILD)

bench: build
	@bash bench/run $(BUILD) $(BENCH_ARGS)

# thread churn: peak memory of a 5,000- and a 50,000-thread relay, bare and with the plugin
bench-threads: build
	@/usr/bin/python3 bench/thread_churn.py $(BUILD)

# the tool's scaling: report of 10 million edges, merge of 100 profiles (bench/tool_bench.py)
bench-tool: build
	@/usr/bin/python3 bench/tool_bench.py $(BUILD)

# the tool naming a real run's code: cflow top following dumps, report --by function
# (bench/tool_names.py)
.PHONY: bench-names
bench-names: build
	@/usr/bin/python3 bench/tool_names.py $(BUILD)

# BOLT end to end: a Debian program BOLTed from cflow's profile vs BOLT's instrumentation
# (BOLT_PROGRAM=sqlite3 or bzip2)
BOLT_PROGRAM ?= sqlite3
bench-bolt: build
	@/usr/bin/python3 bench/bolt_e2e.py $(BUILD) --program $(BOLT_PROGRAM) --rounds 21

# compiler PGO end to end: sqlite3 built by clang and GCC as built / with cflow's AutoFDO profile
# of a qemu-x86_64 run / with an instrumented profile (bench/pgo_e2e.py)
.PHONY: bench-pgo
bench-pgo: build
	@/usr/bin/python3 bench/pgo_e2e.py $(BUILD) --rounds 101 --levers profi,nozeros+profi,accurate+profi,plain,nozeros $(PGO_ARGS)

clean:
	rm -rf $(BUILD) build-asan

# system mode: Debian's Linux booting a busybox workload on 2 vCPUs, bare and with the plugin
.PHONY: bench-linux
bench-linux: build
	@/usr/bin/python3 bench/linux_boot.py $(BUILD)
