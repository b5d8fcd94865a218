import { describe, expect, it } from 'vitest';
import {
  defaultClusterSpec,
  specErrorsToError,
  validateClusterSpec,
  validateConfigSpec,
  validateNetworkSpec,
  validateNodeSpec,
  validateSecretSpec,
  validateServiceSpec,
  type ServiceSpec,
} from '../../../src/api/index.js';

const ok: ServiceSpec = {
  Name: 'web',
  TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Command: ['sh'] } },
  Mode: { Replicated: { Replicas: 3 } },
};

const fields = (s: ServiceSpec) => validateServiceSpec(s).map((e) => e.field);

describe('service spec validation', () => {
  it('accepts a plain spec', () => {
    expect(validateServiceSpec(ok)).toEqual([]);
  });

  it('names replicas on a global service', () => {
    const errs = validateServiceSpec({ ...ok, Mode: { Global: {}, Replicated: { Replicas: 2 } } });
    expect(errs).toEqual([
      { field: 'Mode.Replicated.Replicas', message: 'replicas on a global service' },
    ]);
  });

  it('names a bad constraint with its index and expression', () => {
    const errs = validateServiceSpec({
      ...ok,
      TaskTemplate: {
        ...ok.TaskTemplate,
        Placement: { Constraints: ['node.role==manager', 'zone'] },
      },
    });
    expect(errs).toHaveLength(1);
    expect(errs[0]?.field).toBe('TaskTemplate.Placement.Constraints[1]');
    expect(errs[0]?.message).toMatch(/^invalid constraint expression: "zone"/);
  });

  it('names every bad field at once', () => {
    const bad: ServiceSpec = {
      Name: '-web',
      TaskTemplate: {
        ContainerSpec: {
          Image: '',
          Mounts: [{ Type: 'bind', Target: 'data' }],
          Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 5 }],
        },
        Resources: { Limits: { MemoryBytes: 64 << 20 }, Reservations: { MemoryBytes: 128 << 20 } },
        RestartPolicy: { Condition: 'sometimes' as 'any', Delay: -1 },
      },
      Mode: { Replicated: { Replicas: -1 } },
      UpdateConfig: { MaxFailureRatio: 2 },
      EndpointSpec: {
        Mode: 'dnsrr',
        Ports: [
          { TargetPort: 80, PublishedPort: 8080 },
          { TargetPort: 70000, PublishedPort: 8080, PublishMode: 'host' },
        ],
      },
    };
    expect(fields(bad)).toEqual([
      'Name',
      'Mode.Replicated.Replicas',
      'TaskTemplate.ContainerSpec.Image',
      'TaskTemplate.ContainerSpec.Mounts[0].Target',
      'TaskTemplate.ContainerSpec.Mounts[0].Source',
      'TaskTemplate.ContainerSpec.Ulimits[0]',
      'TaskTemplate.Resources.Reservations.MemoryBytes',
      'TaskTemplate.RestartPolicy.Condition',
      'TaskTemplate.RestartPolicy.Delay',
      'UpdateConfig.MaxFailureRatio',
      'EndpointSpec.Ports[0].PublishMode',
      'EndpointSpec.Ports[1].TargetPort',
      'EndpointSpec.Ports[1].PublishedPort',
    ]);
    const err = specErrorsToError('service', validateServiceSpec(bad));
    expect(err.code).toBe('TSS_INVALID_ARGUMENT');
    expect(err.message).toContain(
      'Mode.Replicated.Replicas: must be a non-negative integer, got -1',
    );
  });

  it('refuses max replicas per node on a global service', () => {
    expect(
      fields({
        ...ok,
        Mode: { Global: {} },
        TaskTemplate: { ...ok.TaskTemplate, Placement: { MaxReplicas: 2 } },
      }),
    ).toEqual(['TaskTemplate.Placement.MaxReplicas']);
  });
});

describe('other specs', () => {
  it('validate and name their fields', () => {
    expect(validateClusterSpec(defaultClusterSpec())).toEqual([]);
    const c = defaultClusterSpec();
    c.Dispatcher.HeartbeatPeriod = 0;
    expect(validateClusterSpec(c).map((e) => e.field)).toEqual(['Dispatcher.HeartbeatPeriod']);
    expect(
      validateNodeSpec({ Labels: {}, Role: 'boss' as 'manager', Availability: 'active' }),
    ).toEqual([{ field: 'Role', message: 'must be one of worker, manager, got "boss"' }]);
    expect(
      validateNetworkSpec({ Name: 'net', IPAMOptions: { Configs: [{ Subnet: '10.0.0.0/33' }] } }),
    ).toEqual([{ field: 'IPAMOptions.Configs[0].Subnet', message: 'invalid subnet 10.0.0.0/33' }]);
    expect(validateSecretSpec({ Name: 's', Data: 'aGVsbG8=' })).toEqual([]);
    expect(validateSecretSpec({ Name: 's', Data: 'not base64!' }).map((e) => e.field)).toEqual([
      'Data',
    ]);
    expect(validateConfigSpec({ Name: 'c/d', Data: '' }).map((e) => e.field)).toEqual(['Name']);
  });
});
