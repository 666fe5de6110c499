/**
 * Detection latency in blocks on a 2 s chain: the block-following scanner (one `scanBlocks` invocation that
 * handles every new block) versus a once-a-minute scan (what an EventBridge rate(1 minute) schedule gives a
 * scanner that reads the chain once per invocation), side by side in one run on the same chain.
 *
 * The `crash-30` world (300 borrowers, ETH −10 % at +5, +10 and +15 blocks) runs with 2 s blocks and no worker,
 * so accounts stay liquidatable once they are. Running concurrently, each with its own chain adapters (the real
 * lens scanner and oracle reader), an in-memory BorrowerStore holding every borrower and a queue that records
 * when it first received each borrower:
 * - block loop: one `scanBlocks` invocation whose deadline covers the whole run (production poll interval);
 * - cron: four scanners, triggered every 60 s of wall time, phases `u + k·15 s` (k = 0..3, u uniform in
 *   [0, 15 s)), so together they sample the schedule's alignment with the shocks evenly. Each trigger is a
 *   `scanBlocks` invocation that sees the head once: exactly one block per invocation. The store persists
 *   between its invocations, as DynamoDB would.
 * - ground truth: an observer reads every block's health (lens scan pinned to each block number): per borrower,
 *   the first block with debt and HF < 1.
 *
 * Latency of an account = chain head when its candidate reached the queue − first liquidatable block (0: the
 * candidate was queued while the block that made it liquidatable was still the head, so a worker can act in the
 * next block). Percentiles are nearest-rank. "Missed" = liquidatable within the run, never queued by that
 * scanner. The run lasts long enough for every cron phase to fire at least twice after the last shock (checked).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { JsonRpcProvider } from 'ethers';
import { AaveV3OracleReader } from '../functions/adapters/chain/aave-v3-oracle-reader';
import { AaveV3HealthScanner } from '../functions/adapters/chain/health-scan';
import { createJsonRpcProvider, latestBlockNumber } from '../functions/adapters/chain/provider';
import { DEFAULT_WATCH_TIER_POLICY } from '../functions/domain/watch-tier';
import type { CandidateMessage } from '../functions/pipeline/candidate-message';
import { type BlockSource, scanBlocks, type ScanBlocksDeps, type ScanBlocksSettings, type ScanEvent, type ScanSummary } from '../functions/pipeline/scan-blocks';
import type { CandidateQueue } from '../functions/ports/candidate-queue';
import { systemClock } from '../functions/ports/clock';
import { MemoryBorrowerStore } from '../local/runtime/memory-borrower-store';
import { loadScenario } from '../local/world/scenario';
import { startWorld } from '../local/world/world';
import type { BenchResult } from './run';

const SCENARIO = 'crash-30';
const BLOCK_TIME_SEC = 2;
/**
 * Length of the run from the world's start. The last shock lands ~32 s in (block +15, mined one block after it is
 * sent); the worst-aligned cron phase then fires twice by +152 s; a few seconds of headroom on top.
 */
const RUN_MS = 165_000;
const CRON_PERIOD_MS = 60_000;
const CRON_PHASES = 4;
/** How long a cron invocation may keep retrying its one block (RPC failure) before it gives up until next minute. */
const CRON_WINDOW_MS = 1_500;
/** The schema's minimum margin: the bench's deadlines are its own, not a Lambda's. */
const DEADLINE_MARGIN_MS = 1_000;
/** SCANNER_POLL_INTERVAL_MS default (functions/config/pipeline-config.ts). */
const POLL_INTERVAL_MS = 500;
const OBSERVER_POLL_MS = 100;
const PROGRESS_EVERY_MS = 15_000;
const TARGET_LOOP_P95_BLOCKS = 2;
const WAD = 10n ** 18n;

const log = (line: string) => console.error(`  ${line}`);
const lower = (address: string) => address.toLowerCase();

/** The scanner settings of a deployed market with the pipeline's defaults (functions/config/pipeline-config.ts). */
function scannerSettings(chainId: number, pool: string): ScanBlocksSettings {
  return {
    chainId,
    pool,
    marketKey: `${chainId}#${lower(pool)}`,
    deadlineMarginMs: DEADLINE_MARGIN_MS,
    pollIntervalMs: POLL_INTERVAL_MS,
    // Both kinds of scanner read every account at every block they handle: the comparison is of when they look.
    reads: { mode: 'every-block' },
    reenqueueAfterBlocks: 10,
    snapshotRetentionSec: 7 * 24 * 3600,
    breaker: { maxAgeSec: 3_900n, maxDeviationBps: 3_000n },
    tiers: DEFAULT_WATCH_TIER_POLICY,
    materialChangeBps: 100n,
    maxConsecutiveBlockFailures: 5,
  };
}

