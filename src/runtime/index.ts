// The runtime's public face: the image store and the container runtime.
export * from './image/index.js';
export * from './container/index.js';
