/**
 * Aave V3 behind the pipeline's lending-protocol port (functions/ports/lending-protocol.ts), execution side: the
 * one place the worker and the trigger get Aave adapters from (the scanner's side is aave-v3-scanner-protocol.ts,
 * so neither bundle carries the other's adapters). One instance per chain connection (a provider that applies a
 * pending oracle update gets its own) and market; the position reader is shared by the positions and the gas
 * token's price, so they read one market snapshot per block.
 */
import type { JsonRpcProvider } from 'ethers';
import { type PoolVersionProfile, type RuleSet, sameAddress } from '../../domain';
import type { CandidatePositionSource, NativePriceSource } from '../../pipeline/execute-candidate';
import type { ExecutionProtocol } from '../../ports/lending-protocol';
import type { OraclePriceSource } from '../../pipeline/transaction-dispatcher';
import { AaveV3FlashLoanTerms } from './aave-v3-flash-loan-terms';
import { AaveV3PositionReader } from './aave-v3-position-reader';

export interface AaveV3Market {
  pool: string;
  ruleSet: RuleSet;
  /** What the configured Pool version decides (reads by version: grace periods, virtual balances, eMode model). */
  version: Partial<Pick<PoolVersionProfile, 'eModeModel' | 'liquidationGracePeriod' | 'virtualAccounting' | 'stableDebt'>>;
}

/** Positions from the Aave reader, eMode included (its category's LT, bonus and, on V3.0–3.1, price). */
export function aavePositionSource(reader: AaveV3PositionReader): CandidatePositionSource {
  return {
    async read(user, block) {
      return { kind: 'position', position: await reader.readPosition(user, block) };
    },
  };
}

/** The Aave oracle's price of `asset` in the reader's per-block market snapshot; undefined if it is no reserve. */
async function oraclePriceAt(reader: AaveV3PositionReader, block: number, asset: string): Promise<bigint | undefined> {
  return (await reader.marketAt(block)).reserves.find((r) => sameAddress(r.asset, asset))?.priceBase8;
}

/**
 * The gas token's price: the Aave oracle's price of the wrapped-native reserve at the block, from the reader's
 * per-block market snapshot (already read for the position, so no extra call).
 */
export function aaveOracleNativePrice(reader: AaveV3PositionReader, wrappedNativeAsset: string): NativePriceSource {
  return {
    async nativePriceBase8(block) {
      const price = await oraclePriceAt(reader, block, wrappedNativeAsset);
      if (price === undefined) throw new Error(`NATIVE_PRICE_ASSET ${wrappedNativeAsset} is not a reserve of the market: its price prices gas`);
      return price;
    },
  };
}

/**
 * The Aave oracle's prices of some reserves at a block, from the reader's per-block market snapshot (one call per
 * block, shared with the positions read at it). An asset that is not a reserve of the market is an error.
 */
export function aaveOraclePrices(reader: AaveV3PositionReader): OraclePriceSource {
  return {
    pricesBase8At: (block, assets) =>
      Promise.all(
        assets.map(async (asset) => {
          const price = await oraclePriceAt(reader, block, asset);
          if (price === undefined) throw new Error(`${asset} is not a reserve of the market at block ${block}`);
          return price;
        }),
      ),
  };
}

export function aaveV3ExecutionProtocol(provider: JsonRpcProvider, market: AaveV3Market): ExecutionProtocol {
  const { pool, ruleSet, version } = market;
  let marketReader: AaveV3PositionReader | undefined;
  return {
    protocol: 'aave-v3',
    executionReads: (options) => {
      // The position lens (one eth_call per block and per user) falls back to per-call reads if the node refuses it.
      const reader = new AaveV3PositionReader(provider, pool, ruleSet, version, { onFallback: options.onLensFallback });
      return {
        positions: aavePositionSource(reader),
        flashTerms: new AaveV3FlashLoanTerms(provider, pool),
        nativePrice: aaveOracleNativePrice(reader, options.nativePriceAsset),
        oraclePrices: aaveOraclePrices(reader),
      };
    },
    async marketAssets(block) {
      marketReader ??= new AaveV3PositionReader(provider, pool, ruleSet, version);
      return (await marketReader.marketAt(block)).reserves.map((r) => r.asset);
    },
  };
}
