/**
 * Liquidations per minute per signer through the full execution path: SQS (fauxqs) → the worker Lambda handler
 * (Powertools batch + idempotency) → ledger claim → simulation → DynamoDB nonce lease → sign → ledger write-ahead
 * → broadcast → receipt → ledger `mined`, on a 2 s anvil chain with a real Aave v3.6 market and DynamoDB Local.
 *
 * The `crash-30` world (300 borrowers) with ETH set 30 % down at once; the first CANDIDATES liquidatable
 * borrowers are enqueued together and the worker runs with WORKER_CONCURRENCY concurrent invocations (the event
 * source mapping's maximum concurrency), once with one signing key and once with two (each on a fresh world from
 * the same cached seed). Rate = liquidations mined ÷ minutes from the first receive to the last outcome ÷ signers.
 *
 * Then the same two runs with MAX_PENDING_PER_SIGNER = PENDING_CAP, as when a node or relay limits the pending
 * transactions of one sender: there the keys are the limit, and a second key should double the rate.
 */
import { Contract } from 'ethers';
import { SqsCandidateQueue } from '../functions/adapters/queue/sqs-candidate-queue';
import { latestBlockNumber } from '../functions/adapters/chain/provider';
import { type RecordOutcome, workerFromEnvironment } from '../functions/handlers/worker';
import type { CandidateMessage } from '../functions/pipeline/candidate-message';
import { localPipelineEnv } from '../local/runtime/pipeline-env';
import { LocalSqsEventSource } from '../local/runtime/sqs-event-source';
import { localSqsClient } from '../local/world/resources';
import { loadScenario } from '../local/world/scenario';
import { startWorld } from '../local/world/world';
import type { BenchResult } from './run';

const SCENARIO = 'crash-30';
const BLOCK_TIME_SEC = 2;
const CANDIDATES = 120;
const WORKER_CONCURRENCY = 4;
const PENDING_CAP = 4;
const TIMEOUT_MS = 600_000;
const WAD = 10n ** 18n;
const POOL_ABI = ['function getUserAccountData(address user) view returns (uint256 totalCollateralBase, uint256 totalDebtBase, uint256 availableBorrowsBase, uint256 currentLiquidationThreshold, uint256 ltv, uint256 healthFactor)'];

interface Run {
  signers: 1 | 2;
  pendingCap?: number;
  candidates: number;
  mined: number;
  otherOutcomes: Record<string, number>;
  seconds: number;
  perMinutePerSigner: number;
}

