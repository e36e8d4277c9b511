/**
 * The printable ceremony record (`kms-byok transcript render --html`, docs/lifecycle.md "Printable
 * ceremony record"): one self-contained HTML page per ceremony of an intact transcript — who (OS user
 * and AWS caller), when, target account and Region, key ARN and alias, key spec, wrapping, check values
 * in large type, custodians and their acknowledgements, escrow file hashes, the transcript chain head —
 * with signature lines for custodians and witnesses. Inline CSS with print styles; no script, no
 * external fetch (a Content-Security-Policy forbids them). Every value from the transcript or a
 * sidecar is HTML-escaped. Pure: the command reads the files.
 */
import type { ParsedEntry } from './transcript.js';

/** A custodian the escrow's sidecar names for a key (label and age recipient). */
export interface SidecarCustodian {
  label?: string;
  recipient: string;
}

export interface RenderInput {
  /** Every entry of the transcript (acknowledgements are found among them). */
  entries: ParsedEntry[];
  /** The ceremonies to render, one page each. */
  ceremonies: ParsedEntry[];
  /** The transcript's chain head (its last entry's SHA-256) and where it was read. */
  head: string;
  source: string;
  /** Custodians per key ARN, from the escrow sidecars (`--escrow-dir`); absent: the entry's own list. */
  custodians?: ReadonlyMap<string, SidecarCustodian[]>;
  generatedAt: string;
}

export const ACKNOWLEDGEMENT = 'custodian acknowledgement';

