/**
 * One Logger and one Metrics per function (Powertools): JSON logs keyed by market and borrower, EMF metrics in
 * the `LiquidationPipeline` namespace with the market as a dimension. Handlers add their own keys.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

export const METRICS_NAMESPACE = 'LiquidationPipeline';

export function createObservability(serviceName: string, market?: string): { logger: Logger; metrics: Metrics } {
  const logger = new Logger({ serviceName, persistentKeys: market ? { market } : {} });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName, defaultDimensions: market ? { market } : {} });
  return { logger, metrics };
}
