/**
 * The keeper's view of contracts/src/Liquidator.sol against the compiled contract (contracts/out/own.json):
 * the hand-written LIQUIDATOR_ABI, the revert names and their classes, and the embedded creation bytecode the
 * operator deploys.
 */
import { AbiCoder, ErrorFragment, EventFragment, FunctionFragment, Interface, type InterfaceAbi, type ParamType } from 'ethers';
import { LIQUIDATOR_CREATION_BYTECODE } from '../../../functions/adapters/chain/liquidator-bytecode';
import { classifyRevert, decodeLiquidatorRevert, LIQUIDATOR_ABI } from '../../../functions/adapters/chain/liquidator-contract';
import type { RevertClass } from '../../../functions/ports/liquidator-contract';
import { loadArtifact } from '../../../local/world/artifacts';

const COMPILED = loadArtifact('own', 'Liquidator');
const COMPILED_IFACE = new Interface(COMPILED.abi as InterfaceAbi);
const KEEPER_IFACE = new Interface(LIQUIDATOR_ABI);

const TOKEN = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';
const USER = '0x1111111111111111111111111111111111111111';
/** Error(string), as `require(cond, 'message')` reverts. */
const errorString = (message: string) => `0x08c379a0${AbiCoder.defaultAbiCoder().encode(['string'], [message]).slice(2)}`;
const customError = (signature: string, args: unknown[] = []) => {
  const iface = new Interface([`error ${signature}`]);
  return iface.encodeErrorResult(iface.fragments[0] as ErrorFragment, args);
};

/** A value of each type the contract's errors take, and how decodeLiquidatorRevert prints it. */
function sampleOf(param: ParamType): { value: unknown; printed: string } {
  switch (param.type) {
    case 'address':
      return { value: TOKEN, printed: TOKEN };
    case 'uint256':
      return { value: 2n ** 255n + 7n, printed: (2n ** 255n + 7n).toString() };
    case 'int256':
      return { value: -12_345n, printed: '-12345' };
    default:
      throw new Error(`no sample for ${param.type}: add one`);
  }
}

describe('LIQUIDATOR_ABI against the compiled Liquidator', () => {
  const keeperFunctions = KEEPER_IFACE.fragments.filter((f): f is FunctionFragment => f.type === 'function');
  const keeperEvents = KEEPER_IFACE.fragments.filter((f): f is EventFragment => f.type === 'event');
  const keeperErrors = KEEPER_IFACE.fragments.filter((f): f is ErrorFragment => f.type === 'error');
  const compiledErrors = COMPILED_IFACE.fragments.filter((f): f is ErrorFragment => f.type === 'error');

  it.each(keeperFunctions.map((f) => [f.format('sighash'), f] as const))('function %s: same selector, outputs and mutability', (_name, fragment) => {
    const compiled = COMPILED_IFACE.getFunction(fragment.selector);
    expect(compiled?.format('sighash')).toBe(fragment.format('sighash'));
    expect(compiled!.outputs.map((o) => o.format('sighash'))).toEqual(fragment.outputs.map((o) => o.format('sighash')));
    expect(compiled!.stateMutability).toBe(fragment.stateMutability);
  });

  it.each(keeperEvents.map((e) => [e.format('sighash'), e] as const))('event %s: same topic and indexed inputs', (_name, fragment) => {
    const compiled = COMPILED_IFACE.getEvent(fragment.topicHash);
    expect(compiled?.topicHash).toBe(fragment.topicHash);
    // Human-readable fragments leave `indexed` null where the compiled ABI says false.
    const indexing = (inputs: readonly ParamType[]) => inputs.map((i) => [i.name, i.indexed === true]);
    expect(indexing(compiled!.inputs)).toEqual(indexing(fragment.inputs));
  });

  it.each(keeperErrors.map((e) => [e.format('sighash'), e] as const))('error %s: same selector', (_name, fragment) => {
    expect(COMPILED_IFACE.getError(fragment.selector)?.format('sighash')).toBe(fragment.format('sighash'));
  });

  it('includes the errors OpenZeppelin reverts with from inside the contract', () => {
    expect(compiledErrors.map((e) => e.format('sighash'))).toEqual(
      expect.arrayContaining(['SafeERC20FailedOperation(address)', 'SafeCastOverflowedUintToInt(uint256)']),
    );
  });

  it.each(compiledErrors.map((e) => [e.format('sighash'), e] as const))('compiled error %s is named by decodeLiquidatorRevert', (_name, fragment) => {
    const samples = fragment.inputs.map(sampleOf);
    const data = COMPILED_IFACE.encodeErrorResult(fragment, samples.map((s) => s.value));
    const expected = samples.length === 0 ? fragment.name : `${fragment.name}(${samples.map((s) => s.printed).join(', ')})`;
    expect(decodeLiquidatorRevert(data, 'fallback')).toBe(expected);
  });
});

