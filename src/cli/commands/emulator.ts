/** `kms-byok emulator`: serve the embedded KMS emulator on 127.0.0.1 until interrupted. */
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { str, strs, bool, missing, type Parsed } from '../args.js';
import { parseDuration } from '../../core/time.js';
import { isLoopbackUrl } from '../../core/endpoints.js';
import { helpText, parseCommand } from '../command-spec.js';
import { EMULATOR } from '../specs/emulator.js';
import { loadEmulator } from '../target.js';
import { say, type Io } from '../io.js';
import { SCHEMA_VERSION } from '../documents.js';
import { plaintextStateWarning } from '../target.js';

/**
 * Moves a running emulator's clock forward by `ms` (control call `KmsByokEmulator.AdvanceClock`,
 * src/emulator/README.md; the offset is saved in its state file) and returns its new time.
 */
export async function advanceEmulatorClock(endpoint: string, ms: number): Promise<Date> {
  let answer: { Now?: unknown };
  try {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'X-Amz-Target': 'KmsByokEmulator.AdvanceClock', 'Content-Type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ Seconds: ms / 1000 }),
      signal: AbortSignal.timeout(10_000),
    });
    answer = (await res.json()) as { Now?: unknown };
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (e) {
    throw new KmsByokError('ERR_KMS_UNREACHABLE', `cannot advance the clock of ${endpoint}: ${e instanceof Error ? e.message : String(e)}`, {
      hint: 'give the --endpoint-url a kms-byok emulator prints when it starts (AWS KMS has no clock to advance)',
    });
  }
  if (typeof answer.Now !== 'number') {
    throw new KmsByokError('ERR_KMS_UNREACHABLE', `${endpoint} did not answer as a kms-byok emulator`, { hint: 'give the --endpoint-url a kms-byok emulator prints when it starts' });
  }
  return new Date(answer.Now * 1000);
}

/** `kms-byok emulator advance-clock DURATION --endpoint-url URL`. */
async function advanceClock(p: Parsed, io: Io): Promise<number> {
  const [, duration, extra] = p.positionals;
  if (duration === undefined) throw missing('DURATION', 'how far to move the emulator clock', 'kms-byok emulator advance-clock 30d --endpoint-url http://127.0.0.1:4566');
  if (extra !== undefined) throw new KmsByokError('ERR_USAGE', `unexpected argument "${extra}"`, { hint: 'kms-byok emulator advance-clock DURATION --endpoint-url URL' });
  const ms = parseDuration(duration, 'DURATION');
  const endpoint = str(p, 'endpoint-url') ?? io.env.AWS_ENDPOINT_URL_KMS;
  if (endpoint === undefined) throw missing('--endpoint-url', 'which running emulator', 'pass the URL the emulator printed, or set AWS_ENDPOINT_URL_KMS');
  if (!isLoopbackUrl(endpoint)) {
    throw new KmsByokError('ERR_USAGE', `--endpoint-url ${endpoint} is not a loopback address: an emulator serves only 127.0.0.1, localhost or [::1]`, { hint: 'give the URL kms-byok emulator printed' });
  }
  const now = await advanceEmulatorClock(endpoint, ms);
  if (bool(p, 'json')) io.stdout.write(`${JSON.stringify({ schemaVersion: SCHEMA_VERSION, endpoint, now: now.toISOString() })}\n`);
  else io.stdout.write(`${now.toISOString()}\n`);
  say(io, 'note', `the emulator clock is now ${now.toISOString()}; kms-byok commands against ${endpoint} use it`);
  return ExitCode.ok;
}

