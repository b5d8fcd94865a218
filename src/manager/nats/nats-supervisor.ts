import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { NodeIdentity } from '../../ca/index.js';
import { invalidArgument, TsswarmError, ErrorCode } from '../../api/errors.js';
import {
  renderNatsConfig,
  validateNatsServerConfig,
  type NatsServerConfig,
} from './nats-config.js';
import {
  findNatsServer,
  realNatsHost,
  type ChildExit,
  type NatsChild,
  type NatsHost,
} from './nats-host.js';

export interface NatsSupervisorConfig {
  /** nats-server binary; empty means /usr/sbin/nats-server or the first on PATH. */
  binary: string;
  /** Holds nats-server.conf and nats-server.log (`<data-root>/nats`). */
  stateDir: string;
  readyTimeoutMs: number;
  readyPollMs: number;
  reloadTimeoutMs: number;
  /** SIGTERM first; SIGKILL when the server has not exited after this long. */
  stopTimeoutMs: number;
  restartInitialDelayMs: number;
  restartMaxDelayMs: number;
  /** A server that ran this long before dying restarts after the initial delay again. */
  stableAfterMs: number;
}

export function defaultNatsSupervisorConfig(): NatsSupervisorConfig {
  return {
    binary: '',
    stateDir: '',
    readyTimeoutMs: 10_000,
    readyPollMs: 20,
    reloadTimeoutMs: 5_000,
    stopTimeoutMs: 5_000,
    restartInitialDelayMs: 100,
    restartMaxDelayMs: 10_000,
    stableAfterMs: 30_000,
  };
}

export function validateNatsSupervisorConfig(config: NatsSupervisorConfig): void {
  if (!config.stateDir.startsWith('/')) {
    throw invalidArgument(
      `nats supervisor stateDir ${JSON.stringify(config.stateDir)}: must be an absolute path`,
    );
  }
  for (const field of [
    'readyTimeoutMs',
    'readyPollMs',
    'reloadTimeoutMs',
    'stopTimeoutMs',
    'restartInitialDelayMs',
    'restartMaxDelayMs',
    'stableAfterMs',
  ] as const) {
    const value = config[field];
    if (!Number.isFinite(value) || value <= 0) {
      throw invalidArgument(
        `nats supervisor ${field} ${value}: must be a positive number of milliseconds`,
      );
    }
  }
  if (config.restartMaxDelayMs < config.restartInitialDelayMs) {
    throw invalidArgument(
      `nats supervisor restartMaxDelayMs ${config.restartMaxDelayMs}: must be at least restartInitialDelayMs ${config.restartInitialDelayMs}`,
    );
  }
  if (config.readyPollMs >= config.readyTimeoutMs) {
    throw invalidArgument(
      `nats supervisor readyPollMs ${config.readyPollMs}: must be below readyTimeoutMs ${config.readyTimeoutMs}`,
    );
  }
}

export type NatsSupervisorEvent =
  | { type: 'started'; pid: number }
  | {
      type: 'exited';
      pid: number;
      code: number | null;
      signal: NodeJS.Signals | null;
      expected: boolean;
    }
  | { type: 'restarted'; pid: number; attempt: number; delayMs: number }
  | { type: 'restart-failed'; attempt: number; message: string }
  | { type: 'reloaded'; pid: number; routes: string[]; users: number }
  | { type: 'stopped' };

export type NatsSupervisorState =
  'idle' | 'starting' | 'running' | 'backing-off' | 'stopping' | 'stopped';

export interface NatsSupervisorOptions {
  server: NatsServerConfig;
  supervisor: NatsSupervisorConfig;
  host?: NatsHost;
  logger?: Logger;
}

/**
 * Keeps one nats-server alive for this manager: starts it and waits until it is healthy,
 * restarts it with exponential backoff when it dies, reloads it when the routes change, and
 * stops it (SIGTERM, then SIGKILL) on shutdown. Every signal goes to the PID it spawned.
 *
 *   idle ─start()─► starting ─healthy─► running ─exit─► backing-off ─delay─► starting …
 *                                          │ reconfigure(): rewrite config, SIGHUP, await /varz
 *   any ─stop()─► stopping ─exit (or SIGKILL)─► stopped
 */
