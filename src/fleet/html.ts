/**
 * The fleet picture (`status --plan … --format html`, docs/fleet.md "The fleet picture"): one
 * self-contained HTML page — inline CSS and SVG, no script, no external reference, so opening it
 * fetches nothing — with every key's materials on an expiry timeline, one lane per (account, Region),
 * the attention list and escrow coverage beside it, and a table of every key with its expiry. Pure.
 */
import type { KeyStatus } from '../ceremony/status.js';

export interface PictureKey {
  /** The key as the plan names it. */
  key: string;
  account: string;
  region: string;
  /** Undefined when the key could not be read (its row failed): `failure` says why. */
  status?: KeyStatus;
  failure?: string;
  warnDays: number;
}

const DAY = 86_400_000;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function colour(days: number | undefined, warnDays: number): string {
  if (days === undefined) return '#5b6b7a';
  if (days < 0) return '#7f1d1d';
  if (days <= warnDays) return '#c0392b';
  if (days <= warnDays * 3) return '#d68910';
  return '#1e8449';
}

function escrowState(k: KeyStatus): 'ok' | 'missing' | 'mismatch' | 'unconfirmed' {
  if (!k.escrow.exists) return 'missing';
  if (k.escrow.matches && k.escrow.anchors !== 'mismatch') return 'ok';
  return k.escrow.unconfirmed ? 'unconfirmed' : 'mismatch';
}

