/**
 * Fixed-point arithmetic of the Aave V3 Pool, mirrored operation by operation on `bigint`.
 *
 * Every function here reproduces one Solidity helper, including its rounding and its revert conditions:
 * - PercentageMath (core-v3 `contracts/protocol/libraries/math/PercentageMath.sol`, aave-v3-origin
 *   `src/contracts/protocol/libraries/math/PercentageMath.sol`): `percentMul` / `percentDiv` round half up;
 *   v3.5+ adds `percentMulFloor`, `percentMulCeil`, `percentDivCeil`.
 * - WadRayMath (same folders): `wadMul` / `wadDiv` / `rayMul` / `rayDiv` round half up; v3.5+ adds
 *   `rayMulFloor`, `rayMulCeil`, `rayDivFloor`, `rayDivCeil`.
 * - MathUtils.mulDivCeil (aave-v3-origin `math/MathUtils.sol`), and the plain checked `a * b / c` that the
 *   logic libraries write inline (`mulDivDown`).
 *
 * A Solidity revert (overflow of uint256, division by zero, the libraries' explicit `revert(0, 0)`) is a
 * `UintMathError` here: it means the on-chain call would revert, so callers never see a wrapped-around value.
 */

export const WAD = 10n ** 18n;
export const HALF_WAD = WAD / 2n;
export const RAY = 10n ** 27n;
export const HALF_RAY = RAY / 2n;
/** PercentageMath.PERCENTAGE_FACTOR: 100.00 % in basis points. */
export const PERCENTAGE_FACTOR = 10_000n;
/** PercentageMath.HALF_PERCENTAGE_FACTOR. */
export const HALF_PERCENTAGE_FACTOR = 5_000n;
/** type(uint256).max. */
export const MAX_UINT256 = (1n << 256n) - 1n;

/** The on-chain operation would revert (uint256 overflow, underflow, division by zero). */
export class UintMathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UintMathError';
  }
}

/** Throws unless `value` is a uint256 (0 ≤ value ≤ 2^256 − 1). */
export function assertUint256(name: string, value: bigint): void {
  if (value < 0n || value > MAX_UINT256) throw new UintMathError(`${name} must be a uint256, got ${value}`);
}

/** Checked `a * b` (Solidity ≥0.8 panics on overflow). */
export function checkedMul(a: bigint, b: bigint): bigint {
  const product = a * b;
  if (product > MAX_UINT256) throw new UintMathError(`uint256 overflow in ${a} * ${b}`);
  return product;
}

/** Checked `a - b` (Solidity ≥0.8 panics on underflow). */
export function checkedSub(a: bigint, b: bigint): bigint {
  if (b > a) throw new UintMathError(`uint256 underflow in ${a} - ${b}`);
  return a - b;
}

function requireNonZero(divisor: bigint, operation: string): void {
  if (divisor === 0n) throw new UintMathError(`${operation}: division by zero`);
}

/** `a * b / c` rounded down, as the Solidity logic writes it inline (checked multiplication). */
export function mulDivDown(a: bigint, b: bigint, c: bigint): bigint {
  requireNonZero(c, 'mulDivDown');
  return checkedMul(a, b) / c;
}

/** MathUtils.mulDivCeil (v3.5+): `a * b / c` rounded up; reverts if c == 0 or a * b overflows. */
export function mulDivUp(a: bigint, b: bigint, c: bigint): bigint {
  requireNonZero(c, 'mulDivUp');
  const product = checkedMul(a, b);
  return product / c + (product % c === 0n ? 0n : 1n);
}

/** PercentageMath.percentMul: `(value * bps + 0.5e4) / 1e4`, half up; returns 0 when bps == 0. */
export function percentMul(value: bigint, bps: bigint): bigint {
  if (bps !== 0n && value > (MAX_UINT256 - HALF_PERCENTAGE_FACTOR) / bps) {
    throw new UintMathError(`percentMul: overflow for ${value} × ${bps} bps`);
  }
  return (value * bps + HALF_PERCENTAGE_FACTOR) / PERCENTAGE_FACTOR;
}

/** PercentageMath.percentMulFloor (v3.5+): `value * bps / 1e4`, rounded down. */
export function percentMulFloor(value: bigint, bps: bigint): bigint {
  if (bps !== 0n && value > MAX_UINT256 / bps) throw new UintMathError(`percentMulFloor: overflow for ${value} × ${bps} bps`);
  return (value * bps) / PERCENTAGE_FACTOR;
}

