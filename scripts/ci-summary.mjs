#!/usr/bin/env node
// Prints "N passed, N failed" from vitest's JSON report, so every CI run states its size.
// Exit 1 when the report is missing or counts no test at all.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.tmp/vitest-report.json';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  console.log('0 passed, 0 failed');
  console.error(`ci-summary: no vitest JSON report at ${file}`);
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
// A test file that fails to load counts as a failure even though it ran no test.
const failed = (report.numFailedTests ?? 0) || (report.numFailedTestSuites ?? 0);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (passed === 0) process.exit(1);
