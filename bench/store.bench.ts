import { InMemoryProposer, MemoryStore } from '../src/manager/store/index.js';
import { makeService, makeSpec, makeTask } from '../test/unit/scheduler/fixtures.js';

const N = Number(process.argv[2] ?? 10000);
const store = new MemoryStore();
store.setProposer(new InMemoryProposer(store));
const svc = makeService('s', makeSpec('web'));
await store.update((tx) => tx.services.create(svc));
let t0 = performance.now();
for (let i = 0; i < N; i++) {
  await store.update((tx) =>
    tx.tasks.create(makeTask(`t${i}`, svc, { slot: i + 1, state: 'pending' })),
  );
}
const singleMs = performance.now() - t0;
t0 = performance.now();
const BATCH = 100;
for (let i = 0; i < N; i += BATCH) {
  await store.update((tx) => {
    for (let j = i; j < i + BATCH; j++) {
      const t = tx.tasks.get(`t${j}`);
      if (t) tx.tasks.update({ ...t, NodeID: `n${j % 50}` });
    }
  });
}
const batchMs = performance.now() - t0;
t0 = performance.now();
let found = 0;
for (let i = 0; i < 1000; i++)
  found += store.view((tx) => tx.tasks.find({ by: 'nodeId', nodeId: `n${i % 50}` }).length);
const queryMs = performance.now() - t0;
t0 = performance.now();
const snap = store.snapshot();
const snapMs = performance.now() - t0;
t0 = performance.now();
new MemoryStore().restore(snap);
const restoreMs = performance.now() - t0;
console.log(
  JSON.stringify({
    bench: 'store',
    tasks: N,
    createTxPerSec: Math.round(N / (singleMs / 1000)),
    updatesPerSecBatched100: Math.round(N / (batchMs / 1000)),
    findByNodeUs: Math.round((queryMs / 1000) * 1000),
    found,
    snapshotBytes: snap.length,
    snapshotMs: Math.round(snapMs),
    restoreMs: Math.round(restoreMs),
    rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
  }),
);
