import {
  aTokenBalanceUnits,
  aTokenScaledOutflow,
  findReserve,
  RAY,
  ruleSetForPoolVersion,
  type RuleSet,
  variableDebtBalanceUnits,
  variableDebtScaledBurn,
  withPoolBalances,
} from '../../../functions/domain';
import { ASSETS, position, reserve, usd } from './fixtures';

// Index 1.05 (ray). 10 scaled × 1.05 = 10.5 → half up 11 (pre-3.5); from 3.5 floor 10 for aTokens, ceil 11 for debt.
// Amounts → scaled: 22 / 1.05 = 20.95 → half up 21 (pre-3.5), ceil 21 (aToken outflow), floor 20 (debt burn);
// 1 / 1.05 = 0.95 → 1, 1, 0 (a v3.5 debt burn of 1 unit reverts); 21 / 1.05 = 20 exactly.
const INDEX = 105n * 10n ** 25n;

describe('token-balance: scaled ↔ amount rounding per rule set (AToken / VariableDebtToken / TokenMath)', () => {
  it.each<[RuleSet, bigint, bigint]>([
    ['v3.0', 11n, 11n],
    ['v3.3', 11n, 11n],
    ['v3.5', 10n, 11n],
  ])('%s balances of 10 scaled at index 1.05: aToken %d, debt %d', (ruleSet, aToken, debt) => {
    expect(aTokenBalanceUnits(ruleSet, 10n, INDEX)).toBe(aToken);
    expect(variableDebtBalanceUnits(ruleSet, 10n, INDEX)).toBe(debt);
  });

  it.each<[RuleSet, bigint, bigint, bigint]>([
    // amount → scaled: aToken outflow, debt burn
    ['v3.0', 22n, 21n, 21n],
    ['v3.5', 22n, 21n, 20n],
    ['v3.0', 1n, 1n, 1n],
    ['v3.5', 1n, 1n, 0n],
    ['v3.5', 21n, 20n, 20n],
  ])('%s: %d units → aToken scaled %d, debt scaled %d', (ruleSet, amount, aTokenScaled, debtScaled) => {
    expect(aTokenScaledOutflow(ruleSet, amount, INDEX)).toBe(aTokenScaled);
    expect(variableDebtScaledBurn(ruleSet, amount, INDEX)).toBe(debtScaled);
  });

  it('index 1 (RAY) is the identity', () => {
    expect(aTokenBalanceUnits('v3.5', 123n, RAY)).toBe(123n);
    expect(variableDebtScaledBurn('v3.0', 123n, RAY)).toBe(123n);
  });
});

describe('withPoolBalances: the balances LiquidationLogic and GenericLogic compute from scaled balances', () => {
  // WETH 10 scaled at liquidity index 1.05, USDC 10 scaled at borrow index 1.05: v3.5 aToken 10 (floor), debt 11 (ceil);
  // v3.0/3.3 both 11 (half up). The balances given below (12 and 9) stand for reads from another state.
  const read = (ruleSet: RuleSet, wethUnits: bigint, usdcUnits: bigint) =>
    position(ruleSet, [
      reserve('WETH', { priceBase8: usd(1000), collateralBalanceUnits: wethUnits, scaled: { scaledATokenBalance: 10n, liquidityIndexRay: INDEX, scaledVariableDebt: 0n, variableBorrowIndexRay: INDEX } }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: usdcUnits, scaled: { scaledATokenBalance: 0n, liquidityIndexRay: INDEX, scaledVariableDebt: 10n, variableBorrowIndexRay: INDEX } }),
      reserve('DAI', { priceBase8: usd(1), debtBalanceUnits: 5n }),
    ]);
  const balances = (pos: ReturnType<typeof read>) => pos.reserves.map((r) => [r.collateralBalanceUnits, r.debtBalanceUnits]);

  it.each<[RuleSet, bigint, bigint]>([
    ['v3.5', 10n, 11n],
    ['v3.3', 11n, 11n],
    ['v3.0', 11n, 11n],
  ])('%s: a consistent position comes back as the same object', (ruleSet, weth, usdc) => {
    const pos = read(ruleSet, weth, usdc);
    expect(withPoolBalances(pos)).toBe(pos);
  });

  it.each<[RuleSet, bigint[][]]>([
    ['v3.5', [[10n, 0n], [0n, 11n], [0n, 5n]]],
    ['v3.3', [[11n, 0n], [0n, 11n], [0n, 5n]]],
    // V3.0 debt includes stable debt, which has no scaled form: kept as given.
    ['v3.0', [[11n, 0n], [0n, 9n], [0n, 5n]]],
  ])('%s: balances read from another state are replaced by scaled × index', (ruleSet, expected) => {
    expect(balances(withPoolBalances(read(ruleSet, 12n, 9n)))).toEqual(expected);
  });
});

describe('position helpers', () => {
  it.each<[string, RuleSet]>([
    ['3.0.2', 'v3.0'],
    ['v3.2', 'v3.0'],
    ['3.3', 'v3.3'],
    ['v3.4', 'v3.3'],
    ['3.5', 'v3.5'],
    ['v3.6', 'v3.5'],
  ])('pool version %s → rule set %s', (version, ruleSet) => {
    expect(ruleSetForPoolVersion(version)).toBe(ruleSet);
  });

  it.each(['v4.0', '3.7', '2.0'])('rejects version %s, which it has no rules for', (version) => {
    expect(() => ruleSetForPoolVersion(version)).toThrow(`Aave Pool version ${version} is not supported: supported are 3.0.x, 3.1, 3.2, 3.3, 3.4, 3.5 or 3.6`);
  });

  it('finds reserves whatever the address case', () => {
    const pos = position('v3.5', [reserve('WETH', { priceBase8: usd(1000), asset: '0xAbCdEf0000000000000000000000000000000002' })]);
    expect(findReserve(pos, '0xabcdef0000000000000000000000000000000002')?.asset).toBe('0xAbCdEf0000000000000000000000000000000002');
    expect(findReserve(pos, ASSETS.USDC.asset)).toBeUndefined();
  });
});
