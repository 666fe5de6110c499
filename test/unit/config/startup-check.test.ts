import { ConfigError } from '../../../functions/config/pipeline-config';
import { checkStartup, ContractRefusedCall, type StartupChain, type StartupExpectations } from '../../../functions/config/startup-check';
import { poolVersionProfile } from '../../../functions/domain';

const POOL = '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2';
const PROVIDER = '0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e';
const ORACLE = '0x54586bE62E3c3580375aE3723C145253060Ca0C2';
const DATA_PROVIDER = '0x0a16f2FCC0D44FaE41cc54e079281D84A363bECD';
const WETH = '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2';
const QUOTER = '0x61fFE014bA17989E743c5F6cB21bF9697530B21e';
const ROUTER = '0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45';
const LIQUIDATOR = '0x1111111111111111111111111111111111111111';
const SIGNER_A = '0xaAaAaAaaAaAaAaaAaAAAAAAAAaaaAaAaAaaAaaAa';
const SIGNER_B = '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB';

/** A chain of the Ethereum core market as the address book describes it; `change` breaks one thing. */
function chain(change: Partial<{ noCode: string[]; revision: bigint; provider: string; oracle: string; unauthorised: string[]; balance: bigint; refuse: string; fail: Error }> = {}): StartupChain & { reads: string[] } {
  const reads: string[] = [];
  const guard = async <T>(what: string, address: string, value: T): Promise<T> => {
    reads.push(`${what} ${address}`);
    if (change.fail) throw change.fail;
    if (change.refuse === what) throw new ContractRefusedCall(address, `${what}()`);
    return value;
  };
  return {
    reads,
    codeAt: (address) => guard('code', address, change.noCode?.some((a) => a.toLowerCase() === address.toLowerCase()) ? '0x' : '0x6080'),
    poolRevision: (pool) => guard('POOL_REVISION', pool, change.revision ?? 10n),
    poolAddressesProvider: (pool) => guard('ADDRESSES_PROVIDER', pool, change.provider ?? PROVIDER.toLowerCase()),
    priceOracle: (provider) => guard('getPriceOracle', provider, change.oracle ?? ORACLE),
    isCaller: (contract, account) => guard('isCaller', `${contract} ${account}`, !change.unauthorised?.includes(account)),
    balanceOf: (address) => guard('balance', address, change.balance ?? 10n ** 18n),
  };
}

const WORKER: StartupExpectations = {
  chainId: 1,
  pool: POOL,
  poolVersion: poolVersionProfile('3.6'),
  addressesProvider: PROVIDER,
  oracle: ORACLE,
  dataProvider: DATA_PROVIDER,
  nativePriceAsset: WETH,
  quoter: QUOTER,
  router: ROUTER,
  liquidator: { address: LIQUIDATOR, source: 'LIQUIDATOR_ADDRESS' },
  signers: [SIGNER_A, SIGNER_B],
};

async function problemsOf(run: Promise<unknown>): Promise<string[]> {
  const error = await run.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).problems;
}

