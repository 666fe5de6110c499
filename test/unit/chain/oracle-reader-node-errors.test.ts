/**
 * The oracle readers (per-call AaveV3OracleReader, one-call AaveV3OracleLensReader) on a scripted node serving a
 * one-reserve market (scripted-node.ts: errors reach them the way ethers raises them). A feed whose
 * latestRoundData reverts is "unavailable"; a node that fails that call fails the read (retryable), and a node
 * that refuses the lens's override makes the lens reader fall back.
 */
import { Interface } from 'ethers';
import { AaveV3OracleLensReader } from '../../../functions/adapters/chain/aave-v3-oracle-lens-reader';
import { AaveV3OracleReader, OracleReadError } from '../../../functions/adapters/chain/aave-v3-oracle-reader';
import { classifyWorkerFailure } from '../../../functions/adapters/failure-classification';
import { NODE_ERRORS, type NodeAnswer, scriptedNode } from './scripted-node';

const POOL = '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2';
const ADDRESSES_PROVIDER = '0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e';
const ORACLE = '0x54586bE62E3c3580375aE3723C145253060Ca0C2';
const WETH = '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2';
const WETH_FEED = '0x5424384B256154046E9667dDFaaa5e550145215e';
const PRICE = 2_500_00000000n;
const UPDATED_AT = 1_699_999_000n;

const pool = new Interface([
  'function ADDRESSES_PROVIDER() view returns (address)',
  'function getReservesList() view returns (address[])',
  'function getReserveData(address asset) view returns (tuple(uint256 configuration, uint128 liquidityIndex, uint128 currentLiquidityRate, uint128 variableBorrowIndex, uint128 currentVariableBorrowRate, uint128 currentStableBorrowRate, uint40 lastUpdateTimestamp, uint16 id, address aTokenAddress, address stableDebtTokenAddress, address variableDebtTokenAddress, address interestRateStrategyAddress, uint128 accruedToTreasury, uint128 unbacked, uint128 isolationModeTotalDebt))',
]);
const provider = new Interface(['function getPriceOracle() view returns (address)']);
const oracle = new Interface(['function getAssetsPrices(address[] assets) view returns (uint256[])', 'function getSourceOfAsset(address asset) view returns (address)']);
const feed = new Interface(['function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)']);
const ZERO = `0x${'00'.repeat(20)}`;

/** A one-reserve market; `latestRoundData` and `lens` answer those calls when given. */
function market(answers: { latestRoundData?: () => NodeAnswer; lens?: () => NodeAnswer }) {
  return scriptedNode((method, params) => {
    if (method === 'eth_getBlockByNumber') return { result: { number: params[0], timestamp: '0x6553f100' } };
    if (method !== 'eth_call') return { error: { code: -32601, message: `the method ${method} does not exist/is not available` } };
    if (params.length > 2) return answers.lens?.() ?? { error: { code: -32000, message: 'no lens here' } };
    const data = (params[0] as { data: string }).data;
    const selector = data.slice(0, 10);
    const is = (iface: Interface, name: string) => iface.getFunction(name)!.selector === selector;
    if (is(pool, 'ADDRESSES_PROVIDER')) return { result: pool.encodeFunctionResult('ADDRESSES_PROVIDER', [ADDRESSES_PROVIDER]) };
    if (is(pool, 'getReservesList')) return { result: pool.encodeFunctionResult('getReservesList', [[WETH]]) };
    if (is(pool, 'getReserveData')) {
      return { result: pool.encodeFunctionResult('getReserveData', [[0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, ZERO, ZERO, ZERO, ZERO, 0n, 0n, 0n]]) };
    }
    if (is(provider, 'getPriceOracle')) return { result: provider.encodeFunctionResult('getPriceOracle', [ORACLE]) };
    if (is(oracle, 'getAssetsPrices')) return { result: oracle.encodeFunctionResult('getAssetsPrices', [[PRICE]]) };
    if (is(oracle, 'getSourceOfAsset')) return { result: oracle.encodeFunctionResult('getSourceOfAsset', [WETH_FEED]) };
    if (is(feed, 'latestRoundData')) return answers.latestRoundData?.() ?? { result: feed.encodeFunctionResult('latestRoundData', [1n, PRICE, UPDATED_AT, UPDATED_AT, 1n]) };
    return { error: { code: 3, message: 'execution reverted', data: '0x' } };
  });
}

