#!/usr/bin/env bash
# Runs every test of iomed: installs what is missing (scripts/setup.sh), builds with
# AddressSanitizer + UBSan, runs the unit, integration, VM and soak suites through `meson test`,
# then each fuzzer for a bounded time (scripts/fuzz.sh, FUZZ_SECONDS each, default 30).
# Ends with the line "N passed, N failed".
#   scripts/test.sh                 every suite
#   scripts/test.sh unit [...]      only the named suites (unit, integration, vm, soak, fuzz,
#                                   release: the optimized build compiles, -Werror, one test)
#   IOMED_SOAK_RESTARTS=1000 IOMED_SOAK_REBOOTS=100 IOMED_SOAK_FLOODS=1000 scripts/test.sh soak
#                                   longer soak runs (defaults 100, 20, 100)
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${IOMED_TEST_BUILD:-$top/build-test}
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(unit integration vm soak release fuzz)
run_fuzz=0
run_release=0
meson_suites=()
for s in "${suites[@]}"; do
	case $s in
	fuzz) run_fuzz=1 ;;
	release) run_release=1 ;;
	*) meson_suites+=("$s") ;;
	esac
done

scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null ||
		{ echo "meson setup failed"; echo "0 passed, 1 failed"; exit 1; }
fi
ninja -C "$build" || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

# Sanitizer findings fail the test that triggers them; leaks are checked too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export IOMED="$build/iomed"

rc=0
rm -f "$build/meson-logs/testlog.json"
if [ ${#meson_suites[@]} -gt 0 ]; then
	args=()
	for s in "${meson_suites[@]}"; do args+=(--suite "$s"); done
	meson test -C "$build" --print-errorlogs --num-processes 1 "${args[@]}"
	rc=$?
	# the soak tests' resource figures (fds, threads, RSS), passed or not
	grep -h '^FIGURES ' "$build/meson-logs/testlog.txt" 2>/dev/null
fi

# Count from meson's own log, one line per test.
read -r passed failed skipped < <(python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = skip = 0
try:
    for line in open(sys.argv[1]):
        r = json.loads(line).get("result", "")
        if r in ("OK", "EXPECTEDFAIL"):
            ok += 1
        elif r == "SKIP":
            skip += 1
        else:
            bad += 1
except FileNotFoundError:
    pass
print(ok, bad, skip)
PY
)
if [ "$rc" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then
	failed=1
fi

# The release build (what the benchmarks and users run): -O3 sees warnings the test build does not.
if [ "$run_release" = 1 ]; then
	release=${IOMED_RELEASE_BUILD:-$top/build-ci-release}
	release_log=$(mktemp)
	if { [ -d "$release" ] || meson setup "$release" --buildtype=release >"$release_log" 2>&1; } &&
		ninja -C "$release" >>"$release_log" 2>&1; then
		echo "release build: ok"
		passed=$((${passed:-0} + 1))
	else
		echo "release build: FAILED"
		tail -n 30 "$release_log"
		failed=$((${failed:-0} + 1))
	fi
	rm -f "$release_log"
fi

# Fuzzers: each one is a test; a crash, leak or timeout fails it.
if [ "$run_fuzz" = 1 ]; then
	fuzz_out=$(mktemp)
	FUZZ_SECONDS=${FUZZ_SECONDS:-30} scripts/fuzz.sh 2>&1 | tee "$fuzz_out"
	if read -r fp ff < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$fuzz_out" | tail -n 1) &&
		[ -n "$fp" ]; then
		passed=$((passed + fp))
		failed=$((failed + ff))
	else
		failed=$((failed + 1))
	fi
	rm -f "$fuzz_out"
fi
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
[ "${failed:-0}" -eq 0 ]
