/** `kms-byok status`: declaration (flags, help, examples). The command is in ../commands/status.ts. */
import type { CommandSpec } from '../command-spec.js';
import { FLEET, FLEET_RECORDS, OUTPUT, TARGET, keyIdFlag } from './shared.js';

export const STATUS: CommandSpec = {
  name: 'status',
  summary: 'state, materials, expiry, rotation age and escrow match of keys (exit 3: act)',
  usage: ['status [KEY...] [--escrow-dir DIR] [--warn-days N] [--max-age 90d] [--json | --format prometheus]', 'status --plan FILE [--json]'],
  keys: 'many',
  description: `For each KEY (key id, ARN or alias/NAME; default: every EXTERNAL key the caller can list) shows the
key state, every key material (ListKeyRotations) with its ValidTo and days left, the last rotation and
its age, on-demand rotations left, and whether the latest escrow in --escrow-dir exists and matches
(KeyMaterialIds, check values and file hashes, from the sidecar: no secret is needed).

Exit 3 when anything needs action: a material not imported, ValidTo within --warn-days (default 30),
a rotation older than --max-age, a missing or mismatching escrow, a key pending deletion.`,
  flags: {
    ...keyIdFlag('many'),
    'escrow-dir': { type: 'string', value: 'DIR', help: 'where the keys\' escrows are (default ./escrow)' },
    'warn-days': { type: 'string', value: 'N', help: 'attention when a ValidTo is within N days (default 30)' },
    'max-age': { type: 'string', value: 'DURATION', help: 'attention when the last rotation is older, e.g. 365d' },
    format: { type: 'string', value: 'FORMAT', help: 'human (default), json (the same as --json), prometheus, or html (with --plan:\none self-contained page, an expiry timeline of every key)' },
    out: { type: 'string', value: 'FILE', help: 'with --format html: write the page to FILE (replaced atomically) instead of stdout' },
    ...OUTPUT,
    ...FLEET,
    ...FLEET_RECORDS,
    ...TARGET,
  },
  notes: `--format prometheus prints node_exporter textfile-collector gauges (seconds until each material
expires, rotation age, key enabled, escrow present/matching, attention) and exits 0 unless the status
could not be taken: the alert lives in Prometheus.

With --plan FILE, every key of the plan, each with its own warnDays and maxAge (docs/fleet.md);
--format html draws them on an expiry timeline across accounts and Regions, with the attention list
and escrow coverage beside it (docs/fleet.md, "The fleet picture").`,
  examples: [
    '$ kms-byok status --escrow-dir /srv/escrow --warn-days 30 --max-age 365d',
    `$ kms-byok status --format prometheus > /var/lib/node_exporter/textfile/kms-byok.prom.tmp \\
    && mv /var/lib/node_exporter/textfile/kms-byok.prom.tmp /var/lib/node_exporter/textfile/kms-byok.prom`,
    '$ kms-byok status --key-id arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    '$ kms-byok status --plan fleet.json',
    '$ kms-byok status --plan fleet.json --format html --out fleet.html',
  ],
};
