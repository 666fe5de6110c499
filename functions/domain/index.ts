/**
 * The liquidation domain: pure bigint mirrors of the Aave V3 Pool's liquidation rules (v3.0 – v3.6) and the
 * keeper's decisions on top of them (pair, size, profit). No I/O, no environment, no clock.
 */
export * from './math';
export * from './position';
export * from './pool-versions';
export * from './token-balance';
export * from './health';
export * from './close-factor';
export * from './collateral-amounts';
export * from './dust-rule';
export * from './settlement';
export * from './liquidation';
export * from './repay-search';
export * from './sizing';
export * from './target-health-sizing';
export * from './two-step-sizing';
export * from './profit';
export * from './pair-selection';
export * from './funded-liquidation';
export * from './price-impact';
export * from './chunked-liquidation';
export * from './best-sizing';
