/**
 * The execution breakers on DynamoDB Local (the KeeperState table as lib/resources.ts defines it). Time is an
 * injected value, never a sleep: "now" is 2024-01-15T23:50:00Z = 1,705,362,600,000 ms, ten minutes before
 * midnight UTC (1,705,363,200,000 ms). Each test uses its own market key, so its breakers start empty.
 */
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../functions/adapters/aws/clients';
import {
  breakerPartitionKey,
  DynamoDbExecutionBreakers,
  type DynamoDbExecutionBreakersOptions,
  gasDaySortKey,
  KILL_SWITCH_SORT_KEY,
  REVERT_STREAK_SORT_KEY,
} from '../../functions/adapters/store/dynamodb-execution-breakers';
import { afterOutcome, type ExecutionOutcome, initialBreakerCounters } from '../../functions/domain/execution-breakers';
import { physicalTableName, TABLES } from '../../lib/resources';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/world/dynamodb-local';
import { createTableInput, localDynamoDbClient } from '../../local/world/resources';

jest.setTimeout(90_000);

const NOW = 1_705_362_600_000;
const MIDNIGHT = 1_705_363_200_000;
const COOLDOWN_MS = 60_000;
const FINNEY = 10n ** 15n;
const SETTINGS = { revertStreakLimit: 5, revertCooldownMs: COOLDOWN_MS, dailyGasBudgetWei: 30n * FINNEY };

let dynamo: DynamoDbLocal;
let client: DynamoDBClient;
let documents: DynamoDBDocumentClient;
let table: string;
let markets = 0;

/** A fresh market key (`chainId#pool`) and its breakers. */
function breakersForNewMarket(settings: Omit<DynamoDbExecutionBreakersOptions, 'scope'> = SETTINGS): { scope: string; breakers: DynamoDbExecutionBreakers } {
  markets += 1;
  const scope = `31337#0x${markets.toString(16).padStart(40, '0')}`;
  return { scope, breakers: new DynamoDbExecutionBreakers(documents, table, { scope, ...settings }) };
}

async function item(scope: string, sk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documents.send(new GetCommand({ TableName: table, Key: { pk: breakerPartitionKey(scope), sk }, ConsistentRead: true }));
  return Item;
}

/** A day's gas item; the document client returns the total as number below 2^53 and as bigint above. */
async function gasItem(scope: string, day: string): Promise<{ gasSpentWei: bigint; transactions: unknown }> {
  const stored = await item(scope, gasDaySortKey(day));
  return { gasSpentWei: BigInt(stored?.gasSpentWei as number | bigint), transactions: stored?.transactions };
}

beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
  client = localDynamoDbClient(dynamo.endpoint);
  documents = createDocumentClient({ endpoints: { dynamodb: dynamo.endpoint } });
  table = physicalTableName('breakers-test', 'keeperState');
  await client.send(new CreateTableCommand(createTableInput(TABLES.keeperState, table)));
});

afterAll(async () => {
  documents?.destroy();
  client?.destroy();
  await dynamo?.process.stop();
});

