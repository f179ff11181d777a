import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from './main.js';

function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.outputHelp();
  return out;
}

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

describe('the refit command line', () => {
  const program = buildProgram();
  const commands = allCommands(program).filter((c) => c.name() !== 'help');

  it('has every command of SPEC.md', () => {
    expect(program.commands.map((c) => c.name()).sort()).toEqual(['check', 'daemon', 'fleet', 'health', 'history', 'holds', 'merge', 'proxy', 'recover', 'run', 'status']);
  });

  it.each(commands.map((c) => [c.name(), c] as const))('%s --help shows usage and an example', (_name, cmd) => {
    const help = helpOf(cmd);
    expect(help).toMatch(/^Usage: /);
    expect(help).toMatch(/Examples?:\n {2}refit /);
  });

  it.each(commands.filter((c) => c.parent && c.commands.length === 0).map((c) => [c.name(), c] as const))('%s takes --json', (_name, cmd) => {
    expect(cmd.options.map((o) => o.long)).toContain('--json');
  });
});
