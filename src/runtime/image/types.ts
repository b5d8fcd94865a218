/** The runnable part of an image config, in Docker's field names (config.config of the OCI config). */
export interface ImageConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object>;
  Healthcheck?: {
    Test: string[];
    Interval?: number;
    Timeout?: number;
    StartPeriod?: number;
    StartInterval?: number;
    Retries?: number;
  };
}

/** What the container runtime needs to build a rootfs: the answer of `ImageStore.resolve`. */
export interface ResolvedImage {
  /** "sha256:<config digest>" */
  id: string;
  /** Normalised reference the image was found by, e.g. "busybox:latest"; the id when found by id. */
  ref: string;
  config: ImageConfig;
  /** Absolute unpacked layer dirs, base layer first (overlay lowerdir wants them reversed). */
  layerDirs: string[];
}

export interface ImportOptions {
  /** Reference to tag a plain rootfs import with (docker-save/OCI archives carry their own). */
  name?: string;
  /** Dockerfile instructions applied to the config of a plain rootfs import (`docker import --change`). */
  changes?: string[];
  /** Refuse a plain rootfs tarball, as `docker load` does (it takes image archives only). */
  archiveOnly?: boolean;
}

export interface RemoveOptions {
  force?: boolean;
}

/** One row of `image ls`, in the field names of `docker image ls --format json`. */
export interface ImageSummary {
  id: string;
  repository: string;
  tag: string;
  created: string;
  size: number;
}

export interface HistoryEntry {
  id: string;
  created: string;
  createdBy: string;
  size: number;
  comment: string;
  emptyLayer: boolean;
}

/** `docker image inspect` shape (the subset that has a meaning here). */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  Author: string;
  Config: ImageConfig;
  Architecture: string;
  Os: string;
  Size: number;
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

/** The OCI image config document (what the image id is the digest of). */
export interface OciImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ImageConfig;
  rootfs: { type: string; diff_ids: string[] };
  history?: {
    created?: string;
    created_by?: string;
    author?: string;
    comment?: string;
    empty_layer?: boolean;
  }[];
  [key: string]: unknown;
}
