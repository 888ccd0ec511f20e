#!/bin/bash
# tests/unit/test-store, the message store's suite, against PostgreSQL:
# a private cluster (tests/pg-cluster.sh) for the run, STORE_TEST_URL
# pointing test-store at it.  Skipped (77) when sshchatd was built
# without libpq or PostgreSQL's server is not installed.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
if ! grep -q '^#define HAVE_LIBPQ 1' "$top_builddir/config.h"; then
	echo "store-pg: sshchatd was built without libpq: skipped"
	exit 77
fi
exec bash "$top_srcdir/tests/pg-cluster.sh" run \
    "$top_builddir/tests/unit/test-store"
