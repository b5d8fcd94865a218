import type { HealthConfig } from '../api/index.js';

/** Docker's defaults for fields a health check leaves at 0. */
export const DEFAULT_HEALTH_INTERVAL_MS = 30_000;
export const DEFAULT_HEALTH_TIMEOUT_MS = 30_000;
export const DEFAULT_HEALTH_RETRIES = 3;
const LOG_ENTRIES = 5;

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** Docker's `State.Health`. */
export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthLogEntry[];
}

export interface ProbeOutcome {
  exitCode: number;
  output: string;
  timedOut: boolean;
}

export type ProbeRunner = (cmd: string[], timeoutMs: number) => Promise<ProbeOutcome>;

/** The argv a check runs: `CMD a b` as is, `CMD-SHELL s` through `/bin/sh -c`. */
export function probeCommand(test: readonly string[]): string[] | undefined {
  const [kind, ...rest] = test;
  if (kind === 'CMD' && rest.length > 0) return rest;
  if (kind === 'CMD-SHELL' && rest.length > 0) return ['/bin/sh', '-c', rest.join(' ')];
  return undefined;
}

const nsToMs = (ns: number | undefined, fallback: number): number =>
  ns && ns > 0 ? Math.max(1, Math.round(ns / 1e6)) : fallback;

/**
 * Runs one container's health check as dockerd does: a probe every Interval (StartInterval
 * during the start period, when set), each killed after Timeout; the first success makes the
 * container healthy, Retries failures in a row unhealthy; failures inside StartPeriod do not
 * count. Probes never overlap. `onChange` hears every new state (status, streak or log).
 */
export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private state: HealthState = { Status: 'starting', FailingStreak: 0, Log: [] };
  private readonly cmd: string[];
  private readonly intervalMs: number;
  private readonly startIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly startPeriodMs: number;

  constructor(
    config: HealthConfig,
    private readonly run: ProbeRunner,
    private readonly onChange: (state: HealthState) => void,
    private readonly startedAtMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    const cmd = probeCommand(config.Test ?? []);
    if (!cmd) throw new Error(`health check without a command: ${JSON.stringify(config.Test)}`);
    this.cmd = cmd;
    this.intervalMs = nsToMs(config.Interval, DEFAULT_HEALTH_INTERVAL_MS);
    this.startIntervalMs = nsToMs(config.StartInterval, this.intervalMs);
    this.timeoutMs = nsToMs(config.Timeout, DEFAULT_HEALTH_TIMEOUT_MS);
    this.retries = config.Retries && config.Retries > 0 ? config.Retries : DEFAULT_HEALTH_RETRIES;
    this.startPeriodMs = nsToMs(config.StartPeriod, 0);
  }

  get current(): HealthState {
    return this.state;
  }

  start(): void {
    this.onChange(this.state);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private inStartPeriod(): boolean {
    return this.nowMs() < this.startedAtMs + this.startPeriodMs;
  }

  private schedule(): void {
    if (this.stopped) return;
    const wait =
      this.state.Status === 'starting' && this.inStartPeriod()
        ? this.startIntervalMs
        : this.intervalMs;
    this.timer = setTimeout(() => void this.probe(), wait);
  }

  private async probe(): Promise<void> {
    if (this.stopped) return;
    const start = new Date(this.nowMs()).toISOString();
    let outcome: ProbeOutcome;
    try {
      outcome = await this.run(this.cmd, this.timeoutMs);
    } catch (err) {
      outcome = {
        exitCode: -1,
        output: err instanceof Error ? err.message : String(err),
        timedOut: false,
      };
    }
    if (this.stopped) return;
    const entry: HealthLogEntry = {
      Start: start,
      End: new Date(this.nowMs()).toISOString(),
      ExitCode: outcome.timedOut ? -1 : outcome.exitCode,
      Output: outcome.timedOut
        ? `Health check exceeded timeout (${this.timeoutMs / 1000}s)`
        : outcome.output,
    };
    const log = [...this.state.Log, entry].slice(-LOG_ENTRIES);
    if (entry.ExitCode === 0) {
      this.state = { Status: 'healthy', FailingStreak: 0, Log: log };
    } else if (this.state.Status === 'starting' && this.inStartPeriod()) {
      // Failures while the program starts up are expected: logged, not counted.
      this.state = { ...this.state, Log: log };
    } else {
      const streak = this.state.FailingStreak + 1;
      this.state = {
        Status: streak >= this.retries ? 'unhealthy' : this.state.Status,
        FailingStreak: streak,
        Log: log,
      };
    }
    this.onChange(this.state);
    this.schedule();
  }
}
