/**
 * Market presets from the Aave address book (lib/presets.ts): every preset of the installed book makes a config
 * that synthesizes (cdk-nag included) and whose functions accept their environment; set fields win over the
 * preset's; what the preset cannot fill is refused naming the field.
 */
import * as addressBook from '@aave-dao/aave-address-book';
import { loadPipelineConfig } from '../../functions/config/pipeline-config';
import { parseDeploymentConfig } from '../../lib/config';
import { PIPELINE_FUNCTIONS, type PipelineFunctionName } from '../../lib/pipeline-functions';
import { MARKET_PRESET_NAMES, MARKET_PRESETS } from '../../lib/presets';
import { deployedEnvironment, synthesizeKeeper } from './keeper-synth';

jest.setTimeout(600_000);

/** The DEX addresses are not the address book's business: any valid pair does for synthesis. */
const DEX = { swapRouter02: '0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45', quoterV2: '0x61fFE014bA17989E743c5F6cB21bF9697530B21e' };
const WETH_LIKE = '0x4200000000000000000000000000000000000006';

function presetConfig(preset: string, market: Record<string, unknown> = {}, top: Record<string, unknown> = {}) {
  return {
    name: `k-${preset.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 28)}`,
    market: { protocol: 'aave-v3', preset, poolVersion: '3.6', dex: DEX, ...market },
    rpcUrlSecretName: 'keeper/rpc-url',
    ...top,
  };
}

const book = addressBook as unknown as Record<string, { CHAIN_ID: number; POOL: string; POOL_ADDRESSES_PROVIDER: string; ORACLE: string; AAVE_PROTOCOL_DATA_PROVIDER: string }>;

describe('MARKET_PRESETS', () => {
  it('holds every Aave V3 market of the address book, with the book\'s addresses', () => {
    const inBook = Object.keys(book).filter((name) => /^AaveV3[A-Z]/.test(name) && typeof book[name]?.POOL === 'string');
    expect(MARKET_PRESET_NAMES).toEqual([...inBook].sort((a, b) => a.localeCompare(b)));
    // The markets the README names.
    expect(MARKET_PRESET_NAMES).toEqual(expect.arrayContaining(['AaveV3Ethereum', 'AaveV3EthereumLido', 'AaveV3Base', 'AaveV3Arbitrum', 'AaveV3Optimism', 'AaveV3Polygon', 'AaveV3Avalanche']));
    for (const name of MARKET_PRESET_NAMES) {
      expect(MARKET_PRESETS[name]).toMatchObject({
        chainId: book[name].CHAIN_ID,
        pool: book[name].POOL,
        addressesProvider: book[name].POOL_ADDRESSES_PROVIDER,
        oracle: book[name].ORACLE,
        dataProvider: book[name].AAVE_PROTOCOL_DATA_PROVIDER,
      });
    }
  });

  it('takes the gas token\'s reserve from the market\'s assets: WETH on Ethereum and its L2s, WPOL on Polygon, WAVAX on Avalanche', () => {
    expect(MARKET_PRESETS.AaveV3Ethereum.nativePriceAsset).toBe('0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2');
    expect(MARKET_PRESETS.AaveV3Base.nativePriceAsset).toBe(WETH_LIKE);
    expect(MARKET_PRESETS.AaveV3Optimism.nativePriceAsset).toBe(WETH_LIKE);
    expect(MARKET_PRESETS.AaveV3Polygon.nativeSymbol).toBe('WPOL');
    expect(MARKET_PRESETS.AaveV3Avalanche.nativeSymbol).toBe('WAVAX');
    expect(MARKET_PRESETS.AaveV3Polygon.nativePriceAsset).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(MARKET_PRESETS.AaveV3Avalanche.nativePriceAsset).toMatch(/^0x[0-9a-fA-F]{40}$/);
  });
});

