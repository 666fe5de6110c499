import {
  MAX_UINT256,
  mulDivDown,
  mulDivUp,
  percentDiv,
  percentDivCeil,
  percentMul,
  percentMulCeil,
  percentMulFloor,
  RAY,
  rayDiv,
  rayDivCeil,
  rayDivFloor,
  rayMul,
  rayMulCeil,
  rayMulFloor,
  WAD,
  wadDiv,
  wadMul,
} from '../../../functions/domain';

type Op = (a: bigint, b: bigint) => bigint;

describe('PercentageMath / WadRayMath / MathUtils mirrors', () => {
  // Each expected value is worked out by hand from the Solidity formula in the comment.
  it.each<[string, Op, bigint, bigint, bigint]>([
    // percentMul: (v·p + 5000) / 10000
    ['percentMul half rounds up: (1·5000 + 5000)/1e4', percentMul, 1n, 5_000n, 1n],
    ['percentMul below half rounds down: (1·4999 + 5000)/1e4', percentMul, 1n, 4_999n, 0n],
    ['percentMul 50 % of an odd wei amount: (1501·5000 + 5000)/1e4 = 751.0', percentMul, 1_501n, 5_000n, 751n],
    ['percentMul with 0 bps is 0', percentMul, 10n, 0n, 0n],
    ['percentMul 105 % of 416666666666666666: (4374999999999999993000 + 5000)/1e4', percentMul, 416_666_666_666_666_666n, 10_500n, 437_499_999_999_999_999n],
    // percentMulFloor / Ceil: v·p / 1e4
    ['percentMulFloor drops the half: 1·5000/1e4', percentMulFloor, 1n, 5_000n, 0n],
    ['percentMulCeil lifts any remainder: 1·1/1e4', percentMulCeil, 1n, 1n, 1n],
    ['percentMulCeil exact stays exact: 10000·5000/1e4', percentMulCeil, 10_000n, 5_000n, 5_000n],
    // percentDiv: (v·1e4 + p/2) / p
    ['percentDiv 1000e6 / 1.05: (1e13 + 5250)/10500 = 952380952.88…', percentDiv, 1_000_000_000n, 10_500n, 952_380_952n],
    ['percentDiv 5 / 1.05 (4.76) rounds to 5: (50000 + 5250)/10500', percentDiv, 5n, 10_500n, 5n],
    ['percentDivCeil 1000e6 / 1.05: ⌈1e13 / 10500⌉ = ⌈952380952.38⌉', percentDivCeil, 1_000_000_000n, 10_500n, 952_380_953n],
    ['percentDivCeil exact stays exact: 21·1e4/10500 = 20', percentDivCeil, 21n, 10_500n, 20n],
    // wadMul / wadDiv: half up on 1e18
    ['wadMul 1.5 × 2 = 3', wadMul, 1_500_000_000_000_000_000n, 2n * WAD, 3n * WAD],
    ['wadMul 1 wei × 0.5 rounds half up to 1', wadMul, 1n, WAD / 2n, 1n],
    ['wadDiv 1/3: (1e18 + 1)/3', wadDiv, 1n, 3n, 333_333_333_333_333_333n],
    ['wadDiv 2/3: (2e18 + 1)/3 = 666…667', wadDiv, 2n, 3n, 666_666_666_666_666_667n],
    // rayMul: (a·b + 0.5e27)/1e27; Floor / Ceil variants
    ['rayMul 3 × 0.5 = 1.5 rounds up to 2', rayMul, 3n, RAY / 2n, 2n],
    ['rayMulFloor 3 × 0.5 = 1.5 → 1', rayMulFloor, 3n, RAY / 2n, 1n],
    ['rayMulCeil 3 × 0.5 = 1.5 → 2', rayMulCeil, 3n, RAY / 2n, 2n],
    ['rayMul 1 × 0.4 → 0', rayMul, 1n, (4n * RAY) / 10n, 0n],
    ['rayMulCeil 1 × 0.4 → 1', rayMulCeil, 1n, (4n * RAY) / 10n, 1n],
    // rayDiv: (a·1e27 + b/2)/b; Floor / Ceil variants
    ['rayDiv 1 / 3 (0.33) → 0', rayDiv, 1n, 3n * RAY, 0n],
    ['rayDiv 2 / 3 (0.67) → 1', rayDiv, 2n, 3n * RAY, 1n],
    ['rayDivFloor 2 / 3 → 0', rayDivFloor, 2n, 3n * RAY, 0n],
    ['rayDivCeil 1 / 3 → 1', rayDivCeil, 1n, 3n * RAY, 1n],
  ])('%s', (_name, op, a, b, expected) => {
    expect(op(a, b)).toBe(expected);
  });

  it.each<[string, bigint, bigint, bigint, bigint, bigint]>([
    ['7·3/2 = 10.5', 7n, 3n, 2n, 10n, 11n],
    ['6·3/2 = 9 exactly', 6n, 3n, 2n, 9n, 9n],
    ['1e6 USDC units of debt at $1 in base: 1e6·1e8/1e6', 1_000_000n, 100_000_000n, 1_000_000n, 100_000_000n, 100_000_000n],
    ['1 wei of WETH at $3,000 in base: 3e11/1e18 = 3e-7', 1n, 300_000_000_000n, WAD, 0n, 1n],
  ])('mulDivDown / mulDivUp: %s', (_name, a, b, c, down, up) => {
    expect(mulDivDown(a, b, c)).toBe(down);
    expect(mulDivUp(a, b, c)).toBe(up);
  });

  it.each<[string, () => bigint, string]>([
    ['percentDiv by 0', () => percentDiv(1n, 0n), 'percentDiv: division by zero'],
    ['percentDivCeil by 0', () => percentDivCeil(1n, 0n), 'percentDivCeil: division by zero'],
    ['wadDiv by 0', () => wadDiv(1n, 0n), 'wadDiv: division by zero'],
    ['rayDiv by 0', () => rayDiv(1n, 0n), 'rayDiv: division by zero'],
    ['mulDivUp by 0', () => mulDivUp(1n, 1n, 0n), 'mulDivUp: division by zero'],
    ['percentMul overflow', () => percentMul(MAX_UINT256, 1n), `percentMul: overflow for ${MAX_UINT256} × 1 bps`],
    ['rayMul overflow', () => rayMul(MAX_UINT256, 2n), `rayMul: overflow for ${MAX_UINT256} × 2`],
    ['checked a·b overflow', () => mulDivDown(MAX_UINT256, 2n, 1n), `uint256 overflow in ${MAX_UINT256} * 2`],
  ])('reverts like the Solidity: %s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});
