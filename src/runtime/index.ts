// The runtime's public face: the image store and the container runtime.
export {};