export async function emulator(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, EMULATOR, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(EMULATOR));
    return ExitCode.ok;
  }
  if (p.positionals[0] === 'advance-clock') return advanceClock(p, io);
  if (p.positionals.length > 0) throw new KmsByokError('ERR_USAGE', `unexpected argument "${p.positionals[0]}"`, { hint: 'kms-byok emulator [flags] serves the emulator; kms-byok emulator advance-clock DURATION moves its clock' });
  if (str(p, 'endpoint-url') !== undefined) throw new KmsByokError('ERR_USAGE', '--endpoint-url is for emulator advance-clock', { hint: 'the served emulator picks its address with --port' });
  const offsetText = str(p, 'clock-offset');
  const offsetMs = offsetText === undefined ? undefined : parseDuration(offsetText, '--clock-offset');
  const portText = str(p, 'port') ?? '4566';
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --port "${portText}"`, { hint: 'give a port number from 0 to 65535 (0 picks a free one)' });
  }
  const stateFile = str(p, 'state-file');
  const region = str(p, 'region');
  const { startEmulator, parseFaultFlag, parseLatencyFlag, parseQuotaFlag, UNWRAP_ENGINES } = await loadEmulator();
  const drill = (() => {
    try {
      const quota = str(p, 'quota');
      const latency = str(p, 'latency');
      const poolText = str(p, 'wrapping-pool');
      if (poolText !== undefined && !/^\d{1,2}$/.test(poolText)) throw new Error(`--wrapping-pool "${poolText}": expected a number of key pairs, 0 to 64`);
      const engine = str(p, 'unwrap-engine');
      if (engine !== undefined && !(UNWRAP_ENGINES as readonly string[]).includes(engine)) throw new Error(`--unwrap-engine "${engine}": expected ${UNWRAP_ENGINES.join(' or ')}`);
      return {
        ...(quota ? parseQuotaFlag(quota) : {}),
        ...(latency ? { latency: parseLatencyFlag(latency) } : {}),
        faults: strs(p, 'fault').map(parseFaultFlag),
        ...(poolText !== undefined ? { wrappingKeyPoolSize: Number(poolText) } : {}),
        ...(engine !== undefined ? { unwrapEngine: engine as 'node-forge' | 'openssl' } : {}),
      };
    } catch (e) {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', (e as Error).message, { hint: 'see kms-byok emulator --help' });
    }
  })();
  let emu;
  try {
    emu = await startEmulator({ port, ...(region ? { region } : {}), ...(stateFile ? { stateFile } : {}), ...drill });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'EADDRINUSE') {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', `port ${port} is already in use`, { hint: 'pick another --port, or --port 0 for a free one' });
    }
    if (e instanceof Error && /^(emulator|fault):/.test(e.message)) throw new KmsByokError('ERR_INVALID_ARGUMENT', e.message, { hint: 'see kms-byok emulator --help' });
    throw e;
  }
  if (offsetMs !== undefined) {
    try {
      await advanceEmulatorClock(emu.endpoint, offsetMs);
    } catch (e) {
      await emu.close();
      throw e;
    }
    say(io, 'note', `emulator clock moved ${offsetText} ahead: it reads ${emu.clock.now().toISOString()}`);
  }
  if (bool(p, 'json')) io.stdout.write(`${JSON.stringify({ schemaVersion: SCHEMA_VERSION, endpoint: emu.endpoint, port: emu.port })}\n`);
  else io.stdout.write(`${emu.endpoint}\n`);
  say(io, 'note', `KMS emulator listening on ${emu.endpoint}${stateFile ? `, state in ${stateFile}` : ''}; Ctrl-C stops it`);
  if (stateFile) say(io, 'warning', plaintextStateWarning(stateFile));
  say(io, 'note', `use it with: export AWS_ENDPOINT_URL_KMS=${emu.endpoint}`);
  const quota = str(p, 'quota');
  if (quota) say(io, 'note', `request quotas: AWS's defaults${quota === 'default' ? '' : ` × ${quota}`} per Region (over quota: ThrottlingException)`);
  for (const f of emu.faults.list()) say(io, 'note', `fault: ${f.operation} ${f.kind} ×${Number.isFinite(f.times) ? f.times : '∞'}`);
  await io.cancel.stopped();
  await emu.close();
  say(io, 'note', 'emulator stopped');
  return ExitCode.ok;
}
