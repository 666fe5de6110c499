/**
 * RPC calls per block of the scanner on the `large` world (10,000 borrowers, Aave v3.6, 2 s blocks), in steady
 * state and during a shock: what the scanner did until now (every account at every block, per-call oracle reads,
 * head polled every poll interval) versus change-driven reads, side by side in one run on the same chain.
 *
 * Three scanners run concurrently, each through its OWN counting proxy (local/chaos/rpc-fault-proxy.ts, every
 * fault rate 0: it only counts calls per method, a batch of n counting n) and its own provider, with an in-memory
 * BorrowerStore holding every borrower and a queue that accepts everything and records each borrower's first
 * candidate. Settings are the production defaults (functions/config/pipeline-config.ts, read through
 * `scanSettingsFromConfig`: poll interval 500 ms, chunks of 500, 10 s deadline margin …) except:
 *   1. `before`: every-block reads, AaveV3OracleReader (4 + N eth_calls per block), no block time (the head is
 *      polled every poll interval); one long `scanBlocks` invocation;
 *   2. `every-block, lens + paced`: every-block reads, AaveV3OracleLensReader (one eth_call), blockTimeMs 2000;
 *      one long invocation. It separates what pacing and the oracle lens give from what change-driven reads give;
 *   3. `change-driven`: `changes` reads with DEFAULT_READ_POLICY, the lens, AaveV3PositionChanges (one
 *      eth_getLogs per block), blockTimeMs 2000; consecutive 60 s invocations sharing one AccountReads, as a warm
 *      Lambda container keeps it (the production 10 s deadline margin leaves ~50 s of following each).
 *
 * Phases, by block number of the chain (no worker and no other traffic: blocks are empty but for the shock):
 *   - warm-up: each scanner's first two blocks, excluded: the first reads every account (and the per-call oracle
 *     reader learns the addresses provider), the second is the first whose change log is asked, when
 *     AaveV3PositionChanges learns the market's addresses (configurator, aTokens) with a few eth_calls;
 *   - steady: from there to the block before the shock (~40 blocks, no price change);
 *   - shock: the block where `world.setPrice` sets WETH to the scenario's shock price (−13.3 %, $3,000 → $2,600),
 *     and the 14 blocks after it. setPrice mines that block itself (then interval mining starts again), so it is
 *     sent half a block after the last steady block appeared, not right after it.
 * Attribution: at each block a scanner reports (its `onEvent` block progress) the bench copies that scanner's
 * proxy counters. scanBlocks is sequential and the head poll after a block is made before the block is reported,
 * so a phase (a, b] of a scanner is "counters at its last block ≤ b − counters at its last block ≤ a", divided by
 * the chain blocks between those two blocks. Its own per-block `rpcCalls` (what the Lambda publishes as the
 * RpcCalls metric) summed over the same blocks is printed next to it as a cross-check; the bench also wraps the
 * adapters to split calls by role (head polls, oracle, position changes, health lens). The two differ by the head
 * polls an invocation makes after its last block, waiting for one more until its deadline: they are in the
 * invocation's summary but in no block's progress (so the RpcCalls metric misses them).
 *
 * Fails (throws) if the change-driven scanner's steady-state calls per block exceed 5, or if the scanners did not
 * enqueue the same accounts at the same first block (the `before` scanner may differ only at blocks it skipped
 * because it lagged; its lag is reported).
 *
 * The per-block figures are also written as JSON (default bench/out/rpc-calls.json, gitignored; option
 * `jsonPath`), for bench/cost-estimate.ts to read with `readRpcCallsFigures`. Shape (RpcCallsFigures):
 *   {
 *     version: 1, measuredAt: ISO-8601, scenario: 'large', borrowers: number, reserves: number, blockTimeSec: 2,
 *     phases: { steady: { fromBlock, toBlock, blocks }, shock: { fromBlock, toBlock, blocks } },  // inclusive blocks
 *     scanners: [{
 *       key: 'before' | 'every-block-lens-paced' | 'change-driven', label: string,
 *       settings: { reads: 'every-block' | 'changes', oracle: 'per-call' | 'lens', blockTimeMs: number | null,
 *                   pollIntervalMs: number, chunkSize: number, invocationMs: number | null },
 *       phases: { steady: PhaseFigures, shock: PhaseFigures },
 *     }],
 *   }
 *   PhaseFigures: { chainBlocks, blocksHandled, callsPerBlock (proxy count ÷ chainBlocks),
 *                   callsPerBlockByMethod: { [method]: number }, reportedCallsPerBlock (scanner's own count),
 *                   callsPerBlockByRole: { head, oracle, changes, health }, accountsReadPerBlock,
 *                   maxLagBlocks, skippedBlocks: number[], repeatedBlocks }
 *   PhaseFigures also carries the store writes the scanner reported (BlockProgress `recordsWritten`,
 *   `snapshotsWritten`) summed over the phase ÷ chainBlocks: `recordsWrittenPerBlock`, `snapshotsWrittenPerBlock`.
 *   `cpu` (CpuFigures, see `measureScannerCpu`): the change-driven scanner's CPU time per block, measured alone.
 * Next to it, `<name>-trace.json` holds every block each scanner reported (block, ms since the run started, RPC
 * calls, accounts read and why, lag, duration), to see where the calls of a phase went.
 *
 * CPU per block (for the scanner's Lambda memory, bench/cost-estimate.ts): before the comparison, one change-driven
 * scanner runs ALONE in this process (no proxy: its provider talks to anvil directly; anvil is another process),
 * and `process.cpuUsage()` (user + system) is read at the start of each invocation and at each block it reports.
 * A block's CPU is the difference from the previous reading: everything the invocation did for it (head polls and
 * paced waits, oracle lens, change log, health reads, decoding, decisions, store writes to memory). Invocation 1
 * starts cold (first block: every account read, unknown to the store), then SOLO_STEADY_BLOCKS quiet blocks after
 * the second (where the change log learns the market's addresses); invocation 2 starts with empty readings over the
 * same store: its first block reads everyone again against stored health factors, which is the hourly re-read
 * (`maxReadIntervalSec`) and a new container's first block. The process holds nothing else busy then (the world
 * has no services), so the figures are the scanner's own, JIT warm-up included (the first block pays it). Heap
 * used after each invocation's first block is recorded too (process-wide: an upper bound of the scanner's state).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpuUsage, memoryUsage } from 'node:process';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { JsonRpcProvider } from 'ethers';
import { AaveV3OracleLensReader } from '../functions/adapters/chain/aave-v3-oracle-lens-reader';
import { AaveV3OracleReader } from '../functions/adapters/chain/aave-v3-oracle-reader';
import { AaveV3PositionChanges } from '../functions/adapters/chain/aave-v3-position-changes';
import { AaveV3HealthScanner } from '../functions/adapters/chain/health-scan';
import { createJsonRpcProvider, latestBlockNumber } from '../functions/adapters/chain/provider';
import { loadPipelineConfig, type PipelineConfig } from '../functions/config/pipeline-config';
import { DEFAULT_READ_POLICY } from '../functions/domain/read-policy';
import { scanSettingsFromConfig } from '../functions/handlers/scanner';
import { AccountReads, type PositionChangeSource } from '../functions/pipeline/account-reads';
import type { CandidateMessage } from '../functions/pipeline/candidate-message';
import {
  type AccountScanner,
  type BlockProgress,
  type BlockSource,
  type OracleSource,
  type ReadMode,
  scanBlocks,
  type ScanBlocksSettings,
  type ScanEvent,
} from '../functions/pipeline/scan-blocks';
import type { CandidateQueue } from '../functions/ports/candidate-queue';
import { systemClock } from '../functions/ports/clock';
import { type RpcFaultProxy, startRpcFaultProxy } from '../local/chaos/rpc-fault-proxy';
import { MemoryBorrowerStore } from '../local/runtime/memory-borrower-store';
import { loadScenario } from '../local/world/scenario';
import { startWorld } from '../local/world/world';
import type { BenchResult } from './run';

export const RPC_CALLS_JSON_PATH = join(__dirname, 'out', 'rpc-calls.json');

/** The world measured unless the caller names another (`rpc-calls-many-reserves`: 24 reserves, 340 borrowers). */
const DEFAULT_SCENARIO = 'large';
/** Blocks each scanner handles before the steady state is measured (see the header). */
const WARM_UP_BLOCKS = 2;
const STEADY_BLOCKS = 40;
/** The shock block and the blocks after it that are measured. */
const SHOCK_BLOCKS = 15;
/** When the shock is sent after a block appeared (ms): half the scenario's block time. */
const SHOCK_OFFSET_MS = 1_000;
/** The scanners' block time setting (ms) where pacing is on: the scenario's 2 s. */
const BLOCK_TIME_MS = 2_000;
/** Length of one change-driven invocation (its deadline from its start), as a 1-minute schedule gives. */
const INVOCATION_MS = 60_000;
/** Invocations that follow the whole run end by the bench's abort, not by their deadline. */
const LONG_INVOCATION_MS = 3_600_000;
const TARGET_STEADY_CALLS_PER_BLOCK = 5;
/** A shock that makes fewer accounts liquidatable would not test the comparison. */
const MIN_SHOCK_LIQUIDATABLE = 100;
/** How long the scanners may take to reach the last measured block once the chain has passed it (lag). */
const CATCH_UP_MS = 60_000;
/** Quiet blocks of the CPU measurement, after its cold first block and the change log's learning block. */
const SOLO_STEADY_BLOCKS = 10;
const WATCH_POLL_MS = 200;
const PROGRESS_EVERY_MS = 10_000;

