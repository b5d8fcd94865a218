import { cpus, hostname, totalmem } from 'node:os';
import type { NodeDescription } from '../api/index.js';

/** What this host offers, as a node registers it (hostname, platform, resources, engine). */
export function nodeDescription(): NodeDescription {
  const arch =
    process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch;
  return {
    Hostname: hostname(),
    Platform: { Architecture: arch, OS: 'linux' },
    Resources: { NanoCPUs: cpus().length * 1_000_000_000, MemoryBytes: totalmem() },
    Engine: { EngineVersion: '0.1.0', Labels: {} },
  };
}
