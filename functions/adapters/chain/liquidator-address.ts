/**
 * Where the worker and the trigger find the liquidator contract: LIQUIDATOR_ADDRESS (local chain, or an operator
 * who deployed it by other means), or the SSM parameter the trigger's `deploy-liquidator` writes (read through
 * Powertools Parameters, cached for 5 minutes; a parameter not written yet means no contract yet). The address
 * must hold code of a contract whose `owner()` answers: a parameter pointing at an account or another chain's
 * address is refused at start-up.
 */
import { getAddress, Interface, type JsonRpcProvider } from 'ethers';
import type { PipelineConfig } from '../../config/pipeline-config';
import { SsmStringParameters } from '../aws/ssm-parameters';
import { ViewContract } from './view-contract';

const OWNER_ABI = new Interface(['function owner() view returns (address)']);

/** How long a read address is kept before Parameter Store is asked again. */
const PARAMETER_MAX_AGE_SEC = 300;

let defaultParameters: SsmStringParameters | undefined;

/** No liquidator contract is configured or deployed yet. Permanent until an operator deploys one. */
export class NoLiquidatorContractError extends Error {
  readonly retryable = false;
  constructor(detail: string) {
    super(`no liquidator contract: ${detail}. Deploy one with the trigger's "deploy-liquidator" action (see README, Deploying)`);
    this.name = 'NoLiquidatorContractError';
  }
}

/** The configured address, checked on chain: code present and an `owner()`. */
export async function liquidatorAddressFromConfig(
  config: Pick<PipelineConfig, 'worker'>,
  provider: JsonRpcProvider,
  /** Parameter Store (a cache shared by the container's calls unless given). */
  parameters?: SsmStringParameters,
): Promise<string> {
  const source = config.worker.liquidator;
  if (!source) throw new NoLiquidatorContractError('neither LIQUIDATOR_ADDRESS nor LIQUIDATOR_ADDRESS_PARAMETER is set');
  let address: string;
  if ('address' in source) {
    address = source.address;
  } else {
    const stored = await (parameters ?? (defaultParameters ??= new SsmStringParameters())).read(source.parameterName, PARAMETER_MAX_AGE_SEC);
    if (!stored) throw new NoLiquidatorContractError(`SSM parameter ${source.parameterName} does not exist`);
    if (!/^0x[0-9a-fA-F]{40}$/.test(stored)) throw new NoLiquidatorContractError(`SSM parameter ${source.parameterName} holds "${stored}", not an address`);
    address = stored;
  }
  address = getAddress(address.toLowerCase());
  const code = await provider.getCode(address);
  if (code === '0x') throw new NoLiquidatorContractError(`${address} holds no code on this chain`);
  await new ViewContract(address, OWNER_ABI, provider).read<string>('owner').catch((error: unknown) => {
    throw new NoLiquidatorContractError(`${address} does not answer owner() (${(error as Error).message})`);
  });
  return address;
}
