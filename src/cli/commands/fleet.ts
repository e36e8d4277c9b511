/**
 * `kms-byok fleet report --plan FILE`: one result per key of a plan from its shards' run states
 * (src/fleet/report.ts, docs/fleet.md "Shards").
 */
import { dirname, resolve } from 'node:path';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { bool, missing, str } from '../args.js';
import { groupHelpText, helpText, parseCommand } from '../command-spec.js';
import { FLEET_COMMANDS, FLEET_REPORT } from '../specs/fleet.js';
import { say, type Io } from '../io.js';
import { printDocument } from '../documents.js';
import { MAX_SHARDS } from '../../fleet/shard.js';
import type { FleetCommand } from '../../fleet/run.js';

export async function fleet(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(groupHelpText(FLEET_COMMANDS));
    return sub === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (sub !== 'report') throw new KmsByokError('ERR_USAGE', `unknown fleet command "${sub}"`, { hint: 'run kms-byok fleet --help' });
  const p = parseCommand(rest, FLEET_REPORT, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(FLEET_REPORT));
    return ExitCode.ok;
  }
  if (p.positionals.length > 0) throw new KmsByokError('ERR_USAGE', `unexpected argument "${p.positionals[0]}"`, { hint: 'the plan is given with --plan FILE' });
  const planFile = str(p, 'plan');
  if (planFile === undefined) throw missing('--plan', 'the plan the shards ran', 'kms-byok fleet report --plan fleet.json --state-dir runs');
  const command = (str(p, 'command') ?? 'reimport') as FleetCommand;
  if (!['reimport', 'restore', 'status'].includes(command)) throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --command "${command}"`, { hint: 'use reimport, restore or status' });
  const shardsText = str(p, 'shards');
  if (shardsText !== undefined && (!/^\d{1,4}$/.test(shardsText) || Number(shardsText) < 1 || Number(shardsText) > MAX_SHARDS)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --shards "${shardsText}": expected a whole number from 1 to ${MAX_SHARDS}`, { hint: 'the N of the shards\' --shard K/N' });
  }
  const planPath = resolve(io.cwd, planFile);
  const stateDir = resolve(io.cwd, str(p, 'state-dir') ?? dirname(planPath));
  const { loadPlan } = await import('../../fleet/run.js');
  const { mergeShardStates, shardCountsIn } = await import('../../fleet/report.js');
  // Validated as status validates it: the report needs the keys, not their identities.
  const { plan, sha256 } = loadPlan(io, planPath, 'status');
  let count: number;
  if (shardsText !== undefined) count = Number(shardsText);
  else {
    const found = await shardCountsIn(stateDir, planPath, command);
    if (found.length !== 1) {
      throw new KmsByokError('ERR_USAGE', found.length === 0 ? `no ${command} shard run state of ${planFile} in ${stateDir}` : `run states of ${found.join(', ')} shards of ${planFile} in ${stateDir}: which run is meant?`, {
        hint: found.length === 0 ? 'give --state-dir DIR as the shards did, or --shards N to report every shard as not run' : `pass --shards N (one of ${found.join(', ')})`,
      });
    }
    count = found[0]!;
  }
  const r = await mergeShardStates(planPath, plan, sha256, command, count, stateDir);
  if (bool(p, 'json')) printDocument(io, r);
  else {
    const rows = [['#', 'KEY', 'ACCOUNT', 'REGION', 'SHARD', 'RESULT', 'DETAIL']];
    for (const k of r.keys) {
      rows.push([String(k.index), k.keyId ?? k.key, k.account || '(default)', k.region, `${k.shard}/${r.shards}`, k.status === 'ok' ? (k.action ?? 'ok') : k.status, [k.code, k.validTo ? `ValidTo ${k.validTo}` : undefined].filter(Boolean).join('  ') || '-']);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    for (const row of rows) io.stdout.write(`${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()}\n`);
  }
  for (const problem of r.problems) say(io, 'error', problem);
  const s = r.summary;
  say(io, null, `fleet report: ${s.total} key(s) over ${r.shards} shard(s): ${s.ok} ok, ${s.failed} failed, ${s.notRun} without a result${s.attention ? `, ${s.attention} need attention` : ''}`);
  if (s.failed > 0 || s.notRun > 0 || r.problems.length > 0) {
    say(io, 'hint', 'run the shards that did not run or failed (with --resume), then report again');
    return ExitCode.failed;
  }
  return s.attention > 0 ? ExitCode.attention : ExitCode.ok;
}
