/**
 * Start-up validation against the chain, after the chain id (functions/adapters/chain/rpc.ts): a configuration
 * that names the wrong contracts fails the function's start with every problem named by its variable, instead of
 * reading nonsense or sending transactions that revert.
 *
 * - code at every configured address (Pool, addresses provider, oracle, data provider, the gas token's reserve,
 *   the swap quoter and router, our liquidator contract);
 * - the Pool's POOL_REVISION() against AAVE_POOL_VERSION (functions/config/pool-revision-check.ts);
 * - the Pool's ADDRESSES_PROVIDER() and the provider's getPriceOracle() against the configured (or preset) ones;
 * - every signer is an authorised caller of our liquidator contract (`isCaller`: its owner or one it authorised);
 *   the contract refuses every other caller;
 * - signer balances: a signer without gas money is reported as a warning (a dry run needs none, and a refill
 *   needs no restart), not refused.
 *
 * Node errors propagate as the adapter classified them: the start fails and the next invocation tries again.
 */
import type { PoolVersionProfile } from '../domain';
import { ConfigError, type PipelineConfig } from './pipeline-config';
import { assertPoolRevision } from './pool-revision-check';

/** Thrown by a StartupChain read the contract reverted (it does not have that function): a wrong address. */
export class ContractRefusedCall extends Error {
  constructor(
    readonly address: string,
    readonly signature: string,
  ) {
    super(`the contract at ${address} does not answer ${signature}`);
    this.name = 'ContractRefusedCall';
  }
}

/** The reads the check needs, at the latest block; a reverted call throws ContractRefusedCall. */
export interface StartupChain {
  /** `eth_getCode`: '0x' where no contract is. */
  codeAt(address: string): Promise<string>;
  poolRevision(pool: string): Promise<bigint>;
  poolAddressesProvider(pool: string): Promise<string>;
  priceOracle(addressesProvider: string): Promise<string>;
  /** Our liquidator contract's `isCaller(account)`: the owner and the callers it authorised may liquidate. */
  isCaller(contract: string, account: string): Promise<boolean>;
  balanceOf(address: string): Promise<bigint>;
}

export interface StartupExpectations {
  chainId: number;
  pool: string;
  poolVersion: PoolVersionProfile;
  /** Each present entry is checked; the variable names the config field it came from. */
  addressesProvider?: string;
  oracle?: string;
  dataProvider?: string;
  nativePriceAsset?: string;
  quoter?: string;
  router?: string;
  /** Our liquidator contract, with the variable its address came from (LIQUIDATOR_ADDRESS or its parameter). */
  liquidator?: { address: string; source: string };
  /** The signers' addresses: each must be an authorised caller of the liquidator contract; each balance is read. */
  signers?: readonly string[];
  /**
   * `refuse` (the worker): a signer the contract does not authorise fails the start, since its every liquidation
   * would revert. `warn` (the trigger, which authorises signers): reported only, so the operator can still fix it.
   */
  unauthorisedSigners?: 'refuse' | 'warn';
  dryRun?: boolean;
}

