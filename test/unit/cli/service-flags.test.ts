import { describe, expect, it } from 'vitest';
import {
  applyHealthFlags,
  applyUpdateConfigFlags,
  checkConstraints,
  checkEndpointMode,
  checkMode,
  configReference,
  fileTarget,
  keyValues,
  placementPreferences,
  replicaCount,
  resourceLimits,
  resourceReservations,
  restartPolicy,
  secretReference,
} from '../../../src/cli/commands/service-flags.js';
import type { ServiceSpec } from '../../../src/api/index.js';

const bad = (value: string, flag: string, why: string) =>
  `invalid argument "${value}" for "--${flag}" flag: ${why}`;

describe('service create/update flags', () => {
  it('K=V lists: a bare key has an empty value, an empty key is refused by flag name', () => {
    expect(keyValues(['a=1', 'b', 'c=d=e'], 'label')).toEqual({ a: '1', b: '', c: 'd=e' });
    expect(() => keyValues(['=x'], 'label-add')).toThrow(bad('=x', 'label-add', 'empty key'));
  });

  it('resources: only what the flags set, in docker units', () => {
    expect(resourceLimits({ limitCpu: '1.5', limitMemory: '1g', limitPids: '100' })).toEqual({
      NanoCPUs: 1_500_000_000,
      MemoryBytes: 1024 ** 3,
      Pids: 100,
    });
    expect(resourceReservations({ reserveCpu: '0.25' })).toEqual({ NanoCPUs: 250_000_000 });
    expect(resourceLimits({})).toEqual({});
    expect(() => resourceLimits({ limitCpu: '-1' })).toThrow(
      bad('-1', 'limit-cpu', 'not a number of CPUs'),
    );
    expect(() => resourceReservations({ reserveMemory: 'lots' })).toThrow(
      bad('lots', 'reserve-memory', 'not a size (e.g. 512m, 1g)'),
    );
    expect(() => resourceLimits({ limitPids: '1.5' })).toThrow(
      bad('1.5', 'limit-pids', 'not a non-negative integer'),
    );
  });

  it('restart policy', () => {
    expect(
      restartPolicy({ restartCondition: 'on-failure', restartDelay: '5s', restartWindow: '1m' }),
    ).toEqual({ Condition: 'on-failure', Delay: 5e9, Window: 60e9 });
    expect(() => restartPolicy({ restartCondition: 'sometimes' })).toThrow(
      bad('sometimes', 'restart-condition', 'use none, on-failure or any'),
    );
    expect(() => restartPolicy({ restartDelay: 'soon' })).toThrow(
      bad('soon', 'restart-delay', 'not a duration (e.g. 5s, 1m30s)'),
    );
  });

  it('placement, mode and replicas', () => {
    expect(() => checkConstraints(['node.role==manager'], 'constraint')).not.toThrow();
    expect(() => checkConstraints(['bogus'], 'constraint-add')).toThrow(
      /^invalid argument "bogus" for "--constraint-add" flag: /,
    );
    expect(placementPreferences(['spread=node.labels.zone'])).toEqual([
      { Spread: { SpreadDescriptor: 'node.labels.zone' } },
    ]);
    expect(() => placementPreferences(['spread=x'])).toThrow(
      bad(
        'spread=x',
        'placement-pref',
        'expected spread=node.labels.<label> (or engine.labels.<label>)',
      ),
    );
    expect(() => checkMode('bogus')).toThrow(bad('bogus', 'mode', 'use replicated or global'));
    expect(replicaCount('3', true)).toBe(3);
    expect(replicaCount(undefined, false)).toBeUndefined();
    expect(() => replicaCount('2', false)).toThrow(
      'replicas can only be used with replicated or replicated-job mode',
    );
    expect(() => checkEndpointMode('x')).toThrow(bad('x', 'endpoint-mode', 'use vip or dnsrr'));
  });

  it('secrets and configs by name, for the manager to resolve', () => {
    expect(secretReference(...fileTarget('--secret', 'source=s,target=t,mode=0400'))).toEqual({
      File: { Name: 't', UID: '0', GID: '0', Mode: 0o400 },
      SecretID: '',
      SecretName: 's',
    });
    expect(configReference(...fileTarget('--config', 'c'))).toEqual({
      File: { Name: 'c', UID: '0', GID: '0', Mode: 0o444 },
      ConfigID: '',
      ConfigName: 'c',
    });
  });

  it('health and update/rollback config', () => {
    expect(applyHealthFlags(undefined, { healthcheck: false })).toEqual({ Test: ['NONE'] });
    expect(() => applyHealthFlags(undefined, { healthInterval: '1us' })).toThrow(
      bad('1us', 'health-interval', 'must be 0 or at least 1ms'),
    );
    const spec = { Name: 'web' } as ServiceSpec;
    expect(applyUpdateConfigFlags(spec, { updateParallelism: '2' }).UpdateConfig).toEqual({
      Parallelism: 2,
    });
    expect(() => applyUpdateConfigFlags(spec, { updateOrder: 'sideways' })).toThrow(
      bad('sideways', 'update-order', 'use start-first or stop-first'),
    );
    expect(() => applyUpdateConfigFlags(spec, { rollbackFailureAction: 'rollback' })).toThrow(
      bad('rollback', 'rollback-failure-action', 'use pause, continue'),
    );
  });
});