interface FirstEnqueue {
  /** The block the scanner read the account at. */
  detectedBlock: number;
  /** The chain head once the message was accepted: when a worker could start acting on it. */
  headBlock: number;
}

/** A queue that accepts everything and records, per borrower, its first candidate. */
class FirstEnqueueQueue implements CandidateQueue {
  readonly first = new Map<string, FirstEnqueue>();

  constructor(private readonly chain: BlockSource) {}

  async publish(messages: readonly CandidateMessage[]): Promise<{ sent: number; failed: { message: CandidateMessage; reason: string }[] }> {
    const headBlock = await this.chain.latestBlockNumber();
    for (const m of messages) {
      if (!this.first.has(lower(m.borrower))) this.first.set(lower(m.borrower), { detectedBlock: m.detectedBlock, headBlock });
    }
    return { sent: messages.length, failed: [] };
  }
}

/** A scanner's own connection and chain adapters, as `scannerRuntimeFromConfig` builds them. */
interface ChainPorts {
  provider: JsonRpcProvider;
  accounts: AaveV3HealthScanner;
  oracle: AaveV3OracleReader;
  blocks: BlockSource;
}

function chainPorts(rpcUrl: string, chainId: number, pool: string): ChainPorts {
  const provider = createJsonRpcProvider(rpcUrl, chainId);
  return {
    provider,
    accounts: new AaveV3HealthScanner(provider, pool, { chunkSize: 500 }),
    oracle: new AaveV3OracleReader(provider, pool),
    blocks: { latestBlockNumber: () => latestBlockNumber(provider) },
  };
}

/** Per borrower, the first block at which it had debt and HF < 1, from a lens scan of every block. */
class GroundTruth {
  readonly firstLiquidatable = new Map<string, number>();
  readonly liquidatableAtStart = new Set<string>();
  /** Next block to read. */
  next: number;
  private stopAfter?: number;

  constructor(
    private readonly ports: ChainPorts,
    private readonly users: readonly string[],
    readonly startBlock: number,
    private readonly signal: AbortSignal,
  ) {
    this.next = startBlock;
  }

  /** Reads every block from the start block until `finish(block)` was called and that block was read. */
  async follow(): Promise<void> {
    while (this.stopAfter === undefined || this.next <= this.stopAfter) {
      const head = await this.ports.blocks.latestBlockNumber();
      while (this.next <= head && (this.stopAfter === undefined || this.next <= this.stopAfter)) {
        const { accounts } = await this.ports.accounts.scan(this.users, this.next);
        for (const a of accounts) {
          if (a.totalDebtBase === 0n || a.healthFactorWad >= WAD || this.firstLiquidatable.has(lower(a.user))) continue;
          this.firstLiquidatable.set(lower(a.user), this.next);
          if (this.next === this.startBlock) this.liquidatableAtStart.add(lower(a.user));
        }
        this.next++;
      }
      if (this.stopAfter === undefined || this.next <= this.stopAfter) await delay(OBSERVER_POLL_MS, undefined, { signal: this.signal });
    }
  }

  finish(block: number): void {
    this.stopAfter = block;
  }
}

interface ScannerUnderTest {
  name: string;
  store: MemoryBorrowerStore;
  queue: FirstEnqueueQueue;
  ports: ChainPorts;
  rpcCalls: number;
  blocksHandled: number;
  failedBlocks: number;
  maxLagBlocks: number;
}

function scannerUnderTest(name: string, rpcUrl: string, chainId: number, pool: string, borrowers: readonly string[], startBlock: number): ScannerUnderTest {
  const ports = chainPorts(rpcUrl, chainId, pool);
  return { name, store: new MemoryBorrowerStore(borrowers, startBlock), queue: new FirstEnqueueQueue(ports.blocks), ports, rpcCalls: 0, blocksHandled: 0, failedBlocks: 0, maxLagBlocks: 0 };
}

