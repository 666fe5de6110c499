/**
 * Shared by the infra tests: builds a keeper app as bin/app.ts does (lib/keeper-app.ts + cdk-nag), synthesizes
 * it in memory and reads the templates back, plus helpers to follow references between the two stacks.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type DeploymentConfig, parseDeploymentConfig } from '../../lib/config';
import { addKeeperInstance, type KeeperInstance } from '../../lib/keeper-app';
import { PIPELINE_FUNCTIONS, type PipelineFunctionName } from '../../lib/pipeline-functions';
import { QUEUES, type QueueName, TABLES, type TableName } from '../../lib/resources';

export const PROJECT_ROOT = join(__dirname, '..', '..');

/** `new App()` does not read cdk.json, so its feature flags are passed in: tests see what `cdk synth` emits. */
const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')).context;

export const CONFIG: DeploymentConfig = parseDeploymentConfig({
  name: 'test-keeper',
  chainId: 1,
  market: {
    protocol: 'aave-v3',
    pool: '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2',
    poolVersion: '3.6',
    nativePriceAsset: '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2',
    indexerStartBlock: 16291127,
    dex: { swapRouter02: '0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45', quoterV2: '0x61fFE014bA17989E743c5F6cB21bF9697530B21e' },
  },
  rpcUrlSecretName: 'test-keeper/rpc-url',
  alertEmail: 'oncall@example.com',
});

interface ValidationReport {
  pluginReports: { pluginName: string; violations: { ruleName: string; severity: string }[] }[];
}

export interface SynthesizedKeeper extends KeeperInstance {
  statefulTemplate: Template;
  pipelineTemplate: Template;
  outdir: string;
  synthError?: Error;
  nagViolations: string[];
}