export class NatsSupervisor {
  /** The configuration the server runs with (last written). */
  private server: NatsServerConfig;
  /** The newest requested configuration; reconfigure() builds on it, not on `server`. */
  private pending: NatsServerConfig;
  private reconfiguring: Promise<void> = Promise.resolve();
  private readonly config: NatsSupervisorConfig;
  private readonly host: NatsHost;
  private readonly log: Logger;
  private readonly listeners = new Set<(event: NatsSupervisorEvent) => void>();
  private child: NatsChild | undefined;
  private childStartedAt = 0;
  private currentState: NatsSupervisorState = 'idle';
  private attempt = 0;
  private nextDelayMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  /** A launch (first start or restart) under way; stop() lets it finish, then stops its child. */
  private launching: Promise<unknown> | undefined;
  private binary = '';

  constructor(options: NatsSupervisorOptions) {
    validateNatsServerConfig(options.server);
    validateNatsSupervisorConfig(options.supervisor);
    this.server = { ...options.server, routes: [...options.server.routes] };
    this.pending = this.server;
    this.config = { ...options.supervisor };
    this.host = options.host ?? realNatsHost;
    this.log = (options.logger ?? pino({ enabled: false })).child({
      component: 'nats-supervisor',
      'nats.server': options.server.serverName,
    });
    this.nextDelayMs = this.config.restartInitialDelayMs;
  }

  get configFile(): string {
    return join(this.config.stateDir, 'nats-server.conf');
  }

  get logFile(): string {
    return join(this.config.stateDir, 'nats-server.log');
  }

  get state(): NatsSupervisorState {
    return this.currentState;
  }

