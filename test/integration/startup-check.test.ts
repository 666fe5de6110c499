/**
 * The start-up check against a real local market (Aave 3.6 compiled from npm, our liquidator contract, Uniswap
 * V3): the world's own addresses pass; each wrong address a configuration could hold is refused by the variable
 * that holds it; and the functions' start-up paths (scanner runtime, worker execution adapters) refuse before
 * building anything on a wrong market; the trigger, which wires both sides, checks the market once.
 */
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { ethersStartupChain } from '../../functions/adapters/chain/startup-chain';
import { ConfigError, loadPipelineConfig } from '../../functions/config/pipeline-config';
import { checkStartup, type StartupExpectations } from '../../functions/config/startup-check';
import { poolVersionProfile } from '../../functions/domain';
import { scannerRuntimeFromConfig } from '../../functions/handlers/scanner';
import { triggerRuntimeFromConfig } from '../../functions/handlers/trigger';
import { executeCandidateDepsFromConfig } from '../../functions/handlers/worker';
import { startRpcFaultProxy } from '../../local/chaos/rpc-fault-proxy';
import { LOCAL_LIQUIDATOR_KEYS } from '../../local/world/seed';
import { loadScenario } from '../../local/world/scenario';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(300_000);

/** anvil's dev account 9: funded, never authorised on our liquidator contract. */
const STRANGER_KEY = '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6';

let world: World;
let expectations: StartupExpectations;
const signers = LOCAL_LIQUIDATOR_KEYS.map((key) => new Wallet(key).address);

beforeAll(async () => {
  world = await startWorld({ scenario: loadScenario(join(__dirname, 'fixtures', 'funded-differential.json')), blockTimeSec: 0, services: false });
  const { market, tokens, dex, liquidatorContract, chainId } = world.info;
  expectations = {
    chainId: Number(chainId),
    pool: market.pool,
    poolVersion: poolVersionProfile('3.6'),
    addressesProvider: market.poolAddressesProvider,
    oracle: market.aaveOracle,
    dataProvider: market.protocolDataProvider,
    nativePriceAsset: tokens.WETH,
    quoter: dex.quoter,
    router: dex.swapRouter,
    liquidator: { address: liquidatorContract, source: 'LIQUIDATOR_ADDRESS' },
    signers,
  };
});

afterAll(async () => {
  await world?.stop();
});

async function problemsOf(run: Promise<unknown>): Promise<string[]> {
  const error = await run.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).problems;
}

