/**
 * CDK entry: `npx cdk deploy --all -c config=deploy/<instance>.json`. One config file describes one keeper
 * instance (chain + market); it gets a stateful stack (tables, retained) and a pipeline stack. Several instances
 * deploy from one app with comma-separated files: `-c config=deploy/mainnet.json,deploy/base.json`.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { addKeeperInstance, loadDeploymentConfigs } from '../lib/keeper-app';

const DEFAULT_CONFIG_PATH = 'deploy/config.example.json';

const app = new App();
for (const config of loadDeploymentConfigs(app.node.tryGetContext('config') ?? DEFAULT_CONFIG_PATH)) addKeeperInstance(app, config);

// Synthesis fails on any unacknowledged AwsSolutions finding of error level.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
