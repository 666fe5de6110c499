/**
 * npm run trigger -- scan [--json]
 * npm run trigger -- liquidate --account 0x… [--dry-run] [--json]
 * npm run trigger -- liquidate --accounts 0x…,0x…,… [--dry-run] [--json]     (one transaction)
 * npm run trigger -- pause --reason "…" | resume --reason "…" | status [--json]
 * npm run trigger -- deploy-liquidator [--dry-run] [--replace] | withdraw [--token 0x…] [--dry-run] [--json]
 *
 * The manual trigger (functions/handlers/trigger.ts) against the running local world (`npm run world -- up`):
 * the same handler and payloads as `aws lambda invoke`, with the environment the local pipeline gets
 * (local/runtime/pipeline-env.ts). A readable table on stdout by default, the handler's JSON result with
 * --json; progress on stderr. `--world FILE` reads another world file than .world/world.json.
 * Exit status: 0, or 1 for an error, a failed or reverted liquidation, or a candidate the queue refused.
 */
import { formatUnits } from 'ethers';
import type { AdminStep, LiquidateTriggerResult, ScanTriggerResult, StatusTriggerResult, TriggerResult } from '../functions/handlers/trigger';
import { triggerHandlerFromEnvironment } from '../functions/handlers/trigger';
import type { EncodedPlan } from '../functions/pipeline/execution-plan';
import type { ScanEvent } from '../functions/pipeline/scan-blocks';
import { CliArgsError, isHelpFlag, parseCliArgs } from './cli-args';
import { localPipelineEnv } from './runtime/pipeline-env';
import { localLambdaContext } from './runtime/sqs-event-source';
import type { WorldInfo } from './world/world';
import { readRunningWorld, WORLD_STATE_FILE } from './world/world-state';

// The AWS SDK warns on every run that its 2027 releases will need Node 22; the local tools support Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const DEFAULT_WORLD_FILE = WORLD_STATE_FILE;
/** The invocation's deadline, as the Lambda function's timeout would set it. */
const INVOCATION_TIMEOUT_MS = 60_000;

const USAGE = `usage:
  npm run trigger -- scan [--json]
  npm run trigger -- liquidate --account 0x… [--dry-run] [--json]
  npm run trigger -- liquidate --accounts 0x…,0x…,… [--dry-run] [--json]
                                            up to 20 accounts in one transaction (liquidateBatch)
  npm run trigger -- pause --reason "…"     kill switch on: nothing is enqueued or sent
  npm run trigger -- resume --reason "…"    kill switch off
  npm run trigger -- status [--json]        breakers, signers, the liquidator contract and its balances
  npm run trigger -- deploy-liquidator [--dry-run] [--replace]
                                            deploy the liquidator contract from the signer (its owner)
  npm run trigger -- withdraw [--token 0x…] [--dry-run]
                                            sweep the contract's profit to the treasury
options:
  --world FILE   the world file (default .world/world.json, written by \`npm run world -- up\`)`;

