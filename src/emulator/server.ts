/**
 * The HTTP face of the emulator: AWS JSON 1.1 over node:http, as KMS speaks it.
 *
 * Contracts:
 * - AWS JSON 1.1: `POST /` with `X-Amz-Target: <service prefix>.<Operation>` and a JSON object body (an
 *   empty body counts as `{}`). The prefix picks the operation table (`handlers/index.ts`
 *   `JSON_SERVICES`: `TrentService` is KMS, `KmsByokEmulator` the controls; other AWS services the
 *   product calls add theirs). An unknown target is `UnknownOperationException`; a body that is not a
 *   JSON object is `SerializationException`.
 * - AWS Query (STS): `POST /` with an `application/x-www-form-urlencoded` body `Action=<Operation>&…`
 *   is answered from `QUERY_OPERATIONS` in XML (`query-protocol.ts`).
 * - The account is the emulator's own, unless the request was signed with an access key id STS
 *   `AssumeRole` issued: then the role's account (expired: ExpiredTokenException). Keys, aliases,
 *   quotas and ARNs are that account's (state.ts keeps accounts apart).
 * - The Region is the one the request was signed for — the credential scope of the SigV4
 *   `Authorization` header (`Credential=AKID/<date>/<region>/<service>/aws4_request`) — else the
 *   emulator's default Region. The access key id of that scope is handed to handlers as the caller.
 *   Signatures are not verified.
 * - The request id is chosen before the operation runs and handed to the handler (`ctx.requestId`), so
 *   what an operation records can name the id the client receives in `x-amzn-RequestId`.
 * - Only requests addressed to this machine are answered: a `Host` header that is not a loopback name
 *   or address (`localhost`, 127.0.0.0/8, `[::1]`, any port) gets 403 `AccessDeniedException` before the
 *   body is read, so a web page cannot use the emulator's keys by DNS rebinding. Nothing is done or
 *   saved for such a request; it is logged with status 403.
 * - Every response carries `x-amzn-RequestId`. Success: 200 with the JSON body. Failure: the
 *   exception's status with `{"__type": name, "message": …}` and `x-amzn-ErrorType`; anything that is
 *   not a `KmsException` is a 500 `KMSInternalException`.
 * - Every KMS request that reaches its operation (after quota and faults), answered or failed, is
 *   recorded as a CloudTrail event (`trail.ts`), and so is what the sweep does on KMS's own account.
 * - Before an operation, whenever something can have come due (lifecycle.ts, `Sweeper`), the sweep
 *   expires materials and deletes keys whose time has passed. After each request the state is saved
 *   to the state file when it changed.
 * - KMS operations (never the controls) go through, in order: the injected latency, the request-rate
 *   quota (`quotas.ts`: over quota → 400 ThrottlingException, nothing done), the injected faults
 *   (`faults.ts`), then the operation. Every request is logged once it is answered or dropped
 *   (status 0 when the connection was destroyed without an answer), with the fault that fired, if any.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { LOOP_MARKER, type FaultKind, type FaultRegistry } from './faults.js';
import type { QuotaLimiter } from './quotas.js';
import { randomUUID } from 'node:crypto';
import type { OffsetClock } from './clock.js';
import type { HandlerContext } from './context.js';
import { KmsException, fail } from './errors.js';
import { JSON_SERVICES, KMS_OPERATIONS, QUERY_OPERATIONS } from './handlers/index.js';
import type { Input } from './input.js';
import { QUERY_SERVICE, isQueryRequest, parseQueryBody, queryError, queryResult, sendQuery } from './query-protocol.js';
import { Sweeper } from './lifecycle.js';
import { recordKmsRequest, recordServiceEvent } from './trail.js';
import { regionOf } from './lookup.js';
import { saveStateFile, serialiseState, type EmulatorState } from './state.js';
import type { UnwrapEngine } from './unwrap.js';
import type { WrappingKeyPool } from './wrapping-pool.js';

/** One entry of the request log. */
export interface RequestLogEntry {
  operation: string;
  region: string;
  /** HTTP status answered; 0 when the connection was dropped without an answer. */
  status: number;
  /** The injected fault applied to this request, if one fired. */
  fault?: FaultKind;
  /** Present when the request-rate quota throttled this request. */
  throttledByQuota?: true;
  /** The account the request acted in (its session's, or the emulator's own), once it was known. */
  accountId?: string;
  /** The access key id that signed the request, if it was signed (a session's `ASIA…` for a role). */
  caller?: string;
}

