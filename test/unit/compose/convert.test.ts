import { describe, expect, it } from 'vitest';
import {
  convertStack,
  loadCompose,
  formatDiagnostic,
  type Stack,
} from '../../../src/compose/index.js';
import type { ServiceSpec } from '../../../src/api/index.js';
import { memoryHost } from './memory-host.js';

const dir = '/stacks/shop';

function convert(yaml: string, stack = 'shop') {
  const loaded = loadCompose({
    files: [`${dir}/compose.yml`],
    env: {},
    host: memoryHost({ [`${dir}/compose.yml`]: yaml }),
  });
  const errs = loaded.diagnostics.filter((d) => d.severity === 'error');
  if (errs.length > 0 || !loaded.config) throw new Error(errs.map(formatDiagnostic).join('\n'));
  return convertStack(
    stack,
    loaded.config,
    loaded.locations,
    loaded.diagnostics.filter((d) => d.severity === 'warning'),
  );
}

function stackOf(yaml: string): Stack {
  const r = convert(yaml);
  if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.stack;
}

const full = `
services:
  web:
    image: nginx:1.27
    entrypoint: [/docker-entrypoint.sh]
    command: nginx -g "daemon off;"
    environment: {B: "2", A: "1", UNSET_NULL: null}
    working_dir: /srv
    user: "101:101"
    hostname: web
    labels: {tier: front}
    init: true
    read_only: true
    stop_grace_period: 30s
    stop_signal: SIGQUIT
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    sysctls: {net.core.somaxconn: 1024}
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
    healthcheck: {test: [CMD, curl, -f, localhost], interval: 10s, timeout: 2s, retries: 3, start_period: 1m}
    ports: ["8080:80", {target: 443, published: 8443, mode: host}]
    networks: {front: {aliases: [www]}, default: null}
    volumes: [static:/usr/share/nginx/html:ro, {type: tmpfs, target: /tmp, tmpfs: {size: 1048576}}]
    secrets: [tls_key]
    configs: [{source: site, target: /etc/nginx/conf.d/site.conf, mode: 0440}]
    logging: {driver: json-file, options: {max-size: 10m}}
    depends_on:
      api: {condition: service_healthy}
    deploy:
      mode: replicated
      replicas: 3
      endpoint_mode: vip
      labels: [team=web]
      placement:
        constraints: [node.role==worker, node.labels.zone==east]
        preferences: [{spread: node.labels.rack}]
        max_replicas_per_node: 2
      resources:
        limits: {cpus: "0.5", memory: 256M, pids: 100}
        reservations: {cpus: "0.25", memory: 128M}
      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 2m}
      update_config: {parallelism: 2, delay: 10s, failure_action: rollback, monitor: 30s, max_failure_ratio: 0.1, order: start-first}
      rollback_config: {parallelism: 1, order: stop-first}
  api:
    image: api:2
    deploy: {mode: global}
    depends_on: [db]
  db:
    image: postgres:16
    deploy: {mode: replicated-job, replicas: 1}
networks:
  front: {driver: overlay, attachable: true, ipam: {config: [{subnet: 10.20.0.0/24}]}}
volumes:
  static:
secrets:
  tls_key: {file: ./tls.key}
configs:
  site: {external: true, name: site-v1}
`;

