/**
 * A preload (`node --import ./test/module-log.mjs ...`): when LOUPE_MODULE_LOG names a file, the URL of every module
 * the process imports is appended to it, one a line (resolve hooks run in their own thread: a file, not stdout).
 * test/cli-refusals.test.ts reads it to see what a refused `loupe` command loaded.
 */
import { register } from 'node:module';

if (process.env.LOUPE_MODULE_LOG) register('./module-log.hooks.mjs', import.meta.url, { data: { file: process.env.LOUPE_MODULE_LOG } });
