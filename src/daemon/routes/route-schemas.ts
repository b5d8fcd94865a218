/** `?version=`: the object version an update read, so a stale one is refused. */
export const versionQuery = {
  type: 'object',
  properties: { version: { type: 'integer', minimum: 0 } },
  required: ['version'],
} as const;

/** A spec body: its shape is checked by the control API, which names the bad field. */
export const objectBody = { type: 'object' } as const;
