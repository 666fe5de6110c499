/**
 * PositionLens (contracts/src/PositionLens.sol) as the position reader runs it: the creation code embedded in
 * functions/ is a fresh compile's, the call is encoded as the ABI coder encodes the constructor, the decoders take
 * exactly the two layouts and refuse anything else naming what is wrong, and a node that refuses the call for its
 * gas switches the reader to per-call reads, said once (node trouble stays a retryable NodeCallError).
 */
import { AbiCoder, getAddress } from 'ethers';
import { AaveV3PositionReader } from '../../../functions/adapters/chain/aave-v3-position-reader';
import { NodeCallError } from '../../../functions/adapters/chain/call-failure';
import {
  decodePositionLensMarket,
  decodePositionLensUser,
  encodePositionLensCall,
  POSITION_LENS_CREATION_BYTECODE,
  POSITION_LENS_FLAGS,
} from '../../../functions/adapters/chain/position-lens';
import { freshCreationBytecode } from './compile-own';
import { NODE_ERRORS, scriptedNode } from './scripted-node';


const POOL = '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2';
const USER = '0x1111111111111111111111111111111111111111';
const ORACLE = '0x54586bE62E3c3580375aE3723C145253060Ca0C2';
const WETH = '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2';
const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';
const A_WETH = '0x4d5F47FA6A74757f35C14fD3a6Ef8E3C9BC514E8';
const V_WETH = '0xeA51d7853EEFb32b6ee06b1C12E6dcCA88Be0fFE';
const A_USDC = '0x98C23E9d8f34FEFb1B7BD6a91B7FF122F4e16F5c';
const V_USDC = '0x72E95b8931767C79bA4EeE721354d6E99a61D004';
const RAY = 10n ** 27n;
const coder = AbiCoder.defaultAbiCoder();
const word = (address: string) => BigInt(address);
const encoded = (words: bigint[]) => coder.encode(['uint256[]'], [words]);

/** A market result: the header, then ten words per reserve (PositionLens.sol). */
function marketResult(reserves: bigint[][], header: bigint[] = [1_700_000_000n, word(ORACLE), 1n, BigInt(reserves.length), 0n, BigInt(reserves.length)]): string {
  return encoded([...header, ...reserves.flat()]);
}

const WETH_RESERVE = [word(WETH) | (0n << 160n) | (1_700_003_600n << 176n), 0x1234n, word(A_WETH), 0n, word(V_WETH), 3_000_00000000n, RAY + 5n, RAY + 7n, 10n ** 21n, 9n * 10n ** 20n];
const USDC_RESERVE = [word(USDC) | (1n << 160n), 0x5678n, word(A_USDC), 0n, word(V_USDC), 1_00000000n, RAY, RAY, 10n ** 12n, 0n];

/** A user result: the header, then seven words per entry. */
function userResult(entries: bigint[][], header: bigint[] = [0b1001n, 0n, 0n, 0n, 0n, 0n, 2n]): string {
  return encoded([...header, ...entries.flat()]);
}

const WETH_ENTRY = [0n, word(WETH), 10n ** 18n, 10n ** 18n - 3n, 0n, 0n, 0n];
const USDC_ENTRY = [1n, word(USDC), 0n, 0n, 1_000_000000n, 999_000000n, 0n];

