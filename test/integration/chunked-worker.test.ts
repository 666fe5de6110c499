/**
 * Incremental reduction through the worker, wired from the environment as on Lambda, on the thin-pool world: one
 * borrower holds 5 WBTC against 210,000 USDC and WBTC/USDC is the only route (SWAP_ROUTES empty), a pool of
 * $20,000 a side. With MAX_PRICE_IMPACT_BPS the worker liquidates a chunk within the budget, and queues the rest as
 * a candidate at the chunk's mined block, due a block later; that candidate is left to the queue until then, and
 * then liquidates the next chunk after the arbitrageurs refilled the pool.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { latestBlockNumber } from '../../functions/adapters/chain/provider';
import type { RecordOutcome } from '../../functions/handlers/worker';
import { deduplicationIdOf } from '../../functions/pipeline/candidate-message';
import { decodePlan } from '../../functions/pipeline/execution-plan';
import { localSqsClient } from '../../local/world/resources';
import { drainCandidates } from './support';
import { candidate, harness, type Harness, invoke, liquidationsOf, quietWorker, recordOf, sleep } from './worker-harness';

jest.setTimeout(300_000);

describe('chunked liquidation through the worker (thin-pool)', () => {
  let h: Harness;
  let sqs: SQSClient;
  let arbitrage: { stop(): void };

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    h = await harness('chunks', 1, { MAX_PRICE_IMPACT_BPS: '300', SWAP_ROUTES: '[]', BLOCK_TIME_SEC: '1' }, 'thin-pool');
    sqs = localSqsClient(h.world.info.sqs!.endpoint);
    arbitrage = h.world.startArbitrage();
  });
  afterAll(async () => {
    arbitrage?.stop();
    sqs?.destroy();
    h?.documents.destroy();
    await h?.world.stop();
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    delete process.env.POWERTOOLS_LOG_LEVEL;
  });

  it('liquidates a chunk within the budget, queues the rest due a block later, and liquidates it then', async () => {
    await h.world.setPrice('WBTC', 50_000n * 10n ** 8n);
    const block = await latestBlockNumber(h.world.provider);
    const borrower = h.world.info.borrowers[0].address;
    const outcomes: RecordOutcome[] = [];
    const worker = await quietWorker(h, { onOutcome: (outcome) => outcomes.push(outcome) });

    // The first chunk.
    expect(await invoke(worker, [recordOf(candidate(h, borrower, block), 'first')])).toEqual([]);
    const first = outcomes.pop();
    if (first?.kind !== 'mined') throw new Error(`expected a mined chunk, got ${JSON.stringify(first)}`);
    const plan = decodePlan(first.plan, 'first chunk');
    expect(plan.chunk).toBeDefined();
    expect(plan.chunk!.priceImpactBps).toBeLessThanOrEqual(300n);
    expect(plan.chunk!.fullPriceImpactBps).toBeGreaterThan(300n);
    expect(plan.chunk!.restRepayUnits).toBeGreaterThan(0n);

    // The rest: a candidate at the mined block (the opportunity a scanner detection there would share), due a block later.
    const queued = await drainCandidates(sqs, h.env.CANDIDATES_QUEUE_URL);
    expect(queued).toEqual([expect.objectContaining({ borrower, detectedBlock: first.minedBlock, notBeforeBlock: first.minedBlock + 1, firstLiquidatableBlock: block })]);
    const rest = queued[0];

    // A candidate not yet due is left to the queue (a batch item failure), nothing read or claimed: the same
    // candidate due a few blocks from now.
    const early = { ...rest, notBeforeBlock: (await latestBlockNumber(h.world.provider)) + 5 };
    const record = recordOf(early, 'early');
    expect(await invoke(worker, [record])).toEqual([record]);
    expect(outcomes).toEqual([]);
    expect(await h.ledger.find(deduplicationIdOf(early))).toBeUndefined();
    while ((await latestBlockNumber(h.world.provider)) < rest.notBeforeBlock!) await sleep(200);

    // Due: the next chunk, in a later block, after the pool was refilled.
    expect(await invoke(worker, [recordOf(rest, 'due')])).toEqual([]);
    const second = outcomes.pop();
    if (second?.kind !== 'mined') throw new Error(`expected the next chunk mined, got ${JSON.stringify(second)}`);
    expect(second.minedBlock).toBeGreaterThan(first.minedBlock);
    expect(decodePlan(second.plan, 'second chunk').chunk).toBeDefined();
    const events = await liquidationsOf(h, borrower, block);
    expect(events.map((e) => e.transactionHash)).toEqual([first.txHash, second.txHash]);
    expect(await h.ledger.find(deduplicationIdOf(rest))).toMatchObject({ state: 'mined', txHash: second.txHash });
  });
});
