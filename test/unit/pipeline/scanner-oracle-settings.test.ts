/**
 * The scanner handler's oracle settings, end to end from the environment: per-asset staleness limits
 * (ORACLE_MAX_AGE_SEC_BY_ASSET) reach the breaker, and feeds without round data (ORACLE_UNDATED_FEEDS) are logged
 * once per asset and invocation and counted (UndatedFeeds), whatever the policy. In-memory fakes on virtual time: a
 * 2 s chain, invocations with 20 s left and the default 10 s margin (blocks 100…104), reserves WETH (id 0), WBTC
 * (id 1) and USDC (id 2).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { MetricsOptions } from '@aws-lambda-powertools/metrics/types';
import { loadPipelineConfig } from '../../../functions/config/pipeline-config';
import type { OracleReading } from '../../../functions/domain/oracle-breaker';
import { createScannerHandler } from '../../../functions/handlers/scanner';
import type { ScanEvent } from '../../../functions/pipeline/scan-blocks';
import { localLambdaContext } from '../../../local/runtime/sqs-event-source';
import { address, blockTimestampSec, FakeAccountScanner, FakeChain, FakeOracle, FifoQueueFake, hf, InMemoryBorrowerStore, tracked, usage, USDC, VirtualTime, WBTC, WETH } from './scanner-fakes';

const POOL = '0x00000000000000000000000000000000000000a0';
const CAPO = '0x00000000000000000000000000000000000ca90a';
const A = address(0xa);
const B = address(0xb);

type Emf = Record<string, unknown>;

/** Metrics that keep each flush (EMF, as Powertools serialises it) instead of printing it. */
class CapturedMetrics extends Metrics {
  constructor(
    readonly flushed: Emf[],
    private readonly options: MetricsOptions,
  ) {
    super(options);
  }

  override publishStoredMetrics(): this {
    if (this.hasStoredMetrics()) this.flushed.push(this.serializeMetrics() as Emf);
    this.clearMetrics();
    return this;
  }

  override singleMetric(): Metrics {
    return new CapturedMetrics(this.flushed, { ...this.options, singleMetric: true });
  }
}

/** WETH's and USDC's sources answer no latestRoundData (adapters); WBTC keeps its round. */
const adapterFeeds = (_block: number, reading: OracleReading): OracleReading =>
  reading.asset === WBTC.asset ? reading : { ...reading, feed: { kind: 'unavailable', source: CAPO, reason: 'latestRoundData failed: reverted' } };
/** WBTC's round is 4,000 s old at every block. */
const wbtcRoundAged = (_block: number, reading: OracleReading): OracleReading =>
  reading.asset === WBTC.asset && reading.feed.kind === 'round' ? { ...reading, feed: { ...reading.feed, updatedAtSec: blockTimestampSec(_block) - 4_000n } } : reading;

function scanner(env: Record<string, string>, script: (block: number, reading: OracleReading) => OracleReading) {
  const config = loadPipelineConfig({
    CHAIN_ID: '31337',
    MARKET_NAME: 'local',
    POOL_ADDRESS: POOL,
    AAVE_POOL_VERSION: '3.6',
    RPC_URL: 'http://127.0.0.1:8545',
    SCANNER_READ_MODE: 'every-block',
    ...env,
  });
  const time = new VirtualTime();
  const chain = new FakeChain(time, 100, 2_000);
  const store = new InMemoryBorrowerStore(time);
  // A: WETH collateral, USDC debt; B: WBTC collateral, WETH debt. Both liquidatable.
  store.seed(config.marketKey, [tracked(A), tracked(B)]);
  const configs: Record<string, bigint> = { [A]: usage({ collateral: [WETH], borrowing: [USDC] }), [B]: usage({ collateral: [WBTC], borrowing: [WETH] }) };
  const accounts = new FakeAccountScanner((user) => ({ healthFactorWad: hf('0.95'), userConfiguration: configs[user] }), time);
  const oracle = new FakeOracle(new Map([[WETH.asset, 3_000_00000000n], [WBTC.asset, 60_000_00000000n], [USDC.asset, 1_00000000n]]), [WETH, WBTC, USDC], script);
  const queue = new FifoQueueFake();
  const logger = new Logger({ serviceName: 'scanner', logLevel: 'SILENT' });
  const warn = jest.spyOn(logger, 'warn');
  const flushed: Emf[] = [];
  const events: ScanEvent[] = [];
  const handler = createScannerHandler({
    config,
    logger,
    metrics: new CapturedMetrics(flushed, { namespace: 'LiquidationPipeline', serviceName: 'scanner', defaultDimensions: { market: 'local' } }),
    runtime: async () => ({ store, queue, accounts, oracle, blocks: chain }),
    clock: time,
    sleep: time.sleep,
    onEvent: (e) => events.push(e),
  });
  const invoke = () => handler({}, localLambdaContext('scanner', 20_000));
  const metric = (name: string) => flushed.filter((emf) => name in emf).map((emf) => emf[name]);
  const warnings = (prefix: string) => warn.mock.calls.filter(([message]) => typeof message === 'string' && message.startsWith(prefix));
  return { invoke, events, queue, metric, warnings };
}

