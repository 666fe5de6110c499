/**
 * Node errors are not reverts, on the `default` local world (Aave v3.6, 43 borrowers) behind the chaos proxy
 * (local/chaos/rpc-fault-proxy.ts) answering the way real nodes do, read through the keeper's own provider
 * (createJsonRpcProvider: ethers' FetchRequest with its retries of 429 and 5xx):
 * (a) a node that refuses state overrides (geth's "too many arguments, want at most 2"): the health scanner and
 *     the oracle lens reader fall back once and read what they read on the bare node at the same block;
 * (b) a node that fails eth_call (header not found, HTTP 429 with a -32005 body): the scan throws a retryable
 *     error and reports no account unreadable; the position reader and the liquidator simulation throw errors the
 *     worker's classification calls retryable;
 * (c) genuine reverts stay reverts: accounts whose getUserAccountData reverts (WBTC's feed answering -1 with no
 *     fallback oracle: AaveOracle reverts for every account using WBTC) are unreadable in both scan modes, and
 *     simulating the liquidation of a healthy account is a revert, HealthFactorNotBelowThreshold.
 */
import { Contract, JsonRpcSigner, type JsonRpcProvider } from 'ethers';
import { AaveV3OracleLensReader } from '../../functions/adapters/chain/aave-v3-oracle-lens-reader';
import { AaveV3OracleReader, OracleReadError, type OracleReadResult } from '../../functions/adapters/chain/aave-v3-oracle-reader';
import { AaveV3PositionReader } from '../../functions/adapters/chain/aave-v3-position-reader';
import { NodeCallError } from '../../functions/adapters/chain/call-failure';
import { AaveV3HealthScanner, type HealthScanResult } from '../../functions/adapters/chain/health-scan';
import { EthersLiquidatorContract } from '../../functions/adapters/chain/liquidator-contract';
import { createJsonRpcProvider, latestBlockNumber, pollReceipt } from '../../functions/adapters/chain/provider';
import { classifyWorkerFailure } from '../../functions/adapters/failure-classification';
import { ruleSetForPoolVersion } from '../../functions/domain';
import type { LiquidatorCall } from '../../functions/ports/liquidator-contract';
import { type RpcFaultProxy, type RpcFaults, startRpcFaultProxy } from '../../local/chaos/rpc-fault-proxy';
import { encodeV3Path, findPool } from '../../local/world/dex';
import { loadScenario } from '../../local/world/scenario';
import { ACCOUNTS } from '../../local/world/seed';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(180_000);

const WAD = 10n ** 18n;
const POOL_ABI = [
  'function getUserAccountData(address user) view returns (uint256 totalCollateralBase, uint256 totalDebtBase, uint256 availableBorrowsBase, uint256 currentLiquidationThreshold, uint256 ltv, uint256 healthFactor)',
];
const FEED_ABI = ['function setPrice(int256 answer)'];

/** What a scan found, whatever way it read it (unreadable accounts come in the order their calls ended). */
const found = (scan: HealthScanResult) => ({
  block: scan.block,
  accounts: scan.accounts,
  unreadable: [...scan.unreadable].sort((a, b) => a.user.localeCompare(b.user)),
});

/** An oracle read without what only the lens reads (each reserve's borrow rate) and the cost of the read. */
function observed(read: OracleReadResult) {
  return {
    block: read.block,
    blockTimestampSec: read.blockTimestampSec,
    oracle: read.oracle,
    readings: read.readings.map(({ asset, reserveId, price, feed }) => ({ asset, reserveId, price, feed })),
  };
}

