#!/usr/bin/env bash
# Line coverage of what the fuzzers have found: builds the harnesses with clang's source-based
# coverage (no sanitizers) into build-fuzz-cov/, replays each fuzzer's seed corpus, regression
# inputs and the corpus scripts/fuzz.sh accumulated in build-fuzz/corpus/, and prints for each
# fuzzer the source files it reached with their line and branch coverage.
#   scripts/fuzz-coverage.sh [NAME...]    (default: session dma validate testdev virtio_net)
# Needs clang and llvm-14 (llvm-profdata, llvm-cov); installs them when missing.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${IOMED_FUZZ_COV_BUILD:-$top/build-fuzz-cov}
corpora=${IOMED_FUZZ_BUILD:-$top/build-fuzz}/corpus
fuzzers=("$@")
[ ${#fuzzers[@]} -gt 0 ] || fuzzers=(session dma validate testdev virtio_net)

scripts/setup.sh >/dev/null || { echo "setup failed"; exit 1; }
missing=()
for p in clang libclang-rt-14-dev llvm-14; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=
	[ "$(id -u)" = 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	{ $SUDO apt-get update -q >/dev/null &&
		$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; } ||
		{ echo "cannot install ${missing[*]}"; exit 1; }
fi

# meson's compiler checks run instrumented programs: their profiles go nowhere
export LLVM_PROFILE_FILE=/dev/null
if [ ! -f "$build/build.ninja" ]; then
	CC=clang CFLAGS="-fprofile-instr-generate -fcoverage-mapping" \
		LDFLAGS="-fprofile-instr-generate" meson setup "$build" -Dfuzz=true \
		-Db_lundef=false >/dev/null || { echo "meson setup failed"; exit 1; }
fi
targets=()
for f in "${fuzzers[@]}"; do targets+=("tests/fuzz/fuzz_$f"); done
ninja -C "$build" "${targets[@]}" >/dev/null || { echo "build failed"; exit 1; }

export IOMED_FUZZ_VERBOSE= # logs stay quiet
for f in "${fuzzers[@]}"; do
	bin=$build/tests/fuzz/fuzz_$f
	dirs=()
	for d in "tests/fuzz/corpus/fuzz_$f" "tests/fuzz/regressions/fuzz_$f" "$corpora/fuzz_$f"; do
		[ -d "$d" ] && dirs+=("$d")
	done
	inputs=$(find "${dirs[@]}" -type f | wc -l)
	rm -f "$build/$f.profraw"
	LLVM_PROFILE_FILE=$build/$f.profraw "$bin" -runs=0 "${dirs[@]}" >/dev/null 2>&1
	llvm-profdata-14 merge -o "$build/$f.profdata" "$build/$f.profraw" ||
		{ echo "$f: no profile"; continue; }
	echo "fuzz_$f: $inputs inputs"
	# file, lines, missed lines, line cover, branches, missed, branch cover; reached files only
	llvm-cov-14 report "$bin" -instr-profile="$build/$f.profdata" 2>/dev/null |
		awk '$1 ~ /^src\// && $8 > 0 && $9 < $8 {
			printf "  %-36s lines %5s of %5s (%s)  branches %s\n", $1, $8 - $9, $8, $10, $13 }'
done