describe('scanner handler: per-asset staleness limits from ORACLE_MAX_AGE_SEC_BY_ASSET', () => {
  it.each<[string, Record<string, string>, string | undefined]>([
    ['no per-asset limit: the market-wide 3,900 s opens WBTC\'s breaker', {}, 'round is 4000 s old (max 3900 s)'],
    ['WBTC\'s own 5,000 s: no breaker', { ORACLE_MAX_AGE_SEC_BY_ASSET: JSON.stringify({ [WBTC.asset.toUpperCase().replace('0X', '0x')]: 5_000 }) }, undefined],
    ['WBTC\'s own 3,950 s: stale, naming the limit used', { ORACLE_MAX_AGE_SEC_BY_ASSET: JSON.stringify({ [WBTC.asset]: 3_950 }) }, 'round is 4000 s old (max 3950 s, per-asset limit)'],
    ['another asset\'s limit leaves WBTC at 3,900 s', { ORACLE_MAX_AGE_SEC_BY_ASSET: JSON.stringify({ [USDC.asset]: 86_700 }) }, 'round is 4000 s old (max 3900 s)'],
  ])('%s', async (_name, env, staleDetail) => {
    const s = scanner(env, wbtcRoundAged);

    const summary = await s.invoke();

    const opened = s.events.filter((e) => e.kind === 'breaker-opened');
    if (staleDetail === undefined) {
      expect(opened).toEqual([]);
      expect(s.queue.published.map((m) => m.borrower).sort()).toEqual([A, B].sort());
    } else {
      expect(opened).toEqual([{ kind: 'breaker-opened', block: 100, asset: WBTC.asset, reason: 'stale', detail: staleDetail }]);
      expect(s.queue.published.map((m) => m.borrower)).toEqual([A]);
      expect(summary.breakerOpen).toEqual([WBTC.asset]);
    }
  });
});

describe('scanner handler: feeds without round data (ORACLE_UNDATED_FEEDS)', () => {
  const LOGGED = 'oracle feed has no round data';

  it('allow (default): both undatable assets logged once per invocation and counted, their accounts still enqueued', async () => {
    const s = scanner({}, adapterFeeds);

    const first = await s.invoke();

    expect(first.blocks).toBe(5);
    const logged = s.warnings(LOGGED);
    expect(logged.map(([, extra]) => (extra as { asset: string }).asset)).toEqual([WETH.asset, USDC.asset]);
    expect(logged.map(([message]) => message)).toEqual([
      'oracle feed has no round data: its price cannot be dated, price checks only (ORACLE_UNDATED_FEEDS=allow)',
      'oracle feed has no round data: its price cannot be dated, price checks only (ORACLE_UNDATED_FEEDS=allow)',
    ]);
    expect(logged[0][1]).toEqual({ block: 100, asset: WETH.asset, source: CAPO, reason: 'latestRoundData failed: reverted', policy: 'allow' });
    // One datapoint per invocation (the first block sees both): 2 undatable assets.
    expect(s.metric('UndatedFeeds')).toEqual([2]);
    expect(s.events.filter((e) => e.kind === 'breaker-opened')).toEqual([]);
    expect(s.queue.published.map((m) => m.borrower).sort()).toEqual([A, B].sort());

    // The next invocation reports them again, once.
    await s.invoke();
    expect(s.warnings(LOGGED)).toHaveLength(4);
    expect(s.metric('UndatedFeeds')).toEqual([2, 2]);
  });

  it('block: their breakers open with reason undated and hold back every account using them, still logged and counted', async () => {
    const s = scanner({ ORACLE_UNDATED_FEEDS: 'block' }, adapterFeeds);

    const summary = await s.invoke();

    const opened = s.events.filter((e) => e.kind === 'breaker-opened');
    expect(opened).toEqual([
      { kind: 'breaker-opened', block: 100, asset: WETH.asset, reason: 'undated', detail: `source ${CAPO} has no round data to date the price (latestRoundData failed: reverted)` },
      { kind: 'breaker-opened', block: 100, asset: USDC.asset, reason: 'undated', detail: `source ${CAPO} has no round data to date the price (latestRoundData failed: reverted)` },
    ]);
    // A uses WETH and USDC, B borrows WETH: neither is enqueued.
    expect(s.queue.published).toEqual([]);
    expect(summary.breakerOpen).toEqual([WETH.asset, USDC.asset]);
    expect(s.warnings(LOGGED).map(([message]) => message)).toEqual([
      'oracle feed has no round data: its price cannot be dated, breaker held open (ORACLE_UNDATED_FEEDS=block)',
      'oracle feed has no round data: its price cannot be dated, breaker held open (ORACLE_UNDATED_FEEDS=block)',
    ]);
    expect(s.metric('UndatedFeeds')).toEqual([2]);
  });

  it('a market whose feeds all have round data sends no UndatedFeeds and logs nothing about them', async () => {
    const s = scanner({ ORACLE_UNDATED_FEEDS: 'block' }, (_block, reading) => reading);

    await s.invoke();

    expect(s.warnings(LOGGED)).toEqual([]);
    expect(s.metric('UndatedFeeds')).toEqual([]);
    expect(s.queue.published.map((m) => m.borrower).sort()).toEqual([A, B].sort());
  });
});
