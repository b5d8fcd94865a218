import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type {
  ContainerInfo,
  ContainerStats,
  CreateOptions,
  ExecOptions,
  ExitResult,
  HistoryEntry,
  ImageInspect,
  ImageSummary,
  LogEntry,
  LogOptions,
} from '../runtime/index.js';
import { invalidArgument } from '../api/errors.js';
import type { ApiClient } from './client.js';
import { pumpExecClient, type ExecIo } from './remote-exec.js';

const seg = (ref: string): string => encodeURIComponent(ref);

/**
 * The container verbs a daemon serves (`-H`/`TSSWARM_HOST`): the same method shapes as the
 * local ContainerRuntime, so a verb's code is one for both.
 */
export class RemoteRuntime {
  constructor(private readonly api: ApiClient) {}

  list(opts: { all?: boolean; labels?: Record<string, string> } = {}): Promise<ContainerInfo[]> {
    const q = new URLSearchParams();
    if (opts.all) q.set('all', 'true');
    for (const [k, v] of Object.entries(opts.labels ?? {})) q.append('label', `${k}=${v}`);
    return this.api.get<ContainerInfo[]>(`/containers/json?${q}`);
  }

  async inspectDocument(ref: string): Promise<Record<string, unknown>> {
    const r = await this.api.get<{ document: Record<string, unknown> }>(
      `/containers/${seg(ref)}/json`,
    );
    return r.document;
  }

  async *logs(ref: string, opts: LogOptions = {}): AsyncGenerator<LogEntry> {
    const q = new URLSearchParams();
    if (opts.follow) q.set('follow', 'true');
    if (opts.tail !== undefined) q.set('tail', String(opts.tail));
    yield* this.api.ndjson<LogEntry>(`/containers/${seg(ref)}/logs?${q}`);
  }

  async stop(ref: string, timeoutSec?: number): Promise<void> {
    const q = timeoutSec === undefined ? '' : `?t=${timeoutSec}`;
    await this.api.post(`/containers/${seg(ref)}/stop${q}`);
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    await this.api.post(`/containers/${seg(ref)}/kill?signal=${encodeURIComponent(signal)}`);
  }

  async remove(ref: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.api.delete(`/containers/${seg(ref)}${opts.force ? '?force=true' : ''}`);
  }

  /** Creates a container from options the caller built (env files already read). */
  async create(opts: CreateOptions, runtimeName?: string): Promise<string> {
    const q = runtimeName === undefined ? '' : `?runtime=${encodeURIComponent(runtimeName)}`;
    return (await this.api.post<{ Id: string }>(`/containers/create${q}`, opts)).Id;
  }

  /** Starts a created or stopped container, detached (the remote `run` follows its logs). */
  async start(ref: string): Promise<undefined> {
    await this.api.post(`/containers/${seg(ref)}/start`);
    return undefined;
  }

  wait(ref: string): Promise<ExitResult> {
    return this.api.post<ExitResult>(`/containers/${seg(ref)}/wait`);
  }

  stats(refs: string[] = []): Promise<ContainerStats[]> {
    const q = new URLSearchParams();
    for (const r of refs) q.append('container', r);
    return this.api.get<ContainerStats[]>(`/containers/stats?${q}`);
  }

  /**
   * Runs `cmd` in a running container with its stdio streamed over an upgraded connection;
   * resolves with its exit code (127 not found, 126 not runnable, as the local exec).
   */
  async exec(ref: string, cmd: string[], opts: ExecOptions, io: ExecIo): Promise<number> {
    const { Id } = await this.api.post<{ Id: string }>(`/containers/${seg(ref)}/exec`, {
      Cmd: cmd,
      Env: opts.env ?? [],
      AttachStdin: io.stdin !== undefined,
      ...(opts.workingDir !== undefined ? { WorkingDir: opts.workingDir } : {}),
      ...(opts.user !== undefined ? { User: opts.user } : {}),
    });
    const { socket, head } = await this.api.upgrade(`/exec/${Id}/start`);
    return pumpExecClient(socket, head, io);
  }
}

/** The image verbs a daemon serves, shaped as the local ImageStore's. */
export class RemoteImageStore {
  constructor(private readonly api: ApiClient) {}

  list(): Promise<ImageSummary[]> {
    return this.api.get<ImageSummary[]>('/images/json');
  }

  inspect(ref: string): Promise<ImageInspect> {
    return this.api.get<ImageInspect>(`/images/${seg(ref)}/json`);
  }

  async remove(ref: string, opts: { force?: boolean } = {}): Promise<string[]> {
    const r = await this.api.delete<{ Lines: string[] }>(
      `/images/${seg(ref)}${opts.force ? '?force=true' : ''}`,
    );
    return r.Lines;
  }

  /** Imports a tarball streamed from `source` (a path, or "-" for stdin): nothing is buffered. */
  async import(
    source: string,
    opts: { name?: string; changes?: string[]; archiveOnly?: boolean } = {},
  ): Promise<{ id: string; ref: string }[]> {
    let body: NodeJS.ReadableStream = process.stdin;
    if (source !== '-') {
      const file = await open(source, 'r').catch((err: Error) => {
        throw invalidArgument(`cannot read ${source}: ${err.message}`);
      });
      body = file.createReadStream();
    }
    if (opts.archiveOnly === true) return this.api.upload('/images/load', body, tarType);
    const q = new URLSearchParams();
    if (opts.name !== undefined) q.set('name', opts.name);
    for (const c of opts.changes ?? []) q.append('change', c);
    return this.api.upload(`/images/import?${q}`, body, tarType);
  }

  /** Writes the docker-save tarball of `refs` to `out` as it arrives. */
  async save(refs: string[], out: NodeJS.WritableStream, end = true): Promise<void> {
    const q = new URLSearchParams();
    for (const r of refs) q.append('names', r);
    await pipeline(await this.api.download(`/images/get?${q}`), out, { end });
  }

  async tag(source: string, target: string): Promise<void> {
    await this.api.post(`/images/${seg(source)}/tag?target=${encodeURIComponent(target)}`);
  }

  history(ref: string): Promise<HistoryEntry[]> {
    return this.api.get<HistoryEntry[]>(`/images/${seg(ref)}/history`);
  }

  prune(opts: { all?: boolean } = {}): Promise<{ lines: string[]; reclaimedBytes: number }> {
    return this.api.post(`/images/prune${opts.all === true ? '?all=true' : ''}`);
  }
}

const tarType = 'application/x-tar';
