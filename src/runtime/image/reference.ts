import { invalidArgument } from '../../api/errors.js';

/** A reference as Docker normalises it: `busybox` is `busybox:latest`, Docker Hub's prefix dropped. */
export interface ImageReference {
  /** Repository without Docker Hub's `docker.io/library/` prefix, e.g. "busybox", "me/app", "reg:5000/app". */
  repository: string;
  tag: string;
  /** "sha256:…" when the reference pinned a digest. */
  digest?: string;
  /** "repository:tag" (or "repository@digest" when no tag was given with a digest). */
  name: string;
}

const component = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const domainPart =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
const digestPattern = /^sha256:[0-9a-f]{64}$/;
const hubDomains = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** True when `s` can only be an image id (never a repository name), as Docker decides. */
export function isFullImageId(s: string): boolean {
  return /^(?:sha256:)?[0-9a-f]{64}$/.test(s);
}

/**
 * Parses and normalises an image reference the way the docker CLI does. Throws
 * InvalidArgument naming the reference and what is wrong with it.
 */
export function parseReference(input: string): ImageReference {
  const bad = (why: string) => invalidArgument(`invalid reference format "${input}": ${why}`);
  if (input === '') throw bad('empty');
  if (input.length > 255) throw bad('longer than 255 characters');
  if (isFullImageId(input)) throw bad('an image id cannot be used as a repository name');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestPattern.test(digest)) throw bad(`digest "${digest}" is not sha256:<64 hex>`);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!tagPattern.test(tag)) throw bad(`tag "${tag}" is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  }

  const parts = rest.split('/');
  let domain: string | undefined;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    domain = first;
    parts.shift();
    if (!domainPart.test(domain)) throw bad(`registry "${domain}" is not a host name`);
  }
  if (parts.length === 0) throw bad('no repository name');
  for (const p of parts) {
    if (p !== p.toLowerCase() && component.test(p.toLowerCase())) {
      throw bad('repository name must be lowercase');
    }
    if (!component.test(p))
      throw bad(`path component "${p}" is not [a-z0-9] with . _ __ - separators`);
  }

  let path = parts.join('/');
  if (domain !== undefined && hubDomains.has(domain)) domain = undefined;
  if (domain === undefined && path.startsWith('library/') && parts.length === 2) {
    path = path.slice('library/'.length);
  }
  const repository = domain === undefined ? path : `${domain}/${path}`;
  const effectiveTag = tag ?? (digest === undefined ? 'latest' : '');
  const name = effectiveTag !== '' ? `${repository}:${effectiveTag}` : `${repository}@${digest}`;
  return {
    repository,
    tag: effectiveTag,
    name,
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** Normalised "repository:tag" of `input`; throws InvalidArgument as `parseReference` does. */
export function normaliseReference(input: string): string {
  return parseReference(input).name;
}

/** Splits a stored "repository:tag" name back into its parts (the tag is after the last colon past the last slash). */
export function splitName(name: string): { repository: string; tag: string } {
  const i = name.lastIndexOf(':');
  if (i > name.lastIndexOf('/')) return { repository: name.slice(0, i), tag: name.slice(i + 1) };
  return { repository: name, tag: '' };
}
