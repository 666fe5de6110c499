/**
 * Scenario files describe a local market: the Aave flavour, reserves and their risk parameters, borrowers
 * (listed and/or generated from a seed) and price shocks. They are JSON, validated with a schema, and every
 * error names the field it is about (`assets.DOGE: unknown asset …`, `generate.healthFactor: …`).
 *
 * The optional `dex` field shapes the world's Uniswap V3 pools (one per pair of listed assets):
 *
 *   "dex": {
 *     "defaultDepthUsd": 50000000,          // whole USD per side of every pool not listed below
 *     "defaultFeeTier": 500,                // Uniswap fee units: 100, 500, 3000 or 10000 (500 = 0.05 %)
 *     "pools": { "WBTC/USDC": { "depthUsd": 20000, "feeTier": 3000 } }   // either order; 0 = no pool
 *   }
 *
 * Depth is the USD value of EACH side of a pool at its opening price (local/world/dex/pools.ts).
 *
 * The optional `demo` field says how `npm run demo` runs the keeper on this scenario (the world ignores it; every
 * world funds and authorises all four liquidator accounts):
 *
 *   "demo": { "signers": 4, "workerConcurrency": 4, "timeoutSec": 600 }
 *     // keys signing in turn (1–4, default 1); concurrent worker invocations (1–10, default 2); how long the demo
 *     // waits for every liquidatable account to be handled before it gives up (default 240 s)
 *
 * The optional `utilisation` field leaves reserves nearly fully borrowed after seeding, so their available
 * liquidity (the v3.1+ virtual underlying balance; V3.0: the aToken's underlying) can be smaller than what a
 * liquidation would seize from them:
 *
 *   "utilisation": { "WBTC": 0.8 }          // share of the reserve's supplied underlying lent out, 0 < u ≤ 1
 *
 * Supplied = the positions' collateral in the asset plus what the liquidity provider supplies (2 × the positions'
 * debt in it + 1 unit, liquidityProviderSupplyUnits); borrowed = the positions' debt in it. After every position
 * has opened, one extra borrower — the "whale", labelled `utilisation-whale` — borrows
 * `floor(supplied × u) − borrowed` of each asset listed there, so the reserve's available liquidity is exactly
 * `supplied − floor(supplied × u)` (principal flows; interest does not move the virtual balance).
 *
 * The whale is a borrower like any other: the indexer and scanner find it from the Pool's events. So that it
 * never becomes a liquidation candidate itself, it supplies enough collateral to open at health factor
 * WHALE_OPENING_HEALTH_FACTOR (20, at the scenario prices), in the listed asset outside `utilisation` with the
 * highest liquidation threshold (and LTV > 0; first in WETH, USDC, WBTC order on a tie), and a scenario is rejected
 * when any of its shocks would take the whale below WHALE_MIN_HEALTH_FACTOR (2).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { formatUnits, parseUnits } from 'ethers';
import { z } from 'zod';
import { FEE_TIERS, type FeeTier } from './dex/fee-tiers';
import { pairName, parsePair, allPairs } from './dex/pairs';
import type { PoolListing } from './dex/pools';

export const SCENARIO_DIR = join(__dirname, '..', 'scenarios');

/**
 * A reserve's symbol. Any symbol may be listed (`many-reserves` lists 24); WETH, USDC and WBTC have known
 * decimals, every other asset gives its own (`"decimals": 18`).
 */
export type AssetSymbol = string;
/** Token decimals of the assets a scenario may list without giving them. */
export const ASSET_DECIMALS: Readonly<Record<string, number>> = { WETH: 18, USDC: 6, WBTC: 8 };
export const ASSET_SYMBOLS: readonly AssetSymbol[] = Object.keys(ASSET_DECIMALS);

/** Oracle prices are in the market's base currency: USD with 8 decimals, as on Aave's standard markets. */
export const PRICE_DECIMALS = 8;

/** The utilisation whale opens at this health factor (scenario prices): its collateral is 20 × its debt / LT. */
export const WHALE_OPENING_HEALTH_FACTOR = 20n;
/** A scenario whose shocks would take the whale below this health factor is rejected. */
export const WHALE_MIN_HEALTH_FACTOR = 2;
/** Label of the utilisation whale among the seeded borrowers. */
export const WHALE_LABEL = 'utilisation-whale';

const assetSymbol = z
  .string({ error: 'must be an asset symbol' })
  .regex(/^[A-Za-z][A-Za-z0-9]{0,10}$/, 'must be an asset symbol: a letter, then up to 10 letters or digits');

const positiveDecimalString = z
  .string({ error: 'must be a decimal string of token units, e.g. "10.5"' })
  .regex(/^\d+(\.\d+)?$/, 'must be a non-negative decimal string of token units, e.g. "10.5"')
  .refine((s) => /[1-9]/.test(s), 'must be greater than zero');

