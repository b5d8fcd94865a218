import { describe, expect, it } from 'vitest';
import {
  loadCompose,
  formatDiagnostic,
  renderStackConfig,
  type Diagnostic,
} from '../../../src/compose/index.js';
import { memoryHost } from './memory-host.js';

const dir = '/stacks/app';

function load(files: Record<string, string>, env: Record<string, string> = {}, order?: string[]) {
  const abs: Record<string, string> = {};
  for (const [k, v] of Object.entries(files)) abs[`${dir}/${k}`] = v;
  const names = order ?? Object.keys(files).filter((f) => f.endsWith('.yml'));
  return loadCompose({
    files: names.map((f) => `${dir}/${f}`),
    env: { HOME: '/home/u', ...env },
    host: memoryHost(abs),
    cwd: dir,
  });
}

const errors = (ds: Diagnostic[]) => ds.filter((d) => d.severity === 'error');
const warnings = (ds: Diagnostic[]) => ds.filter((d) => d.severity === 'warning');

function service(r: ReturnType<typeof load>, name = 'web'): Record<string, unknown> {
  expect(errors(r.diagnostics)).toEqual([]);
  const services = r.config?.['services'] as Record<string, Record<string, unknown>>;
  return services[name] ?? {};
}

describe('loadCompose: YAML', () => {
  it('resolves anchors, aliases and merge keys, explicit keys winning', () => {
    const r = load({
      'compose.yml': `
x-base: &base
  image: nginx
  environment: {A: "1"}
services:
  web:
    <<: *base
    environment: {B: "2"}
`,
    });
    const web = service(r);
    expect(web['image']).toBe('nginx');
    expect(web['environment']).toEqual({ B: '2' });
    expect(r.config?.['x-base']).toBeDefined();
  });
  it('reads a leading-zero integer as octal, as go-yaml does', () => {
    const r = load({
      'compose.yml':
        'services:\n  web:\n    image: a\n    secrets:\n      - {source: s, mode: 0440}\nsecrets:\n  s: {file: ./s}\n',
    });
    expect(service(r)['secrets']).toEqual([{ source: 's', mode: 288 }]);
    const quoted = load({
      'compose.yml':
        'services:\n  web:\n    image: a\n    secrets:\n      - {source: s, mode: "0440"}\nsecrets:\n  s: {file: ./s}\n',
    });
    expect(service(quoted)['secrets']).toEqual([{ source: 's', mode: 288 }]);
  });
  it('reports a YAML syntax error with file, line and column', () => {
    const r = load({ 'compose.yml': 'services:\n  web:\n    image: [a\n' });
    const e = errors(r.diagnostics)[0];
    expect(e?.file).toBe(`${dir}/compose.yml`);
    expect(e?.line).toBeGreaterThan(0);
    expect(e?.message).toMatch(/invalid YAML/);
  });
});

describe('loadCompose: interpolation', () => {
  it('reads .env beside the first file; the process environment wins', () => {
    const r = load(
      {
        'compose.yml': 'services:\n  web:\n    image: "${IMG}:${TAG}"\n',
        '.env': 'IMG=fromdotenv\nTAG=1\n',
      },
      { TAG: '2' },
    );
    expect(service(r)['image']).toBe('fromdotenv:2');
  });
  it('names the missing required variable, the key path and its location', () => {
    const r = load({
      'compose.yml':
        'services:\n  web:\n    image: nginx\n    environment:\n      PW: ${PW:?set a password}\n',
    });
    const [e] = errors(r.diagnostics);
    expect(e && formatDiagnostic(e)).toBe(
      `${dir}/compose.yml:5:11 services.web.environment.PW: invalid interpolation: required variable PW is missing a value: set a password`,
    );
  });
  it('casts interpolated numbers and booleans, and rejects what does not cast', () => {
    const good = load(
      {
        'compose.yml':
          'services:\n  web:\n    image: a\n    read_only: $RO\n    deploy:\n      replicas: ${N}\n',
      },
      { N: '3', RO: 'true' },
    );
    expect(service(good)['read_only']).toBe(true);
    expect((service(good)['deploy'] as Record<string, unknown>)['replicas']).toBe(3);
    const bad = load({
      'compose.yml': 'services:\n  web:\n    image: a\n    deploy:\n      replicas: three\n',
    });
    expect(errors(bad.diagnostics).map(formatDiagnostic)).toEqual([
      `${dir}/compose.yml:5:17 services.web.deploy.replicas: must be an integer, got "three"`,
    ]);
  });
  it('leaves everything as written with skipInterpolation', () => {
    const r = loadCompose({
      files: [`${dir}/compose.yml`],
      env: { IMG: 'x' },
      skipInterpolation: true,
      host: memoryHost({ [`${dir}/compose.yml`]: 'services:\n  web:\n    image: ${IMG}\n' }),
    });
    expect(service(r)['image']).toBe('${IMG}');
  });
});

