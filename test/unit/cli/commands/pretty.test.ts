import { describe, expect, it } from 'vitest';
import type { Node, Service } from '../../../../src/api/index.js';
import { bytesSize, prettyNode, prettyService } from '../../../../src/cli/commands/pretty.js';

describe('inspect --pretty', () => {
  it('prints sizes as go-units BytesSize', () => {
    expect(bytesSize(64 * 1024 * 1024)).toBe('64MiB');
    expect(bytesSize(2_000_000_000)).toBe('1.863GiB');
  });

  it("lays a service out as docker's service inspect --pretty", () => {
    const s = {
      ID: 'svc1',
      Spec: {
        Name: 'web',
        Labels: { team: 'core' },
        Mode: { Replicated: { Replicas: 3 } },
        TaskTemplate: {
          ContainerSpec: {
            Image: 'busybox',
            Args: ['httpd', '-f'],
            Env: ['A=1'],
            Mounts: [{ Type: 'volume', Source: 'data', Target: '/data' }],
            Secrets: [{ SecretName: 'pw', SecretID: 'x', File: { Name: 'pw' } }],
          },
          Placement: { Constraints: ['node.role==manager'] },
          Resources: { Limits: { MemoryBytes: 64 * 1024 * 1024, NanoCPUs: 5e8 } },
          Networks: [{ Target: 'front' }],
        },
        UpdateConfig: { Parallelism: 2, Delay: 10e9, Order: 'start-first' },
        EndpointSpec: { Mode: 'vip' },
      },
      Endpoint: {
        Spec: {},
        Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }],
      },
    } as unknown as Service;
    expect(prettyService(s)).toBe(
      [
        '',
        'ID:\t\tsvc1',
        'Name:\t\tweb',
        'Labels:',
        ' team=core',
        'Service Mode:\tReplicated',
        ' Replicas:\t3',
        'Placement:',
        ' Constraints:\t[node.role==manager]',
        'UpdateConfig:',
        ' Parallelism:\t2',
        ' Delay:\t\t10s',
        ' On failure:\tpause',
        ' Monitoring Period: 5s',
        ' Max failure ratio: 0',
        ' Update order:      start-first',
        'ContainerSpec:',
        ' Image:\t\tbusybox',
        ' Args:\t\thttpd -f',
        ' Env:\t\tA=1',
        ' Init:\t\tfalse',
        'Mounts:',
        ' Target:\t/data',
        '  Source:\tdata',
        '  ReadOnly:\tfalse',
        '  Type:\t\tvolume',
        'Secrets:',
        ' Target:\tpw',
        '  Source:\tpw',
        'Resources:',
        ' Limits:',
        '  CPU:\t\t0.5',
        '  Memory:\t64MiB',
        'Networks: front ',
        'Endpoint Mode:\tvip',
        'Ports:',
        ' PublishedPort = 8080',
        '  Protocol = tcp',
        '  TargetPort = 80',
        '  PublishMode = ingress',
        '',
      ].join('\n'),
    );
  });

  it('lays a node out as docker node inspect --pretty', () => {
    const n = {
      ID: 'node1',
      CreatedAt: '2026-11-30T06:00:00.000Z',
      Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
      Description: {
        Hostname: 'h1',
        Platform: { OS: 'linux', Architecture: 'x86_64' },
        Resources: { NanoCPUs: 2e9, MemoryBytes: 2 * 1024 ** 3 },
        Engine: { EngineVersion: '0.1.0', Labels: { zone: 'a' } },
      },
      Status: { State: 'ready', Addr: '10.0.0.1' },
      ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '10.0.0.1:2377' },
    } as unknown as Node;
    const text = prettyNode(n);
    expect(text).toContain('ID:\t\t\tnode1\nHostname:\t\th1\n');
    expect(text).toContain('Status:\n State:\t\t\tReady\n Availability:\t\tActive\n');
    expect(text).toContain(' Raft Status:\t\tReachable\n Leader:\t\t\tYes\n');
    expect(text).toContain(' CPUs:\t\t\t2\n Memory:\t\t2GiB\n');
    expect(text).toContain('Engine Labels:\n - zone=a\n');
  });
});
