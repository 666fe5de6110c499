/**
 * The one-call oracle reader (AaveV3OracleLensReader: contracts/src/OracleLens.sol through an eth_call state
 * override) against the per-call AaveV3OracleReader, on the `default` local world with Aave v3.6 and V3.0. The
 * market is put through a price change and then through every way a reserve's price or feed can fail (a negative
 * answer, a source returning too little data, a source without code, no source, a source without the feed
 * functions); at every one of those blocks, read afterwards, both readers must report the same readings, and the
 * lens reader's borrow rates must be the Pool's. Then the fallback: behind a proxy that refuses state overrides,
 * the lens reader switches to per-call reads once and still reports what the per-call reader reports; behind a
 * proxy that fails calls for other reasons, it does not switch.
 *
 * Each block is compared against a fresh per-call reader: the per-call reader keeps sources cached per layout and
 * re-reads one only when its feed disagrees with a readable price, so a long-lived one does not notice a source
 * change that makes the price unreadable; the lens reads sources at every block.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Contract, getAddress, JsonRpcSigner, ZeroAddress, type JsonRpcProvider } from 'ethers';
import { AaveV3OracleLensReader } from '../../functions/adapters/chain/aave-v3-oracle-lens-reader';
import { AaveV3OracleReader, OracleReadError } from '../../functions/adapters/chain/aave-v3-oracle-reader';
import { createJsonRpcProvider, latestBlockNumber, pollReceipt } from '../../functions/adapters/chain/provider';
import type { OracleReading } from '../../functions/domain/oracle-breaker';
import { Deployer } from '../../local/world/deployer';
import { loadScenario, type Scenario } from '../../local/world/scenario';
import { ACCOUNTS } from '../../local/world/seed';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(120_000);

const POOL_ABI = ['function getReserveData(address asset) view returns (tuple(uint256 configuration, uint128 liquidityIndex, uint128 currentLiquidityRate, uint128 variableBorrowIndex, uint128 currentVariableBorrowRate, uint128 currentStableBorrowRate, uint40 lastUpdateTimestamp, uint16 id, address aTokenAddress, address stableDebtTokenAddress, address variableDebtTokenAddress, address interestRateStrategyAddress, uint128 accruedToTreasury, uint128 unbacked, uint128 isolationModeTotalDebt))'];
const AAVE_ORACLE_ABI = ['function setAssetSources(address[] assets, address[] sources)'];
const FEED_ABI = ['function setPrice(int256 answer)'];
/** An address nothing was ever deployed at. */
const NO_CODE = getAddress('0x000000000000000000000000000000000000dead');
/** Where the test installs a "feed" that answers every call with one word (anvil_setCode). */
const ONE_WORD_FEED = getAddress('0x00000000000000000000000000000000000f00d1');
/** PUSH32 101_000_000; PUSH1 0; MSTORE; PUSH1 32; PUSH1 0; RETURN: latestAnswer works, latestRoundData is short. */
const ONE_WORD_FEED_CODE = `0x7f${(101_000_000n).toString(16).padStart(64, '0')}60005260206000f3`;

/** What must agree between the readers: everything but the wording of an unavailable price or feed. */
function comparable(r: OracleReading) {
  return {
    asset: r.asset,
    reserveId: r.reserveId,
    price: r.price.kind === 'price' ? r.price : { kind: r.price.kind },
    feed: r.feed.kind === 'round' ? r.feed : { kind: r.feed.kind, source: r.feed.source },
  };
}

/**
 * A JSON-RPC proxy in front of the world's node: forwards everything, except that eth_call with a third (state
 * override) parameter is answered by `answerOverride` (a JSON-RPC error object) when it is set.
 */
