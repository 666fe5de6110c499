import type { JsonRpcProvider } from 'ethers';
import { mapWithConcurrency } from '../concurrency';
import { classifyCallFailure, isRevert, NodeCallError } from './call-failure';
import { HEALTH_LENS_RUNTIME_BYTECODE, HEALTH_LENS_SELECTOR, HEALTH_LENS_WORDS_PER_USER, LENS_ADDRESS } from './health-lens';

/** One account as `Pool.getUserAccountData` reports it (base currency: USD, 8 decimals; thresholds in bps). */
export interface AccountHealth {
  user: string;
  totalCollateralBase: bigint;
  totalDebtBase: bigint;
  availableBorrowsBase: bigint;
  currentLiquidationThresholdBps: bigint;
  ltvBps: bigint;
  /** WAD (1e18 = 1.0); 2^256−1 when the account has no debt. */
  healthFactorWad: bigint;
  /**
   * Pool.getUserConfiguration bitmap: bit 2·id = borrowing reserve `id`, bit 2·id+1 = using it as collateral
   * (ids in getReservesList order). Lets the scanner tell which assets an account depends on.
   */
  userConfiguration: bigint;
}

/**
 * How accounts are read:
 * - `lens-override`: one eth_call per chunk to the HealthLens placed by a state override (no deployment);
 * - `per-account`: one `getUserAccountData` eth_call per account, `concurrency` in flight. The fallback for
 *   nodes that refuse state overrides, and the baseline the benchmark compares against.
 */
export type HealthScanMode = 'lens-override' | 'per-account';

export interface HealthScanOptions {
  /** Accounts per lens call. Larger chunks mean fewer RPC calls but longer single calls. */
  chunkSize?: number;
  /** Calls in flight at once. */
  concurrency?: number;
  /** Gas allowance per account in a lens call (anvil needs an explicit gas on big eth_calls). */
  gasPerAccount?: bigint;
  /** Told once when the node refuses state overrides and the scan falls back to per-account calls. */
  onFallback?: (reason: string) => void;
}

/**
 * An account whose getUserAccountData reverted at this block (e.g. an arithmetic panic in the Pool). Only a revert
 * makes an account unreadable: a node that fails the call fails the scan instead.
 */
export interface UnreadableAccount {
  user: string;
  reason: string;
}

export interface HealthScanResult {
  block: number;
  mode: HealthScanMode;
  accounts: AccountHealth[];
  /**
   * Accounts the Pool could not report on. A reverting account is isolated by splitting its chunk, so it never
   * hides the rest of the market; callers log and count these.
   */
  unreadable: UnreadableAccount[];
  /** JSON-RPC requests made, for cost accounting (RPC providers bill per call). */
  rpcCalls: number;
}

const GET_USER_ACCOUNT_DATA_SELECTOR = '0xbf92857c';
const GET_USER_CONFIGURATION_SELECTOR = '0x4417a583';
const MAX_GAS_PER_CALL = 1_000_000_000n;

/** The node does not take the lens's state override: read per account from then on. */
class OverrideRefused extends Error {
  constructor(readonly reason: string) {
    super(`node refused the eth_call state override (${reason})`);
    this.name = 'OverrideRefused';
  }
}

/**
 * What a failed read of `what` means for the scan (call-failure.ts): a revert is the account's (the caller makes
 * it unreadable); a refused override switches to per-account reads; node trouble fails the whole scan with a
 * retryable NodeCallError, so that no account is ever counted unreadable because the node failed; anything else
 * (a bug, a result that does not decode) is rethrown as it is.
 */
function revertReasonOrThrow(err: unknown, what: string): string {
  const failure = classifyCallFailure(err);
  if (isRevert(failure)) return failure.reason;
  if (failure.kind === 'override-refused') throw new OverrideRefused(failure.reason);
  if (failure.kind === 'other') throw err;
  throw new NodeCallError(failure, what, { cause: err });
}

function word(hex: string, index: number): bigint {
  return BigInt(`0x${hex.slice(index * 64, index * 64 + 64)}`);
}

function pad32(address: string): string {
  return address.toLowerCase().replace(/^0x/, '').padStart(64, '0');
}

/** ABI encoding of `accountData(pool, users)`, written out: the generic coder dominates the cost of a scan. */
export function encodeLensCall(pool: string, users: readonly string[]): string {
  const head = HEALTH_LENS_SELECTOR + pad32(pool) + (64).toString(16).padStart(64, '0') + users.length.toString(16).padStart(64, '0');
  return head + users.map(pad32).join('');
}

/** Decodes the lens's `uint256[]` (offset, length, words) into accounts, in request order. */
export function decodeLensResult(users: readonly string[], result: string): AccountHealth[] {
  const hex = result.replace(/^0x/, '');
  const length = Number(word(hex, 1));
  if (length !== users.length * HEALTH_LENS_WORDS_PER_USER) {
    throw new Error(`health lens returned ${length} words for ${users.length} accounts (expected ${users.length * HEALTH_LENS_WORDS_PER_USER})`);
  }
  return users.map((user, i) => decodeAccountWords(user, hex, 2 + i * HEALTH_LENS_WORDS_PER_USER));
}

