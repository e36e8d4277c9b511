/**
 * `kms-byok audit [KEY...] [--since 30d]`: CloudTrail against the transcript (src/ceremony/audit.ts;
 * docs/audit.md "Audit"). Exit 0 when everything is explained, 3 when anything is not.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { DAY_MS, parseDuration } from '../../core/time.js';
import type { AuditResult } from '../../ceremony/audit.js';
import { bool, str } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { AUDIT } from '../specs/audit.js';
import { say, type Io } from '../io.js';
import { printDocument } from '../documents.js';
import { openTarget } from '../target.js';
import { openCloudTrail } from '../trail-target.js';

export async function audit(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, AUDIT, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(AUDIT));
    return ExitCode.ok;
  }
  const sinceMs = parseDuration(str(p, 'since') ?? '30d', '--since');
  if (sinceMs > 90 * DAY_MS) throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --since "${str(p, 'since')}": CloudTrail keeps 90 days of events`, { hint: 'give at most 90d' });
  const transcriptPath = str(p, 'transcript') ? resolve(io.cwd, str(p, 'transcript')!) : resolve(io.cwd, str(p, 'escrow-dir') ?? 'escrow', 'transcript.md');
  let text: string;
  try {
    text = await readFile(transcriptPath, 'utf8');
  } catch (e) {
    throw new KmsByokError('ERR_FILE_READ', `cannot read the transcript ${transcriptPath} (${(e as { code?: string }).code ?? 'error'})`, { hint: 'give --transcript FILE (or --escrow-dir DIR holding transcript.md)' });
  }
  const { readCeremonies, runAudit } = await import('../../ceremony/audit.js');
  // Before any request: a transcript that fails its chain check is no record to reconcile against.
  const ceremonies = readCeremonies(text, transcriptPath);
  const target = await openTarget(p, io);
  const trail = await openCloudTrail(p, io, target);
  let result: AuditResult;
  try {
    const until = target.now();
    const keyArns: string[] = [];
    if (p.positionals.length === 0) {
      const region = target.kms.region;
      for (const c of ceremonies) for (const a of c.keyArns) if (a.split(':')[3] === region && !keyArns.includes(a)) keyArns.push(a);
    } else {
      for (const k of p.positionals) {
        if (/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\//.test(k)) keyArns.push(k);
        // A key id or alias is resolved; a deleted key is named by its ARN (it has no metadata left).
        else keyArns.push((await target.kms.describeKey(k)).Arn);
      }
    }
    // Each key's anchored transcript head (docs/audit.md, "What audit trusts"); a deleted key has none left.
    const { transcriptHeadTags } = await import('../transcript-heads.js');
    const tags = await transcriptHeadTags(target.kms, keyArns);
    result = await runAudit({ keyArns, since: new Date(until.getTime() - sinceMs), until, ceremonies, tags }, { trail });
  } finally {
    trail.close();
    await target.close();
  }
  if (bool(p, 'json')) printDocument(io, { transcript: transcriptPath, target: target.label, ...result });
  else render(io, result, transcriptPath);
  return result.needsAttention ? ExitCode.attention : ExitCode.ok;
}

function render(io: Io, r: AuditResult, path: string): void {
  const w = (s: string) => io.stdout.write(`${s}\n`);
  w(`audit ${r.since} … ${r.until}: ${r.keys.length} key(s), transcript ${path} (${r.entries} entries, chain intact)`);
  for (const a of r.anchors) {
    if (a.status === 'anchored') w(`anchored ${a.keyArn}: entries trusted up to ${a.head} (${a.entry})`);
    else if (a.status === 'mismatched') w(`ANCHOR MISMATCHED ${a.keyArn}: its kms-byok:transcript-head tag ${a.tag} names no entry of this chain that names the key`);
    else w(`NOT ANCHORED ${a.keyArn}: no kms-byok:transcript-head tag or TagResource names an entry of this chain; no entry is trusted for it`);
  }
  w(`explained by the transcript: ${r.explained.length}`);
  for (const e of r.unexplained) w(`UNEXPLAINED ${e.time} ${e.eventName} on ${e.keyArn} by ${e.principal ?? '?'} (request ${e.requestId ?? '?'}, event ${e.eventId}): ${e.note ?? 'done outside kms-byok'}`);
  for (const e of r.refusedChanges) w(`REFUSED CHANGE ${e.time} ${e.eventName} on ${e.keyArn} by ${e.principal ?? '?'} (request ${e.requestId ?? '?'}, event ${e.eventId}): ${e.errorCode}`);
  for (const m of r.missingFromTrail) w(`MISSING FROM CLOUDTRAIL ${m.operation} request ${m.requestId} of the transcript entry ${m.entry}`);
  for (const e of r.refusedUses) w(`REFUSED USE ${e.time} ${e.eventName} on ${e.keyArn} by ${e.principal ?? '?'}: ${e.errorCode}`);
  for (const e of r.service) w(`kms ${e.time} ${e.eventName} on ${e.keyArn}${e.keyMaterialId ? ` (material ${e.keyMaterialId})` : ''}`);
  const unanchored = r.anchors.filter((a) => a.status !== 'anchored').length;
  if (!r.needsAttention) w('every audited operation CloudTrail shows on these keys is explained by the transcript');
  else say(io, 'warning', `${r.unexplained.length} unexplained, ${r.missingFromTrail.length} missing from CloudTrail, ${r.refusedUses.length} refused use(s), ${r.refusedChanges.length} refused change(s), ${unanchored} key(s) not anchored`);
}
