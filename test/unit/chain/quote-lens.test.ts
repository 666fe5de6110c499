/**
 * QuoteLens (contracts/src/QuoteLens.sol) as the quoter runs it: the creation code embedded in functions/ is a
 * fresh compile's, and the decoder takes exactly three words per path and refuses anything else.
 */
import { AbiCoder } from 'ethers';
import { decodeQuoteLens, QUOTE_LENS_CREATION_BYTECODE, quoteLensCallData } from '../../../functions/adapters/chain/quote-lens';
import { freshCreationBytecode } from './compile-own';

const coder = AbiCoder.defaultAbiCoder();
const encoded = (words: bigint[]) => coder.encode(['uint256[]'], [words]);
const QUOTER = '0x61fFE014bA17989E743c5F6cB21bF9697530B21e';

describe('quote lens', () => {
  it('embeds exactly the creation bytecode of a fresh compile of contracts/src/QuoteLens.sol', () => {
    expect(QUOTE_LENS_CREATION_BYTECODE).toBe(freshCreationBytecode('contracts/src/QuoteLens.sol', 'QuoteLens'));
  });

  it('encodes the constructor arguments after the creation code', () => {
    const data = quoteLensCallData(QUOTER, ['0x1234', '0xabcdef'], 5n);
    expect(data.startsWith(QUOTE_LENS_CREATION_BYTECODE)).toBe(true);
    const [quoter, paths, amountIn] = coder.decode(['address', 'bytes[]', 'uint256'], `0x${data.slice(QUOTE_LENS_CREATION_BYTECODE.length)}`);
    expect([quoter, [...paths], amountIn]).toEqual([QUOTER, ['0x1234', '0xabcdef'], 5n]);
  });

  it('reads a quote per path, and none where the quoter reverted', () => {
    expect(decodeQuoteLens(encoded([1n, 990n, 120_000n, 0n, 0n, 0n]), 2)).toEqual([{ amountOutUnits: 990n, gasEstimate: 120_000n }, undefined]);
  });

  it.each<[string, string, number, RegExp]>([
    ['a result that is not a uint256[]', '0x1234', 1, /quote lens: the result is not a uint256\[\]/],
    ['too few words for the paths', encoded([1n, 2n, 3n]), 2, /quote lens: 3 words for 2 paths \(expected 6\)/],
    ['an ok word other than 0 or 1', encoded([1n, 2n, 3n, 7n, 0n, 0n]), 2, /quote lens: word 3 \(path 1 ok\) is 7, not 0 or 1/],
  ])('refuses %s, naming it', (_case, result, paths, message) => {
    expect(() => decodeQuoteLens(result, paths)).toThrow(message);
  });
});
