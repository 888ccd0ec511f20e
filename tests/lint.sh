#!/bin/sh
# make lint: cppcheck and clang-tidy over src/, examples/ and bench/ with
# the settings in .cppcheck-suppressions and .clang-tidy; HACKING.md
# ("Static analysis") has the check set and why each exclusion is there.
#
#   tests/lint.sh [compiler flags]     (make lint passes the build's)
#
# Run from the build directory; top_srcdir (default .) locates the
# sources.  LINT_JOBS (default 2) files are analysed at a time; CPPCHECK
# and CLANG_TIDY name other binaries of the tools.  Exits 1
# on any finding not suppressed; a tool that is not installed is skipped
# with a message (exit 0 if both are missing, so say it loudly).
set -u

src=${top_srcdir:-.}
jobs=${LINT_JOBS:-2}
cppcheck=${CPPCHECK:-cppcheck}
tidy=
for t in ${CLANG_TIDY:-clang-tidy clang-tidy-14}; do
	if command -v "$t" >/dev/null 2>&1; then
		tidy=$t
		break
	fi
done

files=$(ls "$src"/src/*.c "$src"/examples/*.c "$src"/bench/*.c)
nfiles=$(echo "$files" | wc -l)
out=$(mktemp "${TMPDIR:-/tmp}/sshchat-lint.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
status=0
ran=0

if command -v "$cppcheck" >/dev/null 2>&1; then
	ran=$((ran + 1))
	echo "lint: $("$cppcheck" --version) over $nfiles files"
	# The path macros only need to be strings here; config.h is the
	# build's (-I .).  cppcheck does not read the system headers: the
	# posix/gnu/openssl/sqlite3 libraries describe those functions.
	# shellcheck disable=SC2086
	if ! "$cppcheck" -q -j "$jobs" --std=c11 \
	    --enable=warning,performance,portability,style \
	    --library=posix --library=gnu --library=openssl \
	    --library=sqlite3 \
	    --inline-suppr --suppressions-list="$src/.cppcheck-suppressions" \
	    --error-exitcode=1 \
	    --template='{file}:{line}: {severity}: {message} [{id}]' \
	    -I . -I "$src/src" -DHAVE_CONFIG_H \
	    -DSYSCONFDIR='"/etc"' -DLOCALSTATEDIR='"/var"' \
	    -DLIBEXECDIR='"/usr/libexec"' \
	    $files; then
		echo "lint: cppcheck: findings above"
		status=1
	fi
else
	echo "lint: cppcheck is not installed: SKIPPED" \
	    "(apt-get install cppcheck)"
fi

if [ -n "$tidy" ]; then
	ran=$((ran + 1))
	v=$("$tidy" --version | sed -n 's/.*LLVM version/clang-tidy/p')
	echo "lint: $v over $nfiles files"
	# One file per clang-tidy, $jobs at a time; the flags after -- are
	# the compiler's.  WarningsAsErrors in .clang-tidy: any finding
	# makes clang-tidy, so xargs, exit non-zero.
	tidy_rc=0
	echo "$files" | xargs -P "$jobs" -I{} "$tidy" -quiet \
	    --config-file="$src/.clang-tidy" \
	    --extra-arg=-Wno-unknown-warning-option \
	    {} -- "$@" >"$out" 2>&1 || tidy_rc=$?
	# Drop clang-tidy's "N warnings generated." chatter, keep the rest.
	grep -v -E '^[0-9]+ (warning|error)s? (and [0-9]+ .*)?generated' "$out"
	n=$(grep -c -E '^[^ ].*: (error|warning): ' "$out")
	if [ "$n" -ne 0 ]; then
		echo "lint: clang-tidy: $n findings:"
		grep -E '^[^ ].*: (error|warning): ' "$out"
		status=1
	elif [ "$tidy_rc" -ne 0 ]; then
		echo "lint: clang-tidy failed (exit $tidy_rc) without a finding"
		status=1
	fi
else
	echo "lint: clang-tidy is not installed: SKIPPED" \
	    "(apt-get install clang-tidy)"
fi

if [ "$ran" -eq 0 ]; then
	echo "lint: neither cppcheck nor clang-tidy is installed:" \
	    "nothing checked"
elif [ "$status" -eq 0 ]; then
	echo "lint: clean"
fi
exit "$status"