const log = (line: string) => console.error(`  ${line}`);
const lower = (address: string) => address.toLowerCase();

export type ScannerKey = 'before' | 'every-block-lens-paced' | 'change-driven';
export type Role = 'head' | 'oracle' | 'changes' | 'health';
const ROLES: readonly Role[] = ['head', 'oracle', 'changes', 'health'];

export interface PhaseFigures {
  /** Chain blocks the figures are divided by (between the scanner's last blocks at or before the phase bounds). */
  chainBlocks: number;
  /** Distinct chain blocks of the phase the scanner handled. */
  blocksHandled: number;
  /** Blocks handled a second time: a new invocation starts with the head, which may be its predecessor's last block. */
  repeatedBlocks: number;
  /** Proxy count ÷ chainBlocks. */
  callsPerBlock: number;
  callsPerBlockByMethod: Record<string, number>;
  /** The scanner's own per-block `rpcCalls` (its RpcCalls metric) summed over the phase ÷ chainBlocks. */
  reportedCallsPerBlock: number;
  /** Calls the adapters reported, by role, ÷ chainBlocks. */
  callsPerBlockByRole: Record<Role, number>;
  accountsReadPerBlock: number;
  /** Borrower records the scanner sent to the store (BlockProgress.recordsWritten) ÷ chainBlocks; absent in older files. */
  recordsWrittenPerBlock?: number;
  /** Health snapshots the scanner sent to the store (BlockProgress.snapshotsWritten) ÷ chainBlocks; absent in older files. */
  snapshotsWrittenPerBlock?: number;
  maxLagBlocks: number;
  /** Chain blocks of the phase the scanner never handled (it jumped to a newer head). */
  skippedBlocks: number[];
}

