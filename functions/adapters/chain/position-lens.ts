/**
 * contracts/src/PositionLens.sol run "deployless": an eth_call with no `to` whose data is the lens's creation code
 * and its ABI-encoded constructor arguments; the constructor reads and returns a `uint256[]` as the call's result.
 * No deployment and no state override, so any node runs it. This file holds the creation code (kept in the source,
 * not read from the build output, so a Lambda bundle carries it; test/unit/chain/position-lens.test.ts fails if it
 * drifts from a fresh compile), the call's encoding and the decoders of its two layouts (market, user), which
 * refuse anything that is not exactly that layout and name what is wrong.
 * The creation code is packed (packed-bytecode.ts): `npx tsx contracts/embed-bytecode.ts` writes it.
 */
import { getAddress } from 'ethers';
import { unpackBytecode } from './packed-bytecode';

/** Creation bytecode of contracts/src/PositionLens.sol (own set settings: optimizer 200 runs, cancun, no metadata hash), packed (packed-bytecode.ts). */
export const POSITION_LENS_CREATION_BYTECODE = unpackBytecode(
  'pVl7rBxVGb9nH93tfXQfd2d2b/dCp1BfQFEIFZC0LgQj1VJmRjIHHWC+j0vQtEItAVFI7Lx2e29vNWdunxSNtybFxkSor6RYQi5I' +
  'QmoJBmkEYpRbXhqCEMWWSChXzszsY+5O2yXsH5vs933nfL/z+x7nsWBCTb3EFLAvRw3jpC5DTcHR3ZclTRzd7VxuEahZTMW+Cz0U' +
  'L9Z0A4gjGknsW02x7+q662KfpenYd73/Va/XMf2ypjPZsKCmgESw71seQ/EeTfd/W04yaakMaiqTTQUkm7yjAxguECAwXU2KY+mr' +
  'dt0INcUam5ubmxNhtmqpkCIgQU0xnaTV+MZ7Agc7Q1caxqqVHLAsc8wrYckILLGJaBO+ItkiDPte5b4fCfG0XLy/b3j/mV2Qc3tx' +
  'Qb7cdmG3Xdx88Icre3DR6MnFL9ouNrddPLv99ke7XRjzPPyzy4Nhr4IlK5lFYMmIaBOoqZjIeYx7Km8NqFI25wVMLKcNW8HEpz2G' +
  'lVWajonParqhMxmusQoCJlZRGa7RQ15r1aQvpBQTFMW/+uFmpq2aICVAIr4fU8CESS2QCEh2wvy8cylhsi4z2dBti3t8mTqY2G1P' +
  'YoVquqVYeUzsp5jYj5V1mh5MRBTbDjRPUEw8EWhCTtiUCNKUk/CYR5hHVCAEE3XNT+mxtd6b/4NjVUs1WNN+s8jGfnLui/9hmCyw' +
  'OoMUwcoPeIpHKEye3wuFSTWgsPIYp9C2lBImJ6mpcNcbX71rvR8fTNpe3YMU8WyV574KNcJ8qkwvyU7qmNwJ/S6OXK3pmNzLYIFP' +
  'RCfByYMUkwdPQ3DyWDfBu+Srxg2ftOS7FJPvdtJpWaos11tZNQ7EN0xJFFNSaMgsn1JOaGBWFwVMHaEdVXvvTdIbZ8731Hd7yffU' +
  'Ho/hiK7pmNpHIYGp/ZwDHebEcUgE6B6jmHqsaxm6o4xDMrCYpZia7bIYH4eUr0/3UUz3dentcUgHeoliumv9hu7wPE0/RzF959at' +
  'dTewXUMxvSaSo1uhv4HpW/g6eCzTtzdjidk3Nd2ygnEuxbQbGTcB/Q6m97TG7WuNSx9gkG7XRXqGYnqmOz4E08s1n1z+2TYly7Kf' +
  'KWNXl/c5QVjCmDmWCCmHqACe4TVE5lswWNYVtAXn9xK0Bddx0PcGzv71UvX7EWeN0Jk3JRseLztuEetsd0/OHg2dMdlofMSOuOC9' +
  'Xso5szTSESFjK5i5OIxLZ0FmVlPMrD5NQWbujO14pu4oPJcyRyhmDmzZsmWiPrHZD23mAYqZB6JpMYFDV4FUBWlU0wXM/IFiZgYy' +
  'jp8PnqzzuGe+p+kyZp63INPVNTJvUcy8dRqQ2XI3yB2y2wi6RnY5xezyrmJxGmGzyF5LMXvt/GR0BMyuo5hdNzHemMDiKk23lQYs' +
  'CEZsopjd1F1eFqck+xK1gwrJPkgx+2CEis02ZDDL49+qhezTFLNPx9VCdmuzFjoqYcUb6+6OJKcbJqfhMZ6aXM9TE8lsNHMWXtJL' +
  'bi68gWfJ00HaJBr8rLRwPTVw4XOB+4Ftyhi8ElMb4yIbu3HPZCWuLBY+3JPr5zyGi9/S9Fvn/ApgMhywWBWmHZglCnJJtV0u5bIb' +
  '9K/+QYr9g/P5sxQX+z9RB9Imun8Fxf4V8w2R9NlEaU3rYr9eh0THqPUU+9d3j5LmjfLqkOwYtZdi/97uUbV5o56qQ6pj1PMU+5/v' +
  'SoWaMvbszX1fi21JnHaujKN94JO90D7wlbAbuTig1cOG7cMZuI3iwG1xcC67ddfJU8Lhylg4v+sJzottOK/Vw24QwDlOceD4KeJX' +
  'U8a+M21fFAHl2SKkbKIyvj9wbRyqwa/2gmpwQwvV4H11yLZRDU5SHJzsIinVEAUcupxyYJe+8MUj/tktjq0NBzbtjMX1Si+4hjIe' +
  'w2om7Jemn1RDo3VY2AY4dAHFoQu6TxvhJnvGrmJ7k6drK0OTPeF8uNVW6mHdDj1JcejJU5/RXBx6LVK/Q8cpDsXF3zpF/CfDNTDv' +
  'NPFf1FP8F7Xjv+i+SH9YNElx0eSpUS169lM/jQQ/guqsn123KhbVsV5Q5dItVLlCpP/kllLMLe3aoVzMXR7pOLnVFHOr4+yw3nlg' +
  'y22kmNsYZzcRaRm5+ynm7u8K6qxFFMwdZLyJQ8I/hWxmo0BEIEks/JIiqX2sIObzvdCVv6RFV74WoSEvU8zLMe36YwUx/2BPqP7Y' +
  'RvWXCOn51ynmX+8iMzsuCqbAsJCnMhLJ6thRBEEXAj6lj8VnAXpBXnBbyAsskgaFaYqF6ZgbDhYecTurp3CYYuFw5IhklAQTiwkq' +
  'O1h43e2MUuEExcKJ+ca6icXPcetiye3EUFxGsbisy3rP/XLro+kwZxcELI75fVp6+KynwmO3RRym8naXtDXdgrwrCjj8uG/168Z/' +
  'vxlYzYX7S/RKzvU+pxDltPjbXjgtvsAbusQbpQlScOxxwntj8QTF4okuVk2oNe2C2+Pw2RSHz47bt2+44kd/C/J4zgmwdyI/cM9Z' +
  'v4/LhuE7ekE+PDV/K3LC2+rwQxSHH+rCLcsopoPt59sb1h07Hadcz5HNuwyVMr1chkoXBpeh6mQsq6U1FEtrzsxq6S6Kpbti7KCj' +
  'AJtLLu2lWOo6/wFEihXFBO28APb2dlh6v5doCFL46vZR3w0FvafpNzWnBydoNL/5+oZM7OnLm5Jtkfn6uOQSjvTk7+1mqwlfODpO' +
  'NeFZpr1US7RKKC4J3oM13VRQXG6hOKDpHpM13TAMA8z65mRRQPFLvpWroCgHJiA1iMK2yyhiKKg1iALAdhJl+y62Uw6vYpJpq7Zi' +
  '28RiquG5hEHNJcwJ7oDiQ9RRHBWkbS7ZxqaIx69zItN0me3YHrYeAyTb9TEc9jFYCopHA5fhdW9s7TX3bYTZqqHClZBSYZlxklcL' +
  'klmLtO/Htp0vC1guUiwXwzuyGrzKwfQZ7BROMy+UGLtbKJZvac4X8Na04S2zbFMs275ehnQVJP4S2FpS+cfhkjqv8eVf+ULu0SLu' +
  'MJYf93+bCpaPYvlPNpbXaTqWv6Dpph08MHoySA6kq3VCpuSGw+c47o8BySXbZN128wJWJOooWMkF1NlN0j3+/PG+pu/c0ez1HXQW' +
  'mnRaVtLi2CoKxYqClfM0fcrjxqZNTDuq6Bh/cSscZ06Ddm+Ylw+VXR2MVZ6JYazySpSxyjtNxkZIi7FTkzVyTjxZEY5GPsOnSFiC' +
  'bafcUrlzwS1wI+tDcKYg8NI66v9sq7cEpab4aWIqzQ0gqMPlIebgVh+VYVRgIJnlU5oCjvw9mBNH/oHi2/zxxVJx5F2+FhzxeP3Z' +
  'RMXFWU53IKj5ghGApgB8wXlgNgWmL7gCppuCaV+wBma44OcfzjHjC26CWS449OEcs75gA5I+l6B4jqb7100VF9tIpJYowLIDSa0l' +
  'CtDsRwItUYDnEJImICQBomeQTLdEAaZjSGZaIo4qbAktzhd/4POD4lHbh95SVMsdCo8rIKS0elHrHzK+Ec2v+Or1FKvXNyseq+D4' +
  'FFgqVu8IaD/UpL26KaD9UEj7fHDVB2KSuXqgmczTVt23Cuofq4exXNF0rP7ZbnmcBcmJePw31JwOjzy4Co6mwhbNqeXhjTgcXRpk' +
  'mUOmZNmFJQ4p4uiKGGSjaymOrvVXjqPY7In83z/ejCxLbYDkNAjhpncH40GqEw7xZsOzCEjEY54PQN2+zW82H/wf',
);