/** Thrown by {@link ServerDeps.sleep} when the emulator closes during a wait. */
export class EmulatorClosing extends Error {
  constructor() {
    super('emulator closing');
  }
}

export interface ServerDeps {
  state: EmulatorState;
  clock: OffsetClock;
  pool: WrappingKeyPool;
  defaultRegion: string;
  accountId: string;
  stateFile?: string;
  log: RequestLogEntry[];
  faults: FaultRegistry;
  unwrapEngine: UnwrapEngine;
  /** Request-rate quotas; absent when none apply. */
  quotas?: QuotaLimiter;
  /** Injected latency (ms) for one request of `operation`. */
  latency: (operation: string) => number;
  /** Waits `ms`; rejects with {@link EmulatorClosing} when the emulator closes meanwhile. */
  sleep: (ms: number) => Promise<void>;
}

const MAX_BODY_BYTES = 1 << 20;
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const CREDENTIAL_SCOPE = /Credential=([^/,\s]+)\/\d{8}\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request/;

const IPV4_LOOPBACK = /^127\.(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){2}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Whether a `Host` header names this machine: `localhost`, an address in 127.0.0.0/8 or `[::1]`, with
 * or without a port. A missing header is not loopback (every HTTP/1.1 client sends one).
 */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined) return false;
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/i.exec(host.trim());
  if (!m) return false;
  const name = m[1]!.toLowerCase();
  return name === 'localhost' || name === '[::1]' || IPV4_LOOPBACK.test(name);
}

/** The Region of the request's SigV4 credential scope, if any. */
export function regionOfRequest(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  return CREDENTIAL_SCOPE.exec(authorization)?.[2];
}

