/**
 * Contract code the functions carry (the lenses and the constant feed run through eth_call without a deployment,
 * so their code travels in the bundle) is kept packed in the source: raw DEFLATE (RFC 1951) of the bytes, in
 * base64. EVM code is mostly PUSH opcodes, jump targets and repeated ABI boilerplate and deflates to about a
 * quarter; as hex it took 2 characters a byte, and the position lens alone was 14.6 kB of the worker's bundle
 * (3.7 kB packed). Unpacked once, when its module loads, with Node's own zlib (nothing is bundled for it).
 *
 * `npx tsx contracts/embed-bytecode.ts` writes the packed constants from a fresh compile; each one's unit test
 * compares the unpacked code with the compiler's output byte for byte.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/** `0x`-prefixed lowercase hex of the packed code. */
export function unpackBytecode(packed: string): string {
  return `0x${inflateRawSync(Buffer.from(packed, 'base64')).toString('hex')}`;
}

/** The packed form of `0x`-prefixed hex code (what unpackBytecode reverses). */
export function packBytecode(hex: string): string {
  if (!/^0x([0-9a-f]{2})+$/.test(hex)) throw new Error('bytecode must be 0x-prefixed lowercase hex of whole bytes');
  return deflateRawSync(Buffer.from(hex.slice(2), 'hex'), { level: 9 }).toString('base64');
}
