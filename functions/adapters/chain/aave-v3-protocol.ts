import type { JsonRpcProvider } from 'ethers';
import type { RuleSet } from '../../domain';
import type { LendingProtocolAdapter } from '../../ports/lending-protocol';
import { AaveV3LiquidationExecutor, type ExecutorOptions } from './aave-v3-liquidation-executor';
import { AaveV3PositionReader } from './aave-v3-position-reader';
import { AaveV3HealthScanner, type HealthScanOptions } from './health-scan';

export interface AaveV3ProtocolOptions {
  provider: JsonRpcProvider;
  pool: string;
  /** Which Pool logic the market runs (see functions/domain/position.ts). */
  ruleSet: RuleSet;
  scan?: HealthScanOptions;
  execution?: ExecutorOptions;
}

/** The Aave V3 implementation of the lending-protocol ports. */
export function aaveV3Protocol(options: AaveV3ProtocolOptions): LendingProtocolAdapter {
  return {
    protocol: 'aave-v3',
    scanner: new AaveV3HealthScanner(options.provider, options.pool, options.scan),
    reader: new AaveV3PositionReader(options.provider, options.pool, options.ruleSet),
    simulator: new AaveV3LiquidationExecutor(options.provider, options.pool, options.execution),
  };
}