/** The access key id of the request's SigV4 credential scope, if any. */
export function accessKeyIdOfRequest(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  return CREDENTIAL_SCOPE.exec(authorization)?.[1];
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => (tooLarge ? reject(fail('SerializationException', 'Request body is too large')) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

function parseInput(body: Buffer): Input {
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw fail('SerializationException', 'Start of structure or map found where not expected, or the request body is not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail('SerializationException', 'The request body must be a JSON object');
  return v as Input;
}

function send(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}, requestId: string = randomUUID()): void {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, {
    'content-type': CONTENT_TYPE,
    'content-length': String(payload.length),
    'x-amzn-requestid': requestId,
    ...extraHeaders,
  });
  res.end(payload);
}

/**
 * Sends a 200 answer one byte every `ms` (the `drip` fault). Stops when the client goes away; when the
 * emulator closes during a pause, {@link ServerDeps.sleep} throws and the caller drops the connection.
 */
async function drip(req: IncomingMessage, res: ServerResponse, body: unknown, ms: number, sleep: (ms: number) => Promise<void>): Promise<void> {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': String(payload.length), 'x-amzn-requestid': randomUUID() });
  let gone = false;
  res.on('close', () => (gone = true));
  for (let i = 0; i < payload.length && !gone; i++) {
    res.write(payload.subarray(i, i + 1));
    await sleep(ms);
  }
  if (!gone) res.end();
  else drop(req, res);
}

/** Saves the state when it differs from what was last saved. */
export function persister(deps: Pick<ServerDeps, 'state' | 'clock' | 'stateFile'>): () => void {
  let last = deps.stateFile ? serialiseState(deps.state) : '';
  return () => {
    if (!deps.stateFile) return;
    deps.state.clockOffsetMs = deps.clock.offsetMs;
    const text = serialiseState(deps.state);
    if (text === last) return;
    saveStateFile(deps.stateFile, text);
    last = text;
  };
}

/** Destroys the connection without answering. */
function drop(req: IncomingMessage, res: ServerResponse): void {
  (res.socket ?? req.socket).destroy();
}

/** An HTTP server answering KMS requests from the emulator state. */
export function createKmsServer(deps: ServerDeps, persist: () => void): Server {
  const sweeper = new Sweeper(deps.state, (ev) => recordServiceEvent(deps.state, ev.key, ev.eventName, ev.timeMs, ev.keyMaterialId ? { keyMaterialId: ev.keyMaterialId } : {}));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const region = regionOfRequest(req.headers.authorization) ?? deps.defaultRegion;
    const caller = accessKeyIdOfRequest(req.headers.authorization);
    const query = isQueryRequest(req);
    // JSON targets split at the last dot: CloudTrail's prefix itself contains dots.
    const dot = target.lastIndexOf('.');
    let service = query ? QUERY_SERVICE : target.slice(0, dot);
    let operation = dot >= 0 ? target.slice(dot + 1) : target;
    const requestId = randomUUID();
    const entry: RequestLogEntry = { operation, region, status: 200 };
    /** The input of a KMS request that reached KMS (after quota and faults), until it is recorded. */
    let kmsInput: Input | undefined;
    let actingCtx: HandlerContext | undefined;
    if (!isLoopbackHostHeader(req.headers.host)) {
      entry.status = 403;
      deps.log.push(entry);
      // The connection is closed after the answer: nothing more is read from a foreign origin.
      send(res, 403, { __type: 'AccessDeniedException', message: 'The emulator answers only requests addressed to a loopback name (localhost, 127.0.0.1 or [::1])' }, {
        'x-amzn-errortype': 'AccessDeniedException',
        connection: 'close',
      });
      return;
    }
    try {
      const body = await readBody(req);
      let input: Input;
      if (query) {
        const parsed = parseQueryBody(body);
        operation = parsed.action;
        entry.operation = operation;
        input = parsed.input;
      }
      const table = query ? QUERY_OPERATIONS : Object.hasOwn(JSON_SERVICES, service) ? JSON_SERVICES[service] : undefined;
      // Own properties only: `constructor` or `__proto__` must not reach Object's prototype.
      const handler = req.method === 'POST' && table && Object.hasOwn(table, operation) ? table[operation] : undefined;
      if (!handler) throw fail('UnknownOperationException', `Unknown operation ${query ? `Action=${operation}` : target || '(no X-Amz-Target)'}`);
      input ??= parseInput(body);
      // Credentials AssumeRole issued act in the role's account until they expire (handlers/sts.ts).
      const session = caller !== undefined && deps.state.sessions && Object.hasOwn(deps.state.sessions, caller) ? deps.state.sessions[caller] : undefined;
      if (session && session.expiration <= deps.clock.now().getTime()) throw fail('ExpiredTokenException', 'The security token included in the request is expired');
      const accountId = session?.accountId ?? deps.accountId;
      entry.accountId = accountId;
      if (caller !== undefined) entry.caller = caller;
      let dropAfter = false;
      let dripMs: number | undefined;
      let loopMarker = false;
      if (table === KMS_OPERATIONS) {
        const wait = deps.latency(operation);
        if (wait > 0) await deps.sleep(wait);
        const replicaRegion = operation === 'ReplicateKey' && typeof input.ReplicaRegion === 'string' ? input.ReplicaRegion : undefined;
        if (deps.quotas && !deps.quotas.admit(accountId, region, operation, replicaRegion)) {
          entry.throttledByQuota = true;
          throw fail('ThrottlingException', 'Rate exceeded');
        }
        const fault = deps.faults.select(operation, region);
        if (fault) {
          entry.fault = fault.kind;
          switch (fault.kind) {
            case 'throttle':
              throw fail('ThrottlingException', 'Rate exceeded');
            case 'internal':
              throw fail('KMSInternalException', 'An internal error occurred. Try the request again.');
            case 'http500': {
              entry.status = 500;
              res.writeHead(500, { 'content-length': '0', 'x-amzn-requestid': randomUUID() });
              res.end();
              return;
            }
            case 'drop-before':
              entry.status = 0;
              drop(req, res);
              return;
            case 'latency':
              await deps.sleep(fault.delayMs);
              break;
            case 'drop-after':
              dropAfter = true;
              break;
            case 'drip':
              dripMs = fault.delayMs;
              break;
            case 'loop-marker':
              loopMarker = true;
              break;
          }
        }
      }
      sweeper.beforeRequest(deps.clock.now().getTime());
      const ctx: HandlerContext = { state: deps.state, region, accountId, homeAccountId: deps.accountId, ...(session ? { session } : {}), clock: deps.clock, pool: deps.pool, faults: deps.faults, unwrapEngine: deps.unwrapEngine, requestId, caller, due: (atMs) => sweeper.due(atMs) };
      kmsInput = table === KMS_OPERATIONS ? input : undefined;
      actingCtx = ctx;
      // The loop's own marker names no page: the operation answers its first page again.
      if (loopMarker && input.Marker === LOOP_MARKER) delete input.Marker;
      // DeleteAlias names its key only through the alias it removes: CloudTrail lists that key as a resource.
      const aliasTarget = operation === 'DeleteAlias' && typeof input.AliasName === 'string' ? aliasTargetOf(ctx, input.AliasName) : undefined;
      const sweepKind = table === KMS_OPERATIONS ? 'kms' : 'other';
      sweeper.beforeHandler(sweepKind, operation);
      let succeeded = false;
      let out: Record<string, unknown>;
      try {
        out = await handler(ctx, input);
        succeeded = true;
      } finally {
        sweeper.afterHandler(sweepKind, operation, succeeded);
      }
      // Every KMS request is a CloudTrail event (trail.ts); a failed one is recorded in the catch below.
      if (kmsInput) recordKmsRequest(ctx, operation, kmsInput, out, undefined, aliasTarget);
      kmsInput = undefined;
      persist();
      if (dropAfter) {
        entry.status = 0;
        drop(req, res);
        return;
      }
      if (loopMarker && typeof out === 'object' && out !== null && 'Truncated' in out) out = { ...out, Truncated: true, NextMarker: LOOP_MARKER };
      if (dripMs !== undefined) {
        await drip(req, res, out, dripMs, deps.sleep);
        return;
      }
      if (query) sendQuery(res, 200, queryResult(operation, out, requestId), requestId);
      else send(res, 200, out, {}, requestId);
    } catch (e) {
      if (e instanceof EmulatorClosing) {
        entry.status = 0;
        drop(req, res);
        return;
      }
      const err = e instanceof KmsException ? e : new KmsException('KMSInternalException', `internal error: ${e instanceof Error ? e.message : String(e)}`);
      entry.status = err.status;
      // Recorded in the account the request acted in (the handler's context).
      if (kmsInput && actingCtx) recordKmsRequest(actingCtx, operation, kmsInput, undefined, err);
      try {
        persist();
      } catch {
        // The error response matters more than a failed save of an unchanged state.
      }
      if (query) sendQuery(res, err.status, queryError(err.type, err.message, requestId), requestId);
      else send(res, err.status, { __type: err.type, message: err.message }, { 'x-amzn-errortype': err.type }, requestId);
    } finally {
      // GetClock only reads (kms-byok asks it once per command against an emulator): the log keeps
      // to the requests that act — KMS operations and the controls that change the emulator.
      if (!(service === 'KmsByokEmulator' && operation === 'GetClock')) deps.log.push(entry);
    }
  }
  return createServer((req, res) => {
    void handle(req, res);
  });
}

/** The key an alias of the request's Region targets (undefined: no such alias). */
function aliasTargetOf(ctx: HandlerContext, aliasName: string): string | undefined {
  const aliases = regionOf(ctx).aliases;
  return Object.hasOwn(aliases, aliasName) ? aliases[aliasName]!.targetKeyId : undefined;
}
