/**
 * npm run demo [-- --scenario NAME|FILE] [--report FILE] [--json]
 *
 * Boots the local world, plays the scenario's price shocks in real time and follows every block, printing how
 * many borrowers are liquidatable (health factor below 1). Ends with a summary table and a JSON report.
 * The liquidation pipeline (scanner → SQS → worker) plugs into this loop as it lands.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Contract } from 'ethers';
import { latestBlockNumber } from '../functions/adapters/chain/provider';
import { loadScenario, ScenarioError } from './world/scenario';
import { startWorld } from './world/world';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const POOL_ABI = [
  'function getUserAccountData(address user) view returns (uint256 totalCollateralBase, uint256 totalDebtBase, uint256 availableBorrowsBase, uint256 currentLiquidationThreshold, uint256 ltv, uint256 healthFactor)',
];
const WAD = 10n ** 18n;
/** Blocks to keep watching after the last shock. */
const SETTLE_BLOCKS = 3;

interface AccountState {
  address: string;
  label: string;
  healthFactorWad: bigint;
  debtBase: bigint;
  collateralBase: bigint;
  firstLiquidatableBlock?: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'default' },
      report: { type: 'string', default: 'demo-report.json' },
      json: { type: 'boolean', default: false },
    },
  });
  const started = Date.now();
  const scenario = loadScenario(values.scenario);
  console.error(`demo: scenario "${scenario.name}" — ${scenario.positions.length} borrowers on Aave ${scenario.aave}, ${scenario.shocks.length} shocks`);
  const world = await startWorld({ scenario, services: false, log: (line) => console.error(line) });
  try {
    const pool = new Contract(world.info.market.pool, POOL_ABI, world.provider);
    const accounts: AccountState[] = world.info.borrowers.map((b) => ({
      ...b,
      healthFactorWad: 0n,
      debtBase: 0n,
      collateralBase: 0n,
    }));
    const shocks = world.runShocks((line) => console.error(`  ${line}`));
    const lastShockBlock = world.info.startBlock + Math.max(0, ...scenario.shocks.map((s) => s.afterBlocks));
    let block = await latestBlockNumber(world.provider);
    let seen = -1;
    while (block < lastShockBlock + SETTLE_BLOCKS) {
      if (block !== seen) {
        seen = block;
        // Every read of one pass is pinned to the same block.
        await Promise.all(
          accounts.map(async (a) => {
            const data = await pool.getUserAccountData(a.address, { blockTag: block });
            a.healthFactorWad = data.healthFactor as bigint;
            a.debtBase = data.totalDebtBase as bigint;
            a.collateralBase = data.totalCollateralBase as bigint;
            if (a.healthFactorWad < WAD && a.firstLiquidatableBlock === undefined) a.firstLiquidatableBlock = block;
          }),
        );
        const liquidatable = accounts.filter((a) => a.healthFactorWad < WAD);
        const nearest = accounts.reduce((min, a) => (a.healthFactorWad < min ? a.healthFactorWad : min), 2n ** 256n - 1n);
        console.error(
          `  block ${block}: ${liquidatable.length}/${accounts.length} liquidatable, lowest HF ${(Number(nearest) / 1e18).toFixed(4)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
      block = await latestBlockNumber(world.provider);
    }
    shocks.stop();

    const liquidatable = accounts.filter((a) => a.healthFactorWad < WAD);
    const usd = (base: bigint) => Number(base) / 1e8;
    const report = {
      scenario: scenario.name,
      aave: scenario.aave,
      borrowers: accounts.length,
      blocks: { start: world.info.startBlock, end: seen },
      liquidatableAccounts: liquidatable.length,
      liquidatableDebtUsd: usd(liquidatable.reduce((sum, a) => sum + a.debtBase, 0n)),
      wallSeconds: (Date.now() - started) / 1000,
      accounts: liquidatable.map((a) => ({
        label: a.label,
        address: a.address,
        healthFactor: Number(a.healthFactorWad) / 1e18,
        collateralUsd: usd(a.collateralBase),
        debtUsd: usd(a.debtBase),
        firstLiquidatableBlock: a.firstLiquidatableBlock,
      })),
    };
    writeFileSync(values.report, JSON.stringify(report, null, 2));
    if (values.json) {
      console.log(JSON.stringify(report));
    } else {
      console.log('');
      console.log(`summary — scenario "${report.scenario}" on Aave ${report.aave}, blocks ${report.blocks.start}…${report.blocks.end}`);
      console.log(`  borrowers               ${report.borrowers}`);
      console.log(`  liquidatable (HF < 1)   ${report.liquidatableAccounts}`);
      console.log(`  liquidatable debt       $${report.liquidatableDebtUsd.toLocaleString('en-US', { maximumFractionDigits: 2 })}`);
      console.log(`  wall time               ${report.wallSeconds.toFixed(1)} s`);
      console.log(`  report                  ${values.report}`);
    }
  } finally {
    await world.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof ScenarioError ? err.message : `demo: ${(err as Error).message}`);
  process.exit(1);
});
