import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ErrorCode, TsswarmError, type NodeRole } from '../api/index.js';
import type { LogsRequest, ServiceLogLine } from '../api/dispatch.js';
// Only the certificate files: a worker never loads the issuing (x509) library.
import { readNodeCertificate, readRootCa } from '../ca/certificate-store.js';
import { ContainerRuntime } from '../runtime/index.js';
import {
  Agent,
  NetworkedExecutor,
  RuntimeExecutor,
  WorkerFiles,
  type TaskNetworks,
} from '../worker/index.js';
import type { DaemonConfig } from './daemon-config.js';
import type { NodeState } from './node-state.js';
import { nodeDescription } from './node-description.js';
import { serviceLogs } from './service-logs.js';
import { taskNetworks as openTaskNetworks } from './task-networks-setup.js';

/**
 * The worker role of a node (every node plays it): the agent's NATS session to the managers,
 * task controllers on this node's runtime, and the overlay networks of its tasks. Returned
 * unstarted, so the daemon holds both before `agent.start()` can fail and stops them then.
 */
export async function createAgent(opts: {
  config: DaemonConfig;
  state: NodeState;
  natsUrls: string[];
  log: Logger;
  onRole: (role: NodeRole) => void;
}): Promise<{ agent: Agent; taskNetworks: TaskNetworks }> {
  const { config, state, natsUrls, log } = opts;
  const root = await readRootCa(config.dataRoot);
  const cert = await readNodeCertificate(config.dataRoot);
  if (!root || !cert) throw new TsswarmError(ErrorCode.DataCorrupt, 'node certificates missing');
  // Lab nodes share one machine: each daemon keeps its containers under its own cgroup.
  const cgroupParent = process.env['TSSWARM_CGROUP_PARENT'];
  const runtime = ContainerRuntime.open({
    dataRoot: config.dataRoot,
    execRoot: config.execRoot,
    ...(cgroupParent ? { cgroupParent } : {}),
  });
  const taskNetworks = openTaskNetworks(state.nodeId, state.advertiseAddr, config.execRoot, log);
  const files = new WorkerFiles();
  const agent = new Agent(
    {
      nodeId: state.nodeId,
      servers: natsUrls,
      caPem: root.certPem,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
      description: nodeDescription(),
      addr: state.advertiseAddr,
      stateDir: join(config.dataRoot, 'worker'),
      statusBatchMs: 10,
      requestTimeoutMs: 5_000,
      onRole: opts.onRole,
      logSource: (req, signal) => logSource(config, req, signal),
    },
    new NetworkedExecutor(
      new RuntimeExecutor(runtime, state.nodeId, hostname(), files),
      taskNetworks,
    ),
    log,
    (view) =>
      void taskNetworks.setView(view).catch((err: unknown) => {
        log.warn({ err }, 'network view not applied');
      }),
    files,
  );
  return { agent, taskNetworks };
}

/** This node's lines of a service's tasks, for a manager's `service logs`. */
async function* logSource(
  config: DaemonConfig,
  req: LogsRequest,
  signal: AbortSignal,
): AsyncIterable<ServiceLogLine> {
  yield* serviceLogs({
    dataRoot: config.dataRoot,
    execRoot: config.execRoot,
    request: req,
    nodeName: hostname(),
    signal,
  });
}
