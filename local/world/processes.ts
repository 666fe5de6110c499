import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

/**
 * Child processes started by the local world. Every process is registered here and killed when this Node
 * process exits for any reason (normal exit, uncaught error, Ctrl-C, SIGTERM), so no emulator outlives its
 * owner.
 */
const children = new Set<ChildProcess>();
const names = new WeakMap<ChildProcess, string>();
let hooksInstalled = false;

function killAll(signal: NodeJS.Signals): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => killAll('SIGKILL'));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll('SIGTERM');
      // Re-raise with the default handler so the exit code says what happened.
      process.kill(process.pid, signal);
    });
  }
}

/** The processes started here that are still running, by name and pid (for diagnostics and leak checks). */
export function runningChildren(): { name: string; pid: number }[] {
  return [...children]
    .filter((child) => child.exitCode === null && child.signalCode === null && child.pid !== undefined)
    .map((child) => ({ name: names.get(child) ?? child.spawnfile, pid: child.pid! }));
}

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves once the process has exited (immediately if it already has). */
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** A line on stdout or stderr that means "ready"; its match is returned. */
  readyPattern: RegExp;
  timeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL (default 5 s). */
  stopGraceMs?: number;
}

/** Starts a process and waits for its readiness line; on failure the process is killed and its output quoted. */
export async function startProcess(options: StartOptions): Promise<{ process: ManagedProcess; match: RegExpMatchArray }> {
  installExitHooks();
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  names.set(child, options.name);
  child.once('exit', () => children.delete(child));

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), options.stopGraceMs ?? 5_000);
    await exited;
    clearTimeout(timer);
  };
  const managed: ManagedProcess = { name: options.name, child, stop };

  let output = '';
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      fail(new Error(`${options.name} did not become ready within ${options.timeoutMs ?? 30_000} ms`));
    }, options.timeoutMs ?? 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const found = output.match(options.readyPattern);
      if (found) {
        cleanup();
        resolve(found);
      }
    };
    const onExit = (code: number | null): void => fail(new Error(`${options.name} exited with code ${code} before it was ready`));
    const onError = (err: Error): void => fail(new Error(`${options.name} could not start: ${err.message}`));
    function cleanup(): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    }
    function fail(err: Error): void {
      cleanup();
      void stop();
      const tail = output.trim().split('\n').slice(-15).join('\n');
      reject(tail ? new Error(`${err.message}\n--- ${options.name} output ---\n${tail}`) : err);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
  // Keep draining the pipes so a chatty process never blocks on a full buffer.
  child.stdout?.resume();
  child.stderr?.resume();
  return { process: managed, match };
}

/** Asks the OS for a free loopback port (for programs that cannot bind port 0 themselves). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits until a loopback port accepts TCP connections (for servers that log "ready" before they listen). */
export async function waitForPort(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