describe('loadCompose: env_file and environment', () => {
  it('merges env files under the service environment, filling bare keys from the environment', () => {
    const r = load(
      {
        'compose.yml':
          'services:\n  web:\n    image: a\n    env_file: [a.env, {path: missing.env, required: false}]\n    environment: [B=own, C]\n',
        'a.env': '# comment\nA=1\nB=from-file\nQUOTED="x y"\n',
      },
      { C: 'from-env' },
    );
    expect(service(r)['environment']).toEqual({ A: '1', B: 'own', QUOTED: 'x y', C: 'from-env' });
  });
  it('fails on a missing required env file, naming the entry', () => {
    const r = load({ 'compose.yml': 'services:\n  web:\n    image: a\n    env_file: nope.env\n' });
    expect(errors(r.diagnostics)[0]?.path).toBe('services.web.env_file.0');
  });
});

describe('loadCompose: normalisation', () => {
  const r = load({
    'compose.yml': `
services:
  web:
    image: a
    command: sh -c 'echo "hi there"'
    stop_grace_period: 90s
    healthcheck: {test: curl -f localhost, interval: 60s}
    ports: ["8080-8081:80-81/udp", "127.0.0.1:9000:9000", 3000]
    volumes: ["./data:/data:ro", "~/cfg:/cfg", "named:/var/lib", "/anon"]
    labels: [a=1, b]
    deploy:
      resources: {limits: {memory: 1.5G, cpus: 0.5}}
      update_config: {delay: 0s, monitor: 120s}
volumes:
  named:
`,
  });
  const web = service(r);
  it('splits commands and health tests', () => {
    expect(web['command']).toEqual(['sh', '-c', 'echo "hi there"']);
    expect((web['healthcheck'] as Record<string, unknown>)['test']).toEqual([
      'CMD-SHELL',
      'curl -f localhost',
    ]);
  });
  it('prints durations as Go does and drops zero update durations', () => {
    expect(web['stop_grace_period']).toBe('1m30s');
    expect((web['healthcheck'] as Record<string, unknown>)['interval']).toBe('1m0s');
    expect((web['deploy'] as Record<string, Record<string, unknown>>)['update_config']).toEqual({
      monitor: '2m0s',
    });
  });
  it('turns sizes into byte strings and cpus into strings', () => {
    const deploy = web['deploy'] as Record<string, Record<string, Record<string, unknown>>>;
    expect(deploy['resources']?.['limits']).toEqual({ memory: '1610612736', cpus: '0.5' });
  });
  it('expands port ranges and warns about a dropped host IP', () => {
    expect(web['ports']).toEqual([
      { mode: 'ingress', target: 80, published: 8080, protocol: 'udp' },
      { mode: 'ingress', target: 81, published: 8081, protocol: 'udp' },
      { mode: 'ingress', target: 9000, published: 9000, protocol: 'tcp' },
      { mode: 'ingress', target: 3000, protocol: 'tcp' },
    ]);
    expect(warnings(r.diagnostics).map((d) => d.message)).toContain(
      "ignoring IP-address (127.0.0.1:9000:9000/tcp) service will listen on '0.0.0.0'",
    );
  });
  it('turns short volumes into long syntax with absolute sources', () => {
    expect(web['volumes']).toEqual([
      { type: 'bind', source: `${dir}/data`, target: '/data', read_only: true },
      { type: 'bind', source: '/home/u/cfg', target: '/cfg' },
      { type: 'volume', source: 'named', target: '/var/lib' },
      { type: 'volume', target: '/anon' },
    ]);
  });
  it('turns label lists into maps', () => {
    expect(web['labels']).toEqual({ a: '1', b: '' });
  });
  it('prints in the docker stack config shape', () => {
    const text = renderStackConfig(r.config ?? {});
    expect(text.startsWith('version: "3.13"\nservices:\n  web:\n')).toBe(true);
  });
});

