import { isValidSpreadDescriptor, parseConstraint } from '../constraint.js';
import type { ContainerSpec, ServiceSpec, UpdateConfig } from '../service.js';
import { SERVICE_NAME_PATTERN, SpecErrors, type SpecError } from './spec-error.js';

const MODE_KEYS = ['Replicated', 'Global', 'ReplicatedJob', 'GlobalJob'] as const;

/** Every problem in a service spec, each naming its field; empty when the spec is valid. */
export function validateServiceSpec(spec: ServiceSpec): SpecError[] {
  const e = new SpecErrors();
  if (typeof spec.Name !== 'string' || spec.Name === '') e.add('Name', 'a service needs a name');
  else if (spec.Name.length > 63 || !SERVICE_NAME_PATTERN.test(spec.Name)) {
    e.add(
      'Name',
      `invalid service name ${JSON.stringify(spec.Name)}: at most 63 letters, digits, - and _, ` +
        'starting and ending with a letter or digit',
    );
  }
  e.labels('Labels', spec.Labels);
  validateMode(e, spec);
  validateTaskTemplate(e, spec);
  validateUpdateConfig(e, 'UpdateConfig', spec.UpdateConfig);
  validateUpdateConfig(e, 'RollbackConfig', spec.RollbackConfig);
  validateEndpoint(e, spec);
  return e.list;
}

function validateMode(e: SpecErrors, spec: ServiceSpec): void {
  const mode = spec.Mode as ServiceSpec['Mode'] | undefined;
  if (mode === undefined || typeof mode !== 'object') {
    e.add('Mode', 'a service needs a mode (Replicated, Global, ReplicatedJob or GlobalJob)');
    return;
  }
  const set = MODE_KEYS.filter((k) => mode[k] !== undefined);
  if (set.length > 1) {
    if (set.includes('Global') && set.includes('Replicated')) {
      e.add('Mode.Replicated.Replicas', 'replicas on a global service');
    } else {
      e.add('Mode', `exactly one mode may be set, got ${set.join(' and ')}`);
    }
  }
  if (set.length === 0) {
    e.add('Mode', 'a service needs a mode (Replicated, Global, ReplicatedJob or GlobalJob)');
  }
  e.nonNegativeInt('Mode.Replicated.Replicas', mode.Replicated?.Replicas);
  e.nonNegativeInt('Mode.ReplicatedJob.MaxConcurrent', mode.ReplicatedJob?.MaxConcurrent);
  e.nonNegativeInt('Mode.ReplicatedJob.TotalCompletions', mode.ReplicatedJob?.TotalCompletions);
  const maxReplicas = spec.TaskTemplate?.Placement?.MaxReplicas;
  if (maxReplicas !== undefined && maxReplicas > 0 && (mode.Global || mode.GlobalJob)) {
    e.add('TaskTemplate.Placement.MaxReplicas', 'max replicas per node on a global service');
  }
}

function validateTaskTemplate(e: SpecErrors, spec: ServiceSpec): void {
  const t = spec.TaskTemplate as ServiceSpec['TaskTemplate'] | undefined;
  if (t === undefined || typeof t !== 'object') {
    e.add('TaskTemplate', 'a service needs a task template');
    return;
  }
  const p = 'TaskTemplate';
  validateContainerSpec(e, `${p}.ContainerSpec`, t.ContainerSpec);

  const lim = t.Resources?.Limits;
  const res = t.Resources?.Reservations;
  e.nonNegativeInt(`${p}.Resources.Limits.NanoCPUs`, lim?.NanoCPUs);
  e.nonNegativeInt(`${p}.Resources.Limits.MemoryBytes`, lim?.MemoryBytes);
  e.nonNegativeInt(`${p}.Resources.Limits.Pids`, lim?.Pids);
  e.nonNegativeInt(`${p}.Resources.Reservations.NanoCPUs`, res?.NanoCPUs);
  e.nonNegativeInt(`${p}.Resources.Reservations.MemoryBytes`, res?.MemoryBytes);
  // Docker refuses containers under 6 MiB: the runtime itself needs that much.
  if (lim?.MemoryBytes !== undefined && lim.MemoryBytes > 0 && lim.MemoryBytes < 6 * 1024 * 1024) {
    e.add(`${p}.Resources.Limits.MemoryBytes`, 'memory limit must be at least 6 MiB');
  }
  if (lim?.MemoryBytes && res?.MemoryBytes && res.MemoryBytes > lim.MemoryBytes) {
    e.add(`${p}.Resources.Reservations.MemoryBytes`, 'memory reservation exceeds the memory limit');
  }
  if (lim?.NanoCPUs && res?.NanoCPUs && res.NanoCPUs > lim.NanoCPUs) {
    e.add(`${p}.Resources.Reservations.NanoCPUs`, 'cpu reservation exceeds the cpu limit');
  }

  const rp = t.RestartPolicy;
  if (rp) {
    e.oneOf(`${p}.RestartPolicy.Condition`, rp.Condition, ['none', 'on-failure', 'any']);
    e.nonNegativeInt(`${p}.RestartPolicy.Delay`, rp.Delay);
    e.nonNegativeInt(`${p}.RestartPolicy.MaxAttempts`, rp.MaxAttempts);
    e.nonNegativeInt(`${p}.RestartPolicy.Window`, rp.Window);
  }

  const pl = t.Placement;
  if (pl) {
    e.stringArray(`${p}.Placement.Constraints`, pl.Constraints);
    (pl.Constraints ?? []).forEach((c, i) => {
      const r = parseConstraint(c);
      if (!r.ok) e.add(`${p}.Placement.Constraints[${i}]`, r.error);
    });
    (pl.Preferences ?? []).forEach((pref, i) => {
      const d = pref.Spread?.SpreadDescriptor;
      if (typeof d !== 'string' || !isValidSpreadDescriptor(d)) {
        e.add(
          `${p}.Placement.Preferences[${i}].Spread.SpreadDescriptor`,
          `invalid spread descriptor ${JSON.stringify(d)} (expected node.labels.<name> or ` +
            'engine.labels.<name>)',
        );
      }
    });
    e.nonNegativeInt(`${p}.Placement.MaxReplicas`, pl.MaxReplicas);
  }

  const seen = new Set<string>();
  (t.Networks ?? []).forEach((n, i) => {
    if (typeof n.Target !== 'string' || n.Target === '') {
      e.add(`${p}.Networks[${i}].Target`, 'a network attachment needs a target network');
    } else if (seen.has(n.Target)) {
      e.add(`${p}.Networks[${i}].Target`, `network ${n.Target} attached more than once`);
    } else seen.add(n.Target);
  });
  e.nonNegativeInt(`${p}.ForceUpdate`, t.ForceUpdate);
  if (t.LogDriver && (typeof t.LogDriver.Name !== 'string' || t.LogDriver.Name === '')) {
    e.add(`${p}.LogDriver.Name`, 'a log driver needs a name');
  }
}

