/**
 * The market's liquidations and deficits in the KeeperState table (pk `pk`, sk `sk`; lib/resources.ts), one item
 * per log: `{ pk: 'liquidations#<market>', sk: '<txHash>#<logIndex>' }` and `{ pk: 'deficits#<market>', … }`.
 * The type prefix keeps them apart from the checkpoint and breaker items of the market (which use the bare
 * market key and `breakers#…`). Amounts are decimal strings (bigint on the wire, STYLE.md 8).
 *
 * Each put is conditional on the item not existing: the first writer records the log, every later one (a re-read
 * window, an overlapping indexer) gets `already-recorded` and changes nothing.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { MarketEventRecords, RecordedDeficit, RecordedLiquidation } from '../../ports/market-liquidations';

export const liquidationsPartitionOf = (market: string): string => `liquidations#${market}`;
export const deficitsPartitionOf = (market: string): string => `deficits#${market}`;
export const logSortKeyOf = (log: { txHash: string; logIndex: number }): string => `${log.txHash.toLowerCase()}#${log.logIndex}`;

export class DynamoDbMarketEventRecords implements MarketEventRecords {
  private readonly table: string;

  /** `tables` is shaped like `PipelineConfig['tables']`, so callers pass `config.tables`. */
  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: { keeperState?: string },
  ) {
    if (!tables.keeperState) throw new Error('DynamoDbMarketEventRecords needs the keeper state table (KEEPER_STATE_TABLE)');
    this.table = tables.keeperState;
  }

  recordLiquidation(market: string, l: RecordedLiquidation): Promise<'recorded' | 'already-recorded'> {
    return this.putOnce({
      pk: liquidationsPartitionOf(market),
      sk: logSortKeyOf(l),
      txHash: l.txHash,
      logIndex: l.logIndex,
      block: l.block,
      by: l.by,
      borrower: l.borrower,
      liquidator: l.liquidator,
      collateralAsset: l.collateralAsset,
      debtAsset: l.debtAsset,
      debtRepaid: l.debtRepaid.toString(),
      collateralSeized: l.collateralSeized.toString(),
      receiveAToken: l.receiveAToken,
      debtRepaidUsdBase8: l.debtRepaidUsdBase8.toString(),
      collateralSeizedUsdBase8: l.collateralSeizedUsdBase8.toString(),
    });
  }

  recordDeficit(market: string, d: RecordedDeficit): Promise<'recorded' | 'already-recorded'> {
    return this.putOnce({
      pk: deficitsPartitionOf(market),
      sk: logSortKeyOf(d),
      txHash: d.txHash,
      logIndex: d.logIndex,
      block: d.block,
      borrower: d.borrower,
      debtAsset: d.debtAsset,
      amount: d.amount.toString(),
      amountUsdBase8: d.amountUsdBase8.toString(),
    });
  }

  private async putOnce(item: Record<string, unknown>): Promise<'recorded' | 'already-recorded'> {
    try {
      await this.client.send(new PutCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
      return 'recorded';
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return 'already-recorded';
      throw err;
    }
  }
}