describe('position lens', () => {
  it('embeds exactly the creation bytecode of a fresh compile of contracts/src/PositionLens.sol', () => {
    expect(POSITION_LENS_CREATION_BYTECODE).toBe(freshCreationBytecode('contracts/src/PositionLens.sol', 'PositionLens'));
  });

  it('encodes the call as creation code and the ABI-encoded constructor (pool, user, flags, firstReserve)', () => {
    const flags = POSITION_LENS_FLAGS.user | POSITION_LENS_FLAGS.stableDebt;
    expect(encodePositionLensCall(POOL, USER, flags, 72)).toBe(
      POSITION_LENS_CREATION_BYTECODE + coder.encode(['address', 'address', 'uint256', 'uint256'], [POOL, USER, flags, 72]).slice(2),
    );
  });

  it('decodes a market: header, then asset, id and grace period packed, configuration, tokens, price, indexes, balances', () => {
    expect(decodePositionLensMarket(marketResult([WETH_RESERVE, USDC_RESERVE]))).toEqual({
      blockTimestampSec: 1_700_000_000n,
      oracle: getAddress(ORACLE),
      priceOracleSentinel: 'allows-liquidation',
      reserveCount: 2,
      firstReserve: 0,
      reserves: [
        {
          asset: WETH,
          id: 0,
          liquidationGracePeriodUntil: 1_700_003_600n,
          configuration: 0x1234n,
          aToken: A_WETH,
          stableDebtToken: '0x0000000000000000000000000000000000000000',
          variableDebtToken: V_WETH,
          priceBase8: 3_000_00000000n,
          liquidityIndexRay: RAY + 5n,
          variableBorrowIndexRay: RAY + 7n,
          heldUnits: 10n ** 21n,
          virtualUnits: 9n * 10n ** 20n,
        },
        expect.objectContaining({ asset: USDC, id: 1, liquidationGracePeriodUntil: 0n, priceBase8: 1_00000000n }),
      ],
    });
  });

  it('decodes a user: configuration, eMode category words, then its non-empty reserves', () => {
    const liquid = [0b1001n, 1n, 9_000n, 10_400n, 0b11n, 0n, 2n];
    expect(decodePositionLensUser(userResult([WETH_ENTRY, USDC_ENTRY], liquid))).toEqual({
      userConfiguration: 0b1001n,
      eModeCategory: 1,
      categoryLiquidationThresholdBps: 9_000n,
      categoryLiquidationBonusBps: 10_400n,
      categoryBitmapOrPriceSource: 0b11n,
      categorySourcePriceBase8: 0n,
      reserveCount: 2,
      entries: [
        { index: 0, asset: WETH, collateralUnits: 10n ** 18n, scaledCollateral: 10n ** 18n - 3n, variableDebtUnits: 0n, scaledVariableDebt: 0n, stableDebtUnits: 0n },
        { index: 1, asset: USDC, collateralUnits: 0n, scaledCollateral: 0n, variableDebtUnits: 1_000_000000n, scaledVariableDebt: 999_000000n, stableDebtUnits: 0n },
      ],
    });
  });

  it.each([
    ['no data', '0x', 'position lens (market) returned 0 words, too short for an ABI-encoded uint256[]'],
    ['a ragged result', `${marketResult([WETH_RESERVE])}00`, 'not whole 32-byte words'],
    ['an array at another offset', `0x${(64).toString(16).padStart(64, '0')}${marketResult([WETH_RESERVE]).slice(66)}`, 'position lens (market) returned an array at offset 64 (expected 32)'],
    ['a length that is not the words returned', marketResult([WETH_RESERVE]).slice(0, -64), 'position lens (market) declared 16 words but returned 15'],
    ['a short header', encoded([1n, 2n]), 'position lens (market) returned 2 words, fewer than its 6-word header'],
    ['an unknown sentinel state', marketResult([WETH_RESERVE], [1n, word(ORACLE), 3n, 1n, 0n, 1n]), 'position lens (market) word 2 (sentinel) is 3, not 0, 1 or 2'],
    ['fewer reserves than the call should read', marketResult([WETH_RESERVE], [1n, word(ORACLE), 0n, 2n, 0n, 1n]), 'position lens (market) read 1 reserves from 0 of 2 (expected 2)'],
    ['words that are not the reserves declared', marketResult([WETH_RESERVE], [1n, word(ORACLE), 0n, 2n, 0n, 2n]), 'position lens (market) returned 16 words for 2 reserves (expected 26)'],
    ['an oracle wider than an address', marketResult([WETH_RESERVE], [1n, 1n << 160n, 0n, 1n, 0n, 1n]), 'position lens (market) word 1 (oracle) does not fit 160 bits'],
    ['dirty bits above the grace period', marketResult([[WETH_RESERVE[0] | (1n << 216n), ...WETH_RESERVE.slice(1)]]), 'word 6 (asset, id and grace period of reserve 0) does not fit 216 bits'],
    ['an aToken wider than an address', marketResult([[WETH_RESERVE[0], 0n, 1n << 200n, ...WETH_RESERVE.slice(3)]]), 'word 8 (aToken of reserve 0) does not fit 160 bits'],
    ['a virtual balance wider than uint128', marketResult([[...WETH_RESERVE.slice(0, 9), 1n << 128n]]), 'word 15 (virtual balance of reserve 0) does not fit 128 bits'],
  ])('refuses a market result with %s', (_case, result, said) => {
    expect(() => decodePositionLensMarket(result)).toThrow(said);
  });

  it.each([
    ['a short header', encoded([1n, 0n, 0n]), 'position lens (user) returned 3 words, fewer than its 7-word header'],
    ['a ragged entry', userResult([WETH_ENTRY.slice(0, 6)]), 'position lens (user) returned 6 entry words, not a multiple of 7'],
    ['an entry past the reserves', userResult([[2n, ...WETH_ENTRY.slice(1)]]), 'position lens (user) entry for reserve 2 of 2'],
    ['entries out of order', userResult([USDC_ENTRY, WETH_ENTRY]), 'position lens (user) entry for reserve 0 after reserve 1'],
    ['an eMode category above 255', userResult([], [0n, 256n, 0n, 0n, 0n, 0n, 2n]), 'position lens (user) word 1 (eMode category) does not fit 8 bits'],
    ['category words without a category', userResult([], [0n, 0n, 9_000n, 0n, 0n, 0n, 2n]), 'position lens (user) has eMode category words without a category'],
    ['an entry asset wider than an address', userResult([[0n, 1n << 160n, ...WETH_ENTRY.slice(2)]]), 'position lens (user) word 8 (asset of reserve 0) does not fit 160 bits'],
  ])('refuses a user result with %s', (_case, result, said) => {
    expect(() => decodePositionLensUser(result)).toThrow(said);
  });
});