function deps(s: ScannerUnderTest, settings: ScanBlocksSettings, blocks: BlockSource, signal: AbortSignal, onEvent?: (e: ScanEvent) => void): ScanBlocksDeps {
  return {
    settings,
    store: s.store,
    queue: s.queue,
    accounts: s.ports.accounts,
    oracle: s.ports.oracle,
    blocks,
    clock: systemClock,
    // Aborting the run ends a scanner's sleep with an AbortError, which scanBlocks rethrows (not a stage failure).
    sleep: (ms) => delay(ms, undefined, { signal }),
    onEvent: (e) => {
      if (e.kind === 'block-failed') log(`${s.name}: ${e.error.message} (${e.consecutiveFailures} in a row)`);
      onEvent?.(e);
    },
  };
}

function account(s: ScannerUnderTest, summary: ScanSummary): void {
  s.rpcCalls += summary.rpcCalls;
  s.blocksHandled += summary.blocks;
  s.failedBlocks += summary.failedBlocks;
  s.maxLagBlocks = Math.max(s.maxLagBlocks, summary.maxBlockLagBlocks);
}

/** Nearest-rank percentile of an ascending list. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

interface Latencies {
  /** Ascending, in blocks (head at enqueue − first liquidatable block). */
  blocks: number[];
  /** Same, by the block the scanner read (detected block − first liquidatable block). */
  detectedBlocks: number[];
  missed: number;
}

/** Compares what a scanner queued with the ground truth; throws if they disagree about any account. */
function latencies(s: ScannerUnderTest, truth: GroundTruth, endBlock: number): Latencies {
  const blocks: number[] = [];
  const detectedBlocks: number[] = [];
  let missed = 0;
  for (const [borrower, first] of truth.firstLiquidatable) {
    if (truth.liquidatableAtStart.has(borrower) || first > endBlock) continue;
    const queued = s.queue.first.get(borrower);
    if (!queued) {
      missed++;
      continue;
    }
    if (queued.detectedBlock < first) throw new Error(`${s.name} queued ${borrower} at block ${queued.detectedBlock}, before the observer saw it liquidatable (${first})`);
    blocks.push(queued.headBlock - first);
    detectedBlocks.push(queued.detectedBlock - first);
  }
  for (const borrower of s.queue.first.keys()) {
    if (!truth.firstLiquidatable.has(borrower)) throw new Error(`${s.name} queued ${borrower}, which the observer never saw liquidatable`);
  }
  return { blocks: blocks.sort((a, b) => a - b), detectedBlocks: detectedBlocks.sort((a, b) => a - b), missed };
}

function describe(name: string, l: Latencies): string {
  const stats = (xs: number[]) => `p50 ${percentile(xs, 50)} / p95 ${percentile(xs, 95)} / max ${xs[xs.length - 1] ?? Number.NaN}`;
  return `${name}: ${l.blocks.length} queued, ${l.missed} missed; head at enqueue ${stats(l.blocks)}; read block ${stats(l.detectedBlocks)} (blocks)`;
}

