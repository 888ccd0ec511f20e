#!/bin/sh
# Build the libFuzzer harnesses with clang (ASan + UBSan + libFuzzer) from
# the real sources in src/, then run each for FUZZ_SECONDS seconds.
#
#   fuzz/run.sh [TARGET...]      TARGET: userdb command render record screen
#                                (default: all of them)
#
# Environment:
#   FUZZ_SECONDS    seconds per harness (default 60; CI uses 10); 0 runs
#                   each harness once over its seed corpus and stops
#   FUZZ_BUILD_DIR  objects, binaries, working corpora, crash files and
#                   logs (default: TOP_BUILDDIR/fuzz/build)
#   FUZZ_PARALLEL   1: run the harnesses at the same time
#   FUZZ_BUILD_ONLY 1: build, do not run
#   FUZZ_ARGS       extra libFuzzer arguments for every harness
#   CLANG           the compiler (default: clang, else clang-14)
#   top_builddir    where config.h is (default: the source tree)
#   FUZZ_CPPFLAGS, FUZZ_LIBS   as configure found them (make fuzz passes
#                   them); defaults suit Debian
#
# Exit status: 0 when every harness ran without a finding, 1 on a crash,
# a failed property or a build error, 77 (skip) when clang or its
# libFuzzer runtime (Debian: libclang-rt-14-dev) is missing.
#
# A finding leaves its input in FUZZ_BUILD_DIR/artifacts/; replay it with
#   FUZZ_BUILD_DIR/fuzz-TARGET FILE
#
# These cover the parsers; what a logged-in client sends over SSH is
# fuzzed against a whole daemon under ASan by tests/ssh-fuzz.py
# (tests/stress/ssh-fuzz.sh, make check-stress; HACKING.md, "Fuzzing the
# SSH surface").
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=${top_builddir:-$srcdir}
top_builddir=$(cd "$top_builddir" && pwd)
build=${FUZZ_BUILD_DIR:-$top_builddir/fuzz/build}
seconds=${FUZZ_SECONDS:-60}
all_targets="userdb command render record screen"
targets=${*:-$all_targets}

skip() {
	echo "fuzz: SKIP: $*" >&2
	exit 77
}

die() {
	echo "fuzz: ERROR: $*" >&2
	exit 1
}

for t in $targets; do
	case " $all_targets " in
	*" $t "*) ;;
	*) die "unknown target '$t' (one of: $all_targets)" ;;
	esac
done

# --- tools ------------------------------------------------------------------
cc=${CLANG:-}
if [ -z "$cc" ]; then
	for c in clang clang-14; do
		if command -v "$c" >/dev/null 2>&1; then
			cc=$c
			break
		fi
	done
fi
[ -n "$cc" ] && command -v "$cc" >/dev/null 2>&1 ||
	skip "clang not found (Debian: apt-get install clang)"
[ -f "$top_builddir/config.h" ] ||
	die "no config.h in $top_builddir: run ./configure first"

mkdir -p "$build/obj" "$build/artifacts" || die "cannot create $build"
probe=$build/obj/probe
cat >"$probe.c" <<'EOF'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }
EOF
"$cc" -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" \
	>"$probe.log" 2>&1 ||
	skip "$cc cannot link -fsanitize=fuzzer,address,undefined" \
	    "(Debian: apt-get install libclang-rt-14-dev); see $probe.log"

# --- build ------------------------------------------------------------------
cppflags="-I$top_builddir -iquote $srcdir/src -iquote $srcdir/fuzz
	-DSYSCONFDIR=\"/etc\" -DLOCALSTATEDIR=\"/var\"
	-DLIBEXECDIR=\"/usr/libexec\" -D_DEFAULT_SOURCE ${FUZZ_CPPFLAGS:-}"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-std=gnu17 -g -O1 -fno-omit-frame-pointer -pthread -Wall -Wextra
	-Wno-unused-parameter -Wno-missing-field-initializers $san"
libs=${FUZZ_LIBS:-"-lssh -lsqlite3 -lcrypto -lcrypt -lpthread"}

