/**
 * Change-driven reads find exactly what reading every account at every block finds, on the `large` world (10,000
 * borrowers, Aave v3.6, blocks mined by the test): two scanners follow the same blocks, one in `every-block` mode,
 * one in `changes` mode with the production adapters (one-call oracle lens, one eth_getLogs of position changes,
 * readings kept between invocations as in a warm Lambda container). At every block the set of accounts each one
 * saw with debt and HF < 1 must be equal — so the same accounts, at the same first liquidatable block — through:
 *   - quiet blocks (nothing to read but the change log),
 *   - ETH −3 % (hundreds of accounts fall under 1 at once; the rest must not be read),
 *   - 30 days of interest in one step (accounts near 1 drift under it with no price move),
 *   - WBTC −4 %, then USDC (a debt asset) +1 %,
 *   - an account that borrows more in its own transaction (a price-wise safe reading made stale by a position
 *     change), then ETH −1 % taking it under 1,
 *   - ten more days (every reading older than the read interval, here 40 days so the interest bound is tested).
 * Each step is one block: one invocation of each scanner (maxBlocks 1).
 */
import { Contract, JsonRpcSigner, type JsonRpcProvider } from 'ethers';
import { AaveV3OracleLensReader } from '../../functions/adapters/chain/aave-v3-oracle-lens-reader';
import { AaveV3PositionChanges } from '../../functions/adapters/chain/aave-v3-position-changes';
import { AaveV3HealthScanner } from '../../functions/adapters/chain/health-scan';
import { latestBlockNumber } from '../../functions/adapters/chain/provider';
import { DEFAULT_READ_POLICY } from '../../functions/domain/read-policy';
import { DEFAULT_WATCH_TIER_POLICY } from '../../functions/domain/watch-tier';
import { AccountReads } from '../../functions/pipeline/account-reads';
import { type AccountScanner, type BlockProgress, type ReadMode, scanBlocks, type ScanBlocksSettings } from '../../functions/pipeline/scan-blocks';
import { systemClock } from '../../functions/ports/clock';
import { MemoryBorrowerStore } from '../../local/runtime/memory-borrower-store';
import { loadScenario } from '../../local/world/scenario';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(600_000);

const WAD = 10n ** 18n;
/** The production policy with a 40-day read interval, so 30 days of interest are left to the interest bound. */
const POLICY = { ...DEFAULT_READ_POLICY, maxReadIntervalSec: 40n * 24n * 3600n };
/** Dev account 6 of anvil's mnemonic: no role in the world. */
const BORROWER = '0x976EA74026E726554dB657fA54763abd0C3a0aa9';
const POOL_ABI = [
  'function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode)',
  'function borrow(address asset, uint256 amount, uint256 interestRateMode, uint16 referralCode, address onBehalfOf)',
  'function withdraw(address asset, uint256 amount, address to) returns (uint256)',
  'function getUserAccountData(address user) view returns (uint256, uint256, uint256, uint256, uint256, uint256 healthFactor)',
];

interface Side {
  name: string;
  reads: ReadMode;
  store: MemoryBorrowerStore;
  accountReads?: AccountReads;
  /** Per block handled: the accounts read with debt and HF < 1. */
  liquidatable: Map<number, Set<string>>;
  progress: BlockProgress[];
}

/** Records, per block, the accounts the scan found liquidatable. */
function recording(inner: AccountScanner, side: Side): AccountScanner {
  return {
    scan: async (users, block) => {
      const result = await inner.scan(users, block);
      const found = side.liquidatable.get(block) ?? new Set<string>();
      for (const a of result.accounts) if (a.totalDebtBase > 0n && a.healthFactorWad < WAD) found.add(a.user.toLowerCase());
      side.liquidatable.set(block, found);
      return result;
    },
  };
}

