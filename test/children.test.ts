import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exited, killLiveProcesses, liveProcessIds, spawnTracked } from './children.ts';

/** Whether `pid` is a running process (a zombie left for init to reap counts as gone). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ...": the state follows the command's closing parenthesis.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

async function gone(pid: number): Promise<boolean> {
  const end = Date.now() + 20_000;
  while (running(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return !running(pid);
}

const FOREVER = ['-e', 'setInterval(() => {}, 1000)'];

describe('child processes of a test process', () => {
  it('killLiveProcesses ends a child no stop() reached, and forgets the ones that exited', async () => {
    const done = spawnTracked(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await exited(done);
    const child = spawnTracked(process.execPath, FOREVER, { stdio: 'ignore' });
    expect(liveProcessIds()).toEqual([child.pid]);
    await killLiveProcesses();
    expect(child.signalCode).toBe('SIGKILL');
    expect(await gone(child.pid!)).toBe(true);
    expect(liveProcessIds()).toEqual([]);
  });

  it.each(['exit', 'SIGTERM'])('a test process ended by %s takes its children with it', async (how) => {
    // A plain node process (what a vitest fork is) that starts a child, prints its pid, then ends as asked: by
    // exiting, or by the SIGTERM vitest's pool stops a worker with.
    const script = `import { spawnTracked } from ${JSON.stringify(path.join(import.meta.dirname, 'children.ts'))};
      const c = spawnTracked(process.execPath, ${JSON.stringify(FOREVER)}, { stdio: 'ignore' });
      console.log(c.pid);
      if (${JSON.stringify(how)} === 'exit') setTimeout(() => process.exit(0), 50);`;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (d) => resolve(Number(String(d).trim())));
      parent.once('exit', (code) => reject(new Error(`the parent ended first (${code})`)));
    });
    expect(pid).toBeGreaterThan(0);
    if (how === 'SIGTERM') parent.kill('SIGTERM');
    await exited(parent);
    const ended = await gone(pid);
    if (!ended) process.kill(pid, 'SIGKILL');
    expect(ended).toBe(true);
  });
});