describe('market.preset in the deployment config', () => {
  it('fills chain id, Pool, addresses provider, oracle, data provider, native asset and start block', () => {
    const config = parseDeploymentConfig(presetConfig('AaveV3Ethereum'));
    expect(config.chainId).toBe(1);
    expect(config.market).toMatchObject({
      pool: '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2',
      addressesProvider: '0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e',
      oracle: '0x54586bE62E3c3580375aE3723C145253060Ca0C2',
      dataProvider: MARKET_PRESETS.AaveV3Ethereum.dataProvider,
      nativePriceAsset: '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2',
      indexerStartBlock: 16_291_127,
    });
  });

  it('lets each field set in the file win over the preset', () => {
    const config = parseDeploymentConfig(presetConfig('AaveV3Base', { indexerStartBlock: 20_000_000, nativePriceAsset: DEX.quoterV2, oracle: DEX.swapRouter02 }, { chainId: 8453 }));
    expect(config.market).toMatchObject({ pool: MARKET_PRESETS.AaveV3Base.pool, indexerStartBlock: 20_000_000, nativePriceAsset: DEX.quoterV2, oracle: DEX.swapRouter02 });
  });

  it('starts from block 0 where the preset knows no deployment block', () => {
    expect(MARKET_PRESETS.AaveV3Avalanche.indexerStartBlock).toBeUndefined();
    expect(parseDeploymentConfig(presetConfig('AaveV3Avalanche')).market.indexerStartBlock).toBe(0);
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>, RegExp]>([
    ['a chain id that is not the preset\'s', {}, { chainId: 10 }, /chainId: 10 is not the chain of market\.preset AaveV3Ethereum \(1\)/],
    ['an unknown preset, with the names it may have meant', { preset: 'AaveV3Etherium' }, {}, /market\.preset: must be a market of the Aave address book \(e\.g\. .*AaveV3Ethereum/],
    ['a preset whose market lists no reserve of the gas token, without nativePriceAsset', { preset: 'AaveV3EthereumEtherFi' }, {}, /market\.nativePriceAsset: is required: market\.preset AaveV3EthereumEtherFi lists no WETH reserve/],
  ])('refuses %s, naming the field', (_case, market, top, message) => {
    const input = presetConfig((market.preset as string | undefined) ?? 'AaveV3Ethereum', market, top);
    expect(() => parseDeploymentConfig(input, 'test.json')).toThrow(message);
  });

  it('without a preset, still requires chain id, Pool and native asset', () => {
    const input = { name: 'k', market: { protocol: 'aave-v3', poolVersion: '3.6', dex: DEX }, rpcUrlSecretName: 'keeper/rpc-url' };
    expect(() => parseDeploymentConfig(input, 'test.json')).toThrow(
      /chainId: is required \(or set market\.preset\)\n {2}- market\.pool: is required \(or set market\.preset\)\n {2}- market\.nativePriceAsset: is required \(or set market\.preset\)$/,
    );
  });
});

describe.each(MARKET_PRESET_NAMES.map((name) => [name]))('the %s preset', (preset) => {
  // A market without the gas token's reserve names one of its own assets, as its operator would.
  const config = parseDeploymentConfig(presetConfig(preset, MARKET_PRESETS[preset].nativePriceAsset ? {} : { nativePriceAsset: WETH_LIKE }));

  it('synthesizes (cdk-nag clean), and each function accepts its environment with the preset\'s market', () => {
    const keeper = synthesizeKeeper(config);
    expect(keeper.synthError).toBeUndefined();
    expect(keeper.nagViolations).toEqual([]);
    for (const name of Object.keys(PIPELINE_FUNCTIONS) as PipelineFunctionName[]) {
      const env = deployedEnvironment(keeper, name);
      expect(env).toMatchObject({
        CHAIN_ID: String(MARKET_PRESETS[preset].chainId),
        POOL_ADDRESS: MARKET_PRESETS[preset].pool,
        ADDRESSES_PROVIDER_ADDRESS: MARKET_PRESETS[preset].addressesProvider,
        PRICE_ORACLE_ADDRESS: MARKET_PRESETS[preset].oracle,
        DATA_PROVIDER_ADDRESS: MARKET_PRESETS[preset].dataProvider,
      });
      const pipeline = loadPipelineConfig(env);
      expect(pipeline.marketContracts).toEqual({
        addressesProvider: MARKET_PRESETS[preset].addressesProvider,
        oracle: MARKET_PRESETS[preset].oracle,
        dataProvider: MARKET_PRESETS[preset].dataProvider,
      });
    }
  });
});
