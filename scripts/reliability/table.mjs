#!/usr/bin/env node
/**
 * The reliability table (docs/reliability.md): merges what the suite files in test/reliability wrote to
 * `.tmp/reliability/<suite>.json` into `.tmp/reliability.json` and prints the Markdown table
 * (ceremonies × faults tried, completed after a re-run, materials lost, secrets found, tampered inputs
 * rejected). Exit 1 when any material was lost, any secret found, any scenario not completed or any
 * tampered input accepted — or, after a full run (KMS_BYOK_SLOW=1), when a ceremony has no scenario.
 *
 *   node scripts/reliability/table.mjs           # print the table of the last run
 *   node scripts/reliability/table.mjs --clean   # forget the last run (npm run test:faults does this first)
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = join(root, '.tmp', 'reliability');

if (process.argv.includes('--clean')) {
  rmSync(dir, { recursive: true, force: true });
  rmSync(join(root, '.tmp', 'reliability.json'), { force: true });
  process.exit(0);
}

if (!existsSync(dir)) {
  process.stderr.write('reliability: no results in .tmp/reliability: run npm run test:faults first\n');
  process.exit(2);
}
const suites = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));

const scenarios = suites.flatMap((s) => s.scenarios);
const tamper = suites.flatMap((s) => s.tamper);
const hygiene = suites.flatMap((s) => s.hygiene);

/** Fault classes, in table order. */
function faultClass(f) {
  if (f.startsWith('process killed')) return 'kill after journal step';
  if (f.startsWith('escrow write')) return 'escrow write ENOSPC/EACCES';
  if (f.includes('Throttling')) return 'ThrottlingException';
  if (f.includes('HTTP 500')) return 'HTTP 500';
  if (f.includes('KMSInternal')) return 'KMSInternalException';
  if (f.startsWith('latency')) return 'latency > SDK timeout';
  if (f.includes('dropped before')) return 'drop before request';
  if (f.includes('dropped after')) return 'drop after request';
  return f;
}
const CLASSES = ['kill after journal step', 'ThrottlingException', 'HTTP 500', 'KMSInternalException', 'latency > SDK timeout', 'drop before request', 'drop after request', 'escrow write ENOSPC/EACCES'];
// Every ceremony of test/reliability/ceremonies.ts, in table order (a full run must cover each).
const CEREMONIES = ['onboard', 'reimport', 'restore', 'rotate --in-place', 'rotate --new-key', 'restore --new-key', 'air-gapped import', 'reimport --plan'];
/** The suites that run every ceremony under their fault class. */
const FAULT_SUITES = ['crash', 'kms-faults', 'escrow-write-faults'];
const ceremonies = [...CEREMONIES.filter((c) => scenarios.some((s) => s.ceremony === c)), ...new Set(scenarios.map((s) => s.ceremony).filter((c) => !CEREMONIES.includes(c)))];

const sum = (xs, f) => xs.reduce((a, x) => a + f(x), 0);
const rows = ceremonies.map((c) => {
  const mine = scenarios.filter((s) => s.ceremony === c);
  return {
    ceremony: c,
    perClass: Object.fromEntries(CLASSES.map((k) => [k, mine.filter((s) => faultClass(s.fault) === k).length])),
    tried: mine.length,
    completed: mine.filter((s) => s.completed).length,
    rerun: mine.filter((s) => s.completed && s.rerun).length,
    materialsLost: sum(mine, (s) => s.materialsLost),
    escrowFilesDamaged: sum(mine, (s) => s.escrowFilesDamaged),
    secretsFound: sum(mine, (s) => s.secretsFound),
  };
});
const total = {
  tried: scenarios.length,
  completed: scenarios.filter((s) => s.completed).length,
  rerun: scenarios.filter((s) => s.completed && s.rerun).length,
  materialsLost: sum(scenarios, (s) => s.materialsLost),
  escrowFilesDamaged: sum(scenarios, (s) => s.escrowFilesDamaged),
  secretsFound: sum(scenarios, (s) => s.secretsFound) + sum(hygiene, (h) => h.secretsFound),
  tamperTried: sum(tamper, (t) => t.tried),
  tamperRejected: sum(tamper, (t) => t.rejected),
  tamperAccepted: sum(tamper, (t) => t.accepted ?? 0),
  hygieneScans: sum(hygiene, (h) => h.scanned),
};
const slow = suites.every((s) => s.slow);
const at = suites.map((s) => s.at).sort().at(-1);
// A full run in which a ceremony, or one of the fault suites, produced no scenario is incomplete.
const missing = slow
  ? [
      ...CEREMONIES.filter((c) => !scenarios.some((s) => s.ceremony === c)).map((c) => `no scenario for ceremony "${c}"`),
      ...FAULT_SUITES.filter((f) => !suites.some((s) => s.suite === f && s.scenarios.length > 0)).map((f) => `no scenario from suite ${f}`),
    ]
  : [];