describe('checkStartup', () => {
  it('passes a consistent market, comparing addresses without regard to case, and reports revision and balances', async () => {
    const c = chain();
    const report = await checkStartup(WORKER, c);
    expect(report).toEqual({ poolRevision: 10n, warnings: [], signerBalances: { [SIGNER_A]: 10n ** 18n, [SIGNER_B]: 10n ** 18n } });
    // Code at every configured address, the owner of the liquidator, the oracle of the Pool's own provider.
    for (const address of [POOL, PROVIDER, ORACLE, DATA_PROVIDER, WETH, QUOTER, ROUTER, LIQUIDATOR]) expect(c.reads).toContain(`code ${address}`);
    expect(c.reads).toEqual(expect.arrayContaining([`isCaller ${LIQUIDATOR} ${SIGNER_A}`, `isCaller ${LIQUIDATOR} ${SIGNER_B}`]));
    expect(c.reads).toContain(`getPriceOracle ${PROVIDER.toLowerCase()}`);
  });

  it('checks only what is configured (the scanner: Pool and version)', async () => {
    const c = chain();
    await expect(checkStartup({ chainId: 1, pool: POOL, poolVersion: poolVersionProfile('3.6') }, c)).resolves.toMatchObject({ poolRevision: 10n });
    expect(c.reads.filter((r) => r.startsWith('code'))).toEqual([`code ${POOL}`]);
    expect(c.reads.some((r) => r.startsWith('isCaller') || r.startsWith('getPriceOracle') || r.startsWith('balance'))).toBe(false);
  });

  it('refuses a Pool address without code, naming POOL_ADDRESS and the chain, before reading anything from it', async () => {
    const c = chain({ noCode: [POOL] });
    expect(await problemsOf(checkStartup(WORKER, c))).toEqual([`POOL_ADDRESS: no contract at ${POOL} on chain 1`]);
    expect(c.reads.some((r) => r.startsWith('POOL_REVISION'))).toBe(false);
  });

  it('lists every address without code, each by its variable', async () => {
    const problems = await problemsOf(checkStartup(WORKER, chain({ noCode: [QUOTER, DATA_PROVIDER, LIQUIDATOR] })));
    expect(problems).toEqual([
      `DATA_PROVIDER_ADDRESS: no contract at ${DATA_PROVIDER} on chain 1`,
      `SWAP_QUOTER_ADDRESS: no contract at ${QUOTER} on chain 1`,
      `LIQUIDATOR_ADDRESS: no contract at ${LIQUIDATOR} on chain 1`,
    ]);
  });

  it('refuses a Pool of another version, naming AAVE_POOL_VERSION', async () => {
    expect(await problemsOf(checkStartup(WORKER, chain({ revision: 9n })))).toEqual([`AAVE_POOL_VERSION: 3.6 expects POOL_REVISION() 10, but the Pool at ${POOL} reports 9 (a 3.5 Pool)`]);
  });

  it('refuses a Pool of another market (its addresses provider differs), and an oracle that is not the market\'s', async () => {
    const other = '0x0000000000000000000000000000000000000abc';
    expect(await problemsOf(checkStartup(WORKER, chain({ provider: other })))).toEqual([
      `ADDRESSES_PROVIDER_ADDRESS: the Pool at ${POOL} reports ADDRESSES_PROVIDER() ${other}, not ${PROVIDER}`,
    ]);
    expect(await problemsOf(checkStartup(WORKER, chain({ oracle: other })))).toEqual([
      `PRICE_ORACLE_ADDRESS: the market's addresses provider ${PROVIDER.toLowerCase()} reports getPriceOracle() ${other}, not ${ORACLE}`,
    ]);
  });

  it('refuses a contract that is not an Aave Pool, naming POOL_ADDRESS', async () => {
    expect(await problemsOf(checkStartup(WORKER, chain({ refuse: 'POOL_REVISION' })))).toEqual([`POOL_ADDRESS: the contract at ${POOL} does not answer POOL_REVISION()`]);
  });

  it('refuses a signer the liquidator contract does not authorise (the worker), naming where the contract\'s address came from', async () => {
    const problems = await problemsOf(checkStartup({ ...WORKER, liquidator: { address: LIQUIDATOR, source: 'LIQUIDATOR_ADDRESS_PARAMETER' } }, chain({ unauthorised: [SIGNER_B] })));
    expect(problems).toEqual([
      `LIQUIDATOR_ADDRESS_PARAMETER: the liquidator contract at ${LIQUIDATOR} does not authorise signer ${SIGNER_B} (isCaller false): its liquidations would revert; authorise it (setCaller, by the contract's owner)`,
    ]);
  });

  it('only warns about an unauthorised signer where the operator authorises signers (the trigger)', async () => {
    const report = await checkStartup({ ...WORKER, unauthorisedSigners: 'warn' }, chain({ unauthorised: [SIGNER_A] }));
    expect(report.warnings).toEqual([expect.stringContaining(`does not authorise signer ${SIGNER_A} (isCaller false)`)]);
  });

  it('warns, without refusing, about a signer without gas money, unless the run is dry', async () => {
    await expect(checkStartup(WORKER, chain({ balance: 0n }))).resolves.toMatchObject({
      warnings: [`signer ${SIGNER_A} holds no native token on chain 1: it cannot pay gas`, `signer ${SIGNER_B} holds no native token on chain 1: it cannot pay gas`],
    });
    await expect(checkStartup({ ...WORKER, dryRun: true }, chain({ balance: 0n }))).resolves.toMatchObject({ warnings: [] });
  });

  it('lets node trouble through as it is (the start fails and is tried again), not as a configuration problem', async () => {
    const trouble = new Error('header not found');
    await expect(checkStartup(WORKER, chain({ fail: trouble }))).rejects.toBe(trouble);
  });
});
