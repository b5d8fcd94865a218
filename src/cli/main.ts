import { Command, CommanderError } from 'commander';
import { TsswarmError } from '../api/errors.js';
import { registerCommands } from './commands/index.js';

const program = new Command('tsswarm')
  .description('A multi-node container orchestrator in the family of Docker Swarm')
  .version('0.1.0')
  .option('--data-root <dir>', 'persistent state directory (default /var/lib/tsswarm)')
  .option('--exec-root <dir>', 'runtime state directory (default /run/tsswarm)')
  .option(
    '-H, --host <url>',
    'daemon to talk to: unix:///path or tcp://host:port (env TSSWARM_HOST)',
  )
  .option('-D, --debug', 'print stack traces of errors')
  .showHelpAfterError()
  .exitOverride()
  // `run IMAGE sh -c ...`: options after the image belong to the container's command. Every
  // command inherits this: the global options come before the verb.
  .enablePositionalOptions();

await registerCommands(program, process.argv.slice(2));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander already printed the message (help, version, or a usage error).
    process.exitCode = err.exitCode;
  } else {
    const debug = program.opts<{ debug?: boolean }>().debug === true;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`Error: ${message}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    // Docker exits 125 when the error is its own, not the container's.
    process.exitCode = err instanceof TsswarmError ? 125 : 1;
  }
}
