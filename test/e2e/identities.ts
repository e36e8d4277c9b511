/** Fresh age custodian identities for tests, written as age-keygen writes them (mode 0600). */
import { writeFileSync } from 'node:fs';
import { generateIdentity, identityToRecipient } from 'age-encryption';

export async function custodian(path: string): Promise<{ identity: string; recipient: string; path: string }> {
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  writeFileSync(path, `# created: 2026-11-22T00:00:00Z\n# public key: ${recipient}\n${identity}\n`, { mode: 0o600 });
  return { identity, recipient, path };
}
