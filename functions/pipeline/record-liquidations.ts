/**
 * Who captured the market's liquidations, and the bad debt they left: the indexer hands every window's
 * LiquidationCall and DeficitCreated logs here before it moves its checkpoint. Each log is valued at its block's
 * oracle price and recorded once, keyed by transaction hash and log index; only a log recorded for the first
 * time is counted, so the capture metrics count each liquidation once.
 *
 * Why the indexer and not the scanner: the scanner reads the same Pool logs at every block, but two scanner
 * invocations overlap by design (the next one starts before the last one stops) and a lagging scanner jumps to
 * the head, so it both reads some blocks twice and skips others. The indexer reads every block from its
 * checkpoint, and what it reads more than once (the reorg margin, a retried window, an overlapping run) is
 * deduplicated by the conditional write, not by memory. It also keeps DynamoDB writes and historical price reads
 * off the scanner's per-block path.
 *
 * Limits: a liquidation recorded and then reorged out stays recorded (its key is gone from the chain, nothing
 * removes it); a run that records and then dies before flushing its metrics loses those counts (the records
 * stay). Logs older than `lookbackBlocks` below the run's head are not recorded: a full node keeps the state of
 * recent blocks only (geth: 128), and the history before the keeper ran is not its capture rate.
 */
import { mulDivDown } from '../domain/math';
import type {
  AssetPrice,
  AssetPrices,
  Captor,
  DeficitLog,
  LiquidationLog,
  MarketEventRecords,
  OurLiquidators,
} from '../ports/market-liquidations';

/** Below a full node's 128 blocks of recent state (geth), with a margin for the head moving during a run. */
export const DEFAULT_CAPTURE_LOOKBACK_BLOCKS = 120;

/** The liquidations and deficits of one indexed window. */
export interface MarketEventsRead {
  liquidations: readonly LiquidationLog[];
  deficits: readonly DeficitLog[];
}

export interface RecordMarketEventsDeps {
  /** The market key (`chainId#pool`). */
  market: string;
  prices: AssetPrices;
  records: MarketEventRecords;
  ours: OurLiquidators;
  /** Logs more than this many blocks below the run's head are not recorded (see the file comment). */
  lookbackBlocks: number;
}

/** What a run recorded for the first time (USD in the base currency, 8 decimals). */
export interface CaptureTally {
  liquidationsByUs: number;
  liquidationsByOthers: number;
  debtRepaidUsdBase8ByUs: bigint;
  debtRepaidUsdBase8ByOthers: bigint;
  deficits: number;
  badDebtUsdBase8: bigint;
  /** Logs that were already recorded (re-read margin, retried window, overlapping run): not counted again. */
  alreadyRecorded: number;
  /** Logs older than the lookback: neither recorded nor counted. */
  beyondLookback: number;
}

export const emptyCaptureTally = (): CaptureTally => ({
  liquidationsByUs: 0,
  liquidationsByOthers: 0,
  debtRepaidUsdBase8ByUs: 0n,
  debtRepaidUsdBase8ByOthers: 0n,
  deficits: 0,
  badDebtUsdBase8: 0n,
  alreadyRecorded: 0,
  beyondLookback: 0,
});

/** Ours when the liquidator (msg.sender of liquidationCall) is our liquidator contract or one of our signers. */
export function captorOf(liquidator: string, ours: ReadonlySet<string>): Captor {
  return ours.has(liquidator.toLowerCase()) ? 'us' : 'others';
}

/**
 * An amount of an asset in the base currency: amount × price / 10^decimals, rounded down, as the Pool values
 * positions (GenericLogic.calculateUserAccountData: `price * balance / assetUnit`).
 */
export function valueInBase8(amount: bigint, price: AssetPrice): bigint {
  return mulDivDown(amount, price.priceBase8, 10n ** BigInt(price.decimals));
}

function priceOf(prices: ReadonlyMap<string, AssetPrice>, asset: string, block: number): AssetPrice {
  const price = prices.get(asset.toLowerCase());
  if (!price) throw new Error(`no oracle price for ${asset} at block ${block}`);
  return price;
}

/**
 * Values and records one window's logs, adding what was recorded for the first time to `tally` as it goes (a
 * window that fails half-way and is read again counts the first half once and the rest on the retry).
 */
export async function recordMarketEvents(deps: RecordMarketEventsDeps, read: MarketEventsRead, headBlock: number, tally: CaptureTally): Promise<void> {
  const oldest = headBlock - deps.lookbackBlocks;
  const recent = <T extends { block: number }>(logs: readonly T[]): T[] => {
    const kept = logs.filter((log) => log.block >= oldest);
    tally.beyondLookback += logs.length - kept.length;
    return kept;
  };
  const liquidations = recent(read.liquidations);
  const deficits = recent(read.deficits);
  if (liquidations.length === 0 && deficits.length === 0) return;

  // Resolved only when there is something to classify: a quiet run makes no extra call.
  const ours = liquidations.length > 0 ? await deps.ours.addresses() : new Set<string>();
  const blocks = [...new Set([...liquidations, ...deficits].map((log) => log.block))].sort((a, b) => a - b);
  for (const block of blocks) {
    const atBlock = liquidations.filter((l) => l.block === block);
    const deficitsAtBlock = deficits.filter((d) => d.block === block);
    const assets = [...new Set([...atBlock.flatMap((l) => [l.debtAsset, l.collateralAsset]), ...deficitsAtBlock.map((d) => d.debtAsset)])];
    const prices = await deps.prices.pricesAt(block, assets);
    for (const liquidation of atBlock) {
      const by = captorOf(liquidation.liquidator, ours);
      const debtRepaidUsdBase8 = valueInBase8(liquidation.debtRepaid, priceOf(prices, liquidation.debtAsset, block));
      const collateralSeizedUsdBase8 = valueInBase8(liquidation.collateralSeized, priceOf(prices, liquidation.collateralAsset, block));
      const outcome = await deps.records.recordLiquidation(deps.market, { ...liquidation, by, debtRepaidUsdBase8, collateralSeizedUsdBase8 });
      if (outcome === 'already-recorded') {
        tally.alreadyRecorded++;
      } else if (by === 'us') {
        tally.liquidationsByUs++;
        tally.debtRepaidUsdBase8ByUs += debtRepaidUsdBase8;
      } else {
        tally.liquidationsByOthers++;
        tally.debtRepaidUsdBase8ByOthers += debtRepaidUsdBase8;
      }
    }
    for (const deficit of deficitsAtBlock) {
      const amountUsdBase8 = valueInBase8(deficit.amount, priceOf(prices, deficit.debtAsset, block));
      const outcome = await deps.records.recordDeficit(deps.market, { ...deficit, amountUsdBase8 });
      if (outcome === 'already-recorded') {
        tally.alreadyRecorded++;
      } else {
        tally.deficits++;
        tally.badDebtUsdBase8 += amountUsdBase8;
      }
    }
  }
}
