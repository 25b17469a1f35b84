#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang (ASan + UBSan +
# libFuzzer) into build-fuzz/, replays each fuzzer's regression inputs, then
# fuzzes it for a bounded time over its seed corpus. A crash, leak, timeout or
# out-of-memory fails that fuzzer. Ends with the line "N passed, N failed".
#   scripts/fuzz.sh                  every fuzzer, 30 s each (FUZZ_SECONDS overrides)
#   scripts/fuzz.sh long             every fuzzer, 10 min each
#   scripts/fuzz.sh [long] NAME...   only these (session, dma, validate, testdev, iavf)
# New corpus entries go to build-fuzz/corpus/<fuzzer>/, findings to
# build-fuzz/artifacts/<fuzzer>/, logs to build-fuzz/logs/<fuzzer>.log.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${IOMED_FUZZ_BUILD:-$top/build-fuzz}
seconds=${FUZZ_SECONDS:-30}
if [ "${1:-}" = long ]; then
	seconds=${FUZZ_SECONDS:-600}
	shift
fi
fuzzers=("$@")
[ ${#fuzzers[@]} -gt 0 ] || fuzzers=(session dma validate testdev iavf)

fail_all() {
	echo "$1"
	echo "0 passed, ${#fuzzers[@]} failed"
	exit 1
}

# Build dependencies (scripts/setup.sh) plus clang and its libFuzzer/sanitizer runtimes.
scripts/setup.sh || fail_all "setup failed"
missing=()
for p in clang libclang-rt-14-dev; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "fuzz: installing ${missing[*]}" >&2
	SUDO=
	[ "$(id -u)" = 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	{ $SUDO apt-get update -q >/dev/null &&
		$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; } ||
		fail_all "cannot install ${missing[*]}"
fi

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null || fail_all "meson setup failed"
fi
targets=()
for f in "${fuzzers[@]}"; do targets+=("tests/fuzz/fuzz_$f"); done
ninja -C "$build" "${targets[@]}" >/dev/null || {
	ninja -C "$build" "${targets[@]}" | tail -30
	fail_all "build failed"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/logs"
passed=0
failed=0
for f in "${fuzzers[@]}"; do
	bin="$build/tests/fuzz/fuzz_$f"
	seeds="$top/tests/fuzz/corpus/fuzz_$f"
	regs="$top/tests/fuzz/regressions/fuzz_$f"
	work="$build/corpus/fuzz_$f"
	art="$build/artifacts/fuzz_$f/"
	log="$build/logs/$f.log"
	mkdir -p "$work" "$art" "$seeds"
	: >"$log"
	status=ok

	# Every input that once crashed must pass before fuzzing goes on.
	mapfile -t reg_inputs < <(find "$regs" -type f 2>/dev/null | sort)
	if [ ${#reg_inputs[@]} -gt 0 ]; then
		if ! "$bin" -timeout=25 -rss_limit_mb=4096 "${reg_inputs[@]}" >>"$log" 2>&1; then
			status="regression failed"
		fi
	fi

	if [ "$status" = ok ]; then
		dirs=("$work" "$seeds")
		[ ${#reg_inputs[@]} -gt 0 ] && dirs+=("$regs")
		"$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=4096 \
			-print_final_stats=1 -artifact_prefix="$art" "${dirs[@]}" >>"$log" 2>&1 ||
			status="finding"
	fi

	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+.*cov: [0-9]+' "$log" | tail -1)
	cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
	if [ "$status" = ok ]; then
		passed=$((passed + 1))
		printf 'PASS %-9s %ss: %s execs, cov %s, ft %s, corpus %s\n' "$f" "$seconds" \
			"${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
	else
		failed=$((failed + 1))
		printf 'FAIL %-9s %s (execs %s, cov %s, ft %s); log %s\n' "$f" "$status" \
			"${execs:-?}" "${cov:-?}" "${ft:-?}" "$log"
		grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|fuzz invariant|SUMMARY|^artifact_prefix|Test unit written|^Running: ' \
			"$log" | tail -8 | sed 's/^/    /'
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
