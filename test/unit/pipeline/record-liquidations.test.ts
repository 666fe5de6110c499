/**
 * Capture-rate and bad-debt recording against in-memory fakes: who captured a liquidation, its USD value at the
 * block's price (hand-checked), each log recorded and counted once however often it is read, logs beyond the
 * lookback left out; then through the indexer, where re-read blocks and a retried window count nothing twice.
 */
import { indexBorrowers, type AccountEventRead, type AccountEventSource } from '../../../functions/pipeline/index-borrowers';
import {
  captorOf,
  emptyCaptureTally,
  recordMarketEvents,
  type RecordMarketEventsDeps,
  valueInBase8,
} from '../../../functions/pipeline/record-liquidations';
import type { CheckpointStore, IndexerCheckpoint } from '../../../functions/ports/borrower-store';
import type {
  AssetPrice,
  AssetPrices,
  DeficitLog,
  LiquidationLog,
  MarketEventRecords,
  RecordedDeficit,
  RecordedLiquidation,
} from '../../../functions/ports/market-liquidations';

const MARKET = '31337#0x00000000000000000000000000000000000000aa';
const addr = (c: string) => `0x${c.repeat(40)}`;
const WETH = addr('e');
const USDC = addr('c');
const BORROWER = addr('b');
const OUR_CONTRACT = addr('1');
const OUR_SIGNER = addr('2');
const RIVAL = addr('9');
const tx = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;

/** WETH at $3,000 and USDC at $1 (USD, 8 decimals), at every block. */
class FixedPrices implements AssetPrices {
  readonly asked: { block: number; assets: string[] }[] = [];
  private readonly table = new Map<string, AssetPrice>([
    [WETH, { priceBase8: 3_000_00000000n, decimals: 18 }],
    [USDC, { priceBase8: 1_00000000n, decimals: 6 }],
  ]);

  async pricesAt(block: number, assets: readonly string[]): Promise<ReadonlyMap<string, AssetPrice>> {
    this.asked.push({ block, assets: [...assets].sort() });
    return new Map(assets.map((a) => [a, this.table.get(a)!]));
  }
}

/** Conditional puts keyed by tx hash + log index, as the DynamoDB adapter does. */
class MemoryRecords implements MarketEventRecords {
  readonly liquidations = new Map<string, RecordedLiquidation>();
  readonly deficits = new Map<string, RecordedDeficit>();
  /** The next liquidation puts fail with this error (a store outage), once. */
  failNextLiquidation: Error | undefined;

  async recordLiquidation(market: string, l: RecordedLiquidation): Promise<'recorded' | 'already-recorded'> {
    const failure = this.failNextLiquidation;
    this.failNextLiquidation = undefined;
    if (failure) throw failure;
    return this.putOnce(this.liquidations, `${market}|${l.txHash}#${l.logIndex}`, l);
  }

  async recordDeficit(market: string, d: RecordedDeficit): Promise<'recorded' | 'already-recorded'> {
    return this.putOnce(this.deficits, `${market}|${d.txHash}#${d.logIndex}`, d);
  }

  private putOnce<T>(items: Map<string, T>, key: string, item: T): 'recorded' | 'already-recorded' {
    if (items.has(key)) return 'already-recorded';
    items.set(key, item);
    return 'recorded';
  }
}

function liquidation(over: Partial<LiquidationLog> = {}): LiquidationLog {
  return {
    txHash: tx(1),
    logIndex: 0,
    block: 100,
    borrower: BORROWER,
    liquidator: RIVAL,
    collateralAsset: WETH,
    debtAsset: USDC,
    // 1,500 USDC repaid, 0.525 WETH seized (0.5 WETH at $3,000 plus a 5 % bonus).
    debtRepaid: 1_500_000000n,
    collateralSeized: 525n * 10n ** 15n,
    receiveAToken: false,
    ...over,
  };
}

const deficit = (over: Partial<DeficitLog> = {}): DeficitLog => ({ txHash: tx(1), logIndex: 1, block: 100, borrower: BORROWER, debtAsset: USDC, amount: 42_500000n, ...over });