  /** PID of the running nats-server, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get routes(): readonly string[] {
    return this.server.routes;
  }

  on(listener: (event: NatsSupervisorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first event (from now on) that matches, or rejects after `timeoutMs`. */
  waitFor<T extends NatsSupervisorEvent['type']>(
    type: T,
    timeoutMs: number,
    match: (event: Extract<NatsSupervisorEvent, { type: T }>) => boolean = () => true,
  ): Promise<Extract<NatsSupervisorEvent, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(
          new TsswarmError(
            ErrorCode.Unavailable,
            `no ${type} event from nats-server ${this.server.serverName} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const off = this.on((event) => {
        if (event.type !== type) return;
        const typed = event as Extract<NatsSupervisorEvent, { type: T }>;
        if (!match(typed)) return;
        clearTimeout(timer);
        off();
        resolve(typed);
      });
    });
  }

  /** Starts nats-server and resolves once it reports healthy; throws (with its log tail) otherwise. */
  async start(): Promise<void> {
    if (this.currentState !== 'idle')
      throw new Error(`nats supervisor: start() in state ${this.currentState}`);
    this.currentState = 'starting';
    const binary = this.config.binary || (await findNatsServer());
    if (binary === undefined) {
      this.currentState = 'idle';
      throw new TsswarmError(
        ErrorCode.Unavailable,
        'nats-server not found in /usr/sbin or on PATH (Debian package nats-server)',
      );
    }
    this.binary = binary;
    await this.writeConfig();
    const leftover = await this.host.leftoverPid(this.server.pidFile, this.configFile);
    if (leftover !== undefined) {
      // Our own child from a daemon that died without stopping it: it holds our ports.
      this.log.warn({ 'nats.pid': leftover }, 'stopping a nats-server left over by a previous run');
      this.host.signal(leftover, 'SIGKILL');
      await this.awaitGone(leftover);
    }
    try {
      let pid: number;
      for (let attempt = 1; ; attempt++) {
        const launching = this.launch();
        this.launching = launching;
        try {
          pid = await launching;
          break;
        } catch (e) {
          // A port still held for a moment (a process on its way out) is worth a second try;
          // anything else, or a port held for good, fails the start.
          if (attempt >= 3 || !/address already in use/.test(String(e))) throw e;
          this.log.warn({ err: e }, 'nats-server port still in use: trying again');
          await delay(500 * attempt);
        }
      }
      if (this.currentState !== 'starting') return; // stop() came in meanwhile; it stops this child
      this.currentState = 'running';
      this.emit({ type: 'started', pid });
    } catch (e) {
      if (this.currentState === 'starting') this.currentState = 'idle';
      throw e;
    } finally {
      this.launching = undefined;
    }
  }

  /** Replaces the route list (a manager joined or left); see reconfigure(). */
  updateRoutes(routes: string[]): Promise<void> {
    return this.reconfigure({ routes });
  }

  /**
   * Replaces routes and/or users (a node joined, left or changed role) and has the running
   * server reload its configuration; resolves once the server reports it loaded. A server that
   * is not running just gets the new file. Invalid input throws before anything changes.
   * Calls are applied one at a time, in call order.
   */
  async reconfigure(change: { routes?: string[]; users?: NodeIdentity[] }): Promise<void> {
    const next: NatsServerConfig = {
      ...this.pending,
      ...(change.routes !== undefined ? { routes: [...change.routes] } : {}),
      ...(change.users !== undefined ? { users: change.users.map((u) => ({ ...u })) } : {}),
    };
    validateNatsServerConfig(next);
    this.pending = next;
    const run = this.reconfiguring.then(() => this.apply(next));
    this.reconfiguring = run.catch(() => undefined);
    await run;
  }

  /** Re-reads the configuration file, e.g. after the node certificate was renewed in place. */
  reload(): Promise<void> {
    return this.reconfigure({});
  }

  private async apply(next: NatsServerConfig): Promise<void> {
    this.server = next;
    await this.writeConfig();
    const child = this.child;
    if (this.currentState !== 'running' || child === undefined) return;
    const before = await this.host.configLoadTime(next.monitor);
    this.host.signal(child.pid, 'SIGHUP');
    const deadline = Date.now() + this.config.reloadTimeoutMs;
    for (;;) {
      const now = await this.host.configLoadTime(next.monitor);
      if (now !== undefined && now !== before) break;
      if (Date.now() > deadline) {
        throw new TsswarmError(
          ErrorCode.Unavailable,
          `nats-server ${next.serverName} did not reload its configuration within ${this.config.reloadTimeoutMs} ms (see ${this.logFile})`,
        );
      }
      await delay(this.config.readyPollMs);
    }
    this.log.info(
      { 'nats.routes': next.routes, 'nats.users': next.users.length },
      'nats-server reloaded',
    );
    this.emit({
      type: 'reloaded',
      pid: child.pid,
      routes: [...next.routes],
      users: next.users.length,
    });
  }

  /** Stops the server: SIGTERM, then SIGKILL after stopTimeoutMs. Idempotent. */
  async stop(): Promise<void> {
    if (this.currentState === 'stopped') return;
    this.currentState = 'stopping';
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    // A restart in flight finishes its launch first, so that its child is the one we stop.
    await this.launching?.catch(() => undefined);
    const child = this.child;
    if (child !== undefined) {
      this.host.signal(child.pid, 'SIGTERM');
      const exited = await Promise.race([
        child.exited,
        delay(this.config.stopTimeoutMs).then(() => undefined),
      ]);
      if (exited === undefined) {
        this.log.warn({ 'nats.pid': child.pid }, 'nats-server ignored SIGTERM; killing it');
        this.host.signal(child.pid, 'SIGKILL');
        await child.exited;
      }
    }
    this.currentState = 'stopped';
    this.emit({ type: 'stopped' });
  }

  private async writeConfig(): Promise<void> {
    // The config names the node key's path but holds no secret of its own.
    await this.host.writeFile(this.configFile, renderNatsConfig(this.server), 0o640);
  }

  /** Spawns nats-server and waits until it is healthy; kills it if it is not in time. */
  private async launch(): Promise<number> {
    const child = await this.host.spawn(this.binary, ['-c', this.configFile], this.logFile);
    this.child = child;
    this.childStartedAt = Date.now();
    let exitedEarly: ChildExit | undefined;
    void child.exited.then((exit) => {
      exitedEarly = exit;
      this.onExit(child, exit);
    });
    const deadline = Date.now() + this.config.readyTimeoutMs;
    while (!(await this.host.healthy(this.server.monitor))) {
      if (exitedEarly !== undefined || Date.now() > deadline) {
        const why =
          exitedEarly !== undefined
            ? `exited (code ${exitedEarly.code ?? '-'}, signal ${exitedEarly.signal ?? '-'})`
            : `was not healthy within ${this.config.readyTimeoutMs} ms`;
        if (exitedEarly === undefined) {
          this.host.signal(child.pid, 'SIGKILL');
          await child.exited;
        }
        throw new TsswarmError(
          ErrorCode.Unavailable,
          `nats-server ${this.server.serverName} ${why}; ${this.logFile} ends with: ${await this.logTail()}`,
        );
      }
      await delay(this.config.readyPollMs);
    }
    this.log.info({ 'nats.pid': child.pid }, 'nats-server is healthy');
    return child.pid;
  }

  private onExit(child: NatsChild, exit: ChildExit): void {
    if (this.child !== child) return;
    this.child = undefined;
    const expected = this.currentState === 'stopping' || this.currentState === 'stopped';
    this.emit({ type: 'exited', pid: child.pid, code: exit.code, signal: exit.signal, expected });
    // During start() and restarts the launcher reports the failure itself.
    if (expected || this.currentState !== 'running') return;
    this.log.warn(
      { 'nats.pid': child.pid, 'nats.code': exit.code, 'nats.signal': exit.signal },
      'nats-server died',
    );
    if (Date.now() - this.childStartedAt >= this.config.stableAfterMs) {
      this.nextDelayMs = this.config.restartInitialDelayMs;
    }
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    this.currentState = 'backing-off';
    const delayMs = this.nextDelayMs;
    this.nextDelayMs = Math.min(this.nextDelayMs * 2, this.config.restartMaxDelayMs);
    this.attempt += 1;
    const attempt = this.attempt;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.launching = this.restart(attempt, delayMs);
    }, delayMs);
  }

  private async restart(attempt: number, delayMs: number): Promise<void> {
    if (this.currentState !== 'backing-off') return;
    this.currentState = 'starting';
    try {
      const pid = await this.launch();
      if (this.currentState !== 'starting') return; // stop() came in meanwhile; it stops this child
      this.currentState = 'running';
      this.log.info({ 'nats.pid': pid, 'nats.attempt': attempt }, 'nats-server restarted');
      this.emit({ type: 'restarted', pid, attempt, delayMs });
    } catch (e) {
      const message = (e as Error).message;
      this.log.error({ 'nats.attempt': attempt, err: e }, 'nats-server restart failed');
      this.emit({ type: 'restart-failed', attempt, message });
      if (this.currentState === 'starting') this.scheduleRestart();
    } finally {
      this.launching = undefined;
    }
  }

  private async awaitGone(pid: number): Promise<void> {
    const deadline = Date.now() + this.config.stopTimeoutMs;
    while (!(await this.host.processGone(pid))) {
      if (Date.now() > deadline) {
        throw new TsswarmError(ErrorCode.Internal, `leftover nats-server ${pid} survived SIGKILL`);
      }
      await delay(this.config.readyPollMs);
    }
  }

  private async logTail(): Promise<string> {
    try {
      const text = await readFile(this.logFile, 'utf8');
      return text.split('\n').filter(Boolean).slice(-5).join(' | ') || '(empty)';
    } catch {
      return '(no log)';
    }
  }

  private emit(event: NatsSupervisorEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (e) {
        this.log.error({ err: e, 'event.type': event.type }, 'nats supervisor listener threw');
      }
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