/** A USD price given as a JSON number or decimal string; at most 8 decimals (the oracle's precision). */
const priceUsd = z
  .union([z.number(), z.string()], { error: 'must be a number of USD, e.g. 3000' })
  .transform((value, ctx) => {
    const text = typeof value === 'number' ? numberToPlainString(value) : value;
    if (!/^\d+(\.\d+)?$/.test(text) || !/[1-9]/.test(text)) {
      ctx.addIssue({ code: 'custom', message: `must be a positive number of USD, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    const [, fraction = ''] = text.split('.');
    if (fraction.length > PRICE_DECIMALS) {
      ctx.addIssue({ code: 'custom', message: `has more than ${PRICE_DECIMALS} decimals` });
      return z.NEVER;
    }
    return parseUnits(text, PRICE_DECIMALS);
  });

const bps = (label: string, min: number, max: number) =>
  z
    .number({ error: `${label} must be a whole number of basis points` })
    .int(`${label} must be a whole number of basis points`)
    .min(min, `${label} must be at least ${min} bps`)
    .max(max, `${label} must be at most ${max} bps`);

const assetParams = z
  .object({
    priceUsd,
    ltvBps: bps('ltvBps', 0, 10_000),
    liquidationThresholdBps: bps('liquidationThresholdBps', 1, 10_000),
    /** 10500 = the liquidator receives 5% more collateral than the debt it repays. */
    liquidationBonusBps: bps('liquidationBonusBps', 10_001, 15_000),
    protocolFeeBps: bps('protocolFeeBps', 0, 10_000),
    reserveFactorBps: bps('reserveFactorBps', 0, 10_000).default(1_000),
    borrowingEnabled: z.boolean().default(true),
    /** Token decimals: required for an asset other than WETH (18), USDC (6) and WBTC (8). */
    decimals: z.number({ error: 'must be a whole number of decimals' }).int('must be a whole number of decimals').min(1, 'must be at least 1').max(36, 'must be at most 36').optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.ltvBps > a.liquidationThresholdBps) {
      ctx.addIssue({ code: 'custom', path: ['ltvBps'], message: 'must not exceed liquidationThresholdBps' });
    }
    // PoolConfigurator.configureReserveAsCollateral: liquidationThreshold.percentMul(liquidationBonus) <= 100%.
    if (a.liquidationThresholdBps * a.liquidationBonusBps > 10_000 * 10_000) {
      ctx.addIssue({
        code: 'custom',
        path: ['liquidationBonusBps'],
        message: 'liquidationThresholdBps × liquidationBonusBps must not exceed 100% (Aave rejects it)',
      });
    }
  });

const amounts = z.record(assetSymbol, positiveDecimalString);

/** An eMode category id (uint8, 0 = none): a key of `emodeCategories`. */
const eModeId = z.number({ error: 'must be an eMode category id (1-255)' }).int('must be a whole number').min(1, 'must be at least 1').max(255, 'must be at most 255');

const borrowerSpec = z
  .object({
    collateral: amounts.refine((m) => Object.keys(m).length > 0, 'needs at least one collateral asset'),
    debt: amounts.refine((m) => Object.keys(m).length > 0, 'needs at least one debt asset'),
    /** The borrower enters this eMode category (Pool.setUserEMode) after supplying, before borrowing. */
    emode: eModeId.optional(),
  })
  .strict();

/**
 * An eMode category. V3.0: each asset belongs to at most one category, as collateral and borrowable alike (list
 * the same assets in both), and the category may price its assets from `priceSource` (an asset whose oracle
 * price then prices every asset of the category for its users). 3.2+ (liquid eMode): `collateral` gets the
 * category's LT and bonus, `borrowable` may be borrowed; no price source.
 */
const eModeCategorySpec = z
  .object({
    label: z.string({ error: 'must be a string' }).min(1, 'must not be empty'),
    ltvBps: bps('ltvBps', 1, 10_000),
    liquidationThresholdBps: bps('liquidationThresholdBps', 1, 10_000),
    liquidationBonusBps: bps('liquidationBonusBps', 10_001, 15_000),
    collateral: z.array(assetSymbol).min(1, 'needs at least one collateral asset'),
    borrowable: z.array(assetSymbol).min(1, 'needs at least one borrowable asset'),
    priceSource: assetSymbol.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.ltvBps > c.liquidationThresholdBps) ctx.addIssue({ code: 'custom', path: ['ltvBps'], message: 'must not exceed liquidationThresholdBps' });
    // PoolConfigurator.setEModeCategory: liquidationThreshold.percentMul(liquidationBonus) <= 100%.
    if (c.liquidationThresholdBps * c.liquidationBonusBps > 10_000 * 10_000) {
      ctx.addIssue({ code: 'custom', path: ['liquidationBonusBps'], message: 'liquidationThresholdBps × liquidationBonusBps must not exceed 100% (Aave rejects it)' });
    }
  });

const range = (label: string, min: number) =>
  z
    .tuple([z.number(), z.number()], { error: `${label} must be a pair [min, max] of numbers` })
    .refine(([lo]) => lo >= min, `${label} minimum must be at least ${min}`)
    .refine(([lo, hi]) => lo <= hi, `${label} is inverted: min must not exceed max`);

const generateSpec = z
  .object({
    count: z.number().int('count must be a whole number').min(1, 'count must be at least 1').max(50_000, 'count must be at most 50000'),
    seed: z.number().int('seed must be a whole number'),
    collateral: z.array(assetSymbol).min(1, 'needs at least one collateral asset'),
    debt: z.array(assetSymbol).min(1, 'needs at least one debt asset'),
    /** Health factor at opening; positions open healthy (≥ 1), shocks make them liquidatable. */
    healthFactor: range('healthFactor', 1),
    /** Collateral value per borrower in USD, drawn log-uniformly. */
    collateralUsd: range('collateralUsd', 1).default([1_000, 100_000]),
    /** Every generated borrower enters this eMode category; debt is sized with the category's LT (and price). */
    emode: eModeId.optional(),
  })
  .strict();

/** A base fee in gwei (JSON number), at most 9 decimals (wei), kept in wei. */
const baseFeeGwei = z
  .number({ error: 'must be a number of gwei, e.g. 120' })
  .gt(0, 'must be greater than 0 gwei')
  .max(100_000, 'must be at most 100000 gwei')
  .refine((gwei) => !/\.\d{10,}$/.test(numberToPlainString(gwei)), 'has more than 9 decimals (wei precision)')
  .transform((gwei) => parseUnits(numberToPlainString(gwei), 'gwei'));

/**
 * A step of the price path. Either form is accepted:
 *   { "afterBlocks": 5, "asset": "WETH", "priceUsd": 2700 }                              // one asset
 *   { "afterBlocks": 5, "prices": { "WETH": 2400, "WBTC": 40000 }, "baseFeeGwei": 120 }  // several, and/or gas
 * Both become one ShockStep; every price of a step lands in one block (World.setPrices).
 */
const shockSpec = z
  .object({
    afterBlocks: z.number().int('afterBlocks must be a whole number').min(1, 'afterBlocks must be at least 1'),
    asset: assetSymbol.optional(),
    priceUsd: priceUsd.optional(),
    prices: z
      .record(assetSymbol, priceUsd)
      .refine((m) => Object.keys(m).length > 0, 'needs at least one asset (or leave "prices" out and give "baseFeeGwei")')
      .optional(),
    /** The chain's base fee from this step's block until the next step that gives one. */
    baseFeeGwei: baseFeeGwei.optional(),
  })
  .strict()
  .superRefine((step, ctx) => {
    if (step.asset !== undefined && step.priceUsd === undefined) {
      ctx.addIssue({ code: 'custom', path: ['priceUsd'], message: 'the one-asset form needs "priceUsd" with "asset"' });
    }
    if (step.priceUsd !== undefined && step.asset === undefined) {
      ctx.addIssue({ code: 'custom', path: ['asset'], message: 'the one-asset form needs "asset" with "priceUsd"' });
    }
    if (step.asset !== undefined && step.prices !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['prices'], message: 'give either "asset" and "priceUsd" or "prices", not both (add the asset to "prices")' });
    }
    if (step.asset === undefined && step.priceUsd === undefined && step.prices === undefined && step.baseFeeGwei === undefined) {
      ctx.addIssue({ code: 'custom', path: ['prices'], message: 'a step needs "prices", "baseFeeGwei" or both (or the one-asset form "asset" and "priceUsd")' });
    }
  });

/** Both forms of a step as one ShockStep (the schema has checked it is one or the other). */
function normaliseStep(step: z.output<typeof shockSpec>): ShockStep {
  const prices: ShockStep['prices'] = step.asset !== undefined && step.priceUsd !== undefined ? { [step.asset]: step.priceUsd } : { ...step.prices };
  return { afterBlocks: step.afterBlocks, prices, ...(step.baseFeeGwei !== undefined ? { baseFeeWei: step.baseFeeGwei } : {}) };
}

/**
 * Depth (USD per side) of every pool a scenario does not list. The largest shipped position is $200k of
 * collateral: selling all of it into a $50M full-range pool costs 200k / 50.2M = 0.4 % of price impact (plus
 * the fee), under the 1 % a liquidation can bear.
 */
export const DEFAULT_DEX_DEPTH_USD = 50_000_000;
/** 5 bps: the tier of the deepest WETH/USDC, WBTC/USDC and WBTC/WETH pools on Ethereum. */
export const DEFAULT_DEX_FEE_TIER: FeeTier = 500;

const feeTier = z.literal(FEE_TIERS, {
  error: `must be a Uniswap V3 fee tier: ${FEE_TIERS.join(', ')} (hundredths of a bp: 500 = 0.05 %)`,
});

const depthUsd = z
  .number({ error: 'must be a whole number of USD' })
  .int('must be a whole number of USD')
  .min(0, 'must not be negative')
  .max(1_000_000_000_000, 'must be at most 1000000000000 USD')
  .transform((usd) => BigInt(usd));

const dexSpec = z
  .object({
    defaultDepthUsd: depthUsd.refine((usd) => usd > 0n, 'must be greater than zero').default(BigInt(DEFAULT_DEX_DEPTH_USD)),
    defaultFeeTier: feeTier.default(DEFAULT_DEX_FEE_TIER),
    /** `all`: a pool per pair of listed assets; `weth`: one per asset against WETH, and the pairs listed in `pools`. */
    pairs: z.enum(['all', 'weth'], { error: 'must be "all" or "weth"' }).optional(),
    /** Keyed `A/B` in either order; a pool not listed gets the defaults. */
    pools: z.record(z.string(), z.object({ depthUsd: depthUsd.optional(), feeTier: feeTier.optional() }).strict()).default({}),
  })
  .strict();

/** How the demo's local runtime runs the keeper (local/demo.ts); command-line flags override it. */
const demoSpec = z
  .object({
    signers: z.number().int('must be a whole number').min(1, 'must be at least 1').max(4, 'must be at most 4 (the world has four liquidator accounts)').default(1),
    workerConcurrency: z.number().int('must be a whole number').min(1, 'must be at least 1').max(10, 'must be at most 10').default(2),
    timeoutSec: z.number().int('must be a whole number of seconds').min(1, 'must be at least 1').max(3600, 'must be at most 3600').default(240),
  })
  .strict();

/** Utilisation as a fraction of one, at most 4 decimals (basis-point precision), kept as bps. */
const utilisationTarget = z
  .number({ error: 'must be a number between 0 and 1, e.g. 0.8' })
  .gt(0, 'must be greater than 0')
  .max(1, 'must be at most 1 (everything supplied lent out)')
  .refine((u) => !/\.\d{5,}$/.test(numberToPlainString(u)), 'has more than 4 decimals (basis-point precision)')
  .transform((u) => BigInt(Math.round(u * 10_000)));

export const scenarioSchema = z
  .object({
    name: z.string().optional(),
    description: z.string().optional(),
    aave: z.enum(['v3.6', 'v3.0'], { error: 'must be "v3.6" or "v3.0"' }).default('v3.6'),
    /** Seconds between blocks once the world runs; 0 = a block per transaction (automine). */
    blockTimeSec: z.number().int('must be a whole number of seconds').min(0).max(60).default(2),
    assets: z.record(assetSymbol, assetParams).refine((a) => Object.keys(a).length >= 2, 'needs at least two assets'),
    /** eMode categories by id ("1" … "255"); borrowers enter one with `emode`. */
    emodeCategories: z
      .record(z.string().regex(/^(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-5])$/, 'eMode category ids are 1 to 255'), eModeCategorySpec)
      .optional(),
    borrowers: z.array(borrowerSpec).default([]),
    /** One block of generated borrowers, or several (each with its own seed, assets and ranges). */
    generate: z
      .union([generateSpec, z.array(generateSpec).min(1, 'needs at least one generate block')], {
        error: 'must be a generate block or an array of them',
      })
      .optional(),
    shocks: z.array(shockSpec).default([]),
    /** Where the scenario's shape comes from (post-mortems, price candles, news), for historical replays. */
    sources: z.array(z.string().min(1, 'must not be empty')).optional(),
    dex: dexSpec.optional(),
    demo: demoSpec.optional(),
    /** Reserves left nearly fully borrowed after seeding (see the file comment). */
    utilisation: z
      .record(assetSymbol, utilisationTarget)
      .refine((m) => Object.keys(m).length > 0, 'needs at least one asset')
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const listed = new Set(Object.keys(s.assets));
    const requireListed = (asset: string, path: (string | number)[]) => {
      if (!listed.has(asset)) ctx.addIssue({ code: 'custom', path, message: `asset ${asset} is not listed under "assets"` });
    };
    if (s.dex?.pairs === 'weth' && !listed.has('WETH')) ctx.addIssue({ code: 'custom', path: ['dex', 'pairs'], message: '"weth" pairs every asset with WETH, which is not listed' });
    for (const [symbol, a] of Object.entries(s.assets)) {
      if (a.decimals === undefined && ASSET_DECIMALS[symbol] === undefined) {
        ctx.addIssue({ code: 'custom', path: ['assets', symbol, 'decimals'], message: `is required for an asset other than ${ASSET_SYMBOLS.join(', ')}` });
      }
      // ConfiguratorLogic.executeInitReserve (3.2+) refuses assets with 5 decimals or fewer.
      const decimals = a.decimals ?? ASSET_DECIMALS[symbol];
      if (s.aave === 'v3.6' && decimals !== undefined && decimals <= 5) {
        ctx.addIssue({ code: 'custom', path: ['assets', symbol, 'decimals'], message: 'must be at least 6 on Aave v3.6 (it refuses assets with 5 decimals or fewer)' });
      }
    }
    const categories = s.emodeCategories ?? {};
    const v30Members = new Map<string, string>();
    for (const [id, c] of Object.entries(categories)) {
      const path = ['emodeCategories', id];
      c.collateral.forEach((a, i) => requireListed(a, [...path, 'collateral', i]));
      c.borrowable.forEach((a, i) => requireListed(a, [...path, 'borrowable', i]));
      if (c.priceSource !== undefined) requireListed(c.priceSource, [...path, 'priceSource']);
      if (s.aave !== 'v3.0') {
        if (c.priceSource !== undefined) {
          ctx.addIssue({ code: 'custom', path: [...path, 'priceSource'], message: 'only Aave V3.0–3.1 categories have a price source (3.2+ liquid eMode has none)' });
        }
        continue;
      }
      // V3.0: one category per asset, as collateral and borrowable alike; the configurator wants the category's
      // LTV and LT above each member reserve's (PoolConfigurator.setEModeCategory / setAssetEModeCategory).
      if ([...new Set(c.collateral)].sort().join() !== [...new Set(c.borrowable)].sort().join()) {
        ctx.addIssue({ code: 'custom', path: [...path, 'borrowable'], message: 'on Aave V3.0 a category\'s assets are collateral and borrowable alike: list the same assets in both' });
      }
      for (const asset of new Set(c.collateral)) {
        const earlier = v30Members.get(asset);
        if (earlier !== undefined) ctx.addIssue({ code: 'custom', path: [...path, 'collateral'], message: `${asset} is already in category ${earlier}: on Aave V3.0 an asset belongs to one category` });
        v30Members.set(asset, id);
        const a = s.assets[asset];
        if (!a) continue;
        if (c.ltvBps <= a.ltvBps) ctx.addIssue({ code: 'custom', path: [...path, 'ltvBps'], message: `must exceed ${asset}'s ltvBps (${a.ltvBps}) on Aave V3.0` });
        if (c.liquidationThresholdBps <= a.liquidationThresholdBps) {
          ctx.addIssue({ code: 'custom', path: [...path, 'liquidationThresholdBps'], message: `must exceed ${asset}'s liquidationThresholdBps (${a.liquidationThresholdBps}) on Aave V3.0` });
        }
      }
    }
    /** A borrower's category must exist and let it borrow its debt assets (Aave refuses the borrow otherwise). */
    const checkEMode = (id: number | undefined, debt: readonly string[], path: (string | number)[]) => {
      if (id === undefined) return;
      const c = categories[String(id)];
      if (!c) {
        ctx.addIssue({ code: 'custom', path: [...path, 'emode'], message: `eMode category ${id} is not defined under "emodeCategories"` });
        return;
      }
      for (const asset of debt) {
        if (!c.borrowable.includes(asset as AssetSymbol)) ctx.addIssue({ code: 'custom', path: [...path, 'emode'], message: `${asset} is not borrowable in eMode category ${id} (${c.label})` });
      }
    };
    s.borrowers.forEach((b, i) => {
      for (const asset of Object.keys(b.collateral)) requireListed(asset, ['borrowers', i, 'collateral', asset]);
      for (const asset of Object.keys(b.debt)) requireListed(asset, ['borrowers', i, 'debt', asset]);
      checkEMode(b.emode, Object.keys(b.debt), ['borrowers', i]);
    });
    for (const { spec: g, path } of generateBlocks(s.generate)) {
      g.collateral.forEach((a, i) => requireListed(a, [...path, 'collateral', i]));
      g.debt.forEach((a, i) => requireListed(a, [...path, 'debt', i]));
      const pairs = g.collateral.some((c) => g.debt.some((d) => d !== c));
      if (!pairs) ctx.addIssue({ code: 'custom', path, message: 'collateral and debt lists leave no pair of different assets' });
      checkEMode(g.emode, g.debt, path);
    }
    s.shocks.forEach((shock, i) => {
      if (shock.asset !== undefined) requireListed(shock.asset, ['shocks', i, 'asset']);
      for (const asset of Object.keys(shock.prices ?? {})) requireListed(asset, ['shocks', i, 'prices', asset]);
    });
    const pairsSeen = new Map<string, string>();
    for (const key of Object.keys(s.dex?.pools ?? {})) {
      // Any well-formed symbol parses; one that is not listed is then reported as such.
      const parsed = parsePair(key, key.split('/').filter((part) => assetSymbol.safeParse(part).success));
      if (parsed.kind === 'invalid') {
        ctx.addIssue({ code: 'custom', path: ['dex', 'pools', key], message: parsed.reason });
        continue;
      }
      parsed.assets.forEach((asset) => requireListed(asset, ['dex', 'pools', key]));
      const name = pairName(...parsed.assets);
      const earlier = pairsSeen.get(name);
      if (earlier) ctx.addIssue({ code: 'custom', path: ['dex', 'pools', key], message: `the same pair as ${earlier}` });
      pairsSeen.set(name, key);
    }
    for (const asset of Object.keys(s.utilisation ?? {}) as AssetSymbol[]) {
      requireListed(asset, ['utilisation', asset]);
      if (s.assets[asset] && !s.assets[asset].borrowingEnabled) {
        ctx.addIssue({ code: 'custom', path: ['utilisation', asset], message: `assets.${asset}.borrowingEnabled is false: nothing can borrow it` });
      }
    }
    if (s.borrowers.length === 0 && !s.generate) {
      ctx.addIssue({ code: 'custom', path: ['borrowers'], message: 'a scenario needs "borrowers", "generate" or both' });
    }
  });

/** The generate blocks of a scenario with the path each is reported under (`generate` or `generate[1]`). */
function generateBlocks(
  generate: z.output<typeof generateSpec> | z.output<typeof generateSpec>[] | undefined,
): { spec: z.output<typeof generateSpec>; path: (string | number)[]; labelPrefix: string }[] {
  if (generate === undefined) return [];
  if (!Array.isArray(generate)) return [{ spec: generate, path: ['generate'], labelPrefix: 'generate' }];
  return generate.map((spec, k) => ({ spec, path: ['generate', k], labelPrefix: `generate[${k}]` }));
}

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ParsedScenario = z.output<typeof scenarioSchema>;
/** A listed asset's parameters, its token decimals filled in (known or given). */
export type AssetParams = Omit<z.output<typeof assetParams>, 'decimals'> & { decimals: number };

/** A position to open, in token units (bigint, the token's own decimals). */
export interface PositionSpec {
  /** Stable label: `borrowers[3]`, `generate[17]` (one generate block) or `generate[1][17]` (several). */
  label: string;
  collateral: Partial<Record<AssetSymbol, bigint>>;
  debt: Partial<Record<AssetSymbol, bigint>>;
  /** The eMode category the borrower enters before borrowing; absent: none. */
  emode?: number;
}

/** An eMode category of the scenario, by id. */
export interface EModeCategorySpec {
  id: number;
  label: string;
  ltvBps: number;
  liquidationThresholdBps: number;
  liquidationBonusBps: number;
  collateral: AssetSymbol[];
  borrowable: AssetSymbol[];
  priceSource?: AssetSymbol;
}

export interface Scenario {
  name: string;
  description?: string;
  aave: 'v3.6' | 'v3.0';
  blockTimeSec: number;
  assets: Partial<Record<AssetSymbol, AssetParams>>;
  /** eMode categories, by id (empty when the scenario defines none). */
  emodeCategories: Record<number, EModeCategorySpec>;
  positions: PositionSpec[];
  /** The price path, in file order (World.runShocks applies them by afterBlocks). */
  shocks: ShockStep[];
  /** Where a historical scenario's shape comes from (empty when the file gives none). */
  sources: string[];
  dex: DexSpec;
  /** Signers and worker concurrency of `npm run demo` on this scenario (defaults 1 and 2). */
  demo: DemoSpec;
  /** Reserves the whale leaves nearly fully borrowed; absent when the scenario has no `utilisation`. */
  utilisation?: UtilisationSpec;
}

/**
 * One step of a scenario's price path: at `afterBlocks` after the world's start block, every price in `prices`
 * (USD, 8 decimals) lands in ONE block, and from that block on the chain's base fee is held at `baseFeeWei` when
 * given (until a later step gives another).
 */
export interface ShockStep {
  afterBlocks: number;
  prices: Partial<Record<AssetSymbol, bigint>>;
  baseFeeWei?: bigint;
}

/** One reserve under `utilisation`, in its token's units (principal: what was supplied and borrowed). */
export interface ReserveUtilisation {
  /** Share of the supplied underlying lent out after seeding, bps (8000 = 80 %). */
  targetBps: bigint;
  /** The positions' collateral in the asset plus the liquidity provider's supply. */
  suppliedUnits: bigint;
  /** The positions' debt in the asset. */
  borrowedUnits: bigint;
  /** What the whale borrows: floor(supplied × target) − borrowed. */
  whaleBorrowUnits: bigint;
  /** The reserve's available liquidity once seeded: supplied − borrowed − whaleBorrowUnits. */
  availableUnits: bigint;
}

export interface UtilisationSpec {
  reserves: Partial<Record<AssetSymbol, ReserveUtilisation>>;
  /** Opened after every position (label WHALE_LABEL); debt = the whale borrows of every reserve above. */
  whale: PositionSpec;
}

export interface DemoSpec {
  signers: 1 | 2 | 3 | 4;
  workerConcurrency: number;
  /** Seconds the demo waits for every liquidatable account to be handled. */
  timeoutSec: number;
}

/** The scenario's DEX settings, defaults applied; `pools` is keyed by canonical pair name (`WETH/USDC`). */
export interface DexSpec {
  /** Whole USD per side of a pool not listed in `pools`. */
  defaultDepthUsd: bigint;
  defaultFeeTier: FeeTier;
  /** Which pairs get a pool: every pair, or each asset against WETH (plus those listed in `pools`). */
  pairs: 'all' | 'weth';
  pools: Record<string, { depthUsd: bigint; feeTier: FeeTier }>;
}

export class ScenarioError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid scenario ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ScenarioError';
  }
}

