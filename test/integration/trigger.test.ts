/**
 * The manual trigger on the local world (anvil with the `default` Aave v3.6 market, automine, DynamoDB Local,
 * fauxqs), with the adapters wired from the local pipeline environment as `npm run trigger` wires them. The
 * indexer runs once to track the seeded borrowers, then WETH falls 15 %. The tests build on each other:
 *   1. a bad payload fails naming the field;
 *   2. `scan` enqueues exactly the accounts with HF < 1 at its block (the chain is the referee);
 *   3. `liquidate` dry run returns a plan and changes nothing (nonce, HF, ledger); the CLI prints the same plan;
 *   4. `liquidate` sends: LiquidationCall, HF up, `mined` in the ledger under the scanner's opportunity id, so
 *      the candidate the scan enqueued for that account at that block can no longer be claimed by the worker;
 *   5. a healthy account → `stale`; with no world up, the CLI says so.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { Contract, type EventLog, getAddress, getCreateAddress } from 'ethers';
import { latestBlockNumber } from '../../functions/adapters/chain/provider';
import { CLAIM_SORT_KEY, DynamoDbLiquidationLedger, type LedgerItem } from '../../functions/adapters/store/dynamodb-liquidation-ledger';
import { loadPipelineConfig, type PipelineConfig } from '../../functions/config/pipeline-config';
import { indexerHandlerFromEnvironment } from '../../functions/handlers/indexer';
import {
  createTriggerHandler,
  type LiquidateBatchTriggerResult,
  LiquidateTriggerResult,
  type StatusTriggerResult,
  type ScanTriggerResult,
  TRIGGER_REQUIREMENTS,
  TRIGGER_SERVICE_NAME,
  type TriggerHandler,
  type TriggerRuntime,
  triggerRuntimeFromConfig,
  type DeployLiquidatorTriggerResult,
  type WithdrawTriggerResult,
} from '../../functions/handlers/trigger';
import { type CandidateMessage, deduplicationIdOf } from '../../functions/pipeline/candidate-message';
import { LOCAL_OPERATOR_TREASURY, localPipelineEnv } from '../../local/runtime/pipeline-env';
import { localLambdaContext } from '../../local/runtime/sqs-event-source';
import { localDynamoDbClient, localSqsClient } from '../../local/world/resources';
import { drainCandidates, POOL_ABI, RecordingMetrics } from './support';
import { loadScenario } from '../../local/world/scenario';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(300_000);

const ROOT = join(__dirname, '..', '..');
const WAD = 10n ** 18n;

/** Runs the CLI as a user does (`npm run trigger -- …` runs tsx on it). */
function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'local', 'trigger-cli.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('manual trigger on the local world (Aave v3.6)', () => {
  let world: World;
  let env: Record<string, string>;
  let config: PipelineConfig;
  let runtime: TriggerRuntime & { close(): void };
  let handler: TriggerHandler;
  let metrics: RecordingMetrics;
  let sqs: SQSClient;
  let ddb: DynamoDBDocumentClient;
  let pool: Contract;
  let liquidator: string;
  let worldFile: string;
  const savedPowertoolsEnv = { POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED };

  /** The scan's result and the messages it put on the queue (test 2); the later tests act on them. */
  let scan: ScanTriggerResult;
  let queued: CandidateMessage[];

  beforeAll(async () => {
    // The indexer is wired from the environment and logs through Powertools: errors only, no EMF on stdout.
    process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    world = await startWorld({ scenario: loadScenario('default'), blockTimeSec: 0, services: true, resourcePrefix: 'it-trigger' });
    env = localPipelineEnv(world.info, { overrides: { SCANNER_DEADLINE_MARGIN_MS: '1000' } });
    sqs = localSqsClient(world.info.sqs!.endpoint);
    ddb = DynamoDBDocumentClient.from(localDynamoDbClient(world.info.dynamodb!.endpoint));
    pool = new Contract(world.info.market.pool, POOL_ABI, world.provider);
    liquidator = world.info.accounts.liquidators[0];

    const indexed = await indexerHandlerFromEnvironment(env)({}, localLambdaContext('indexer', 60_000));
    expect(indexed.newBorrowers).toBe(world.info.borrowers.length);

    config = loadPipelineConfig(env, TRIGGER_REQUIREMENTS);
    runtime = await triggerRuntimeFromConfig(config);
    metrics = new RecordingMetrics({ namespace: 'LiquidationPipeline', serviceName: TRIGGER_SERVICE_NAME });
    handler = createTriggerHandler({
      config,
      logger: new Logger({ serviceName: TRIGGER_SERVICE_NAME, logLevel: 'SILENT' }),
      metrics,
      runtime: () => Promise.resolve(runtime),
      receiptTimeoutMs: 10_000,
    });

    // The CLI reads the world from a file as `npm run world -- up` writes it (its pid must be alive: this one).
    worldFile = join(mkdtempSync(join(tmpdir(), 'trigger-')), 'world.json');
    writeFileSync(worldFile, JSON.stringify({ pid: process.pid, ...world.info }));

    await world.setPrice('WETH', 2_550n * 10n ** 8n);
  });

  afterAll(async () => {
    runtime?.close();
    sqs?.destroy();
    ddb?.destroy();
    await world?.stop();
    for (const [key, value] of Object.entries(savedPowertoolsEnv)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  const invoke = (payload: unknown) => handler(payload, localLambdaContext('trigger', 60_000));
  const healthFactorOf = async (account: string, block?: number): Promise<bigint> =>
    (await pool.getUserAccountData(account, { blockTag: block ?? 'latest' })).healthFactor as bigint;
  const ledgerItem = async (opportunity: string): Promise<LedgerItem | undefined> =>
    (await ddb.send(new GetCommand({ TableName: env.LEDGER_TABLE, Key: { opportunity, attempt: CLAIM_SORT_KEY } }))).Item as LedgerItem | undefined;

  it.each([
    [{ action: 'liquidate', account: '0x1234', dryRun: true }, 'invalid trigger payload: account: must be a 0x-prefixed 20-byte hex address'],
    // Anvil's account 1 with one letter's case flipped.
    [{ action: 'liquidate', account: '0x70997970c51812dc3A010C7d01b50e0d17dc79C8', dryRun: true }, 'account: checksum does not match (EIP-55)'],
    [{ action: 'liquidate', account: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8' }, 'invalid trigger payload: dryRun: required: true or false'],
    [{ action: 'liquidate', account: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8', dryRun: 'yes' }, 'dryRun: must be true or false'],
    [{ action: 'liquidate', dryRun: true }, 'invalid trigger payload: account: required: either account (one borrower) or accounts (a list, one transaction)'],
    [
      { action: 'liquidate', account: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8', accounts: ['0x70997970c51812dc3a010c7d01b50e0d17dc79c8'], dryRun: true },
      'account: required: either account (one borrower) or accounts',
    ],
    [{ action: 'liquidate', accounts: [], dryRun: true }, 'invalid trigger payload: accounts: must name at least one account'],
    [{ action: 'liquidate', accounts: ['0x70997970c51812dc3a010c7d01b50e0d17dc79c8', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'], dryRun: true }, 'accounts: must not name an account twice'],
    [{ action: 'liquidate', accounts: ['0x1234'], dryRun: true }, 'invalid trigger payload: accounts.0: must be a 0x-prefixed 20-byte hex address'],
    [{ action: 'rescue' }, 'invalid trigger payload: action: must be "scan", "liquidate", "pause", "resume", "status", "deploy-liquidator" or "withdraw"'],
    [{ action: 'withdraw', dryRun: true, token: '0xabc' }, 'invalid trigger payload: token: must be a 0x-prefixed 20-byte hex address'],
    [{ action: 'deploy-liquidator' }, 'invalid trigger payload: dryRun: required: true or false'],
    [{ action: 'pause' }, 'invalid trigger payload: reason: required: why (recorded with the switch)'],
    [{ action: 'scan', account: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8' }, 'invalid trigger payload: (payload): Unrecognized key: "account"'],
    ['scan', 'invalid trigger payload: (payload): must be a JSON object such as {"action":"scan"}'],
  ])('rejects the payload %j naming the field', async (payload, message) => {
    await expect(invoke(payload)).rejects.toThrow(message);
  });

  it('scan: enqueues exactly the accounts with HF < 1 at the latest block', async () => {
    const head = await latestBlockNumber(world.provider);

    const result = await invoke({ action: 'scan' });

    expect(result.action).toBe('scan');
    scan = result as ScanTriggerResult;
    expect(scan.block).toBe(head);
    expect(scan.summary).toMatchObject({ blocks: 1, accountsScanned: world.info.borrowers.length, failedBlocks: 0, breakerOpen: [] });
    const expected: string[] = [];
    for (const { address } of world.info.borrowers) if ((await healthFactorOf(address, scan.block)) < WAD) expected.push(address.toLowerCase());
    expect(expected.length).toBeGreaterThanOrEqual(3);
    expect(scan.enqueued.map((c) => c.borrower.toLowerCase()).sort()).toEqual([...expected].sort());
    expect(scan).toMatchObject({ liquidatable: expected.length, blockedByBreaker: [], alreadyEnqueued: 0, publishFailed: [] });

    queued = await drainCandidates(sqs, env.CANDIDATES_QUEUE_URL);
    expect(queued.map((m) => m.borrower.toLowerCase()).sort()).toEqual([...expected].sort());
    for (const message of queued) expect(message).toMatchObject({ detectedBlock: scan.block, source: 'scanner' });
    expect(metrics.published.at(-1)).toMatchObject({ TriggerInvocations: 1, CandidatesEnqueued: expected.length });
  });

  it('liquidate --dry-run: returns the plan and changes nothing', async () => {
    const account = getAddress(scan.enqueued[0].borrower);
    const [nonceBefore, hfBefore, blockBefore] = await Promise.all([world.provider.getTransactionCount(liquidator), healthFactorOf(account), latestBlockNumber(world.provider)]);

    const out = (await invoke({ action: 'liquidate', account, dryRun: true })) as LiquidateTriggerResult;

    expect(out).toMatchObject({ action: 'liquidate', account, dryRun: true, candidate: { source: 'trigger', borrower: account, detectedBlock: blockBefore } });
    expect(BigInt(out.candidate.healthFactorWad)).toBe(hfBefore);
    if (out.result.kind !== 'dry-run') throw new Error(`expected a dry run, got ${JSON.stringify(out.result)}`);
    const { plan } = out.result;
    const reserves = Object.values(world.info.tokens).map((token) => token.toLowerCase());
    expect(reserves).toEqual(expect.arrayContaining([plan.collateralAsset.toLowerCase(), plan.debtAsset.toLowerCase()]));
    expect(plan.healthFactorBeforeWad).toBe(hfBefore.toString());
    expect(BigInt(plan.debtToCoverUnits)).toBeGreaterThan(0n);
    expect(BigInt(plan.liquidatorCollateralUnits)).toBeGreaterThan(0n);
    expect(BigInt(plan.profitBase)).toBeGreaterThan(0n);
    expect(BigInt(plan.healthFactorAfterWad)).toBeGreaterThan(hfBefore);
    expect(BigInt(plan.gasLimit)).toBeGreaterThan(0n);
    // Nothing sent, nothing mined, nothing claimed: the worker's candidate for this block stays claimable.
    expect(await world.provider.getTransactionCount(liquidator)).toBe(nonceBefore);
    expect(await latestBlockNumber(world.provider)).toBe(blockBefore);
    expect(await healthFactorOf(account)).toBe(hfBefore);
    expect(await ledgerItem(out.result.opportunity)).toBeUndefined();
  });

  it('npm run trigger -- liquidate --dry-run prints the plan as a table, and as JSON with --json', () => {
    const account = getAddress(scan.enqueued[0].borrower);

    const table = runCli(['liquidate', '--account', account, '--dry-run', '--world', worldFile]);
    const json = runCli(['liquidate', '--account', account, '--dry-run', '--json', '--world', worldFile]);

    expect({ status: table.status, stderr: table.stderr }).toEqual({ status: 0, stderr: expect.stringContaining(`trigger: liquidate ${account} (dry run)`) });
    expect(table.stdout).toContain(`liquidate ${account} at block ${scan.block}`);
    expect(table.stdout).toContain('dry run, planned and simulated, nothing sent');
    expect(json.status).toBe(0);
    const out = JSON.parse(json.stdout) as LiquidateTriggerResult;
    expect(out).toMatchObject({ action: 'liquidate', dryRun: true, result: { kind: 'dry-run', block: scan.block } });
    // The table names the pair by the world's symbols.
    const symbolOf = (asset: string) => Object.entries(world.info.tokens).find(([, token]) => token.toLowerCase() === asset.toLowerCase())![0];
    const { plan } = out.result as Extract<LiquidateTriggerResult['result'], { kind: 'dry-run' }>;
    const [collateral, debt] = [symbolOf(plan.collateralAsset), symbolOf(plan.debtAsset)];
    expect(table.stdout).toMatch(new RegExp(`pair\\s+${collateral} / ${debt} {2}\\(collateral / debt\\)`));
    expect(table.stdout).toMatch(new RegExp(`debt to cover\\s+[\\d,]+\\.\\d+ ${debt}\\b`));
    expect(table.stdout).toMatch(new RegExp(`collateral received\\s+[\\d,]+\\.\\d+ ${collateral}\\b`));
    expect(table.stdout).toMatch(/profit\s+\$[\d,]+\.\d{2} {2}\(received \$/);
    expect(table.stdout).toMatch(/health factor\s+0\.\d{4} → (\d[\d,]*\.\d{4}|∞ \(no debt\))/);
  });

  it('pause: the kill switch stops a liquidation before anything is claimed; status shows it and the signer; resume lifts it', async () => {
    const account = scan.enqueued[0].borrower;
    const nonceBefore = await world.provider.getTransactionCount(liquidator);

    expect(await invoke({ action: 'pause', reason: 'incident 42' })).toMatchObject({ action: 'pause', killSwitch: true, reason: 'incident 42', by: expect.stringMatching(/^trigger:/) });
    const paused = (await invoke({ action: 'liquidate', account, dryRun: false })) as LiquidateTriggerResult;
    const status = (await invoke({ action: 'status' })) as StatusTriggerResult;

    expect(paused.result).toMatchObject({ kind: 'paused', reason: 'kill-switch', detail: expect.stringContaining('incident 42') });
    expect(await ledgerItem(paused.result.opportunity)).toBeUndefined();
    expect(await world.provider.getTransactionCount(liquidator)).toBe(nonceBefore);
    expect(status.breaker).toMatchObject({ kind: 'open', reason: 'kill-switch' });
    expect(status.signers).toEqual([{ address: liquidator, balanceWei: (await world.provider.getBalance(liquidator)).toString(), confirmedNonce: nonceBefore }]);

    expect(await invoke({ action: 'resume', reason: 'incident 42 closed' })).toMatchObject({ action: 'resume', killSwitch: false });
    expect(((await invoke({ action: 'status' })) as StatusTriggerResult).breaker).toEqual({ kind: 'closed' });
  });

  it('liquidate: sends as the worker does, and takes the opportunity from the queued candidate', async () => {
    const account = scan.enqueued[0].borrower;
    const hfBefore = await healthFactorOf(account);
    const queuedForAccount = queued.find((m) => m.borrower === account)!;

    const out = (await invoke({ action: 'liquidate', account, dryRun: false })) as LiquidateTriggerResult;

    if (out.result.kind !== 'mined') throw new Error(`expected mined, got ${JSON.stringify(out.result)}`);
    expect(out.dryRun).toBe(false);
    const events = (await pool.queryFilter(pool.filters.LiquidationCall(null, null, account), scan.block + 1, 'latest')) as EventLog[];
    // Through the liquidator contract (the Pool's caller), with a flash loan: the signer held no tokens.
    expect(events.map((e) => ({ tx: e.transactionHash, liquidator: e.args.liquidator as string }))).toEqual([{ tx: out.result.txHash, liquidator: world.info.liquidatorContract }]);
    expect(out.result.plan).toMatchObject({ funding: 'flash-loan', liquidatorContract: world.info.liquidatorContract });
    // What the contract kept, by its event: the plan's profit up to the interest accrued between the read block
    // and the mined one (time runs here; the differential test freezes it and finds them equal to the unit).
    const realized = BigInt(out.result.realized!.profitUnits);
    const planned = BigInt(out.result.plan.expectedProfitUnits!);
    expect(realized > planned ? realized - planned : planned - realized).toBeLessThanOrEqual(planned / 10_000n + 1n);
    expect(await healthFactorOf(account)).toBeGreaterThan(hfBefore);
    // Same opportunity id as the scanner's candidate at the same block: one ledger claim for both.
    expect(out.result.opportunity).toBe(deduplicationIdOf(queuedForAccount));
    const item = await ledgerItem(out.result.opportunity);
    expect(item).toMatchObject({ state: 'mined', txHash: out.result.txHash, claims: 1, attemptId: expect.stringMatching(/^trigger:/) });
    const workerLedger = new DynamoDbLiquidationLedger(DynamoDBDocumentClient.from(localDynamoDbClient(world.info.dynamodb!.endpoint)), env.LEDGER_TABLE);
    const position = `${world.info.chainId}#${world.info.market.pool.toLowerCase()}#${account.toLowerCase()}#${out.result.plan.debtAsset.toLowerCase()}`;
    expect(await workerLedger.claim(out.result.opportunity, 'sqs-message-of-the-scanner-candidate', position, out.result.block, new Date().toISOString())).toEqual({ kind: 'duplicate' });
    expect(metrics.published.at(-1)).toMatchObject({ TriggerInvocations: 1, LiquidationsSent: 1 });
  });

  it('liquidate --accounts: a dry run simulates them as one batch and sends nothing; sent, they go out in one transaction', async () => {
    const accounts = scan.enqueued.slice(1, 4).map((c) => getAddress(c.borrower));
    expect(accounts.length).toBeGreaterThanOrEqual(2);
    const nonceBefore = await world.provider.getTransactionCount(liquidator);

    const dry = runCli(['liquidate', '--accounts', accounts.join(','), '--dry-run', '--json', '--world', worldFile]);
    expect({ status: dry.status, stderr: dry.stderr }).toEqual({ status: 0, stderr: expect.stringContaining(`trigger: liquidate ${accounts.length} accounts in one transaction (dry run)`) });
    const planned = JSON.parse(dry.stdout) as LiquidateBatchTriggerResult;
    expect(planned.results.map((r) => [r.account, r.result.kind])).toEqual(accounts.map((a) => [a, 'dry-run']));
    expect(await world.provider.getTransactionCount(liquidator)).toBe(nonceBefore);

    const out = (await invoke({ action: 'liquidate', accounts, dryRun: false })) as LiquidateBatchTriggerResult;
    const mined = out.results.map(({ result }) => result);
    for (const result of mined) if (result.kind !== 'mined') throw new Error(`expected mined, got ${JSON.stringify(result)}`);
    const txHashes = new Set(mined.map((r) => (r.kind === 'mined' ? r.txHash : '')));
    expect(txHashes.size).toBe(1);
    const [txHash] = [...txHashes];
    expect(await world.provider.getTransactionCount(liquidator)).toBe(nonceBefore + 1);
    for (const account of accounts) {
      const events = (await pool.queryFilter(pool.filters.LiquidationCall(null, null, account), scan.block + 1, 'latest')) as EventLog[];
      expect(events.map((e) => [e.transactionHash, e.args.liquidator])).toEqual([[txHash, world.info.liquidatorContract]]);
    }
    // Each account is its own attempt in the ledger, all carried by one batch attempt.
    const items = await Promise.all(mined.map((r) => ledgerItem(r.opportunity)));
    expect(items.map((i) => i?.state)).toEqual(accounts.map(() => 'mined'));
    expect(new Set(items.map((i) => i?.batchOpportunity)).size).toBe(1);
    expect(metrics.published.at(-1)).toMatchObject({ TriggerInvocations: 1, LiquidationsSent: accounts.length });
  });

  it('liquidate: a healthy account is stale, nothing sent', async () => {
    const head = await latestBlockNumber(world.provider);
    let healthy: string | undefined;
    for (const { address } of world.info.borrowers) {
      if ((await healthFactorOf(address, head)) >= WAD) {
        healthy = address;
        break;
      }
    }
    const nonceBefore = await world.provider.getTransactionCount(liquidator);

    const out = (await invoke({ action: 'liquidate', account: healthy!, dryRun: false })) as LiquidateTriggerResult;

    expect(out.result).toMatchObject({ kind: 'stale', block: head });
    expect(BigInt((out.result as { healthFactorWad: string }).healthFactorWad)).toBeGreaterThanOrEqual(WAD);
    expect(await world.provider.getTransactionCount(liquidator)).toBe(nonceBefore);
  });

  it('status shows the contract; withdraw sweeps its profit to the treasury (a dry run sends nothing)', async () => {
    const status = (await invoke({ action: 'status' })) as StatusTriggerResult;
    if ('missing' in status.liquidator) throw new Error(`expected the world's contract, got ${status.liquidator.missing}`);
    expect(status.liquidator).toMatchObject({ address: world.info.liquidatorContract, owner: liquidator, callers: [{ address: liquidator, allowed: true }] });
    // The profit of the liquidation above, in its debt asset.
    const [profit] = status.liquidator.balances;
    const token = new Contract(profit.asset, ['function balanceOf(address) view returns (uint256)'], world.provider);
    const held = (await token.balanceOf(world.info.liquidatorContract)) as bigint;
    expect(held).toBeGreaterThan(0n);
    expect(profit.units).toBe(held.toString());
    const nonceBefore = await world.provider.getTransactionCount(liquidator);

    const dry = (await invoke({ action: 'withdraw', dryRun: true, token: profit.asset })) as WithdrawTriggerResult;
    expect(dry.swept).toEqual([{ ...profit, step: { purpose: `withdraw ${profit.symbol}`, dryRun: true, gasEstimate: expect.stringMatching(/^\d+$/) } }]);
    expect(await world.provider.getTransactionCount(liquidator)).toBe(nonceBefore);

    const treasuryBefore = (await token.balanceOf(LOCAL_OPERATOR_TREASURY)) as bigint;
    const out = (await invoke({ action: 'withdraw', dryRun: false })) as WithdrawTriggerResult;
    expect(out.treasury).toBe(LOCAL_OPERATOR_TREASURY);
    expect(out.swept.map((w) => w.asset)).toContain(profit.asset);
    expect(out.swept.every((w) => !w.step.dryRun)).toBe(true);
    expect(await token.balanceOf(world.info.liquidatorContract)).toBe(0n);
    expect(await token.balanceOf(LOCAL_OPERATOR_TREASURY)).toBe(treasuryBefore + held);
    // One nonce per token swept, leased like the workers' (nothing left open).
    expect(await world.provider.getTransactionCount(liquidator)).toBe(nonceBefore + out.swept.length);
    expect(await world.provider.getTransactionCount(liquidator, 'pending')).toBe(nonceBefore + out.swept.length);
  });

  it('deploy-liquidator: refused while a working contract is configured; with replace, deploys one owned by the signer', async () => {
    await expect(invoke({ action: 'deploy-liquidator', dryRun: true })).rejects.toThrow(`a liquidator contract is already configured at ${world.info.liquidatorContract}`);
    const nonce = await world.provider.getTransactionCount(liquidator);

    const dry = (await invoke({ action: 'deploy-liquidator', dryRun: true, replace: true })) as DeployLiquidatorTriggerResult;
    expect(dry).toMatchObject({ dryRun: true, owner: liquidator, address: getCreateAddress({ from: liquidator, nonce }), recorded: 'nothing (dry run)' });
    expect(await world.provider.getTransactionCount(liquidator)).toBe(nonce);

    const out = (await invoke({ action: 'deploy-liquidator', dryRun: false, replace: true })) as DeployLiquidatorTriggerResult;
    expect(out.address).toBe(getCreateAddress({ from: liquidator, nonce }));
    expect(out.steps).toEqual([expect.objectContaining({ purpose: 'deploy-liquidator', dryRun: false })]);
    // LIQUIDATOR_ADDRESS is set by hand locally: the result says what to set.
    expect(out.recorded).toBe(`nowhere: LIQUIDATOR_ADDRESS is set by hand here; set it to ${out.address}`);
    const deployed = new Contract(out.address, ['function owner() view returns (address)', 'function pool() view returns (address)', 'function swapRouter() view returns (address)'], world.provider);
    expect([await deployed.owner(), await deployed.pool(), await deployed.swapRouter()]).toEqual([liquidator, world.info.market.pool, world.info.dex.swapRouter]);
  });

  it('npm run trigger with no world up says how to start one', () => {
    const missing = runCli(['scan', '--world', join(tmpdir(), 'no-such-world', 'world.json')]);

    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('trigger: no local world is up');
    expect(missing.stderr).toContain('start one with `npm run world -- up`');
  });
});
