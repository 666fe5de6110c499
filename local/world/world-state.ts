/**
 * The running world's state file: `npm run world -- up` writes the WorldInfo and its pid to .world/world.json;
 * `down`, the trigger CLI and other tools read it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorldInfo } from './world';

export const WORLD_STATE_DIR = join(__dirname, '..', '..', '.world');
export const WORLD_STATE_FILE = join(WORLD_STATE_DIR, 'world.json');

export type WorldState = WorldInfo & { pid: number };

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The state file's contents, or undefined when there is none. */
export function readWorldState(file = WORLD_STATE_FILE): WorldState | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as WorldState;
}

/** The world that is up now; a clear error when none is (no file, or its process has exited). */
export function readRunningWorld(file = WORLD_STATE_FILE): WorldState {
  const start = 'start one with `npm run world -- up`';
  const state = readWorldState(file);
  if (!state) throw new Error(`no local world is up (${file} not found): ${start}`);
  if (!isProcessAlive(state.pid)) throw new Error(`no local world is up (its process ${state.pid} has exited; ${file} is left over): ${start}`);
  return state;
}
