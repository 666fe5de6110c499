/**
 * CDK entry: `npx cdk deploy --all -c config=deploy/<instance>.json`. One config file describes one keeper
 * instance (chain + market); it gets a stateful stack (tables, retained) and a pipeline stack.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadDeploymentConfig } from '../lib/config';
import { PipelineStack } from '../lib/pipeline-stack';
import { StatefulStack } from '../lib/stateful-stack';

const DEFAULT_CONFIG_PATH = 'deploy/config.example.json';

const app = new App();
const configPath: unknown = app.node.tryGetContext('config') ?? DEFAULT_CONFIG_PATH;
if (typeof configPath !== 'string') throw new Error(`context "config" must be a file path, got ${JSON.stringify(configPath)}`);
const config = loadDeploymentConfig(configPath);

const description = `Aave v3 liquidation keeper "${config.name}" (chain ${config.chainId}, pool ${config.market.pool})`;
new StatefulStack(app, `${config.name}-stateful`, { config, description: `${description}: tables` });
new PipelineStack(app, `${config.name}-pipeline`, { config, description: `${description}: pipeline` });

// Synthesis fails on any unacknowledged AwsSolutions finding of error level.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
