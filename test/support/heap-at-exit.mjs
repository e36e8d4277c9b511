// Preloaded into a spawned CLI by the heap test (test/hsm/hsm-heap.test.ts). When the process exits —
// after the ceremony, its import and its records — it writes:
// - TEST_HEAP_DUMP: the bytes of every ArrayBuffer still alive in the JS heap (queried through the
//   inspector after a GC: Buffers, typed arrays, Buffer pool slabs), which a V8 heap snapshot does not
//   contain;
// - TEST_HEAP_DUMP.heapsnapshot: a V8 heap snapshot (every string in the heap).
// A positive control: a buffer holding TEST_HEAP_MARKER is kept alive, and the test checks the dump finds it.
import inspector from 'node:inspector';
import v8 from 'node:v8';
import { writeFileSync } from 'node:fs';

const out = process.env.TEST_HEAP_DUMP;
const marker = process.env.TEST_HEAP_MARKER;
if (out && marker) {
  globalThis.__testHeapMarker = Buffer.from(marker, 'hex');
  process.on('exit', () => {
    const session = new inspector.Session();
    session.connect();
    // The main-thread session answers synchronously.
    const post = (method, params) => {
      let result;
      let error;
      session.post(method, params, (e, r) => {
        error = e;
        result = r;
      });
      if (error) throw error;
      return result;
    };
    post('Runtime.enable');
    post('HeapProfiler.enable');
    post('HeapProfiler.collectGarbage');
    const proto = post('Runtime.evaluate', { expression: 'ArrayBuffer.prototype' });
    const all = post('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId });
    post('Runtime.callFunctionOn', {
      objectId: all.objects.objectId,
      functionDeclaration: 'function () { globalThis.__testHeapBuffers = this.map((ab) => Buffer.from(new Uint8Array(ab))); }',
    });
    const dump = Buffer.concat(globalThis.__testHeapBuffers);
    writeFileSync(out, dump, { mode: 0o600 });
    globalThis.__testHeapBuffers = undefined;
    v8.writeHeapSnapshot(`${out}.heapsnapshot`);
    session.disconnect();
  });
}
