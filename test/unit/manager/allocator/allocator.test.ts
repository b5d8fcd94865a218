import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  defaultClusterSpec,
  type Node,
  type ServiceSpec,
  type Task,
} from '../../../../src/api/index.js';
import { AddressBook, taskAttachments } from '../../../../src/manager/allocator/index.js';
import { ControlApi } from '../../../../src/manager/controlapi/index.js';
import { LeaderLoops } from '../../../../src/manager/leader-loops.js';
import {
  InMemoryProposer,
  MemoryStore,
  type NewObject,
} from '../../../../src/manager/store/index.js';
import { until } from '../../../helpers/until.js';

function node(id: string): NewObject<Node> {
  return {
    ID: id,
    Spec: { Labels: {}, Role: 'worker', Availability: 'active' },
    Description: {
      Hostname: id,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 4e9, MemoryBytes: 8e9 },
      Engine: { Labels: {} },
    },
    Status: { State: 'ready', Addr: '127.0.0.1' },
  };
}

async function cluster(): Promise<{ store: MemoryStore; api: ControlApi }> {
  const store = new MemoryStore();
  store.setProposer(new InMemoryProposer(store));
  await store.update((tx) => {
    tx.clusters.create({
      ID: 'c1',
      Spec: defaultClusterSpec(),
      RootRotationInProgress: false,
      DefaultAddrPool: ['10.0.0.0/8'],
      SubnetSize: 24,
      DataPathPort: 4789,
      JoinTokens: { Worker: '', Manager: '' },
    });
    tx.nodes.create(node('n1'));
  });
  return { store, api: new ControlApi(store) };
}

const spec = (
  name: string,
  extra: Partial<ServiceSpec> = {},
  networks: string[] = [],
): ServiceSpec => ({
  Name: name,
  TaskTemplate: {
    ContainerSpec: { Image: 'busybox' },
    ...(networks.length > 0 ? { Networks: networks.map((Target) => ({ Target })) } : {}),
  },
  Mode: { Replicated: { Replicas: 3 } },
  ...extra,
});

const soon = { timeoutMs: 2_000, intervalMs: 2 };

describe('network allocation in the control API', () => {
  it('allocates subnets from the default pool, refuses overlaps and names what clashes', async () => {
    const { api, store } = await cluster();
    const a = await api.createNetwork({ Name: 'front', Labels: {} });
    const b = await api.createNetwork({ Name: 'back', Labels: {} });
    expect(api.getNetwork('front').IPAMOptions?.Configs).toEqual([
      { Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' },
    ]);
    expect(api.getNetwork(b.ID).IPAMOptions?.Configs[0]?.Subnet).toBe('10.0.1.0/24');
    const vnis = [a.ID, b.ID].map(
      (id) =>
        api.getNetwork(id).DriverState?.Options?.['com.docker.network.driver.overlay.vxlanid_list'],
    );
    expect(vnis).toEqual(['4097', '4098']);
    const before = store.index;
    await expect(
      api.createNetwork({ Name: 'x', IPAMOptions: { Configs: [{ Subnet: '10.0.1.128/25' }] } }),
    ).rejects.toThrow(/10.0.1.128\/25 overlaps network back \(10.0.1.0\/24\)/);
    await expect(api.createNetwork({ Name: 'front' })).rejects.toThrow(
      'network with name front already exists',
    );
    await expect(
      api.createNetwork({
        Name: 'y',
        IPAMOptions: { Configs: [{ Subnet: '10.9.0.0/24', Gateway: '10.8.0.1' }] },
      }),
    ).rejects.toThrow('gateway 10.8.0.1 is not a host address of subnet 10.9.0.0/24');
    await expect(api.createNetwork({ Name: 'bad name' })).rejects.toThrow(/invalid network name/);
    await expect(
      api.createNetwork({ Name: 'z', DriverConfiguration: { Name: 'bridge' } }),
    ).rejects.toThrow('network driver bridge is not supported in a swarm: use overlay');
    expect(store.index).toBe(before);
    const c = await api.createNetwork({
      Name: 'custom',
      IPAMOptions: { Configs: [{ Subnet: '192.168.50.0/24', Gateway: '192.168.50.254' }] },
    });
    expect(api.getNetwork(c.ID).IPAMOptions?.Configs[0]).toEqual({
      Subnet: '192.168.50.0/24',
      Gateway: '192.168.50.254',
    });
  });

  it('resolves service networks to ids, gives VIPs, refuses unknown networks and busy ports', async () => {
    const { api, store } = await cluster();
    const net = await api.createNetwork({ Name: 'front' });
    await expect(api.createService(spec('web', {}, ['nope']))).rejects.toThrow(
      'network nope not found',
    );
    const web = await api.createService(
      spec('web', { EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] } }, [
        'front',
      ]),
    );
    const s = api.getService(web.ID);
    expect(s.Spec.TaskTemplate.Networks).toEqual([{ Target: net.ID }]);
    const ingress = api.getNetwork('ingress');
    expect(ingress.Spec.Ingress).toBe(true);
    expect(s.Endpoint?.VirtualIPs).toEqual([
      { NetworkID: net.ID, Addr: '10.0.0.2/24' },
      { NetworkID: ingress.ID, Addr: '10.0.1.2/24' },
    ]);
    expect(s.Endpoint?.Ports).toEqual([
      { TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp', PublishMode: 'ingress' },
    ]);
    const before = store.index;
    await expect(
      api.createService(
        spec('other', { EndpointSpec: { Ports: [{ TargetPort: 81, PublishedPort: 8080 }] } }),
      ),
    ).rejects.toThrow("port '8080' is already in use by service 'web'");
    expect(store.index).toBe(before);
    const dyn = await api.createService(
      spec('dyn', { EndpointSpec: { Ports: [{ TargetPort: 80 }] } }),
    );
    expect(api.getService(dyn.ID).Endpoint?.Ports?.[0]?.PublishedPort).toBe(30000);

    await expect(api.removeNetwork('front')).rejects.toThrow(
      'network front is in use by service web',
    );
    await api.removeService('web');
    await api.removeNetwork('front');
    expect(() => api.getNetwork('front')).toThrow('network front not found');
  });

  it('gives concurrent service creates distinct VIPs (allocations are serialised)', async () => {
    const { api } = await cluster();
    await api.createNetwork({ Name: 'front' });
    const ids = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((n) => api.createService(spec(n, {}, ['front']))),
    );
    const vips = ids.map((x) => api.getService(x.ID).Endpoint?.VirtualIPs?.[0]?.Addr);
    expect(new Set(vips).size).toBe(5);
    const nets = await Promise.all(['n1', 'n2', 'n3'].map((n) => api.createNetwork({ Name: n })));
    const subnets = nets.map((x) => api.getNetwork(x.ID).IPAMOptions?.Configs[0]?.Subnet);
    expect(new Set(subnets).size).toBe(3);
  });

  it('gives every new task one address per network before the scheduler places it', async () => {
    const { api, store } = await cluster();
    await api.createNetwork({ Name: 'front' });
    await api.createService(spec('web', {}, ['front']));
    const loops = new LeaderLoops({ store, logger: pino({ enabled: false }) });
    loops.start();
    try {
      const tasks = (): Task[] => store.view((tx) => tx.tasks.find({ by: 'all' }));
      await until(
        () => tasks().length === 3 && tasks().every((t) => t.Status.State === 'assigned'),
        { ...soon, what: '3 tasks assigned' },
      );
      const addrs = tasks().map((t) => t.NetworksAttachments?.[0]?.Addresses[0]);
      expect(addrs.sort()).toEqual(['10.0.0.3/24', '10.0.0.4/24', '10.0.0.5/24']);
      expect(tasks().every((t) => t.NetworksAttachments?.[0]?.Network.Spec.Name === 'front')).toBe(
        true,
      );
    } finally {
      loops.stop();
      await loops.settled();
    }
  });
});