function setup(lookbackBlocks = 120) {
  const prices = new FixedPrices();
  const records = new MemoryRecords();
  let oursAsked = 0;
  const deps: RecordMarketEventsDeps = {
    market: MARKET,
    prices,
    records,
    ours: {
      addresses: async () => {
        oursAsked++;
        return new Set([OUR_CONTRACT, OUR_SIGNER]);
      },
    },
    lookbackBlocks,
  };
  return { deps, prices, records, oursAsked: () => oursAsked };
}

describe('captorOf', () => {
  it.each([
    ['our liquidator contract → us', OUR_CONTRACT, 'us'],
    ['one of our signers, upper case → us', OUR_SIGNER.toUpperCase().replace('0X', '0x'), 'us'],
    ['anyone else → others', RIVAL, 'others'],
  ] as const)('%s', (_who, liquidator, expected) => {
    expect(captorOf(liquidator, new Set([OUR_CONTRACT, OUR_SIGNER]))).toBe(expected);
  });
});

describe('valueInBase8', () => {
  it.each([
    ['1,500 USDC at $1', 1_500_000000n, { priceBase8: 1_00000000n, decimals: 6 }, 1_500_00000000n],
    ['0.525 WETH at $3,000', 525n * 10n ** 15n, { priceBase8: 3_000_00000000n, decimals: 18 }, 1_575_00000000n],
    // 1 wei × 3,000e8 / 1e18 = 3e-7 → 0 (rounded down).
    ['1 wei of WETH, rounded down', 1n, { priceBase8: 3_000_00000000n, decimals: 18 }, 0n],
    // 0.000001 USDC × 0.99999999 → 99999999 / 1e6 = 99.999999 → 99.
    ['one unit of USDC at $0.99999999, rounded down', 1n, { priceBase8: 99_999_999n, decimals: 6 }, 99n],
  ])('%s', (_what, amount, price, expected) => {
    expect(valueInBase8(amount, price)).toBe(expected);
  });
});

describe('recordMarketEvents', () => {
  it('records a liquidation by others, one by us and a deficit, valued at the block price, and counts them', async () => {
    const { deps, prices, records } = setup();
    const tally = emptyCaptureTally();
    const read = {
      liquidations: [liquidation(), liquidation({ txHash: tx(2), liquidator: OUR_CONTRACT, debtRepaid: 500_000000n })],
      deficits: [deficit()],
    };

    await recordMarketEvents(deps, read, 100, tally);

    expect(tally).toEqual({
      liquidationsByUs: 1,
      liquidationsByOthers: 1,
      debtRepaidUsdBase8ByUs: 500_00000000n,
      debtRepaidUsdBase8ByOthers: 1_500_00000000n,
      deficits: 1,
      badDebtUsdBase8: 42_50000000n,
      alreadyRecorded: 0,
      beyondLookback: 0,
    });
    expect(records.liquidations.get(`${MARKET}|${tx(1)}#0`)).toEqual({
      ...liquidation(),
      by: 'others',
      debtRepaidUsdBase8: 1_500_00000000n,
      collateralSeizedUsdBase8: 1_575_00000000n,
    });
    expect(records.liquidations.get(`${MARKET}|${tx(2)}#0`)).toMatchObject({ by: 'us', liquidator: OUR_CONTRACT });
    expect([...records.deficits.values()]).toEqual([{ ...deficit(), amountUsdBase8: 42_50000000n }]);
    // One price read for the block, with every asset of its logs.
    expect(prices.asked).toEqual([{ block: 100, assets: [USDC, WETH].sort() }]);
  });

  it('counts nothing twice when the same logs are read again (re-read margin, overlapping run)', async () => {
    const { deps, records } = setup();
    const read = { liquidations: [liquidation()], deficits: [deficit()] };
    await recordMarketEvents(deps, read, 100, emptyCaptureTally());
    const again = emptyCaptureTally();

    await recordMarketEvents(deps, read, 105, again);

    expect(again).toEqual({ ...emptyCaptureTally(), alreadyRecorded: 2 });
    expect(records.liquidations.size).toBe(1);
    expect(records.deficits.size).toBe(1);
  });

  it('leaves out logs older than the lookback, and asks nothing when nothing is left', async () => {
    const { deps, prices, records, oursAsked } = setup(10);
    const tally = emptyCaptureTally();

    await recordMarketEvents(deps, { liquidations: [liquidation({ block: 89 })], deficits: [deficit({ block: 89 })] }, 100, tally);

    expect(tally).toEqual({ ...emptyCaptureTally(), beyondLookback: 2 });
    expect(records.liquidations.size).toBe(0);
    expect(prices.asked).toEqual([]);
    expect(oursAsked()).toBe(0);
  });

  it('does not ask whose liquidations are ours for a window with deficits only', async () => {
    const { deps, oursAsked } = setup();
    const tally = emptyCaptureTally();

    await recordMarketEvents(deps, { liquidations: [], deficits: [deficit()] }, 100, tally);

    expect(tally).toMatchObject({ deficits: 1, badDebtUsdBase8: 42_50000000n });
    expect(oursAsked()).toBe(0);
  });
});