const outdirs: string[] = [];
afterAll(() => outdirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/**
 * `bundle: true` bundles the four handlers with esbuild as `cdk synth` does (about a second in all);
 * otherwise bundling is skipped (TOOLCHAIN.md, gotcha 13) and the templates are otherwise identical.
 */
export function synthesizeKeeper(
  config: DeploymentConfig,
  options: { bundle?: boolean; addToPipeline?: (stack: Stack) => void } = {},
): SynthesizedKeeper {
  const outdir = mkdtempSync(join(tmpdir(), 'keeper-infra-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { ...CDK_JSON_CONTEXT, ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) } });
  const instance = addKeeperInstance(app, config);
  options.addToPipeline?.(instance.pipeline);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let synthError: Error | undefined;
  try {
    app.synth();
  } catch (err) {
    synthError = err as Error;
  }
  const readJson = (file: string) => JSON.parse(readFileSync(join(outdir, file), 'utf8'));
  const report: ValidationReport = readJson('validation-report.json');
  const nagViolations = report.pluginReports
    .filter((r) => r.pluginName === 'AwsSolutions')
    .flatMap((r) => r.violations.map((v) => `${v.severity} ${v.ruleName}`));
  // Read from disk: templates are written before validation runs, so a cdk-nag failure leaves them assertable.
  return {
    ...instance,
    outdir,
    statefulTemplate: Template.fromJSON(readJson(instance.stateful.templateFile)),
    pipelineTemplate: Template.fromJSON(readJson(instance.pipeline.templateFile)),
    synthError,
    nagViolations,
  };
}

// ── Following references ──────────────────────────────────────────────────────────────────────────────────

/** What a template value points at: a resource of one of the two stacks (and which attribute), or a literal. */
export type Target =
  | { kind: 'resource'; stack: 'stateful' | 'pipeline'; logicalId: string; attribute: 'Ref' | string }
  | { kind: 'literal'; value: unknown };

/**
 * Resolves `Ref`, `Fn::GetAtt` and the weak cross-stack reference `Fn::GetStackOutput` (cdk.json's
 * `defaultCrossStackReferences: weak`) to the resource they name.
 */
export function targetOf(value: unknown, keeper: SynthesizedKeeper): Target {
  const v = value as Record<string, unknown>;
  if (v && typeof v === 'object') {
    if ('Ref' in v) return { kind: 'resource', stack: 'pipeline', logicalId: v.Ref as string, attribute: 'Ref' };
    if ('Fn::GetAtt' in v) {
      const [logicalId, attribute] = v['Fn::GetAtt'] as [string, string];
      return { kind: 'resource', stack: 'pipeline', logicalId, attribute };
    }
    if ('Fn::GetStackOutput' in v) {
      const { StackName, OutputName } = v['Fn::GetStackOutput'] as { StackName: string; OutputName: string };
      expect(StackName).toBe(keeper.stateful.stackName);
      const output = keeper.statefulTemplate.toJSON().Outputs[OutputName];
      expect(output).toBeDefined();
      const inner = targetOf(output.Value, keeper);
      return inner.kind === 'resource' ? { ...inner, stack: 'stateful' } : inner;
    }
  }
  return { kind: 'literal', value };
}

function resourceOf(target: Target, keeper: SynthesizedKeeper): { Type: string; Properties: Record<string, unknown> } | undefined {
  if (target.kind !== 'resource') return undefined;
  const template = target.stack === 'stateful' ? keeper.statefulTemplate : keeper.pipelineTemplate;
  return template.toJSON().Resources[target.logicalId];
}

/** The TABLES key of the table a value refers to (by the table's physical name), if it is a table. */
export function tableKeyOf(value: unknown, keeper: SynthesizedKeeper): { key: TableName; attribute: string } | undefined {
  const target = targetOf(value, keeper);
  const resource = resourceOf(target, keeper);
  if (resource?.Type !== 'AWS::DynamoDB::GlobalTable' || target.kind !== 'resource') return undefined;
  const key = (Object.keys(TABLES) as TableName[]).find((k) => `${keeper.config.name}-${TABLES[k].id}` === resource.Properties.TableName);
  return key && { key, attribute: target.attribute };
}

/** The QUEUES key of the queue a value refers to (by the queue's physical name), if it is a queue. */
export function queueKeyOf(value: unknown, keeper: SynthesizedKeeper): { key: QueueName; attribute: string } | undefined {
  const target = targetOf(value, keeper);
  const resource = resourceOf(target, keeper);
  if (resource?.Type !== 'AWS::SQS::Queue' || target.kind !== 'resource') return undefined;
  const key = (Object.keys(QUEUES) as QueueName[]).find((k) => {
    const def = QUEUES[k];
    return `${keeper.config.name}-${def.baseName}${def.fifo ? '.fifo' : ''}` === resource.Properties.QueueName;
  });
  return key && { key, attribute: target.attribute };
}

/** The synthesized function of one definition, found by its name (`<config name>-<id>`). */
export function functionResource(keeper: SynthesizedKeeper, name: PipelineFunctionName) {
  const found = keeper.pipelineTemplate.findResources('AWS::Lambda::Function', {
    Properties: { FunctionName: `${keeper.config.name}-${PIPELINE_FUNCTIONS[name].id}` },
  });
  const entries = Object.entries(found);
  expect(entries).toHaveLength(1);
  const [logicalId, resource] = entries[0];
  return { logicalId, properties: resource.Properties };
}

/** The logical id of a function's execution role. */
export function roleOf(keeper: SynthesizedKeeper, name: PipelineFunctionName): string {
  const role = functionResource(keeper, name).properties.Role;
  const target = targetOf(role, keeper);
  if (target.kind !== 'resource') throw new Error(`the role of ${name} is not a resource of the stack`);
  return target.logicalId;
}

/**
 * A function's environment with every reference replaced by the value it takes on AWS: table names, queue
 * URLs (account 123456789012, us-east-1) and the signer key's ARN.
 */
export function deployedEnvironment(keeper: SynthesizedKeeper, name: PipelineFunctionName): Record<string, string> {
  const variables: Record<string, unknown> = functionResource(keeper, name).properties.Environment.Variables;
  const env: Record<string, string> = {};
  for (const [variable, value] of Object.entries(variables)) {
    if (typeof value === 'string') {
      env[variable] = value;
      continue;
    }
    const table = tableKeyOf(value, keeper);
    const queue = queueKeyOf(value, keeper);
    const target = targetOf(value, keeper);
    if (table) env[variable] = `${keeper.config.name}-${TABLES[table.key].id}`;
    else if (queue) {
      const def = QUEUES[queue.key];
      env[variable] = `https://sqs.us-east-1.amazonaws.com/123456789012/${keeper.config.name}-${def.baseName}${def.fifo ? '.fifo' : ''}`;
    } else if (target.kind === 'resource' && resourceOf(target, keeper)?.Type === 'AWS::KMS::Key') {
      env[variable] = `arn:aws:kms:us-east-1:123456789012:key/${target.logicalId}`;
    } else throw new Error(`${name}: cannot resolve ${variable} = ${JSON.stringify(value)}`);
  }
  return env;
}

/** An IAM policy statement as synthesized. */
export interface PolicyStatementJson {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

/** Every IAM policy statement attached to a role of the pipeline stack. */
export function statementsOfRole(keeper: SynthesizedKeeper, roleId: string): PolicyStatementJson[] {
  const policies = keeper.pipelineTemplate.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as PolicyStatementJson[]);
}

export const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
