/**
 * String parameters of SSM Parameter Store, read one by name through Powertools Parameters' BaseProvider: its
 * cache (`maxAge`), `forceFetch` and error wrapping, with the one SDK call the functions need. This is the
 * library's documented way to add a provider; its own SSMProvider also carries paths, decryption and
 * getParametersByName batching, which no function uses (about 4.3 kB of the worker's bundle).
 *
 * A parameter that does not exist reads as `undefined` (the SDK's ParameterNotFound), as a value not written
 * yet: the liquidator's address before the trigger's `deploy-liquidator` has run. Any other failure (access
 * denied, throttling, the network) is Powertools' GetParameterError, with the SDK's error as its cause.
 */
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { BaseProvider } from '@aws-lambda-powertools/parameters/base';

export class SsmStringParameters extends BaseProvider {
  declare protected client: SSMClient;

  constructor(client?: SSMClient) {
    super({ awsSdkV3Client: client ?? new SSMClient({}) });
  }

  /** The parameter's value, cached for `maxAgeSec`; undefined while it does not exist (not cached). */
  read(name: string, maxAgeSec: number): Promise<string | undefined> {
    return this.get(name, { maxAge: maxAgeSec }) as Promise<string | undefined>;
  }

  protected async _get(name: string): Promise<string | undefined> {
    try {
      return (await this.client.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
    } catch (error) {
      if ((error as { name?: string }).name === 'ParameterNotFound') return undefined;
      throw error;
    }
  }

  protected _getMultiple(path: string): Promise<Record<string, unknown> | undefined> {
    return Promise.reject(new Error(`SsmStringParameters reads parameters by name only, not the path ${path}`));
  }
}
