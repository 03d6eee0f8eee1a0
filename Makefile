# SPDX-License-Identifier: GPL-2.0-or-later
# Convenience front end; the build itself is meson + ninja in ./build.
BUILD ?= build

.PHONY: all deps build check demo bench fuzz install clean

all: build

deps:
	./scripts/deps.sh

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD)
	ninja -C $(BUILD)

check:
	./scripts/check.sh

demo: build
	./scripts/demo.sh $(BUILD)

bench: build
	./bench/run.sh $(BUILD)

fuzz: deps
	./tests/fuzz/run.sh

install: build
	meson install -C $(BUILD)

clean:
	rm -rf build build-asan build-tsan build-fuzz build*.log
