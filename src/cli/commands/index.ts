import type { Command } from 'commander';

/**
 * Each command group lives in its own file and registers its verbs here. A group's action
 * handlers import their heavy modules dynamically, so `tsswarm run` does not load the
 * compose loader or the raft library.
 */
export function registerCommands(_program: Command): void {}