describe('AaveV3PositionReader on a node that refuses the lens call', () => {
  /** The lens call is the eth_call without `to`. */
  const isLensCall = (method: string, params: readonly unknown[]) => method === 'eth_call' && !(params[0] as { to?: string }).to;

  it.each([
    ['geth above its gas cap', { code: -32000, message: 'gas required exceeds allowance (50000000)' }],
    ['out of gas under a silent cap', { code: -32000, message: 'out of gas' }],
    ['a result above the code size limit', { code: -32000, message: 'max code size exceeded' }],
  ])('reads per call from then on, said once (%s); the per-call reads keep the node\'s errors retryable', async (_case, refusal) => {
    const node = scriptedNode((method, params) => (isLensCall(method, params) ? { error: refusal } : { error: NODE_ERRORS.headerNotFound }));
    const reasons: string[] = [];
    const reader = new AaveV3PositionReader(node, POOL, 'v3.3', {}, { onFallback: (reason) => reasons.push(reason) });

    const first = await reader.readPosition(USER, 7).catch((err: unknown) => err);
    const second = await reader.readPosition(USER, 8).catch((err: unknown) => err);

    expect(reasons).toEqual([`node refused the position lens call (${refusal.message}); reading with one eth_call per reserve and per read from now on`]);
    expect(reader.currentMode).toBe('per-call');
    for (const error of [first, second]) {
      expect(error).toBeInstanceOf(NodeCallError);
      expect((error as Error).message).toMatch(/: node-error: header not found \(code -32000\)$/);
    }
    // After the refusal no lens call is made again.
    expect(node.requests.filter((r) => isLensCall(r.method, r.params as unknown[])).length).toBeLessThanOrEqual(2);
    node.destroy();
  });

  it('keeps the lens on node trouble: a retryable NodeCallError, after the market call and the user call only', async () => {
    const node = scriptedNode((method, params) => (isLensCall(method, params) ? { error: NODE_ERRORS.rateLimited } : { error: NODE_ERRORS.headerNotFound }));
    const reader = new AaveV3PositionReader(node, POOL, 'v3.3');

    const error = await reader.readPosition(USER, 7).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(NodeCallError);
    expect((error as NodeCallError).retryable).toBe(true);
    expect(reader.currentMode).toBe('lens');
    expect(node.requests.map((r) => r.method)).toEqual(['eth_call', 'eth_call']);
    node.destroy();
  });
});
