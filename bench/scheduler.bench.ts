import { schedule } from '../src/scheduler/index.js';
import { makeNode, makeService, makeSpec, makeTask } from '../test/unit/scheduler/fixtures.js';

const nodesN = Number(process.argv[2] ?? 100);
const tasksN = Number(process.argv[3] ?? 10000);
const nodes = Array.from({ length: nodesN }, (_, i) =>
  makeNode(`n${i}`, { labels: { zone: `z${i % 3}` }, memoryBytes: 1e12 }),
);
const svc = makeService(
  's',
  makeSpec('web', {
    TaskTemplate: {
      ContainerSpec: { Image: 'busybox' },
      Resources: { Reservations: { MemoryBytes: 1e6 } },
      Placement: {
        Constraints: ['node.labels.zone!=z9'],
        Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }],
      },
    },
  }),
);
const pending = Array.from({ length: tasksN }, (_, i) =>
  makeTask(`t${i}`, svc, { slot: i + 1, state: 'pending' }),
);
schedule({ nodes, tasks: [], pending: pending.slice(0, 100), seed: 1 });
const t0 = performance.now();
const plan = schedule({ nodes, tasks: [], pending, seed: 1 });
const ms = performance.now() - t0;
console.log(
  JSON.stringify({
    bench: 'scheduler',
    nodes: nodesN,
    tasks: tasksN,
    assigned: plan.assignments.length,
    ms: Math.round(ms),
    tasksPerSec: Math.round(tasksN / (ms / 1000)),
  }),
);