describe('task addresses (property)', () => {
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  it('never gives one address to two live tasks or a task and a VIP, across creates, exits and deletes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('create' as const), n: fc.integer({ min: 1, max: 6 }) }),
            fc.record({ op: fc.constant('exit' as const), i: fc.nat() }),
            fc.record({ op: fc.constant('delete' as const), i: fc.nat() }),
          ),
          { maxLength: 30 },
        ),
        async (ops) => {
          const { api, store } = await cluster();
          await api.createNetwork({
            Name: 'n',
            IPAMOptions: { Configs: [{ Subnet: '10.5.0.0/27' }] },
          });
          const svc = await api.createService(spec('web', {}, ['n']));
          let seq = 0;
          for (const o of ops) {
            await store.update((tx) => {
              const live = tx.tasks.find({ by: 'all' });
              if (o.op === 'create') {
                const book = new AddressBook(tx);
                const service = tx.services.get(svc.ID)!;
                for (let k = 0; k < o.n; k++) {
                  let attachments;
                  try {
                    attachments = taskAttachments(book, service);
                  } catch {
                    return; // subnet full: nothing created
                  }
                  tx.tasks.create({
                    ID: `t${seq++}`,
                    ServiceID: svc.ID,
                    Slot: seq,
                    NodeID: 'n1',
                    Spec: service.Spec.TaskTemplate,
                    Status: { Timestamp: tx.now, State: 'running', Message: '' },
                    DesiredState: 'running',
                    NetworksAttachments: attachments,
                  });
                }
              } else if (live.length > 0) {
                const t = live[o.i % live.length]!;
                if (o.op === 'delete') tx.tasks.delete(t.ID);
                else tx.tasks.update({ ...t, Status: { ...t.Status, State: 'failed' } });
              }
            });
            const held = store.view((tx) => [
              ...tx.services
                .find({ by: 'all' })
                .flatMap((s) => (s.Endpoint?.VirtualIPs ?? []).map((v) => v.Addr)),
              ...tx.tasks
                .find({ by: 'all' })
                .filter((t) => t.Status.State === 'running')
                .flatMap((t) => t.NetworksAttachments?.[0]?.Addresses ?? []),
            ]);
            expect(new Set(held).size).toBe(held.length);
            expect(held.every((a) => /^10\.5\.0\.([2-9]|[12]\d|30)\/27$/.test(a))).toBe(true);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
