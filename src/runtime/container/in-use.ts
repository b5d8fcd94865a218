import { ContainerStore } from './container-store.js';

/**
 * Names of the containers under `dataRoot` that use the image `imageId` (sha256:…), running
 * or not, as docker refuses `rmi` of an image any container was created from.
 * The image store asks this before removing an image.
 */
export function imageInUse(dataRoot: string, imageId: string): Promise<string[]> {
  // Only the data root matters here; the exec root is not read.
  const store = new ContainerStore(dataRoot, '/nonexistent');
  const names: string[] = [];
  for (const id of store.ids()) {
    try {
      const r = store.readRecord(id);
      if (r.Image === imageId) names.push(r.Name.slice(1));
    } catch {
      // being created or removed
    }
  }
  return Promise.resolve(names.sort());
}