export interface RpcCallsFigures {
  version: 1;
  measuredAt: string;
  scenario: string;
  borrowers: number;
  reserves: number;
  blockTimeSec: number;
  phases: Record<'steady' | 'shock', { fromBlock: number; toBlock: number; blocks: number }>;
  scanners: {
    key: ScannerKey;
    label: string;
    settings: { reads: 'every-block' | 'changes'; oracle: 'per-call' | 'lens'; blockTimeMs: number | null; pollIntervalMs: number; chunkSize: number; invocationMs: number | null };
    phases: Record<'steady' | 'shock', PhaseFigures>;
  }[];
  /** The change-driven scanner's CPU time per block, measured alone (see the header); absent in older files. */
  cpu?: CpuFigures;
}

/** One measured block of the CPU measurement. */
export interface CpuBlock {
  block: number;
  /** process.cpuUsage() user + system since the previous reading (ms). */
  cpuMs: number;
  /** Wall time since the previous reading (ms): waits for the chain included. */
  wallMs: number;
  accountsScanned: number;
  rpcCalls: number;
  recordsWritten: number;
  snapshotsWritten: number;
}

export interface CpuFigures {
  /** Invocation 1, first block: every account read, all new to the store (a cold start on an empty table). */
  coldFirstBlock: CpuBlock;
  /** Invocation 2, first block: every account read again against stored health factors (the hourly re-read). */
  fullReread: CpuBlock;
  /** Invocation 1, the quiet blocks after the learning block: mean and max CPU per block (ms). */
  steady: { blocks: number; cpuMsPerBlock: number; maxCpuMs: number; wallMsPerBlock: number; accountsReadPerBlock: number };
  /** process.memoryUsage().heapUsed (MB) before the scanner started and after each invocation's first block. */
  heapUsedMb: { before: number; afterColdFirstBlock: number; afterFullReread: number };
}

/** The figures a run wrote (bench/cost-estimate.ts reads the steady-state calls per block from them). */
export function readRpcCallsFigures(path: string = RPC_CALLS_JSON_PATH): RpcCallsFigures {
  const figures = JSON.parse(readFileSync(path, 'utf8')) as RpcCallsFigures;
  if (figures.version !== 1) throw new Error(`${path}: unknown rpc-calls figures version ${String(figures.version)}`);
  return figures;
}

/** A queue that accepts everything and records, per borrower, the block of its first candidate. */
class FirstEnqueueQueue implements CandidateQueue {
  readonly firstBlock = new Map<string, number>();

  async publish(messages: readonly CandidateMessage[]): Promise<{ sent: number; failed: { message: CandidateMessage; reason: string }[] }> {
    for (const m of messages) if (!this.firstBlock.has(lower(m.borrower))) this.firstBlock.set(lower(m.borrower), m.detectedBlock);
    return { sent: messages.length, failed: [] };
  }
}

/** What the bench knows right after a scanner reported a block. */
interface BlockRecord {
  progress: BlockProgress;
  atMs: number;
  /** The proxy's cumulative calls per method at that moment. */
  proxyCalls: Record<string, number>;
  /** The adapters' cumulative calls per role at that moment. */
  roleCalls: Record<Role, number>;
}

interface ScannerUnderTest {
  key: ScannerKey;
  label: string;
  description: RpcCallsFigures['scanners'][number]['settings'];
  settings: ScanBlocksSettings;
  proxy: RpcFaultProxy;
  provider: JsonRpcProvider;
  store: MemoryBorrowerStore;
  queue: FirstEnqueueQueue;
  accounts: AccountScanner;
  oracle: OracleSource;
  blocks: BlockSource;
  changes?: PositionChangeSource;
  reads?: AccountReads;
  roleCalls: Record<Role, number>;
  records: BlockRecord[];
  invocations: number;
  failures: number;
}

/** Adapters that add what they report (or, for the head, each poll) to the scanner's per-role counters. */
function countingAdapters(s: Pick<ScannerUnderTest, 'roleCalls'>, ports: { accounts: AccountScanner; oracle: OracleSource; blocks: BlockSource; changes?: PositionChangeSource }) {
  return {
    accounts: {
      scan: async (users, block) => {
        const result = await ports.accounts.scan(users, block);
        s.roleCalls.health += result.rpcCalls;
        return result;
      },
    } satisfies AccountScanner,
    oracle: {
      readAt: async (block) => {
        const result = await ports.oracle.readAt(block);
        s.roleCalls.oracle += result.rpcCalls;
        return result;
      },
    } satisfies OracleSource,
    blocks: {
      latestBlockNumber: () => {
        s.roleCalls.head++;
        return ports.blocks.latestBlockNumber();
      },
    } satisfies BlockSource,
    ...(ports.changes
      ? {
          changes: {
            changesIn: async (from, to) => {
              const result = await ports.changes!.changesIn(from, to);
              s.roleCalls.changes += result.rpcCalls;
              return result;
            },
          } satisfies PositionChangeSource,
        }
      : {}),
  };
}

interface ScannerSpec {
  key: ScannerKey;
  label: string;
  reads: ReadMode;
  oracle: 'per-call' | 'lens';
  blockTimeMs?: number;
  invocationMs?: number;
}

