// What every container operation works with. Built once by ContainerRuntime; it holds no
// container state (that lives in files), only where the files are and how to reach the host.
import type { CgroupLayout } from './cgroups.js';
import type { ContainerStore } from './container-store.js';
import type { ContainerHost } from './host.js';
import type { RuntimeConfig } from './runtime-config.js';
import type { VolumeStore } from './volume-store.js';

export interface RuntimeContext {
  readonly config: RuntimeConfig;
  readonly host: ContainerHost;
  readonly store: ContainerStore;
  readonly volumes: VolumeStore;
  readonly cgroups: CgroupLayout;
}
