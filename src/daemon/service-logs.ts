import { Readable } from 'node:stream';
import { ContainerRuntime } from '../runtime/index.js';

export interface ServiceLogsOptions {
  dataRoot: string;
  execRoot: string;
  serviceId: string;
  /** Task id → the name docker prints. */
  taskNames: Record<string, string>;
  nodeName: string;
  tail?: number;
  follow: boolean;
  signal: AbortSignal;
}

/**
 * `service logs` for the tasks whose containers are on this node, prefixed as docker prints
 * them (`name.slot.taskid@node    | line`). Each node runs this for the managers' log broker.
 */
export function serviceLogs(o: ServiceLogsOptions): Readable {
  const runtime = ContainerRuntime.open({ dataRoot: o.dataRoot, execRoot: o.execRoot });
  async function* lines(): AsyncGenerator<string> {
    const infos = await runtime.list({
      all: true,
      labels: { 'com.docker.swarm.service.id': o.serviceId },
    });
    const sources = infos.map((i) => {
      const taskId = i.record.Config.Labels['com.docker.swarm.task.id'] ?? '';
      const prefix = `${o.taskNames[taskId] ?? i.record.Name.slice(1)}@${o.nodeName}    | `;
      return { id: i.record.Id, prefix };
    });
    if (!o.follow) {
      for (const s of sources) {
        for await (const e of runtime.logs(s.id, {
          ...(o.tail !== undefined ? { tail: o.tail } : {}),
          signal: o.signal,
        })) {
          yield s.prefix + e.line + (e.line.endsWith('\n') ? '' : '\n');
        }
      }
      return;
    }
    // Follow: interleave every container's stream as lines arrive.
    const queue: string[] = [];
    let wake: (() => void) | undefined;
    let open = sources.length;
    for (const s of sources) {
      void (async () => {
        try {
          for await (const e of runtime.logs(s.id, {
            follow: true,
            ...(o.tail !== undefined ? { tail: o.tail } : {}),
            signal: o.signal,
          })) {
            queue.push(s.prefix + e.line + (e.line.endsWith('\n') ? '' : '\n'));
            wake?.();
          }
        } catch {
          // the container went away
        } finally {
          open--;
          wake?.();
        }
      })();
    }
    while (!o.signal.aborted && (open > 0 || queue.length > 0)) {
      const line = queue.shift();
      if (line !== undefined) {
        yield line;
        continue;
      }
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  }
  return Readable.from(lines());
}