/** The parsed assets with their decimals: given, or known for WETH, USDC and WBTC (validated before). */
function withDecimals(assets: Record<AssetSymbol, z.output<typeof assetParams>>): Record<AssetSymbol, AssetParams> {
  return Object.fromEntries(Object.entries(assets).map(([symbol, a]) => [symbol, { ...a, decimals: a.decimals ?? ASSET_DECIMALS[symbol]! }]));
}

function numberToPlainString(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  // Avoid exponent notation (1e-7) so the decimal check sees every digit.
  return n.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

/** Validates a parsed JSON value and expands it into concrete positions. */
export function parseScenario(value: unknown, source = '<inline>'): Scenario {
  const result = scenarioSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys
          .map((key) => {
            const where = formatPath([...issue.path, key]);
            return `${where}: unknown field`;
          })
          .join('\n  - ');
      }
      // A record key that fails its rule (an eMode category id) carries the rule's message inside.
      const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
      return `${formatPath(issue.path) || '(root)'}: ${message}`;
    });
    throw new ScenarioError(source, problems);
  }
  const parsed = { ...result.data, assets: withDecimals(result.data.assets) };
  const problems: string[] = [];
  const positions: PositionSpec[] = parsed.borrowers.map((b, i) => {
    const label = `borrowers[${i}]`;
    const toUnits = (side: 'collateral' | 'debt', m: Partial<Record<AssetSymbol, string>>) =>
      Object.fromEntries(
        Object.entries(m).map(([asset, amount]) => {
          try {
            return [asset, parseUnits(amount!, parsed.assets[asset]!.decimals)];
          } catch {
            problems.push(`${label}.${side}.${asset}: "${amount}" has more decimals than ${asset} (${parsed.assets[asset]!.decimals})`);
            return [asset, 0n];
          }
        }),
      ) as Partial<Record<AssetSymbol, bigint>>;
    return { label, collateral: toUnits('collateral', b.collateral), debt: toUnits('debt', b.debt), ...(b.emode !== undefined ? { emode: b.emode } : {}) };
  });
  const emodeCategories: Record<number, EModeCategorySpec> = Object.fromEntries(
    Object.entries(parsed.emodeCategories ?? {}).map(([id, c]) => [Number(id), { id: Number(id), ...c }]),
  );
  for (const p of positions) {
    const hf = openingHealthFactor(p, parsed.assets, { categories: emodeCategories, aave: parsed.aave });
    if (hf !== undefined && hf < 1) {
      problems.push(
        `${p.label}: opens with health factor ${hf.toFixed(4)} at the scenario prices; positions must open with HF ≥ 1 (make them liquidatable with "shocks")`,
      );
    }
  }
  if (problems.length > 0) throw new ScenarioError(source, problems);
  for (const { spec, labelPrefix } of generateBlocks(parsed.generate)) {
    positions.push(...generatePositions(spec, parsed.assets, labelPrefix, { categories: emodeCategories, aave: parsed.aave }));
  }
  const shocks = parsed.shocks.map(normaliseStep);
  const utilisation = parsed.utilisation ? resolveUtilisation(parsed.utilisation, positions, parsed.assets, shocks, problems) : undefined;
  if (problems.length > 0) throw new ScenarioError(source, problems);
  return {
    name: parsed.name ?? source,
    description: parsed.description,
    aave: parsed.aave,
    blockTimeSec: parsed.blockTimeSec,
    assets: parsed.assets,
    emodeCategories,
    positions,
    shocks,
    sources: parsed.sources ?? [],
    dex: resolveDexSpec(parsed.dex, Object.keys(parsed.assets)),
    demo: { signers: (parsed.demo?.signers ?? 1) as DemoSpec['signers'], workerConcurrency: parsed.demo?.workerConcurrency ?? 2, timeoutSec: parsed.demo?.timeoutSec ?? 240 },
    ...(utilisation ? { utilisation } : {}),
  };
}