describe('node errors are not reverts (default world behind the chaos proxy)', () => {
  const scenario = loadScenario('default');
  let world: World;
  let users: string[];
  /** The seeded market: every account readable. */
  let seeded: number;
  /** WBTC's feed answers -1: getUserAccountData reverts for every account using WBTC. */
  let wbtcBroken: number;
  const open: { proxy: RpcFaultProxy; provider: JsonRpcProvider }[] = [];

  async function behindProxy(seed: number, faults: Partial<RpcFaults>): Promise<{ proxy: RpcFaultProxy; provider: JsonRpcProvider }> {
    const proxy = await startRpcFaultProxy({ upstream: world.info.rpcUrl, seed, faults });
    const provider = createJsonRpcProvider(proxy.url, BigInt(world.info.chainId));
    open.push({ proxy, provider });
    return { proxy, provider };
  }

  /** Borrowers whose getUserAccountData reverts at `block`, asked of the bare node one by one: the referee. */
  async function revertingAt(block: number): Promise<string[]> {
    const pool = new Contract(world.info.market.pool, POOL_ABI, world.provider);
    const reverting: string[] = [];
    for (const user of users) {
      const reverted = await pool.getUserAccountData(user, { blockTag: block }).then(
        () => false,
        (err: { code?: string }) => err.code === 'CALL_EXCEPTION',
      );
      if (reverted) reverting.push(user);
    }
    return reverting;
  }

  /** Liquidating `user`'s WETH for its USDC debt through our contract, flash-loaned, swapping on the world's pool. */
  function liquidationOf(user: string): LiquidatorCall {
    const { WETH, USDC } = world.info.tokens;
    const pool = findPool(world.info.dex.pools, 'WETH', 'USDC');
    if (!pool) throw new Error('the world has no WETH/USDC pool');
    return {
      collateralAsset: WETH,
      debtAsset: USDC,
      user,
      debtToCoverUnits: 1_000_000_000n,
      swapPath: encodeV3Path([WETH, USDC], [pool.fee]),
      amountOutMinimumUnits: 0n,
      minProfitUnits: 0n,
      flashLoan: true,
    };
  }

  beforeAll(async () => {
    world = await startWorld({ scenario, blockTimeSec: 0, services: false, resourcePrefix: 'it-node-errors' });
    users = world.info.borrowers.map((b) => b.address);
    seeded = await latestBlockNumber(world.provider);
    const feed = new Contract(world.info.feeds.WBTC, FEED_ABI, new JsonRpcSigner(world.provider, ACCOUNTS.deployer));
    const tx = await feed.getFunction('setPrice').send(-1n);
    wbtcBroken = (await pollReceipt(world.provider, tx.hash)).blockNumber;
    // One more block, so that no block read is the head (anvil answers the head from live state).
    await world.provider.send('evm_mine', []);
  });

  afterEach(async () => {
    for (const { proxy, provider } of open.splice(0)) {
      provider.destroy();
      await proxy.close();
    }
  });

  afterAll(async () => {
    await world?.stop();
  });

  describe('(a) a node that refuses state overrides', () => {
    it('the health scanner falls back once and finds exactly what the lens finds on the bare node', async () => {
      // Arrange
      const bare = await new AaveV3HealthScanner(world.provider, world.info.market.pool).scan(users, seeded);
      const { proxy, provider } = await behindProxy(1, { overrides: 'refuse' });
      const notices: string[] = [];
      const scanner = new AaveV3HealthScanner(provider, world.info.market.pool, { onFallback: (reason) => notices.push(reason) });

      // Act
      const first = await scanner.scan(users, seeded);
      const second = await scanner.scan(users, seeded);

      // Assert
      expect(bare.mode).toBe('lens-override');
      expect(bare.accounts).toHaveLength(users.length);
      expect(first.mode).toBe('per-account');
      expect(found(first)).toEqual(found(bare));
      expect(found(second)).toEqual(found(bare));
      expect(notices).toEqual(['node refused the eth_call state override (too many arguments, want at most 2 (code -32602)); reading accounts one call each']);
      // One refused lens call (one chunk), then plain calls only: two per account per scan.
      expect(proxy.stats().byMethod.eth_call).toEqual({ calls: 1 + 4 * users.length, errors: 1, drops: 0, delayed: 0 });
    });

    it('the oracle lens reader falls back once and reads what the per-call reader reads on the bare node (and the lens, but its borrow rates)', async () => {
      // Arrange
      const lensOnBareNode = await new AaveV3OracleLensReader(world.provider, world.info.market.pool).readAt(seeded);
      const perCallOnBareNode = await new AaveV3OracleReader(world.provider, world.info.market.pool).readAt(seeded);
      const { proxy, provider } = await behindProxy(2, { overrides: 'refuse' });
      const notices: string[] = [];
      const reader = new AaveV3OracleLensReader(provider, world.info.market.pool, { onFallback: (reason) => notices.push(reason) });

      // Act
      const first = await reader.readAt(seeded);
      const second = await reader.readAt(wbtcBroken);

      // Assert
      expect(reader.currentMode).toBe('per-call');
      expect(first).toEqual({ ...perCallOnBareNode, rpcCalls: perCallOnBareNode.rpcCalls + 1 });
      expect(observed(first)).toEqual(observed(lensOnBareNode));
      expect(second.readings.find((r) => r.asset === world.info.tokens.WBTC)?.feed).toMatchObject({ kind: 'round', answer: -1n });
      expect(notices).toEqual(['node refused the eth_call state override (too many arguments, want at most 2 (code -32602)); reading the oracle with 4 + N calls per block']);
      expect(proxy.stats().byMethod.eth_call.errors).toBe(1);
    });
  });

  describe('(b) a node that fails eth_call', () => {
    it.each([
      ['header not found', 'header-not-found', /: node-error: header not found \(code -32000\)$/],
      ['HTTP 429 with a rate-limit body, retried by the provider and given up', 'rate-limited', /: rate-limited: HTTP 599 CLIENT ESCALATED SERVER ERROR \(429 Too Many Requests; exceeded maximum retry limit\)$/],
    ] as const)('%s: the scan throws a retryable error in both modes, and reports no account unreadable', async (_case, answer, message) => {
      // Arrange
      const { proxy, provider } = await behindProxy(3, { nodeErrorRate: 1, nodeErrors: [answer], methods: ['eth_call'] });
      const notices: string[] = [];
      const lens = new AaveV3HealthScanner(provider, world.info.market.pool, { onFallback: (reason) => notices.push(reason) });
      const perAccount = new AaveV3HealthScanner(provider, world.info.market.pool, { mode: 'per-account' });

      // Act
      const lensError = await lens.scan(users, seeded).catch((err: unknown) => err);
      const perAccountError = await perAccount.scan(users, seeded).catch((err: unknown) => err);
      proxy.setFaults({ nodeErrorRate: 0 });
      const afterwards = await lens.scan(users, seeded);

      // Assert
      for (const error of [lensError, perAccountError]) {
        expect(error).toBeInstanceOf(NodeCallError);
        expect((error as Error).message).toMatch(message);
        expect(classifyWorkerFailure(error)).toBe('retryable');
      }
      expect(lens.currentMode).toBe('lens-override');
      expect(notices).toEqual([]);
      expect(afterwards).toMatchObject({ mode: 'lens-override', unreadable: [] });
      expect(afterwards.accounts).toHaveLength(users.length);
    });

    it('the oracle readers fail the read (retryable) instead of calling a feed unavailable', async () => {
      const { provider } = await behindProxy(4, { nodeErrorRate: 1, nodeErrors: ['header-not-found'], methods: ['eth_call'] });

      for (const reader of [new AaveV3OracleLensReader(provider, world.info.market.pool), new AaveV3OracleReader(provider, world.info.market.pool)]) {
        const error = await reader.readAt(seeded).catch((err: unknown) => err);
        expect(error).toBeInstanceOf(OracleReadError);
        expect((error as Error).message).toMatch(/node-error: header not found \(code -32000\)$/);
        expect(classifyWorkerFailure(error)).toBe('retryable');
      }
    });

    it('the position reader and the liquidator simulation throw errors the worker calls retryable', async () => {
      // Arrange
      const { provider } = await behindProxy(5, { nodeErrorRate: 1, nodeErrors: ['header-not-found', 'rate-limited'], methods: ['eth_call'] });
      const reader = new AaveV3PositionReader(provider, world.info.market.pool, ruleSetForPoolVersion(scenario.aave));
      const liquidator = new EthersLiquidatorContract(provider, world.info.liquidatorContract);

      // Act
      const readError = await reader.readPosition(users[0], seeded).catch((err: unknown) => err);
      const simulationError = await liquidator.simulate(liquidationOf(users[0]), world.info.accounts.liquidators[0], seeded).catch((err: unknown) => err);

      // Assert
      expect(readError).toBeInstanceOf(NodeCallError);
      expect((readError as Error).message).toMatch(/^reading the (market|position of 0x[0-9a-fA-F]{40}) at block \d+: (node-error|rate-limited): /);
      expect(classifyWorkerFailure(readError)).toBe('retryable');
      expect(simulationError).toBeInstanceOf(NodeCallError);
      expect((simulationError as Error).message).toMatch(new RegExp(`^simulating liquidate of ${users[0]} at block ${seeded}: (node-error|rate-limited): `));
      expect(classifyWorkerFailure(simulationError)).toBe('retryable');
    });
  });

  describe('(c) genuine reverts are still reverts', () => {
    it('accounts whose getUserAccountData reverts are unreadable, in both modes, and only those', async () => {
      // Arrange
      const reverting = await revertingAt(wbtcBroken);
      const { provider } = await behindProxy(6, { overrides: 'refuse' });

      // Act
      const bare = await new AaveV3HealthScanner(world.provider, world.info.market.pool).scan(users, wbtcBroken);
      const fallenBack = await new AaveV3HealthScanner(provider, world.info.market.pool).scan(users, wbtcBroken);

      // Assert
      expect(reverting.length).toBeGreaterThan(0);
      expect(reverting.length).toBeLessThan(users.length);
      expect(bare.mode).toBe('lens-override');
      expect(fallenBack.mode).toBe('per-account');
      expect(bare.unreadable.map((u) => u.user).sort()).toEqual([...reverting].sort());
      expect(found(fallenBack)).toEqual(found(bare));
      expect(bare.accounts.map((a) => a.user)).toEqual(users.filter((u) => !reverting.includes(u)));
    });

    it('simulating the liquidation of a healthy account is a revert, on the bare node and behind a node that refuses overrides', async () => {
      // Arrange
      const healthy = (await new AaveV3HealthScanner(world.provider, world.info.market.pool).scan(users, seeded)).accounts.find(
        (a) => a.healthFactorWad >= WAD && a.totalDebtBase > 0n && a.user === users[0],
      );
      expect(healthy).toBeDefined();
      const { provider } = await behindProxy(7, { overrides: 'refuse' });
      const call = liquidationOf(users[0]);
      const from = world.info.accounts.liquidators[0];

      // Act
      const bare = await new EthersLiquidatorContract(world.provider, world.info.liquidatorContract).simulate(call, from, seeded);
      const proxied = await new EthersLiquidatorContract(provider, world.info.liquidatorContract).simulate(call, from, seeded);

      // Assert
      expect(bare).toMatchObject({ kind: 'revert', block: seeded, revertClass: 'market-moved', reason: expect.stringMatching(/^HealthFactorNotBelowThreshold/) });
      expect(proxied).toEqual(bare);
    });
  });
});
