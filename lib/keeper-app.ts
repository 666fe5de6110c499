/**
 * One keeper instance per deployment config: a stateful stack (tables, retained) and a pipeline stack that
 * receives the tables as props. bin/app.ts and the infra tests build the app with these functions, so the tests
 * see what `cdk synth` emits.
 */
import type { App } from 'aws-cdk-lib';
import { type DeploymentConfig, loadDeploymentConfig } from './config';
import { PipelineStack } from './pipeline-stack';
import { StatefulStack } from './stateful-stack';

export interface KeeperInstance {
  config: DeploymentConfig;
  stateful: StatefulStack;
  pipeline: PipelineStack;
}

export function addKeeperInstance(app: App, config: DeploymentConfig): KeeperInstance {
  const description = `Aave v3 liquidation keeper "${config.name}" (chain ${config.chainId}, pool ${config.market.pool})`;
  const stateful = new StatefulStack(app, `${config.name}-stateful`, { config, description: `${description}: tables` });
  const pipeline = new PipelineStack(app, `${config.name}-pipeline`, { config, tables: stateful.tables, description: `${description}: pipeline` });
  return { config, stateful, pipeline };
}

/**
 * The config files named by the `config` context value: one path, or several separated by commas (one keeper
 * instance each, e.g. one per chain or market). Instance names must differ: they prefix every stack and resource.
 */
export function loadDeploymentConfigs(contextValue: unknown): DeploymentConfig[] {
  if (typeof contextValue !== 'string' || contextValue.trim() === '') {
    throw new Error(`context "config" must be a file path or comma-separated file paths, got ${JSON.stringify(contextValue)}`);
  }
  const configs = contextValue
    .split(',')
    .map((path) => path.trim())
    .filter((path) => path.length > 0)
    .map((path) => loadDeploymentConfig(path));
  const seen = new Set<string>();
  for (const { name } of configs) {
    if (seen.has(name)) throw new Error(`two deployment configs are named "${name}": each keeper instance needs its own name`);
    seen.add(name);
  }
  return configs;
}
