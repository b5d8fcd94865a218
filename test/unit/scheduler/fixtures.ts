import type { Node, Service, ServiceSpec, Task, TaskState } from '../../../src/api/index.js';

export const T0 = '2026-01-01T00:00:00.000Z';

export function makeNode(
  id: string,
  over: Partial<{
    hostname: string;
    role: 'worker' | 'manager';
    availability: 'active' | 'pause' | 'drain';
    state: 'ready' | 'down' | 'unknown' | 'disconnected';
    labels: Record<string, string>;
    engineLabels: Record<string, string>;
    nanoCpus: number;
    memoryBytes: number;
  }> = {},
): Node {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: T0,
    UpdatedAt: T0,
    Spec: {
      Labels: over.labels ?? {},
      Role: over.role ?? 'worker',
      Availability: over.availability ?? 'active',
    },
    Description: {
      Hostname: over.hostname ?? `host-${id}`,
      Platform: { OS: 'linux', Architecture: 'x86_64' },
      Resources: { NanoCPUs: over.nanoCpus ?? 4e9, MemoryBytes: over.memoryBytes ?? 8 * 2 ** 30 },
      Engine: { Labels: over.engineLabels ?? {} },
    },
    Status: { State: over.state ?? 'ready', Addr: '127.0.0.1' },
  };
}

export function makeSpec(name: string, over: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    Name: name,
    TaskTemplate: { ContainerSpec: { Image: 'busybox:latest' } },
    Mode: { Replicated: { Replicas: 1 } },
    ...over,
  };
}

export function makeService(id: string, spec: ServiceSpec, version = 1): Service {
  return { ID: id, Version: { Index: version }, CreatedAt: T0, UpdatedAt: T0, Spec: spec };
}

export function makeTask(
  id: string,
  service: Service,
  over: Partial<{
    slot: number;
    nodeId: string;
    state: TaskState;
    desired: Task['DesiredState'];
    timestamp: string;
    exitCode: number;
  }> = {},
): Task {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: T0,
    UpdatedAt: T0,
    Spec: service.Spec.TaskTemplate,
    ServiceID: service.ID,
    Slot: over.slot ?? 1,
    NodeID: over.nodeId ?? '',
    Status: {
      Timestamp: over.timestamp ?? T0,
      State: over.state ?? 'running',
      Message: '',
      ...(over.exitCode === undefined ? {} : { ContainerStatus: { ExitCode: over.exitCode } }),
    },
    DesiredState: over.desired ?? 'running',
    SpecVersion: { Index: service.Version.Index },
  };
}
