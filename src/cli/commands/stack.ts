import type { Command } from 'commander';

export function registerStackCommands(_program: Command): void {}
