import { describe, expect, it } from 'vitest';
import { TsswarmError } from '../../../../src/api/errors.js';
import {
  defaultNatsServerConfig,
  natsPermissions,
  natsUserName,
  renderNatsConfig,
  subjects,
  type NatsServerConfig,
} from '../../../../src/manager/nats/index.js';

function config(overrides: Partial<NatsServerConfig> = {}): NatsServerConfig {
  return {
    ...defaultNatsServerConfig(),
    serverName: 'm1',
    clusterName: 'c1',
    routes: ['nats-route://10.0.0.2:6222', 'nats-route://[fd00::3]:6222'],
    tls: {
      certFile: '/d/node.crt',
      keyFile: '/d/node.key',
      caFile: '/d/ca.crt',
      handshakeTimeoutMs: 2000,
    },
    users: [
      { nodeId: 'm1', role: 'manager', clusterId: 'c1' },
      { nodeId: 'w1', role: 'worker', clusterId: 'c1' },
    ],
    pidFile: '/d/nats.pid',
    ...overrides,
  };
}

describe('nats-server config', () => {
  it('renders listeners, mutual TLS, routes and one user per node', () => {
    const text = renderNatsConfig(config());
    expect(text).toContain('server_name: "m1"');
    expect(text).toContain('listen: "0.0.0.0:4222"');
    expect(text).toContain('http: "127.0.0.1:8222"');
    expect(text).toContain('pid_file: "/d/nats.pid"');
    expect(text).toMatch(
      /^tls \{\n {2}cert_file: "\/d\/node.crt"\n {2}key_file: "\/d\/node.key"\n {2}ca_file: "\/d\/ca.crt"\n {2}verify_and_map: true\n {2}timeout: 2\n\}$/m,
    );
    expect(text).toMatch(
      /cluster \{\n {2}name: "c1"\n {2}listen: "0.0.0.0:6222"\n {2}tls \{[^}]*verify: true[^}]*\}\n {2}routes: \["nats-route:\/\/10.0.0.2:6222", "nats-route:\/\/\[fd00::3\]:6222"\]\n\}/,
    );
    expect(text).toContain(
      '{ user: "CN=m1,OU=swarm-manager,O=c1", permissions: { publish: { allow: [">"] }, subscribe: { allow: [">"] } } }',
    );
    expect(text).toContain(
      '{ user: "CN=w1,OU=swarm-worker,O=c1", permissions: { publish: { allow: ["tsswarm.dispatcher.w1.>"] }, ' +
        'subscribe: { allow: ["tsswarm.node.w1.>", "_INBOX.w1.>"] }, allow_responses: true } }',
    );
  });

  it('brackets IPv6 listeners', () => {
    const text = renderNatsConfig(
      config({ client: { host: '::', port: 4222 }, monitor: { host: '::1', port: 8222 } }),
    );
    expect(text).toContain('listen: "[::]:4222"');
    expect(text).toContain('http: "[::1]:8222"');
  });

  it('gives workers only their own subjects', () => {
    const w = natsPermissions({ nodeId: 'w7', role: 'worker', clusterId: 'c' });
    expect(w.publish.allow).toEqual([subjects.allFromNode('w7')]);
    expect(w.subscribe.allow).toEqual([subjects.allToNode('w7'), subjects.allInboxes('w7')]);
    expect(subjects.toNode('w7', 'assignments')).toBe('tsswarm.node.w7.assignments');
    expect(subjects.fromNode('w7', 'heartbeat')).toBe('tsswarm.dispatcher.w7.heartbeat');
    expect(natsUserName({ nodeId: 'w7', role: 'worker', clusterId: 'c' })).toBe(
      'CN=w7,OU=swarm-worker,O=c',
    );
    for (const bad of ['a.b', '*', '>', 'a b', ''])
      expect(() => subjects.toNode(bad, 'x')).toThrow(/subject token/);
  });

  it('refuses a bad config with a message naming the field, before writing anything', () => {
    const cases: [Partial<NatsServerConfig>, RegExp][] = [
      [{ serverName: 'm.1' }, /serverName "m\.1"/],
      [
        { routes: ['tls://10.0.0.1:6222'] },
        /routes\[0\] "tls:\/\/10.0.0.1:6222": expected nats-route:\/\/host:port/,
      ],
      [{ routes: ['nats-route://h:70000'] }, /routes\[0\]/],
      [{ monitor: { host: '0.0.0.0', port: 8222 } }, /monitor.host "0.0.0.0": must be a loopback/],
      [{ client: { host: 'localhost', port: 4222 } }, /client.host "localhost"/],
      [{ cluster: { host: '0.0.0.0', port: 4222 } }, /ports .*must differ/],
      [
        { tls: { certFile: 'rel.crt', keyFile: '/k', caFile: '/c', handshakeTimeoutMs: 2000 } },
        /tls.certFile "rel.crt"/,
      ],
      [
        { users: [{ nodeId: 'w1', role: 'worker', clusterId: 'c1' }] },
        /own node must be a manager user/,
      ],
      [
        { users: [{ nodeId: 'm1', role: 'manager', clusterId: 'other' }] },
        /users\[0\].clusterId "other"/,
      ],
      [
        {
          users: [
            { nodeId: 'm1', role: 'manager', clusterId: 'c1' },
            { nodeId: 'm1', role: 'manager', clusterId: 'c1' },
          ],
        },
        /users\[1\].nodeId "m1": appears twice as manager/,
      ],
      [{ maxPayloadBytes: 10 }, /maxPayloadBytes/],
    ];
    for (const [overrides, message] of cases) {
      let error: unknown;
      try {
        renderNatsConfig(config(overrides));
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(overrides)).toBeInstanceOf(TsswarmError);
      expect((error as Error).message).toMatch(/^nats config /);
      expect((error as Error).message).toMatch(message);
    }
  });
});