# Every module but the programs' main(): what libcore.a holds.
core_srcs=
for f in "$srcdir"/src/*.c; do
	grep -q '^main(' "$f" || core_srcs="$core_srcs $f"
done

record_extra=

headers=$(ls "$srcdir"/src/*.h "$srcdir"/fuzz/*.h \
	"$top_builddir/config.h" 2>/dev/null)

# compile SRC OBJ EXTRA_FLAGS: only when SRC or a header is newer.
compile() {
	src=$1 obj=$2
	shift 2
	if [ -f "$obj" ] && [ -z "$(find "$src" $headers -newer "$obj" \
	    2>/dev/null | head -n 1)" ]; then
		return 0
	fi
	echo "  CC $(basename "$src")"
	# shellcheck disable=SC2086
	"$cc" $cppflags $cflags "$@" -c "$src" -o "$obj" || return 1
}

echo "fuzz: building with $cc in $build"
lib=$build/obj/libcore-fuzz.a
objs=
rebuilt=0
for f in $core_srcs $record_extra; do
	o=$build/obj/$(basename "$f" .c).o
	if [ ! -f "$o" ] || [ -n "$(find "$f" $headers -newer "$o" | head -n 1)" ]; then
		rebuilt=1
	fi
	compile "$f" "$o" -fsanitize=fuzzer-no-link || die "compiling $f"
	objs="$objs $o"
done
if [ "$rebuilt" = 1 ] || [ ! -f "$lib" ]; then
	rm -f "$lib"
	# shellcheck disable=SC2086
	ar rcs "$lib" $objs || die "ar $lib"
fi

for t in $targets; do
	o=$build/obj/fuzz-$t.o
	compile "$srcdir/fuzz/fuzz-$t.c" "$o" -fsanitize=fuzzer ||
		die "compiling fuzz-$t.c"
	wrap=
	[ "$t" = command ] && wrap=-Wl,--wrap=daemon_request_shutdown
	# shellcheck disable=SC2086
	"$cc" $cflags -fsanitize=fuzzer $wrap "$o" "$lib" $libs \
		-o "$build/fuzz-$t" || die "linking fuzz-$t"
done
[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && exit 0

# --- run --------------------------------------------------------------------
# Per harness: inputs long enough to pass each parser's limits
# (RECORD_MAX 65536, the users file's 8192-byte lines, MaxLineLength 4096).
extra_args() {
	case $1 in
	userdb) echo "-max_len=10000" ;;
	command) echo "-max_len=5000" ;;
	render) echo "-max_len=1024" ;;
	record) echo "-max_len=70000" ;;
	screen) echo "-max_len=2000" ;;
	esac
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

run_one() {
	t=$1
	corpus=$build/corpus/$t
	log=$build/$t.log
	mkdir -p "$corpus"
	dict=
	[ -f "$srcdir/fuzz/$t.dict" ] && dict=-dict=$srcdir/fuzz/$t.dict
	if [ "$seconds" = 0 ]; then
		time_args="-runs=0"
	else
		time_args="-max_total_time=$seconds"
	fi
	# New inputs go to the first (build) directory; the seeds in the
	# tree are only read.
	# shellcheck disable=SC2046,SC2086
	"$build/fuzz-$t" $time_args -timeout=25 -rss_limit_mb=2560 \
		-print_final_stats=1 $(extra_args "$t") $dict \
		-artifact_prefix="$build/artifacts/$t-" ${FUZZ_ARGS:-} \
		"$corpus" "$srcdir/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | sed 's/ft: //')
	corp=$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | sed 's/corp: //')
	if [ "$rc" = 0 ]; then
		printf 'fuzz: %-8s ok    %ss, %s runs, %s exec/s, cov %s, ft %s, corpus %s\n' \
			"$t" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
			"${ft:-?}" "${corp:-?}"
	else
		printf 'fuzz: %-8s FAIL  (exit %s); log %s\n' "$t" "$rc" "$log"
		grep -A60 -E '==FUZZ CHECK FAILED==|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error:' \
			"$log" | head -n 80
		ls -1 "$build/artifacts/$t-"* 2>/dev/null | sed 's/^/  reproducer: /'
	fi
	return "$rc"
}

status=0
if [ "${FUZZ_PARALLEL:-0}" = 1 ]; then
	pids=
	for t in $targets; do
		run_one "$t" >"$build/$t.summary" 2>&1 &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p" || status=1
	done
	for t in $targets; do
		cat "$build/$t.summary"
	done
else
	for t in $targets; do
		run_one "$t" || status=1
	done
fi
exit "$status"
