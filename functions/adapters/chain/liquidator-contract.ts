/**
 * Our liquidator contract (contracts/src/Liquidator.sol) over JSON-RPC: builds `liquidate` and `liquidateBatch`
 * calls, simulates them pinned to a block (the call's return value is the profit the contract keeps, or each batch
 * item's result), reads `Liquidated` and `BatchItem…` events from receipts and names reverts, classifying them as
 * ours (`model`) or the market's (`market-moved`). A call the node fails is not a revert: it is thrown as a
 * retryable NodeCallError (call-failure.ts).
 */
import { AbiCoder, Interface, type JsonRpcProvider } from 'ethers';
import type {
  BatchItemOutcome,
  BatchLiquidatorContract,
  LiquidatedEvent,
  LiquidatorBatchCall,
  LiquidatorBatchGas,
  LiquidatorBatchSimulation,
  LiquidatorCall,
  LiquidatorSimulation,
  RevertClass,
} from '../../ports/liquidator-contract';
import { AAVE_CUSTOM_ERRORS, AAVE_V30_ERROR_CODES } from './aave-errors';
import { classifyCallFailure, isRevert, nodeCallErrorOf } from './call-failure';
import { revertDataOf } from './revert-data';

/** The contract's ABI as the keeper uses it (Liquidator.sol; test/unit/chain/liquidator-abi.test.ts checks it against the compiled one). */
export const LIQUIDATOR_ABI = [
  'function liquidate((address collateralAsset, address debtAsset, address user, uint256 debtToCover, bytes swapPath, uint256 amountOutMinimum, uint256 minProfit) p, bool flashLoan) returns (uint256 profit)',
  'function liquidateBatch(((address collateralAsset, address debtAsset, address user, uint256 debtToCover, bytes swapPath, uint256 amountOutMinimum, uint256 minProfit) params, bool flashLoan)[] items) returns ((bool ok, uint256 debtRepaid, uint256 collateralSeized, uint256 swapAmountOut, uint256 flashPremium, uint256 profit, bytes reason)[] results)',
  // The contract's own per-item entry (it refuses every other caller); listed so its selector is known.
  'function liquidateItem((address collateralAsset, address debtAsset, address user, uint256 debtToCover, bytes swapPath, uint256 amountOutMinimum, uint256 minProfit) p, bool flashLoan) returns ((uint256 debtRepaid, uint256 collateralSeized, uint256 swapAmountOut, uint256 flashPremium) outcome, uint256 profit)',
  'function setCaller(address caller, bool allowed)',
  'function withdraw(address token, address to, uint256 amount)',
  'function owner() view returns (address)',
  'function pool() view returns (address)',
  'function swapRouter() view returns (address)',
  'function isCaller(address) view returns (bool)',
  'event Liquidated(address indexed user, address indexed collateralAsset, address indexed debtAsset, uint256 debtRepaid, uint256 collateralSeized, uint256 swapAmountOut, uint256 flashPremium, uint256 profit)',
  'event BatchItemLiquidated(uint256 indexed index, address indexed user, uint256 debtRepaid, uint256 collateralSeized, uint256 swapAmountOut, uint256 flashPremium, uint256 profit)',
  'event BatchItemFailed(uint256 indexed index, address indexed user, bytes reason)',
  'event CallerSet(address indexed caller, bool allowed)',
  'event Withdrawn(address indexed token, address indexed to, uint256 amount)',
  'error Unauthorized(address caller)',
  'error InvalidCallback(address caller, address initiator)',
  'error ProfitBelowMinimum(int256 profit, uint256 minProfit)',
  'error InvalidSwapPath()',
  'error Reentrancy()',
  'error ZeroAddress()',
  'error EmptyBatch()',
  'error ItemOutOfGas(uint256 index)',
  // OpenZeppelin's, reverted from inside the contract: an ERC-20 transfer or approval that failed
  // (utils/SafeERC20.sol), and a balance change beyond int256 in the profit guard (utils/math/SafeCast.sol toInt256).
  'error SafeERC20FailedOperation(address token)',
  'error SafeCastOverflowedUintToInt(uint256 value)',
] as const;

