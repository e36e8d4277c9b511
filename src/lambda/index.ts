/**
 * `kms-byok/lambda`: the AWS Lambda handler that `schedule --print eventbridge` deploys (docs/fleet.md,
 * "On AWS"). EventBridge Scheduler invokes it once per shard with the Input
 *
 *     { "command": "reimport" | "status", "plan": "/mnt/escrow/fleet.json", "shard": "K/N" }
 *
 * and it runs `reimport --plan PLAN --shard K/N --json` (or `status`) in-process — the CLI's own fleet
 * run, through an Io that captures stdout — and returns the same JSON document the CLI prints.
 *
 * The custodian identity is never in the template or the environment in the clear: the environment
 * holds its KMS ciphertext (`KMS_BYOK_IDENTITY_CIPHERTEXT`, base64) under a separate key
 * (`KMS_BYOK_IDENTITY_KEY`), decrypted at each invocation with the encryption context
 * {@link identityContext} of the fleet (`KMS_BYOK_FLEET`); the function's role may decrypt only with
 * that context (kms:EncryptionContext condition). A run with failed keys throws (Lambda's OnFailure
 * destination gets it), carrying the document.
 */
import { Readable } from 'node:stream';
import { KmsByokError } from '../core/errors.js';
import { parseIdentities, type EscrowOpener } from '../escrow/index.js';
import type { Io } from '../cli/io.js';
import { neverCancelled } from '../cli/cancel.js';
import { parseCommand } from '../cli/command-spec.js';
import { REIMPORT } from '../cli/specs/reimport.js';
import { STATUS } from '../cli/specs/status.js';
import { openTarget } from '../cli/target.js';
import { parseShard, shardLabel } from '../fleet/shard.js';

/** The Input of each shard's schedule. */
export interface FleetScheduleEvent {
  command: 'reimport' | 'status';
  /** The plan file, as the function sees it (on the EFS mount). */
  plan: string;
  /** `K/N`, 0-based (docs/fleet.md, "Shards"). */
  shard: string;
  /** reimport: only keys whose ValidTo is within this (e.g. 30d). */
  before?: string;
  /** Where the shards' run states are (default: beside the plan). */
  stateDir?: string;
}

/** The encryption context the identity ciphertext is sealed under (and the role's policy requires). */
export function identityContext(fleet: string): Record<string, string> {
  return { 'kms-byok:purpose': 'custodian-identity', 'kms-byok:fleet': fleet };
}

export interface HandlerResult {
  /** The exit code the CLI would have had. */
  exitCode: number;
  /** The CLI's JSON document (`reimport|status --plan --json`, docs/schemas/fleet.schema.json). */
  document: Record<string, unknown>;
}

/** Thrown when the run failed (exit 1 or 2); `result` holds what the CLI would have printed. */
export class FleetRunFailed extends Error {
  constructor(readonly result: HandlerResult) {
    super(`kms-byok ${String(result.document.command ?? 'fleet run')} failed with exit ${result.exitCode}: ${JSON.stringify(result.document)}`);
    this.name = 'FleetRunFailed';
  }
}

function refuse(message: string): KmsByokError {
  return new KmsByokError('ERR_INVALID_ARGUMENT', `invalid schedule event: ${message}`, {
    hint: 'the Input must be {"command": "reimport"|"status", "plan": "/mnt/…/fleet.json", "shard": "K/N"} (docs/fleet.md, "On AWS")',
  });
}

/** Checks the event's shape; an event without a shard is refused (a whole-plan run is not scheduled here). */
export function parseEvent(event: unknown): FleetScheduleEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw refuse('not a JSON object');
  const e = event as Record<string, unknown>;
  if (e.command !== 'reimport' && e.command !== 'status') throw refuse(`"command" must be "reimport" or "status", not ${JSON.stringify(e.command)}`);
  if (typeof e.plan !== 'string' || !e.plan.startsWith('/')) throw refuse('"plan" must be the absolute path of the plan file');
  if (e.shard === undefined) throw refuse('no "shard": each schedule runs one shard ("K/N"), so that no two invocations share a quota domain');
  if (typeof e.shard !== 'string') throw refuse('"shard" must be a string "K/N"');
  parseShard(e.shard, '"shard"');
  for (const k of ['before', 'stateDir'] as const) if (e[k] !== undefined && typeof e[k] !== 'string') throw refuse(`"${k}" must be a string`);
  return { command: e.command, plan: e.plan, shard: e.shard, ...(typeof e.before === 'string' ? { before: e.before } : {}), ...(typeof e.stateDir === 'string' ? { stateDir: e.stateDir } : {}) };
}

