// Loaded lazily: the image store of a data root as the runtime's image source.
import { ImageStore } from '../image/index.js';
import type { ImageSource } from './image-source.js';

export async function openImageStore(dataRoot: string): Promise<ImageSource> {
  return ImageStore.open(dataRoot);
}
