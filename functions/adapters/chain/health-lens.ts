/**
 * Runtime bytecode of contracts/src/HealthLens.sol, installed at LENS_ADDRESS through an eth_call state
 * override so a batched health scan needs no deployment. Kept in the source (not read from the build output)
 * so a Lambda bundle carries it; test/unit/chain/health-lens.test.ts fails if it drifts from a fresh compile.
 * Packed (packed-bytecode.ts): `npx tsx contracts/embed-bytecode.ts` writes it.
 */
import { unpackBytecode } from './packed-bytecode';

export const HEALTH_LENS_RUNTIME_BYTECODE = unpackBytecode(
  'lZNBixRHFMf7VdXGkIPOmp0RGXEb2UsgQRBnhSwbRuJBFEN1B7sgRej3GEEFQxAPIptDV3U72s4eqmd2FT1tQA/6HUIkH0CIJ497' +
  'CAQEL0lOCzGhenaZcXKJ1YemXv2q3v+9Pw8z7MYnsyYFB1Sa/q0liuUGBZ+otIPbR7Lexc6BqwsUfKa0P6WgS8HKMgri5xNNQZJo' +
  '7EYUXKgc8Rf1Jqu4+1MjUtDDfTmJpURf/md3mfkmBWuKgjUSp2vaZTbOMGQYggXsxl7IY2UwBAwty5bzU+Cklk6m2ppGk/inKq3X' +
  'PQQE3GrzVu/n4e0fBoN7xjQoeKUoeEXiYqKdxJABhgYcBW8qR+JqnbG+t93mh3G7cO2WifceclULhYUYlwCf+0Jybvrf7DSzJsFx' +
  'tZqmX6z6/kgpsRut4uJhXLTQsuAbKH0W+NpnGSR6U06+FPfdJfjOnyx5Uf3Smsg0CKwisLVSDJ1hlasA4tslwaMcgcSviR5zzxTB' +
  's1muKAl+yZFNcS8VwctZLi8JXufIp7gdRbAzy9mS2MEcxYRjxxSxY7OcKYl9nuPcFHdOETu3y3kbwZhYysHEnjOHnuTr6wNvD7up' +
  'iN38jz1s/T3tCd+1h734P/awP3yW3xJdEnub4weTGvh+RXz/bK1SIrhN2JAUPB35dxMtR8P6v6fJtMwC8bPjwUl0mqbYLfr8YJP4' +
  't3Uw7xC/YoifTPRQYlhA551Z4HlNFYCLBvofEx/V+2yGelpH+xhanGsXAD72Ux0b3cfQq92Uw9FYWZjZ2EbWgnFxWhXgsFuAy7Xx' +
  '0yPmVB7lMYajAkZuCBUCEP890dJtbshxjb2vzq5dx+12GuM8ihiXvCDLTNNaUSwcIrGiSKyQaCR6WM1cOL13YSp2Yi+WYmgL3xtx' +
  'q9ZuOiSKcW922zqebHx+p6yxrXFfZRFh2IcIu3cgQrwLEWYlRLjlHkI0ejR8KN0Dd19uSDeUTiY6s5DZ+ea00Enqv8ZvRpWTydsf' +
  'L934/lrvy+DDo8FH/wI=',
);

/** `accountData(address pool, address[] users) returns (uint256[])`: seven words per user (getUserAccountData, then the configuration bitmap). */
export const HEALTH_LENS_SELECTOR = '0x55350f69';
export const HEALTH_LENS_WORDS_PER_USER = 7;

/** An address with no code on any chain we know of; the override places the lens there for one call. */
export const LENS_ADDRESS = '0x000000000000000000000000000000004c454e53';
