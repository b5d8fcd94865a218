import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { realNatsHost } from '../../../../src/manager/nats/nats-host.js';

it('processGone is false while a process runs and true once it has exited', async () => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  const pid = child.pid ?? 0;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    expect(await realNatsHost.processGone(pid)).toBe(false);
  } finally {
    child.kill('SIGKILL');
  }
  await exited;
  expect(await realNatsHost.processGone(pid)).toBe(true);
});