describe('AaveV3OracleReader (per call) on node errors', () => {
  it('reads the market through the scripted node', async () => {
    const node = market({});
    const read = await new AaveV3OracleReader(node, POOL).readAt(7);
    expect(read.readings).toEqual([{ asset: WETH, reserveId: 0, price: { kind: 'price', priceBase: PRICE }, feed: { kind: 'round', source: WETH_FEED, answer: PRICE, updatedAtSec: UPDATED_AT } }]);
    node.destroy();
  });

  it.each([
    ['with data', { code: 3, message: 'execution reverted', data: '0x12345678' }, 'latestRoundData failed: execution reverted (unknown custom error)'],
    ['without data (geth)', NODE_ERRORS.revertedWithoutData, 'latestRoundData failed: execution reverted (code -32000)'],
  ])('calls a feed whose latestRoundData reverts %s unavailable', async (_case, revert, reason) => {
    const node = market({ latestRoundData: () => ({ error: revert }) });
    const read = await new AaveV3OracleReader(node, POOL).readAt(7);
    expect(read.readings[0].feed).toEqual({ kind: 'unavailable', source: WETH_FEED, reason });
    node.destroy();
  });

  it.each([
    ['header not found', NODE_ERRORS.headerNotFound, 'node-error: header not found (code -32000)'],
    ['a rate limit', NODE_ERRORS.rateLimited, 'rate-limited: daily request count exceeded, request rate limited (code -32005)'],
  ])('fails the read when the node answers latestRoundData with %s (never "feed unavailable")', async (_case, nodeError, message) => {
    const node = market({ latestRoundData: () => ({ error: nodeError }) });
    const error = await new AaveV3OracleReader(node, POOL).readAt(7).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OracleReadError);
    expect((error as Error).message).toBe(`oracle read at block 7 failed: ${message}`);
    expect(classifyWorkerFailure(error)).toBe('retryable');
    node.destroy();
  });
});

describe('AaveV3OracleLensReader on errors as ethers raises them', () => {
  it('falls back to per-call reads when the node refuses the override with geth’s words, and reads the market', async () => {
    const notices: string[] = [];
    const node = market({ lens: () => ({ error: NODE_ERRORS.overrideTooManyArguments }) });
    const reader = new AaveV3OracleLensReader(node, POOL, { onFallback: (reason) => notices.push(reason) });

    const read = await reader.readAt(7);

    expect(reader.currentMode).toBe('per-call');
    expect(read.readings[0]).toMatchObject({ asset: WETH, price: { kind: 'price', priceBase: PRICE } });
    expect(notices).toEqual(['node refused the eth_call state override (too many arguments, want at most 2 (code -32602)); reading the oracle with 4 + N calls per block']);
    node.destroy();
  });

  it('does not fall back on header not found: a retryable OracleReadError', async () => {
    const notices: string[] = [];
    const node = market({ lens: () => ({ error: NODE_ERRORS.headerNotFound }) });
    const reader = new AaveV3OracleLensReader(node, POOL, { onFallback: (reason) => notices.push(reason) });

    const error = await reader.readAt(7).catch((err: unknown) => err);

    expect((error as Error).message).toBe('oracle read at block 7 failed: oracle lens call failed: node-error: header not found (code -32000)');
    expect(classifyWorkerFailure(error)).toBe('retryable');
    expect(reader.currentMode).toBe('lens-override');
    expect(notices).toEqual([]);
    node.destroy();
  });
});
