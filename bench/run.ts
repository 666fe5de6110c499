/**
 * npm run bench [-- --json] [--only NAME]
 *
 * Benchmarks measured side by side in one run on this machine; ratios matter, absolute times are noise on a
 * shared 2-core box. Results are printed as a table and as JSON (bench-results.json); BENCHMARKS.md keeps the
 * figures of record.
 */
import { writeFileSync } from 'node:fs';
import { cliArgs } from '../local/cli-args';
import { batchGas } from './batch-gas';
import { chunkedLiquidation } from './chunked-liquidation';
import { detectionLatency } from './detection-latency';
import { executionThroughput } from './execution-throughput';
import { healthScan } from './health-scan';
import { liquidationGas } from './liquidation-gas';
import { oracleBackrun } from './oracle-backrun';
import { join } from 'node:path';
import { rpcCalls } from './rpc-calls';
import { rpcPerDecision } from './rpc-per-decision';
import { worldBoot } from './world-boot';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface BenchResult {
  name: string;
  rows: { label: string; value: number; unit: string }[];
  ratios: { label: string; value: number }[];
}

const BENCHES: Record<string, () => Promise<BenchResult>> = {
  'world-boot': worldBoot,
  'health-scan': healthScan,
  'detection-latency': detectionLatency,
  'execution-throughput': executionThroughput,
  'liquidation-gas': liquidationGas,
  'chunked-liquidation': chunkedLiquidation,
  'batch-gas': batchGas,
  'rpc-calls': () => rpcCalls(),
  // The same on 24 reserves (the oracle lens reads every reserve's price in one call); not the cost estimate's input.
  'rpc-calls-many-reserves': () => rpcCalls({ scenario: 'many-reserves', jsonPath: join('bench', 'out', 'rpc-calls-many-reserves.json') }),
  'oracle-backrun': oracleBackrun,
  'rpc-per-decision': rpcPerDecision,
};

async function main(): Promise<void> {
  const values = cliArgs({
    name: 'bench',
    usage: `usage: npm run bench [-- --json] [--only NAME]
  --json        print the results as JSON on stdout instead of a table (bench-results.json is written either way)
  --only NAME   run one benchmark: ${Object.keys(BENCHES).join(', ')}
  -h, --help    print this help`,
    options: { json: { type: 'boolean', default: false }, only: { type: 'string' } },
  });
  const names = values.only ? [values.only] : Object.keys(BENCHES);
  const results: BenchResult[] = [];
  for (const name of names) {
    const bench = BENCHES[name];
    if (!bench) throw new Error(`unknown benchmark ${name} (have: ${Object.keys(BENCHES).join(', ')})`);
    console.error(`bench: ${name} …`);
    results.push(await bench());
  }
  writeFileSync('bench-results.json', JSON.stringify(results, null, 2));
  if (values.json) {
    console.log(JSON.stringify(results));
    return;
  }
  for (const r of results) {
    console.log(`\n${r.name}`);
    for (const row of r.rows) console.log(`  ${row.label.padEnd(48)} ${row.value.toFixed(2).padStart(10)} ${row.unit}`);
    for (const ratio of r.ratios) console.log(`  ${ratio.label.padEnd(48)} ${ratio.value.toFixed(1).padStart(10)} ×`);
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).message}`);
  process.exit(1);
});
