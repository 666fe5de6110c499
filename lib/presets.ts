/**
 * Market presets: `market.preset` names an Aave V3 market of the Aave address book (`@aave-dao/aave-address-book`,
 * the Aave DAO's successor of `@bgd-labs/aave-address-book`), e.g. `AaveV3Ethereum`, `AaveV3EthereumLido`,
 * `AaveV3Base`, `AaveV3Arbitrum`. The preset fills the chain id, the Pool, the addresses provider, the oracle, the
 * data provider, the gas token's wrapper (whose oracle price converts gas into USD) and, where known, the block the
 * indexer starts from; every field can still be set in the config, and a set field wins.
 *
 * Read at synth time only (lib/ is not bundled into the functions). The functions check the filled addresses at
 * start-up against the chain (functions/config/startup-check.ts): code at each, the Pool's addresses provider and
 * oracle, the Pool's revision.
 */
import * as addressBook from '@aave-dao/aave-address-book';

export interface MarketPreset {
  /** The address book's name of the market (`AaveV3Ethereum`). */
  name: string;
  chainId: number;
  pool: string;
  addressesProvider: string;
  oracle: string;
  dataProvider: string;
  /** The wrapper of the chain's gas token among the market's reserves; absent when the market lists none. */
  nativePriceAsset?: string;
  /** Symbol of that wrapper on this chain (what the preset looked for). */
  nativeSymbol?: string;
  /** The Pool's deployment block, where known (the address book does not carry it). */
  indexerStartBlock?: number;
}

/**
 * The reserve whose price is the gas token's on each chain: its wrapper (or the token itself where the gas token
 * is an ERC-20, as CELO). A market that does not list it needs `market.nativePriceAsset`.
 */
const GAS_TOKEN_RESERVE_SYMBOL: Readonly<Record<number, string>> = {
  1: 'WETH',
  10: 'WETH',
  56: 'WBNB',
  100: 'WXDAI',
  137: 'WPOL',
  146: 'wS',
  196: 'WOKB',
  324: 'WETH',
  1868: 'WETH',
  4326: 'WETH',
  5000: 'WMNT',
  8453: 'WETH',
  9745: 'WXPL',
  42161: 'WETH',
  42220: 'CELO',
  43113: 'WAVAX',
  43114: 'WAVAX',
  57073: 'WETH',
  59144: 'WETH',
  84532: 'WETH',
  421614: 'WETH',
  534352: 'WETH',
  11155111: 'WETH',
  11155420: 'WETH',
};

/**
 * Pool deployment blocks (the first block with the Pool proxy's code), as recorded by public indexers of Aave V3
 * events. Starting there misses no borrower; a market without an entry starts from block 0 unless
 * `market.indexerStartBlock` says otherwise (correct, only slower: README, "Indexer backfill").
 */
const POOL_DEPLOYMENT_BLOCK: Readonly<Record<string, number>> = {
  AaveV3Ethereum: 16_291_127,
  AaveV3Arbitrum: 7_742_429,
  AaveV3Optimism: 4_365_693,
  AaveV3Polygon: 25_826_028,
  AaveV3Base: 2_357_134,
};

interface BookMarket {
  CHAIN_ID: number;
  POOL: string;
  POOL_ADDRESSES_PROVIDER: string;
  ORACLE: string;
  AAVE_PROTOCOL_DATA_PROVIDER: string;
  ASSETS: Record<string, { UNDERLYING: string }>;
}

function isBookMarket(value: unknown): value is BookMarket {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<BookMarket>;
  return (
    typeof v.CHAIN_ID === 'number' &&
    typeof v.POOL === 'string' &&
    typeof v.POOL_ADDRESSES_PROVIDER === 'string' &&
    typeof v.ORACLE === 'string' &&
    typeof v.AAVE_PROTOCOL_DATA_PROVIDER === 'string' &&
    typeof v.ASSETS === 'object' &&
    v.ASSETS !== null
  );
}

function presetOf(name: string, market: BookMarket): MarketPreset {
  const nativeSymbol = GAS_TOKEN_RESERVE_SYMBOL[market.CHAIN_ID];
  const nativePriceAsset = nativeSymbol === undefined ? undefined : market.ASSETS[nativeSymbol]?.UNDERLYING;
  const indexerStartBlock = POOL_DEPLOYMENT_BLOCK[name];
  return {
    name,
    chainId: market.CHAIN_ID,
    pool: market.POOL,
    addressesProvider: market.POOL_ADDRESSES_PROVIDER,
    oracle: market.ORACLE,
    dataProvider: market.AAVE_PROTOCOL_DATA_PROVIDER,
    ...(nativeSymbol !== undefined ? { nativeSymbol } : {}),
    ...(nativePriceAsset !== undefined ? { nativePriceAsset } : {}),
    ...(indexerStartBlock !== undefined ? { indexerStartBlock } : {}),
  };
}

/** Every Aave V3 market of the address book (mainnets and testnets), by its name there. */
export const MARKET_PRESETS: Readonly<Record<string, MarketPreset>> = Object.freeze(
  Object.fromEntries(
    Object.entries(addressBook as Record<string, unknown>)
      .filter(([name, value]) => /^AaveV3[A-Z]/.test(name) && isBookMarket(value))
      .map(([name, value]) => [name, presetOf(name, value as BookMarket)])
      .sort(([a], [b]) => (a as string).localeCompare(b as string)),
  ),
);

export const MARKET_PRESET_NAMES: readonly string[] = Object.keys(MARKET_PRESETS);