async function scannerUnderTest(spec: ScannerSpec, config: PipelineConfig, upstream: string, borrowers: readonly string[], startBlock: number): Promise<ScannerUnderTest> {
  const proxy = await startRpcFaultProxy({ upstream, seed: 1 });
  const provider = createJsonRpcProvider(proxy.url, config.chainId);
  // The configuration sets no block time (SCANNER_BLOCK_TIME_MS unset): unpaced unless the spec says otherwise.
  const settings: ScanBlocksSettings = { ...scanSettingsFromConfig(config), reads: spec.reads, ...(spec.blockTimeMs === undefined ? {} : { blockTimeMs: spec.blockTimeMs }) };
  const roleCalls: Record<Role, number> = { head: 0, oracle: 0, changes: 0, health: 0 };
  const adapters = countingAdapters(
    { roleCalls },
    {
      accounts: new AaveV3HealthScanner(provider, config.pool, { chunkSize: config.scanner.chunkSize }),
      oracle: spec.oracle === 'lens' ? new AaveV3OracleLensReader(provider, config.pool) : new AaveV3OracleReader(provider, config.pool),
      blocks: { latestBlockNumber: () => latestBlockNumber(provider) },
      ...(spec.reads.mode === 'changes' ? { changes: new AaveV3PositionChanges(provider, config.pool) } : {}),
    },
  );
  return {
    key: spec.key,
    label: spec.label,
    description: {
      reads: spec.reads.mode,
      oracle: spec.oracle,
      blockTimeMs: spec.blockTimeMs ?? null,
      pollIntervalMs: settings.pollIntervalMs,
      chunkSize: config.scanner.chunkSize,
      invocationMs: spec.invocationMs ?? null,
    },
    settings,
    proxy,
    provider,
    store: new MemoryBorrowerStore(borrowers, startBlock),
    queue: new FirstEnqueueQueue(),
    ...adapters,
    ...(spec.reads.mode === 'changes' ? { reads: new AccountReads(spec.reads.policy, spec.reads.maxGapBlocks) } : {}),
    roleCalls,
    records: [],
    invocations: 0,
    failures: 0,
  };
}

/** Follows blocks until the signal aborts: one long invocation, or consecutive `invocationMs` ones sharing `reads`. */
async function follow(s: ScannerUnderTest, invocationMs: number, signal: AbortSignal): Promise<void> {
  const onEvent = (e: ScanEvent) => {
    if (e.kind === 'block') {
      s.records.push({ progress: e.progress, atMs: Date.now(), proxyCalls: callsByMethod(s.proxy), roleCalls: { ...s.roleCalls } });
    } else if (e.kind === 'block-failed') {
      s.failures++;
      log(`${s.label}: ${e.error.message} (${e.consecutiveFailures} in a row)`);
    } else if (e.kind === 'pacing-off') {
      log(`${s.label}: pacing off at block ${e.block} (${e.skippedBlocks} blocks skipped during a paced wait)`);
    }
  };
  try {
    while (!signal.aborted) {
      s.invocations++;
      await scanBlocks(
        {
          settings: s.settings,
          store: s.store,
          queue: s.queue,
          accounts: s.accounts,
          oracle: s.oracle,
          blocks: s.blocks,
          ...(s.changes ? { changes: s.changes } : {}),
          ...(s.reads ? { reads: s.reads } : {}),
          clock: systemClock,
          // Aborting ends a scanner's sleep with an AbortError, which scanBlocks rethrows (not a stage failure).
          sleep: (ms) => delay(ms, undefined, { signal }),
          onEvent,
        },
        { deadlineAtMs: Date.now() + invocationMs },
      );
    }
  } catch (err) {
    if (!(signal.aborted && (err as Error).name === 'AbortError')) throw err;
  }
}

function callsByMethod(proxy: RpcFaultProxy): Record<string, number> {
  return Object.fromEntries(Object.entries(proxy.stats().byMethod).map(([method, m]) => [method, m.calls]));
}

const lastHandled = (s: ScannerUnderTest) => s.records[s.records.length - 1]?.progress.block;

/** The scanner's record of the last block it handled at or before `block`. */
function recordAtOrBefore(s: ScannerUnderTest, block: number): BlockRecord {
  let found: BlockRecord | undefined;
  for (const r of s.records) if (r.progress.block <= block) found = r;
  if (!found) throw new Error(`${s.label} handled no block at or before ${block}`);
  return found;
}

/** Figures of the phase (a, b] of the chain for one scanner (see the header for the attribution). */
function phaseFigures(s: ScannerUnderTest, afterBlock: number, toBlock: number): PhaseFigures {
  const start = recordAtOrBefore(s, afterBlock);
  const end = recordAtOrBefore(s, toBlock);
  const chainBlocks = end.progress.block - start.progress.block;
  if (chainBlocks <= 0) throw new Error(`${s.label} handled no block in (${afterBlock}, ${toBlock}]`);
  const handled = s.records.filter((r) => r.progress.block > start.progress.block && r.progress.block <= end.progress.block).map((r) => r.progress);
  const distinct = new Set(handled.map((p) => p.block));
  const skippedBlocks: number[] = [];
  for (let b = start.progress.block + 1; b <= end.progress.block; b++) if (!distinct.has(b)) skippedBlocks.push(b);
  const methods = new Set([...Object.keys(start.proxyCalls), ...Object.keys(end.proxyCalls)]);
  const byMethod: Record<string, number> = {};
  for (const method of [...methods].sort()) {
    const calls = (end.proxyCalls[method] ?? 0) - (start.proxyCalls[method] ?? 0);
    if (calls > 0) byMethod[method] = calls / chainBlocks;
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    chainBlocks,
    blocksHandled: distinct.size,
    repeatedBlocks: handled.length - distinct.size,
    callsPerBlock: sum(Object.values(byMethod)),
    callsPerBlockByMethod: byMethod,
    reportedCallsPerBlock: sum(handled.map((p) => p.rpcCalls)) / chainBlocks,
    callsPerBlockByRole: Object.fromEntries(ROLES.map((role) => [role, (end.roleCalls[role] - start.roleCalls[role]) / chainBlocks])) as Record<Role, number>,
    accountsReadPerBlock: sum(handled.map((p) => p.accountsScanned)) / chainBlocks,
    recordsWrittenPerBlock: sum(handled.map((p) => p.recordsWritten)) / chainBlocks,
    snapshotsWrittenPerBlock: sum(handled.map((p) => p.snapshotsWritten)) / chainBlocks,
    maxLagBlocks: Math.max(0, ...handled.map((p) => p.lagBlocks)),
    skippedBlocks,
  };
}