/**
 * What the liquidity provider supplies to each reserve the positions borrow: twice their total debt in it plus one
 * unit of the token, so utilisation stays near 50 % and every borrow fits.
 */
export function liquidityProviderSupplyUnits(positions: readonly PositionSpec[], assets: Partial<Record<AssetSymbol, AssetParams>>): Partial<Record<AssetSymbol, bigint>> {
  const supply: Partial<Record<AssetSymbol, bigint>> = {};
  for (const [asset, debt] of Object.entries(sumUnits(positions, 'debt')) as [AssetSymbol, bigint][]) {
    supply[asset] = debt * 2n + 10n ** BigInt(assets[asset]!.decimals);
  }
  return supply;
}

function sumUnits(positions: readonly PositionSpec[], side: 'collateral' | 'debt'): Partial<Record<AssetSymbol, bigint>> {
  const totals: Partial<Record<AssetSymbol, bigint>> = {};
  for (const p of positions) {
    for (const [asset, amount] of Object.entries(p[side]) as [AssetSymbol, bigint][]) totals[asset] = (totals[asset] ?? 0n) + amount;
  }
  return totals;
}

/**
 * The whale's borrows for each `utilisation` target and its collateral (see the file comment); every problem
 * is pushed to `problems`, naming the field.
 */