/** Constructor `flags` (PositionLens.sol). */
export const POSITION_LENS_FLAGS = { user: 1n, gracePeriod: 2n, virtualAccounting: 4n, stableDebt: 8n, liquidEMode: 16n } as const;
/** Reserves per market call: the returned bytes stay under EIP-170's 24,576 (nodes apply it to eth_call creations). */
export const POSITION_LENS_MAX_RESERVES_PER_CALL = 72;
export const POSITION_LENS_MARKET_HEADER_WORDS = 6;
export const POSITION_LENS_WORDS_PER_RESERVE = 10;
export const POSITION_LENS_USER_HEADER_WORDS = 7;
export const POSITION_LENS_WORDS_PER_ENTRY = 7;

const ADDRESS_LIMIT = 1n << 160n;

function word(value: bigint): string {
  return value.toString(16).padStart(64, '0');
}

/**
 * The eth_call data: creation code, then the constructor's `(address pool, address user, uint256 flags, uint256
 * firstReserve)`, written out (four static words).
 */
export function encodePositionLensCall(pool: string, user: string, flags: bigint, firstReserve: number): string {
  return POSITION_LENS_CREATION_BYTECODE + word(BigInt(getAddress(pool))) + word(BigInt(getAddress(user))) + word(flags) + word(BigInt(firstReserve));
}

