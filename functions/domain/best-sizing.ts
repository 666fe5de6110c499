/**
 * `best` sizing: the keeper evaluates several strategies on each position at the read block and sends the most
 * profitable plan. Profit depends on the swap (a quote per size) and gas, which the domain does not see, so this
 * module only names the members and the impact budget; functions/pipeline/funded-plan.ts (planBest) quotes every
 * member's plan — and, with a price-impact budget, the most profitable chunk within it — and picks.
 *
 * As a plain SizingStrategy (what selectPair calls to rank pairs) `best` sizes like `max`, labelled `best`:
 * `max` is always one of the members, so the plan sent is never less profitable than `max`'s.
 *
 * The price-impact budget (MAX_PRICE_IMPACT_BPS) travels with the configured strategy, whichever it is
 * (`withPriceImpactBudget`): it decides how much of a liquidation is sold now, which is sizing.
 */
import type { LiquidationPair } from './close-factor';
import type { UserPosition } from './position';
import type { SizingContext } from './repay-search';
import { maxSizing, sizeMax, type SizingOutcome, type SizingStrategy } from './sizing';

export interface BestSizingStrategy extends SizingStrategy {
  readonly name: 'best';
  /** The strategies compared, `max` first. */
  readonly members: readonly [SizingStrategy, ...SizingStrategy[]];
}

/** `best` over `others` and `max` (always included, first). */
export function bestSizing(others: readonly SizingStrategy[]): BestSizingStrategy {
  if (others.some((member) => member.name === 'best')) throw new RangeError('best sizing cannot contain itself');
  const members: [SizingStrategy, ...SizingStrategy[]] = [maxSizing, ...others.filter((member) => member.name !== 'max')];
  const size = (position: UserPosition, pair: LiquidationPair, context: SizingContext = {}): SizingOutcome => ({
    ...sizeMax(position, pair, context),
    strategy: 'best',
  });
  return { name: 'best', members, size };
}

export function isBestSizing(strategy: SizingStrategy): strategy is BestSizingStrategy {
  return strategy.name === 'best' && Array.isArray((strategy as Partial<BestSizingStrategy>).members);
}

/** A strategy that sells at most `maxPriceImpactBps` of price move per liquidation (chunked-liquidation.ts). */
export type BudgetedSizing<S extends SizingStrategy = SizingStrategy> = S & { readonly maxPriceImpactBps: bigint };

export function withPriceImpactBudget<S extends SizingStrategy>(strategy: S, maxPriceImpactBps: bigint): BudgetedSizing<S> {
  if (maxPriceImpactBps <= 0n || maxPriceImpactBps > 10_000n) throw new RangeError(`maxPriceImpactBps must be 1..10000, got ${maxPriceImpactBps}`);
  return { ...strategy, maxPriceImpactBps };
}

/** The strategy's price-impact budget (bps), or undefined when it has none (sell everything at once). */
export function priceImpactBudgetOf(strategy: SizingStrategy): bigint | undefined {
  const budget = (strategy as Partial<BudgetedSizing>).maxPriceImpactBps;
  return typeof budget === 'bigint' ? budget : undefined;
}
