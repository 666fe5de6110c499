import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { type ManagedProcess, startProcess } from './processes';

export const LOCAL_CHAIN_ID = 31337n;

/**
 * The anvil binary: `ANVIL_PATH` if set, else the binary inside the npm package `@foundry-rs/anvil-linux-amd64`
 * (an optional dependency: installed on Linux x64, no download at install time), else `anvil` on PATH
 * (foundryup) on other platforms.
 */
export function anvilBinary(): string {
  if (process.env.ANVIL_PATH) return process.env.ANVIL_PATH;
  try {
    return join(require.resolve('@foundry-rs/anvil-linux-amd64/package.json'), '..', 'bin', 'anvil');
  } catch {
    return 'anvil';
  }
}

let cachedVersion: string | undefined;

/** `anvil --version` (part of the world cache key: a new anvil may not load an old state file). */
export function anvilVersion(): string {
  cachedVersion ??= execFileSync(anvilBinary(), ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
  return cachedVersion;
}

export interface AnvilOptions {
  /** Seconds between blocks; 0 = automine (a block per transaction). */
  blockTimeSec: number;
  chainId?: bigint;
  /** A state file written from `anvil_dumpState` (plain JSON) to start from. */
  loadStatePath?: string;
  /** Where anvil writes its whole state when it exits. */
  dumpStatePath?: string;
  /**
   * How anvil orders its mempool into a block (`--order`; anvil's own default is `fees`, left implicit when
   * unset). Measured on anvil 1.7.1: `fees` sorts by maxFeePerGas (gasPrice for legacy transactions), highest
   * first, and keeps arrival order among equal ones; maxPriorityFeePerGas plays no part. `fifo` keeps arrival order.
   */
  order?: 'fees' | 'fifo';
}

export interface Anvil {
  rpcUrl: string;
  port: number;
  process: ManagedProcess;
}

/**
 * Block gas limit of every local chain: 1,000,000,000 (mainnet's is 36M). Two things need a block far larger
 * than mainnet's: seeding, which opens POSITIONS_PER_TX positions (about 0.6M gas each, local/world/seed.ts) in
 * one transaction so 10,000 borrowers take a few dozen blocks; and the keeper's batch liquidations, a flash
 * loan per account of up to 10 accounts in one transaction (2–3M gas), of which a mass crash (`mass`, ~4,000
 * liquidatable accounts) sends hundreds — a block must hold every batch the workers send in it, or the run
 * would measure the block limit instead of the keeper.
 */
export const LOCAL_BLOCK_GAS_LIMIT = 1_000_000_000n;

/**
 * Dev accounts anvil funds (1,000,000 ETH each) from its public test mnemonic: 0–5 and 10–11 have roles in the
 * world (local/world/seed.ts ACCOUNTS: 10 and 11 are the third and fourth liquidators), 6 is a test's trader,
 * 7 the operator treasury, 9 the Aave treasury.
 */
export const LOCAL_DEV_ACCOUNTS = 12;

/**
 * Starts anvil on a free loopback port, with LOCAL_BLOCK_GAS_LIMIT and the code-size limit lifted so test
 * contracts need not be split.
 */
export async function startAnvil(options: AnvilOptions): Promise<Anvil> {
  const args = [
    '--host', '127.0.0.1',
    '--port', '0',
    '--chain-id', String(options.chainId ?? LOCAL_CHAIN_ID),
    '--disable-code-size-limit',
    '--gas-limit', LOCAL_BLOCK_GAS_LIMIT.toString(),
    '--accounts', String(LOCAL_DEV_ACCOUNTS),
    '--balance', '1000000',
  ];
  if (options.blockTimeSec > 0) args.push('--block-time', String(options.blockTimeSec));
  if (options.loadStatePath) args.push('--load-state', options.loadStatePath);
  if (options.dumpStatePath) args.push('--dump-state', options.dumpStatePath);
  if (options.order) args.push('--order', options.order);
  const { process, match } = await startProcess({
    name: 'anvil',
    command: anvilBinary(),
    args,
    readyPattern: /Listening on 127\.0\.0\.1:(\d+)/,
    timeoutMs: 120_000,
    // Dumping a 10,000-borrower state on exit takes seconds; don't cut it short.
    stopGraceMs: options.dumpStatePath ? 120_000 : 5_000,
  });
  const port = Number(match[1]);
  return { rpcUrl: `http://127.0.0.1:${port}`, port, process };
}
