/**
 * npm run world -- up [--scenario NAME|FILE] [--aave v3.6|v3.0] [--block-time SEC] [--price-updates same-block|mempool] [--no-services] [--reseed] [--json]
 * npm run world -- down
 *
 * `up` boots the local world, writes its addresses and endpoints to .world/world.json, applies the scenario's
 * price shocks as blocks pass, and runs until Ctrl-C (or `npm run world -- down` from another terminal).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { isHelpFlag, parseCliArgs } from './cli-args';
import { loadScenario, ScenarioError } from './world/scenario';
import { startWorld, type WorldInfo } from './world/world';
import { isProcessAlive, readWorldState, WORLD_STATE_DIR, WORLD_STATE_FILE } from './world/world-state';

// The AWS SDK warns on every run that its 2027 releases will need Node 22; the local tools support Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const STATE_DIR = WORLD_STATE_DIR;
const STATE_FILE = WORLD_STATE_FILE;

const USAGE = `usage:
  npm run world -- up [--scenario NAME|FILE] [--aave v3.6|v3.0] [--block-time SEC] [--price-updates same-block|mempool] [--no-services] [--reseed] [--json]
  npm run world -- down`;

function summary(info: WorldInfo): string {
  const lines = [
    `world "${info.scenario}" is up (${info.timings.bootSeconds.toFixed(1)} s${info.timings.seededFromCache ? ', market from cache' : ', market seeded'})`,
    `  chain       ${info.rpcUrl}  chain id ${info.chainId}  block ${info.startBlock}  ${info.blockTimeSec > 0 ? `${info.blockTimeSec} s blocks` : 'automine'}  price updates ${info.priceUpdates.mode}`,
    `  Aave ${info.market.version}   pool ${info.market.pool}  oracle ${info.market.aaveOracle}`,
    `  reserves    ${Object.entries(info.market.reserves).map(([symbol, r]) => `${symbol} ${r.underlying}`).join('  ')}`,
    `  borrowers   ${info.borrowers.length}`,
    `  liquidators ${info.accounts.liquidators.join(', ')}`,
  ];
  if (info.dynamodb) lines.push(`  dynamodb    ${info.dynamodb.endpoint}  tables ${Object.values(info.dynamodb.tables).join(', ')}`);
  if (info.sqs) lines.push(`  sqs         ${info.sqs.endpoint}  queues ${Object.values(info.sqs.queues).length}`);
  lines.push(`  details     ${STATE_FILE}`);
  return lines.join('\n');
}

async function up(args: string[]): Promise<void> {
  const parsed = parseCliArgs(
    {
      scenario: { type: 'string', default: 'default' },
      aave: { type: 'string' },
      'block-time': { type: 'string' },
      'price-updates': { type: 'string', default: 'same-block' },
      'no-services': { type: 'boolean', default: false },
      reseed: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    args,
  );
  if (parsed.kind === 'help') {
    console.log(USAGE);
    return;
  }
  const { values } = parsed;
  const previous = readWorldState();
  if (previous && isProcessAlive(previous.pid)) throw new Error(`a world is already up (pid ${previous.pid}); run \`npm run world -- down\` first`);
  const scenario = loadScenario(values.scenario);
  if (values.aave !== undefined) {
    if (values.aave !== 'v3.6' && values.aave !== 'v3.0') throw new Error(`--aave must be v3.6 or v3.0, got ${values.aave}`);
    scenario.aave = values.aave;
  }
  let blockTimeSec: number | undefined;
  if (values['block-time'] !== undefined) {
    blockTimeSec = Number(values['block-time']);
    if (!Number.isInteger(blockTimeSec) || blockTimeSec < 0) throw new Error(`--block-time must be a whole number of seconds ≥ 0`);
  }
  const priceUpdates = values['price-updates'];
  if (priceUpdates !== 'same-block' && priceUpdates !== 'mempool') throw new Error(`--price-updates must be same-block or mempool, got ${priceUpdates}`);
  const world = await startWorld({
    scenario,
    blockTimeSec,
    priceUpdates,
    services: !values['no-services'],
    reseed: values.reseed,
    log: (line) => console.error(line),
  });
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(STATE_FILE, JSON.stringify({ pid: process.pid, ...world.info }, null, 2));
  if (values.json) console.log(JSON.stringify(world.info));
  else console.log(summary(world.info));

  const shocks = world.runShocks((line) => console.error(line));
  shocks.done.then(
    () => scenario.shocks.length > 0 && console.error('all shocks applied; Ctrl-C to stop'),
    (err: Error) => console.error(`shocks stopped: ${err.message}`),
  );
  if (scenario.shocks.length === 0) console.error('running; Ctrl-C to stop');

  const shutdown = async (signal: string) => {
    console.error(`\n${signal}: stopping the world …`);
    shocks.stop();
    await world.stop();
    rmSync(STATE_FILE, { force: true });
    process.exit(0);
  };
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

async function down(): Promise<void> {
  const state = readWorldState();
  if (!state) {
    console.log('no world is up');
    return;
  }
  const { pid } = state;
  if (!isProcessAlive(pid)) {
    rmSync(STATE_FILE, { force: true });
    console.log(`world (pid ${pid}) was not running; removed its state file`);
    return;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (isProcessAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (isProcessAlive(pid)) throw new Error(`world (pid ${pid}) did not stop within 15 s`);
  console.log(`world (pid ${pid}) stopped`);
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  // `down` takes no options: `down --help` must not stop the world.
  if (isHelpFlag(command) || (command === 'down' && rest.some(isHelpFlag))) {
    console.log(USAGE);
    return;
  }
  if (command === 'up') return up(rest);
  if (command === 'down') return down();
  throw new Error(`unknown command ${command ?? '(none)'}\n${USAGE}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof ScenarioError ? err.message : `world: ${(err as Error).message}`);
  process.exit(1);
});
