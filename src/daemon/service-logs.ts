import type { LogsRequest, ServiceLogLine } from '../api/dispatch.js';
import { ContainerRuntime, type LogEntry } from '../runtime/index.js';

export interface ServiceLogsOptions {
  dataRoot: string;
  execRoot: string;
  request: LogsRequest;
  nodeName: string;
  signal: AbortSignal;
}

/**
 * `service logs` for the tasks whose containers are on this node, line by line with the task,
 * node, stream and time (the CLI writes docker's `name.slot.taskid@node    | ` prefix). Each
 * node runs this for the managers' log broker.
 */
export async function* serviceLogs(o: ServiceLogsOptions): AsyncGenerator<ServiceLogLine> {
  const runtime = ContainerRuntime.open({ dataRoot: o.dataRoot, execRoot: o.execRoot });
  const { serviceId, tail, follow, sinceMs } = o.request;
  const infos = await runtime.list({
    all: true,
    labels: { 'com.docker.swarm.service.id': serviceId },
  });
  const sources = infos.map((i) => ({
    id: i.record.Id,
    taskId: i.record.Config.Labels['com.docker.swarm.task.id'] ?? i.record.Id,
  }));
  const keep = (e: LogEntry): boolean => sinceMs === undefined || Date.parse(e.time) >= sinceMs;
  const line = (taskId: string, e: LogEntry): ServiceLogLine => ({
    taskId,
    node: o.nodeName,
    stream: e.stream,
    time: e.time,
    line: e.line,
  });
  const opts = { ...(tail !== undefined ? { tail } : {}), signal: o.signal };
  if (!follow) {
    for (const s of sources) {
      for await (const e of runtime.logs(s.id, opts)) if (keep(e)) yield line(s.taskId, e);
    }
    return;
  }
  // Follow: interleave every container's stream as lines arrive.
  const queue: ServiceLogLine[] = [];
  let wake: (() => void) | undefined;
  let open = sources.length;
  for (const s of sources) {
    void (async () => {
      try {
        for await (const e of runtime.logs(s.id, { ...opts, follow: true })) {
          if (!keep(e)) continue;
          queue.push(line(s.taskId, e));
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
    const next = queue.shift();
    if (next !== undefined) {
      yield next;
      continue;
    }
    await new Promise<void>((r) => (wake = r));
    wake = undefined;
  }
}
