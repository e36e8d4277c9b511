/**
 * The one-time hand-over identities are read only from the escrow directory's own `.handover/`:
 * a link planted there (to another escrow directory's live identities) is refused, not followed.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHandoverIdentity, loadHandoverIdentities } from '../../src/records/handover-identity.js';

const root = mkdtempSync(join(tmpdir(), 'kms-byok-handover-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the hand-over directory', () => {
  it('reads the identities made in it', async () => {
    const escrow = join(root, 'own');
    mkdirSync(escrow, { mode: 0o700 });
    const made = await createHandoverIdentity(escrow);
    const { identities } = await loadHandoverIdentities(escrow);
    expect(identities.map((i) => i.recipient)).toContain(made.recipient);
  });

  it('refuses a .handover that is a link to another escrow directory', async () => {
    const other = join(root, 'other');
    mkdirSync(other, { mode: 0o700 });
    await createHandoverIdentity(other);
    const planted = join(root, 'planted');
    mkdirSync(planted, { mode: 0o700 });
    symlinkSync(join(other, '.handover'), join(planted, '.handover'));
    await expect(loadHandoverIdentities(planted)).rejects.toMatchObject({ code: 'ERR_UNSAFE_PATH' });
  });
});