export function escapeHtml(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const e = escapeHtml;

function field(entry: ParsedEntry, name: string): string | undefined {
  const f = entry.fields.find(([k]) => k === name);
  return f && typeof f[1] === 'string' ? f[1] : undefined;
}

function list(entry: ParsedEntry, name: string | RegExp): string[] {
  const f = entry.fields.find(([k]) => (typeof name === 'string' ? k === name : name.test(k)));
  return f ? (Array.isArray(f[1]) ? f[1] : [f[1]]) : [];
}

/** `material 1: cmac-aes:5A607E (KeyMaterialId …)` → label and value. */
function checkValues(entry: ParsedEntry): { label: string; value: string; rest: string }[] {
  return list(entry, 'check values').map((line) => {
    const m = /^(.*?): (\S+)(.*)$/.exec(line);
    return m ? { label: m[1]!, value: m[2]!, rest: m[3]!.trim() } : { label: '', value: line, rest: '' };
  });
}

const SHOWN = new Set(['operator', 'AWS caller', 'target', 'key', 'alias', 'account / Region', 'key spec', 'wrapping', 'check values', 'custodians', 'KMS requests', 'expiry']);

const CSS = `
*{box-sizing:border-box}
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;color:#111;margin:0;padding:24px;font-size:11pt;line-height:1.35}
h1{font-size:18pt;margin:0 0 4px}
h2{font-size:12.5pt;margin:18px 0 6px;border-bottom:1px solid #999;padding-bottom:2px}
.meta{color:#444;font-size:9.5pt}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:3px 6px;border:1px solid #bbb}
th{width:28%;background:#f2f2f2;font-weight:600}
code,.mono{font-family:"DejaVu Sans Mono",Consolas,monospace;word-break:break-all}
.check{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:30pt;font-weight:700;letter-spacing:.06em;word-break:break-all;margin:4px 0}
.checkbox{border:2px solid #111;padding:8px 12px;margin:6px 0}
.warn{border:2px solid #b00;color:#b00;padding:6px 10px;font-weight:600}
.sig{display:grid;grid-template-columns:1fr 1fr 1fr;gap:10px 18px;margin-top:8px}
.sig div{border-top:1px solid #111;padding-top:3px;margin-top:34px;font-size:9.5pt}
.small{font-size:8.5pt;color:#333}
.ceremony{page-break-after:always;break-after:page}
.ceremony:last-child{page-break-after:auto;break-after:auto}
@page{size:A4;margin:16mm}
@media print{body{padding:0}h2{break-after:avoid}table,.checkbox,.sig{break-inside:avoid}}
`;

/** The whole document: one `<section class="ceremony">` per ceremony. */
export function renderHtml(input: RenderInput): string {
  const pages = input.ceremonies.map((c) => renderCeremony(input, c)).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="kms-byok transcript render">
<title>kms-byok ceremony record — ${e(input.source)}</title>
<style>${CSS}</style>
</head>
<body data-transcript-head="${e(input.head)}">
${pages}
</body>
</html>
`;
}

function row(label: string, value: string | undefined, attrs = ''): string {
  return value === undefined || value === '' ? '' : `<tr><th>${e(label)}</th><td${attrs}>${e(value)}</td></tr>`;
}

function renderCeremony(input: RenderInput, c: ParsedEntry): string {
  const keyArn = field(c, 'key');
  const acks = input.entries.filter((a) => a.ceremony === ACKNOWLEDGEMENT && keyArn !== undefined && field(a, 'key') === keyArn);
  const sidecar = keyArn ? input.custodians?.get(keyArn) : undefined;
  const custodians = sidecar ?? list(c, 'custodians').filter((x) => !/^(any \d+ of \d+|XOR split among \d+|passphrase)$/.test(x)).map((label) => ({ label, recipient: '' }));
  const modes = list(c, 'custodians').filter((x) => /^(any \d+ of \d+|XOR split among \d+|passphrase)$/.test(x));
  const ackOf = (cu: SidecarCustodian) =>
    acks.filter((a) => (cu.recipient !== '' && field(a, 'recipient') === cu.recipient) || (cu.label !== undefined && (field(a, 'custodian') ?? '').endsWith(`(${cu.label})`)));
  const checks = checkValues(c);
  const files = list(c, /^escrow v\d+ files \(SHA-256\)$/);
  const others = c.fields.filter(([k]) => !SHOWN.has(k) && !/^escrow v\d+ files/.test(k));
  const requests = list(c, 'KMS requests');
  const failed = /^failed/.test(c.outcome);
  return `<section class="ceremony" data-entry="${c.number}">
<h1>Ceremony record: ${e(c.ceremony)}</h1>
<p class="meta">Transcript ${e(input.source)}, entry ${c.number} of ${input.entries.length}; rendered ${e(input.generatedAt)} by kms-byok transcript render. The transcript is the record; this page is its printable copy.</p>
${failed ? `<p class="warn">This ceremony FAILED: ${e(c.outcome)}</p>` : ''}
<h2>Who and when</h2>
<table>
${row('time (UTC)', c.time)}
${row('OS user', field(c, 'operator'))}
${row('AWS caller', field(c, 'AWS caller') ?? 'not recorded (transcript entry written before kms-byok recorded the AWS caller)', ' class="mono" data-field="aws-caller"')}
${row('outcome', c.outcome)}
</table>
<h2>Target and key</h2>
<table>
${row('account / Region', field(c, 'account / Region'))}
${row('target', field(c, 'target'))}
${row('key ARN', keyArn, ' class="mono" data-field="key-arn"')}
${row('alias', field(c, 'alias'))}
${row('key spec', field(c, 'key spec'))}
${row('wrapping', field(c, 'wrapping'))}
${row('expiry', field(c, 'expiry'))}
</table>
<h2>Check values</h2>
${checks.length === 0 ? '<p>None recorded in this entry.</p>' : checks.map((x) => `<div class="checkbox"><div>${e(x.label)}</div><div class="check" data-check-value="${e(x.value)}">${e(x.value)}</div>${x.rest ? `<div class="small mono">${e(x.rest)}</div>` : ''}</div>`).join('\n')}
<h2>Custodians and acknowledgements</h2>
${modes.length > 0 ? `<p>Custody: ${e(modes.join(', '))}</p>` : ''}
${custodians.length === 0 ? '<p>No custodians recorded in this entry.</p>' : `<table>
<tr><th>custodian</th><th>acknowledged (transcript entry)</th></tr>
${custodians
  .map((cu) => {
    const got = ackOf(cu);
    const who = [cu.label !== undefined ? e(cu.label) : '', cu.recipient ? `<span class="small mono">${e(cu.recipient)}</span>` : ''].filter((x) => x !== '').join(' ');
    return `<tr><td>${who}</td><td>${got.length === 0 ? '<strong>not yet acknowledged</strong>' : got.map((a) => `${e(field(a, 'custodian') ?? '')}, ${e(a.time)} (entry ${a.number})`).join('<br>')}</td></tr>`;
  })
  .join('\n')}
</table>`}
<h2>Escrow files (SHA-256)</h2>
${files.length === 0 ? '<p>None recorded in this entry.</p>' : `<table>${files.map((f) => { const [name, sha] = f.split(' '); return `<tr><td class="mono">${e(name ?? f)}</td><td class="mono" data-field="escrow-sha256">${e(sha ?? '')}</td></tr>`; }).join('\n')}</table>`}
<h2>Transcript chain</h2>
<table>
<tr><th>this entry's SHA-256</th><td class="mono" data-field="entry-sha256">${e(c.sha256)}</td></tr>
<tr><th>previous entry</th><td class="mono">${e(c.prev)}</td></tr>
<tr><th>chain head (entry ${input.entries.length})</th><td class="mono" data-field="chain-head">${e(input.head)}</td></tr>
</table>
<p class="small">Check: <code>kms-byok transcript verify ${e(input.source)} --head ${e(input.head)}</code>. Keep the head with this page, away from the transcript.</p>
${others.length > 0 ? `<h2>Other facts</h2><table>${others.map(([k, v]) => `<tr><th>${e(k)}</th><td class="mono">${(Array.isArray(v) ? v : [v]).map(e).join('<br>')}</td></tr>`).join('\n')}</table>` : ''}
${requests.length > 0 ? `<h2>KMS requests (${requests.length})</h2><p class="small mono">${requests.map(e).join('<br>')}</p>` : ''}
<h2>Signatures</h2>
<p class="small">By signing, each person confirms they were present, compared the check values above with what they were shown, and (custodians) hold their share or identity.</p>
<div class="sig">
${[...custodians.map((cu) => `custodian: ${cu.label ?? cu.recipient}`), `operator: ${field(c, 'operator') ?? ''}`, 'witness', 'witness']
  .map((who) => `<div>${e(who)}<br>name, signature, date</div>`)
  .join('\n')}
</div>
</section>`;
}
