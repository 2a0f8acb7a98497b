#!/bin/sh
# The quality gate (`make lint`, run first by `make test` and so by CI): ruff's lint and
# format check, mypy in strict mode on the product packages and the examples (and on the tests
# with a lighter profile: unannotated test functions, type-checked bodies), and the
# import-linter contracts in pyproject.toml that keep the layers pointing one way.
set -eu
cd "$(dirname "$0")/.."
BIN=.venv/bin

echo "lint: ruff check"
$BIN/ruff check .
echo "lint: ruff format --check"
$BIN/ruff format --check .
echo "lint: mypy (strict; the tests lighter)"
$BIN/mypy
echo "lint: import contracts"
$BIN/lint-imports --no-cache
