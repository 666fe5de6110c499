/**
 * Parameter Store reads (functions/adapters/aws/ssm-parameters.ts) on a real SDK client whose `send` answers as
 * SSM does: values are cached for their max age, a parameter not written yet reads as undefined (and is asked
 * again next time), other failures surface. The liquidator's address source turns a missing parameter into
 * "no liquidator contract", which the trigger's deploy-liquidator and the worker's start-up rely on.
 */
import { GetParameterCommand, ParameterNotFound, SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import type { JsonRpcProvider } from 'ethers';
import { liquidatorAddressFromConfig, NoLiquidatorContractError } from '../../../functions/adapters/chain/liquidator-address';
import { SsmStringParameters } from '../../../functions/adapters/aws/ssm-parameters';

const NAME = '/keeper/liquidator-address';

/** An SSM client answering GetParameter from `stored` (a missing name: ParameterNotFound, as SSM answers). */
function ssmWith(stored: Map<string, string>) {
  const client = new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const asked: string[] = [];
  jest.spyOn(client, 'send').mockImplementation(async (command: unknown) => {
    if (!(command instanceof GetParameterCommand)) throw new Error('only GetParameter is expected');
    const name = command.input.Name!;
    asked.push(name);
    const value = stored.get(name);
    if (value === undefined) throw new ParameterNotFound({ message: '', $metadata: {} });
    return { Parameter: { Name: name, Type: 'String', Value: value }, $metadata: {} };
  });
  return { client, asked };
}

describe('SsmStringParameters', () => {
  it('reads a parameter by name and keeps it for its max age', async () => {
    const { client, asked } = ssmWith(new Map([[NAME, '0xabc']]));
    const parameters = new SsmStringParameters(client);
    await expect(parameters.read(NAME, 300)).resolves.toBe('0xabc');
    await expect(parameters.read(NAME, 300)).resolves.toBe('0xabc');
    expect(asked).toEqual([NAME]);
  });

  it('reads a parameter not written yet as undefined, and asks again next time', async () => {
    const stored = new Map<string, string>();
    const { client, asked } = ssmWith(stored);
    const parameters = new SsmStringParameters(client);
    await expect(parameters.read(NAME, 300)).resolves.toBeUndefined();
    stored.set(NAME, '0xdef');
    await expect(parameters.read(NAME, 300)).resolves.toBe('0xdef');
    expect(asked).toEqual([NAME, NAME]);
  });

  it('surfaces any other failure as GetParameterError, with the SDK error as its cause', async () => {
    const client = new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const denied = new SSMServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'not allowed', $metadata: {} });
    jest.spyOn(client, 'send').mockImplementation(() => Promise.reject(denied));
    const read = new SsmStringParameters(client).read(NAME, 300);
    await expect(read).rejects.toMatchObject({ name: 'GetParameterError', message: 'not allowed', cause: denied });
  });
});

describe('liquidatorAddressFromConfig from an SSM parameter', () => {
  const config = { worker: { liquidator: { parameterName: NAME } } } as unknown as Parameters<typeof liquidatorAddressFromConfig>[0];
  const unusedProvider = {} as JsonRpcProvider;

  it('is "no liquidator contract" while the parameter does not exist (before deploy-liquidator)', async () => {
    const { client } = ssmWith(new Map());
    const read = liquidatorAddressFromConfig(config, unusedProvider, new SsmStringParameters(client));
    await expect(read).rejects.toThrow(NoLiquidatorContractError);
    await expect(read).rejects.toThrow(`SSM parameter ${NAME} does not exist`);
  });

  it('refuses a parameter that holds something other than an address', async () => {
    const { client } = ssmWith(new Map([[NAME, 'pending']]));
    const read = liquidatorAddressFromConfig(config, unusedProvider, new SsmStringParameters(client));
    await expect(read).rejects.toThrow(`SSM parameter ${NAME} holds "pending", not an address`);
  });
});