const lines = [];
lines.push(`Reliability run of ${at} (${slow ? 'full tier, KMS_BYOK_SLOW=1' : 'default tier'}; suites: ${suites.map((s) => s.suite).join(', ')})`, '');
lines.push(`| Ceremony | ${CLASSES.join(' | ')} | Scenarios | Completed (by a re-run) | Materials lost | Escrow files damaged | Secrets found |`);
lines.push(`| --- | ${CLASSES.map(() => '---:').join(' | ')} | ---: | ---: | ---: | ---: | ---: |`);
for (const r of rows) {
  lines.push(`| ${r.ceremony} | ${CLASSES.map((k) => r.perClass[k]).join(' | ')} | ${r.tried} | ${r.completed} (${r.rerun}) | ${r.materialsLost} | ${r.escrowFilesDamaged} | ${r.secretsFound} |`);
}
lines.push(`| **all** | ${CLASSES.map((k) => sum(rows, (r) => r.perClass[k])).join(' | ')} | **${total.tried}** | **${total.completed} (${total.rerun})** | **${total.materialsLost}** | **${total.escrowFilesDamaged}** | **${total.secretsFound}** |`);
lines.push('');
lines.push('| Tampered / malformed input | Tried | Rejected (ERR code, exit 1/2/3) | Valid, accepted | Crashes, stack traces, KMS calls after a usage error |', '| --- | ---: | ---: | ---: | ---: |');
const byInput = new Map();
for (const t of tamper) {
  const key = t.input.startsWith('CLI flag values') ? 'CLI flag values (every flag of every command)' : t.input;
  const v = byInput.get(key) ?? { tried: 0, rejected: 0, accepted: 0 };
  v.tried += t.tried;
  v.rejected += t.rejected;
  v.accepted += t.accepted ?? 0;
  byInput.set(key, v);
}
for (const [k, v] of byInput) lines.push(`| ${k} | ${v.tried} | ${v.rejected} | ${v.accepted} | ${v.tried - v.rejected - v.accepted} |`);
lines.push(`| **all** | **${total.tamperTried}** | **${total.tamperRejected}** | **${total.tamperAccepted}** | **${total.tamperTried - total.tamperRejected - total.tamperAccepted}** |`);
lines.push('');
lines.push(`Secret scans (known AES/HMAC/EC material and every escrowed material; hex, HEX, base64, raw) over outputs, child argv, journals, transcripts, sidecars and bundles: ${total.hygieneScans} scanned, ${sum(hygiene, (h) => h.secretsFound)} found.`);
const table = `${lines.join('\n')}\n`;

mkdirSync(join(root, '.tmp'), { recursive: true });
writeFileSync(join(root, '.tmp', 'reliability.json'), `${JSON.stringify({ at, slow, total, rows, tamper: Object.fromEntries(byInput), hygiene, markdown: table }, null, 2)}\n`);
process.stdout.write(table);

const bad = total.materialsLost > 0 || total.secretsFound > 0 || total.completed !== total.tried || total.tamperRejected + total.tamperAccepted !== total.tamperTried || total.escrowFilesDamaged > 0 || missing.length > 0;
for (const m of missing) process.stderr.write(`reliability: ${m}\n`);
if (bad) process.stderr.write('reliability: FAILED (see the table)\n');
process.exit(bad ? 1 : 0);