const fmt = (x: number, digits = 2) => x.toFixed(digits);

function describePhase(label: string, p: PhaseFigures): string {
  const methods = Object.entries(p.callsPerBlockByMethod).map(([m, v]) => `${m} ${fmt(v)}`).join(', ');
  const roles = ROLES.map((r) => `${r} ${fmt(p.callsPerBlockByRole[r])}`).join(', ');
  return (
    `${label}: ${fmt(p.callsPerBlock)} calls/block by the proxy (${methods}); ${fmt(p.reportedCallsPerBlock)} by the scanner's own count ` +
    `(${roles}); ${fmt(p.accountsReadPerBlock, 1)} accounts read/block; ` +
    `${fmt(p.recordsWrittenPerBlock ?? 0)} records + ${fmt(p.snapshotsWrittenPerBlock ?? 0)} snapshots written/block; ${p.blocksHandled}/${p.chainBlocks} blocks handled` +
    `${p.skippedBlocks.length > 0 ? ` (skipped ${p.skippedBlocks.join(', ')})` : ''}${p.repeatedBlocks > 0 ? `, ${p.repeatedBlocks} handled twice` : ''}, max lag ${p.maxLagBlocks}`
  );
}

/** Waits until `done()` holds, checking every WATCH_POLL_MS; throws after `timeoutMs` with `what`. */
async function until(done: () => boolean | Promise<boolean>, timeoutMs: number, what: string, signal: AbortSignal): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > giveUpAt) throw new Error(`timed out waiting for ${what}`);
    await delay(WATCH_POLL_MS, undefined, { signal });
  }
}

/**
 * Checks that the scanners enqueued the same borrowers at the same first blocks. The `before` scanner may have
 * enqueued a borrower later only if it did not handle the block where the others found it (it lagged).
 * Returns, per scanner, how many of its first enqueues came later than the change-driven scanner's.
 */
function compareEnqueues(scanners: readonly ScannerUnderTest[]): Map<ScannerKey, number> {
  const reference = scanners.find((s) => s.key === 'change-driven')!;
  const late = new Map<ScannerKey, number>();
  for (const s of scanners) {
    if (s === reference) continue;
    const handled = new Set(s.records.map((r) => r.progress.block));
    let lateCount = 0;
    const problems: string[] = [];
    for (const [borrower, block] of reference.queue.firstBlock) {
      const other = s.queue.firstBlock.get(borrower);
      if (other === undefined) problems.push(`${borrower}: enqueued by ${reference.label} at ${block}, never by ${s.label}`);
      else if (other !== block) {
        const skippedOnly = s.key === 'before' && other > block && [...Array(other - block).keys()].every((i) => !handled.has(block + i));
        if (skippedOnly) lateCount++;
        else problems.push(`${borrower}: enqueued at ${block} by ${reference.label}, at ${other} by ${s.label}`);
      }
    }
    for (const [borrower, block] of s.queue.firstBlock) {
      if (!reference.queue.firstBlock.has(borrower)) problems.push(`${borrower}: enqueued by ${s.label} at ${block}, never by ${reference.label}`);
    }
    if (problems.length > 0) throw new Error(`the scanners disagree on ${problems.length} accounts, e.g. ${problems.slice(0, 3).join('; ')}`);
    late.set(s.key, lateCount);
  }
  return late;
}

const cpuMsNow = (): number => {
  const { user, system } = cpuUsage();
  return (user + system) / 1000;
};
const heapUsedMb = (): number => memoryUsage().heapUsed / 2 ** 20;

/**
 * The change-driven scanner alone, with the production adapters on a direct provider (see the header): CPU per
 * block of a cold first block, of quiet blocks, and of a full re-read against stored health factors.
 */