describe('decodeLiquidatorRevert and classifyRevert', () => {
  const cases: [string, string | undefined, string, RevertClass][] = [
    // Ours.
    ['our profit guard', customError('ProfitBelowMinimum(int256,uint256)', [-3n, 10n]), 'ProfitBelowMinimum(-3, 10)', 'market-moved'],
    ['our profit guard, a gain short of the minimum', customError('ProfitBelowMinimum(int256,uint256)', [9n, 10n]), 'ProfitBelowMinimum(9, 10)', 'market-moved'],
    ['a path that does not lead from collateral to debt', customError('InvalidSwapPath()'), 'InvalidSwapPath', 'model'],
    ['a caller the contract does not know', customError('Unauthorized(address)', [USER]), `Unauthorized(${USER})`, 'model'],
    ['re-entry', customError('Reentrancy()'), 'Reentrancy', 'model'],
    ['a batch with no items', customError('EmptyBatch()'), 'EmptyBatch', 'model'],
    ['a batch item given too little gas (the gas limit is ours)', customError('ItemOutOfGas(uint256)', [3n]), 'ItemOutOfGas(3)', 'model'],
    ['a token that refused a transfer (OpenZeppelin SafeERC20)', customError('SafeERC20FailedOperation(address)', [TOKEN]), `SafeERC20FailedOperation(${TOKEN})`, 'model'],
    // SwapRouter02 (V3SwapRouter.exactInput): require(amountOut >= params.amountOutMinimum, 'Too little received').
    ['the swap bound', errorString('Too little received'), 'Too little received', 'market-moved'],
    // Aave V3.0 (@aave/core-v3 Errors.sol): numeric codes.
    ['V3.0: account recovered or already liquidated', errorString('45'), 'HEALTH_FACTOR_NOT_BELOW_THRESHOLD (45)', 'market-moved'],
    ['V3.0: collateral gone', errorString('46'), 'COLLATERAL_CANNOT_BE_LIQUIDATED (46)', 'market-moved'],
    ['V3.0: debt repaid meanwhile', errorString('47'), 'SPECIFIED_CURRENCY_NOT_BORROWED_BY_USER (47)', 'market-moved'],
    ['V3.0: a reserve paused', errorString('29'), 'RESERVE_PAUSED (29)', 'model'],
    // Aave v3.6 (aave-v3-origin Errors.sol): custom errors.
    ['v3.6: account recovered or already liquidated', customError('HealthFactorNotBelowThreshold()'), 'HealthFactorNotBelowThreshold', 'market-moved'],
    ['v3.6: a liquidation that would leave dust', customError('MustNotLeaveDust()'), 'MustNotLeaveDust', 'model'],
    // Nothing to decode.
    ['no revert data', undefined, 'execution reverted', 'model'],
    ['an unknown custom error', '0xdeadbeef', 'execution reverted (revert data 0xdeadbeef)', 'model'],
    ['an unknown Error(string)', errorString('STF'), 'STF', 'model'],
  ];

  it.each(cases)('%s', (_what, data, reason, revertClass) => {
    const decoded = decodeLiquidatorRevert(data, 'execution reverted');
    expect(decoded).toBe(reason);
    expect(classifyRevert(decoded)).toBe(revertClass);
  });
});

describe('embedded Liquidator creation bytecode', () => {
  it('is exactly the creation bytecode of a fresh compile of contracts/src/Liquidator.sol', () => {
    expect(COMPILED.linkReferences).toEqual({});
    expect(LIQUIDATOR_CREATION_BYTECODE).toBe(COMPILED.bytecode);
  });
});
