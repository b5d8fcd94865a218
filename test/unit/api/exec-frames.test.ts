import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  encodeFrame,
  encodeFrames,
  FrameDecoder,
  FrameError,
  maxFramePayloadBytes,
  Stream,
} from '../../../src/api/exec-frames.js';

const all = [Stream.stdin, Stream.stdout, Stream.stderr, Stream.exit];

describe('exec frames', () => {
  it('encodes docker’s header: stream, three zeros, big-endian length', () => {
    const f = encodeFrame(Stream.stderr, Buffer.from('hi'));
    expect([...f]).toEqual([2, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69]);
    expect([...encodeFrame(Stream.stdin)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('decodes frames cut at every byte boundary, binary payloads intact', () => {
    const a = randomBytes(300);
    const b = Buffer.from([0, 0xff, 0x0a, 0x0d, 0]);
    const wire = Buffer.concat([
      encodeFrame(Stream.stdout, a),
      encodeFrame(Stream.stdin),
      encodeFrame(Stream.stderr, b),
    ]);
    for (const step of [1, 3, 7, 8, 9, 64, wire.length]) {
      const d = new FrameDecoder(all);
      const got = [];
      for (let at = 0; at < wire.length; at += step)
        got.push(...d.push(wire.subarray(at, at + step)));
      expect(got.map((g) => g.stream)).toEqual([Stream.stdout, Stream.stdin, Stream.stderr]);
      expect(got[0]?.payload.equals(a)).toBe(true);
      expect(got[1]?.payload.length).toBe(0);
      expect(got[2]?.payload.equals(b)).toBe(true);
      expect(d.buffered).toBe(0);
    }
  });

  it('splits a big payload into bounded frames and joins it back', () => {
    const big = randomBytes(2 * maxFramePayloadBytes + 12345);
    const frames = encodeFrames(Stream.stdout, big);
    expect(frames).toHaveLength(3);
    const d = new FrameDecoder(all);
    const out = frames.flatMap((f) => d.push(f));
    expect(Buffer.concat(out.map((o) => o.payload)).equals(big)).toBe(true);
    expect(encodeFrames(Stream.stdout, Buffer.alloc(0))).toEqual([]);
  });

  it('keeps a partial frame buffered until its end arrives', () => {
    const d = new FrameDecoder(all);
    const f = encodeFrame(Stream.stdout, Buffer.from('abcdef'));
    expect(d.push(f.subarray(0, 10))).toEqual([]);
    expect(d.buffered).toBe(10);
    const [got] = d.push(f.subarray(10));
    expect(got?.payload.toString()).toBe('abcdef');
  });

  it('refuses a stream the side does not accept, a bad header and an oversized frame', () => {
    expect(() => new FrameDecoder([Stream.stdin]).push(encodeFrame(Stream.stdout))).toThrow(
      FrameError,
    );
    const bad = encodeFrame(Stream.stdin);
    bad[2] = 1;
    expect(() => new FrameDecoder(all).push(bad)).toThrow(/bad frame header/);
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(maxFramePayloadBytes + 1, 4);
    expect(() => new FrameDecoder(all).push(huge)).toThrow(/exceeds/);
  });
});