async function run(signers: 1 | 2, pendingCap?: number): Promise<Run> {
  const scenario = loadScenario(SCENARIO);
  const world = await startWorld({ scenario, blockTimeSec: BLOCK_TIME_SEC, services: true, resourcePrefix: `bench-throughput-${signers}${pendingCap ? `-cap${pendingCap}` : ''}` });
  const sqs = localSqsClient(world.info.sqs!.endpoint);
  let source: LocalSqsEventSource | undefined;
  try {
    // priceUsd is already in the oracle's 8 decimals.
    const startPrice = scenario.assets.WETH!.priceUsd;
    await world.setPrice('WETH', (startPrice * 70n) / 100n);
    const block = await latestBlockNumber(world.provider);
    const pool = new Contract(world.info.market.pool, POOL_ABI, world.provider);
    const liquidatable: string[] = [];
    for (const { address } of world.info.borrowers) {
      if (liquidatable.length >= CANDIDATES) break;
      const data = await pool.getUserAccountData(address, { blockTag: block });
      if ((data.healthFactor as bigint) < WAD && (data.totalCollateralBase as bigint) > 0n) liquidatable.push(address);
    }
    const messages: CandidateMessage[] = liquidatable.map((borrower) => ({
      version: 1,
      chainId: world.info.chainId,
      pool: world.info.market.pool,
      borrower,
      detectedBlock: block,
      healthFactorWad: (WAD - 1n).toString(),
      firstLiquidatableBlock: block,
      source: 'scanner',
    }));
    const env = localPipelineEnv(world.info, { signers, overrides: pendingCap ? { MAX_PENDING_PER_SIGNER: String(pendingCap) } : {} });
    const outcomes: RecordOutcome[] = [];
    const worker = await workerFromEnvironment(env, { onOutcome: (outcome) => outcomes.push(outcome) });
    await new SqsCandidateQueue(sqs, env.CANDIDATES_QUEUE_URL).publish(messages);

    const started = Date.now();
    source = new LocalSqsEventSource({ sqs, queueUrl: env.CANDIDATES_QUEUE_URL, handler: worker, functionName: 'worker', concurrency: WORKER_CONCURRENCY, retryDelaySec: 1 });
    source.start();
    let lastReport = started;
    while (outcomes.length < messages.length && Date.now() - started < TIMEOUT_MS) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (Date.now() - lastReport > 5_000) {
        lastReport = Date.now();
        console.error(`bench: ${signers} signer(s)${pendingCap ? `, cap ${pendingCap}` : ''}: ${outcomes.length}/${messages.length} handled, ${outcomes.filter((o) => o.kind === 'mined').length} mined`);
      }
    }
    const seconds = (Date.now() - started) / 1000;
    const mined = outcomes.filter((o) => o.kind === 'mined').length;
    const otherOutcomes: Record<string, number> = {};
    for (const outcome of outcomes) if (outcome.kind !== 'mined') otherOutcomes[outcome.kind] = (otherOutcomes[outcome.kind] ?? 0) + 1;
    return { signers, pendingCap, candidates: messages.length, mined, otherOutcomes, seconds, perMinutePerSigner: mined / (seconds / 60) / signers };
  } finally {
    await source?.stop();
    sqs.destroy();
    await world.stop();
  }
}

export async function executionThroughput(): Promise<BenchResult> {
  const one = await run(1);
  const two = await run(2);
  const oneCapped = await run(1, PENDING_CAP);
  const twoCapped = await run(2, PENDING_CAP);
  for (const r of [one, two, oneCapped, twoCapped]) {
    console.error(
      `bench: ${r.signers} signer(s)${r.pendingCap ? `, at most ${r.pendingCap} pending each` : ''}: ${r.mined}/${r.candidates} mined in ${r.seconds.toFixed(1)} s → ` +
        `${r.perMinutePerSigner.toFixed(1)} liquidations/min/signer` +
        (Object.keys(r.otherOutcomes).length > 0 ? ` (others: ${JSON.stringify(r.otherOutcomes)})` : ''),
    );
  }
  const rows = (r: Run, label: string) => [
    { label: `${label}: liquidations mined`, value: r.mined, unit: `of ${r.candidates}` },
    { label: `${label}: seconds`, value: r.seconds, unit: 's' },
    { label: `${label}: liquidations / min / signer`, value: r.perMinutePerSigner, unit: '/min' },
    { label: `${label}: liquidations / min in all`, value: r.perMinutePerSigner * r.signers, unit: '/min' },
  ];
  return {
    name: `execution throughput (${SCENARIO}, ${BLOCK_TIME_SEC} s blocks, ${WORKER_CONCURRENCY} concurrent worker invocations, full ledger + nonce lease path)`,
    rows: [
      ...rows(one, 'one signer, no pending cap'),
      ...rows(two, 'two signers, no pending cap'),
      ...rows(oneCapped, `one signer, ${PENDING_CAP} pending at most`),
      ...rows(twoCapped, `two signers, ${PENDING_CAP} pending at most each`),
    ],
    ratios: [
      { label: 'two signers vs one, no pending cap (total rate)', value: (two.perMinutePerSigner * 2) / one.perMinutePerSigner },
      { label: `two signers vs one, ${PENDING_CAP} pending at most per signer (total rate)`, value: (twoCapped.perMinutePerSigner * 2) / oneCapped.perMinutePerSigner },
    ],
  };
}
