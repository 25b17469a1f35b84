#!/usr/bin/env bash
# Runs every test of iomed: installs what is missing (scripts/setup.sh), builds with
# AddressSanitizer + UBSan, then runs the unit, integration and VM suites through
# `meson test`. Ends with the line "N passed, N failed".
#   scripts/test.sh                 every suite
#   scripts/test.sh unit [...]      only the named suites (unit, integration, vm)
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${IOMED_TEST_BUILD:-$top/build-test}
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(unit integration vm)

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

args=()
for s in "${suites[@]}"; do args+=(--suite "$s"); done
meson test -C "$build" --print-errorlogs --num-processes 1 "${args[@]}"
rc=$?

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
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
[ "${failed:-0}" -eq 0 ]