/** The words of an ABI-encoded `uint256[]`, refusing anything else. */
class LensWords {
  private readonly hex: string;
  readonly count: number;

  constructor(
    result: string,
    private readonly what: string,
  ) {
    if (!/^0x(?:[0-9a-fA-F]{64})*$/.test(result)) {
      throw new Error(`${what} returned ${result.length > 66 ? `${result.slice(0, 66)}…` : JSON.stringify(result)}, not whole 32-byte words`);
    }
    this.hex = result.slice(2);
    const available = this.hex.length / 64;
    if (available < 2) throw new Error(`${what} returned ${available} words, too short for an ABI-encoded uint256[]`);
    const offset = this.raw(0);
    if (offset !== 32n) throw new Error(`${what} returned an array at offset ${offset} (expected 32)`);
    const length = this.raw(1);
    if (length !== BigInt(available - 2)) throw new Error(`${what} declared ${length} words but returned ${available - 2}`);
    this.count = available - 2;
  }

  private raw(index: number): bigint {
    return BigInt(`0x${this.hex.slice(index * 64, index * 64 + 64)}`);
  }

  at(index: number): bigint {
    return this.raw(index + 2);
  }

  /** Word `index`, refused when it is `bits` wide or wider. */
  bounded(index: number, bits: number, name: string): bigint {
    const value = this.at(index);
    if (value >> BigInt(bits) !== 0n) throw new Error(`${this.what} word ${index} (${name}) does not fit ${bits} bits: 0x${value.toString(16)}`);
    return value;
  }