describe('loadCompose: merging several files', () => {
  it('follows the compose merge rules', () => {
    const r = load(
      {
        'base.yml': `
services:
  web:
    image: a:1
    command: [one]
    ports: ["80:80", "443:443"]
    volumes: ["/x:/data"]
    environment: {A: "1", B: "1"}
    dns: [1.1.1.1]
    deploy: {replicas: 1, labels: {a: "1"}}
`,
        'override.yml': `
services:
  web:
    image: a:2
    command: [two, args]
    ports: [{target: 443, published: 443, protocol: tcp, mode: host}]
    volumes: ["/y:/data"]
    environment: {B: "2"}
    dns: [8.8.8.8]
    deploy: {replicas: 3, labels: {b: "2"}}
  extra:
    image: b
`,
      },
      {},
      ['base.yml', 'override.yml'],
    );
    const web = service(r);
    expect(web['image']).toBe('a:2');
    expect(web['command']).toEqual(['two', 'args']);
    expect(web['ports']).toEqual([
      { mode: 'ingress', target: 80, published: 80, protocol: 'tcp' },
      { target: 443, published: 443, protocol: 'tcp', mode: 'host' },
    ]);
    expect(web['volumes']).toEqual([{ type: 'bind', source: '/y', target: '/data' }]);
    expect(web['environment']).toEqual({ A: '1', B: '2' });
    expect(web['dns']).toEqual(['1.1.1.1', '8.8.8.8']);
    expect(web['deploy']).toEqual({ replicas: 3, labels: { a: '1', b: '2' } });
    expect(service(r, 'extra')['image']).toBe('b');
  });
  it('names the file that holds a mistake', () => {
    const r = load(
      { 'a.yml': 'services:\n  web:\n    image: a\n', 'b.yml': 'services:\n  web:\n    imag: b\n' },
      {},
      ['a.yml', 'b.yml'],
    );
    expect(errors(r.diagnostics).map(formatDiagnostic)).toEqual([
      `${dir}/b.yml:3:5 services.web.imag: unknown key (not allowed here by the compose specification)`,
    ]);
  });
});

describe('loadCompose: what a swarm cannot honour', () => {
  it('warns about keys docker ignores, and goes on', () => {
    const r = load({
      'compose.yml':
        'services:\n  web:\n    image: a\n    build: .\n    container_name: web-1\n    links: [db]\n    network_mode: host\n',
    });
    expect(errors(r.diagnostics)).toEqual([]);
    expect(warnings(r.diagnostics).map(formatDiagnostic)).toEqual([
      `${dir}/compose.yml:2:3 services.web: ignoring options a swarm service cannot honour: build, container_name, links, network_mode`,
    ]);
  });
  it('refuses keys it cannot honour yet, with their location', () => {
    const r = load({
      'compose.yml': 'services:\n  web:\n    image: a\n    extends: {service: base}\n',
    });
    expect(errors(r.diagnostics).map(formatDiagnostic)).toEqual([
      `${dir}/compose.yml:4:5 services.web.extends: extends is not supported by tsswarm stacks`,
    ]);
  });
  it('refuses a depends_on cycle', () => {
    const r = load({
      'compose.yml':
        'services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: {a: {condition: service_healthy}}}\n',
    });
    expect(errors(r.diagnostics)[0]?.message).toBe('dependency cycle: a -> b -> a');
  });
});
