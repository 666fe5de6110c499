/**
 * The execution breakers of one market in the KeeperState table (pk `pk`, sk `sk`; lib/resources.ts). The
 * scope is the market key (`chainId#pool`), so every worker, the scanner and the trigger of a market share one
 * set of breakers, and the partition `breaker#<chainId>#<pool>` holds them:
 *
 *   sk = `kill-switch`       { on, by, reason, changedAtMs, changedAt }        one Put per flip (last writer wins)
 *   sk = `revert-streak`     { consecutiveReverts, pausedUntilMs?, lastRevertAtMs?, lastMinedAtMs? }
 *   sk = `gas#<YYYY-MM-DD>`  { gasSpentWei, transactions }                      one item per UTC day
 *
 * Concurrent workers never lose an update: a revert is `ADD consecutiveReverts 1` (the new value comes back
 * with the write), a success is `SET consecutiveReverts = 0`, gas is `ADD gasSpentWei` on the day's own item (a
 * new UTC day is a new item starting at 0, so there is no reset to race with). The pause that a streak at the
 * limit starts is a conditional SET that only ever moves `pausedUntilMs` later, so two workers crossing the limit
 * at once agree on the later pause. The rules themselves (what opens, for how long) are the domain's
 * (functions/domain/execution-breakers.ts); this adapter applies them as atomic updates.
 *
 * Numbers are DynamoDB numbers (ADD needs them; 38 significant digits hold any wei total). The document client
 * returns those above 2^53 as bigint, below as exact integers.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from '../../zod';
import {
  evaluateExecutionBreakers,
  type ExecutionBreakerCounters,
  type ExecutionBreakerSettings,
  type KillSwitch,
  revertPauseUntil,
  utcDayOf,
} from '../../domain/execution-breakers';
import type { BreakerOutcome, BreakerState, ExecutionBreakers } from '../../ports/circuit-breakers';

export const KILL_SWITCH_SORT_KEY = 'kill-switch';
export const REVERT_STREAK_SORT_KEY = 'revert-streak';

/** The partition of one scope's breakers: `breaker#<chainId>#<pool>` for a market key. */
export function breakerPartitionKey(scope: string): string {
  return `breaker#${scope}`;
}

/** The gas total item of a UTC day (`YYYY-MM-DD`). */
export function gasDaySortKey(day: string): string {
  return `gas#${day}`;
}

export interface DynamoDbExecutionBreakersOptions extends ExecutionBreakerSettings {
  /** Whose breakers: the market key (`chainId#pool`, PipelineConfig['marketKey']). */
  scope: string;
}

/** The kill switch as stored: who flipped it last, why and when (also kept while it is off). */
export interface KillSwitchRecord {
  on: boolean;
  by: string;
  reason: string;
  changedAtMs: number;
}

const count = z.number().check(z.int(), z.nonnegative());
/** A DynamoDB number as the document client returns it: a safe integer as number, a larger one as bigint. */
const wei = z.pipe(z.union([count, z.bigint().check(z.gte(0n))]), z.transform((value) => BigInt(value)));

const killSwitchSchema = z.object({ on: z.boolean(), by: z.string(), reason: z.string(), changedAtMs: count });
const revertStreakSchema = z.object({ consecutiveReverts: z._default(count, 0), pausedUntilMs: z.optional(count) });
const gasDaySchema = z.object({ gasSpentWei: z._default(wei, 0n) });

