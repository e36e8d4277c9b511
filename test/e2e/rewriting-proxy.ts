/**
 * A loopback proxy in front of the emulator that rewrites successful answers: what no emulator sends
 * (a hostile or broken endpoint). Tests only; nothing leaves 127.0.0.1.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Rewrites one answer: KMS operation name and parsed JSON body → the body to send (undefined: unchanged). */
export type Rewrite = (operation: string, body: Record<string, unknown>) => Record<string, unknown> | undefined;

export async function startRewritingProxy(upstream: () => string, rewrite: Rewrite): Promise<{ endpoint: string; close(): Promise<void> }> {
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const up = request(`${upstream()}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (c: Buffer) => body.push(c));
        answer.on('end', () => {
          let text = Buffer.concat(body).toString();
          const operation = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
          // Only KMS's JSON answers are rewritten: STS (GetCallerIdentity, for the transcript) answers in XML.
          const json = String(answer.headers['content-type'] ?? '').includes('json');
          if (answer.statusCode === 200 && text.length > 0 && json) {
            const changed = rewrite(operation, JSON.parse(text) as Record<string, unknown>);
            if (changed) text = JSON.stringify(changed);
          }
          res.writeHead(answer.statusCode ?? 500, { ...answer.headers, 'content-length': String(Buffer.byteLength(text)) });
          res.end(text);
        });
      });
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => proxy.close(() => r())),
  };
}
