import type { Command } from 'commander';

export function registerContainerCommands(_program: Command): void {}