export async function detectionLatency(): Promise<BenchResult> {
  const world = await startWorld({ scenario: loadScenario(SCENARIO), blockTimeSec: BLOCK_TIME_SEC, services: false, log });
  const abort = new AbortController();
  const { signal } = abort;
  const scanners: ScannerUnderTest[] = [];
  let observerPorts: ChainPorts | undefined;
  let progress: NodeJS.Timeout | undefined;
  const shocks = world.runShocks(log);
  // Awaited below; a failed shock is reported there, not as an unhandled rejection.
  shocks.done.catch(() => undefined);
  try {
    const { rpcUrl, market, startBlock } = world.info;
    const chainId = Number(world.info.chainId);
    const borrowers = world.info.borrowers.map((b) => b.address);
    const settings = scannerSettings(chainId, market.pool);
    const t0 = Date.now();
    const elapsed = (ms = Date.now()) => `+${((ms - t0) / 1000).toFixed(1)} s`;

    observerPorts = chainPorts(rpcUrl, chainId, market.pool);
    const truth = new GroundTruth(observerPorts, borrowers, startBlock, signal);

    // 1. Block loop: one invocation for the whole run.
    const loop = scannerUnderTest('block loop', rpcUrl, chainId, market.pool, borrowers, startBlock);
    scanners.push(loop);
    const runLoop = async () => {
      const summary = await scanBlocks(deps(loop, settings, loop.ports.blocks, signal), { deadlineAtMs: t0 + RUN_MS + DEADLINE_MARGIN_MS });
      account(loop, summary);
    };

    // 2. Cron: one block per trigger, triggered every minute, four phases 15 s apart after a random offset.
    const jitterMs = Math.random() * (CRON_PERIOD_MS / CRON_PHASES);
    const crons = Array.from({ length: CRON_PHASES }, (_, k) => ({
      offsetMs: jitterMs + (k * CRON_PERIOD_MS) / CRON_PHASES,
      scanner: scannerUnderTest(`cron phase ${k + 1}`, rpcUrl, chainId, market.pool, borrowers, startBlock),
      /** The block each invocation read. */
      invocationBlocks: [] as number[],
    }));
    scanners.push(...crons.map((c) => c.scanner));
    log(`cron phases fire at ${crons.map((c) => elapsed(t0 + c.offsetMs)).join(', ')} and every 60 s after; run ends at ${elapsed(t0 + RUN_MS)}`);
    const runCron = async (cron: (typeof crons)[number]) => {
      for (let fireAt = t0 + cron.offsetMs; fireAt < t0 + RUN_MS; fireAt += CRON_PERIOD_MS) {
        await delay(Math.max(0, fireAt - Date.now()), undefined, { signal });
        // The chain as a once-a-minute scan sees it: the head, read once. scanBlocks handles that block, then
        // finds no newer one until its deadline.
        let head: number | undefined;
        /** Polls answered from `head` without a request: scanBlocks counts them as RPC calls, the bench does not. */
        let repeatedPolls = 0;
        const headOnce: BlockSource = {
          latestBlockNumber: async () => {
            if (head !== undefined) repeatedPolls++;
            return (head ??= await cron.scanner.ports.blocks.latestBlockNumber());
          },
        };
        const before = cron.scanner.queue.first.size;
        const summary = await scanBlocks(
          deps(cron.scanner, settings, headOnce, signal, (e) => {
            if (e.kind === 'block') cron.invocationBlocks.push(e.progress.block);
          }),
          { deadlineAtMs: Date.now() + DEADLINE_MARGIN_MS + CRON_WINDOW_MS },
        );
        account(cron.scanner, { ...summary, rpcCalls: summary.rpcCalls - repeatedPolls });
        log(`${cron.scanner.name} fired at ${elapsed(fireAt)}: read block ${summary.lastBlock ?? 'none'}, ${cron.scanner.queue.first.size - before} newly queued`);
      }
    };

    progress = setInterval(() => {
      const head = truth.next - 1;
      log(
        `${elapsed()} block ${head}: ${truth.firstLiquidatable.size} liquidatable so far; queued by block loop ${loop.queue.first.size}, ` +
          `by cron phases ${crons.map((c) => c.scanner.queue.first.size).join('/')}`,
      );
    }, PROGRESS_EVERY_MS);

    // The first failure ends the run at once (every sleep takes the abort signal) and is the one reported.
    const failures: unknown[] = [];
    const guard = (task: Promise<void>): Promise<void> =>
      task.catch((err: unknown) => {
        if (!signal.aborted) failures.push(err);
        abort.abort();
      });
    const observing = guard(truth.follow());
    await Promise.all([guard(runLoop()), ...crons.map((c) => guard(runCron(c)))]);
    if (failures.length === 0) {
      const endBlock = await latestBlockNumber(world.provider);
      truth.finish(endBlock);
      const overdue = setTimeout(() => {
        failures.push(new Error(`the observer did not catch up with block ${endBlock} within 30 s`));
        abort.abort();
      }, 30_000);
      await observing;
      clearTimeout(overdue);
    } else {
      await observing;
    }
    if (failures.length > 0) throw failures[0];
    const endBlock = truth.next - 1;
    abort.abort();
    clearInterval(progress);
    const lastShockBlock = await shocks.done;
    const runSeconds = (Date.now() - t0) / 1000;
    log(`run: ${runSeconds.toFixed(0)} s, blocks ${startBlock}–${endBlock}, last shock at block ${lastShockBlock}`);

    for (const c of crons) {
      const after = c.invocationBlocks.filter((b) => b >= lastShockBlock).length;
      if (after < 2) throw new Error(`${c.scanner.name} read only ${after} block(s) at or after the last shock (block ${lastShockBlock}); lengthen RUN_MS`);
    }
    if (truth.liquidatableAtStart.size > 0) log(`${truth.liquidatableAtStart.size} accounts were liquidatable at the start block: left out (no latency to measure)`);
    const liquidatable = [...truth.firstLiquidatable.entries()].filter(([b, first]) => !truth.liquidatableAtStart.has(b) && first <= endBlock).length;
    if (liquidatable === 0) throw new Error('no account became liquidatable during the run: nothing to measure');

    const loopL = latencies(loop, truth, endBlock);
    const cronL = crons.map((c) => latencies(c.scanner, truth, endBlock));
    const pooled: Latencies = {
      blocks: cronL.flatMap((l) => l.blocks).sort((a, b) => a - b),
      detectedBlocks: cronL.flatMap((l) => l.detectedBlocks).sort((a, b) => a - b),
      missed: cronL.reduce((s, l) => s + l.missed, 0),
    };
    log(`ground truth: ${liquidatable} accounts became liquidatable (${truth.next - startBlock} blocks read)`);
    log(describe('block loop', loopL));
    crons.forEach((c, i) => log(describe(`${c.scanner.name} (first fire ${elapsed(t0 + c.offsetMs)})`, cronL[i])));
    log(describe('cron, phases pooled', pooled));
    log(`block loop: ${loop.blocksHandled} blocks handled, max lag ${loop.maxLagBlocks} blocks, ${loop.failedBlocks} failed, ${loop.rpcCalls} RPC calls`);
    crons.forEach((c) => log(`${c.scanner.name}: ${c.scanner.blocksHandled} blocks handled, ${c.scanner.failedBlocks} failed, ${c.scanner.rpcCalls} RPC calls`));

    const loopP50 = percentile(loopL.blocks, 50);
    const loopP95 = percentile(loopL.blocks, 95);
    const cronP50 = percentile(pooled.blocks, 50);
    const cronP95 = percentile(pooled.blocks, 95);
    log(`target block-loop p95 ≤ ${TARGET_LOOP_P95_BLOCKS} blocks: ${loopP95 <= TARGET_LOOP_P95_BLOCKS ? 'met' : 'NOT met'} (${loopP95})`);
    const minutes = runSeconds / 60;
    const cronRpcPerMinute = crons.reduce((s, c) => s + c.scanner.rpcCalls, 0) / CRON_PHASES / minutes;

    return {
      name: `detection-latency (${SCENARIO}: ${borrowers.length} borrowers, ${BLOCK_TIME_SEC} s blocks, anvil; blocks from first liquidatable block to head at enqueue)`,
      rows: [
        { label: 'accounts that became liquidatable (ground truth)', value: liquidatable, unit: 'accounts' },
        { label: 'block loop: latency p50', value: loopP50, unit: 'blocks' },
        { label: 'block loop: latency p95', value: loopP95, unit: 'blocks' },
        { label: 'block loop: latency max', value: loopL.blocks[loopL.blocks.length - 1], unit: 'blocks' },
        { label: 'block loop: accounts missed', value: loopL.missed, unit: 'accounts' },
        { label: `cron 1/min, ${CRON_PHASES} phases pooled: latency p50`, value: cronP50, unit: 'blocks' },
        { label: `cron 1/min, ${CRON_PHASES} phases pooled: latency p95`, value: cronP95, unit: 'blocks' },
        { label: `cron 1/min, ${CRON_PHASES} phases pooled: latency max`, value: pooled.blocks[pooled.blocks.length - 1], unit: 'blocks' },
        { label: 'cron 1/min: accounts missed (worst phase)', value: Math.max(...cronL.map((l) => l.missed)), unit: 'accounts' },
        ...crons.map((c, i) => ({ label: `cron phase ${i + 1} (first fire ${elapsed(t0 + c.offsetMs)}): p95`, value: percentile(cronL[i].blocks, 95), unit: 'blocks' })),
        { label: 'block loop: RPC calls per minute', value: loop.rpcCalls / minutes, unit: 'calls' },
        { label: 'cron 1/min: RPC calls per minute (one phase)', value: cronRpcPerMinute, unit: 'calls' },
      ],
      ratios: [
        { label: 'cron p95 / block-loop p95 (loop p95 taken ≥ 1)', value: cronP95 / Math.max(loopP95, 1) },
        { label: 'cron p50 / block-loop p50 (loop p50 taken ≥ 1)', value: cronP50 / Math.max(loopP50, 1) },
      ],
    };
  } finally {
    if (progress) clearInterval(progress);
    abort.abort();
    shocks.stop();
    await shocks.done.catch(() => undefined);
    for (const s of scanners) s.ports.provider.destroy();
    observerPorts?.provider.destroy();
    await world.stop();
  }
}
