/**
 * What the worker needs to liquidate without capital through our own contract (contracts/src/Liquidator.sol):
 * swap quotes for the seized collateral, the market's flash-loan terms, and the contract call itself. Every
 * read is pinned to the block the plan was made at.
 */
import type { SwapRoute } from '../domain';

export interface SwapQuote {
  route: SwapRoute;
  amountInUnits: bigint;
  amountOutUnits: bigint;
  /** QuoterV2's own gas estimate of the swap. */
  swapGasEstimate: bigint;
}

export interface SwapQuoter {
  /** The best output over the configured routes for selling `amountInUnits` of `tokenIn`; `undefined`: no route has liquidity. */
  bestQuote(tokenIn: string, tokenOut: string, amountInUnits: bigint, block: number): Promise<SwapQuote | undefined>;
}

export interface FlashLoanTermsSource {
  /** Pool.FLASHLOAN_PREMIUM_TOTAL at `block` (bps). */
  premiumBps(block: number): Promise<bigint>;
}

/** Arguments of `Liquidator.liquidate(LiquidationParams, bool flashLoan)`. Amounts in token units. */
export interface LiquidatorCall {
  collateralAsset: string;
  debtAsset: string;
  user: string;
  debtToCoverUnits: bigint;
  /** Uniswap V3 path bytes, `0x` for a same-asset pair. */
  swapPath: string;
  amountOutMinimumUnits: bigint;
  minProfitUnits: bigint;
  flashLoan: boolean;
}

/**
 * Why a call reverted, for the ledger and the breakers: `market-moved` is someone else's doing between the plan
 * and the block the transaction landed in (the pool moved past the slippage bound or the profit guard, the
 * account was liquidated or recovered); `model` is ours (a plan the chain does not agree with) and counts
 * towards the revert-streak breaker.
 */
export type RevertClass = 'market-moved' | 'model';

export type LiquidatorSimulation =
  | {
      kind: 'ok';
      block: number;
      gasEstimate: bigint;
      gasLimit: bigint;
      /** What `liquidate` returned: the profit left in the contract, debt-asset units. */
      profitUnits: bigint;
    }
  | { kind: 'revert'; block: number; reason: string; revertClass: RevertClass; data?: string };

/** A `Liquidated` event of our contract: what one liquidation actually did. */
export interface LiquidatedEvent {
  user: string;
  collateralAsset: string;
  debtAsset: string;
  debtRepaidUnits: bigint;
  collateralSeizedUnits: bigint;
  swapAmountOutUnits: bigint;
  flashPremiumUnits: bigint;
  profitUnits: bigint;
}

export interface LiquidatorContract {
  readonly address: string;
  buildTransaction(call: LiquidatorCall): { to: string; data: string };
  /** Would the call succeed from `from` on the state of `block`; with what gas and what profit? */
  simulate(call: LiquidatorCall, from: string, block: number): Promise<LiquidatorSimulation>;
  /** The `Liquidated` events of a mined transaction. */
  liquidationsIn(txHash: string): Promise<LiquidatedEvent[]>;
  /** Why a mined transaction reverted: replayed with eth_call on the state after its block (best available without tracing). */
  revertOf(txHash: string): Promise<{ reason: string; revertClass: RevertClass }>;
}

/**
 * One item of `Liquidator.liquidateBatch`: several liquidations (any borrowers, pairs and funding) in one
 * transaction. An item that fails (the account was liquidated first, recovered, the pool moved past its bounds)
 * is rolled back alone; the others go through.
 */
export type LiquidatorBatchCall = readonly LiquidatorCall[];

/** What one item of a batch did (from the call's return data or the receipt's `BatchItem…` events), by index. */
export type BatchItemOutcome =
  | {
      index: number;
      user: string;
      ok: true;
      debtRepaidUnits: bigint;
      collateralSeizedUnits: bigint;
      swapAmountOutUnits: bigint;
      /** The item's share of the flash-loan premium (0 in inventory mode). */
      flashPremiumUnits: bigint;
      /** Debt-asset units the item left in the contract. */
      profitUnits: bigint;
    }
  | { index: number; user: string; ok: false; reason: string; revertClass: RevertClass };

/** The whole batch call reverted (not one item: items fail alone). */
export type LiquidatorBatchReverted = { kind: 'revert'; block: number; reason: string; revertClass: RevertClass; data?: string };

export type LiquidatorBatchSimulation = { kind: 'ok'; block: number; gasEstimate: bigint; gasLimit: bigint; items: BatchItemOutcome[] } | LiquidatorBatchReverted;

/** The gas of a whole batch call, without its items' outcomes; or the whole call's revert. */
export type LiquidatorBatchGas = { kind: 'ok'; block: number; gasEstimate: bigint; gasLimit: bigint } | LiquidatorBatchReverted;

/** Batches through the same contract: `LiquidatorContract` implementations that support `liquidateBatch`. */
export interface BatchLiquidatorContract extends LiquidatorContract {
  buildBatchTransaction(calls: LiquidatorBatchCall): { to: string; data: string };
  /**
   * The batch from `from` on the state of `block`: each item's outcome, and the gas of the whole call. With
   * `on: 'pending'`, on the node's pending block instead (its head with the transactions waiting in its mempool,
   * our other batches among them); the result still names `block`, the block the plans were read at.
   */
  simulateBatch(calls: LiquidatorBatchCall, from: string, block: number, on?: 'block' | 'pending'): Promise<LiquidatorBatchSimulation>;
  /** The gas of the batch from `from` on the state of `block` only (one eth_estimateGas, no eth_call): for a limit. */
  estimateBatchGas(calls: LiquidatorBatchCall, from: string, block: number): Promise<LiquidatorBatchGas>;
  /** Each item's outcome in a mined batch transaction, from its events (index order). */
  batchOutcomesIn(txHash: string): Promise<BatchItemOutcome[]>;
}
