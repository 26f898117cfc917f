import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';

/**
 * Child processes of a test process that end with it. A test that times out, or a hook that times out while
 * test/processes.ts startServe() still waits for its server, never reaches its own stop(): the `loupe serve` it
 * started ran on after the file, holding its port, its data folder and a share of the CPU of the files after it.
 * Kept apart from processes.ts (no database imports) so a plain node process can load it.
 */

/** Every child started through spawnTracked() that has not exited yet. */
const live = new Set<ChildProcess>();
let hooked = false;

/** Resolves once `child` has exited (at once if it already has). */
export const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

/**
 * spawn(), remembering the child until it exits: killLiveProcesses() (each file's afterAll) ends it, and so does
 * this process's end, by exit or by the SIGTERM vitest's pool stops a worker with (which skips 'exit' handlers).
 */
export function spawnTracked(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!hooked) {
    hooked = true;
    // Synchronous on purpose: an 'exit' handler cannot wait, and SIGKILL needs no answer from the child.
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
    // A SIGTERM listener replaces node's default (ending at once, without 'exit' handlers): end as it would, after them.
    process.once('SIGTERM', () => process.exit(143));
  }
  return child;
}

/** The pids of the tracked children still running. */
export const liveProcessIds = (): number[] => [...live].flatMap((c) => (c.pid === undefined ? [] : [c.pid]));

/**
 * SIGKILLs every tracked child still running and resolves once all are gone: `afterAll(killLiveProcesses)` at the top
 * level of each file that starts processes, where it runs after the describe blocks' own graceful stop() and ends
 * only what a timed-out test or hook left behind.
 */
export async function killLiveProcesses(): Promise<void> {
  const alive = [...live];
  for (const c of alive) c.kill('SIGKILL');
  await Promise.all(alive.map(exited));
}
