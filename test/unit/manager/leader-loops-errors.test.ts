// A write the store refuses reaches the leader's failure handling with the store's code.
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { ErrorCode, TsswarmError } from '../../../src/api/index.js';
import { LeaderLoops } from '../../../src/manager/leader-loops.js';
import { InMemoryProposer, MemoryStore } from '../../../src/manager/store/index.js';

let loops: LeaderLoops | undefined;
afterEach(() => loops?.stop());

it('keeps the code of a refused orchestrator write', async () => {
  const store = new MemoryStore();
  const inner = new InMemoryProposer(store);
  store.setProposer(inner);
  await store.update((tx) => {
    tx.services.create({
      ID: 's1',
      Spec: {
        Name: 'web',
        TaskTemplate: { ContainerSpec: { Image: 'busybox' } },
        Mode: { Replicated: { Replicas: 1 } },
      },
    });
  });
  // Every entry lands twice: the second creation of the same task is refused as a conflict.
  store.setProposer({
    propose: async (data) => {
      await inner.propose(data);
      return inner.propose(data);
    },
  });
  let failing: unknown;
  loops = new LeaderLoops({
    store,
    logger: pino({ enabled: false }),
    maxFailures: 1,
    onFailing: (err) => (failing = err),
  });
  loops.start();
  await loops.settled();
  expect(failing).toBeInstanceOf(TsswarmError);
  expect((failing as TsswarmError).code).toBe(ErrorCode.Conflict);
  expect((failing as TsswarmError).message).toMatch(/^orchestrator write refused: /);
});
