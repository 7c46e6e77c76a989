#!/usr/bin/env bash
# npm test's runs (package.json "test", after the build and the type-check): every temporary file the tests, their
# workers and the real VS Code make goes to a folder of its own (TMPDIR, which os.tmpdir() reads), removed when they end,
# passed or failed: a run leaves about 1.5 GB otherwise (huge hostile files, fuzz cases, Parquet copies).
set -u
TMPDIR="$(mktemp -d "${TMPDIR:-/tmp}/preflens-tests-XXXXXX")"
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
node --test --test-reporter=spec out/test/unit/ out/test/integration/ test/webview/ && bash test/e2e/install.sh && node test/e2e/run.mjs
