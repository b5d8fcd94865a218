import { LineCounter, parseDocument, isAlias, isMap, isScalar, isSeq, isPair } from 'yaml';
import type { Node, Document } from 'yaml';
import { invalidArgument } from '../api/index.js';
import type { Diagnostic } from './diagnostic.js';
import { joinPath } from './diagnostic.js';

export interface Position {
  line: number;
  column: number;
}

/** Where each key path of one file was written: the key itself and its value. */
export interface LocationIndex {
  file: string;
  value: Map<string, Position>;
  key: Map<string, Position>;
}

export interface ParsedSource {
  file: string;
  data: unknown;
  locations: LocationIndex;
}

export type ParseResult =
  { ok: true; source: ParsedSource } | { ok: false; diagnostics: Diagnostic[] };

/**
 * Compose files come from Windows editors too: a UTF-16 file with a BOM (diamol's prod-full.yml)
 * must load as docker loads it.
 */
export function decodeComposeBytes(bytes: Uint8Array): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) {
    return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  }
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  }
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return new TextDecoder('utf-8').decode(bytes.subarray(3));
  }
  return new TextDecoder('utf-8').decode(bytes);
}

// go-yaml reads a leading-zero integer as octal (`mode: 0440` is 288); YAML 1.2 would say 440.
const goOctal = /^[-+]?0[0-7]+$/;

/**
 * Parses one compose file into plain data, resolving anchors, aliases and `<<` merge keys,
 * and records where every key path was written so later stages can name line and column.
 */
export function parseComposeSource(file: string, text: string): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    merge: false,
    uniqueKeys: true,
    prettyErrors: false,
  });
  const pos = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    return {
      ok: false,
      diagnostics: doc.errors.map((e) => {
        const p = pos(e.pos[0]);
        return {
          severity: 'error' as const,
          file,
          line: p.line,
          column: p.column,
          path: '',
          message: `invalid YAML: ${e.message.split('\n')[0] ?? e.code}`,
        };
      }),
    };
  }
  const locations: LocationIndex = { file, value: new Map(), key: new Map() };
  const data = toData(doc, doc.contents, [], locations, pos, 0);
  return { ok: true, source: { file, data: data ?? {}, locations } };
}

function toData(
  doc: Document,
  node: unknown,
  path: (string | number)[],
  loc: LocationIndex,
  pos: (offset: number) => Position,
  depth: number,
): unknown {
  if (depth > 200) throw invalidArgument('compose YAML nests too deeply (alias loop?)');
  if (node === null || node === undefined) return null;
  if (isAlias(node)) {
    return toData(doc, node.resolve(doc), path, loc, pos, depth + 1);
  }
  const n = node as Node;
  const key = joinPath(path);
  if (n.range && !loc.value.has(key)) loc.value.set(key, pos(n.range[0]));
  if (isScalar(n)) {
    if (
      typeof n.value === 'number' &&
      n.type === 'PLAIN' &&
      typeof n.source === 'string' &&
      goOctal.test(n.source)
    ) {
      return parseInt(n.source, 8);
    }
    return n.value ?? null;
  }
  if (isSeq(n)) {
    return n.items.map((item, i) => toData(doc, item, [...path, i], loc, pos, depth + 1));
  }
  if (isMap(n)) {
    const out: Record<string, unknown> = {};
    const merged: unknown[] = [];
    for (const pair of n.items) {
      if (!isPair(pair)) continue;
      const k = isScalar(pair.key) ? pair.key.value : pair.key;
      if (k === '<<' && isScalar(pair.key) && pair.key.type === 'PLAIN') {
        merged.push(pair.value);
        continue;
      }
      const name = k === null || k === undefined ? '' : String(k);
      const childPath = [...path, name];
      const keyNode = pair.key as Node | null;
      const joined = joinPath(childPath);
      if (keyNode?.range && !loc.key.has(joined)) loc.key.set(joined, pos(keyNode.range[0]));
      out[name] = toData(doc, pair.value, childPath, loc, pos, depth + 1);
      if (pair.value === null && keyNode?.range && !loc.value.has(joined))
        loc.value.set(joined, pos(keyNode.range[0]));
    }
    // Explicit keys win over merged ones; among merge sources the first listed wins.
    for (const src of merged) {
      const resolved = isAlias(src) ? src.resolve(doc) : src;
      const sources = isSeq(resolved) ? resolved.items : [resolved];
      for (const s of sources) {
        const v = toData(doc, s, path, loc, pos, depth + 1);
        if (v === null || typeof v !== 'object' || Array.isArray(v)) continue;
        for (const [mk, mv] of Object.entries(v)) if (!(mk in out)) out[mk] = mv;
      }
    }
    return out;
  }
  return null;
}
