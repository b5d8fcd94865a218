// The one thing the container runtime needs from the image store, so the two stay decoupled.
import type { ResolvedImage } from '../image/types.js';

export type { ResolvedImage };

export interface ImageSource {
  /** Throws a not-found error naming the reference when there is no such image. */
  resolve(ref: string): Promise<ResolvedImage>;
}