/** PercentageMath.percentMulCeil (v3.5+): `value * bps / 1e4`, rounded up. */
export function percentMulCeil(value: bigint, bps: bigint): bigint {
  if (bps !== 0n && value > MAX_UINT256 / bps) throw new UintMathError(`percentMulCeil: overflow for ${value} × ${bps} bps`);
  const product = value * bps;
  return product / PERCENTAGE_FACTOR + (product % PERCENTAGE_FACTOR === 0n ? 0n : 1n);
}

/** PercentageMath.percentDiv: `(value * 1e4 + bps / 2) / bps`, half up; reverts when bps == 0. */
export function percentDiv(value: bigint, bps: bigint): bigint {
  requireNonZero(bps, 'percentDiv');
  if (value > (MAX_UINT256 - bps / 2n) / PERCENTAGE_FACTOR) throw new UintMathError(`percentDiv: overflow for ${value}`);
  return (value * PERCENTAGE_FACTOR + bps / 2n) / bps;
}

/** PercentageMath.percentDivCeil (v3.5+): `value * 1e4 / bps`, rounded up; reverts when bps == 0. */
export function percentDivCeil(value: bigint, bps: bigint): bigint {
  requireNonZero(bps, 'percentDivCeil');
  if (value > MAX_UINT256 / PERCENTAGE_FACTOR) throw new UintMathError(`percentDivCeil: overflow for ${value}`);
  const scaled = value * PERCENTAGE_FACTOR;
  return scaled / bps + (scaled % bps === 0n ? 0n : 1n);
}

/** WadRayMath.wadMul: `(a * b + 0.5e18) / 1e18`, half up. */
export function wadMul(a: bigint, b: bigint): bigint {
  if (b !== 0n && a > (MAX_UINT256 - HALF_WAD) / b) throw new UintMathError(`wadMul: overflow for ${a} × ${b}`);
  return (a * b + HALF_WAD) / WAD;
}

/** WadRayMath.wadDiv: `(a * 1e18 + b / 2) / b`, half up; reverts when b == 0. */
export function wadDiv(a: bigint, b: bigint): bigint {
  requireNonZero(b, 'wadDiv');
  if (a > (MAX_UINT256 - b / 2n) / WAD) throw new UintMathError(`wadDiv: overflow for ${a}`);
  return (a * WAD + b / 2n) / b;
}

/** WadRayMath.rayMul: `(a * b + 0.5e27) / 1e27`, half up. */
export function rayMul(a: bigint, b: bigint): bigint {
  if (b !== 0n && a > (MAX_UINT256 - HALF_RAY) / b) throw new UintMathError(`rayMul: overflow for ${a} × ${b}`);
  return (a * b + HALF_RAY) / RAY;
}

/** WadRayMath.rayMulFloor (v3.5+): `a * b / 1e27`, rounded down. */
export function rayMulFloor(a: bigint, b: bigint): bigint {
  if (b !== 0n && a > MAX_UINT256 / b) throw new UintMathError(`rayMulFloor: overflow for ${a} × ${b}`);
  return (a * b) / RAY;
}

/** WadRayMath.rayMulCeil (v3.5+): `a * b / 1e27`, rounded up. */
export function rayMulCeil(a: bigint, b: bigint): bigint {
  if (b !== 0n && a > MAX_UINT256 / b) throw new UintMathError(`rayMulCeil: overflow for ${a} × ${b}`);
  const product = a * b;
  return product / RAY + (product % RAY === 0n ? 0n : 1n);
}

/** WadRayMath.rayDiv: `(a * 1e27 + b / 2) / b`, half up; reverts when b == 0. */
export function rayDiv(a: bigint, b: bigint): bigint {
  requireNonZero(b, 'rayDiv');
  if (a > (MAX_UINT256 - b / 2n) / RAY) throw new UintMathError(`rayDiv: overflow for ${a}`);
  return (a * RAY + b / 2n) / b;
}

/** WadRayMath.rayDivFloor (v3.5+): `a * 1e27 / b`, rounded down; reverts when b == 0. */
export function rayDivFloor(a: bigint, b: bigint): bigint {
  requireNonZero(b, 'rayDivFloor');
  if (a > MAX_UINT256 / RAY) throw new UintMathError(`rayDivFloor: overflow for ${a}`);
  return (a * RAY) / b;
}

/** WadRayMath.rayDivCeil (v3.5+): `a * 1e27 / b`, rounded up; reverts when b == 0. */
export function rayDivCeil(a: bigint, b: bigint): bigint {
  requireNonZero(b, 'rayDivCeil');
  if (a > MAX_UINT256 / RAY) throw new UintMathError(`rayDivCeil: overflow for ${a}`);
  const scaled = a * RAY;
  return scaled / b + (scaled % b === 0n ? 0n : 1n);
}

/** The smaller of two amounts (Solidity `a > b ? b : a`). */
export function minUint(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
