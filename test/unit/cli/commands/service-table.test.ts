import { describe, expect, it } from 'vitest';
import type { Service } from '../../../../src/api/index.js';
import { serviceRows } from '../../../../src/cli/commands/service-table.js';

const svc = (over: Record<string, unknown>, mode: Record<string, unknown>) =>
  ({
    ID: 'abcdefghijklmnopqrstuvwxyz',
    Spec: { Name: 'web', Mode: mode, TaskTemplate: { ContainerSpec: { Image: 'busybox' } } },
    ServiceStatus: { RunningTasks: 2, DesiredTasks: 3, CompletedTasks: 0 },
    ...over,
  }) as unknown as Service;

describe('serviceRows (service ls and stack services)', () => {
  it("prints docker's columns: mode, replicas with the update under way, published ports", () => {
    const [row] = serviceRows([
      svc(
        {
          UpdateStatus: { State: 'updating' },
          Endpoint: { Ports: [{ PublishedPort: 8080, TargetPort: 80, Protocol: 'tcp' }] },
        },
        { Replicated: { Replicas: 3 } },
      ),
    ]);
    expect(row).toEqual({
      ID: 'abcdefghijkl',
      Name: 'web',
      Mode: 'replicated',
      Replicas: '2/3 (updating)',
      Image: 'busybox',
      Ports: '*:8080->80/tcp',
    });
  });

  it('jobs say how many completed out of how many; global modes read as docker spells them', () => {
    const done = { ServiceStatus: { RunningTasks: 0, DesiredTasks: 1, CompletedTasks: 4 } };
    expect(serviceRows([svc(done, { ReplicatedJob: { TotalCompletions: 5 } })])[0]).toMatchObject({
      Mode: 'replicated job',
      Replicas: '0/1 (4/5 completed)',
    });
    expect(serviceRows([svc(done, { GlobalJob: {} })])[0]).toMatchObject({
      Mode: 'global job',
      Replicas: '0/1 (4/5 completed)',
    });
    expect(serviceRows([svc({}, { Global: {} })])[0]).toMatchObject({
      Mode: 'global',
      Replicas: '2/3',
      Ports: '',
    });
  });
});
