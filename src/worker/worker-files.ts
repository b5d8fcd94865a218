import type { DeliveredFile } from '../api/dispatch.js';
import { invalidArgument, type Task } from '../api/index.js';
import type { FileMount } from '../runtime/index.js';

/**
 * The secrets and configs the dispatcher delivered to this node, in memory only (never in
 * tasks.json or anywhere on disk): the tracker replaces them with each message, so an item no
 * task of the node uses any more is forgotten as soon as the dispatcher drops it.
 */
export class WorkerFiles {
  private secrets = new Map<string, DeliveredFile>();
  private configs = new Map<string, DeliveredFile>();

  set(secrets: ReadonlyMap<string, DeliveredFile>, configs: ReadonlyMap<string, DeliveredFile>) {
    this.secrets = new Map(secrets);
    this.configs = new Map(configs);
  }

  secretIds(): string[] {
    return [...this.secrets.keys()];
  }

  configIds(): string[] {
    return [...this.configs.keys()];
  }

  /** The task's secrets and configs as runtime file mounts; a missing one fails the task. */
  mountsFor(task: Task): FileMount[] {
    const c = task.Spec.ContainerSpec;
    const out: FileMount[] = [];
    for (const ref of c.Secrets ?? []) {
      const s = this.secrets.get(ref.SecretID);
      if (!s) throw invalidArgument(`secret ${ref.SecretName} (${ref.SecretID}) was not delivered`);
      out.push({
        target: ref.File.Name.startsWith('/') ? ref.File.Name : `/run/secrets/${ref.File.Name}`,
        data: Buffer.from(s.Data, 'base64'),
        uid: Number(ref.File.UID || '0'),
        gid: Number(ref.File.GID || '0'),
        mode: ref.File.Mode,
        inMemory: true,
      });
    }
    for (const ref of c.Configs ?? []) {
      const s = this.configs.get(ref.ConfigID);
      if (!s) throw invalidArgument(`config ${ref.ConfigName} (${ref.ConfigID}) was not delivered`);
      out.push({
        target: ref.File.Name.startsWith('/') ? ref.File.Name : `/${ref.File.Name}`,
        data: Buffer.from(s.Data, 'base64'),
        uid: Number(ref.File.UID || '0'),
        gid: Number(ref.File.GID || '0'),
        mode: ref.File.Mode,
        inMemory: false,
      });
    }
    return out;
  }
}
