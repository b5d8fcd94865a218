import { invalidArgument, type TsswarmError } from '../errors.js';

/** One problem in a spec: `field` is the JSON path as Docker's API spells it. */
export interface SpecError {
  field: string;
  message: string;
}

export function formatSpecErrors(errors: readonly SpecError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}

/** For callers that refuse the whole request: one error naming every bad field. */
export function specErrorsToError(what: string, errors: readonly SpecError[]): TsswarmError {
  return invalidArgument(`invalid ${what} spec: ${formatSpecErrors(errors)}`);
}

/** Collects errors under a path prefix; keeps each validator short. */
export class SpecErrors {
  readonly list: SpecError[] = [];
  add(field: string, message: string): void {
    this.list.push({ field, message });
  }
  nonNegativeInt(field: string, v: number | undefined): void {
    if (v === undefined) return;
    if (!Number.isSafeInteger(v) || v < 0)
      this.add(field, `must be a non-negative integer, got ${v}`);
  }
  positiveInt(field: string, v: number | undefined): void {
    if (v === undefined) return;
    if (!Number.isSafeInteger(v) || v <= 0) this.add(field, `must be a positive integer, got ${v}`);
  }
  oneOf<T extends string>(field: string, v: T | undefined, allowed: readonly T[]): void {
    if (v === undefined) return;
    if (!allowed.includes(v)) {
      this.add(field, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    }
  }
  labels(field: string, labels: Record<string, string> | undefined): void {
    if (labels === undefined) return;
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
      this.add(field, 'must be an object of string values');
      return;
    }
    for (const [k, v] of Object.entries(labels)) {
      if (k === '') this.add(field, 'label with an empty key');
      if (typeof v !== 'string') this.add(`${field}.${k}`, 'label value must be a string');
    }
  }
  stringArray(field: string, v: readonly string[] | undefined): void {
    if (v === undefined) return;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
      this.add(field, 'must be an array of strings');
    }
  }
}

/** Docker's rule for service, network, secret and config names. */
export const OBJECT_NAME_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;
/** Service names become DNS labels (service discovery), so they are stricter. */
export const SERVICE_NAME_PATTERN = /^[a-zA-Z0-9](?:[-_]*[a-zA-Z0-9]+)*$/;
