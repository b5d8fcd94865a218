import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerCommands } from '../../../src/cli/commands/index.js';

/** The verbs (names and aliases) a command line registers, as main.ts sets the program up. */
async function verbs(args: string[]): Promise<string[]> {
  const program = new Command('tsswarm').enablePositionalOptions();
  await registerCommands(program, args);
  return program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
}

const containerVerbs = [
  'run',
  'create',
  'start',
  'ps',
  'logs',
  'stop',
  'kill',
  'rm',
  'exec',
  'inspect',
  'stats',
  'wait',
];

describe('registerCommands: only the group of the verb', () => {
  it('registers every group, in help order, when there is no verb', async () => {
    expect(await verbs(['--help'])).toEqual([
      ...containerVerbs,
      'image',
      'images',
      'rmi',
      'stack',
      'daemon',
      'swarm',
      'service',
      'node',
      'lab',
      'network',
      'volume',
      'secret',
      'config',
    ]);
    expect(await verbs([])).toHaveLength(25);
  });

  it('registers the one group whose verb runs, each verb of it', async () => {
    for (const verb of await verbs([])) {
      expect(await verbs([verb, '--help'])).toContain(verb);
    }
    expect(await verbs(['ps'])).toEqual(containerVerbs);
    expect(await verbs(['images'])).toEqual(['image', 'images', 'rmi']);
    expect(await verbs(['config', 'ls'])).toEqual(['secret', 'config']);
  });

  it('finds the verb after the global options', async () => {
    expect(await verbs(['-H', 'unix:///x', '-D', 'service', 'ls'])).toEqual(['service']);
    expect(await verbs(['--host=tcp://m:2377', '--data-root', '/d', 'node', 'ls'])).toEqual([
      'node',
    ]);
    expect(await verbs(['--exec-root', 'ps', 'stack', 'ls'])).toEqual(['stack']);
  });

  it('keeps `stack config` and the deploy verbs on one stack command', async () => {
    const program = new Command('tsswarm');
    await registerCommands(program, ['stack', 'ls']);
    expect(program.commands[0]?.commands.map((c) => c.name())).toEqual([
      'config',
      'deploy',
      'ls',
      'services',
      'ps',
      'rm',
    ]);
  });

  it('registers every group for a line it cannot read, and none for a bare --version', async () => {
    for (const args of [['-Hx', 'ps'], ['--hostx', 'ps'], ['-h', 'ps'], ['help', 'ps'], ['nope']]) {
      expect(await verbs(args)).toHaveLength(25);
    }
    expect(await verbs(['--version'])).toEqual([]);
    expect(await verbs(['-V'])).toEqual([]);
  });
});