export class DynamoDbExecutionBreakers implements ExecutionBreakers {
  private readonly pk: string;
  private readonly settings: ExecutionBreakerSettings;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    options: DynamoDbExecutionBreakersOptions,
  ) {
    const { scope, revertStreakLimit, revertCooldownMs, dailyGasBudgetWei } = options;
    if (!table) throw new Error('DynamoDbExecutionBreakers needs the keeper state table (KEEPER_STATE_TABLE)');
    if (!scope) throw new Error('DynamoDbExecutionBreakers needs a scope (the market key)');
    if (!Number.isInteger(revertStreakLimit) || revertStreakLimit < 1) throw new Error(`revertStreakLimit must be an integer ≥ 1, got ${revertStreakLimit}`);
    if (!Number.isInteger(revertCooldownMs) || revertCooldownMs < 0) throw new Error(`revertCooldownMs must be an integer ≥ 0, got ${revertCooldownMs}`);
    if (dailyGasBudgetWei !== undefined && dailyGasBudgetWei < 0n) throw new Error(`dailyGasBudgetWei must be ≥ 0, got ${dailyGasBudgetWei}`);
    this.pk = breakerPartitionKey(scope);
    this.settings = { revertStreakLimit, revertCooldownMs, dailyGasBudgetWei };
  }

  async check(nowMs: number): Promise<BreakerState> {
    return evaluateExecutionBreakers(await this.readCounters(nowMs), this.settings, nowMs);
  }

  /** The stored counters as of `nowMs` (today's gas total; strongly consistent reads, in parallel). */
  async readCounters(nowMs: number): Promise<ExecutionBreakerCounters> {
    const day = utcDayOf(nowMs);
    const [killSwitch, streak, gas] = await Promise.all([
      this.readKillSwitch(),
      this.read(REVERT_STREAK_SORT_KEY, revertStreakSchema),
      this.read(gasDaySortKey(day), gasDaySchema),
    ]);
    const on: KillSwitch = killSwitch?.on
      ? { on: true, by: killSwitch.by, reason: killSwitch.reason, sinceMs: killSwitch.changedAtMs }
      : { on: false };
    return {
      killSwitch: on,
      consecutiveReverts: streak?.consecutiveReverts ?? 0,
      ...(streak?.pausedUntilMs === undefined ? {} : { pausedUntilMs: streak.pausedUntilMs }),
      day,
      gasSpentTodayWei: gas?.gasSpentWei ?? 0n,
    };
  }

  /** The kill switch item (undefined if it was never flipped). */
  async readKillSwitch(): Promise<KillSwitchRecord | undefined> {
    return this.read(KILL_SWITCH_SORT_KEY, killSwitchSchema);
  }

  async recordOutcome(outcome: BreakerOutcome, nowMs: number): Promise<void> {
    if (outcome.gasCostWei < 0n) throw new Error(`gas cost must be ≥ 0 wei, got ${outcome.gasCostWei}`);
    // A revert the market caused (ExecutionOutcome) spends gas but leaves the streak alone.
    const streak = outcome.kind === 'reverted' ? this.recordRevert(nowMs) : outcome.kind === 'mined' ? this.resetStreak(nowMs) : Promise.resolve();
    await Promise.all([this.addGas(outcome.gasCostWei, nowMs), streak]);
  }

  async setKillSwitch(on: boolean, by: string, reason: string, nowMs: number): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: this.pk, sk: KILL_SWITCH_SORT_KEY, on, by, reason, changedAtMs: nowMs, changedAt: new Date(nowMs).toISOString() },
      }),
    );
  }

  private async addGas(gasCostWei: bigint, nowMs: number): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: this.pk, sk: gasDaySortKey(utcDayOf(nowMs)) },
        UpdateExpression: 'ADD gasSpentWei :cost, transactions :one',
        ExpressionAttributeValues: { ':cost': gasCostWei, ':one': 1 },
      }),
    );
  }

  private async recordRevert(nowMs: number): Promise<void> {
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: this.pk, sk: REVERT_STREAK_SORT_KEY },
        UpdateExpression: 'ADD consecutiveReverts :one SET lastRevertAtMs = :now',
        ExpressionAttributeValues: { ':one': 1, ':now': nowMs },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const streak = count.parse(Attributes?.consecutiveReverts);
    const pausedUntilMs = revertPauseUntil(streak, this.settings, nowMs);
    if (pausedUntilMs === undefined) return;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: this.pk, sk: REVERT_STREAK_SORT_KEY },
          UpdateExpression: 'SET pausedUntilMs = :until',
          ConditionExpression: 'attribute_not_exists(pausedUntilMs) OR pausedUntilMs < :until',
          ExpressionAttributeValues: { ':until': pausedUntilMs },
        }),
      );
    } catch (err) {
      // Another worker already paused until at least as late: its pause stands.
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  private async resetStreak(nowMs: number): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: this.pk, sk: REVERT_STREAK_SORT_KEY },
        UpdateExpression: 'SET consecutiveReverts = :zero, lastMinedAtMs = :now',
        ExpressionAttributeValues: { ':zero': 0, ':now': nowMs },
      }),
    );
  }

  private async read<S extends z.ZodMiniType>(sk: string, schema: S): Promise<z.output<S> | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.table, Key: { pk: this.pk, sk }, ConsistentRead: true }));
    if (!Item) return undefined;
    const parsed = schema.safeParse(Item);
    if (!parsed.success) {
      throw new Error(`malformed breaker item ${this.pk} / ${sk} in ${this.table}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    return parsed.data;
  }
}