/** The page. `now` is the target's clock (the emulator's in a rehearsal). */
export function renderFleetHtml(keys: readonly PictureKey[], now: Date, plan: string): string {
  const t0 = now.getTime();
  const expiries = keys.flatMap((k) => (k.status?.materials ?? []).map((m) => (m.validTo ? Date.parse(m.validTo) : NaN)).filter((x) => Number.isFinite(x)));
  const horizonDays = Math.max(90, Math.ceil(((Math.max(t0, ...expiries) - t0) / DAY) * 1.05));
  const lanes = new Map<string, PictureKey[]>();
  for (const k of keys) {
    const lane = `${k.account || '(default)'} / ${k.region}`;
    if (!lanes.has(lane)) lanes.set(lane, []);
    lanes.get(lane)!.push(k);
  }
  const left = 230;
  const width = 1000;
  const plot = width - left - 20;
  const rowH = 16;
  const x = (ms: number) => left + Math.max(0, Math.min(1, (ms - t0) / (horizonDays * DAY))) * plot;
  let y = 40;
  const parts: string[] = [];
  // Month-ish grid: every 30 days.
  for (let d = 0; d <= horizonDays; d += 30) {
    const gx = x(t0 + d * DAY).toFixed(1);
    parts.push(`<line x1="${gx}" y1="28" x2="${gx}" y2="HEIGHT" class="grid"/><text x="${gx}" y="20" class="tick">${esc(new Date(t0 + d * DAY).toISOString().slice(0, 10))}</text>`);
  }
  for (const [lane, members] of [...lanes].sort(([a], [b]) => (a < b ? -1 : 1))) {
    parts.push(`<text x="8" y="${y + 12}" class="lane">${esc(lane)}</text><line x1="0" y1="${y - 2}" x2="${width}" y2="${y - 2}" class="lanesep"/>`);
    y += rowH;
    for (const k of members) {
      const label = k.status?.keyId ?? k.key;
      parts.push(`<text x="16" y="${y + 11}" class="key">${esc(label.length > 34 ? `${label.slice(0, 33)}…` : label)}</text>`);
      for (const m of k.status?.materials ?? []) {
        const never = m.expirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE';
        const at = m.validTo ? Date.parse(m.validTo) : undefined;
        const cx = never ? left + plot : at !== undefined ? x(at) : left;
        const days = at !== undefined ? Math.floor((at - t0) / DAY) : undefined;
        const title = `${label} material ${m.keyMaterialId ?? '?'}: ${never ? 'never expires' : m.validTo ? `ValidTo ${m.validTo} (${days} days)` : m.importState ?? 'no material'}`;
        parts.push(`<circle cx="${cx.toFixed(1)}" cy="${y + 7}" r="5" fill="${never ? '#2c3e50' : colour(days, k.warnDays)}"><title>${esc(title)}</title></circle>`);
      }
      if (k.failure) parts.push(`<text x="${left}" y="${y + 11}" class="fail">${esc(k.failure)}</text>`);
      y += rowH;
    }
  }
  const height = y + 10;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="expiry timeline">${parts.join('').replace(/HEIGHT/g, String(height))}</svg>`;

  const attention = keys.flatMap((k) => [...(k.status?.attention ?? []), ...(k.failure ? [k.failure] : [])].map((a) => `<li><b>${esc(k.status?.keyId ?? k.key)}</b> <span class="where">${esc(k.account || '(default)')} / ${esc(k.region)}</span><br>${esc(a)}</li>`));
  const coverage = new Map<string, { ok: number; total: number }>();
  for (const k of keys) {
    const lane = `${k.account || '(default)'} / ${k.region}`;
    const c = coverage.get(lane) ?? { ok: 0, total: 0 };
    c.total++;
    if (k.status && escrowState(k.status) === 'ok') c.ok++;
    coverage.set(lane, c);
  }
  const covered = [...coverage.values()].reduce((n, c) => n + c.ok, 0);
  const coverageRows = [...coverage].map(([lane, c]) => `<tr><td>${esc(lane)}</td><td>${c.ok}/${c.total}</td><td><div class="bar"><div style="width:${c.total ? Math.round((100 * c.ok) / c.total) : 0}%"></div></div></td></tr>`);
  const rows = keys.map((k) => {
    const s = k.status;
    const earliest = s?.validTo ?? (s?.materials.some((m) => m.expirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE') ? 'never' : '-');
    return `<tr class="key-row" data-key="${esc(s?.keyId ?? k.key)}"><td>${esc(k.key)}</td><td>${esc(s?.keyId ?? '-')}</td><td>${esc(k.account || '(default)')}</td><td>${esc(k.region)}</td><td>${esc(s?.keyState ?? 'unreadable')}</td><td class="expiry">${esc(earliest)}</td><td>${s?.daysLeft ?? '-'}</td><td>${s?.materials.length ?? 0}</td><td>${esc(s ? escrowState(s) : '-')}</td></tr>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>kms-byok fleet: ${esc(plan)}</title>
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#1c2833;background:#fbfcfc}
h1{font-size:18px;margin:0 0 4px}h2{font-size:14px;margin:12px 0 6px}
.sub{color:#5b6b7a;margin-bottom:12px}
.wrap{display:flex;gap:16px;align-items:flex-start}
.main{flex:1 1 auto;overflow-x:auto;background:#fff;border:1px solid #d5dbdb;padding:8px}
.side{flex:0 0 340px;background:#fff;border:1px solid #d5dbdb;padding:8px}
.grid{stroke:#eaeded}.tick{font-size:10px;fill:#7b8a8b}.lane{font-weight:600;font-size:12px}.lanesep{stroke:#aab7b8}
.key{font:11px ui-monospace,monospace}.fail{font-size:11px;fill:#c0392b}
ul{padding-left:16px;margin:0}li{margin-bottom:6px}.where{color:#5b6b7a;font-size:11px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eaeded;padding:2px 6px;text-align:left;font-size:12px}
.bar{background:#f2d7d5;height:8px;width:100px}.bar div{background:#1e8449;height:8px}
.legend span{display:inline-block;width:10px;height:10px;border-radius:5px;margin:0 4px 0 12px}
</style></head><body>
<h1>Key material expiry across the fleet</h1>
<div class="sub">${esc(plan)} — ${keys.length} key(s) in ${lanes.size} account/Region(s), as of ${esc(now.toISOString().replace(/\.\d{3}Z$/, 'Z'))}
<span class="legend"><span style="background:#c0392b"></span>within warnDays<span style="background:#d68910"></span>within 3× warnDays<span style="background:#1e8449"></span>later<span style="background:#2c3e50"></span>never expires</span></div>
<div class="wrap"><div class="main">${svg}</div>
<div class="side"><h2>Needs attention (${attention.length})</h2>${attention.length ? `<ul id="attention">${attention.join('')}</ul>` : '<p id="attention">nothing</p>'}
<h2>Escrow coverage: ${covered}/${keys.length}</h2><table id="coverage">${coverageRows.join('')}</table></div></div>
<h2>Every key</h2>
<table id="keys"><tr><th>plan key</th><th>KeyId</th><th>account</th><th>Region</th><th>state</th><th>earliest ValidTo</th><th>days</th><th>materials</th><th>escrow</th></tr>${rows.join('')}</table>
</body></html>
`;
}
