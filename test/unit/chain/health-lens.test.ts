import { AbiCoder, Interface } from 'ethers';
import { HEALTH_LENS_RUNTIME_BYTECODE, HEALTH_LENS_SELECTOR } from '../../../functions/adapters/chain/health-lens';
import { decodeLensResult, encodeLensCall } from '../../../functions/adapters/chain/health-scan';
import { loadArtifact } from '../../../local/world/artifacts';

const POOL = '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2';
const USERS = ['0x1111111111111111111111111111111111111111', '0xabcdef0000000000000000000000000000000001'];

describe('health lens', () => {
  it('embeds exactly the runtime bytecode of a fresh compile of contracts/src/HealthLens.sol', () => {
    expect(HEALTH_LENS_RUNTIME_BYTECODE).toBe(loadArtifact('own', 'HealthLens').deployedBytecode);
  });

  it('encodes accountData(pool, users) as the ABI coder does', () => {
    const lens = new Interface(loadArtifact('own', 'HealthLens').abi as string[]);
    expect(encodeLensCall(POOL, USERS)).toBe(lens.encodeFunctionData('accountData', [POOL, USERS]));
    expect(HEALTH_LENS_SELECTOR).toBe(lens.getFunction('accountData')!.selector);
  });

  it('decodes seven words per user in request order', () => {
    const words = [1n, 2n, 3n, 8250n, 8000n, 10n ** 18n, 0b10n, 7n, 0n, 0n, 0n, 0n, 2n ** 256n - 1n, 0n];
    const encoded = AbiCoder.defaultAbiCoder().encode(['uint256[]'], [words]);
    expect(decodeLensResult(USERS, encoded)).toEqual([
      { user: USERS[0], totalCollateralBase: 1n, totalDebtBase: 2n, availableBorrowsBase: 3n, currentLiquidationThresholdBps: 8250n, ltvBps: 8000n, healthFactorWad: 10n ** 18n, userConfiguration: 0b10n },
      { user: USERS[1], totalCollateralBase: 7n, totalDebtBase: 0n, availableBorrowsBase: 0n, currentLiquidationThresholdBps: 0n, ltvBps: 0n, healthFactorWad: 2n ** 256n - 1n, userConfiguration: 0n },
    ]);
  });

  it('refuses a result whose length does not match the request', () => {
    const encoded = AbiCoder.defaultAbiCoder().encode(['uint256[]'], [[1n, 2n, 3n, 4n, 5n, 6n, 7n]]);
    expect(() => decodeLensResult(USERS, encoded)).toThrow('health lens returned 7 words for 2 accounts (expected 14)');
  });
});