const LIQUIDATOR = new Interface([...LIQUIDATOR_ABI, ...AAVE_CUSTOM_ERRORS]);

/**
 * Reverts that mean the market changed between the plan and the block the transaction ran in, not that the
 * plan was wrong: the swap's bound (SwapRouter02 `Too little received`), our profit guard, and the Pool's
 * refusals when someone else liquidated or the account recovered first.
 */
const MARKET_MOVED = [
  /^ProfitBelowMinimum/,
  /Too little received/,
  /^HealthFactorNotBelowThreshold/,
  /HEALTH_FACTOR_NOT_BELOW_THRESHOLD/,
  /^SpecifiedCurrencyNotBorrowedByUser/,
  /SPECIFIED_CURRENCY_NOT_BORROWED_BY_USER/,
  /^CollateralCannotBeLiquidated/,
  /COLLATERAL_CANNOT_BE_LIQUIDATED/,
];

export function classifyRevert(reason: string): RevertClass {
  return MARKET_MOVED.some((pattern) => pattern.test(reason)) ? 'market-moved' : 'model';
}

/** Names a revert of our contract, of the Pool inside it (custom error or V3.0 code), or of the router. */
export function decodeLiquidatorRevert(data: string | undefined, fallbackMessage: string): string {
  if (!data || data.length < 10) return fallbackMessage;
  if (data.startsWith('0x08c379a0')) {
    const [message] = AbiCoder.defaultAbiCoder().decode(['string'], `0x${data.slice(10)}`) as unknown as [string];
    const name = AAVE_V30_ERROR_CODES[message];
    return name ? `${name} (${message})` : message;
  }
  try {
    const parsed = LIQUIDATOR.parseError(data);
    if (parsed) return parsed.args.length > 0 ? `${parsed.name}(${parsed.args.map(String).join(', ')})` : parsed.name;
  } catch {
    // not an error we know: the raw data below
  }
  return `${fallbackMessage} (revert data ${data.slice(0, 74)})`;
}

export interface LiquidatorContractOptions {
  /** Gas limit = estimate × headroom / 10,000 (flash-loan liquidations estimated bare revert now and then; 12,500 = +25 %). */
  gasHeadroomBps?: bigint;
}

/** One element of `liquidateBatch`'s returned results (Liquidator.sol ItemResult). */
interface ItemResult {
  ok: boolean;
  debtRepaid: bigint;
  collateralSeized: bigint;
  swapAmountOut: bigint;
  flashPremium: bigint;
  profit: bigint;
  reason: string;
}

/** A revert of a call of ours, named and classified. */
interface Reverted {
  kind: 'revert';
  reason: string;
  revertClass: RevertClass;
  data: string | undefined;
}

/**
 * A failed eth_call / eth_estimateGas of ours: a revert (call-failure.ts: with or without data) is returned,
 * named and classified; the node failing the call (header not found, rate limit, timeout, reset) is thrown as a
 * NodeCallError, retryable, and never reported as a revert; anything else is rethrown as it is.
 */
function revertOrThrow(err: unknown, what: string): Reverted {
  if (!isRevert(classifyCallFailure(err))) throw nodeCallErrorOf(err, what) ?? err;
  const data = revertDataOf(err);
  const reason = decodeLiquidatorRevert(data, (err as Error).message ?? String(err));
  return { kind: 'revert', reason, revertClass: classifyRevert(reason), data };
}

/** A failed item's outcome: its revert data named and classified like a whole call's. */
function failedItem(index: number, user: string, data: string): BatchItemOutcome {
  const reason = decodeLiquidatorRevert(data === '0x' ? undefined : data, 'reverted without data');
  return { index, user, ok: false, reason, revertClass: classifyRevert(reason) };
}

export class EthersLiquidatorContract implements BatchLiquidatorContract {
  private readonly headroomBps: bigint;

