import type { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * The command groups in the order `tsswarm --help` lists them, each with the top-level verbs
 * it registers. Only the group of the verb that runs is loaded, with what it imports.
 * Measured on the bundle (`bin/tsswarm`, median of 20-30 runs, against registering every
 * group at start): `--version` 118 → 85 ms, `ps` 130 → 117 ms, `image ls` 130 → 120 ms.
 * A line with no verb (`--help`) loads every group and its imports: 124 → 169 ms.
 */
const groups: readonly { verbs: readonly string[]; load: () => Promise<Register[]> }[] = [
  {
    verbs: [
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
    ],
    load: async () => [(await import('./container.js')).registerContainerCommands],
  },
  {
    verbs: ['image', 'images', 'rmi'],
    load: async () => [(await import('./image.js')).registerImageCommands],
  },
  {
    // `stack config` first, then deploy, ls, services, ps and rm on the same command.
    verbs: ['stack'],
    load: async () => {
      const [stack, deploy] = await Promise.all([
        import('./stack.js'),
        import('./stack-deploy.js'),
      ]);
      return [stack.registerStackCommands, deploy.registerStackDeployCommands];
    },
  },
  { verbs: ['daemon'], load: async () => [(await import('./daemon.js')).registerDaemonCommands] },
  { verbs: ['swarm'], load: async () => [(await import('./swarm.js')).registerSwarmCommands] },
  {
    verbs: ['service'],
    load: async () => [(await import('./service.js')).registerServiceCommands],
  },
  { verbs: ['node'], load: async () => [(await import('./node.js')).registerNodeCommands] },
  { verbs: ['lab'], load: async () => [(await import('./lab.js')).registerLabCommands] },
  {
    verbs: ['network'],
    load: async () => [(await import('./network.js')).registerNetworkCommands],
  },
  { verbs: ['volume'], load: async () => [(await import('./volume.js')).registerVolumeCommands] },
  {
    verbs: ['secret', 'config'],
    load: async () => [(await import('./secret-config.js')).registerSecretConfigCommands],
  },
];

/** The global options of main.ts that take a value, and those that do not. */
const valueOptions = new Set(['--data-root', '--exec-root', '-H', '--host']);
const flagOptions = new Set(['-D', '--debug']);

/**
 * The verb of a command line (its first operand after the global options), or undefined when
 * there is none or the line is unusual (`-Hx`, `-h`, `--`, an unknown option): then every
 * group is registered, which is always right, only slower.
 */
function verbOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (valueOptions.has(a)) i++;
    else if (flagOptions.has(a)) continue;
    else if (a.startsWith('--') && a.includes('=') && valueOptions.has(a.slice(0, a.indexOf('='))))
      continue;
    else if (a.startsWith('-')) return undefined;
    else return a;
  }
  return undefined;
}

/**
 * Registers the groups that `args` (the command line after `tsswarm`) needs: the group of its
 * verb; none for a bare `--version`; every group otherwise (help, an unknown verb).
 */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) return;
  const verb = verbOf(args);
  const own = groups.find((g) => verb !== undefined && g.verbs.includes(verb));
  const loaded = await Promise.all((own ? [own] : groups).map((g) => g.load()));
  for (const register of loaded.flat()) register(program);
}