export interface HandlerDeps {
  env: Readonly<Record<string, string | undefined>>;
  /** Where stderr lines go (CloudWatch Logs through console.error by default). */
  log?: (line: string) => void;
  cwd?: string;
}

/** Decrypts the custodian identity through KMS with the fleet's encryption context. */
async function decryptIdentity(io: Io, env: HandlerDeps['env']): Promise<EscrowOpener> {
  const ciphertext = env.KMS_BYOK_IDENTITY_CIPHERTEXT;
  const keyId = env.KMS_BYOK_IDENTITY_KEY;
  const fleet = env.KMS_BYOK_FLEET;
  if (!ciphertext || !keyId || !fleet) {
    throw new KmsByokError('ERR_MISSING_INPUT', 'the function has no KMS_BYOK_IDENTITY_CIPHERTEXT, KMS_BYOK_IDENTITY_KEY or KMS_BYOK_FLEET', {
      hint: 'deploy it with the template of kms-byok schedule --print eventbridge (docs/fleet.md, "On AWS")',
    });
  }
  const target = await openTarget(parseCommand([], REIMPORT, env), io, { quiet: true });
  let plain: Uint8Array | undefined;
  try {
    plain = await target.kms.decrypt(keyId, Buffer.from(ciphertext, 'base64'), identityContext(fleet));
    return { identities: await parseIdentities(Buffer.from(plain).toString('utf8'), 'the decrypted custodian identity') };
  } finally {
    plain?.fill(0);
    await target.close();
  }
}

/**
 * Runs one schedule event; resolves to the CLI's exit code and document (exit 0 or 3), rejects with
 * {@link FleetRunFailed} (exit 1 or 2) or a KmsByokError for a refused event.
 */
export async function runScheduleEvent(event: unknown, deps: HandlerDeps): Promise<HandlerResult> {
  const e = parseEvent(event);
  let stdout = '';
  const log = deps.log ?? ((line: string) => console.error(line.trimEnd()));
  const io: Io = {
    stdout: { write: (t) => void (stdout += t) },
    stderr: { write: (t) => log(t) },
    stdin: Readable.from([]),
    env: { ...deps.env, CI: 'true' },
    cwd: deps.cwd ?? '/tmp',
    interactive: false,
    stderrIsTTY: false,
    cancel: neverCancelled(),
  };
  const argv = ['--plan', e.plan, '--shard', e.shard, '--json', ...(e.stateDir ? ['--state-dir', e.stateDir] : [])];
  let exitCode: number;
  if (e.command === 'reimport') {
    const opener = await decryptIdentity(io, deps.env);
    const { reimportPlan } = await import('../fleet/per-key.js');
    exitCode = await reimportPlan(parseCommand([...argv, ...(e.before ? ['--before', e.before] : [])], REIMPORT, io.env), io, opener);
  } else {
    const { statusPlan } = await import('../fleet/per-key.js');
    exitCode = await statusPlan(parseCommand(argv, STATUS, io.env), io);
  }
  const document = JSON.parse(stdout) as Record<string, unknown>;
  const result = { exitCode, document };
  if (exitCode === 1 || exitCode === 2) throw new FleetRunFailed(result);
  log(`kms-byok: ${e.command} --plan ${e.plan} --shard ${shardLabel(parseShard(e.shard))}: exit ${exitCode}`);
  return result;
}

/** The Lambda entry: `export { handler } from 'kms-byok/lambda'`. Returns the CLI's JSON document. */
export async function handler(event: unknown): Promise<Record<string, unknown>> {
  return (await runScheduleEvent(event, { env: process.env })).document;
}
