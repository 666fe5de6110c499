/**
 * Aave V3 behind the pipeline's lending-protocol port (functions/ports/lending-protocol.ts), scanner side: the one
 * place the scanner gets Aave adapters from (the execution side is aave-v3-protocol.ts).
 */
import type { JsonRpcProvider } from 'ethers';
import type { ScannerProtocol } from '../../ports/lending-protocol';
import { AaveV3OracleLensReader } from './aave-v3-oracle-lens-reader';
import { AaveV3PendingUpdateWatch } from './aave-v3-pending-update-watch';
import { AaveV3PositionChanges } from './aave-v3-position-changes';
import { AaveV3HealthScanner } from './health-scan';

export function aaveV3ScannerProtocol(provider: JsonRpcProvider, market: { pool: string }): ScannerProtocol {
  const { pool } = market;
  return {
    protocol: 'aave-v3',
    scannerReads: (options) => ({
      accounts: new AaveV3HealthScanner(provider, pool, { chunkSize: options.chunkSize }),
      // One eth_call per block; a node that refuses state overrides gets the per-call reader (4 + N calls).
      oracle: new AaveV3OracleLensReader(provider, pool, { onFallback: options.onOracleFallback }),
      changes: new AaveV3PositionChanges(provider, pool),
      ...(options.followPendingUpdates ? { pendingUpdates: new AaveV3PendingUpdateWatch(provider, pool, { chunkSize: options.chunkSize }) } : {}),
    }),
  };
}