export interface StartupReport {
  poolRevision: bigint;
  /** Problems that do not stop the function (a signer without gas money), for a warning log and metric. */
  warnings: string[];
  /** Native token balance per signer, wei. */
  signerBalances: Record<string, bigint>;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const hasCode = (code: string) => code !== '0x' && code !== '0x0' && code !== '';

/** Runs every check; throws one ConfigError listing every problem, each naming its variable. */
export async function checkStartup(expect: StartupExpectations, chain: StartupChain): Promise<StartupReport> {
  const problems: string[] = [];
  const where = `on chain ${expect.chainId}`;
  const coded: [string, string | undefined][] = [
    ['POOL_ADDRESS', expect.pool],
    ['ADDRESSES_PROVIDER_ADDRESS', expect.addressesProvider],
    ['PRICE_ORACLE_ADDRESS', expect.oracle],
    ['DATA_PROVIDER_ADDRESS', expect.dataProvider],
    ['NATIVE_PRICE_ASSET', expect.nativePriceAsset],
    ['SWAP_QUOTER_ADDRESS', expect.quoter],
    ['SWAP_ROUTER_ADDRESS', expect.router],
    [expect.liquidator?.source ?? 'LIQUIDATOR_ADDRESS', expect.liquidator?.address],
  ];
  const present = coded.filter((entry): entry is [string, string] => entry[1] !== undefined);
  const codes = await Promise.all(present.map(([, address]) => chain.codeAt(address)));
  const missing = new Set<string>();
  present.forEach(([variable, address], i) => {
    if (hasCode(codes[i])) return;
    missing.add(variable);
    problems.push(`${variable}: no contract at ${address} ${where}`);
  });
  if (missing.has('POOL_ADDRESS')) throw new ConfigError(problems);

  /** The read's answer, or undefined with the problem named by `variable` when the contract refused the call. */
  const answer = async <T>(variable: string, read: Promise<T>): Promise<T | undefined> => {
    try {
      return await read;
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems);
      else if (err instanceof ContractRefusedCall) problems.push(`${variable}: ${err.message}`);
      else throw err;
      return undefined;
    }
  };
  const [revision, provider] = await Promise.all([
    answer('POOL_ADDRESS', assertPoolRevision({ pool: expect.pool, poolVersion: expect.poolVersion }, (pool) => chain.poolRevision(pool))),
    answer('POOL_ADDRESS', chain.poolAddressesProvider(expect.pool)),
  ]);
  if (provider !== undefined && expect.addressesProvider !== undefined && !same(provider, expect.addressesProvider)) {
    problems.push(`ADDRESSES_PROVIDER_ADDRESS: the Pool at ${expect.pool} reports ADDRESSES_PROVIDER() ${provider}, not ${expect.addressesProvider}`);
  }
  if (provider !== undefined && expect.oracle !== undefined && !missing.has('PRICE_ORACLE_ADDRESS')) {
    const oracle = await answer('PRICE_ORACLE_ADDRESS', chain.priceOracle(provider));
    if (oracle !== undefined && !same(oracle, expect.oracle)) {
      problems.push(`PRICE_ORACLE_ADDRESS: the market's addresses provider ${provider} reports getPriceOracle() ${oracle}, not ${expect.oracle}`);
    }
  }

  const signers = expect.signers ?? [];
  const liquidator = expect.liquidator;
  const warnings: string[] = [];
  if (liquidator && !missing.has(liquidator.source) && signers.length > 0) {
    const allowed = await Promise.all(signers.map((s) => answer(liquidator.source, chain.isCaller(liquidator.address, s))));
    const refused = signers.filter((_, i) => allowed[i] === false);
    if (refused.length > 0) {
      const text = `${liquidator.source}: the liquidator contract at ${liquidator.address} does not authorise signer ${refused.join(', ')} (isCaller false): its liquidations would revert; authorise it (setCaller, by the contract's owner)`;
      if (expect.unauthorisedSigners === 'warn') warnings.push(text);
      else problems.push(text);
    }
  }
  if (problems.length > 0 || revision === undefined) throw new ConfigError(problems);

  const balances = await Promise.all(signers.map((s) => chain.balanceOf(s)));
  const signerBalances = Object.fromEntries(signers.map((s, i) => [s, balances[i]]));
  if (!expect.dryRun) warnings.push(...signers.filter((_, i) => balances[i] === 0n).map((s) => `signer ${s} holds no native token ${where}: it cannot pay gas`));
  return { poolRevision: revision, warnings, signerBalances };
}

/** What every function checks: the Pool, its version and the market's contracts as configured. */
export function marketExpectations(config: Pick<PipelineConfig, 'chainId' | 'pool' | 'poolVersion' | 'marketContracts'>): StartupExpectations {
  return { chainId: config.chainId, pool: config.pool, poolVersion: config.poolVersion, ...config.marketContracts };
}

/**
 * Runs the check on a provider that is already open; on a refusal the provider is closed (by `close`) before the
 * error propagates, so a failed start leaves no connection behind.
 */
export async function checkStartupOrClose(expect: StartupExpectations, chain: StartupChain, close: () => void): Promise<StartupReport> {
  try {
    return await checkStartup(expect, chain);
  } catch (err) {
    close();
    throw err;
  }
}
