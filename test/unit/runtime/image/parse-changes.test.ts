import { describe, expect, it } from 'vitest';
import { applyChanges } from '../../../../src/runtime/image/index.js';

describe('--change parsing (docker import)', () => {
  it('takes CMD and ENTRYPOINT in JSON and shell form', () => {
    expect(applyChanges({}, ['CMD ["sh", "-c", "echo hi"]'])).toEqual({
      Cmd: ['sh', '-c', 'echo hi'],
    });
    expect(applyChanges({}, ['cmd echo $HOME'])).toEqual({ Cmd: ['/bin/sh', '-c', 'echo $HOME'] });
    expect(applyChanges({}, ['ENTRYPOINT ["/init"]', 'CMD ["a"]'])).toEqual({
      Entrypoint: ['/init'],
      Cmd: ['a'],
    });
    // Not valid JSON: docker falls back to the shell form.
    expect(applyChanges({}, ['CMD [oops'])).toEqual({ Cmd: ['/bin/sh', '-c', '[oops'] });
  });

  it('merges ENV in both forms, later values replacing earlier ones', () => {
    expect(
      applyChanges({ Env: ['PATH=/bin'] }, [
        'ENV A=1 B="two words" C=a\\ b',
        'ENV LEGACY value with spaces',
        'ENV A=3',
      ]),
    ).toEqual({ Env: ['PATH=/bin', 'A=3', 'B=two words', 'C=a b', 'LEGACY=value with spaces'] });
  });

  it('takes EXPOSE, LABEL, USER, VOLUME, WORKDIR and STOPSIGNAL', () => {
    expect(
      applyChanges({}, [
        'EXPOSE 80 53/udp 8000-8001',
        "LABEL a=b 'c d'=e",
        'USER nobody:nogroup',
        'VOLUME ["/data", "/logs"]',
        'VOLUME /cache',
        'WORKDIR /srv',
        'WORKDIR app',
        'STOPSIGNAL term',
      ]),
    ).toEqual({
      ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} },
      Labels: { a: 'b', 'c d': 'e' },
      User: 'nobody:nogroup',
      Volumes: { '/data': {}, '/logs': {}, '/cache': {} },
      WorkingDir: '/srv/app',
      StopSignal: 'SIGTERM',
    });
    expect(applyChanges({}, ['STOPSIGNAL 9'])).toEqual({ StopSignal: '9' });
  });

  it('takes HEALTHCHECK as docker commit --change does (shell and exec form, options, NONE)', () => {
    expect(
      applyChanges({}, [
        'HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --retries=4 CMD wget -q -O /dev/null http://127.0.0.1/',
      ]),
    ).toEqual({
      Healthcheck: {
        Test: ['CMD-SHELL', 'wget -q -O /dev/null http://127.0.0.1/'],
        Interval: 90e9,
        Timeout: 500e6,
        StartPeriod: 2e9,
        Retries: 4,
      },
    });
    expect(applyChanges({}, ['HEALTHCHECK CMD ["/bin/true"]'])).toEqual({
      Healthcheck: { Test: ['CMD', '/bin/true'] },
    });
    expect(applyChanges({}, ['HEALTHCHECK NONE'])).toEqual({ Healthcheck: { Test: ['NONE'] } });
  });

  it.each([
    ['ONBUILD RUN make', /#1 "ONBUILD RUN make": ONBUILD is not supported/],
    ['RUN make', /unknown or unsupported instruction RUN/],
    ['HEALTHCHECK --interval=soon CMD true', /HEALTHCHECK --interval=soon: not a duration/],
    ['HEALTHCHECK --every=1s CMD true', /HEALTHCHECK: unknown flag --every/],
    ['HEALTHCHECK --retries=-1 CMD true', /--retries=-1: not a non-negative integer/],
    ['HEALTHCHECK true', /HEALTHCHECK needs NONE or \[options\] CMD command/],
    ['CMD', /CMD needs arguments/],
    ['EXPOSE http', /EXPOSE "http" is not PORT/],
    ['EXPOSE 70000', /1-65535/],
    ['ENV =x', /not KEY=VALUE/],
    ['ENV A="unterminated', /unterminated " quote/],
    ['STOPSIGNAL SIGNOPE', /not a known signal/],
    ['', /empty instruction/],
  ])('refuses %j with a clear error', (change, message) => {
    expect(() => applyChanges({}, [change])).toThrow(message);
  });

  it('names the failing change by position', () => {
    expect(() => applyChanges({}, ['CMD ["sh"]', 'BOGUS x'])).toThrow(/--change #2 "BOGUS x"/);
  });
});
