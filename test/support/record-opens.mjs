// Preloaded into a spawned CLI by the custody tests (`node --import <this file> dist/bin.cjs …`): records
// the resolved path of every file the process opens or reads through node:fs (callback, sync and
// promise APIs, streams), one per line, in the file named by TEST_RECORD_OPENS. The tests assert that
// a recovery host never opened a file under a custodian's home. Test code only: the product never
// reads that variable.
import fs from 'node:fs';
import { appendFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { resolve } from 'node:path';

const log = process.env.TEST_RECORD_OPENS;
if (log) {
  let busy = false;
  const record = (p) => {
    if (busy || !(typeof p === 'string' || p instanceof URL || Buffer.isBuffer(p))) return;
    busy = true; // appendFileSync opens the log through fs.openSync, which is wrapped too
    try {
      appendFileSync(log, `${resolve(p instanceof URL ? p.pathname : p.toString())}\n`);
    } finally {
      busy = false;
    }
  };
  const wrap = (obj, name) => {
    const original = obj[name];
    if (typeof original !== 'function') return;
    obj[name] = function (p, ...rest) {
      record(p);
      return original.call(this, p, ...rest);
    };
  };
  for (const name of ['open', 'openSync', 'readFile', 'readFileSync', 'createReadStream', 'copyFile', 'copyFileSync']) wrap(fs, name);
  for (const name of ['open', 'readFile', 'copyFile']) wrap(fs.promises, name);
  syncBuiltinESMExports();
}
