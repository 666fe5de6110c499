import { readFileSync } from 'node:fs';
import { AbiCoder, Interface } from 'ethers';
import { AAVE_CUSTOM_ERRORS, AAVE_V30_ERROR_CODES } from '../../../functions/adapters/chain/aave-errors';
import { decodeRevert } from '../../../functions/adapters/chain/aave-v3-liquidation-executor';

const V36_ERRORS = 'node_modules/@aave-dao/aave-v3-origin/src/contracts/protocol/libraries/helpers/Errors.sol';
const V30_ERRORS = 'node_modules/@aave/core-v3/contracts/protocol/libraries/helpers/Errors.sol';

describe('Aave revert reasons', () => {
  it('lists every custom error of the v3.6 Errors library', () => {
    const source = readFileSync(V36_ERRORS, 'utf8');
    const declared = [...source.matchAll(/^\s*error (\w+)\(/gm)].map((m) => m[1]);
    const listed = AAVE_CUSTOM_ERRORS.map((e) => /^error (\w+)\(/.exec(e)![1]);
    expect(listed.sort()).toEqual(declared.sort());
  });

  it('lists every numeric code of the V3.0 Errors library', () => {
    const source = readFileSync(V30_ERRORS, 'utf8');
    const declared = Object.fromEntries([...source.matchAll(/string public constant (\w+) = '(\d+)';/g)].map((m) => [m[2], m[1]]));
    expect(AAVE_V30_ERROR_CODES).toEqual(declared);
  });

  it('decodes a v3.6 custom error by name', () => {
    const data = new Interface(['error MustNotLeaveDust()']).encodeErrorResult('MustNotLeaveDust', []);
    expect(decodeRevert(data, 'fallback')).toBe('MustNotLeaveDust');
  });

  it('decodes a V3.0 string code to its constant name', () => {
    const data = '0x08c379a0' + AbiCoder.defaultAbiCoder().encode(['string'], ['45']).slice(2);
    expect(decodeRevert(data, 'fallback')).toBe('HEALTH_FACTOR_NOT_BELOW_THRESHOLD (45)');
  });

  it('falls back to the node message when there is no revert data', () => {
    expect(decodeRevert(undefined, 'execution reverted')).toBe('execution reverted');
  });
});