async function startProxy(upstream: string): Promise<{ url: string; answerOverride?: { code: number; message: string }; seen: string[]; close(): Promise<void> }> {
  const state: { answerOverride?: { code: number; message: string }; seen: string[] } = { seen: [] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const call = JSON.parse(body) as { id: number; method: string; params: unknown[] };
      state.seen.push(call.method);
      if (call.method === 'eth_call' && call.params.length > 2 && state.answerOverride) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: call.id, error: state.answerOverride }));
        return;
      }
      fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        .then(async (upstreamResponse) => {
          res.writeHead(upstreamResponse.status, { 'content-type': 'application/json' });
          res.end(await upstreamResponse.text());
        })
        .catch((err: unknown) => {
          res.writeHead(502);
          res.end(String(err));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

describe.each(['v3.6', 'v3.0'] as const)('oracle lens reader on the local world, Aave %s', (aave) => {
  const scenario: Scenario = { ...loadScenario('default'), aave };
  let world: World;
  let pool: Contract;
  /** Blocks to compare at, with what the test did just before each. */
  const steps: { label: string; block: number }[] = [];

  async function send(contract: Contract, method: string, args: unknown[]): Promise<number> {
    const deployer = new Deployer(world.provider, new JsonRpcSigner(world.provider, ACCOUNTS.deployer));
    return (await deployer.send(contract, method, args)).blockNumber;
  }

  beforeAll(async () => {
    world = await startWorld({ scenario, blockTimeSec: 0, services: false, resourcePrefix: `it-oracle-lens-${aave.replace('.', '')}` });
    pool = new Contract(world.info.market.pool, POOL_ABI, world.provider);

    // The market goes through a price change, then through every way a price or a feed can fail. Every block is
    // read only after all of them, so every read is pinned to a past block.
    const signer = new JsonRpcSigner(world.provider, ACCOUNTS.deployer);
    const oracle = new Contract(world.info.market.aaveOracle, AAVE_ORACLE_ABI, signer);
    const { WETH, USDC, WBTC } = world.info.tokens;
    steps.push({ label: 'as seeded', block: await latestBlockNumber(world.provider) });
    steps.push({ label: 'WETH at $2,550', block: await world.setPrice('WETH', 2_550_00000000n) });
    const wbtcFeed = new Contract(world.info.feeds.WBTC, FEED_ABI, signer);
    const tx = await wbtcFeed.getFunction('setPrice').send(-1n);
    steps.push({ label: 'WBTC feed answers -1', block: (await pollReceipt(world.provider, tx.hash)).blockNumber });
    await world.provider.send('anvil_setCode', [ONE_WORD_FEED, ONE_WORD_FEED_CODE]);
    steps.push({ label: 'USDC source answers one word', block: await send(oracle, 'setAssetSources', [[USDC], [ONE_WORD_FEED]]) });
    steps.push({ label: 'WETH source has no code', block: await send(oracle, 'setAssetSources', [[WETH], [NO_CODE]]) });
    steps.push({ label: 'WBTC has no source', block: await send(oracle, 'setAssetSources', [[WBTC], [ZeroAddress]]) });
    steps.push({ label: 'WETH source is a token', block: await send(oracle, 'setAssetSources', [[WETH], [WETH]]) });
    // One more block, so that the last step's block is not the head (anvil answers the head from live state).
    await world.provider.send('evm_mine', []);
  });

  afterAll(async () => {
    await world?.stop();
  });

  it('reports, at every block, what the per-call reader reports, in one eth_call, with the Pool’s borrow rates', async () => {
    const lens = new AaveV3OracleLensReader(world.provider, world.info.market.pool);
    for (const { label, block } of steps) {
      // Arrange: a fresh per-call reader (see the file comment).
      const legacy = await new AaveV3OracleReader(world.provider, world.info.market.pool).readAt(block);

      // Act
      const read = await lens.readAt(block);

      // Assert
      expect({ label, rpcCalls: read.rpcCalls }).toEqual({ label, rpcCalls: 1 });
      expect({ label, block: read.block, ts: read.blockTimestampSec, oracle: read.oracle }).toEqual({ label, block, ts: legacy.blockTimestampSec, oracle: legacy.oracle });
      expect({ label, readings: read.readings.map(comparable) }).toEqual({ label, readings: legacy.readings.map(comparable) });
      for (const r of read.readings) {
        const data = await pool.getReserveData(r.asset, { blockTag: block });
        expect({ label, asset: r.asset, rate: r.variableBorrowRateRay }).toEqual({ label, asset: r.asset, rate: data.currentVariableBorrowRate });
      }
      // A missing source is worded alike; other failures in the lens's own words (checked below).
      legacy.readings.forEach((l, i) => {
        if (l.feed.kind === 'unavailable' && l.feed.source === ZeroAddress) expect(read.readings[i].feed).toEqual(l.feed);
      });
    }
  });

  it('reads each failure as the unavailable variant, in its own words', async () => {
    const lens = new AaveV3OracleLensReader(world.provider, world.info.market.pool);
    const { WETH, USDC, WBTC } = world.info.tokens;
    const at = async (label: string) => {
      const read = await lens.readAt(steps.find((s) => s.label === label)!.block);
      const of = (asset: string) => read.readings.find((r) => r.asset.toLowerCase() === asset.toLowerCase())!;
      return { WETH: of(WETH), USDC: of(USDC), WBTC: of(WBTC) };
    };

    const seeded = await at('as seeded');
    for (const r of Object.values(seeded)) expect(r.price.kind === 'price' && r.feed.kind === 'round').toBe(true);
    expect((await at('WETH at $2,550')).WETH).toMatchObject({ price: { kind: 'price', priceBase: 2_550_00000000n }, feed: { kind: 'round', answer: 2_550_00000000n } });

    const negative = (await at('WBTC feed answers -1')).WBTC;
    expect(negative.price).toEqual({ kind: 'unavailable', reason: 'getAssetPrice reverted' });
    expect(negative.feed).toMatchObject({ kind: 'round', answer: -1n });

    const oneWord = (await at('USDC source answers one word')).USDC;
    expect(oneWord.price).toEqual({ kind: 'price', priceBase: 101_000_000n });
    expect(oneWord.feed).toEqual({ kind: 'unavailable', source: ONE_WORD_FEED, reason: 'latestRoundData failed: returned too little data' });

    const noCode = (await at('WETH source has no code')).WETH;
    expect(noCode.price).toEqual({ kind: 'unavailable', reason: 'getAssetPrice reverted' });
    expect(noCode.feed).toEqual({ kind: 'unavailable', source: NO_CODE, reason: 'latestRoundData failed: no code at source' });

    const noSource = (await at('WBTC has no source')).WBTC;
    expect(noSource.price).toEqual({ kind: 'unavailable', reason: 'getAssetPrice reverted' });
    expect(noSource.feed).toEqual({ kind: 'unavailable', source: ZeroAddress, reason: 'no source (base currency or fallback oracle only)' });

    const token = (await at('WETH source is a token')).WETH;
    expect(token.price).toEqual({ kind: 'unavailable', reason: 'getAssetPrice reverted' });
    expect(token.feed).toEqual({ kind: 'unavailable', source: WETH, reason: 'latestRoundData failed: reverted' });
  });

  describe('behind a proxy', () => {
    let proxy: Awaited<ReturnType<typeof startProxy>>;
    let proxied: JsonRpcProvider;

    beforeEach(async () => {
      proxy = await startProxy(world.info.rpcUrl);
      proxied = createJsonRpcProvider(proxy.url, BigInt(world.info.chainId));
    });

    afterEach(async () => {
      proxied.destroy();
      await proxy.close();
    });

    it('that refuses state overrides: falls back once, then reads as the per-call reader does', async () => {
      // Arrange
      proxy.answerOverride = { code: -32602, message: 'invalid params: too many arguments, want at most 2' };
      const notices: string[] = [];
      const lens = new AaveV3OracleLensReader(proxied, world.info.market.pool, { onFallback: (reason) => notices.push(reason) });
      // Both go through the blocks in the same order, so their caches evolve alike.
      const legacy = new AaveV3OracleReader(world.provider, world.info.market.pool);

      for (const [i, { block }] of steps.entries()) {
        // Act
        const read = await lens.readAt(block);
        const expected = await legacy.readAt(block);

        // Assert: the refused lens call is counted on the read that made it.
        expect(read).toEqual({ ...expected, rpcCalls: expected.rpcCalls + (i === 0 ? 1 : 0) });
      }
      expect(lens.currentMode).toBe('per-call');
      expect(notices).toEqual([
        'node refused the eth_call state override (invalid params: too many arguments, want at most 2 (code -32602)); reading the oracle with 4 + N calls per block',
      ]);
      expect(proxy.seen.filter((m) => m === 'eth_call').length).toBeGreaterThan(steps.length);
    });

    it.each([
      ['a node error', { code: -32000, message: 'header not found' }],
      ['a rate limit (retried by the provider, then given up)', { code: -32005, message: 'rate limit exceeded' }],
    ])('that fails the call with %s: an OracleReadError, and no fallback', async (_case, error) => {
      proxy.answerOverride = error;
      const notices: string[] = [];
      const lens = new AaveV3OracleLensReader(proxied, world.info.market.pool, { onFallback: (reason) => notices.push(reason) });

      const read = lens.readAt(steps[0].block);

      await expect(read).rejects.toThrow(OracleReadError);
      await expect(read).rejects.toThrow(`oracle read at block ${steps[0].block} failed: oracle lens call failed`);
      expect(lens.currentMode).toBe('lens-override');
      expect(notices).toEqual([]);
    });
  });
});