  constructor(
    private readonly provider: JsonRpcProvider,
    readonly address: string,
    options: LiquidatorContractOptions = {},
  ) {
    this.headroomBps = options.gasHeadroomBps ?? 12_500n;
    if (this.headroomBps < 10_000n) throw new Error(`gasHeadroomBps must be at least 10000, got ${this.headroomBps}`);
  }

  buildTransaction(call: LiquidatorCall): { to: string; data: string } {
    const params = [call.collateralAsset, call.debtAsset, call.user, call.debtToCoverUnits, call.swapPath, call.amountOutMinimumUnits, call.minProfitUnits];
    return { to: this.address, data: LIQUIDATOR.encodeFunctionData('liquidate', [params, call.flashLoan]) };
  }

  buildBatchTransaction(calls: LiquidatorBatchCall): { to: string; data: string } {
    const items = calls.map((call) => [
      [call.collateralAsset, call.debtAsset, call.user, call.debtToCoverUnits, call.swapPath, call.amountOutMinimumUnits, call.minProfitUnits],
      call.flashLoan,
    ]);
    return { to: this.address, data: LIQUIDATOR.encodeFunctionData('liquidateBatch', [items]) };
  }

  async simulate(call: LiquidatorCall, from: string, block: number): Promise<LiquidatorSimulation> {
    const tx = { ...this.buildTransaction(call), from };
    const blockTag = `0x${block.toString(16)}`;
    try {
      const returned = (await this.provider.send('eth_call', [tx, blockTag])) as string;
      const [profit] = LIQUIDATOR.decodeFunctionResult('liquidate', returned) as unknown as [bigint];
      const estimate = BigInt((await this.provider.send('eth_estimateGas', [tx, blockTag])) as string);
      return { kind: 'ok', block, gasEstimate: estimate, gasLimit: (estimate * this.headroomBps) / 10_000n, profitUnits: profit };
    } catch (err) {
      // Only a revert is an outcome; node errors, timeouts and rate limits are thrown, the caller's to retry.
      return { ...revertOrThrow(err, `simulating liquidate of ${call.user} at block ${block}`), block };
    }
  }

  /**
   * The batch on the state of `block`: each item's outcome from the call's return data, and the gas of the whole
   * call with the same headroom as `simulate`. A batch whose items all fail still succeeds (and still costs gas);
   * only the whole call's revert (empty batch, caller, an item out of gas) is `kind: 'revert'`.
   */
  async simulateBatch(calls: LiquidatorBatchCall, from: string, block: number, on: 'block' | 'pending' = 'block'): Promise<LiquidatorBatchSimulation> {
    const tx = { ...this.buildBatchTransaction(calls), from };
    const blockTag = on === 'pending' ? 'pending' : `0x${block.toString(16)}`;
    try {
      const returned = (await this.provider.send('eth_call', [tx, blockTag])) as string;
      const [results] = LIQUIDATOR.decodeFunctionResult('liquidateBatch', returned) as unknown as [ItemResult[]];
      if (results.length !== calls.length) throw new Error(`liquidateBatch returned ${results.length} results for ${calls.length} items`);
      const items = results.map((r, index): BatchItemOutcome => {
        const user = calls[index].user;
        if (!r.ok) return failedItem(index, user, r.reason);
        return {
          index,
          user,
          ok: true,
          debtRepaidUnits: r.debtRepaid,
          collateralSeizedUnits: r.collateralSeized,
          swapAmountOutUnits: r.swapAmountOut,
          flashPremiumUnits: r.flashPremium,
          profitUnits: r.profit,
        };
      });
      const estimate = BigInt((await this.provider.send('eth_estimateGas', [tx, blockTag])) as string);
      return { kind: 'ok', block, gasEstimate: estimate, gasLimit: (estimate * this.headroomBps) / 10_000n, items };
    } catch (err) {
      return { ...revertOrThrow(err, `simulating liquidateBatch of ${calls.length} items at ${on === 'pending' ? 'the pending block' : `block ${block}`}`), block };
    }
  }

