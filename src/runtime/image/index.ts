// The image store's public face: what the container runtime and the worker use.
export { ImageStore, shortId } from './image-store.js';
export { normaliseReference, parseReference, type ImageReference } from './reference.js';
export { applyChanges } from './parse-changes.js';
export type {
  HistoryEntry,
  ImageConfig,
  ImageInspect,
  ImageSummary,
  ImportOptions,
  RemoveOptions,
  ResolvedImage,
} from './types.js';
export {
  formatHistory,
  formatImageList,
  humanDuration,
  humanSize,
  renderTemplate,
  TemplateError,
} from './format.js';