describe('DynamoDbExecutionBreakers: revert streak', () => {
  it('counts 20 concurrent reverts exactly and pauses once, for the cooldown', async () => {
    // Arrange
    const { scope, breakers } = breakersForNewMarket();

    // Act: 20 workers record a revert at the same moment.
    await Promise.all(Array.from({ length: 20 }, () => breakers.recordOutcome({ kind: 'reverted', gasCostWei: FINNEY }, NOW)));

    // Assert
    expect(await breakers.readCounters(NOW)).toEqual({
      killSwitch: { on: false },
      consecutiveReverts: 20,
      pausedUntilMs: NOW + COOLDOWN_MS,
      day: '2024-01-15',
      gasSpentTodayWei: 20n * FINNEY,
    });
    expect(await breakers.check(NOW)).toEqual({
      kind: 'open',
      reason: 'revert-streak',
      detail: '20 consecutive reverts (limit 5): paused until 2024-01-15T23:51:00.000Z',
      untilMs: NOW + COOLDOWN_MS,
    });
    expect(await gasItem(scope, '2024-01-15')).toEqual({ gasSpentWei: 20n * FINNEY, transactions: 20 });
  });

  it('opens at the limit, closes when the cooldown ends, and reopens on the next revert (half-open)', async () => {
    // Arrange
    const { breakers } = breakersForNewMarket();
    const revert = (nowMs: number) => breakers.recordOutcome({ kind: 'reverted', gasCostWei: 0n }, nowMs);
    for (let i = 0; i < 4; i++) await revert(NOW);
    expect(await breakers.check(NOW)).toEqual({ kind: 'closed' });

    // Act: the fifth revert, one second later.
    await revert(NOW + 1_000);

    // Assert
    expect(await breakers.check(NOW + 1_000)).toMatchObject({ kind: 'open', reason: 'revert-streak', untilMs: NOW + 1_000 + COOLDOWN_MS });
    expect(await breakers.check(NOW + 1_000 + COOLDOWN_MS - 1)).toMatchObject({ kind: 'open', reason: 'revert-streak' });
    expect(await breakers.check(NOW + 1_000 + COOLDOWN_MS)).toEqual({ kind: 'closed' });
    await revert(NOW + 2 * COOLDOWN_MS);
    expect(await breakers.check(NOW + 2 * COOLDOWN_MS)).toMatchObject({ kind: 'open', untilMs: NOW + 3 * COOLDOWN_MS });
  });

  it('never moves a pause earlier: a worker with a lagging clock keeps the later pause', async () => {
    // Arrange
    const { breakers } = breakersForNewMarket({ ...SETTINGS, revertStreakLimit: 1 });
    await breakers.recordOutcome({ kind: 'reverted', gasCostWei: 0n }, NOW + 30_000);

    // Act
    await breakers.recordOutcome({ kind: 'reverted', gasCostWei: 0n }, NOW);

    // Assert
    expect(await breakers.readCounters(NOW)).toMatchObject({ consecutiveReverts: 2, pausedUntilMs: NOW + 30_000 + COOLDOWN_MS });
  });

  it('resets the streak on a mined transaction', async () => {
    // Arrange
    const { scope, breakers } = breakersForNewMarket();
    for (let i = 0; i < 4; i++) await breakers.recordOutcome({ kind: 'reverted', gasCostWei: FINNEY }, NOW);

    // Act
    await breakers.recordOutcome({ kind: 'mined', gasCostWei: 2n * FINNEY }, NOW + 5_000);
    await breakers.recordOutcome({ kind: 'reverted', gasCostWei: FINNEY }, NOW + 6_000);

    // Assert: one revert since the success, far from the limit.
    expect(await breakers.readCounters(NOW + 6_000)).toEqual({
      killSwitch: { on: false },
      consecutiveReverts: 1,
      day: '2024-01-15',
      gasSpentTodayWei: 7n * FINNEY,
    });
    expect(await breakers.check(NOW + 6_000)).toEqual({ kind: 'closed' });
    expect(await item(scope, REVERT_STREAK_SORT_KEY)).toMatchObject({ consecutiveReverts: 1, lastMinedAtMs: NOW + 5_000, lastRevertAtMs: NOW + 6_000 });
  });

  it('stores what the pure rules compute, outcome by outcome', async () => {
    // Arrange
    const { breakers } = breakersForNewMarket();
    const outcomes: [ExecutionOutcome, number][] = [
      [{ kind: 'reverted', gasCostWei: 3n * FINNEY }, NOW],
      [{ kind: 'reverted', gasCostWei: FINNEY }, NOW + 1],
      [{ kind: 'mined', gasCostWei: 4n * FINNEY }, NOW + 2],
      ...Array.from({ length: 6 }, (_, i): [ExecutionOutcome, number] => [{ kind: 'reverted', gasCostWei: FINNEY }, NOW + 10 + i]),
      [{ kind: 'mined', gasCostWei: FINNEY }, MIDNIGHT + 5],
    ];
    let model = initialBreakerCounters(NOW);

    for (const [outcome, nowMs] of outcomes) {
      // Act
      await breakers.recordOutcome(outcome, nowMs);
      model = afterOutcome(model, outcome, SETTINGS, nowMs);

      // Assert
      expect(await breakers.readCounters(nowMs)).toEqual(model);
    }
  });
});