function validateContainerSpec(e: SpecErrors, p: string, c: ContainerSpec | undefined): void {
  if (c === undefined || typeof c !== 'object') {
    e.add(p, 'a service needs a container spec');
    return;
  }
  if (typeof c.Image !== 'string' || c.Image.trim() === '')
    e.add(`${p}.Image`, 'an image is required');
  e.stringArray(`${p}.Command`, c.Command);
  e.stringArray(`${p}.Args`, c.Args);
  e.stringArray(`${p}.Env`, c.Env);
  (c.Env ?? []).forEach((kv, i) => {
    if (typeof kv === 'string' && (kv === '' || kv.startsWith('='))) {
      e.add(`${p}.Env[${i}]`, `invalid environment entry ${JSON.stringify(kv)}: empty name`);
    }
  });
  if (c.Dir !== undefined && c.Dir !== '' && !c.Dir.startsWith('/')) {
    e.add(`${p}.Dir`, `working directory must be absolute, got ${JSON.stringify(c.Dir)}`);
  }
  e.labels(`${p}.Labels`, c.Labels);
  e.nonNegativeInt(`${p}.StopGracePeriod`, c.StopGracePeriod);
  const targets = new Set<string>();
  (c.Mounts ?? []).forEach((m, i) => {
    const mp = `${p}.Mounts[${i}]`;
    e.oneOf(`${mp}.Type`, m.Type, ['bind', 'volume', 'tmpfs']);
    if (typeof m.Target !== 'string' || !m.Target.startsWith('/')) {
      e.add(
        `${mp}.Target`,
        `mount target must be an absolute path, got ${JSON.stringify(m.Target)}`,
      );
    } else if (targets.has(m.Target)) {
      e.add(`${mp}.Target`, `duplicate mount point ${m.Target}`);
    } else targets.add(m.Target);
    if (m.Type === 'bind' && (typeof m.Source !== 'string' || !m.Source.startsWith('/'))) {
      e.add(`${mp}.Source`, 'a bind mount needs an absolute source path');
    }
    if (m.Type === 'tmpfs' && m.Source) e.add(`${mp}.Source`, 'a tmpfs mount takes no source');
    if (m.Type !== 'bind' && m.BindOptions)
      e.add(`${mp}.BindOptions`, `not valid for a ${m.Type} mount`);
    if (m.Type !== 'volume' && m.VolumeOptions) {
      e.add(`${mp}.VolumeOptions`, `not valid for a ${m.Type} mount`);
    }
    if (m.Type !== 'tmpfs' && m.TmpfsOptions)
      e.add(`${mp}.TmpfsOptions`, `not valid for a ${m.Type} mount`);
    e.nonNegativeInt(`${mp}.TmpfsOptions.SizeBytes`, m.TmpfsOptions?.SizeBytes);
  });
  const h = c.Healthcheck;
  if (h) {
    for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
      const v = h[k];
      e.nonNegativeInt(`${p}.Healthcheck.${k}`, v);
      // Docker's floor: shorter intervals would busy-loop the health prober.
      if (v !== undefined && v > 0 && v < 1_000_000) {
        e.add(`${p}.Healthcheck.${k}`, 'must be 0 or at least 1ms');
      }
    }
    e.nonNegativeInt(`${p}.Healthcheck.Retries`, h.Retries);
    const kind = h.Test?.[0];
    if (kind !== undefined && !['NONE', 'CMD', 'CMD-SHELL'].includes(kind)) {
      e.add(
        `${p}.Healthcheck.Test`,
        `must start with NONE, CMD or CMD-SHELL, got ${JSON.stringify(kind)}`,
      );
    }
  }
  (c.Ulimits ?? []).forEach((u, i) => {
    if (!u.Name) e.add(`${p}.Ulimits[${i}].Name`, 'a ulimit needs a name');
    if (u.Soft > u.Hard)
      e.add(`${p}.Ulimits[${i}]`, `soft limit ${u.Soft} exceeds hard limit ${u.Hard}`);
  });
  for (const [k, v] of Object.entries(c.Sysctls ?? {})) {
    if (typeof v !== 'string') e.add(`${p}.Sysctls.${k}`, 'sysctl value must be a string');
  }
  e.stringArray(`${p}.CapabilityAdd`, c.CapabilityAdd);
  e.stringArray(`${p}.CapabilityDrop`, c.CapabilityDrop);
  const fileMode = (field: string, f: { Mode?: number } | undefined): void => {
    const mode = f?.Mode;
    if (mode !== undefined && (!Number.isInteger(mode) || mode < 0 || mode > 0o777))
      e.add(field, `invalid file mode ${String(mode)}: must be from 0 to 0777`);
  };
  const files = new Set<string>();
  (c.Secrets ?? []).forEach((s, i) => {
    fileMode(`${p}.Secrets[${i}].File.Mode`, s.File);
    if (!s.SecretName) e.add(`${p}.Secrets[${i}].SecretName`, 'a secret reference needs a name');
    if (!s.File?.Name)
      e.add(`${p}.Secrets[${i}].File.Name`, 'a secret reference needs a file name');
    else if (files.has(`s:${s.File.Name}`)) {
      e.add(`${p}.Secrets[${i}].File.Name`, `secret target ${s.File.Name} used more than once`);
    } else files.add(`s:${s.File.Name}`);
  });
  (c.Configs ?? []).forEach((s, i) => {
    fileMode(`${p}.Configs[${i}].File.Mode`, s.File);
    if (!s.ConfigName) e.add(`${p}.Configs[${i}].ConfigName`, 'a config reference needs a name');
    if (!s.File?.Name)
      e.add(`${p}.Configs[${i}].File.Name`, 'a config reference needs a file name');
    else if (files.has(`c:${s.File.Name}`)) {
      e.add(`${p}.Configs[${i}].File.Name`, `config target ${s.File.Name} used more than once`);
    } else files.add(`c:${s.File.Name}`);
  });
}

