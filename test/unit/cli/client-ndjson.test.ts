import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ApiClient } from '../../../src/cli/client.js';

it('ApiClient.ndjson keeps a character split across two chunks whole', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsswarm-ndjson-'));
  const body = Buffer.from(`${JSON.stringify({ line: 'héllo ✓' })}\n`);
  const cut = body.indexOf(Buffer.from('é')) + 1; // inside the two bytes of é
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(body.subarray(0, cut));
    setTimeout(() => res.end(body.subarray(cut)), 20);
  });
  const socketPath = join(dir, 'api.sock');
  await new Promise<void>((r) => server.listen(socketPath, r));
  try {
    const got: unknown[] = [];
    for await (const x of new ApiClient({ socketPath }).ndjson('/logs')) got.push(x);
    expect(got).toEqual([{ line: 'héllo ✓' }]);
  } finally {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  }
});