describe('the start-up check on the local market', () => {
  it('passes the world\'s own addresses: revision 10, every signer authorised and funded', async () => {
    const report = await checkStartup(expectations, ethersStartupChain(world.provider));
    expect(report.poolRevision).toBe(10n);
    expect(report.warnings).toEqual([]);
    expect(Object.keys(report.signerBalances)).toEqual(signers);
    for (const balance of Object.values(report.signerBalances)) expect(balance).toBeGreaterThan(0n);
  });

  it('refuses a token where the Pool should be: it does not answer POOL_REVISION()', async () => {
    const weth = world.info.tokens.WETH;
    expect(await problemsOf(checkStartup({ ...expectations, pool: weth }, ethersStartupChain(world.provider)))).toContain(
      `POOL_ADDRESS: the contract at ${weth} does not answer POOL_REVISION()`,
    );
  });

  it('refuses a Pool configured as another version, an oracle that is not the market\'s, and an account where the quoter should be', async () => {
    const problems = await problemsOf(
      checkStartup({ ...expectations, poolVersion: poolVersionProfile('3.3'), oracle: world.info.market.protocolDataProvider, quoter: signers[0] }, ethersStartupChain(world.provider)),
    );
    expect(problems).toEqual([
      `SWAP_QUOTER_ADDRESS: no contract at ${signers[0]} on chain 31337`,
      `AAVE_POOL_VERSION: 3.3 expects POOL_REVISION() 6 or 7, but the Pool at ${world.info.market.pool} reports 10 (a 3.6 Pool)`,
      `PRICE_ORACLE_ADDRESS: the market's addresses provider ${world.info.market.poolAddressesProvider} reports getPriceOracle() ${world.info.market.aaveOracle}, not ${world.info.market.protocolDataProvider}`,
    ]);
  });

  describe('in the functions\' start-up', () => {
    const env = () => ({
      CHAIN_ID: world.info.chainId,
      MARKET_NAME: 'startup-check',
      POOL_ADDRESS: world.info.market.pool,
      AAVE_POOL_VERSION: '3.6',
      RPC_URL: world.info.rpcUrl,
      ADDRESSES_PROVIDER_ADDRESS: world.info.market.poolAddressesProvider,
      PRICE_ORACLE_ADDRESS: world.info.market.aaveOracle,
      // Never contacted: the check refuses before any store or queue is used.
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
      SQS_ENDPOINT: 'http://127.0.0.1:9',
      BORROWERS_TABLE: 'borrowers',
      SNAPSHOTS_TABLE: 'snapshots',
      LEDGER_TABLE: 'ledger',
      NONCE_LEASES_TABLE: 'nonces',
      KEEPER_STATE_TABLE: 'state',
      CANDIDATES_QUEUE_URL: 'http://127.0.0.1:9/queue/candidates.fifo',
      SIGNER_MODE: 'local',
      SIGNER_PRIVATE_KEY: LOCAL_LIQUIDATOR_KEYS[0],
      NATIVE_PRICE_ASSET: world.info.tokens.WETH,
      LIQUIDATOR_ADDRESS: world.info.liquidatorContract,
      SWAP_QUOTER_ADDRESS: world.info.dex.quoter,
      SWAP_ROUTER_ADDRESS: world.info.dex.swapRouter,
    });

    it('the scanner refuses the addresses provider of another market, naming ADDRESSES_PROVIDER_ADDRESS', async () => {
      const other = world.info.market.aclManager;
      const config = loadPipelineConfig({ ...env(), ADDRESSES_PROVIDER_ADDRESS: other });
      expect(await problemsOf(scannerRuntimeFromConfig(config))).toEqual([
        `ADDRESSES_PROVIDER_ADDRESS: the Pool at ${world.info.market.pool} reports ADDRESSES_PROVIDER() ${world.info.market.poolAddressesProvider}, not ${other}`,
      ]);
    });

    it('the scanner starts on the right market', async () => {
      const runtime = await scannerRuntimeFromConfig(loadPipelineConfig(env()));
      runtime.close();
    });

    it('the worker refuses a signer our liquidator contract does not authorise, naming LIQUIDATOR_ADDRESS', async () => {
      const stranger = new Wallet(STRANGER_KEY).address;
      const config = loadPipelineConfig({ ...env(), SIGNER_PRIVATE_KEY: `${LOCAL_LIQUIDATOR_KEYS[0]},${STRANGER_KEY}` });
      expect(await problemsOf(executeCandidateDepsFromConfig(config))).toEqual([
        `LIQUIDATOR_ADDRESS: the liquidator contract at ${world.info.liquidatorContract} does not authorise signer ${stranger} (isCaller false): its liquidations would revert; authorise it (setCaller, by the contract's owner)`,
      ]);
    });

    it('the trigger checks the market once: its start costs the worker\'s plus the scanner\'s without a second check', async () => {
      const proxy = await startRpcFaultProxy({ upstream: world.info.rpcUrl, seed: 1 });
      try {
        const config = loadPipelineConfig({ ...env(), RPC_URL: proxy.url });
        const callsOf = async (start: () => Promise<{ close(): void }>) => {
          const before = proxy.stats().byMethod.eth_call?.calls ?? 0;
          (await start()).close();
          return (proxy.stats().byMethod.eth_call?.calls ?? 0) - before;
        };
        const worker = await callsOf(() => executeCandidateDepsFromConfig(config, { liquidatorOptional: true }));
        const scannerChecked = await callsOf(() => scannerRuntimeFromConfig(config));
        const scannerUnchecked = await callsOf(() => scannerRuntimeFromConfig(config, { marketChecked: true }));
        const trigger = await callsOf(() => triggerRuntimeFromConfig(config));

        expect(scannerChecked).toBeGreaterThan(scannerUnchecked);
        expect(trigger).toBe(worker + scannerUnchecked);
      } finally {
        await proxy.close();
      }
    });

    it('the worker starts with authorised signers', async () => {
      const deps = await executeCandidateDepsFromConfig(loadPipelineConfig({ ...env(), SIGNER_PRIVATE_KEY: LOCAL_LIQUIDATOR_KEYS.join(',') }));
      expect(deps.signers.map((s) => s.address)).toEqual(signers);
      deps.close();
    });
  });
});