function resolveUtilisation(
  targets: Partial<Record<AssetSymbol, bigint>>,
  positions: readonly PositionSpec[],
  assets: Partial<Record<AssetSymbol, AssetParams>>,
  shocks: Scenario['shocks'],
  problems: string[],
): UtilisationSpec | undefined {
  const collateralTotals = sumUnits(positions, 'collateral');
  const debtTotals = sumUnits(positions, 'debt');
  const lpSupply = liquidityProviderSupplyUnits(positions, assets);
  const reserves: UtilisationSpec['reserves'] = {};
  const whaleDebt: Partial<Record<AssetSymbol, bigint>> = {};
  const format = (asset: AssetSymbol, units: bigint) => `${formatUnits(units, assets[asset]!.decimals)} ${asset}`;
  for (const [asset, targetBps] of Object.entries(targets) as [AssetSymbol, bigint][]) {
    const suppliedUnits = (collateralTotals[asset] ?? 0n) + (lpSupply[asset] ?? 0n);
    const borrowedUnits = debtTotals[asset] ?? 0n;
    if (suppliedUnits === 0n) {
      problems.push(`utilisation.${asset}: nothing is supplied to the ${asset} reserve (no position holds it as collateral or borrows it)`);
      continue;
    }
    const whaleBorrowUnits = (suppliedUnits * targetBps) / 10_000n - borrowedUnits;
    if (whaleBorrowUnits <= 0n) {
      problems.push(
        `utilisation.${asset}: the positions already borrow ${format(asset, borrowedUnits)} of the ${format(asset, suppliedUnits)} supplied, at or above the target ${Number(targetBps) / 100} %`,
      );
      continue;
    }
    reserves[asset] = { targetBps, suppliedUnits, borrowedUnits, whaleBorrowUnits, availableUnits: suppliedUnits - borrowedUnits - whaleBorrowUnits };
    whaleDebt[asset] = whaleBorrowUnits;
  }
  const backing = Object.keys(assets).filter((symbol) => assets[symbol] && targets[symbol] === undefined && assets[symbol].ltvBps > 0).sort(
    (a, b) => assets[b]!.liquidationThresholdBps - assets[a]!.liquidationThresholdBps,
  )[0];
  if (!backing) {
    problems.push('utilisation: no listed asset outside "utilisation" can back the whale borrower (it needs one with ltvBps > 0)');
    return undefined;
  }
  if (Object.keys(whaleDebt).length === 0) return undefined;

  // Collateral = debt value × WHALE_OPENING_HEALTH_FACTOR / LT, in the backing asset's units, rounded up.
  const c = assets[backing]!;
  let debtBase = 0n;
  for (const [asset, units] of Object.entries(whaleDebt) as [AssetSymbol, bigint][]) debtBase += valueBase8(units, assets[asset]!.priceUsd, assets[asset]!.decimals);
  const numerator = debtBase * WHALE_OPENING_HEALTH_FACTOR * 10_000n * 10n ** BigInt(c.decimals);
  const denominator = BigInt(c.liquidationThresholdBps) * c.priceUsd;
  const whale: PositionSpec = { label: WHALE_LABEL, collateral: { [backing]: (numerator + denominator - 1n) / denominator }, debt: whaleDebt };

  // The whale must stay far from liquidation at the prices after every shock, in the order they land.
  const prices = { ...assets };
  [...shocks.entries()]
    .sort(([, a], [, b]) => a.afterBlocks - b.afterBlocks)
    .forEach(([i, shock]) => {
      for (const [asset, priceBase8] of Object.entries(shock.prices) as [AssetSymbol, bigint][]) prices[asset] = { ...prices[asset]!, priceUsd: priceBase8 };
      const hf = openingHealthFactor(whale, prices)!;
      if (hf < WHALE_MIN_HEALTH_FACTOR) {
        problems.push(
          `utilisation: the whale borrower (${format(backing, whale.collateral[backing]!)} of collateral) falls to health factor ${hf.toFixed(4)} after shocks[${i}]; it must stay at or above ${WHALE_MIN_HEALTH_FACTOR} so it never becomes a liquidation candidate (lower the target or the shock)`,
        );
      }
    });
  return { reserves, whale };
}

