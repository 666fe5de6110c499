/**
 * contracts/src/QuoteLens.sol run "deployless" (as the position lens, position-lens.ts): an eth_call with no `to`
 * whose data is the lens's creation code and constructor arguments `(quoter, paths, amountIn)`; the constructor
 * asks QuoterV2 for every path and returns three words per path: ok, amountOut, gasEstimate. Every route of a
 * sale is quoted in one call instead of one call per route. The creation code is kept in the source (a Lambda
 * bundle carries it); test/unit/chain/quote-lens.test.ts fails if it drifts from a fresh compile.
 * Packed (packed-bytecode.ts): `npx tsx contracts/embed-bytecode.ts` writes it.
 */
import { AbiCoder, concat } from 'ethers';
import { unpackBytecode } from './packed-bytecode';

/** Creation bytecode of contracts/src/QuoteLens.sol (own set settings: optimizer 200 runs, cancun, no metadata hash), packed (packed-bytecode.ts). */
export const QUOTE_LENS_CREATION_BYTECODE = unpackBytecode(
  'dVRNiBxFFO7XPwN6cTe7M8syyPRqDorgIQQ14mY7B0HFlaoydKMF6feIeBMj3pSQqur5SQhC1cz+eFPwIi45eYp7UfAgC570EokS' +
  'UAQvK0Elp3Wlemb2D+zT9PT73vve931VqDATZ1WTgkeKstyTDDNOjdXnIkWN1eqcBsy0FRQ87Sj8NZel4RhRsOwsxU/kEgEBs3ak' +
  'Z5sUXCwouEjh1Vxixq0yQmEaYgoGMBN+wtVCYwqYmlA9Uz0LlklmWSkrrmeaFD5flGW/bvhpO2pd+35n4fW/n/zk7qOv3H/n55tb' +
  'D1594Yq9u/PtlT+/fPmz4PNRc9DTXM9QsFNQsEPxi7kcTwM+wIzjaaDgt6Gn+Ybnozh2FnU3Ai2cFpgaULyeda8dtaY/Fu1aa2RH' +
  'C3YoLCd4zKPXc1lixlUV6bL/5n3H2LIq9TyBLDDjjmFnEVeWoVUvuWzEcolpF84TYC4RHZPMMcd0UxG8XzBUms/IJsG1gjEKz+Sy' +
  'LI3CFCzXYAnWnaVkKZcjxphjCP0+RgRbE7XrhWG7INieLGx16KwDELpP8MMAo7qO4BeLQMmDKWS3INg9CVF9ChsHkHDWYngICZcK' +
  'CpeOyqq1YPUjEYACk0tWaq90ChSuOkuNh2vjMdVVFGlhMROWKe61/ktOfdUtPU/hB+Oo5fLyay99+B7ea5cCL2As8HS5V/foGMDO' +
  'YkvDYcCMmVloUni7oPD2JGTCWebtmdSY2SaFdwoK79TfGSZtr6zXuETs9qNTTQr/qUdXnKJAU/i2X68H3I7Y0ShH7bqqC9jR0J+j' +
  '6Kn6XXGKzlN0zlD4jZfM5VIZU6fJMUwrTNo9gCG7XvkeZY3xaZCVD3i0V0wyN52i64oe4IqGm3MUuQlCw/G6WwVFt+qdKPp6qk2t' +
  'u8ul1gKzqgL4yM/4sW6hMesCphVcKjH134Tqe/f8X0PmB1hG0Vteo2zTbgJf/3hjk62tr9UGH7NldmqLMqFuGhN35xcoXikoXqF4' +
  'PpdDdwJw5tBHLcqKK8/FXwV9QOx5Rmh6AALRH51OBa0ugGPMeHJiNKwJlIYrb0z3UjkEZwQbO218/SmKvxpvySn+7sCOk070vRM9' +
  '70T8x0TX3sSJZKFQ/PL+/v5+HcfkoXEmBKbDCoZA8W4u2YEYpY+P6g18fJKz42Bwvw63a8dSk/Cpnx0NgzlKaJqa5N3/pVkH5oan' +
  'mdiDwIyYNF1PdLuoOCVfjJPqgaMujKwDS8mmPwE3gNsN5jU7RuSnuhMlvw/MdaB4y19FG3YD+NrmaGO8lTKg/IE5YiWmygjDjQFt' +
  'Rem6YL11tpLai9a4UFS8mlIYgvPXQOPxXDI7lerf/wA=',
);

const coder = AbiCoder.defaultAbiCoder();

/** The call data: creation code + ABI-encoded `(quoter, paths, amountIn)`. */
export function quoteLensCallData(quoter: string, paths: readonly string[], amountInUnits: bigint): string {
  return concat([QUOTE_LENS_CREATION_BYTECODE, coder.encode(['address', 'bytes[]', 'uint256'], [quoter, paths, amountInUnits])]);
}

/** One path's answer: undefined where the quoter reverted (no pool, not enough liquidity). */
export type LensQuote = { amountOutUnits: bigint; gasEstimate: bigint } | undefined;

/** Decodes the lens's `uint256[]`: exactly three words per path, ok being 0 or 1; anything else is refused. */
export function decodeQuoteLens(result: string, pathCount: number): LensQuote[] {
  let words: bigint[];
  try {
    [words] = coder.decode(['uint256[]'], result) as unknown as [bigint[]];
  } catch (err) {
    throw new Error(`quote lens: the result is not a uint256[] (${(err as Error).message})`, { cause: err });
  }
  if (words.length !== pathCount * 3) throw new Error(`quote lens: ${words.length} words for ${pathCount} paths (expected ${pathCount * 3})`);
  return Array.from({ length: pathCount }, (_, i): LensQuote => {
    const [ok, amountOutUnits, gasEstimate] = words.slice(i * 3, i * 3 + 3);
    if (ok !== 0n && ok !== 1n) throw new Error(`quote lens: word ${i * 3} (path ${i} ok) is ${ok}, not 0 or 1`);
    return ok === 1n ? { amountOutUnits, gasEstimate } : undefined;
  });
}