describe('through the indexer', () => {
  /** Blocks 0–20 with a rival's liquidation of BORROWER at block 12 (same tx as its deficit). */
  class ChainWithLiquidation implements AccountEventSource {
    head = 20;
    async headBlock(): Promise<number> {
      return this.head;
    }
    async blockHash(block: number): Promise<string> {
      return tx(1_000 + block);
    }
    async readEvents(fromBlock: number, toBlock: number): Promise<AccountEventRead> {
      const inWindow = fromBlock <= 12 && 12 <= toBlock;
      return {
        kind: 'events',
        events: inWindow ? [{ kind: 'liquidation', account: BORROWER, block: 12 }] : [],
        liquidations: inWindow ? [liquidation({ block: 12 })] : [],
        deficits: inWindow ? [deficit({ block: 12 })] : [],
      };
    }
  }

  class MemoryCheckpoints implements CheckpointStore {
    stored: IndexerCheckpoint | undefined;
    async getCheckpoint(): Promise<IndexerCheckpoint | undefined> {
      return this.stored;
    }
    async putCheckpoint(_id: string, next: IndexerCheckpoint): Promise<void> {
      this.stored = next;
    }
  }

  function indexer(records: MemoryRecords, checkpoints = new MemoryCheckpoints()) {
    const { deps: capture } = setup();
    const borrowers = { upsertSeen: async () => undefined, listTracked: async () => [] };
    return {
      checkpoints,
      run: () =>
        indexBorrowers(
          {
            market: MARKET,
            settings: { startBlock: 0, logWindow: 8, reorgDepth: 10, windowRetryPauseMs: 0 },
            source: new ChainWithLiquidation(),
            borrowers,
            checkpoints,
            clock: { nowMs: () => 0 },
            sleep: async () => undefined,
            capture: { ...capture, records },
          },
          Number.MAX_SAFE_INTEGER,
        ),
    };
  }

  it('counts the liquidation in the run that first reads it, and not in a run that reads its block again', async () => {
    const records = new MemoryRecords();
    const { run, checkpoints } = indexer(records);

    const first = await run();
    // A reorg margin of 10 blocks below a checkpoint at 20 reads block 12 again.
    checkpoints.stored = { block: 19, blockHash: tx(1_019) };
    const second = await run();

    expect(first.capture).toMatchObject({ liquidationsByOthers: 1, debtRepaidUsdBase8ByOthers: 1_500_00000000n, deficits: 1, badDebtUsdBase8: 42_50000000n });
    expect(second.fromBlock).toBeLessThanOrEqual(12);
    expect(second.capture).toEqual({ ...emptyCaptureTally(), alreadyRecorded: 2 });
    expect(records.liquidations.size).toBe(1);
  });

  it('counts a liquidation once when writing it failed and its window was read again', async () => {
    const records = new MemoryRecords();
    records.failNextLiquidation = new Error('ProvisionedThroughputExceededException');
    const { run } = indexer(records);

    const summary = await run();

    expect(summary.failedWindows).toBe(1);
    expect(summary.capture).toMatchObject({ liquidationsByOthers: 1, deficits: 1, alreadyRecorded: 0 });
    expect(records.liquidations.size).toBe(1);
  });
});
