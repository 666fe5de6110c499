import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { JsonRpcProvider } from 'ethers';
import type { PipelineConfig } from '../../config/pipeline-config';
import { createJsonRpcProvider } from './provider';

/** Wrong chain behind the RPC URL: refused before anything is read or signed. */
export class ChainIdMismatchError extends Error {
  constructor(
    readonly expected: number,
    readonly actual: bigint,
  ) {
    super(`RPC endpoint serves chain ${actual}, configuration says ${expected}: refusing to run`);
    this.name = 'ChainIdMismatchError';
  }
}

/**
 * The provider for the configured chain. The RPC URL comes from Secrets Manager by name (cached by Powertools
 * Parameters for 5 minutes across invocations), or from RPC_URL on the local chain. The endpoint's chain id is
 * checked once, so a URL pointing at the wrong network is refused at start-up.
 */
export async function providerFromConfig(config: Pick<PipelineConfig, 'rpc' | 'chainId'>): Promise<JsonRpcProvider> {
  return providerForEndpoint(config.rpc, config.chainId);
}

/** The private submission endpoint's provider, if one is configured; its chain id is checked the same way. */
export async function privateProviderFromConfig(config: Pick<PipelineConfig, 'privateRpc' | 'chainId'>): Promise<JsonRpcProvider | undefined> {
  return config.privateRpc ? providerForEndpoint(config.privateRpc, config.chainId) : undefined;
}

async function providerForEndpoint(endpoint: PipelineConfig['rpc'], chainId: number): Promise<JsonRpcProvider> {
  const config = { chainId };
  const url = 'url' in endpoint ? endpoint.url : await getSecret(endpoint.secretName, { maxAge: 300 });
  if (typeof url !== 'string' || url.length === 0) throw new Error('the RPC URL secret is empty or not a string');
  const provider = createJsonRpcProvider(url, config.chainId);
  const actual = BigInt(await provider.send('eth_chainId', []));
  if (actual !== BigInt(config.chainId)) {
    provider.destroy();
    throw new ChainIdMismatchError(config.chainId, actual);
  }
  return provider;
}
