import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  defaultNatsServerConfig,
  defaultNatsSupervisorConfig,
  NatsSupervisor,
  type ChildExit,
  type NatsChild,
  type NatsHost,
  type NatsServerConfig,
  type NatsSupervisorEvent,
} from '../../../../src/manager/nats/index.js';
import { TsswarmError } from '../../../../src/api/errors.js';

interface FakeChild extends NatsChild {
  exit(exit: ChildExit): void;
  alive: boolean;
}

/** A nats-server that lives only in memory: it exits when told to, and reloads on SIGHUP. */
class FakeHost implements NatsHost {
  readonly children: FakeChild[] = [];
  readonly signals: [number, string][] = [];
  readonly files = new Map<string, string>();
  /** What the next spawned children do: 'ok', never healthy, or die at once. */
  plan: ('ok' | 'hang' | 'die')[] = [];
  ignoreSigterm = false;
  loadTime = 0;
  private nextPid = 1000;
  private current: FakeChild | undefined;
  private behaviour: 'ok' | 'hang' | 'die' = 'ok';

  spawn(): Promise<NatsChild> {
    let resolve!: (e: ChildExit) => void;
    const exited = new Promise<ChildExit>((r) => (resolve = r));
    const child: FakeChild = {
      pid: this.nextPid++,
      exited,
      alive: true,
      exit: (e) => {
        if (!child.alive) return;
        child.alive = false;
        resolve(e);
      },
    };
    this.children.push(child);
    this.current = child;
    this.behaviour = this.plan.shift() ?? 'ok';
    if (this.behaviour === 'die') queueMicrotask(() => child.exit({ code: 1, signal: null }));
    return Promise.resolve(child);
  }
  signal(pid: number, signal: NodeJS.Signals): void {
    this.signals.push([pid, signal]);
    const child = this.children.find((c) => c.pid === pid);
    if (child === undefined) return;
    if (signal === 'SIGKILL' || (signal === 'SIGTERM' && !this.ignoreSigterm))
      child.exit({ code: null, signal });
    if (signal === 'SIGHUP') this.loadTime++;
  }
  healthy(): Promise<boolean> {
    return Promise.resolve(this.current?.alive === true && this.behaviour === 'ok');
  }
  configLoadTime(): Promise<string> {
    return Promise.resolve(String(this.loadTime));
  }
  writeFile(path: string, content: string): Promise<void> {
    this.files.set(path, content);
    return Promise.resolve();
  }
  leftoverPid(): Promise<number | undefined> {
    return Promise.resolve(undefined);
  }
  processGone(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

describe('nats supervisor (fake host)', () => {
  let dir = '';
  let host: FakeHost;
  let supervisor: NatsSupervisor;
  let events: NatsSupervisorEvent[];

  function make(
    overrides: Partial<ReturnType<typeof defaultNatsSupervisorConfig>> = {},
  ): NatsSupervisor {
    const server: NatsServerConfig = {
      ...defaultNatsServerConfig(),
      serverName: 'm1',
      clusterName: 'c1',
      tls: {
        certFile: '/d/n.crt',
        keyFile: '/d/n.key',
        caFile: '/d/ca.crt',
        handshakeTimeoutMs: 2000,
      },
      users: [{ nodeId: 'm1', role: 'manager', clusterId: 'c1' }],
      pidFile: join(dir, 'nats.pid'),
    };
    const s = new NatsSupervisor({
      server,
      host,
      supervisor: {
        ...defaultNatsSupervisorConfig(),
        binary: '/fake/nats-server',
        stateDir: dir,
        readyTimeoutMs: 200,
        readyPollMs: 2,
        stopTimeoutMs: 50,
        reloadTimeoutMs: 100,
        restartInitialDelayMs: 5,
        restartMaxDelayMs: 20,
        ...overrides,
      },
    });
    s.on((e) => events.push(e));
    return s;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsswarm-nats-unit-'));
    host = new FakeHost();
    events = [];
    supervisor = make();
  });
  afterEach(async () => {
    await supervisor.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts, writes its config and reports the PID', async () => {
    await supervisor.start();
    expect(supervisor.state).toBe('running');
    expect(events).toEqual([{ type: 'started', pid: 1000 }]);
    expect(host.files.get(supervisor.configFile)).toContain('server_name: "m1"');
  });

  it('tries the start again while a port is still held, and not for other failures', async () => {
    await writeFile(
      supervisor.logFile,
      '[FTL] listen tcp 127.0.0.1:8222: bind: address already in use\n',
    );
    host.plan = ['die', 'ok'];
    await supervisor.start();
    expect(supervisor.state).toBe('running');
    expect(host.children).toHaveLength(2);
    await supervisor.stop();
    await writeFile(supervisor.logFile, '[FTL] bad configuration\n');
    supervisor = make();
    host.plan = ['die', 'ok'];
    await expect(supervisor.start()).rejects.toThrow(/bad configuration/);
  });

  it('restarts a dying server with doubling delays, capped', async () => {
    await supervisor.start();
    for (const [i, expectedDelay] of [5, 10, 20, 20].entries()) {
      const restarted = supervisor.waitFor('restarted', 2_000);
      host.children.at(-1)?.exit({ code: null, signal: 'SIGKILL' });
      const event = await restarted;
      expect(event).toMatchObject({ attempt: i + 1, delayMs: expectedDelay });
      expect(event.pid).toBe(supervisor.pid);
    }
    expect(
      events.filter((e) => e.type === 'exited').every((e) => e.type === 'exited' && !e.expected),
    ).toBe(true);
  });

  it('keeps trying when a restart fails, and recovers', async () => {
    await supervisor.start();
    host.plan = ['die', 'hang', 'ok'];
    const restarted = supervisor.waitFor('restarted', 5_000);
    host.children.at(-1)?.exit({ code: 2, signal: null });
    const event = await restarted;
    expect(event.attempt).toBe(3);
    const failures = events.filter((e) => e.type === 'restart-failed');
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({
      attempt: 1,
      message: expect.stringMatching(/exited \(code 1/) as string,
    });
    expect(failures[1]).toMatchObject({
      attempt: 2,
      message: expect.stringMatching(/not healthy within 200 ms/) as string,
    });
    // The server that never became healthy was killed by PID, not left behind.
    const hung = host.children[2];
    expect(host.signals).toContainEqual([hung?.pid, 'SIGKILL']);
    expect(host.children.filter((c) => c.alive)).toHaveLength(1);
  });

  it('reloads on a route change: SIGHUP to its PID, no restart', async () => {
    await supervisor.start();
    const pid = supervisor.pid;
    await supervisor.updateRoutes(['nats-route://10.0.0.2:6222']);
    expect(host.signals).toEqual([[pid, 'SIGHUP']]);
    expect(events.at(-1)).toEqual({
      type: 'reloaded',
      pid,
      routes: ['nats-route://10.0.0.2:6222'],
      users: 1,
    });
    expect(host.files.get(supervisor.configFile)).toContain(
      'routes: ["nats-route://10.0.0.2:6222"]',
    );
    expect(supervisor.pid).toBe(pid);
  });

  it('applies concurrent changes in call order, each on top of the previous', async () => {
    await supervisor.start();
    const worker = { nodeId: 'w1', role: 'worker', clusterId: 'c1' } as const;
    const manager = { nodeId: 'm1', role: 'manager', clusterId: 'c1' } as const;
    await Promise.all([
      supervisor.updateRoutes(['nats-route://10.0.0.2:6222']),
      supervisor.reconfigure({ users: [manager, worker] }),
      supervisor.updateRoutes(['nats-route://10.0.0.3:6222']),
    ]);
    const text = host.files.get(supervisor.configFile) ?? '';
    expect(text).toContain('routes: ["nats-route://10.0.0.3:6222"]');
    expect(text).toContain('CN=w1,OU=swarm-worker,O=c1');
    expect(host.signals.map(([, s]) => s)).toEqual(['SIGHUP', 'SIGHUP', 'SIGHUP']);
    expect(
      events.filter((e) => e.type === 'reloaded').map((e) => e.type === 'reloaded' && e.users),
    ).toEqual([1, 2, 2]);
  });

  it('fails a reload the server does not apply in time, naming the log', async () => {
    await supervisor.start();
    host.configLoadTime = () => Promise.resolve('frozen');
    await expect(supervisor.reload()).rejects.toThrow(
      /did not reload its configuration within .* \(see .*nats-server\.log\)/,
    );
  });

  it('refuses a bad route list and keeps the old config', async () => {
    await supervisor.start();
    const before = host.files.get(supervisor.configFile);
    await expect(supervisor.updateRoutes(['10.0.0.2:6222'])).rejects.toThrow(TsswarmError);
    await expect(supervisor.updateRoutes(['10.0.0.2:6222'])).rejects.toThrow(/routes\[0\]/);
    expect(host.files.get(supervisor.configFile)).toBe(before);
    expect(host.signals).toEqual([]);
  });

  it('kills a server that ignores SIGTERM, and does not restart it', async () => {
    await supervisor.start();
    const pid = supervisor.pid;
    host.ignoreSigterm = true;
    await supervisor.stop();
    expect(host.signals).toEqual([
      [pid, 'SIGTERM'],
      [pid, 'SIGKILL'],
    ]);
    expect(supervisor.state).toBe('stopped');
    expect(events.slice(-2)).toEqual([
      { type: 'exited', pid, code: null, signal: 'SIGKILL', expected: true },
      { type: 'stopped' },
    ]);
    expect(host.children).toHaveLength(1);
  });

  it('stops cleanly while a restart is pending', async () => {
    supervisor = make({ restartInitialDelayMs: 10_000, restartMaxDelayMs: 10_000 });
    await supervisor.start();
    host.children[0]?.exit({ code: 1, signal: null });
    await supervisor.waitFor('exited', 1_000).catch(() => undefined);
    expect(supervisor.state).toBe('backing-off');
    await supervisor.stop();
    expect(host.children).toHaveLength(1);
    expect(supervisor.state).toBe('stopped');
  });

  it('fails start with the log tail when the server dies at once', async () => {
    host.plan = ['die'];
    await writeFile(supervisor.logFile, 'line1\nbad config: oops\n');
    const error = await supervisor.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TsswarmError);
    expect((error as Error).message).toMatch(/exited \(code 1.*bad config: oops/);
    expect(supervisor.state).toBe('idle');
    expect(await readFile(supervisor.logFile, 'utf8')).toContain('oops');
  });
});