describe('change-driven reads on the large world', () => {
  let world: World;
  let provider: JsonRpcProvider;
  const sides: Side[] = [];

  beforeAll(async () => {
    world = await startWorld({ scenario: loadScenario('large'), blockTimeSec: 0, services: false });
    provider = world.provider;
    const borrowers = [...world.info.borrowers.map((b) => b.address), BORROWER];
    for (const [name, reads] of [
      ['every-block', { mode: 'every-block' }],
      ['changes', { mode: 'changes', policy: POLICY, maxGapBlocks: 1_000 }],
    ] as const) {
      sides.push({
        name,
        reads,
        store: new MemoryBorrowerStore(borrowers, world.info.startBlock),
        ...(reads.mode === 'changes' ? { accountReads: new AccountReads(reads.policy, reads.maxGapBlocks) } : {}),
        liquidatable: new Map(),
        progress: [],
      });
    }
  });

  afterAll(async () => {
    await world?.stop();
  });

  /** One invocation of each scanner, handling the current head block. */
  async function scanHead(): Promise<number> {
    const head = await latestBlockNumber(provider);
    for (const side of sides) {
      const settings: ScanBlocksSettings = {
        chainId: Number(world.info.chainId),
        pool: world.info.market.pool,
        marketKey: `${world.info.chainId}#${world.info.market.pool.toLowerCase()}`,
        deadlineMarginMs: 0,
        pollIntervalMs: 50,
        reads: side.reads,
        reenqueueAfterBlocks: 1_000,
        snapshotRetentionSec: 3_600,
        breaker: { maxAgeSec: 10n ** 9n, maxDeviationBps: 5_000n },
        tiers: DEFAULT_WATCH_TIER_POLICY,
        materialChangeBps: 100n,
        maxConsecutiveBlockFailures: 1,
      };
      const summary = await scanBlocks(
        {
          settings,
          store: side.store,
          queue: { publish: async (messages) => ({ sent: messages.length, failed: [] }) },
          accounts: recording(new AaveV3HealthScanner(provider, world.info.market.pool, { chunkSize: 500 }), side),
          oracle: new AaveV3OracleLensReader(provider, world.info.market.pool),
          blocks: { latestBlockNumber: () => latestBlockNumber(provider) },
          changes: new AaveV3PositionChanges(provider, world.info.market.pool),
          ...(side.accountReads ? { reads: side.accountReads } : {}),
          clock: systemClock,
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          onEvent: (event) => {
            if (event.kind === 'block') side.progress.push(event.progress);
          },
        },
        { deadlineAtMs: Date.now() + 120_000, maxBlocks: 1 },
      );
      expect(summary).toMatchObject({ blocks: 1, lastBlock: head, failedBlocks: 0 });
    }
    return head;
  }

  const [full, changes] = [0, 1];
  const liquidatableAt = (side: number, block: number) => [...(sides[side].liquidatable.get(block) ?? [])].sort();
  const readsAt = (side: number, block: number) => sides[side].progress.find((p) => p.block === block)!;

  async function step(label: string, act: () => Promise<unknown>): Promise<{ block: number; label: string }> {
    await act();
    const block = await scanHead();
    expect({ label, block, accounts: liquidatableAt(changes, block) }).toEqual({ label, block, accounts: liquidatableAt(full, block) });
    return { block, label };
  }

  it('finds the same liquidatable accounts at every block through shocks, interest, a position change and the read interval', async () => {
    const pool = new Contract(world.info.market.pool, POOL_ABI, new JsonRpcSigner(provider, BORROWER));
    const mine = () => provider.send('evm_mine', []);
    const price = (symbol: 'WETH' | 'WBTC' | 'USDC') => world.info.feeds[symbol];
    const feedAt = async (symbol: 'WETH' | 'WBTC' | 'USDC') => BigInt(await provider.call({ to: price(symbol), data: '0x50d25bcd' })); // latestAnswer()
    const scaled = async (symbol: 'WETH' | 'WBTC' | 'USDC', bps: bigint) => world.setPrice(symbol, ((await feedAt(symbol)) * bps) / 10_000n);

    // An account of its own: 10 WETH of collateral, a small USDC debt (HF far above 1).
    await world.fundAccount(BORROWER);
    await pool.supply(world.info.tokens.WETH, 10n * WAD, BORROWER, 0).then((tx) => tx.wait());
    await pool.borrow(world.info.tokens.USDC, 5_000n * 10n ** 6n, 2, 0, BORROWER).then((tx) => tx.wait());

    const steps = [await step('first block', mine)];
    for (let i = 0; i < 3; i++) steps.push(await step(`quiet ${i}`, mine));
    steps.push(await step('ETH −3 %', () => scaled('WETH', 9_700n)));
    steps.push(await step('quiet after the shock', mine));
    steps.push(await step('30 days of interest', async () => {
      await provider.send('evm_increaseTime', [30 * 24 * 3600]);
      await mine();
    }));
    steps.push(await step('WBTC −4 %', () => scaled('WBTC', 9_600n)));
    steps.push(await step('USDC +1 %', () => scaled('USDC', 10_100n)));
    // Our account withdraws collateral down to just above HF 1 (its previous reading said about 5): only the
    // Withdraw event can tell (a withdrawal needs HF ≥ 1 after it, not the LTV a borrow needs).
    const { healthFactor: before } = await new Contract(world.info.market.pool, POOL_ABI, provider).getUserAccountData(BORROWER);
    expect(before).toBeGreaterThan(2n * WAD);
    const withdraw = async () => {
      // Only WETH is collateral: HF scales with it, so keep 1.008 / HF_before of the 10 WETH.
      const keep = (10n * WAD * 1_008n * WAD) / (1_000n * before);
      await pool.withdraw(world.info.tokens.WETH, 10n * WAD - keep, BORROWER).then((tx) => tx.wait());
    };
    steps.push(await step('our account withdraws', withdraw));
    steps.push(await step('ETH −1 %', () => scaled('WETH', 9_900n)));
    steps.push(await step('ten days later', async () => {
      await provider.send('evm_increaseTime', [10 * 24 * 3600]);
      await mine();
    }));

    const at = (label: string) => steps.find((s) => s.label === label)!.block;
    const newly = (label: string) => {
      const index = steps.findIndex((s) => s.label === label);
      const previous = new Set(liquidatableAt(full, steps[index - 1].block));
      return liquidatableAt(full, at(label)).filter((a) => !previous.has(a));
    };
    // The sequence is not vacuous: accounts fell under 1 at the shocks, with interest alone, and ours after its borrow.
    expect(newly('ETH −3 %').length).toBeGreaterThan(100);
    expect(newly('30 days of interest').length).toBeGreaterThan(0);
    expect(newly('ETH −1 %')).toContain(BORROWER.toLowerCase());
    // And the change-driven scanner read far fewer accounts than every account at every block.
    const total = (side: number) => sides[side].progress.reduce((sum, p) => sum + p.accountsScanned, 0);
    expect(total(changes)).toBeLessThan(total(full) / 3);
    // Quiet blocks read nothing but the accounts already under 1 + margin; 30 days read those the interest bound
    // (at least 100 % a year) could take there, not everyone; 40 days after the first read everyone is read again.
    expect(readsAt(changes, at('quiet 1')).readsBy.unread).toBeUndefined();
    expect(readsAt(changes, at('our account withdraws')).forgotten).toBeGreaterThanOrEqual(1);
    expect(readsAt(changes, at('30 days of interest')).readsBy['near-liquidation']).toBeLessThan(5_000);
    expect(readsAt(changes, at('30 days of interest')).readsBy.interval).toBeUndefined();
    expect(readsAt(changes, at('ten days later')).readsBy.interval).toBeGreaterThan(5_000);
    console.log(
      steps
        .map((s) => `${s.label} (block ${s.block}): liquidatable ${liquidatableAt(full, s.block).length}; read ${readsAt(full, s.block).accountsScanned} vs ${readsAt(changes, s.block).accountsScanned} (${JSON.stringify(readsAt(changes, s.block).readsBy)})`)
        .join('\n'),
    );
  });
});