async function measureScannerCpu(config: PipelineConfig, rpcUrl: string, borrowers: readonly string[], startBlock: number): Promise<CpuFigures> {
  const reads = config.scanner.reads;
  if (reads.mode !== 'changes') throw new Error('the scanner default read mode is no longer `changes`');
  const provider = createJsonRpcProvider(rpcUrl, config.chainId);
  const store = new MemoryBorrowerStore(borrowers, startBlock);
  const ports = {
    store,
    queue: new FirstEnqueueQueue(),
    accounts: new AaveV3HealthScanner(provider, config.pool, { chunkSize: config.scanner.chunkSize }),
    oracle: new AaveV3OracleLensReader(provider, config.pool),
    blocks: { latestBlockNumber: () => latestBlockNumber(provider) },
    changes: new AaveV3PositionChanges(provider, config.pool),
    clock: systemClock,
  };
  const settings: ScanBlocksSettings = { ...scanSettingsFromConfig(config), reads: { mode: 'changes', policy: DEFAULT_READ_POLICY, maxGapBlocks: reads.maxGapBlocks }, blockTimeMs: BLOCK_TIME_MS };
  /** One invocation with fresh readings, until it has reported `blocks` blocks. */
  const invocation = async (blocks: number): Promise<CpuBlock[]> => {
    const abort = new AbortController();
    const measured: CpuBlock[] = [];
    let lastCpuMs = cpuMsNow();
    let lastWallMs = Date.now();
    const onEvent = (e: ScanEvent) => {
      if (e.kind === 'block-failed') log(`cpu measurement: ${e.error.message}`);
      if (e.kind !== 'block' || abort.signal.aborted) return;
      const [cpuMs, wallMs, p] = [cpuMsNow(), Date.now(), e.progress];
      measured.push({ block: p.block, cpuMs: cpuMs - lastCpuMs, wallMs: wallMs - lastWallMs, accountsScanned: p.accountsScanned, rpcCalls: p.rpcCalls, recordsWritten: p.recordsWritten, snapshotsWritten: p.snapshotsWritten });
      [lastCpuMs, lastWallMs] = [cpuMs, wallMs];
      if (measured.length >= blocks) abort.abort();
    };
    try {
      await scanBlocks(
        { settings, ...ports, reads: new AccountReads(DEFAULT_READ_POLICY, reads.maxGapBlocks), sleep: (ms) => delay(ms, undefined, { signal: abort.signal }), onEvent },
        { deadlineAtMs: Date.now() + (blocks + 10) * BLOCK_TIME_MS * 2 },
      );
    } catch (err) {
      if (!(abort.signal.aborted && (err as Error).name === 'AbortError')) throw err;
    }
    if (measured.length < blocks) throw new Error(`cpu measurement: the scanner reported ${measured.length} of ${blocks} blocks`);
    return measured;
  };
  try {
    const before = heapUsedMb();
    const first = await invocation(2 + SOLO_STEADY_BLOCKS);
    const afterColdFirstBlock = heapUsedMb();
    const [reread] = await invocation(1);
    const afterFullReread = heapUsedMb();
    const quiet = first.slice(2);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return {
      coldFirstBlock: first[0],
      fullReread: reread,
      steady: {
        blocks: quiet.length,
        cpuMsPerBlock: mean(quiet.map((b) => b.cpuMs)),
        maxCpuMs: Math.max(...quiet.map((b) => b.cpuMs)),
        wallMsPerBlock: mean(quiet.map((b) => b.wallMs)),
        accountsReadPerBlock: mean(quiet.map((b) => b.accountsScanned)),
      },
      heapUsedMb: { before, afterColdFirstBlock, afterFullReread },
    };
  } finally {
    provider.destroy();
  }
}