  address(index: number, name: string): string {
    return addressOf(this.bounded(index, 160, name));
  }
}

function addressOf(value: bigint): string {
  return getAddress(`0x${value.toString(16).padStart(40, '0')}`);
}

/** One reserve as the market call reads it (raw: the reader turns the configuration into its fields). */
export interface LensReserve {
  asset: string;
  id: number;
  /** 0 when the call did not read it (no grace periods on the Pool). */
  liquidationGracePeriodUntil: bigint;
  configuration: bigint;
  aToken: string;
  stableDebtToken: string;
  variableDebtToken: string;
  priceBase8: bigint;
  liquidityIndexRay: bigint;
  variableBorrowIndexRay: bigint;
  /** The underlying the aToken holds. */
  heldUnits: bigint;
  /** getVirtualUnderlyingBalance; 0 when the call did not read it (no virtual accounting). */
  virtualUnits: bigint;
}

export interface LensMarket {
  blockTimestampSec: bigint;
  oracle: string;
  priceOracleSentinel: 'none' | 'allows-liquidation' | 'blocks-liquidation';
  /** Every reserve of the Pool (getReservesList length), of which this call read `reserves` from `firstReserve`. */
  reserveCount: number;
  firstReserve: number;
  reserves: LensReserve[];
}

const SENTINEL: Record<string, LensMarket['priceOracleSentinel']> = { '0': 'none', '1': 'allows-liquidation', '2': 'blocks-liquidation' };

/** Decodes a market call's result (layout in PositionLens.sol). */
export function decodePositionLensMarket(result: string): LensMarket {
  const words = new LensWords(result, 'position lens (market)');
  const header = POSITION_LENS_MARKET_HEADER_WORDS;
  if (words.count < header) throw new Error(`position lens (market) returned ${words.count} words, fewer than its ${header}-word header`);
  const sentinel = SENTINEL[words.at(2).toString()];
  if (!sentinel) throw new Error(`position lens (market) word 2 (sentinel) is ${words.at(2)}, not 0, 1 or 2`);
  const total = words.bounded(3, 16, 'reserve count');
  const first = words.bounded(4, 16, 'first reserve');
  const count = words.bounded(5, 16, 'reserves read');
  const expectedCount = first >= total ? 0n : total - first < BigInt(POSITION_LENS_MAX_RESERVES_PER_CALL) ? total - first : BigInt(POSITION_LENS_MAX_RESERVES_PER_CALL);
  if (count !== expectedCount) throw new Error(`position lens (market) read ${count} reserves from ${first} of ${total} (expected ${expectedCount})`);
  const expectedWords = BigInt(header) + count * BigInt(POSITION_LENS_WORDS_PER_RESERVE);
  if (BigInt(words.count) !== expectedWords) throw new Error(`position lens (market) returned ${words.count} words for ${count} reserves (expected ${expectedWords})`);
  const reserves: LensReserve[] = [];
  for (let i = 0; i < Number(count); i++) {
    const o = header + i * POSITION_LENS_WORDS_PER_RESERVE;
    const name = (field: string) => `${field} of reserve ${Number(first) + i}`;
    // asset | id << 160 | grace period << 176.
    const packed = words.bounded(o, 216, name('asset, id and grace period'));
    reserves.push({
      asset: addressOf(packed & (ADDRESS_LIMIT - 1n)),
      id: Number((packed >> 160n) & 0xffffn),
      liquidationGracePeriodUntil: packed >> 176n,
      configuration: words.at(o + 1),
      aToken: words.address(o + 2, name('aToken')),
      stableDebtToken: words.address(o + 3, name('stable debt token')),
      variableDebtToken: words.address(o + 4, name('variable debt token')),
      priceBase8: words.at(o + 5),
      liquidityIndexRay: words.at(o + 6),
      variableBorrowIndexRay: words.at(o + 7),
      heldUnits: words.at(o + 8),
      virtualUnits: words.bounded(o + 9, 128, name('virtual balance')),
    });
  }
  return {
    blockTimestampSec: words.at(0),
    oracle: words.address(1, 'oracle'),
    priceOracleSentinel: sentinel,
    reserveCount: Number(total),
    firstReserve: Number(first),
    reserves,
  };
}

