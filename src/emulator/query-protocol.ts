/**
 * The AWS Query protocol, as STS speaks it: a form-encoded `Action=<Operation>&Version=…&Param=…` body
 * in, XML out (`<OperationResponse><OperationResult>…</OperationResult><ResponseMetadata>…`).
 *
 * Contracts:
 * - A request is a Query request when its `Content-Type` is `application/x-www-form-urlencoded`.
 * - Parameters become a flat `Input` of strings (`Version` and `Action` removed); nested members
 *   (`Tags.member.1.Key`) stay flat keys — handlers read what they need.
 * - Results are rendered from a flat-or-nested object of strings, numbers and objects; errors as
 *   `<ErrorResponse><Error><Type>Sender|Receiver</Type><Code>…</Code><Message>…</Message></Error>`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fail } from './errors.js';
import type { Input } from './input.js';

/** The pseudo service prefix Query requests are logged under. */
export const QUERY_SERVICE = 'AwsQuery';
const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

export function isQueryRequest(req: IncomingMessage): boolean {
  return String(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

export function parseQueryBody(body: Buffer): { action: string; input: Input } {
  const params = new URLSearchParams(body.toString('utf8'));
  const action = params.get('Action');
  if (!action || !/^[A-Za-z]+$/.test(action)) throw fail('SerializationException', 'Missing or malformed Action parameter');
  const input: Input = {};
  for (const [k, v] of params) if (k !== 'Action' && k !== 'Version') input[k] = v;
  return { action, input };
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

function members(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object') return escapeXml(String(value));
  return Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<${k}>${v instanceof Date ? v.toISOString() : members(v)}</${k}>`)
    .join('');
}

export function queryResult(operation: string, out: unknown, requestId: string): string {
  return `<${operation}Response xmlns="${STS_NAMESPACE}"><${operation}Result>${members(out)}</${operation}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`;
}

export function queryError(code: string, message: string, requestId: string): string {
  const type = code === 'KMSInternalException' || code === 'InternalFailure' ? 'Receiver' : 'Sender';
  return `<ErrorResponse xmlns="${STS_NAMESPACE}"><Error><Type>${type}</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}

export function sendQuery(res: ServerResponse, status: number, xml: string, requestId: string): void {
  const payload = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`, 'utf8');
  res.writeHead(status, { 'content-type': 'text/xml', 'content-length': String(payload.length), 'x-amzn-requestid': requestId });
  res.end(payload);
}
