/**
 * Batch liquidation through the worker on the local world (anvil + Aave v3.6 + Uniswap V3, DynamoDB Local), wired
 * from the environment as on Lambda with MAX_BATCH_SIZE 10. Asserted on chain (LiquidationCall events, nonces,
 * transactions) and in the ledger:
 *   1. ten candidates in one invocation, one of them liquidated by a rival in the same block just before ours:
 *      one transaction, the other nine liquidated by it, each member with its own outcome in the ledger;
 *   2. a worker killed after the batch was broadcast: the redelivery signs nothing new (same bytes, same nonce)
 *      and every member ends `mined` with the batch's transaction;
 *   3. every member delivered three times to three concurrent workers: one liquidation per account.
 */
import { Contract, MaxUint256 } from 'ethers';
import { AaveV3PositionReader } from '../../functions/adapters/chain/aave-v3-position-reader';
import { latestBlockNumber } from '../../functions/adapters/chain/provider';
import type { RecordOutcome } from '../../functions/handlers/worker';
import { deduplicationIdOf } from '../../functions/pipeline/candidate-message';
import { crashAt } from '../../local/chaos/crash-points';
import { POOL_ABI } from './support';
import { candidate, expectNoStuckNonce, harness, type Harness, invoke, liquidatableAt, liquidationsOf, quietWorker, recordOf, sleep, WAD } from './worker-harness';

jest.setTimeout(300_000);

const LIQUIDATION_CALL_ABI = ['function liquidationCall(address collateralAsset, address debtAsset, address user, uint256 debtToCover, bool receiveAToken)'];

