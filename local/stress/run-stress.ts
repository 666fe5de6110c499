/**
 * The stress lab: one session (local/session.ts) per sizing strategy, each on a fresh world from the same seeded
 * market and the same price path, optionally with a rival keeper (./rival.ts) competing in it; then one report
 * (./report-types.ts) rendered to a directory (./report/render.ts). Worlds run one after another: a world holds
 * anvil, DynamoDB Local and fauxqs, and two at once would measure the machine, not the strategies.
 */
import type { Scenario } from '../world/scenario';
import type { World } from '../world/world';
import { percentile, runSession, type SessionReport, type SizingStrategy } from '../session';
import { renderReport, type RenderedReport } from './report/render';
import type { RivalKind, SideFigures, StrategyResult, StressReport, TimelinePoint } from './report-types';
import { DEFAULT_NAIVE_DELAY_BLOCKS, startRival } from './rival';

export interface StressOptions {
  scenario: Scenario;
  strategies: readonly SizingStrategy[];
  rival: RivalKind;
  /** Blocks the naive rival waits (default DEFAULT_NAIVE_DELAY_BLOCKS). */
  rivalDelayBlocks?: number;
  outDir: string;
  blockTimeSec?: number;
  timeoutMs?: number;
  /** Batches bounded after the sales waiting on the pending block (BATCH_BOUNDS_FROM_PENDING). */
  pendingBounds?: boolean;
  /** Progress lines (default: stderr). */
  say?: (line: string) => void;
  /** Per strategy, with its world still running and the chain read back: tests check the report against it. */
  beforeStop?: (strategy: SizingStrategy, world: World) => Promise<void>;
}

/** Block lines of a session are printed at most this often; everything else it says goes through. */
const BLOCK_LINE_EVERY_MS = 10_000;

export async function runStress(options: StressOptions): Promise<{ report: StressReport; rendered: RenderedReport; sessions: SessionReport[] }> {
  const started = Date.now();
  const say = options.say ?? ((line: string) => console.error(line));
  const { scenario } = options;
  const delayBlocks = options.rival === 'naive' ? (options.rivalDelayBlocks ?? DEFAULT_NAIVE_DELAY_BLOCKS) : options.rival === 'fast' ? 0 : null;
  const sessions: SessionReport[] = [];
  for (const [i, strategy] of options.strategies.entries()) {
    const tag = `[${i + 1}/${options.strategies.length} ${strategy}]`;
    say(`stress: ${tag} a fresh world for "${scenario.name}" (${scenario.positions.length} borrowers), rival ${options.rival}`);
    let lastBlockLine = 0;
    const session = await runSession({
      scenario,
      sizing: strategy,
      blockTimeSec: options.blockTimeSec,
      timeoutMs: options.timeoutMs,
      pendingBounds: options.pendingBounds,
      verbose: false,
      say: (line) => {
        const blockLine = line.startsWith('block ') && !line.includes('oracle price moved');
        if (blockLine && Date.now() - lastBlockLine < BLOCK_LINE_EVERY_MS) return;
        if (blockLine) lastBlockLine = Date.now();
        say(`${tag} ${line}`);
      },
      companion:
        options.rival === 'none'
          ? undefined
          : (world) => startRival(world, { kind: options.rival as 'naive' | 'fast', delayBlocks: delayBlocks ?? undefined, say: (line) => say(`${tag} ${line}`) }),
      beforeStop: options.beforeStop ? (world) => options.beforeStop!(strategy, world) : undefined,
    });
    sessions.push(session);
    const result = strategyResult(strategy, session);
    say(
      `stress: ${tag} done in ${session.wallSeconds.toFixed(0)} s: ours ${result.ours.accounts} accounts, rival ${result.rival?.accounts ?? '–'}, ` +
        `capture ${result.captureRate === null ? '–' : `${(result.captureRate * 100).toFixed(1)} %`}, profit $${result.profitUsd.toFixed(2)}, ` +
        `bad debt $${result.badDebtUsd.toFixed(2)}, cleared in ${result.clearedBlocks ?? '–'} blocks, ${result.remainingLiquidatable} left liquidatable`,
    );
  }
  const first = sessions[0];
  const report: StressReport = {
    scenario: {
      name: scenario.name,
      ...(scenario.description ? { description: scenario.description } : {}),
      ...(scenario.sources.length > 0 ? { sources: scenario.sources } : {}),
      borrowers: scenario.positions.length,
      blockTimeSec: first.blockTimeSec,
      assets: Object.keys(first.timeline[0]?.prices ?? {}),
    },
    rival: { kind: options.rival, delayBlocks },
    generatedAt: new Date().toISOString(),
    wallSeconds: (Date.now() - started) / 1000,
    pricePath: changesOf(first, (b) => ({ prices: b.prices })),
    gasPath: changesOf(first, (b) => ({ baseFeeGwei: b.baseFeeGwei })).map((p) => ({ block: p.block, baseFeeGwei: p.baseFeeGwei })),
    strategies: options.strategies.map((strategy, i) => strategyResult(strategy, sessions[i])),
  };
  const rendered = await renderReport(report, options.outDir);
  return { report, rendered, sessions };
}

