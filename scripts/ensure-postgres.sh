#!/bin/sh
# Make sure a PostgreSQL server is there for the tests that need one (tests/support/postgres.py
# starts its own on a free port in a temporary directory; nothing is downloaded at test time).
# Idempotent: does nothing when initdb is on PATH or under /usr/lib/postgresql/*/bin. Installs
# Debian's package with apt-get when it can (it also creates the postgres user the tests run the
# server as when they run as root, since initdb refuses root).
#
# Without apt-get (or root/sudo) it says what to install and exits 0, so `make test` still runs:
# the PostgreSQL tests then skip with that reason, except in CI (CI set), where they fail.
set -eu

say() { echo "ensure-postgres: $*" >&2; }

have_postgres() {
    command -v initdb >/dev/null 2>&1 && return 0
    for initdb in /usr/lib/postgresql/*/bin/initdb; do
        [ -x "$initdb" ] && return 0
    done
    return 1
}

explain() {
    say "PostgreSQL (initdb) is missing and $1."
    say "install the server yourself (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql)"
    say "until then the PostgreSQL tests are skipped (and fail in CI)."
    exit 0
}

have_postgres && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        explain "this is not root (and there is no password-less sudo)"
    fi
fi
command -v apt-get >/dev/null 2>&1 || explain "apt-get is not available"

install() {
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends postgresql >/dev/null
}

echo "ensure-postgres: installing Debian's postgresql (apt-get)..."
if ! install; then
    $SUDO apt-get update -qq >/dev/null || true
    install || explain "apt-get could not install it"
fi
have_postgres || explain "apt-get installed it somewhere else"
exit 0
