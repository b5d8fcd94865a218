import {
  ErrorCode,
  fromWire,
  invalidArgument,
  notFound,
  serviceModeKind,
  specErrorsToError,
  TsswarmError,
  validateClusterSpec,
  validateNodeSpec,
  validateServiceSpec,
  type Cluster,
  type ClusterSpec,
  type Network,
  type NetworkSpec,
  type Node,
  type NodeSpec,
  type Service,
  type ServiceSpec,
  type Task,
  resolveRef,
  type RefIndex,
} from '../../api/index.js';
import {
  allocateEndpoint,
  createNetwork,
  removeNetwork,
  resolveNetwork,
  resolveServiceNetworks,
  withAllocationLock,
} from '../allocator/index.js';
import { rotateJoinToken } from '../../ca/index.js';
import { FileObjectsApi } from './file-objects.js';
import { serviceStatus } from '../orchestrator/index.js';
import type { MemoryStore, ReadTx, UpdateResult, WriteTx } from '../store/index.js';

export interface TaskFilter {
  service?: string;
  node?: string;
  desiredState?: string;
}

/**
 * The manager's control API (swarmkit's controlapi): reads from the local store, writes
 * through raft, resolves names and id prefixes as docker does, and refuses bad input with an
 * error naming what is wrong before anything is written.
 */
export class ControlApi {
  /** Secrets and configs. */
  readonly files: FileObjectsApi;

  constructor(private readonly store: MemoryStore) {
    this.files = new FileObjectsApi(store);
  }

  // ---- services ---------------------------------------------------------------------------

  async createService(requested: ServiceSpec): Promise<{ ID: string }> {
    checkServiceSpec(requested);
    const spec = this.files.resolveReferences(requested);
    const res = await withAllocationLock(this.store, () =>
      this.store.update((tx) => {
        const id = tx.newId();
        const stored = resolveServiceNetworks(tx, spec);
        const endpoint = allocateEndpoint(tx, stored, undefined);
        tx.services.create({ ID: id, Spec: stored, ...(endpoint ? { Endpoint: endpoint } : {}) });
        return id;
      }),
    );
    return { ID: unwrap(res) };
  }

  listServices(opts: { status?: boolean } = {}): Service[] {
    return this.store.view((tx) => {
      const services = tx.services.find({ by: 'all' });
      if (!opts.status) return services;
      const nodes = new Map(tx.nodes.find({ by: 'all' }).map((n) => [n.ID, n]));
      return services.map((s) => ({
        ...s,
        ServiceStatus: serviceStatus(s, tx.tasks.find({ by: 'serviceId', serviceId: s.ID }), nodes),
      }));
    });
  }

  getService(ref: string, opts: { status?: boolean } = {}): Service {
    return this.store.view((tx) => {
      const s = resolve(tx, 'services', ref, 'service');
      if (!opts.status) return s;
      const nodes = new Map(tx.nodes.find({ by: 'all' }).map((n) => [n.ID, n]));
      return {
        ...s,
        ServiceStatus: serviceStatus(s, tx.tasks.find({ by: 'serviceId', serviceId: s.ID }), nodes),
      };
    });
  }

  async updateService(ref: string, version: number, requested: ServiceSpec): Promise<void> {
    checkServiceSpec(requested);
    const spec = this.files.resolveReferences(requested);
    const res = await withAllocationLock(this.store, () =>
      this.store.update((tx) => {
        const s = resolve(tx, 'services', ref, 'service');
        if (s.Version.Index !== version) throw outOfSequence();
        if (spec.Name !== s.Spec.Name) {
          throw invalidArgument(
            `renaming services is not supported (${s.Spec.Name} → ${spec.Name})`,
          );
        }
        if (serviceModeKind(spec.Mode) !== serviceModeKind(s.Spec.Mode)) {
          throw invalidArgument(`service mode change is not allowed (service ${s.Spec.Name})`);
        }
        const stored = resolveServiceNetworks(tx, spec);
        const endpoint = allocateEndpoint(tx, stored, s);
        // A new spec starts a new update (and so resumes a paused one), as swarmkit does.
        const { Endpoint: _old, UpdateStatus: _status, ...rest } = s;
        tx.services.update({
          ...rest,
          Spec: stored,
          PreviousSpec: s.Spec,
          ...(endpoint ? { Endpoint: endpoint } : {}),
        });
      }),
    );
    unwrap(res);
  }

