/**
 * oracleUpdateFollower with a provider whose answers the test sets: the update's status from
 * eth_getTransactionByHash, readers built on a provider that carries the update's state override, and the bundle
 * broadcast (two blocks, public on refusal or without the update's signed transaction).
 */
import type { JsonRpcPayload, JsonRpcProvider, JsonRpcResult } from 'ethers';
import { CONSTANT_FEED_RUNTIME_BYTECODE } from '../../../functions/adapters/chain/constant-feed';
import { oracleUpdateFollower, overrideOf } from '../../../functions/adapters/chain/oracle-update-follower';
import type { OracleUpdateRef } from '../../../functions/pipeline/candidate-message';
import type { Bundle, BundleRelay } from '../../../functions/ports/bundle-relay';
import type { BroadcastResult, ChainGateway } from '../../../functions/ports/transactions';
import { createJsonRpcProvider } from '../../../functions/adapters/chain/provider';

const UPDATE: OracleUpdateRef = {
  txHash: `0x${'ab'.repeat(32)}`,
  feed: '0x00000000000000000000000000000000000000fe',
  answer: '250000000000',
  decimals: 8,
  maxFeePerGas: '3000000000',
  maxPriorityFeePerGas: '3000000000',
  raw: '0x02f8',
};

/** A provider whose transport answers from `answers` and records every request (no network). */
function providerAnswering(answers: Record<string, unknown>): { provider: JsonRpcProvider; sent: { method: string; params: unknown[] }[] } {
  const provider = createJsonRpcProvider('http://127.0.0.1:9', 31337);
  const sent: { method: string; params: unknown[] }[] = [];
  provider._send = async (payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> =>
    (Array.isArray(payload) ? payload : [payload]).map(({ id, method, params }) => {
      sent.push({ method, params: params as unknown[] });
      if (!(method in answers)) throw new Error(`unexpected ${method}`);
      return { id, result: answers[method] };
    });
  return { provider, sent };
}

function chainRecording(broadcasts: string[]): ChainGateway {
  return {
    latestBlock: async () => 100,
    feesAfter: async () => ({ baseFeePerGasWei: 1n, maxPriorityFeePerGasWei: 1n, maxFeePerGasWei: 3n }),
    confirmedNonce: async () => 0,
    broadcast: async (raw): Promise<BroadcastResult> => {
      broadcasts.push(raw);
      return { kind: 'accepted' };
    },
    receiptOfAny: async () => undefined,
  };
}

describe('oracleUpdateFollower', () => {
  it('tells a pending update (no block yet) from a landed one and a gone one', async () => {
    for (const [answer, status] of [
      [{ blockNumber: null }, 'pending'],
      [{ blockNumber: '0x65' }, 'landed'],
      [null, 'gone'],
    ] as const) {
      const { provider } = providerAnswering({ eth_getTransactionByHash: answer });
      await expect(oracleUpdateFollower(provider, { readersOn: () => ({}) }).statusOf(UPDATE.txHash)).resolves.toBe(status);
    }
  });

  it('builds the readers on a provider whose eth_call carries the update as a ConstantFeed override of its feed', async () => {
    const { provider, sent } = providerAnswering({ eth_call: '0x' });
    let built: JsonRpcProvider | undefined;
    oracleUpdateFollower(provider, {
      readersOn: (on) => {
        built = on;
        return {};
      },
    }).readersWith(UPDATE);

    await built!.send('eth_call', [{ to: UPDATE.feed, data: '0x50d25bcd' }, '0x64']);

    const override = (sent[0].params[2] as Record<string, { code: string }>)[UPDATE.feed];
    expect(override.code).toBe(CONSTANT_FEED_RUNTIME_BYTECODE);
    expect(sent[0].params[2]).toEqual(overrideOf(UPDATE));
  });

  it('offers the bundle [update, ours] for the next two blocks; on refusal, or without the update\'s transaction, it goes public', async () => {
    const bundles: Bundle[] = [];
    let refuse = false;
    const relay: BundleRelay = {
      sendBundle: async (bundle) => {
        if (refuse) throw new Error('relay: bundle refused (simulation failed)');
        bundles.push(bundle);
        return { bundleHash: '0x01' };
      },
    };
    const refusals: string[] = [];
    // The update still pending when the relay refuses.
    const { provider } = providerAnswering({ eth_getTransactionByHash: { blockNumber: null } });
    const follower = oracleUpdateFollower(provider, { readersOn: () => ({}), relay, onBundleRefused: (reason) => refusals.push(reason) });
    const publicly: string[] = [];
    const chain = chainRecording(publicly);

    await expect(follower.bundleBroadcast!(UPDATE, chain)('0xours')).resolves.toEqual({ kind: 'accepted' });
    expect(bundles).toEqual([
      { txs: [UPDATE.raw, '0xours'], blockNumber: 101 },
      { txs: [UPDATE.raw, '0xours'], blockNumber: 102 },
    ]);
    expect(publicly).toEqual([]);

    refuse = true;
    await follower.bundleBroadcast!(UPDATE, chain)('0xours2');
    expect(publicly).toEqual(['0xours2']);
    expect(refusals).toEqual(['relay: bundle refused (simulation failed)']);

    const { raw: _raw, ...withoutRaw } = UPDATE;
    await follower.bundleBroadcast!(withoutRaw, chain)('0xours3');
    expect(publicly).toEqual(['0xours2', '0xours3']);
  });

  it('a bundle refused because the update has landed sends nothing: the plan is stale, the delivery plans again', async () => {
    const relay: BundleRelay = {
      sendBundle: async () => {
        throw new Error('txs[0] refused by the node: nonce has already been used');
      },
    };
    const { provider } = providerAnswering({ eth_getTransactionByHash: { blockNumber: '0x65' } });
    const publicly: string[] = [];
    const follower = oracleUpdateFollower(provider, { readersOn: () => ({}), relay });

    const result = await follower.bundleBroadcast!(UPDATE, chainRecording(publicly))('0xours');

    expect(result).toMatchObject({ kind: 'rejected', retryable: true });
    expect(publicly).toEqual([]);
  });

  it('has no bundle broadcast without a relay', () => {
    const { provider } = providerAnswering({});
    expect(oracleUpdateFollower(provider, { readersOn: () => ({}) }).bundleBroadcast).toBeUndefined();
  });
});