function validateUpdateConfig(e: SpecErrors, p: string, u: UpdateConfig | undefined): void {
  if (!u) return;
  e.nonNegativeInt(`${p}.Parallelism`, u.Parallelism);
  e.nonNegativeInt(`${p}.Delay`, u.Delay);
  e.nonNegativeInt(`${p}.Monitor`, u.Monitor);
  e.oneOf(`${p}.FailureAction`, u.FailureAction, ['continue', 'pause', 'rollback']);
  e.oneOf(`${p}.Order`, u.Order, ['stop-first', 'start-first']);
  const r = u.MaxFailureRatio;
  if (r !== undefined && !(r >= 0 && r <= 1))
    e.add(`${p}.MaxFailureRatio`, `must be between 0 and 1, got ${r}`);
}

function validateEndpoint(e: SpecErrors, spec: ServiceSpec): void {
  const ep = spec.EndpointSpec;
  if (!ep) return;
  e.oneOf('EndpointSpec.Mode', ep.Mode, ['vip', 'dnsrr']);
  const published = new Set<string>();
  (ep.Ports ?? []).forEach((port, i) => {
    const p = `EndpointSpec.Ports[${i}]`;
    e.oneOf(`${p}.Protocol`, port.Protocol, ['tcp', 'udp', 'sctp']);
    e.oneOf(`${p}.PublishMode`, port.PublishMode, ['ingress', 'host']);
    if (!Number.isInteger(port.TargetPort) || port.TargetPort < 1 || port.TargetPort > 65535) {
      e.add(`${p}.TargetPort`, `must be a port number 1-65535, got ${port.TargetPort}`);
    }
    const pub = port.PublishedPort ?? 0;
    if (!Number.isInteger(pub) || pub < 0 || pub > 65535) {
      e.add(`${p}.PublishedPort`, `must be a port number 0-65535, got ${pub}`);
    }
    const mode = port.PublishMode ?? 'ingress';
    if (ep.Mode === 'dnsrr' && mode === 'ingress') {
      e.add(`${p}.PublishMode`, 'a port published in ingress mode needs vip resolution, not dnsrr');
    }
    if (pub > 0) {
      const key = `${pub}/${port.Protocol ?? 'tcp'}`;
      if (published.has(key)) e.add(`${p}.PublishedPort`, `port ${key} published more than once`);
      published.add(key);
    }
  });
}