/** The first and last observed block and every block where `pick` changed, relative to the session's start block. */
function changesOf<T extends object>(session: SessionReport, pick: (b: SessionReport['timeline'][number]) => T): (T & { block: number })[] {
  const points: (T & { block: number })[] = [];
  let last: string | undefined;
  for (const [i, b] of session.timeline.entries()) {
    const value = pick(b);
    const key = JSON.stringify(value);
    if (key !== last || i === session.timeline.length - 1) points.push({ ...value, block: b.block - session.blocks.start });
    last = key;
  }
  return points;
}

type Side = 'ours' | 'companion';

function sideFigures(session: SessionReport, side: Side): SideFigures {
  const rows = session.liquidations.filter((r) => r.by === side);
  const gas = side === 'ours' ? session.gas.ours : session.gas.companion;
  return {
    accounts: new Set(rows.map((r) => r.borrower)).size,
    liquidations: rows.length,
    debtRepaidUsd: rows.reduce((s, r) => s + r.debtRepaidUsd, 0),
    bonusUsd: rows.reduce((s, r) => s + r.profitUsd, 0),
    gasEth: gas?.eth ?? 0,
    gasUsd: gas?.usd ?? 0,
    transactions: gas?.transactions ?? 0,
  };
}

export function strategyResult(strategy: SizingStrategy, session: SessionReport): StrategyResult {
  const start = session.blocks.start;
  const ours = sideFigures(session, 'ours');
  const rival = session.gas.companion === null ? null : sideFigures(session, 'companion');
  const allRepaidUsd = session.liquidations.reduce((s, r) => s + r.debtRepaidUsd, 0);
  // Our latency per account: its first liquidatable block to our first liquidation of it.
  const firstOurs = new Map<string, number>();
  for (const r of session.liquidations) {
    if (r.by !== 'ours' || r.detectionLatencyBlocks === undefined) continue;
    const seen = firstOurs.get(r.borrower);
    if (seen === undefined || r.detectionLatencyBlocks < seen) firstOurs.set(r.borrower, r.detectionLatencyBlocks);
  }
  const latencies = [...firstOurs.values()].sort((a, b) => a - b);
  const gasUsdOf = (gasWei: string) => (Number(BigInt(gasWei)) / 1e18) * session.ethPriceUsd;
  const timeline: TimelinePoint[] = [];
  let profit = 0;
  let badDebt = 0;
  for (const b of session.timeline) {
    const rows = session.liquidations.filter((r) => r.block === b.block);
    profit += rows.filter((r) => r.by === 'ours').reduce((s, r) => s + r.profitUsd, 0);
    profit -= session.transactions.filter((t) => t.block === b.block && t.by === 'ours').reduce((s, t) => s + gasUsdOf(t.gasWei), 0);
    badDebt += session.deficits.filter((d) => d.block === b.block).reduce((s, d) => s + d.usd, 0);
    timeline.push({
      block: b.block - start,
      liquidatable: b.liquidatable,
      ours: rows.filter((r) => r.by === 'ours').length,
      rival: rows.filter((r) => r.by === 'companion').length,
      cumulativeProfitUsd: profit,
      cumulativeBadDebtUsd: badDebt,
    });
  }
  return {
    strategy,
    blocks: session.blocks,
    wallSeconds: session.wallSeconds,
    liquidatableAccounts: session.liquidatableAccounts,
    ours,
    rival,
    captureRate: allRepaidUsd === 0 ? null : ours.debtRepaidUsd / allRepaidUsd,
    profitUsd: session.profitRealizedUsd - ours.gasUsd,
    badDebtUsd: session.badDebtUsd,
    clearedBlocks: session.clearedBlocks,
    latencyBlocks: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: latencies.at(-1) ?? null, values: latencies },
    remainingLiquidatable: session.remainingLiquidatable,
    duplicateExecutions: session.duplicateExecutions,
    reverts: session.reverts,
    timeline,
    swaps: session.swaps.map((s) => ({ block: s.block - start, collateral: s.collateral, priceImpactBps: s.priceImpactBps, soldUsd: s.soldUsd })),
  };
}
