import { AbiCoder, getAddress, Interface, type JsonRpcProvider, ZeroAddress } from 'ethers';
import { OracleReadError } from '../../../functions/adapters/chain/aave-v3-oracle-reader';
import { AaveV3OracleLensReader, decodeOracleLensResult, encodeOracleLensCall } from '../../../functions/adapters/chain/aave-v3-oracle-lens-reader';
import { ORACLE_LENS_ADDRESS, ORACLE_LENS_RUNTIME_BYTECODE, ORACLE_LENS_SELECTOR } from '../../../functions/adapters/chain/oracle-lens';
import { LENS_ADDRESS } from '../../../functions/adapters/chain/health-lens';
import { loadArtifact } from '../../../local/world/artifacts';

const POOL = '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2';
const ORACLE = '0x54586bE62E3c3580375aE3723C145253060Ca0C2';
const WETH = '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2';
const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';
const WETH_FEED = '0x5424384B256154046E9667dDFaaa5e550145215e';
const USDC_FEED = '0x736bF902680e68989886e9807CD7Db4B3E015d3C';
const RAY = 10n ** 27n;
const coder = AbiCoder.defaultAbiCoder();
const word = (address: string) => BigInt(address);
const twos = (value: bigint) => (value < 0n ? (1n << 256n) + value : value);

/** A lens result: the header, then nine words per reserve (contracts/src/OracleLens.sol). */
function lensResult(reserves: bigint[][], header: bigint[] = [1_700_000_000n, word(ORACLE), BigInt(reserves.length)]): string {
  return coder.encode(['uint256[]'], [[...header, ...reserves.flat()]]);
}

const OK = 1n;
const REVERTED = 2n;
const NO_CODE = 3n;
const SHORT_RETURN = 4n;
const NO_SOURCE = 5n;

