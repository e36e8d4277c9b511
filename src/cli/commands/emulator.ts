/** `kms-byok emulator`: serve the embedded KMS emulator on 127.0.0.1 until interrupted. */
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { str, strs, bool } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { EMULATOR } from '../specs/emulator.js';
import { say, type Io } from '../io.js';
import { SCHEMA_VERSION } from '../documents.js';
import { plaintextStateWarning } from '../target.js';

export async function emulator(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, EMULATOR, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(EMULATOR));
    return ExitCode.ok;
  }
  const portText = str(p, 'port') ?? '4566';
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --port "${portText}"`, { hint: 'give a port number from 0 to 65535 (0 picks a free one)' });
  }
  const stateFile = str(p, 'state-file');
  const region = str(p, 'region');
  const { startEmulator, parseFaultFlag, parseLatencyFlag, parseQuotaFlag, UNWRAP_ENGINES } = await import('../../emulator/index.js');
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
  // One line (not pretty-printed): a script reads it as soon as the emulator listens.
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
