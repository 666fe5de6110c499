/**
 * Pair names of the local DEX. A pair is named `BASE/QUOTE` as markets quote it (`WETH/USDC`, `WBTC/USDC`,
 * `WBTC/WETH`): the quote is whichever asset comes first in QUOTE_PRECEDENCE. Scenario files may write a pair
 * in either order; the world reports the canonical name.
 */
import type { AssetSymbol } from '../scenario';

/** USDC quotes everything, WETH quotes WBTC. */
const QUOTE_PRECEDENCE: readonly AssetSymbol[] = ['USDC', 'WETH', 'WBTC'];

/** How strongly an asset quotes others: USDC, then WETH, then WBTC; any other asset after them, by symbol. */
function quoteRank(asset: AssetSymbol): number {
  const rank = QUOTE_PRECEDENCE.indexOf(asset);
  return rank === -1 ? QUOTE_PRECEDENCE.length : rank;
}

/** Canonical name of the pair of two different assets, in either order. */
export function pairName(a: AssetSymbol, b: AssetSymbol): string {
  if (a === b) throw new Error(`a pair needs two different assets, got ${a}/${b}`);
  const ra = quoteRank(a);
  const rb = quoteRank(b);
  const aQuotes = ra !== rb ? ra < rb : a < b;
  const [base, quote] = aQuotes ? [b, a] : [a, b];
  return `${base}/${quote}`;
}

/** The outcome of reading `A/B`: both assets, or why it is not a pair. */
export type ParsedPair = { kind: 'pair'; assets: [AssetSymbol, AssetSymbol] } | { kind: 'invalid'; reason: string };

/** Reads `A/B` (either order) into its two assets, each one of `known` (the scenario's asset symbols). */
export function parsePair(text: string, known: readonly AssetSymbol[]): ParsedPair {
  const parts = text.split('/');
  if (parts.length !== 2) return { kind: 'invalid', reason: 'a pair is written "A/B", e.g. "WETH/USDC"' };
  for (const part of parts) {
    if (!(known as readonly string[]).includes(part)) {
      return { kind: 'invalid', reason: `unknown asset ${part} (expected one of ${known.join(', ')})` };
    }
  }
  const [a, b] = parts as [AssetSymbol, AssetSymbol];
  if (a === b) return { kind: 'invalid', reason: 'a pair needs two different assets' };
  return { kind: 'pair', assets: [a, b] };
}

/** Every unordered pair of the given assets, in a stable order (the assets' order, then canonical names). */
export function allPairs(assets: readonly AssetSymbol[]): [AssetSymbol, AssetSymbol][] {
  const pairs: [AssetSymbol, AssetSymbol][] = [];
  for (let i = 0; i < assets.length; i++) {
    for (let j = i + 1; j < assets.length; j++) pairs.push([assets[i], assets[j]]);
  }
  return pairs;
}