describe('oracle lens', () => {
  it('embeds exactly the runtime bytecode of a fresh compile of contracts/src/OracleLens.sol', () => {
    expect(ORACLE_LENS_RUNTIME_BYTECODE).toBe(loadArtifact('own', 'OracleLens').deployedBytecode);
  });

  it('encodes observe(pool) as the ABI coder does, at an address of its own', () => {
    const lens = new Interface(loadArtifact('own', 'OracleLens').abi as string[]);
    expect(encodeOracleLensCall(POOL)).toBe(lens.encodeFunctionData('observe', [POOL]));
    expect(ORACLE_LENS_SELECTOR).toBe(lens.getFunction('observe')!.selector);
    expect(ORACLE_LENS_ADDRESS.toLowerCase()).not.toBe(LENS_ADDRESS.toLowerCase());
  });

  it('decodes the header and nine words per reserve, checksumming addresses and restoring a negative answer', () => {
    const result = lensResult([
      [word(WETH), 0n, 3n * RAY / 100n, word(WETH_FEED), OK, 2_500_00000000n, OK, 2_500_00000000n, 1_699_999_000n],
      [word(USDC), 7n, 0n, word(USDC_FEED), REVERTED, 0n, OK, twos(-1n), 1_699_999_500n],
    ]);

    expect(decodeOracleLensResult(result)).toEqual({
      blockTimestampSec: 1_700_000_000n,
      oracle: getAddress(ORACLE),
      readings: [
        {
          asset: WETH,
          reserveId: 0,
          price: { kind: 'price', priceBase: 2_500_00000000n },
          feed: { kind: 'round', source: WETH_FEED, answer: 2_500_00000000n, updatedAtSec: 1_699_999_000n },
          variableBorrowRateRay: 3n * RAY / 100n,
        },
        {
          asset: USDC,
          reserveId: 7,
          price: { kind: 'unavailable', reason: 'getAssetPrice reverted' },
          feed: { kind: 'round', source: USDC_FEED, answer: -1n, updatedAtSec: 1_699_999_500n },
          variableBorrowRateRay: 0n,
        },
      ],
    });
  });

  it.each([
    ['a price and a short round', OK, SHORT_RETURN, { kind: 'price', priceBase: 1n }, { kind: 'unavailable', source: USDC_FEED, reason: 'latestRoundData failed: returned too little data' }],
    ['a short price and a source without code', SHORT_RETURN, NO_CODE, { kind: 'unavailable', reason: 'getAssetPrice returned too little data' }, { kind: 'unavailable', source: USDC_FEED, reason: 'latestRoundData failed: no code at source' }],
    ['both reverted', REVERTED, REVERTED, { kind: 'unavailable', reason: 'getAssetPrice reverted' }, { kind: 'unavailable', source: USDC_FEED, reason: 'latestRoundData failed: reverted' }],
  ])('maps lens statuses to readings: %s', (_case, priceStatus, feedStatus, price, feed) => {
    const result = lensResult([[word(USDC), 1n, 0n, word(USDC_FEED), priceStatus, priceStatus === OK ? 1n : 0n, feedStatus, 0n, 0n]]);
    expect(decodeOracleLensResult(result).readings[0]).toMatchObject({ price, feed });
  });

  it('words a missing source exactly as the per-call reader does', () => {
    const result = lensResult([[word(USDC), 1n, 0n, 0n, REVERTED, 0n, NO_SOURCE, 0n, 0n]]);
    expect(decodeOracleLensResult(result).readings[0].feed).toEqual({ kind: 'unavailable', source: ZeroAddress, reason: 'no source (base currency or fallback oracle only)' });
  });

  it('decodes a market with no reserves', () => {
    expect(decodeOracleLensResult(lensResult([]))).toEqual({ blockTimestampSec: 1_700_000_000n, oracle: getAddress(ORACLE), readings: [] });
  });

  const reserve = [word(WETH), 0n, 0n, word(WETH_FEED), OK, 1n, OK, 1n, 1n];
  it.each([
    ['an empty result', '0x', 'oracle lens returned 0 words, too short for an ABI-encoded uint256[]'],
    ['a result that is not whole words', `${lensResult([reserve])}ab`, 'not whole 32-byte words'],
    ['a result that is not hex', '0xzz', 'oracle lens returned "0xzz", not whole 32-byte words'],
    ['a wrong array offset', `0x${(64n).toString(16).padStart(64, '0')}${'0'.repeat(64)}`, 'oracle lens returned an array at offset 64 (expected 32)'],
    ['a length that disagrees with the data', lensResult([reserve]).slice(0, -64), 'oracle lens declared 12 words but returned 11'],
    ['a result shorter than the header', coder.encode(['uint256[]'], [[1n, 2n]]), 'oracle lens returned 2 words, fewer than its 3-word header'],
    ['a reserve count that disagrees with the words', lensResult([reserve], [1n, word(ORACLE), 2n]), 'oracle lens returned 12 words for 2 reserves (expected 21)'],
    ['an unknown price status', lensResult([[...reserve.slice(0, 4), 0n, ...reserve.slice(5)]]), 'oracle lens reserve 0: unknown price status 0'],
    ['a price status that only a feed can have', lensResult([[...reserve.slice(0, 4), NO_SOURCE, ...reserve.slice(5)]]), 'oracle lens reserve 0: unknown price status 5'],
    ['an unknown feed status', lensResult([[...reserve.slice(0, 6), 9n, ...reserve.slice(7)]]), 'oracle lens reserve 0: unknown feed status 9'],
    ['an address wider than 160 bits', lensResult([[1n << 160n, ...reserve.slice(1)]]), 'oracle lens word 3 (asset of reserve 0) is not an address: 0x1' + '0'.repeat(40)],
    ['an id wider than 16 bits', lensResult([[reserve[0], 1n << 16n, ...reserve.slice(2)]]), 'oracle lens reserve 0: id 65536 does not fit a uint16'],
  ])('refuses %s with a clear error', (_case, result, message) => {
    expect(() => decodeOracleLensResult(result)).toThrow(message);
  });
});

/** A node stand-in: answers the lens call with `lens`, or fails it with `failure`. */
function node(calls: unknown[][], answer: { lens?: string; failure?: unknown }): JsonRpcProvider {
  return {
    send: async (method: string, params: unknown[]) => {
      calls.push([method, ...params]);
      if (answer.failure !== undefined) throw answer.failure;
      return answer.lens;
    },
  } as unknown as JsonRpcProvider;
}