function resolveDexSpec(spec: z.output<typeof dexSpec> | undefined, symbols: readonly AssetSymbol[]): DexSpec {
  const defaultDepthUsd = spec?.defaultDepthUsd ?? BigInt(DEFAULT_DEX_DEPTH_USD);
  const defaultFeeTier = spec?.defaultFeeTier ?? DEFAULT_DEX_FEE_TIER;
  const pools: DexSpec['pools'] = {};
  for (const [key, pool] of Object.entries(spec?.pools ?? {})) {
    const parsed = parsePair(key, symbols);
    if (parsed.kind === 'invalid') throw new Error(`dex.pools.${key}: ${parsed.reason}`); // rejected by the schema already
    pools[pairName(...parsed.assets)] = { depthUsd: pool.depthUsd ?? defaultDepthUsd, feeTier: pool.feeTier ?? defaultFeeTier };
  }
  return { defaultDepthUsd, defaultFeeTier, pairs: spec?.pairs ?? 'all', pools };
}

/**
 * The pools the world creates: one per unordered pair of listed assets, with the scenario's depth and fee tier
 * for that pair or the defaults. Pairs whose depth is 0 are left out.
 */
export function dexPoolListings(scenario: Pick<Scenario, 'assets' | 'dex'>): PoolListing[] {
  const listed = Object.keys(scenario.assets).filter((symbol) => scenario.assets[symbol] !== undefined);
  // `weth`: a pool per asset against WETH (routes through WETH join any two), plus the pairs listed in `pools`.
  const wanted = (a: AssetSymbol, b: AssetSymbol) => scenario.dex.pairs === 'all' || a === 'WETH' || b === 'WETH' || scenario.dex.pools[pairName(a, b)] !== undefined;
  return allPairs(listed)
    .filter(([a, b]) => wanted(a, b))
    .map(([a, b]): PoolListing => {
      const spec = scenario.dex.pools[pairName(a, b)];
      return { assets: [a, b], depthUsd: spec?.depthUsd ?? scenario.dex.defaultDepthUsd, feeTier: spec?.feeTier ?? scenario.dex.defaultFeeTier };
    })
    .filter((l) => l.depthUsd > 0n);
}

