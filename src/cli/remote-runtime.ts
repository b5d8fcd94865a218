import type {
  ContainerInfo,
  ImageInspect,
  ImageSummary,
  LogEntry,
  LogOptions,
} from '../runtime/index.js';
import type { ApiClient } from './client.js';

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
}