describe('AaveV3OracleLensReader', () => {
  const result = lensResult([[word(WETH), 0n, RAY / 50n, word(WETH_FEED), OK, 2_000_00000000n, OK, 2_000_00000000n, 1_699_999_990n]]);

  it('reads a block in one eth_call pinned to it, with the lens installed by a state override', async () => {
    const calls: unknown[][] = [];
    const reader = new AaveV3OracleLensReader(node(calls, { lens: result }), POOL, { gas: 5_000_000n });

    const read = await reader.readAt(19);

    expect(read).toMatchObject({ block: 19, blockTimestampSec: 1_700_000_000n, oracle: getAddress(ORACLE), rpcCalls: 1 });
    expect(read.readings).toHaveLength(1);
    expect(calls).toEqual([
      ['eth_call', { to: ORACLE_LENS_ADDRESS, data: encodeOracleLensCall(POOL), gas: '0x4c4b40' }, '0x13', { [ORACLE_LENS_ADDRESS]: { code: ORACLE_LENS_RUNTIME_BYTECODE } }],
    ]);
  });

  it('fails a malformed result with an OracleReadError naming the block and the problem', async () => {
    const reader = new AaveV3OracleLensReader(node([], { lens: result.slice(0, -64) }), POOL);
    const read = reader.readAt(7);
    await expect(read).rejects.toThrow(OracleReadError);
    await expect(read).rejects.toThrow('oracle read at block 7 failed: oracle lens declared 12 words but returned 11');
  });

  it.each([
    ['a transport failure', new Error('connect ECONNREFUSED 127.0.0.1:8545'), 'oracle lens call failed: transport: connect ECONNREFUSED 127.0.0.1:8545'],
    ['a rate limit', Object.assign(new Error('could not coalesce error'), { code: 'CALL_EXCEPTION', shortMessage: 'missing revert data', info: { error: { code: -32005, message: 'rate limit exceeded' } } }), 'oracle lens call failed: rate-limited: rate limit exceeded (code -32005)'],
    ['HTTP 503', Object.assign(new Error('server response 503 Service Unavailable (not supported)'), { code: 'SERVER_ERROR', shortMessage: 'server response 503 Service Unavailable' }), 'oracle lens call failed: node-error: server response 503 Service Unavailable'],
    ['a revert of the lens (the Pool reverted)', Object.assign(new Error('execution reverted'), { code: 'CALL_EXCEPTION', data: '0x4e487b71', shortMessage: 'execution reverted (unknown custom error)', info: { error: { code: 3, message: 'execution reverted: unsupported' } } }), 'oracle lens call failed: execution reverted (unknown custom error)'],
  ])('does not mistake %s for a refused override', async (_case, failure, message) => {
    const notices: string[] = [];
    const reader = new AaveV3OracleLensReader(node([], { failure }), POOL, { onFallback: (reason) => notices.push(reason) });
    await expect(reader.readAt(7)).rejects.toThrow(`oracle read at block 7 failed: ${message}`);
    expect(reader.currentMode).toBe('lens-override');
    expect(notices).toEqual([]);
  });

  it.each([
    ['a JSON-RPC client', Object.assign(new Error('invalid params: too many arguments, want at most 2'), { code: -32602 }), 'invalid params: too many arguments, want at most 2 (code -32602)'],
    ['ethers (the node error in info.error)', Object.assign(new Error('missing revert data'), { code: 'CALL_EXCEPTION', data: null, info: { error: { code: -32602, message: 'too many arguments, want at most 2' } } }), 'too many arguments, want at most 2 (code -32602)'],
  ])('switches to per-call reads when the node refuses the override, as reported by %s', async (_case, failure, said) => {
    // The per-call reader then fails against this stand-in (it only knows the lens call); the switch is what counts.
    const notices: string[] = [];
    const reader = new AaveV3OracleLensReader(node([], { failure }), POOL, { onFallback: (reason) => notices.push(reason) });
    await expect(reader.readAt(7)).rejects.toThrow(OracleReadError);
    expect(reader.currentMode).toBe('per-call');
    expect(notices).toEqual([`node refused the eth_call state override (${said}); reading the oracle with 4 + N calls per block`]);
  });

  it('takes an empty result as a node that ignored the override', async () => {
    const notices: string[] = [];
    const reader = new AaveV3OracleLensReader(node([], { lens: '0x' }), POOL, { onFallback: (reason) => notices.push(reason) });
    await expect(reader.readAt(7)).rejects.toThrow(OracleReadError);
    expect(reader.currentMode).toBe('per-call');
    expect(notices).toEqual(['node refused the eth_call state override (the call returned no data: the node ignored the override); reading the oracle with 4 + N calls per block']);
  });
});
