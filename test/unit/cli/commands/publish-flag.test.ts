import { describe, expect, it } from 'vitest';
import { formatPorts, parsePublish } from '../../../../src/cli/commands/publish-flag.js';

describe('--publish', () => {
  it('reads the short and long forms as docker does', () => {
    expect(parsePublish('8080:80')).toEqual({
      TargetPort: 80,
      PublishedPort: 8080,
      Protocol: 'tcp',
      PublishMode: 'ingress',
    });
    expect(parsePublish('53:53/udp').Protocol).toBe('udp');
    expect(parsePublish('80')).toEqual({ TargetPort: 80, Protocol: 'tcp', PublishMode: 'ingress' });
    expect(parsePublish('mode=host,8080:80')).toMatchObject({
      PublishMode: 'host',
      PublishedPort: 8080,
    });
    expect(parsePublish('published=9000,target=90,protocol=udp,mode=host')).toEqual({
      TargetPort: 90,
      PublishedPort: 9000,
      Protocol: 'udp',
      PublishMode: 'host',
    });
  });

  it('names what is wrong', () => {
    expect(() => parsePublish('8080:0')).toThrow(
      'invalid argument "8080:0" for "-p, --publish" flag: invalid target port "0"',
    );
    expect(() => parsePublish('127.0.0.1:80:80')).toThrow(/host IPs cannot be given/);
    expect(() => parsePublish('80/icmp')).toThrow(/invalid protocol "icmp"/);
    expect(() => parsePublish('published=80')).toThrow(/missing mandatory field "target"/);
    expect(() => parsePublish('mode=bridge,80')).toThrow(/must be either "ingress" or "host"/);
  });

  it('prints the PORTS column', () => {
    expect(
      formatPorts([
        { TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp' },
        { TargetPort: 53, PublishedPort: 53, Protocol: 'udp', PublishMode: 'host' },
      ]),
    ).toBe('*:8080->80/tcp, *:53->53/udp');
  });
});