describe('batch liquidation through the worker (one world, shocks in turn)', () => {
  let h: Harness;
  let reader: AaveV3PositionReader;

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    h = await harness('batch', 1, { MAX_BATCH_SIZE: '10', REPLACE_AFTER_SEC: '30' });
    reader = new AaveV3PositionReader(h.world.provider, h.world.info.market.pool, 'v3.5');
  });
  afterAll(async () => {
    h?.documents.destroy();
    await h?.world.stop();
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    delete process.env.POWERTOOLS_LOG_LEVEL;
  });

  it('a batch of ten where a rival liquidates one account first: one transaction, the nine others liquidated, each member recorded with its own outcome', async () => {
    await h.world.setPrice('WETH', 2_050n * 10n ** 8n);
    const block = await latestBlockNumber(h.world.provider);
    const targets = await liquidatableAt(h, block);
    expect(targets.length).toBeGreaterThanOrEqual(10);
    // The rival's account: one collateral, one debt and HF < 0.95 (close factor 100 %): its liquidation leaves
    // nothing for ours.
    const pool = new Contract(h.world.info.market.pool, POOL_ABI, h.world.provider);
    let rivalTarget: { user: string; collateral: string; debt: string } | undefined;
    for (const user of targets) {
      const position = await reader.readPosition(user, block);
      const collateral = position.reserves.filter((r) => r.collateralBalanceUnits > 0n && r.usageAsCollateralEnabled);
      const debt = position.reserves.filter((r) => r.debtBalanceUnits > 0n);
      const { healthFactor } = await pool.getUserAccountData(user, { blockTag: block });
      if (collateral.length === 1 && debt.length === 1 && (healthFactor as bigint) < (WAD * 95n) / 100n) {
        rivalTarget = { user, collateral: collateral[0].asset, debt: debt[0].asset };
        break;
      }
    }
    expect(rivalTarget).toBeDefined();
    const chosen = [rivalTarget!.user, ...targets.filter((t) => t !== rivalTarget!.user).slice(0, 9)];
    const messages = chosen.map((borrower) => candidate(h, borrower, block));
    const records = messages.map((m) => recordOf(m, 'batch'));

    const [rivalAddress] = (await h.world.provider.listAccounts()).slice(-1).map((s) => s.address);
    await h.world.fundAccount(rivalAddress);
    const rival = new Contract(h.world.info.market.pool, LIQUIDATION_CALL_ABI, await h.world.provider.getSigner(rivalAddress));
    const outcomes: RecordOutcome[] = [];
    const worker = await quietWorker(h, { receiptTimeoutMs: 30_000, onOutcome: (outcome) => outcomes.push(outcome) });
    const nonceBefore = await h.world.provider.getTransactionCount(h.liquidator, 'latest');

    await h.world.provider.send('evm_setIntervalMining', [0]);
    let failed;
    try {
      const handled = invoke(worker, records);
      // Our batch waits in the mempool; the rival's liquidation, with a higher tip, goes before it in the block.
      const deadline = Date.now() + 60_000;
      while ((await h.world.provider.getTransactionCount(h.liquidator, 'pending')) === nonceBefore && Date.now() < deadline) await sleep(200);
      expect(await h.world.provider.getTransactionCount(h.liquidator, 'pending')).toBe(nonceBefore + 1);
      await rival.liquidationCall(rivalTarget!.collateral, rivalTarget!.debt, rivalTarget!.user, MaxUint256, false, {
        maxPriorityFeePerGas: 100n * 10n ** 9n,
        maxFeePerGas: 500n * 10n ** 9n,
        gasLimit: 2_000_000n,
      });
      await h.world.provider.send('evm_mine', []);
      failed = await handled;
    } finally {
      await h.world.provider.send('evm_setIntervalMining', [1]);
    }
    expect(failed).toEqual([]);

    // One transaction of ours in all.
    expect(await h.world.provider.getTransactionCount(h.liquidator, 'latest')).toBe(nonceBefore + 1);
    const mined = outcomes.filter((o): o is Extract<RecordOutcome, { kind: 'mined' }> => o.kind === 'mined');
    expect(mined).toHaveLength(9);
    const txHash = mined[0].txHash;
    expect(new Set(mined.map((o) => o.txHash))).toEqual(new Set([txHash]));
    const receipt = (await h.world.provider.getTransactionReceipt(txHash))!;
    expect(receipt.status).toBe(1);

    // The rival's account: its item failed inside the mined batch, which the market caused.
    const [rivalEvent] = await liquidationsOf(h, rivalTarget!.user, block);
    expect(rivalEvent.args.liquidator).toBe(rivalAddress);
    expect(rivalEvent.blockNumber).toBe(receipt.blockNumber);
    expect(outcomes.find((o) => o.kind === 'reverted')).toMatchObject({ kind: 'reverted', txHash, revertClass: 'market-moved', opportunity: deduplicationIdOf(messages[0]) });
    const rivalled = (await h.ledger.find(deduplicationIdOf(messages[0])))!;
    expect(rivalled).toMatchObject({ state: 'reverted', txHash, reason: expect.stringContaining(`batch item ${rivalled.batch!.index}`) });

    // The nine others: liquidated by our contract in that transaction, each member `mined` with its own item.
    const batches = new Set<string>([rivalled.batch!.opportunity]);
    const indexes = new Set<number>([rivalled.batch!.index]);
    for (const message of messages.slice(1)) {
      const events = await liquidationsOf(h, message.borrower, block);
      expect(events.map((e) => [e.transactionHash, e.args.liquidator])).toEqual([[txHash, h.world.info.liquidatorContract]]);
      const attempt = (await h.ledger.find(deduplicationIdOf(message)))!;
      expect(attempt).toMatchObject({ state: 'mined', txHash, transactions: [] });
      // The plan at the read block; the event at the mined one, with the interest accrued in between (time runs).
      const [planned, repaid] = [attempt.plan!.debtRepaidUnits, events[0].args.debtToCover as bigint];
      expect(planned > repaid ? planned - repaid : repaid - planned).toBeLessThanOrEqual(planned / 10_000n + 1n);
      batches.add(attempt.batch!.opportunity);
      indexes.add(attempt.batch!.index);
    }
    // One batch attempt carries all ten, one item each: its one transaction is the mined one.
    expect(batches.size).toBe(1);
    expect([...indexes].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const [batchOpportunity] = [...batches];
    expect(await h.ledger.find(batchOpportunity)).toMatchObject({ state: 'mined', txHash, transactions: [{ index: 0, state: 'mined', txHash }] });
    await expectNoStuckNonce(h, h.liquidator);
  });

  it('a worker killed after the batch was broadcast: the redelivery resumes it with the same bytes and no second transaction', async () => {
    await h.world.setPrice('WBTC', 45_000n * 10n ** 8n);
    const block = await latestBlockNumber(h.world.provider);
    const targets = (await liquidatableAt(h, block)).slice(0, 5);
    expect(targets.length).toBeGreaterThanOrEqual(3);
    const messages = targets.map((borrower) => candidate(h, borrower, block));
    const records = messages.map((m) => recordOf(m, 'crash'));
    const nonceBefore = await h.world.provider.getTransactionCount(h.liquidator, 'latest');
    const crash = crashAt('after-broadcast');

    const crashing = await quietWorker(h, { faults: crash });
    expect(await invoke(crashing, records)).toEqual(records);
    expect(crash.remaining()).toBe(0);
    const members = await Promise.all(messages.map((m) => h.ledger.find(deduplicationIdOf(m))));
    const batchOpportunity = members[0]!.batch!.opportunity;
    for (const member of members) expect(member).toMatchObject({ state: 'batched', batch: { opportunity: batchOpportunity } });
    const signed = (await h.ledger.find(batchOpportunity))!;
    expect(signed).toMatchObject({ state: 'signed', transactions: [{ index: 0, state: 'signed' }] });

    const outcomes: RecordOutcome[] = [];
    const retry = await quietWorker(h, { onOutcome: (outcome) => outcomes.push(outcome) });
    expect(await invoke(retry, records)).toEqual([]);

    const txHash = signed.transactions[0].txHash;
    expect(outcomes.map((o) => [o.kind, 'txHash' in o ? o.txHash : undefined])).toEqual(messages.map(() => ['mined', txHash]));
    for (const message of messages) {
      expect((await liquidationsOf(h, message.borrower, block)).map((e) => e.transactionHash)).toEqual([txHash]);
      expect(await h.ledger.find(deduplicationIdOf(message))).toMatchObject({ state: 'mined', txHash });
    }
    expect(await h.ledger.find(batchOpportunity)).toMatchObject({ state: 'mined', txHash, transactions: [{ index: 0, state: 'mined', txHash }] });
    // The stored bytes went out again; nothing was signed anew.
    expect(await h.world.provider.getTransactionCount(h.liquidator, 'latest')).toBe(nonceBefore + 1);
    await expectNoStuckNonce(h, h.liquidator);
  });

  it('every batch member delivered three times to three concurrent workers: one liquidation per account', async () => {
    await h.world.setPrice('WETH', 1_900n * 10n ** 8n);
    const block = await latestBlockNumber(h.world.provider);
    const targets = (await liquidatableAt(h, block)).slice(0, 8);
    expect(targets.length).toBeGreaterThanOrEqual(4);
    const messages = targets.map((borrower) => candidate(h, borrower, block));
    const records = messages.flatMap((m) => ['a', 'b', 'c'].map((copy) => recordOf(m, copy)));
    const workers = await Promise.all([0, 1, 2].map(() => quietWorker(h, { receiptTimeoutMs: 20_000 })));
    // Each worker gets one copy of every candidate, in its own order: batches race for the same accounts.
    const dealt = workers.map((_, i) => records.filter((_, j) => j % 3 === i)).map((batch, i) => (i === 1 ? batch.reverse() : batch));

    let failed = (await Promise.all(workers.map((worker, i) => invoke(worker, dealt[i])))).flat();
    for (let round = 0; failed.length > 0 && round < 10; round++) failed = await invoke(workers[round % workers.length], failed);
    expect(failed).toEqual([]);

    for (const message of messages) {
      const events = await liquidationsOf(h, message.borrower, block);
      expect({ borrower: message.borrower, liquidations: events.length }).toEqual({ borrower: message.borrower, liquidations: 1 });
      expect(await h.ledger.find(deduplicationIdOf(message))).toMatchObject({ state: 'mined', txHash: events[0].transactionHash });
    }
    await expectNoStuckNonce(h, h.liquidator);
  });
});
