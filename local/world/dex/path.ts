/**
 * Uniswap V3 swap paths: `tokenIn | fee | token | fee | … | tokenOut`, addresses as 20 bytes and fees as
 * uint24 (3 bytes), packed without padding (v3-periphery libraries/Path.sol). Used by SwapRouter02.exactInput
 * (IV3SwapRouter.ExactInputParams.path) and QuoterV2.quoteExactInput.
 */
import { getAddress, solidityPacked } from 'ethers';
import { isFeeTier } from './fee-tiers';

/**
 * Encodes a path through `tokens` (at least two) with `fees[i]` the fee tier of the pool between `tokens[i]`
 * and `tokens[i + 1]`: `encodeV3Path([WBTC, USDC], [3000])` is 43 bytes.
 */
export function encodeV3Path(tokens: readonly string[], fees: readonly number[]): string {
  if (tokens.length < 2) throw new Error(`a path needs at least two tokens, got ${tokens.length}`);
  if (fees.length !== tokens.length - 1) throw new Error(`a path through ${tokens.length} tokens needs ${tokens.length - 1} fees, got ${fees.length}`);
  const types: string[] = [];
  const values: unknown[] = [];
  tokens.forEach((token, i) => {
    types.push('address');
    values.push(getAddress(token));
    if (i < fees.length) {
      if (!isFeeTier(fees[i])) throw new Error(`fees[${i}] = ${fees[i]} is not a Uniswap V3 fee tier`);
      types.push('uint24');
      values.push(fees[i]);
    }
  });
  return solidityPacked(types, values);
}