/** Loads a scenario by name (from local/scenarios) or by file path. */
export function loadScenario(nameOrPath: string): Scenario {
  const path =
    nameOrPath.endsWith('.json') || nameOrPath.includes('/')
      ? isAbsolute(nameOrPath)
        ? nameOrPath
        : join(process.cwd(), nameOrPath)
      : join(SCENARIO_DIR, `${nameOrPath}.json`);
  if (!existsSync(path)) throw new ScenarioError(nameOrPath, [`no scenario file at ${path}`]);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ScenarioError(path, [`(file): invalid JSON: ${(err as Error).message}`]);
  }
  return parseScenario(json, path);
}

/** Value of an amount in base units (USD, 8 decimals), rounded down. */
export function valueBase8(amount: bigint, priceBase8: bigint, decimals: number): bigint {
  return (amount * priceBase8) / 10n ** BigInt(decimals);
}

/**
 * Health factor a position opens with at the scenario prices (a float, for validation and reporting only;
 * exact checks against the chain use bigint). Undefined when it has no debt.
 */
export function openingHealthFactor(p: PositionSpec, assets: Partial<Record<AssetSymbol, AssetParams>>, eMode?: EModeContext): number | undefined {
  let weightedCollateral = 0n;
  let debt = 0n;
  for (const [asset, amount] of Object.entries(p.collateral) as [AssetSymbol, bigint][]) {
    const a = effectiveParams(asset, assets, p.emode, eMode);
    if (a) weightedCollateral += valueBase8(amount, a.priceUsd, assets[asset]!.decimals) * BigInt(a.liquidationThresholdBps);
  }
  for (const [asset, amount] of Object.entries(p.debt) as [AssetSymbol, bigint][]) {
    const a = effectiveParams(asset, assets, p.emode, eMode);
    if (a) debt += valueBase8(amount, a.priceUsd, assets[asset]!.decimals) * 10_000n;
  }
  return debt === 0n ? undefined : Number((weightedCollateral * 1_000_000n) / debt) / 1_000_000;
}