describe('convertStack', () => {
  const stack = stackOf(full);
  const web = stack.services.find((s) => s.Name === 'shop_web') as ServiceSpec;

  it('names services <stack>_<service> with the namespace label', () => {
    expect(stack.services.map((s) => s.Name)).toEqual(['shop_api', 'shop_db', 'shop_web']);
    expect(web.Labels).toEqual({ team: 'web', 'com.docker.stack.namespace': 'shop' });
  });

  it('converts a full-featured service into the expected ServiceSpec', () => {
    expect(web).toEqual({
      Name: 'shop_web',
      Labels: { team: 'web', 'com.docker.stack.namespace': 'shop' },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'nginx:1.27',
          Labels: { tier: 'front', 'com.docker.stack.namespace': 'shop' },
          Command: ['/docker-entrypoint.sh'],
          Args: ['nginx', '-g', 'daemon off;'],
          Hostname: 'web',
          Env: ['A=1', 'B=2'],
          Dir: '/srv',
          User: '101:101',
          ReadOnly: true,
          Init: true,
          StopSignal: 'SIGQUIT',
          StopGracePeriod: 30e9,
          Healthcheck: {
            Test: ['CMD', 'curl', '-f', 'localhost'],
            Interval: 10e9,
            Timeout: 2e9,
            Retries: 3,
            StartPeriod: 60e9,
          },
          Sysctls: { 'net.core.somaxconn': '1024' },
          CapabilityAdd: ['NET_ADMIN'],
          CapabilityDrop: ['ALL'],
          Ulimits: [
            { Name: 'nofile', Soft: 1024, Hard: 2048 },
            { Name: 'nproc', Soft: 512, Hard: 512 },
          ],
          Mounts: [
            {
              Type: 'volume',
              Source: 'shop_static',
              Target: '/usr/share/nginx/html',
              ReadOnly: true,
            },
            { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 1048576 } },
          ],
          Secrets: [
            {
              File: { Name: 'tls_key', UID: '0', GID: '0', Mode: 0o444 },
              SecretID: '',
              SecretName: 'shop_tls_key',
            },
          ],
          Configs: [
            {
              File: { Name: '/etc/nginx/conf.d/site.conf', UID: '0', GID: '0', Mode: 0o440 },
              ConfigID: '',
              ConfigName: 'site-v1',
            },
          ],
        },
        Resources: {
          Limits: { NanoCPUs: 5e8, MemoryBytes: 268435456, Pids: 100 },
          Reservations: { NanoCPUs: 2.5e8, MemoryBytes: 134217728 },
        },
        RestartPolicy: { Condition: 'on-failure', Delay: 5e9, MaxAttempts: 3, Window: 120e9 },
        Placement: {
          Constraints: ['node.role==worker', 'node.labels.zone==east'],
          Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.rack' } }],
          MaxReplicas: 2,
        },
        Networks: [
          { Target: 'shop_front', Aliases: ['web', 'www'] },
          { Target: 'shop_default', Aliases: ['web'] },
        ],
        LogDriver: { Name: 'json-file', Options: { 'max-size': '10m' } },
      },
      Mode: { Replicated: { Replicas: 3 } },
      UpdateConfig: {
        Parallelism: 2,
        Delay: 10e9,
        FailureAction: 'rollback',
        Monitor: 30e9,
        MaxFailureRatio: 0.1,
        Order: 'start-first',
      },
      RollbackConfig: { Parallelism: 1, Order: 'stop-first' },
      EndpointSpec: {
        Mode: 'vip',
        Ports: [
          { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
          { Protocol: 'tcp', TargetPort: 443, PublishedPort: 8443, PublishMode: 'host' },
        ],
      },
    });
  });

  it('maps every deploy mode', () => {
    const mode = (n: string) => stack.services.find((s) => s.Name === n)?.Mode;
    expect(mode('shop_api')).toEqual({ Global: {} });
    expect(mode('shop_db')).toEqual({ ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } });
  });

  it('creates <stack>_default and the declared networks, volumes, secrets and configs', () => {
    expect(
      stack.networks.map((n) => [n.key, n.spec.Name, n.spec.DriverConfiguration?.Name]),
    ).toEqual([
      ['default', 'shop_default', 'overlay'],
      ['front', 'shop_front', 'overlay'],
    ]);
    expect(stack.networks[1]?.spec.IPAMOptions).toEqual({ Configs: [{ Subnet: '10.20.0.0/24' }] });
    expect(stack.volumes).toEqual([
      {
        key: 'static',
        name: 'shop_static',
        external: false,
        labels: { 'com.docker.stack.namespace': 'shop' },
      },
    ]);
    expect(stack.secrets).toEqual([
      {
        key: 'tls_key',
        name: 'shop_tls_key',
        external: false,
        labels: { 'com.docker.stack.namespace': 'shop' },
        source: { file: `${dir}/tls.key` },
      },
    ]);
    expect(stack.configs).toEqual([{ key: 'site', name: 'site-v1', external: true }]);
  });

  it('gives the depends_on graph from short and long syntax', () => {
    expect(stack.dependsOn).toEqual([
      {
        service: 'api',
        dependsOn: 'db',
        condition: 'service_started',
        required: true,
        restart: false,
      },
      {
        service: 'web',
        dependsOn: 'api',
        condition: 'service_healthy',
        required: true,
        restart: false,
      },
    ]);
  });
});

describe('convertStack refuses what the cluster cannot honour', () => {
  const refuse = (yaml: string): string[] => {
    const r = convert(yaml);
    return r.ok ? [] : r.diagnostics.map(formatDiagnostic);
  };
  it('a service with no image', () => {
    expect(refuse('services:\n  web:\n    build: .\n')).toEqual([
      `${dir}/compose.yml:2:3 services.web: no image specified`,
    ]);
  });
  it('keys outside what a swarm service has', () => {
    expect(refuse('services:\n  web:\n    image: a\n    pull_policy: always\n')).toEqual([
      `${dir}/compose.yml:4:5 services.web.pull_policy: pull_policy is not supported by tsswarm services`,
    ]);
  });
  it('fixed addresses, host IPs, generic resources and undefined references', () => {
    const msgs = refuse(`
services:
  web:
    image: a
    networks: {back: {ipv4_address: 10.0.0.5}, nowhere: null}
    ports: [{target: 80, published: 80, host_ip: 127.0.0.1}]
    secrets: [missing]
    deploy:
      replicas: 2
      mode: global
      resources: {reservations: {generic_resources: [{discrete_resource_spec: {kind: gpu, value: 1}}]}}
networks:
  back:
`);
    expect(msgs.map((m) => m.replace(/^.*?:\d+:\d+ /, ''))).toEqual([
      'services.web.secrets.0: service uses undefined secret "missing": declare it under the top-level secrets',
      'services.web.networks.back.ipv4_address: ipv4_address is not supported on swarm networks (the allocator assigns addresses)',
      'services.web.networks.nowhere: service uses undefined network "nowhere": declare it under the top-level networks',
      'services.web.deploy.resources.reservations.generic_resources: generic_resources are not supported by tsswarm yet',
      'services.web.deploy.replicas: replicas cannot be set on a global service',
      'services.web.ports.0.host_ip: a swarm publishes ports on every address; host_ip cannot be honoured',
    ]);
  });
  it('a bad placement constraint', () => {
    const msgs = refuse(
      'services:\n  web:\n    image: a\n    deploy: {placement: {constraints: [node.role]}}\n',
    );
    expect(msgs[0]).toMatch(/services\.web\.deploy\.placement\.constraints\.0: /);
  });
  it('a non-overlay network driver', () => {
    expect(refuse('services:\n  web: {image: a}\nnetworks:\n  n: {driver: bridge}\n')[0]).toMatch(
      /networks\.n\.driver: network driver "bridge" is not supported/,
    );
  });
});
