import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  matchConstraint,
  parseConstraint,
  type Node,
  type Service,
  type Task,
  type TaskSpec,
} from '../../../src/api/index.js';
import { constraintSubject, schedule, type SchedulingPlan } from '../../../src/scheduler/index.js';
import { makeNode, makeService, makeSpec, makeTask } from './fixtures.js';

const GiB = 2 ** 30;

function pendingTasks(service: Service, count: number, prefix = service.ID): Task[] {
  return Array.from({ length: count }, (_, i) =>
    makeTask(`${prefix}-t${i + 1}`, service, { slot: i + 1, state: 'pending' }),
  );
}

function withTemplate(id: string, template: Partial<TaskSpec>): Service {
  return makeService(
    id,
    makeSpec(id, { TaskTemplate: { ContainerSpec: { Image: 'busybox' }, ...template } }),
  );
}

function perNode(plan: SchedulingPlan): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of plan.assignments) m.set(a.nodeId, (m.get(a.nodeId) ?? 0) + 1);
  return m;
}

describe('scheduler', () => {
  it('explains an unplaceable task the way swarm does', () => {
    const nodes = [
      makeNode('a', { memoryBytes: GiB }),
      makeNode('b', { memoryBytes: GiB }),
      makeNode('c', { memoryBytes: GiB }),
      makeNode('d', { memoryBytes: 64 * GiB, labels: { zone: 'west' } }),
      makeNode('e', { memoryBytes: 64 * GiB, labels: { zone: 'west' } }),
    ];
    const svc = withTemplate('db', {
      Resources: { Reservations: { MemoryBytes: 4 * GiB } },
      Placement: { Constraints: ['node.labels.zone!=west'] },
    });
    const plan = schedule({ nodes, tasks: [], pending: pendingTasks(svc, 1), seed: 1 });
    expect(plan.assignments).toEqual([]);
    expect(plan.unplaceable[0]?.reason).toBe(
      'no suitable node (insufficient memory on 3 nodes; scheduling constraints not satisfied on 2 nodes)',
    );
  });

  it('gives no new tasks to paused, drained or down nodes', () => {
    const nodes = [
      makeNode('p', { availability: 'pause' }),
      makeNode('d', { availability: 'drain' }),
      makeNode('x', { state: 'down' }),
      makeNode('ok'),
    ];
    const svc = withTemplate('web', {});
    const plan = schedule({ nodes, tasks: [], pending: pendingTasks(svc, 4), seed: 3 });
    expect(new Set(plan.assignments.map((a) => a.nodeId))).toEqual(new Set(['ok']));
    const none = schedule({
      nodes: nodes.slice(0, 3),
      tasks: [],
      pending: pendingTasks(svc, 1),
      seed: 3,
    });
    expect(none.unplaceable[0]?.reason).toBe(
      'no suitable node (2 nodes not available for new tasks (paused or drained); 1 node not ready)',
    );
  });

  it('keeps host-mode published ports and max replicas per node', () => {
    const nodes = [makeNode('a'), makeNode('b'), makeNode('c')];
    const svc = withTemplate('edge', { Placement: { MaxReplicas: 1 } });
    const tasks = pendingTasks(svc, 4).map((t) => ({
      ...t,
      Endpoint: {
        Spec: { Ports: [{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' as const }] },
      },
    }));
    const plan = schedule({ nodes, tasks: [], pending: tasks, seed: 9 });
    expect(plan.assignments).toHaveLength(3);
    expect(new Set(plan.assignments.map((a) => a.nodeId)).size).toBe(3);
    expect(plan.unplaceable[0]?.reason).toBe(
      'no suitable node (host-mode port already in use on 3 nodes)',
    );
  });

  it('spreads over the values of a placement preference', () => {
    const nodes = [
      makeNode('e1', { labels: { zone: 'east' } }),
      makeNode('e2', { labels: { zone: 'east' } }),
      makeNode('e3', { labels: { zone: 'east' } }),
      makeNode('w1', { labels: { zone: 'west' } }),
    ];
    const svc = withTemplate('web', {
      Placement: { Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }] },
    });
    const plan = schedule({ nodes, tasks: [], pending: pendingTasks(svc, 4), seed: 5 });
    const counts = perNode(plan);
    expect(counts.get('w1')).toBe(2);
    expect((counts.get('e1') ?? 0) + (counts.get('e2') ?? 0) + (counts.get('e3') ?? 0)).toBe(2);
  });

  it('prefers nodes with fewer tasks of the service, then fewer tasks overall', () => {
    const nodes = [makeNode('busy'), makeNode('idle')];
    const other = withTemplate('other', {});
    const existing = [
      makeTask('o1', other, { nodeId: 'busy' }),
      makeTask('o2', other, { nodeId: 'busy' }),
    ];
    const svc = withTemplate('web', {});
    const plan = schedule({ nodes, tasks: existing, pending: pendingTasks(svc, 3), seed: 1 });
    expect(perNode(plan).get('idle')).toBe(2);
  });

  it('only checks the named node for tasks that already carry one (global services)', () => {
    const nodes = [makeNode('a'), makeNode('b', { availability: 'drain' })];
    const svc = makeService('g', makeSpec('g', { Mode: { Global: {} } }));
    const pending = [
      makeTask('ga', svc, { slot: 0, nodeId: 'a', state: 'pending' }),
      makeTask('gb', svc, { slot: 0, nodeId: 'b', state: 'pending' }),
      makeTask('gz', svc, { slot: 0, nodeId: 'zz', state: 'pending' }),
    ];
    const plan = schedule({ nodes, tasks: pending, pending, seed: 1 });
    expect(plan.assignments).toEqual([{ taskId: 'ga', nodeId: 'a' }]);
    expect(plan.unplaceable.map((u) => u.taskId)).toEqual(['gb', 'gz']);
  });

  it('spreads evenly and deterministically where nothing else constrains (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (nodeCount, replicas, seed) => {
          const nodes = Array.from({ length: nodeCount }, (_, i) => makeNode(`n${i}`));
          const services = replicas.map((_, i) => withTemplate(`s${i}`, {}));
          const pending = services.flatMap((s, i) => pendingTasks(s, replicas[i] ?? 0));
          const plan = schedule({ nodes, tasks: [], pending, seed });
          expect(plan.unplaceable).toEqual([]);
          for (const s of services) {
            const counts = nodes.map(
              (n) =>
                plan.assignments.filter((a) => a.nodeId === n.ID && a.taskId.startsWith(`${s.ID}-`))
                  .length,
            );
            expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
          }
          expect(schedule({ nodes, tasks: [], pending, seed })).toEqual(plan);
        },
      ),
      { seed: 11, numRuns: 150 },
    );
  });

  it('never violates constraints, reservations or availability (property)', () => {
    const nodeArb = fc.record({
      zone: fc.constantFrom('a', 'b', undefined),
      role: fc.constantFrom('worker' as const, 'manager' as const),
      availability: fc.constantFrom(
        'active' as const,
        'active' as const,
        'pause' as const,
        'drain' as const,
      ),
      memGiB: fc.integer({ min: 1, max: 8 }),
      cpus: fc.integer({ min: 1, max: 4 }),
    });
    const svcArb = fc.record({
      constraint: fc.constantFrom(
        undefined,
        'node.labels.zone==a',
        'node.role!=manager',
        'node.labels.zone!=b',
      ),
      memGiB: fc.integer({ min: 0, max: 3 }),
      cpus: fc.integer({ min: 0, max: 2 }),
      replicas: fc.integer({ min: 0, max: 10 }),
    });
    fc.assert(
      fc.property(
        fc.array(nodeArb, { minLength: 1, maxLength: 8 }),
        fc.array(svcArb, { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (nodeSpecs, svcSpecs, seed) => {
          const nodes: Node[] = nodeSpecs.map((n, i) =>
            makeNode(`n${i}`, {
              role: n.role,
              availability: n.availability,
              labels: n.zone === undefined ? {} : { zone: n.zone },
              memoryBytes: n.memGiB * GiB,
              nanoCpus: n.cpus * 1e9,
            }),
          );
          const services = svcSpecs.map((s, i) =>
            withTemplate(`s${i}`, {
              Resources: { Reservations: { MemoryBytes: s.memGiB * GiB, NanoCPUs: s.cpus * 1e9 } },
              Placement: { Constraints: s.constraint === undefined ? [] : [s.constraint] },
            }),
          );
          const pending = services.flatMap((s, i) => pendingTasks(s, svcSpecs[i]?.replicas ?? 0));
          const plan = schedule({ nodes, tasks: [], pending, seed });
          expect(plan.assignments.length + plan.unplaceable.length).toBe(pending.length);
          const byId = new Map(pending.map((t) => [t.ID, t]));
          const used = new Map<string, { mem: number; cpu: number }>();
          for (const a of plan.assignments) {
            const node = nodes.find((n) => n.ID === a.nodeId) as Node;
            const task = byId.get(a.taskId) as Task;
            expect(node.Spec.Availability).toBe('active');
            for (const expr of task.Spec.Placement?.Constraints ?? []) {
              const c = parseConstraint(expr);
              expect(c.ok && matchConstraint(c.constraint, constraintSubject(node))).toBe(true);
            }
            const u = used.get(node.ID) ?? { mem: 0, cpu: 0 };
            u.mem += task.Spec.Resources?.Reservations?.MemoryBytes ?? 0;
            u.cpu += task.Spec.Resources?.Reservations?.NanoCPUs ?? 0;
            used.set(node.ID, u);
            expect(u.mem).toBeLessThanOrEqual(node.Description.Resources.MemoryBytes);
            expect(u.cpu).toBeLessThanOrEqual(node.Description.Resources.NanoCPUs);
          }
          for (const u of plan.unplaceable) expect(u.reason).toMatch(/^no suitable node/);
        },
      ),
      { seed: 12, numRuns: 200 },
    );
  });
});