function decodeAccountWords(user: string, hex: string, first: number): AccountHealth {
  return {
    user,
    totalCollateralBase: word(hex, first),
    totalDebtBase: word(hex, first + 1),
    availableBorrowsBase: word(hex, first + 2),
    currentLiquidationThresholdBps: word(hex, first + 3),
    ltvBps: word(hex, first + 4),
    healthFactorWad: word(hex, first + 5),
    userConfiguration: word(hex, first + 6),
  };
}

/**
 * Reads the health of many accounts of one Aave V3 Pool, every read pinned to the same block. Starts with the
 * lens override; if the node refuses overrides (or ignores them) it says so once (onFallback) and reads per
 * account from then on. A call the node fails (header not found, rate limit, timeout, reset: call-failure.ts)
 * fails the scan with a retryable NodeCallError; the next scan asks again.
 */
export class AaveV3HealthScanner {
  private mode: HealthScanMode;
  private readonly chunkSize: number;
  private readonly concurrency: number;
  private readonly gasPerAccount: bigint;

  constructor(
    private readonly provider: JsonRpcProvider,
    private readonly pool: string,
    private readonly options: HealthScanOptions & { mode?: HealthScanMode } = {},
  ) {
    this.mode = options.mode ?? 'lens-override';
    this.chunkSize = options.chunkSize ?? 500;
    this.concurrency = options.concurrency ?? 4;
    this.gasPerAccount = options.gasPerAccount ?? 400_000n;
    if (this.chunkSize < 1) throw new Error(`chunkSize must be at least 1, got ${this.chunkSize}`);
  }

  get currentMode(): HealthScanMode {
    return this.mode;
  }

  async scan(users: readonly string[], block: number): Promise<HealthScanResult> {
    const blockTag = `0x${block.toString(16)}`;
    if (this.mode === 'lens-override') {
      try {
        return await this.scanWithLens(users, block, blockTag);
      } catch (err) {
        if (!(err instanceof OverrideRefused)) throw err;
        this.mode = 'per-account';
        this.options.onFallback?.(`${err.message}; reading accounts one call each`);
      }
    }
    return this.scanPerAccount(users, block, blockTag);
  }

  private async scanWithLens(users: readonly string[], block: number, blockTag: string): Promise<HealthScanResult> {
    const chunks: string[][] = [];
    for (let i = 0; i < users.length; i += this.chunkSize) chunks.push(users.slice(i, i + this.chunkSize));
    const override = { [LENS_ADDRESS]: { code: HEALTH_LENS_RUNTIME_BYTECODE } };
    let rpcCalls = 0;
    const unreadable: UnreadableAccount[] = [];
    const read = async (chunk: readonly string[]): Promise<AccountHealth[]> => {
      const gas = this.gasPerAccount * BigInt(chunk.length) + 100_000n;
      const call = {
        to: LENS_ADDRESS,
        data: encodeLensCall(this.pool, chunk),
        gas: `0x${(gas < MAX_GAS_PER_CALL ? gas : MAX_GAS_PER_CALL).toString(16)}`,
      };
      rpcCalls++;
      let result: string;
      try {
        result = (await this.provider.send('eth_call', [call, blockTag, override])) as string;
      } catch (err) {
        const reason = revertReasonOrThrow(err, `health lens call for ${chunk.length} accounts at block ${block}`);
        // One account the Pool cannot report on reverts the whole lens call: split until it is alone
        // (log2(chunk) extra calls per such account), and read everyone else.
        if (chunk.length === 1) {
          unreadable.push({ user: chunk[0], reason });
          return [];
        }
        const half = Math.ceil(chunk.length / 2);
        return [...(await read(chunk.slice(0, half))), ...(await read(chunk.slice(half)))];
      }
      // The lens always returns its array: an empty result means the node ran the call without the override
      // (a node that ignores the third parameter), against an address that has no code.
      if (result === '0x') throw new OverrideRefused('the call returned no data: the node ignored the override');
      return decodeLensResult(chunk, result);
    };
    const results = await mapWithConcurrency(chunks, this.concurrency, read);
    return { block, mode: 'lens-override', accounts: results.flat(), unreadable, rpcCalls };
  }

  private async scanPerAccount(users: readonly string[], block: number, blockTag: string): Promise<HealthScanResult> {
    const unreadable: UnreadableAccount[] = [];
    const accounts = await mapWithConcurrency(users, this.concurrency, async (user) => {
      try {
        const [data, config] = (await Promise.all([
          this.provider.send('eth_call', [{ to: this.pool, data: GET_USER_ACCOUNT_DATA_SELECTOR + pad32(user) }, blockTag]),
          this.provider.send('eth_call', [{ to: this.pool, data: GET_USER_CONFIGURATION_SELECTOR + pad32(user) }, blockTag]),
        ])) as [string, string];
        return [decodeAccountWords(user, data.replace(/^0x/, '') + config.replace(/^0x/, ''), 0)];
      } catch (err) {
        unreadable.push({ user, reason: revertReasonOrThrow(err, `getUserAccountData of ${user} at block ${block}`) });
        return [];
      }
    });
    return { block, mode: 'per-account', accounts: accounts.flat(), unreadable, rpcCalls: users.length * 2 };
  }
}