/** The scenario's eMode categories and Pool flavour: what a borrower's category changes. */
export interface EModeContext {
  categories: Record<number, EModeCategorySpec>;
  aave: 'v3.6' | 'v3.0';
}

/**
 * An asset's price and LT as a borrower in eMode category `emode` sees them (what the Pool computes with): the
 * category's LT for collateral it covers (V3.0: its members; 3.2+: its collateral list), and on V3.0 the price of
 * the category's price source for its members.
 */
export function effectiveParams(
  asset: AssetSymbol,
  assets: Partial<Record<AssetSymbol, AssetParams>>,
  emode: number | undefined,
  eMode: EModeContext | undefined,
): { priceUsd: bigint; liquidationThresholdBps: number } | undefined {
  const a = assets[asset];
  if (!a) return undefined;
  const c = emode === undefined ? undefined : eMode?.categories[emode];
  if (!c || !c.collateral.includes(asset)) return { priceUsd: a.priceUsd, liquidationThresholdBps: a.liquidationThresholdBps };
  const source = eMode!.aave === 'v3.0' && c.priceSource !== undefined ? assets[c.priceSource] : undefined;
  return { priceUsd: source?.priceUsd ?? a.priceUsd, liquidationThresholdBps: c.liquidationThresholdBps };
}

/** mulberry32: a small deterministic PRNG, so a seed always yields the same borrowers. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function generatePositions(
  spec: z.output<typeof generateSpec>,
  assets: Partial<Record<AssetSymbol, AssetParams>>,
  labelPrefix: string,
  eMode: EModeContext,
): PositionSpec[] {
  const random = prng(spec.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const positions: PositionSpec[] = [];
  for (let i = 0; i < spec.count; i++) {
    const collateralAsset = pick(spec.collateral);
    const debtChoices = spec.debt.filter((d) => d !== collateralAsset);
    if (debtChoices.length === 0) {
      // This collateral cannot pair with any debt asset: draw again from the collaterals that can.
      i--;
      continue;
    }
    const debtAsset = pick(debtChoices);
    const c = effectiveParams(collateralAsset, assets, spec.emode, eMode)!;
    const d = effectiveParams(debtAsset, assets, spec.emode, eMode)!;
    const [loUsd, hiUsd] = spec.collateralUsd;
    const collateralUsd = Math.exp(Math.log(loUsd) + random() * (Math.log(hiUsd) - Math.log(loUsd)));
    const [loHf, hiHf] = spec.healthFactor;
    const hfPpm = BigInt(Math.round((loHf + random() * (hiHf - loHf)) * 1e6));
    // Collateral in token units from a whole-cent USD value; debt sized for the drawn health factor:
    // debtBase = collateralBase × LT / HF, then converted to the debt token, rounded down (HF rounds up).
    const collateralCents = BigInt(Math.max(1, Math.round(collateralUsd * 100)));
    const collateralDecimals = assets[collateralAsset]!.decimals;
    const collateralAmount = (collateralCents * 10n ** BigInt(collateralDecimals + PRICE_DECIMALS - 2)) / c.priceUsd;
    const collateralBase = valueBase8(collateralAmount, c.priceUsd, collateralDecimals);
    const debtBase = (collateralBase * BigInt(c.liquidationThresholdBps) * 1_000_000n) / (10_000n * hfPpm);
    const debtAmount = (debtBase * 10n ** BigInt(assets[debtAsset]!.decimals)) / d.priceUsd;
    if (collateralAmount === 0n || debtAmount === 0n) continue;
    positions.push({
      label: `${labelPrefix}[${i}]`,
      collateral: { [collateralAsset]: collateralAmount },
      debt: { [debtAsset]: debtAmount },
      ...(spec.emode !== undefined ? { emode: spec.emode } : {}),
    });
  }
  return positions;
}