  /** The batch's gas on the state of `block`, with the same headroom as `simulateBatch`; its items' outcomes are not read. */
  async estimateBatchGas(calls: LiquidatorBatchCall, from: string, block: number): Promise<LiquidatorBatchGas> {
    const tx = { ...this.buildBatchTransaction(calls), from };
    try {
      const estimate = BigInt((await this.provider.send('eth_estimateGas', [tx, `0x${block.toString(16)}`])) as string);
      return { kind: 'ok', block, gasEstimate: estimate, gasLimit: (estimate * this.headroomBps) / 10_000n };
    } catch (err) {
      return { ...revertOrThrow(err, `estimating liquidateBatch of ${calls.length} items at block ${block}`), block };
    }
  }

  /** Each item's outcome in a mined batch, from its `BatchItemLiquidated` / `BatchItemFailed` events, in index order. */
  async batchOutcomesIn(txHash: string): Promise<BatchItemOutcome[]> {
    const receipt = await this.provider.getTransactionReceipt(txHash);
    if (!receipt) throw new Error(`no receipt for ${txHash}`);
    const outcomes = receipt.logs.flatMap((log): BatchItemOutcome[] => {
      if (log.address.toLowerCase() !== this.address.toLowerCase()) return [];
      const parsed = LIQUIDATOR.parseLog({ topics: [...log.topics], data: log.data });
      if (!parsed) return [];
      const a = parsed.args;
      const index = Number(a.index as bigint);
      if (parsed.name === 'BatchItemFailed') return [failedItem(index, a.user as string, a.reason as string)];
      if (parsed.name !== 'BatchItemLiquidated') return [];
      return [
        {
          index,
          user: a.user as string,
          ok: true,
          debtRepaidUnits: a.debtRepaid as bigint,
          collateralSeizedUnits: a.collateralSeized as bigint,
          swapAmountOutUnits: a.swapAmountOut as bigint,
          flashPremiumUnits: a.flashPremium as bigint,
          profitUnits: a.profit as bigint,
        },
      ];
    });
    return outcomes.sort((x, y) => x.index - y.index);
  }

  async liquidationsIn(txHash: string): Promise<LiquidatedEvent[]> {
    const receipt = await this.provider.getTransactionReceipt(txHash);
    if (!receipt) throw new Error(`no receipt for ${txHash}`);
    return receipt.logs.flatMap((log) => {
      if (log.address.toLowerCase() !== this.address.toLowerCase()) return [];
      const parsed = LIQUIDATOR.parseLog({ topics: [...log.topics], data: log.data });
      if (parsed?.name !== 'Liquidated') return [];
      const a = parsed.args;
      return [
        {
          user: a.user as string,
          collateralAsset: a.collateralAsset as string,
          debtAsset: a.debtAsset as string,
          debtRepaidUnits: a.debtRepaid as bigint,
          collateralSeizedUnits: a.collateralSeized as bigint,
          swapAmountOutUnits: a.swapAmountOut as bigint,
          flashPremiumUnits: a.flashPremium as bigint,
          profitUnits: a.profit as bigint,
        },
      ];
    });
  }

  async revertOf(txHash: string): Promise<{ reason: string; revertClass: RevertClass }> {
    const tx = await this.provider.getTransaction(txHash);
    if (!tx || tx.blockNumber === null) throw new Error(`transaction ${txHash} is not mined`);
    const call = { from: tx.from, to: tx.to, data: tx.data, gas: `0x${tx.gasLimit.toString(16)}` };
    try {
      await this.provider.send('eth_call', [call, `0x${tx.blockNumber.toString(16)}`]);
      // Passes on the state after its block: it failed for a reason of that block's order (e.g. an update before it).
      return { reason: 'reverted in its block; passes on the state after it', revertClass: 'market-moved' };
    } catch (err) {
      const { reason, revertClass } = revertOrThrow(err, `replaying ${txHash} at block ${tx.blockNumber}`);
      return { reason, revertClass };
    }
  }
}