export async function rpcCalls(options: { jsonPath?: string; scenario?: string } = {}): Promise<BenchResult> {
  const SCENARIO = options.scenario ?? DEFAULT_SCENARIO;
  const jsonPath = options.jsonPath ?? RPC_CALLS_JSON_PATH;
  const scenario = loadScenario(SCENARIO);
  const shock = scenario.shocks.find((s) => s.prices.WETH !== undefined);
  if (!shock) throw new Error(`scenario ${SCENARIO} has no WETH shock`);
  const world = await startWorld({ scenario, services: false, log });
  const abort = new AbortController();
  const { signal } = abort;
  const scanners: ScannerUnderTest[] = [];
  const running: Promise<void>[] = [];
  let progress: NodeJS.Timeout | undefined;
  try {
    const { rpcUrl, market, startBlock, chainId } = world.info;
    const borrowers = world.info.borrowers.map((b) => b.address);
    // The functions' own defaults: a minimal scanner environment, everything else defaulted.
    const config = loadPipelineConfig({ CHAIN_ID: chainId, MARKET_NAME: 'bench', POOL_ADDRESS: market.pool, AAVE_POOL_VERSION: '3.6', RPC_URL: rpcUrl });
    const changesDefaults = config.scanner.reads;
    if (changesDefaults.mode !== 'changes') throw new Error('the scanner default read mode is no longer `changes`');
    // CPU per block of the change-driven scanner, alone in the process, before the comparison starts.
    const cpu = await measureScannerCpu(config, rpcUrl, borrowers, startBlock);
    log(
      `cpu (change-driven, alone): cold first block ${fmt(cpu.coldFirstBlock.cpuMs, 0)} ms (${cpu.coldFirstBlock.accountsScanned} accounts); ` +
        `full re-read ${fmt(cpu.fullReread.cpuMs, 0)} ms (${cpu.fullReread.accountsScanned} accounts, ${cpu.fullReread.recordsWritten} records, ${cpu.fullReread.snapshotsWritten} snapshots written); ` +
        `quiet blocks ${fmt(cpu.steady.cpuMsPerBlock, 1)} ms mean, ${fmt(cpu.steady.maxCpuMs, 1)} ms max over ${cpu.steady.blocks}; ` +
        `heap ${fmt(cpu.heapUsedMb.before, 0)} → ${fmt(cpu.heapUsedMb.afterColdFirstBlock, 0)} → ${fmt(cpu.heapUsedMb.afterFullReread, 0)} MB`,
    );
    const specs: ScannerSpec[] = [
      { key: 'before', label: 'before', reads: { mode: 'every-block' }, oracle: 'per-call' },
      { key: 'every-block-lens-paced', label: 'every-block, lens + paced', reads: { mode: 'every-block' }, oracle: 'lens', blockTimeMs: BLOCK_TIME_MS },
      {
        key: 'change-driven',
        label: 'change-driven',
        reads: { mode: 'changes', policy: DEFAULT_READ_POLICY, maxGapBlocks: changesDefaults.maxGapBlocks },
        oracle: 'lens',
        blockTimeMs: BLOCK_TIME_MS,
        invocationMs: INVOCATION_MS,
      },
    ];
    for (const spec of specs) scanners.push(await scannerUnderTest(spec, config, rpcUrl, borrowers, startBlock));
    const t0 = Date.now();
    const elapsed = () => `+${((Date.now() - t0) / 1000).toFixed(0)} s`;
    for (const [i, s] of scanners.entries()) running.push(follow(s, specs[i].invocationMs ?? LONG_INVOCATION_MS, signal));
    // A scanner that gives up (too many failed blocks) ends the run at the next check instead of a timeout.
    const failed: Error[] = [];
    running.forEach((p, i) => p.catch((err: unknown) => failed.push(new Error(`${scanners[i].label} stopped: ${(err as Error).message}`, { cause: err }))));
    /** Throws the first scanner failure; otherwise true, so it can lead a wait condition. */
    const healthy = (): true => {
      if (failed.length > 0) throw failed[0];
      return true;
    };
    let phase = 'warm-up';
    progress = setInterval(() => {
      const parts = scanners.map((s) => {
        const last = s.records[s.records.length - 1]?.progress;
        const calls = Object.values(callsByMethod(s.proxy)).reduce((a, b) => a + b, 0);
        return `${s.label} at ${last?.block ?? '-'} (lag ${last?.lagBlocks ?? '-'}, ${calls} calls)`;
      });
      log(`${elapsed()} ${phase}: ${parts.join('; ')}`);
    }, PROGRESS_EVERY_MS);

    // Warm-up: every scanner's first block reads every account; the second asks the change log for the first time.
    await until(() => healthy() && scanners.every((s) => s.records.length >= WARM_UP_BLOCKS), 120_000, 'every scanner to handle its first blocks', signal);
    const warmedUpAt = Math.max(...scanners.map((s) => s.records[WARM_UP_BLOCKS - 1].progress.block));
    phase = 'steady';
    log(`${elapsed()} warm-up done at block ${warmedUpAt}; steady state for ${STEADY_BLOCKS} blocks`);

    // Steady state: no price change for STEADY_BLOCKS blocks, then the shock.
    await until(async () => healthy() && (await latestBlockNumber(world.provider)) >= warmedUpAt + STEADY_BLOCKS, (STEADY_BLOCKS + 10) * 2_000 * 2, 'the steady blocks', signal);
    // Half a block after the last steady block appeared: setPrice mines its own block at once, so sent right after
    // a regular block it would land within milliseconds of it, and a scanner would see the two as one step.
    await delay(SHOCK_OFFSET_MS, undefined, { signal });
    // Every price of the scenario's first step that moves WETH, in one block (`large`: WETH alone).
    const shockBlock = await world.setPrices(shock.prices);
    phase = 'shock';
    log(`${elapsed()} shock: ${Object.keys(shock.prices).length} price(s), WETH → $${(Number(shock.prices.WETH!) / 1e8).toLocaleString('en-US')} at block ${shockBlock}`);
    const lastBlock = shockBlock + SHOCK_BLOCKS - 1;
    await until(async () => healthy() && (await latestBlockNumber(world.provider)) > lastBlock, SHOCK_BLOCKS * 2_000 * 3, `block ${lastBlock + 1}`, signal);
    await until(() => healthy() && scanners.every((s) => (lastHandled(s) ?? -1) >= lastBlock), CATCH_UP_MS, `every scanner to handle block ${lastBlock} (lag)`, signal);
    clearInterval(progress);
    progress = undefined;
    abort.abort();
    await Promise.all(running);

    // Figures per scanner and phase.
    const steadyRange = { fromBlock: warmedUpAt + 1, toBlock: shockBlock - 1 };
    const shockRange = { fromBlock: shockBlock, toBlock: lastBlock };
    const figures = scanners.map((s) => ({
      s,
      steady: phaseFigures(s, steadyRange.fromBlock - 1, steadyRange.toBlock),
      shock: phaseFigures(s, shockRange.fromBlock - 1, shockRange.toBlock),
    }));
    log(`steady: blocks ${steadyRange.fromBlock}–${steadyRange.toBlock}; shock: blocks ${shockRange.fromBlock}–${shockRange.toBlock}`);
    for (const { s, steady, shock: atShock } of figures) {
      log(`${s.label}: ${s.invocations} invocation(s), ${s.failures} failed blocks, first block ${s.records[0].progress.block} read ${s.records[0].progress.accountsScanned} accounts with ${s.records[0].progress.rpcCalls} calls`);
      log(`  ${describePhase('steady', steady)}`);
      log(`  ${describePhase('shock', atShock)}`);
    }

    // Same accounts at the same first block.
    const late = compareEnqueues(scanners);
    const enqueued = scanners.find((s) => s.key === 'change-driven')!.queue.firstBlock;
    const atShock = [...enqueued.values()].filter((b) => b === shockBlock).length;
    log(`enqueued: ${scanners.map((s) => `${s.label} ${s.queue.firstBlock.size}`).join(', ')}; ${atShock} at the shock block ${shockBlock}; before enqueued ${late.get('before') ?? 0} later (blocks it skipped)`);
    if (enqueued.size < MIN_SHOCK_LIQUIDATABLE) throw new Error(`only ${enqueued.size} accounts were enqueued: the shock did not test the comparison`);

    const byKey = (key: ScannerKey) => figures.find((f) => f.s.key === key)!;
    const [before, paced, changes] = [byKey('before'), byKey('every-block-lens-paced'), byKey('change-driven')];

    const result: RpcCallsFigures = {
      version: 1,
      measuredAt: new Date().toISOString(),
      scenario: SCENARIO,
      borrowers: borrowers.length,
      reserves: Object.keys(world.info.tokens).length,
      blockTimeSec: world.info.blockTimeSec,
      phases: {
        steady: { ...steadyRange, blocks: steadyRange.toBlock - steadyRange.fromBlock + 1 },
        shock: { ...shockRange, blocks: shockRange.toBlock - shockRange.fromBlock + 1 },
      },
      scanners: figures.map(({ s, steady, shock: atShockFigures }) => ({ key: s.key, label: s.label, settings: s.description, phases: { steady, shock: atShockFigures } })),
      cpu,
    };
    mkdirSync(dirname(jsonPath), { recursive: true });
    writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
    const tracePath = jsonPath.replace(/(\.json)?$/, '-trace.json');
    const trace = Object.fromEntries(
      scanners.map((s) => [
        s.key,
        s.records.map(({ progress: p, atMs }) => ({
          block: p.block,
          ms: atMs - t0,
          rpcCalls: p.rpcCalls,
          accountsScanned: p.accountsScanned,
          readsBy: p.readsBy,
          lagBlocks: p.lagBlocks,
          durationMs: p.durationMs,
          ...(p.firstOfInvocation ? { firstOfInvocation: true } : {}),
        })),
      ]),
    );
    writeFileSync(tracePath, `${JSON.stringify(trace)}\n`);
    log(`figures written to ${jsonPath}, per-block trace to ${tracePath}`);

    const steadyCalls = changes.steady.callsPerBlock;
    log(`target: change-driven ≤ ${TARGET_STEADY_CALLS_PER_BLOCK} calls/block in steady state: ${steadyCalls <= TARGET_STEADY_CALLS_PER_BLOCK ? 'met' : 'NOT met'} (${fmt(steadyCalls)})`);
    if (steadyCalls > TARGET_STEADY_CALLS_PER_BLOCK) {
      throw new Error(`change-driven scanner: ${fmt(steadyCalls)} RPC calls per block in steady state, target ≤ ${TARGET_STEADY_CALLS_PER_BLOCK}`);
    }

    const rows: BenchResult['rows'] = [];
    for (const { s, steady, shock: atShockFigures } of figures) {
      rows.push(
        { label: `${s.label}: steady calls/block`, value: steady.callsPerBlock, unit: 'calls' },
        { label: `${s.label}: shock calls/block`, value: atShockFigures.callsPerBlock, unit: 'calls' },
        { label: `${s.label}: steady accounts read/block`, value: steady.accountsReadPerBlock, unit: 'accounts' },
        { label: `${s.label}: shock accounts read/block`, value: atShockFigures.accountsReadPerBlock, unit: 'accounts' },
        { label: `${s.label}: max lag (steady / shock)`, value: Math.max(steady.maxLagBlocks, atShockFigures.maxLagBlocks), unit: 'blocks' },
      );
    }
    rows.push(
      { label: 'accounts enqueued at the shock (each scanner)', value: enqueued.size, unit: 'accounts' },
      { label: 'change-driven: steady records + snapshots written/block', value: (changes.steady.recordsWrittenPerBlock ?? 0) + (changes.steady.snapshotsWrittenPerBlock ?? 0), unit: 'writes' },
      { label: 'change-driven: shock records + snapshots written/block', value: (changes.shock.recordsWrittenPerBlock ?? 0) + (changes.shock.snapshotsWrittenPerBlock ?? 0), unit: 'writes' },
      { label: 'change-driven, alone: CPU per quiet block', value: cpu.steady.cpuMsPerBlock, unit: 'ms' },
      { label: 'change-driven, alone: CPU of a full re-read (10,000 accounts)', value: cpu.fullReread.cpuMs, unit: 'ms' },
    );
    return {
      name: `rpc-calls (${SCENARIO}: ${borrowers.length} borrowers, ${world.info.blockTimeSec} s blocks, anvil; RPC calls per chain block counted by a proxy per scanner)`,
      rows,
      ratios: [
        { label: 'steady: calls/block before ÷ change-driven', value: before.steady.callsPerBlock / changes.steady.callsPerBlock },
        { label: 'steady: calls/block lens + paced ÷ change-driven', value: paced.steady.callsPerBlock / changes.steady.callsPerBlock },
        { label: 'steady: calls/block before ÷ lens + paced', value: before.steady.callsPerBlock / paced.steady.callsPerBlock },
        { label: 'shock: calls/block before ÷ change-driven', value: before.shock.callsPerBlock / changes.shock.callsPerBlock },
        { label: 'shock: calls/block lens + paced ÷ change-driven', value: paced.shock.callsPerBlock / changes.shock.callsPerBlock },
      ],
    };
  } finally {
    if (progress) clearInterval(progress);
    abort.abort();
    await Promise.allSettled(running);
    for (const s of scanners) {
      s.provider.destroy();
      await s.proxy.close();
    }
    await world.stop();
  }
}