class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\n${USAGE}`);
    this.name = 'UsageError';
  }
}

/** What the user asked for, before validation. */
type RawPayload =
  | { action: 'scan' }
  | { action: 'liquidate'; account?: string; accounts?: string[]; dryRun: boolean }
  | { action: 'pause' | 'resume'; reason: string | undefined }
  | { action: 'status' }
  | { action: 'deploy-liquidator'; dryRun: boolean; replace?: true }
  | { action: 'withdraw'; dryRun: boolean; token?: string };

interface Command {
  payload: RawPayload;
  json: boolean;
  worldFile: string;
}

/**
 * The payload as the user gave it; the handler validates it (so the CLI and Lambda reject the same payloads).
 * 'help' for `--help` or `-h`, as the action or among its options.
 */
function parseCommand(argv: string[]): Command | 'help' {
  const [action, ...args] = argv;
  if (isHelpFlag(action)) return 'help';
  let parsed;
  try {
    parsed = parseCliArgs(
      {
        account: { type: 'string' },
        accounts: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        reason: { type: 'string' },
        replace: { type: 'boolean', default: false },
        token: { type: 'string' },
        json: { type: 'boolean', default: false },
        world: { type: 'string', default: DEFAULT_WORLD_FILE },
      },
      args,
    );
  } catch (err) {
    if (err instanceof CliArgsError) throw new UsageError(err.message);
    throw err;
  }
  if (parsed.kind === 'help') return 'help';
  const { values } = parsed;
  const common = { json: values.json, worldFile: values.world };
  switch (action) {
    case 'scan':
      if (values.account !== undefined || values.accounts !== undefined || values['dry-run']) throw new UsageError('scan takes no --account, --accounts or --dry-run');
      return { payload: { action: 'scan' }, ...common };
    case 'liquidate':
      if (values.account !== undefined && values.accounts !== undefined) throw new UsageError('liquidate takes --account or --accounts, not both');
      return {
        payload: {
          action: 'liquidate',
          ...(values.accounts !== undefined ? { accounts: values.accounts.split(',').map((a) => a.trim()) } : { account: values.account }),
          dryRun: values['dry-run'],
        },
        ...common,
      };
    case 'pause':
    case 'resume':
      return { payload: { action, reason: values.reason }, ...common };
    case 'status':
      return { payload: { action: 'status' }, ...common };
    case 'deploy-liquidator':
      return { payload: { action, dryRun: values['dry-run'], ...(values.replace ? { replace: true as const } : {}) }, ...common };
    case 'withdraw':
      return { payload: { action, dryRun: values['dry-run'], ...(values.token ? { token: values.token } : {}) }, ...common };
    default:
      throw new UsageError(`unknown action ${action ?? '(none)'}`);
  }
}

// ── Formatting: amounts stay bigint, shown truncated (rounded down) to a few decimals ───────────────────────

const UINT256_MAX = 2n ** 256n - 1n;
/** Aave's health factor of an account without debt is uint256 max. */
const NO_DEBT_HEALTH_FACTOR_WAD = UINT256_MAX;

function decimal(value: bigint, decimals: number, shown: number): string {
  const [whole, fraction = ''] = formatUnits(value, decimals).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return shown === 0 ? grouped : `${grouped}.${fraction.padEnd(shown, '0').slice(0, shown)}`;
}

const usd = (valueBase8: string | undefined): string => (valueBase8 === undefined ? '?' : `$${decimal(BigInt(valueBase8), 8, 2)}`.replace('$-', '-$'));

function healthFactor(wad: string | undefined): string {
  if (wad === undefined) return '?';
  return BigInt(wad) >= NO_DEBT_HEALTH_FACTOR_WAD ? '∞ (no debt)' : decimal(BigInt(wad), 18, 4);
}

interface Asset {
  symbol: string;
  decimals: number;
}

function assetsOf(info: WorldInfo): Map<string, Asset> {
  return new Map(Object.values(info.market.reserves).map((r) => [r.underlying.toLowerCase(), { symbol: r.symbol, decimals: r.decimals }]));
}

function rows(lines: [string, string][]): string {
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
}

function planRows(plan: EncodedPlan, assets: Map<string, Asset>): [string, string][] {
  const collateral = assets.get(plan.collateralAsset?.toLowerCase() ?? '');
  const debt = assets.get(plan.debtAsset?.toLowerCase() ?? '');
  // Unknown assets (not in the world's reserve list) are shown by address, amounts in token units.
  const amount = (units: string | undefined, asset: Asset | undefined, address: string | undefined) =>
    units === undefined ? '?' : asset ? `${decimal(BigInt(units), asset.decimals, Math.min(asset.decimals, 6))} ${asset.symbol}` : `${units} units of ${address}`;
  const lines: [string, string][] = [
    ['pair', `${collateral?.symbol ?? plan.collateralAsset} / ${debt?.symbol ?? plan.debtAsset}  (collateral / debt)`],
    // debtToCover may be uint256 max ("as much as the close factor allows", as Aave reads it): show what is repaid.
    [
      'debt to cover',
      plan.debtToCoverUnits !== undefined && BigInt(plan.debtToCoverUnits) >= UINT256_MAX
        ? `${amount(plan.debtRepaidUnits, debt, plan.debtAsset)}  (debtToCover = max: all the close factor allows)`
        : amount(plan.debtToCoverUnits, debt, plan.debtAsset),
    ],
    ['collateral received', amount(plan.liquidatorCollateralUnits, collateral, plan.collateralAsset)],
    ['profit', `${usd(plan.profitBase)}  (received ${usd(plan.valueReceivedBase)} − repaid ${usd(plan.valueRepaidBase)} − gas ${usd(plan.gasCostBase)} − swap ${usd(plan.swapCostBase)})`],
    ['health factor', `${healthFactor(plan.healthFactorBeforeWad)} → ${healthFactor(plan.healthFactorAfterWad)}`],
    ['sizing', `${plan.sizing}, close factor ${plan.closeFactor}, limited by ${plan.limitedBy === 'dust-rule' ? 'the dust rule (a larger repay would leave under $1,000: MustNotLeaveDust)' : plan.limitedBy}${plan.steps !== '1' ? ` (step 1 of ${plan.steps})` : ''}`],
  ];
  if (plan.funding !== undefined) {
    const sameAsset = plan.swapPath === '0x';
    lines.push(
      ['funding', `${plan.funding} through ${plan.liquidatorContract}`],
      ['route', sameAsset ? 'none (same asset on both sides)' : routeOf(plan.swapPath ?? '0x', assets)],
      ['quote', sameAsset ? 'no swap' : `${amount(plan.quotedAmountOutUnits, debt, plan.debtAsset)} for the collateral (QuoterV2 at the read block)`],
      ['minimum out', sameAsset ? 'no swap' : amount(plan.amountOutMinimumUnits, debt, plan.debtAsset)],
      ['flash-loan premium', plan.funding === 'flash-loan' ? `${amount(plan.flashLoanPremiumUnits, debt, plan.debtAsset)} (${plan.flashLoanPremiumBps} bps of ${amount(plan.flashLoanUnits, debt, plan.debtAsset)})` : 'none (inventory)'],
      ['contract keeps', `${amount(plan.expectedProfitUnits, debt, plan.debtAsset)} (reverts below ${amount(plan.minProfitUnits, debt, plan.debtAsset)})`],
    );
  }
  if (plan.gasLimit !== undefined) lines.push(['gas', `limit ${plan.gasLimit} (estimate ${plan.gasEstimate})`]);
  return lines;
}

/** A Uniswap V3 path as symbols and fee tiers: `WETH —0.05 %→ USDC`. */
function routeOf(path: string, assets: Map<string, Asset>): string {
  const hex = path.slice(2);
  let text = '';
  for (let i = 0; i + 40 <= hex.length; i += 46) {
    const token = `0x${hex.slice(i, i + 40)}`;
    text += assets.get(token)?.symbol ?? token;
    if (i + 46 <= hex.length) text += ` —${Number.parseInt(hex.slice(i + 40, i + 46), 16) / 10_000} %→ `;
  }
  return text;
}

function formatLiquidate(out: LiquidateTriggerResult, assets: Map<string, Asset>): string {
  const { result } = out;
  const head = `liquidate ${out.account} at block ${result.block ?? '?'} (HF ${healthFactor(out.candidate.healthFactorWad)})`;
  switch (result.kind) {
    case 'dry-run':
      return `${head}: dry run, planned and simulated, nothing sent\n${rows(planRows(result.plan, assets))}`;
    case 'mined':
      return `${head}: mined in block ${result.minedBlock}\n${rows([['tx', result.txHash], ...planRows(result.plan, assets), ['gas used', result.gasUsed]])}`;
    case 'reverted':
      return `${head}: REVERTED in block ${result.minedBlock}\n${rows([['tx', result.txHash], ...planRows(result.plan, assets)])}`;
    case 'dropped':
      return `${head}: DROPPED: ${result.detail}`;
    case 'in-flight':
      return `${head}: another attempt (${result.heldBy}) is in flight for this position, nothing sent`;
    case 'paused':
      return `${head}: paused by the ${result.reason} breaker (${result.detail}), nothing sent`;
    case 'stale':
      return `${head}: healthy (HF ${healthFactor(result.healthFactorWad)}), nothing to liquidate`;
    case 'skipped':
      return `${head}: skipped, ${result.reason} (${result.detail})`;
    case 'duplicate':
      return `${head}: already claimed in the ledger (${result.opportunity}), nothing sent`;
    case 'failed':
      return `${head}: FAILED at ${result.stage}: ${result.reason}`;
  }
}

function formatScan(out: ScanTriggerResult): string {
  const { summary } = out;
  const lines = [
    `scan at block ${out.block}: ${summary.accountsScanned} accounts scanned, ${out.liquidatable} liquidatable, ${out.enqueued.length} enqueued, ` +
      `${out.blockedByBreaker.length} blocked by an oracle breaker, ${out.alreadyEnqueued} already enqueued`,
  ];
  const table: [string, string, string][] = [
    ...out.enqueued.map((c): [string, string, string] => [c.borrower, healthFactor(c.healthFactorWad), 'enqueued']),
    ...out.blockedByBreaker.map((c): [string, string, string] => [c.borrower, healthFactor(c.healthFactorWad), `blocked: breaker open on ${c.assets.join(', ')}`]),
    ...out.publishFailed.map((c): [string, string, string] => [c.borrower, '', `NOT ENQUEUED: ${c.reason}`]),
  ];
  if (table.length > 0) {
    lines.push(`  ${'borrower'.padEnd(42)}  ${'health factor'.padEnd(13)}  candidate`);
    for (const [borrower, hf, status] of table) lines.push(`  ${borrower.padEnd(42)}  ${hf.padEnd(13)}  ${status}`);
  }
  if (summary.breakerOpen.length > 0) lines.push(`  oracle breaker open: ${summary.breakerOpen.join(', ')}`);
  return lines.join('\n');
}

function formatStatus(out: StatusTriggerResult, assets: Map<string, Asset>): string {
  const breaker = out.breaker.kind === 'closed' ? 'closed: execution allowed' : `OPEN (${out.breaker.reason}): ${out.breaker.detail}`;
  const liquidator =
    'missing' in out.liquidator
      ? [`liquidator contract: none (${out.liquidator.missing})`]
      : [
          `liquidator contract ${out.liquidator.address}  owner ${out.liquidator.owner}`,
          ...out.liquidator.callers.map((c) => `  caller ${c.address}  ${c.allowed ? 'allowed' : 'NOT ALLOWED'}`),
          ...(out.liquidator.balances.length === 0
            ? ['  holds nothing']
            : out.liquidator.balances.map((b) => {
                const asset = assets.get(b.asset.toLowerCase());
                return `  holds ${asset ? `${decimal(BigInt(b.units), asset.decimals, Math.min(asset.decimals, 6))} ${asset.symbol}` : `${b.units} units of ${b.asset}`}`;
              })),
        ];
  return [`execution breaker ${breaker}`, ...out.signers.map((s) => `  signer ${s.address}  balance ${decimal(BigInt(s.balanceWei), 18, 4)} ETH  nonce ${s.confirmedNonce}`), ...liquidator].join('\n');
}

function formatStep(step: AdminStep): string {
  return step.dryRun ? `${step.purpose}: dry run, gas estimate ${step.gasEstimate}` : `${step.purpose}: mined in block ${step.block} (tx ${step.txHash}, gas ${step.gasUsed})`;
}

function format(result: TriggerResult, info: WorldInfo): string {
  switch (result.action) {
    case 'scan':
      return formatScan(result);
    case 'liquidate':
      if ('results' in result) {
        const txs = new Set(result.results.flatMap(({ result: r }) => (r.kind === 'mined' || r.kind === 'reverted' ? [r.txHash] : [])));
        const head = `liquidate ${result.accounts.length} accounts${result.dryRun ? ' (dry run)' : ''}: ${txs.size} transaction${txs.size === 1 ? '' : 's'}`;
        return [head, ...result.results.map((one) => formatLiquidate({ action: 'liquidate', dryRun: result.dryRun, ...one }, assetsOf(info)))].join('\n\n');
      }
      return formatLiquidate(result, assetsOf(info));
    case 'pause':
    case 'resume':
      return `kill switch ${result.killSwitch ? 'ON: nothing is enqueued or sent' : 'OFF: the pipeline resumes'} (${result.reason})`;
    case 'status':
      return formatStatus(result, assetsOf(info));
    case 'deploy-liquidator':
      return [`liquidator contract ${result.address} (owner ${result.owner})${result.dryRun ? ': dry run, nothing sent' : ''}`, ...result.steps.map((step) => `  ${formatStep(step)}`), `  recorded: ${result.recorded}`].join('\n');
    case 'withdraw':
      return [
        `withdraw from ${result.liquidator} to ${result.treasury}${result.dryRun ? ' (dry run)' : ''}: ${result.swept.length === 0 ? 'nothing held' : ''}`,
        ...result.swept.map((w) => {
          const asset = assetsOf(info).get(w.asset.toLowerCase());
          return `  ${asset ? `${decimal(BigInt(w.units), asset.decimals, Math.min(asset.decimals, 6))} ${asset.symbol}` : `${w.units} units of ${w.asset}`}: ${formatStep(w.step)}`;
        }),
      ].join('\n');
  }
}

function failed(result: TriggerResult): boolean {
  if (result.action === 'scan') return result.publishFailed.length > 0;
  if (result.action !== 'liquidate') return false;
  const results = 'results' in result ? result.results.map((r) => r.result) : [result.result];
  return results.some((r) => r.kind === 'failed' || r.kind === 'reverted' || r.kind === 'dropped');
}

function progress(event: ScanEvent): void {
  if (event.kind === 'block') {
    const p = event.progress;
    console.error(`trigger: block ${p.block} scanned in ${p.durationMs} ms (${p.accountsScanned} accounts, ${p.rpcCalls} RPC calls)`);
  } else if (event.kind === 'block-failed') {
    console.error(`trigger: ${event.error.message} (attempt ${event.consecutiveFailures})`);
  }
}

async function main(): Promise<number> {
  const command = parseCommand(process.argv.slice(2));
  if (command === 'help') {
    await new Promise<void>((resolve) => process.stdout.write(`${USAGE}\n`, () => resolve()));
    return 0;
  }
  const info = readRunningWorld(command.worldFile);
  const env = localPipelineEnv(info);
  // Powertools reads its own settings from the process environment: warnings and errors only (to stderr).
  for (const [key, value] of Object.entries(env)) if (key.startsWith('POWERTOOLS_')) process.env[key] ??= value;

  console.error(`trigger: world "${info.scenario}" at ${info.rpcUrl}, pool ${info.market.pool}`);
  const handler = triggerHandlerFromEnvironment(env, { onScanEvent: progress });
  const payload = command.payload;
  console.error(
    payload.action === 'liquidate'
      ? `trigger: liquidate ${payload.accounts ? `${payload.accounts.length} accounts in one transaction` : (payload.account ?? '(no account)')}${payload.dryRun ? ' (dry run)' : ''} …`
      : payload.action === 'scan'
        ? 'trigger: scanning the latest block …'
        : `trigger: ${payload.action} …`,
  );
  const result = await handler(payload, localLambdaContext('trigger', INVOCATION_TIMEOUT_MS));
  const text = command.json ? JSON.stringify(result, null, 2) : format(result, info);
  await new Promise<void>((resolve) => process.stdout.write(`${text}\n`, () => resolve()));
  return failed(result) ? 1 : 0;
}

// Exits explicitly: the handler's RPC and AWS clients stay open for reuse, as they would in a Lambda instance.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`trigger: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