  /**
   * Docker's `service rollback` (`update --rollback`): the previous spec becomes the spec again,
   * rolled out with the RollbackConfig by the updater.
   */
  async rollbackService(ref: string, version: number): Promise<void> {
    const res = await withAllocationLock(this.store, () =>
      this.store.update((tx) => {
        const s = resolve(tx, 'services', ref, 'service');
        if (s.Version.Index !== version) throw outOfSequence();
        const previous = s.PreviousSpec;
        if (!previous) {
          throw invalidArgument(`service ${s.Spec.Name} does not have a previous spec`);
        }
        const endpoint = allocateEndpoint(tx, previous, s);
        const { Endpoint: _old, ...rest } = s;
        tx.services.update({
          ...rest,
          Spec: previous,
          PreviousSpec: s.Spec,
          ...(endpoint ? { Endpoint: endpoint } : {}),
          UpdateStatus: {
            State: 'rollback_started',
            StartedAt: tx.now,
            Message: 'manually requested rollback',
          },
        });
      }),
    );
    unwrap(res);
  }

  /** Docker's `service scale`: only replicated services (and jobs' completions) scale. */
  async scaleService(ref: string, replicas: number): Promise<void> {
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw invalidArgument(`invalid replicas value ${replicas}: a non-negative integer expected`);
    }
    const s = this.getService(ref);
    if (serviceModeKind(s.Spec.Mode) !== 'replicated') {
      throw invalidArgument(
        `${s.Spec.Name}: scale can only be used with replicated or replicated-job mode`,
      );
    }
    const spec: ServiceSpec = { ...s.Spec, Mode: { Replicated: { Replicas: replicas } } };
    await this.updateService(s.ID, s.Version.Index, spec);
  }

  async removeService(ref: string): Promise<void> {
    const res = await this.store.update((tx) => {
      const s = resolve(tx, 'services', ref, 'service');
      tx.services.delete(s.ID);
      // The tasks stop on their nodes; the reaper deletes them once they have.
      for (const t of tx.tasks.find({ by: 'serviceId', serviceId: s.ID })) {
        if (t.DesiredState !== 'remove') tx.tasks.update({ ...t, DesiredState: 'remove' });
      }
    });
    unwrap(res);
  }

  // ---- networks ---------------------------------------------------------------------------

  async createNetwork(spec: NetworkSpec): Promise<{ ID: string }> {
    if (typeof spec !== 'object' || spec === null || typeof spec.Name !== 'string') {
      throw invalidArgument('a network needs a Name');
    }
    const res = await withAllocationLock(this.store, () =>
      this.store.update((tx) => createNetwork(tx, spec).ID),
    );
    return { ID: unwrap(res) };
  }

  listNetworks(): Network[] {
    return this.store.view((tx) => tx.networks.find({ by: 'all' }));
  }

  getNetwork(ref: string): Network {
    return this.store.view((tx) => resolveNetwork(tx, ref));
  }

  async removeNetwork(ref: string): Promise<void> {
    const res = await this.store.update((tx) => {
      removeNetwork(tx, resolveNetwork(tx, ref));
    });
    unwrap(res);
  }

  // ---- tasks ------------------------------------------------------------------------------

  listTasks(filter: TaskFilter = {}): Task[] {
    return this.store.view((tx) => {
      let tasks = tx.tasks.find({ by: 'all' });
      if (filter.service !== undefined) {
        const s = resolve(tx, 'services', filter.service, 'service');
        tasks = tasks.filter((t) => t.ServiceID === s.ID);
      }
      if (filter.node !== undefined) {
        const n = resolveNode(tx, filter.node);
        tasks = tasks.filter((t) => t.NodeID === n.ID);
      }
      if (filter.desiredState !== undefined) {
        const want = filter.desiredState;
        tasks = tasks.filter((t) =>
          want === 'running'
            ? t.DesiredState === 'running' || t.DesiredState === 'ready'
            : t.DesiredState === want,
        );
      }
      return tasks;
    });
  }

  getTask(ref: string): Task {
    return this.store.view((tx) => resolve(tx, 'tasks', ref, 'task'));
  }

  // ---- nodes ------------------------------------------------------------------------------

  listNodes(): Node[] {
    return this.store.view((tx) => tx.nodes.find({ by: 'all' }));
  }

  getNode(ref: string): Node {
    return this.store.view((tx) => resolveNode(tx, ref));
  }

  async updateNode(ref: string, version: number, spec: NodeSpec): Promise<void> {
    const errors = validateNodeSpec(spec);
    if (errors.length > 0) throw specErrorsToError('node', errors);
    const res = await this.store.update((tx) => {
      const n = resolveNode(tx, ref);
      if (n.Version.Index !== version) throw outOfSequence();
      if (spec.Role === 'worker' && n.Spec.Role === 'manager') {
        const managers = tx.nodes.find({ by: 'all' }).filter((x) => x.Spec.Role === 'manager');
        if (managers.length <= 1) {
          throw new TsswarmError(
            ErrorCode.InUse,
            `rpc error: attempting to demote the last manager of the swarm (node ${n.ID})`,
          );
        }
      }
      tx.nodes.update({ ...n, Spec: spec });
    });
    unwrap(res);
  }

  async removeNode(ref: string, force: boolean, selfId: string): Promise<void> {
    const res = await this.store.update((tx) => {
      const n = resolveNode(tx, ref);
      if (n.ID === selfId || n.Spec.Role === 'manager') {
        throw new TsswarmError(
          ErrorCode.InUse,
          `rpc error: node ${n.ID} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`,
        );
      }
      if (!force && n.Status.State !== 'down') {
        throw new TsswarmError(
          ErrorCode.InUse,
          `node ${n.ID} is not down and can't be removed (use --force)`,
        );
      }
      tx.nodes.delete(n.ID);
    });
    unwrap(res);
  }

  // ---- cluster ----------------------------------------------------------------------------

  getCluster(): Cluster {
    const c = this.store.view((tx) => tx.clusters.find({ by: 'all' })[0]);
    if (!c) throw notFound('this node is not a swarm manager');
    return c;
  }

  async updateCluster(
    version: number,
    spec: ClusterSpec,
    rotate: { worker?: boolean; manager?: boolean } = {},
  ): Promise<void> {
    const errors = validateClusterSpec(spec);
    if (errors.length > 0) throw specErrorsToError('cluster', errors);
    const res = await this.store.update((tx) => {
      const c = tx.clusters.find({ by: 'all' })[0];
      if (!c) throw notFound('this node is not a swarm manager');
      if (c.Version.Index !== version) throw outOfSequence();
      const JoinTokens = { ...c.JoinTokens };
      if (rotate.worker) JoinTokens.Worker = rotateJoinToken(JoinTokens.Worker);
      if (rotate.manager) JoinTokens.Manager = rotateJoinToken(JoinTokens.Manager);
      tx.clusters.update({ ...c, Spec: spec, JoinTokens });
    });
    unwrap(res);
  }
}

function checkServiceSpec(spec: ServiceSpec): void {
  const errors = validateServiceSpec(spec);
  if (errors.length > 0) throw specErrorsToError('service', errors);
}

function outOfSequence(): TsswarmError {
  return new TsswarmError(ErrorCode.OutOfSequence, 'update out of sequence');
}

function unwrap<R>(res: UpdateResult<R>): R {
  if (!res.ok) throw fromWire(res.error);
  return res.value;
}

function resolve<K extends 'services' | 'tasks'>(
  tx: ReadTx,
  table: K,
  ref: string,
  what: string,
): K extends 'services' ? Service : Task {
  return resolveRef(
    tx[table] as unknown as RefIndex<K extends 'services' ? Service : Task>,
    ref,
    what,
  );
}

function resolveNode(tx: ReadTx, ref: string): Node {
  return resolveRef(tx.nodes, ref, 'node');
}

export type { WriteTx };