/** One reserve the user holds or owes anything of. */
export interface LensUserEntry {
  /** Index in getReservesList. */
  index: number;
  asset: string;
  collateralUnits: bigint;
  scaledCollateral: bigint;
  variableDebtUnits: bigint;
  scaledVariableDebt: bigint;
  stableDebtUnits: bigint;
}

export interface LensUser {
  userConfiguration: bigint;
  /** 0 = none; the category words are 0 then. */
  eModeCategory: number;
  categoryLiquidationThresholdBps: bigint;
  categoryLiquidationBonusBps: bigint;
  /** Liquid eMode (3.2+): the category's collateral bitmap; else the category's price source as a number. */
  categoryBitmapOrPriceSource: bigint;
  /** AaveOracle.getAssetPrice(price source); 0 without a source. */
  categorySourcePriceBase8: bigint;
  reserveCount: number;
  entries: LensUserEntry[];
}

/** Decodes a user call's result (layout in PositionLens.sol). */
export function decodePositionLensUser(result: string): LensUser {
  const words = new LensWords(result, 'position lens (user)');
  const header = POSITION_LENS_USER_HEADER_WORDS;
  if (words.count < header) throw new Error(`position lens (user) returned ${words.count} words, fewer than its ${header}-word header`);
  if ((words.count - header) % POSITION_LENS_WORDS_PER_ENTRY !== 0) {
    throw new Error(`position lens (user) returned ${words.count - header} entry words, not a multiple of ${POSITION_LENS_WORDS_PER_ENTRY}`);
  }
  const category = words.bounded(1, 8, 'eMode category');
  const total = Number(words.bounded(6, 16, 'reserve count'));
  const entries: LensUserEntry[] = [];
  for (let o = header; o < words.count; o += POSITION_LENS_WORDS_PER_ENTRY) {
    const index = Number(words.bounded(o, 16, 'entry index'));
    if (index >= total) throw new Error(`position lens (user) entry for reserve ${index} of ${total}`);
    const previous = entries.at(-1);
    if (previous && index <= previous.index) throw new Error(`position lens (user) entry for reserve ${index} after reserve ${previous.index}`);
    entries.push({
      index,
      asset: words.address(o + 1, `asset of reserve ${index}`),
      collateralUnits: words.at(o + 2),
      scaledCollateral: words.at(o + 3),
      variableDebtUnits: words.at(o + 4),
      scaledVariableDebt: words.at(o + 5),
      stableDebtUnits: words.at(o + 6),
    });
  }
  if (category === 0n && [2, 3, 4, 5].some((i) => words.at(i) !== 0n)) throw new Error('position lens (user) has eMode category words without a category');
  return {
    userConfiguration: words.at(0),
    eModeCategory: Number(category),
    categoryLiquidationThresholdBps: words.bounded(2, 16, 'category liquidation threshold'),
    categoryLiquidationBonusBps: words.bounded(3, 16, 'category liquidation bonus'),
    categoryBitmapOrPriceSource: words.at(4),
    categorySourcePriceBase8: words.at(5),
    reserveCount: total,
    entries,
  };
}
