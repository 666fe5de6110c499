/**
 * The pipeline's functions as synthesized (bundled with esbuild, as `cdk synth` does): runtime and bundles,
 * schedules, the worker's event source, the environment that names tables and queues, least-privilege grants
 * and the signing key.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { parseDeploymentConfig } from '../../lib/config';
import { esbuildOptionsFor, WORKER_BUNDLE_BUDGET_BYTES } from '../../lib/bundling';
import { PIPELINE_FUNCTIONS, type PipelineFunctionName } from '../../lib/pipeline-functions';
import { QUEUES, type QueueName, TABLES, type TableName } from '../../lib/resources';
import {
  asArray,
  CONFIG,
  deployedEnvironment,
  functionResource,
  type PolicyStatementJson,
  queueKeyOf,
  roleOf,
  statementsOfRole,
  type SynthesizedKeeper,
  synthesizeKeeper,
  tableKeyOf,
  targetOf,
} from './keeper-synth';

const keeper = synthesizeKeeper(CONFIG, { bundle: true });
const { pipelineTemplate: template } = keeper;
const names = Object.keys(PIPELINE_FUNCTIONS) as PipelineFunctionName[];
const resources = () => template.toJSON().Resources;

function logicalIdOfQueue(key: QueueName): string {
  const def = QUEUES[key];
  const [id] = Object.keys(template.findResources('AWS::SQS::Queue', { Properties: { QueueName: `${CONFIG.name}-${def.baseName}${def.fifo ? '.fifo' : ''}` } }));
  return id;
}

function signerKeyId(): string {
  const [id] = Object.keys(template.findResources('AWS::KMS::Key', { Properties: { KeySpec: 'ECC_SECG_P256K1' } }));
  return id;
}

describe('functions', () => {
  it.each(names)('%s: Node.js 22 on arm64, size and timeout from its definition', (name) => {
    const def = PIPELINE_FUNCTIONS[name];

    const { properties } = functionResource(keeper, name);

    expect(properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: def.memoryMb,
    });
    expect(properties.Timeout).toBe(name === 'scanner' ? 90 : def.timeoutSec);
  });

  it.each(names)('%s: ships an esbuild bundle with its source map, the worker within its budget', (name) => {
    const { properties } = functionResource(keeper, name);
    const assetHash = (properties.Code.S3Key as string).replace(/\.zip$/, '');
    const assetDir = join(keeper.outdir, `asset.${assetHash}`);

    expect(existsSync(join(assetDir, 'index.js'))).toBe(true);
    expect(existsSync(join(assetDir, 'index.js.map'))).toBe(true);
    // lib/bundling.ts, legalComments: the license notices travel in the asset, beside the bundle.
    expect(existsSync(join(assetDir, 'index.js.LEGAL.txt'))).toBe(true);
    if (name === 'worker') expect(statSync(join(assetDir, 'index.js')).size).toBeLessThanOrEqual(WORKER_BUNDLE_BUDGET_BYTES);
  });

  it.each(names)('%s: the bundle `cdk synth` makes is the one bench/bundles.ts measures (lib/bundling.ts)', async (name) => {
    const { properties } = functionResource(keeper, name);
    const assetDir = join(keeper.outdir, `asset.${(properties.Code.S3Key as string).replace(/\.zip$/, '')}`);

    const inMemory = await build({ ...esbuildOptionsFor(join(__dirname, '..', '..', PIPELINE_FUNCTIONS[name].entry)), write: false, logLevel: 'silent' });

    const js = inMemory.outputFiles.find((f) => f.path.endsWith('index.js'))!;
    expect(readFileSync(join(assetDir, 'index.js')).equals(Buffer.from(js.contents))).toBe(true);
  });

  it('scanner: outlives its schedule by 30 s, following the configured rate', () => {
    const everyThree = synthesizeKeeper(parseDeploymentConfig({ ...CONFIG, name: 'slow-keeper', schedule: { scannerEveryMinutes: 3 } }));

    expect(functionResource(everyThree, 'scanner').properties.Timeout).toBe(3 * 60 + 30);
  });

  it('scanner: reads by change and paces its head polls by the chain\'s block time, from the deployment config', () => {
    const base = deployedEnvironment(keeper, 'scanner');
    expect(base).toMatchObject({ SCANNER_READ_MODE: 'changes', SCANNER_MAX_READ_INTERVAL_SEC: '3600', SCANNER_BLOCK_TIME_MS: String(CONFIG.blockTimeSec * 1000) });
    // It follows blocks for its period and 5 s of handover, well within its timeout (period + 30 s).
    expect(base.SCANNER_FOLLOW_SEC).toBe('65');
    expect(Number(base.SCANNER_FOLLOW_SEC)).toBeLessThan(functionResource(keeper, 'scanner').properties.Timeout as number);
    const fast = synthesizeKeeper(parseDeploymentConfig({ ...CONFIG, name: 'fast-keeper', blockTimeSec: 0.25, scanner: { readMode: 'every-block', maxReadIntervalSec: 600 } }));
    expect(deployedEnvironment(fast, 'scanner')).toMatchObject({ SCANNER_READ_MODE: 'every-block', SCANNER_MAX_READ_INTERVAL_SEC: '600', SCANNER_BLOCK_TIME_MS: '250' });
    // Only the scanner reads these.
    expect(deployedEnvironment(keeper, 'worker').SCANNER_READ_MODE).toBeUndefined();
  });

  it('oracle-update path: the scanner watches the mempool only when configured; the senders get the follower bound and the bundle relay, and may read its auth key secret', () => {
    expect(deployedEnvironment(keeper, 'scanner').SCANNER_FOLLOW_PENDING_UPDATES).toBe('false');
    expect(deployedEnvironment(keeper, 'worker')).toMatchObject({ FOLLOWER_SLIPPAGE_BPS: '500' });
    expect(deployedEnvironment(keeper, 'worker').BUNDLE_RELAY_URL).toBeUndefined();
    const relayed = synthesizeKeeper(
      parseDeploymentConfig({
        ...CONFIG,
        name: 'backrun-keeper',
        scanner: { followPendingUpdates: true },
        execution: { ...CONFIG.execution, bundleRelay: { url: 'https://relay.flashbots.net', authKeySecretName: 'keeper/flashbots-auth' } },
      }),
    );
    expect(deployedEnvironment(relayed, 'scanner').SCANNER_FOLLOW_PENDING_UPDATES).toBe('true');
    for (const name of ['worker', 'trigger'] as const) {
      expect(deployedEnvironment(relayed, name)).toMatchObject({ BUNDLE_RELAY_URL: 'https://relay.flashbots.net', BUNDLE_RELAY_AUTH_KEY_SECRET_NAME: 'keeper/flashbots-auth' });
      const reads = statementsOfRole(relayed, roleOf(relayed, name)).filter((st) => asArray(st.Action).includes('secretsmanager:GetSecretValue'));
      expect(JSON.stringify(reads)).toContain('keeper/flashbots-auth');
    }
    expect(JSON.stringify(statementsOfRole(relayed, roleOf(relayed, 'scanner')))).not.toContain('keeper/flashbots-auth');
  });

  it('oracle breakers: the scanner and the trigger (its scan) get the deployment config\'s settings; the others none', () => {
    const USDT = '0xdAC17F958D2ee523a2206206994597C13D831ec7';
    for (const name of ['scanner', 'trigger'] as const) {
      const env = deployedEnvironment(keeper, name);
      expect(env).toMatchObject({ ORACLE_MAX_AGE_SEC: '3900', ORACLE_MAX_DEVIATION_BPS: '3000', ORACLE_UNDATED_FEEDS: 'allow' });
      // No per-asset limits configured: none passed.
      expect(env.ORACLE_MAX_AGE_SEC_BY_ASSET).toBeUndefined();
    }
    for (const name of ['indexer', 'worker'] as const) {
      expect(Object.keys(deployedEnvironment(keeper, name)).filter((v) => v.startsWith('ORACLE_'))).toEqual([]);
    }

    const tuned = synthesizeKeeper(
      parseDeploymentConfig({ ...CONFIG, name: 'oracle-keeper', oracle: { maxAgeSec: 3_600, maxAgeSecByAsset: { [USDT]: 86_700 }, maxDeviationBps: 1_500, undatedFeeds: 'block' } }),
    );
    for (const name of ['scanner', 'trigger'] as const) {
      const env = deployedEnvironment(tuned, name);
      expect(env).toMatchObject({ ORACLE_MAX_AGE_SEC: '3600', ORACLE_MAX_DEVIATION_BPS: '1500', ORACLE_UNDATED_FEEDS: 'block' });
      expect(JSON.parse(env.ORACLE_MAX_AGE_SEC_BY_ASSET)).toEqual({ [USDT]: 86_700 });
    }
  });

  it('worker: its timeout is at most a sixth of the candidates queue visibility timeout', () => {
    const timeout = functionResource(keeper, 'worker').properties.Timeout as number;
    const visibility = resources()[logicalIdOfQueue('candidates')].Properties.VisibilityTimeout as number;

    expect(timeout * 6).toBeLessThanOrEqual(visibility);
    expect(visibility).toBe(QUEUES.candidates.visibilityTimeoutSec);
  });

  it('worker: a timeout above a sixth of the visibility timeout is refused at synth', () => {
    const original = PIPELINE_FUNCTIONS.worker.timeoutSec;
    PIPELINE_FUNCTIONS.worker.timeoutSec = 61;
    try {
      expect(() => synthesizeKeeper({ ...CONFIG, name: 'slow-worker' })).toThrow(
        "worker: timeout 61 s exceeds a sixth of liquidation-candidates's visibility timeout (360 s)",
      );
    } finally {
      PIPELINE_FUNCTIONS.worker.timeoutSec = original;
    }
  });

  it.each(names)('%s: Powertools service name and namespace in its environment', (name) => {
    const { properties } = functionResource(keeper, name);

    expect(properties.Environment.Variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: PIPELINE_FUNCTIONS[name].serviceName,
      POWERTOOLS_METRICS_NAMESPACE: 'LiquidationPipeline',
      MARKET_NAME: CONFIG.name,
      CHAIN_ID: '1',
      POOL_ADDRESS: CONFIG.market.pool,
      AAVE_POOL_VERSION: '3.6',
      RPC_URL_SECRET_NAME: CONFIG.rpcUrlSecretName,
    });
  });

  it('indexer and scanner retry nothing asynchronously: the next scheduled run replaces a failed one', () => {
    for (const name of ['indexer', 'scanner'] as const) {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: functionResource(keeper, name).logicalId },
        MaximumRetryAttempts: 0,
      });
    }
  });
});

describe('schedules', () => {
  it.each([
    ['indexer', 'rate(1 minute)'],
    ['scanner', 'rate(1 minute)'],
  ] as const)('%s: invoked by EventBridge Scheduler at %s', (name, expression) => {
    const { logicalId } = functionResource(keeper, name);

    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: `${CONFIG.name}-${name}`,
      ScheduleExpression: expression,
      State: 'ENABLED',
      Target: { Arn: { 'Fn::GetAtt': [logicalId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } },
    });
  });

  it('exactly two schedules: the worker and the trigger are never scheduled', () => {
    const targets = Object.values(template.findResources('AWS::Scheduler::Schedule')).map((s) => s.Properties.Target.Arn['Fn::GetAtt'][0]);

    expect(targets.sort()).toEqual([functionResource(keeper, 'indexer').logicalId, functionResource(keeper, 'scanner').logicalId].sort());
  });

  it('rates follow the config', () => {
    const custom = synthesizeKeeper(parseDeploymentConfig({ ...CONFIG, name: 'rate-keeper', schedule: { indexerEveryMinutes: 5, scannerEveryMinutes: 2 } }));

    custom.pipelineTemplate.hasResourceProperties('AWS::Scheduler::Schedule', { Name: 'rate-keeper-indexer', ScheduleExpression: 'rate(5 minutes)' });
    custom.pipelineTemplate.hasResourceProperties('AWS::Scheduler::Schedule', { Name: 'rate-keeper-scanner', ScheduleExpression: 'rate(2 minutes)' });
  });

  it('each schedule role may invoke only its own function', () => {
    for (const schedule of Object.values(template.findResources('AWS::Scheduler::Schedule'))) {
      const [fnId] = schedule.Properties.Target.Arn['Fn::GetAtt'];
      const [roleId] = schedule.Properties.Target.RoleArn['Fn::GetAtt'];
      const statements = statementsOfRole(keeper, roleId);

      expect(statements).toHaveLength(1);
      expect(statements[0].Action).toBe('lambda:InvokeFunction');
      expect(JSON.stringify(statements[0].Resource)).toContain(fnId);
      expect(resources()[roleId].Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    }
  });
});

describe('worker event source', () => {
  it('reads the candidates FIFO queue in batches, reporting item failures, at the configured concurrency', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionResource(keeper, 'worker').logicalId },
      EventSourceArn: { 'Fn::GetAtt': [logicalIdOfQueue('candidates'), 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('batch size and concurrency follow the config', () => {
    const custom = synthesizeKeeper(parseDeploymentConfig({ ...CONFIG, name: 'busy-keeper', worker: { batchSize: 4, maxConcurrency: 5 } }));

    custom.pipelineTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 4, ScalingConfig: { MaximumConcurrency: 5 } });
  });
});

describe('environment: tables and queues', () => {
  it.each(names)('%s: every variable naming a table or queue is its TABLES/QUEUES envVar and resolves to it', (name) => {
    const variables: Record<string, unknown> = functionResource(keeper, name).properties.Environment.Variables;
    const tableVars = new Map<string, TableName>();
    const queueVars = new Map<string, QueueName>();

    for (const [variable, value] of Object.entries(variables)) {
      const table = tableKeyOf(value, keeper);
      const queue = queueKeyOf(value, keeper);
      if (table) {
        expect({ variable, attribute: table.attribute }).toEqual({ variable: TABLES[table.key].envVar, attribute: 'Ref' });
        tableVars.set(variable, table.key);
      } else if (queue) {
        // A queue's Ref is its URL.
        expect({ variable, attribute: queue.attribute }).toEqual({ variable: QUEUES[queue.key].envVar, attribute: 'Ref' });
        queueVars.set(variable, queue.key);
      } else {
        expect(Object.values(TABLES).map((t) => t.envVar)).not.toContain(variable);
        expect(Object.values(QUEUES).map((q) => q.envVar)).not.toContain(variable);
      }
    }

    expect([...tableVars.values()].sort()).toEqual(Object.keys(PIPELINE_FUNCTIONS[name].tables).sort());
    expect([...queueVars.values()].sort()).toEqual(Object.keys(PIPELINE_FUNCTIONS[name].queues).sort());
  });

  it('table names come from the stateful stack by reference', () => {
    const value = functionResource(keeper, 'worker').properties.Environment.Variables.LEDGER_TABLE;

    expect(targetOf(value, keeper)).toMatchObject({ kind: 'resource', stack: 'stateful', attribute: 'Ref' });
  });
});

describe('least privilege', () => {
  const actionsOn = (name: PipelineFunctionName) => {
    const byResource = new Map<string, Set<string>>();
    for (const statement of statementsOfRole(keeper, roleOf(keeper, name))) {
      expect(statement.Effect).toBe('Allow');
      for (const resource of asArray(statement.Resource)) {
        const key = JSON.stringify(resource);
        const set = byResource.get(key) ?? new Set<string>();
        asArray(statement.Action as string | string[]).forEach((a) => set.add(a));
        byResource.set(key, set);
      }
    }
    return byResource;
  };

  const tableActions = (name: PipelineFunctionName) => {
    const result: Partial<Record<TableName, string[]>> = {};
    for (const [resource, actions] of actionsOn(name)) {
      const table = tableKeyOf(JSON.parse(resource), keeper);
      if (table) result[table.key] = [...actions].sort();
    }
    return result;
  };

  const READ = ['dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'];
  const WRITE = ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
  const ACCESS = { read: READ, write: WRITE, readWrite: [...READ, ...WRITE].sort() };

  it.each(names)('%s: exactly the tables of its definition, with exactly the actions of its access', (name) => {
    const expected = Object.fromEntries(
      Object.entries(PIPELINE_FUNCTIONS[name].tables).map(([table, access]) => [table, ACCESS[access]]),
    );

    expect(tableActions(name)).toEqual(expected);
  });

  it('indexes are granted by name to readers of tables that have them, never by wildcard', () => {
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));

    expect(policies).not.toContain('/index/*');
    const workerResources = [...actionsOn('worker').keys()];
    expect(workerResources.some((r) => r.includes('/index/byState'))).toBe(true);
    // The worker only writes the borrowers table (clears the enqueue mark): no index grant there.
    expect(workerResources.some((r) => r.includes('/index/byWatchTier'))).toBe(false);
  });

  it.each(names)('%s: exactly the queues of its definition', (name) => {
    const SEND = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
    const CONSUME = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];
    const actual: Record<string, string[]> = {};
    for (const [resource, actions] of actionsOn(name)) {
      const target = targetOf(JSON.parse(resource), keeper);
      if (target.kind !== 'resource' || target.attribute !== 'Arn') continue;
      const queue = (Object.keys(QUEUES) as QueueName[]).find((k) => logicalIdOfQueue(k) === target.logicalId);
      if (queue) actual[queue] = [...actions].sort();
    }

    expect(actual).toEqual(
      Object.fromEntries(
        Object.entries(PIPELINE_FUNCTIONS[name].queues).map(([queue, access]) => [
          queue,
          access === 'send' ? SEND : access === 'consume' ? CONSUME : [...new Set([...CONSUME, ...SEND])].sort(),
        ]),
      ),
    );
  });

  let privateRpcKeeper: SynthesizedKeeper | undefined;
  it.each(names)('%s: reads the RPC URL secret by name; only senders read the private RPC secret', (name) => {
    const withPrivate = (privateRpcKeeper ??= synthesizeKeeper(
      parseDeploymentConfig({ ...CONFIG, name: 'private-keeper', privateRpcUrlSecretName: 'private-keeper/flashbots' }),
    ));
    const secrets = statementsOfRole(withPrivate, roleOf(withPrivate, name))
      .filter((s) => asArray(s.Action).includes('secretsmanager:GetSecretValue'))
      .flatMap((s) => asArray(s.Resource).map((r) => JSON.stringify(r)));
    const env = functionResource(withPrivate, name).properties.Environment.Variables;

    expect(secrets.some((r) => r.includes(':secret:test-keeper/rpc-url-??????'))).toBe(true);
    expect(secrets.some((r) => r.includes(':secret:private-keeper/flashbots-??????'))).toBe(PIPELINE_FUNCTIONS[name].sends);
    expect(env.PRIVATE_RPC_URL_SECRET_NAME).toBe(PIPELINE_FUNCTIONS[name].sends ? 'private-keeper/flashbots' : undefined);
  });
});

describe('signing key', () => {
  it('is an asymmetric secp256k1 signing key, retained with the stack gone', () => {
    template.hasResource('AWS::KMS::Key', {
      Properties: { KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: `alias/${CONFIG.name}-signer`,
      TargetKeyId: { 'Fn::GetAtt': [signerKeyId(), 'Arn'] },
    });
  });

  it('only the worker and the trigger roles may sign with it (kms:Sign, kms:GetPublicKey); the indexer reads its public key alone', () => {
    const keyArn = JSON.stringify({ 'Fn::GetAtt': [signerKeyId(), 'Arn'] });
    const rolesWithKeyAccess = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) =>
        (p.Properties.PolicyDocument.Statement as PolicyStatementJson[]).some(
          (s) => asArray(s.Action).some((a) => a.startsWith('kms:')) && asArray(s.Resource).some((r) => JSON.stringify(r) === keyArn),
        ),
      )
      .flatMap((p) => (p.Properties.Roles as { Ref: string }[]).map((r) => r.Ref));

    const keyActions = (name: PipelineFunctionName) =>
      statementsOfRole(keeper, roleOf(keeper, name))
        .filter((s) => asArray(s.Resource).some((r) => JSON.stringify(r) === keyArn))
        .flatMap((s) => asArray(s.Action))
        .sort();

    expect(rolesWithKeyAccess.sort()).toEqual([roleOf(keeper, 'indexer'), roleOf(keeper, 'trigger'), roleOf(keeper, 'worker')].sort());
    for (const name of ['worker', 'trigger'] as const) expect(keyActions(name)).toEqual(['kms:GetPublicKey', 'kms:Sign']);
    // Its address tells our liquidations from others' (the capture rate).
    expect(keyActions('indexer')).toEqual(['kms:GetPublicKey']);
  });

  it('no other role gets kms:Sign on any key, and the key policy gives no one but the account kms:Sign', () => {
    const signers = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      (p.Properties.PolicyDocument.Statement as PolicyStatementJson[]).some((s) => asArray(s.Action).some((a) => a === 'kms:Sign' || a === 'kms:*')),
    );
    const keyPolicy = resources()[signerKeyId()].Properties.KeyPolicy.Statement as PolicyStatementJson[];

    expect(signers.flatMap((p) => (p.Properties.Roles as { Ref: string }[]).map((r) => r.Ref)).sort()).toEqual(
      [roleOf(keeper, 'trigger'), roleOf(keeper, 'worker')].sort(),
    );
    for (const statement of keyPolicy) {
      // The default key policy: the account's root administers the key (IAM policies decide who uses it).
      expect(JSON.stringify(statement.Principal)).toContain(':root');
    }
  });

  it('the liquidator address parameter: read by the worker, the trigger and the indexer, written by the trigger alone', () => {
    const ssmActions = (name: PipelineFunctionName) =>
      statementsOfRole(keeper, roleOf(keeper, name))
        .filter((s) => asArray(s.Action).some((a) => a.startsWith('ssm:')))
        .map((s) => ({ actions: asArray(s.Action).sort(), resources: asArray(s.Resource).map((r) => JSON.stringify(r)) }));

    expect(ssmActions('indexer')).toEqual([{ actions: ['ssm:GetParameter'], resources: [expect.stringContaining(':parameter/test-keeper/liquidator-address')] }]);
    expect(functionResource(keeper, 'indexer').properties.Environment.Variables.LIQUIDATOR_ADDRESS_PARAMETER).toBe('/test-keeper/liquidator-address');
    expect(ssmActions('scanner')).toEqual([]);
    expect(ssmActions('worker')).toEqual([{ actions: ['ssm:GetParameter'], resources: [expect.stringContaining(':parameter/test-keeper/liquidator-address')] }]);
    expect(ssmActions('trigger')).toEqual([
      { actions: ['ssm:GetParameter', 'ssm:PutParameter'], resources: [expect.stringContaining(':parameter/test-keeper/liquidator-address')] },
    ]);
    expect(functionResource(keeper, 'worker').properties.Environment.Variables.LIQUIDATOR_ADDRESS_PARAMETER).toBe('/test-keeper/liquidator-address');
  });

  it.each(names)('%s: signer mode kms with the key ARN only where the function sends transactions or recognises our liquidations', (name) => {
    const env = functionResource(keeper, name).properties.Environment.Variables;

    if (PIPELINE_FUNCTIONS[name].sends || PIPELINE_FUNCTIONS[name].recognisesOwnLiquidations) {
      expect(env.SIGNER_MODE).toBe('kms');
      expect(env.KMS_KEY_ID).toEqual({ 'Fn::GetAtt': [signerKeyId(), 'Arn'] });
    } else {
      expect(env.SIGNER_MODE).toBeUndefined();
      expect(env.KMS_KEY_ID).toBeUndefined();
    }
  });
});
