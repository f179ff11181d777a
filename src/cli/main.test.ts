import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { nodeFlagsOf } from '../../test/support/refit-cli.js';
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

describe("the CLI's #! line", () => {
  it('starts node with a bounded young generation (tests, benches and the demo take the flags from it)', () => {
    const shebang = readFileSync(new URL('./main.ts', import.meta.url), 'utf8').split('\n', 1)[0]!;
    expect(nodeFlagsOf(shebang)).toEqual(['--max-semi-space-size=4']);
  });

  it('is read as node and its flags, and anything else is refused', () => {
    expect(nodeFlagsOf('#!/usr/bin/env node')).toEqual([]);
    expect(nodeFlagsOf('#!/usr/bin/env -S node --max-semi-space-size=4 --stack-size=900')).toEqual(['--max-semi-space-size=4', '--stack-size=900']);
    expect(() => nodeFlagsOf('#!/usr/bin/node --max-semi-space-size=4')).toThrow('not a "#!/usr/bin/env -S node FLAGS" line');
    expect(() => nodeFlagsOf('#!/usr/bin/env -S node --inspect foo.js')).toThrow();
  });
});