describe('DynamoDbExecutionBreakers: daily gas budget', () => {
  it('opens when the UTC day has spent its budget and closes at midnight, when a new day starts at 0', async () => {
    // Arrange: budget 30 finney; 20 concurrent transactions of 1.5 finney at 23:50 spend exactly 30.
    const { scope, breakers } = breakersForNewMarket();
    await Promise.all(Array.from({ length: 20 }, () => breakers.recordOutcome({ kind: 'mined', gasCostWei: 1_500_000_000_000_000n }, NOW)));

    // Act
    const beforeMidnight = await breakers.check(MIDNIGHT - 1);
    const atMidnight = await breakers.check(MIDNIGHT);
    await breakers.recordOutcome({ kind: 'mined', gasCostWei: FINNEY }, MIDNIGHT + 1);

    // Assert
    expect(beforeMidnight).toEqual({
      kind: 'open',
      reason: 'daily-gas-budget',
      detail: 'gas spent on 2024-01-15 (UTC) is 30000000000000000 wei, budget 30000000000000000 wei',
      untilMs: MIDNIGHT,
    });
    expect(atMidnight).toEqual({ kind: 'closed' });
    expect(await breakers.readCounters(MIDNIGHT + 1)).toMatchObject({ day: '2024-01-16', gasSpentTodayWei: FINNEY });
    expect(await gasItem(scope, '2024-01-15')).toEqual({ gasSpentWei: 30n * FINNEY, transactions: 20 });
    expect(await gasItem(scope, '2024-01-16')).toEqual({ gasSpentWei: FINNEY, transactions: 1 });
  });

  it('adds totals above 2^53 wei exactly', async () => {
    // Arrange: 3 × (10^18 + 1) wei; 10^18 alone is above Number.MAX_SAFE_INTEGER (≈ 9.007 · 10^15).
    const { breakers } = breakersForNewMarket({ ...SETTINGS, dailyGasBudgetWei: undefined });
    const costWei = 10n ** 18n + 1n;

    // Act
    await Promise.all([0, 1, 2].map(() => breakers.recordOutcome({ kind: 'mined', gasCostWei: costWei }, NOW)));

    // Assert
    expect((await breakers.readCounters(NOW)).gasSpentTodayWei).toBe(3_000_000_000_000_000_003n);
    expect(await breakers.check(NOW)).toEqual({ kind: 'closed' });
  });
});

describe('DynamoDbExecutionBreakers: kill switch', () => {
  it('turns on and off, keeping who flipped it, why and when', async () => {
    // Arrange
    const { scope, breakers } = breakersForNewMarket();
    const other = breakersForNewMarket().breakers;

    // Act + Assert: on.
    await breakers.setKillSwitch(true, 'trigger:req-1', 'oracle incident on WETH', NOW);
    expect(await breakers.check(NOW + 1)).toEqual({
      kind: 'open',
      reason: 'kill-switch',
      detail: 'kill switch on since 2024-01-15T23:50:00.000Z by trigger:req-1: oracle incident on WETH',
    });
    expect(await other.check(NOW + 1)).toEqual({ kind: 'closed' });
    expect(await item(scope, KILL_SWITCH_SORT_KEY)).toEqual({
      pk: `breaker#${scope}`,
      sk: 'kill-switch',
      on: true,
      by: 'trigger:req-1',
      reason: 'oracle incident on WETH',
      changedAtMs: NOW,
      changedAt: '2024-01-15T23:50:00.000Z',
    });

    // Act + Assert: off, with its own reason.
    await breakers.setKillSwitch(false, 'trigger:req-2', 'feed recovered', NOW + 60_000);
    expect(await breakers.check(NOW + 60_000)).toEqual({ kind: 'closed' });
    expect(await breakers.readKillSwitch()).toEqual({ on: false, by: 'trigger:req-2', reason: 'feed recovered', changedAtMs: NOW + 60_000 });
  });

  it('is reported before a revert pause', async () => {
    // Arrange
    const { breakers } = breakersForNewMarket({ ...SETTINGS, revertStreakLimit: 1 });
    await breakers.recordOutcome({ kind: 'reverted', gasCostWei: 0n }, NOW);

    // Act
    await breakers.setKillSwitch(true, 'ops', 'investigating reverts', NOW);

    // Assert
    expect(await breakers.check(NOW)).toMatchObject({ kind: 'open', reason: 'kill-switch' });
  });
});

describe('DynamoDbExecutionBreakers: stored data', () => {
  it('rejects a malformed item with its key and the field at fault', async () => {
    // Arrange
    const { scope, breakers } = breakersForNewMarket();
    await documents.send(new PutCommand({ TableName: table, Item: { pk: breakerPartitionKey(scope), sk: REVERT_STREAK_SORT_KEY, consecutiveReverts: 'three' } }));

    // Act + Assert
    await expect(breakers.check(NOW)).rejects.toThrow(`malformed breaker item breaker#${scope} / revert-streak in ${table}: consecutiveReverts:`);
  });

  it('refuses settings that would never open or never close', () => {
    expect(() => new DynamoDbExecutionBreakers(documents, table, { scope: 'x', ...SETTINGS, revertStreakLimit: 0 })).toThrow('revertStreakLimit must be an integer ≥ 1, got 0');
    expect(() => new DynamoDbExecutionBreakers(documents, table, { scope: 'x', ...SETTINGS, revertCooldownMs: -1 })).toThrow('revertCooldownMs must be an integer ≥ 0, got -1');
  });
});
