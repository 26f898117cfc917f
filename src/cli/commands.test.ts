import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandsFor } from './commands.ts';

describe('loupe commands, loaded on demand', () => {
  it('loads the named command only, none for --version, all for help or an unknown word', () => {
    expect(commandsFor(['predict', 'clv', '--summary', 'x.csv'])).toEqual(['predict']);
    expect(commandsFor(['eval-matching', '--help'])).toEqual(['eval-matching']);
    expect(commandsFor(['--version'])).toEqual([]);
    expect(commandsFor(['-V'])).toEqual([]);
    const all = Object.keys(COMMANDS);
    expect(commandsFor([])).toEqual(all);
    expect(commandsFor(['--help'])).toEqual(all);
    expect(commandsFor(['serv'])).toEqual(all); // commander then says "unknown command" and suggests `serve`
    expect(commandsFor(['toString'])).toEqual(all);
  });

  it('each entry registers the command of its name', async () => {
    for (const [name, load] of Object.entries(COMMANDS)) {
      const program = new Command();
      (await load())(program);
      expect(program.commands.map((c) => c.name())).toEqual([name]);
    }
  }, 60_000);
});
