/**
 * The nonce leases on DynamoDB Local (the NonceLeases table as lib/resources.ts defines it), and gap repair on
 * them against a real anvil. Lease time is an injected value, never a sleep: "now" is 1,705,362,600,000 ms, leases
 * last 60 s. Each test leases for its own signer, so its partition starts empty.
 */
import { CreateTableCommand, type DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { JsonRpcProvider } from 'ethers';
import { createDocumentClient } from '../../functions/adapters/aws/clients';
import { classifyBroadcastError } from '../../functions/adapters/chain/ethers-chain-gateway';
import { LocalKeySigner } from '../../functions/adapters/chain/local-signer';
import { createJsonRpcProvider } from '../../functions/adapters/chain/provider';
import {
  CONFIRMED_EXPIRY_ATTRIBUTE,
  DynamoDbNonceLeases,
  type DynamoDbNonceLeasesOptions,
  HEAD_NONCE,
} from '../../functions/adapters/store/dynamodb-nonce-leases';
import { type GapChain, repairNonceGaps } from '../../functions/pipeline/nonce-gaps';
import { NonceLeaseLostError, signerKeyOf } from '../../functions/ports/nonce-leases';
import type { BroadcastResult } from '../../functions/ports/transactions';
import { physicalTableName, TABLES } from '../../lib/resources';
import { type Anvil, LOCAL_CHAIN_ID, startAnvil } from '../../local/world/anvil';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/world/dynamodb-local';
import { createTableInput, localDynamoDbClient } from '../../local/world/resources';
import { ACCOUNTS, LOCAL_LIQUIDATOR_KEYS } from '../../local/world/seed';

jest.setTimeout(120_000);

const NOW = 1_705_362_600_000;
const LEASE_MS = 60_000;
const WEEK_SEC = 7 * 24 * 3600;

let dynamo: DynamoDbLocal;
let client: DynamoDBClient;
let documents: DynamoDBDocumentClient;
let table: string;
let signers = 0;

/** A signer key of its own and leases on the shared table. */
function leasesForNewSigner(options: DynamoDbNonceLeasesOptions = {}, through?: DynamoDBDocumentClient): { signer: string; leases: DynamoDbNonceLeases } {
  signers += 1;
  const signer = signerKeyOf(31337, `0x${signers.toString(16).padStart(40, '0')}`);
  return { signer, leases: new DynamoDbNonceLeases(through ?? documents, table, { leaseMs: LEASE_MS, ...options }) };
}

async function item(signer: string, nonce: number): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documents.send(new GetCommand({ TableName: table, Key: { signer, nonce }, ConsistentRead: true }));
  return Item;
}

beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
  client = localDynamoDbClient(dynamo.endpoint);
  documents = createDocumentClient({ endpoints: { dynamodb: dynamo.endpoint } });
  table = physicalTableName('nonce-leases-test', 'nonceLeases');
  await client.send(new CreateTableCommand(createTableInput(TABLES.nonceLeases, table)));
  await client.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { AttributeName: TABLES.nonceLeases.timeToLiveAttribute, Enabled: true } }));
});

afterAll(async () => {
  documents?.destroy();
  client?.destroy();
  await dynamo?.process.stop();
});

describe('DynamoDbNonceLeases: allocation', () => {
  it('gives 50 concurrent allocations 50 distinct consecutive nonces', async () => {
    // Arrange
    const { signer, leases } = leasesForNewSigner();

    // Act
    const allocated = await Promise.all(Array.from({ length: 50 }, (_, i) => leases.allocate(signer, `attempt-${i}`, 0, NOW)));

    // Assert
    expect(allocated.map((lease) => lease.nonce).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const stored = await leases.open(signer, 0);
    expect(stored.map((lease) => [lease.nonce, lease.owner, lease.state, lease.expiresAtMs])).toEqual(
      [...allocated].sort((a, b) => a.nonce - b.nonce).map((lease) => [lease.nonce, lease.owner, 'leased', NOW + LEASE_MS]),
    );
    expect((await item(signer, HEAD_NONCE))?.next).toBe(50);
  });

  it('reuses released nonces lowest first, then continues after the head', async () => {
    // Arrange
    const { signer, leases } = leasesForNewSigner();
    const held = [];
    for (let i = 0; i < 5; i++) held.push(await leases.allocate(signer, `attempt-${i}`, 0, NOW));
    await leases.release(held[3], NOW);
    await leases.release(held[1], NOW);

    // Act
    const nonces = [];
    for (const owner of ['a', 'b', 'c']) nonces.push((await leases.allocate(signer, owner, 0, NOW)).nonce);

    // Assert
    expect(nonces).toEqual([1, 3, 5]);
  });

  it('spreads 20 concurrent allocations over 10 released nonces and 10 fresh ones', async () => {
    // Arrange
    const { signer, leases } = leasesForNewSigner();
    const held = [];
    for (let i = 0; i < 10; i++) held.push(await leases.allocate(signer, `first-${i}`, 0, NOW));
    for (const lease of held) await leases.release(lease, NOW);

    // Act
    const allocated = await Promise.all(Array.from({ length: 20 }, (_, i) => leases.allocate(signer, `second-${i}`, 0, NOW)));

    // Assert
    expect(allocated.map((lease) => lease.nonce).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('starts at the chain nonce when the chain is past the head, and never below it', async () => {
    // Arrange
    const { signer, leases } = leasesForNewSigner();
    await leases.allocate(signer, 'a', 0, NOW);
    const released = await leases.allocate(signer, 'b', 0, NOW);
    await leases.release(released, NOW);

    // Act: nonces 0…9 were used on chain by transactions the table never saw.
    const atChain = await leases.allocate(signer, 'c', 10, NOW);
    const next = await leases.allocate(signer, 'd', 10, NOW);

    // Assert: the released nonce 1 is below the chain nonce, so it is not reused.
    expect([atChain.nonce, next.nonce]).toEqual([10, 11]);
  });

  it('continues after the highest lease when the head item is lost', async () => {
    // Arrange
    const { signer, leases } = leasesForNewSigner();
    for (const owner of ['a', 'b', 'c']) await leases.allocate(signer, owner, 0, NOW);
    await documents.send(new DeleteCommand({ TableName: table, Key: { signer, nonce: HEAD_NONCE } }));

    // Act
    const lease = await leases.allocate(signer, 'd', 0, NOW);

    // Assert
    expect(lease.nonce).toBe(3);
  });

  it('never overwrites a lease written at a reserved nonce before its allocator (gap repair got there first)', async () => {
    // Arrange: just before the allocator writes the lease of the first nonce it reserved, gap repair takes it.
    const repairLeases = new DynamoDbNonceLeases(documents, table, { leaseMs: LEASE_MS });
    let preempted = false;
    const { signer, leases } = leasesForNewSigner({}, interceptPuts(async (put) => {
      if (preempted) return;
      preempted = true;
      await repairLeases.takeOver(String(put.signer), Number(put.nonce), 'gap-repair', NOW);
    }));

    // Act
    const lease = await leases.allocate(signer, 'slow-attempt', 0, NOW);

    // Assert: the allocator lost nonce 0 and reserved the next one.
    expect(lease.nonce).toBe(1);
    expect(await item(signer, 0)).toMatchObject({ owner: 'gap-repair', state: 'leased' });
    expect(await item(signer, 1)).toMatchObject({ owner: 'slow-attempt', state: 'leased' });
  });

  it('gives up after its rounds with a retryable error when every round is lost', async () => {
    // Arrange: every put of a reserved nonce is pre-empted.
    const repairLeases = new DynamoDbNonceLeases(documents, table, { leaseMs: LEASE_MS });
    const { signer, leases } = leasesForNewSigner({ maxAllocationRounds: 3 }, interceptPuts(async (put) => {
      await repairLeases.takeOver(String(put.signer), Number(put.nonce), 'gap-repair', NOW);
    }));

    // Act
    const allocating = leases.allocate(signer, 'unlucky', 0, NOW);

    // Assert
    await expect(allocating).rejects.toThrow(`no nonce of ${signer} leased to unlucky: lost the race to other allocators 3 times`);
    await expect(allocating).rejects.toMatchObject({ name: 'NonceAllocationContendedError', retryable: true });
  });
});

/** A document client that runs `beforePut` with the item of every PutCommand before sending it. */
function interceptPuts(beforePut: (item: Record<string, unknown>) => Promise<void>): DynamoDBDocumentClient {
  return {
    send: async (command: unknown) => {
      if (command instanceof PutCommand) await beforePut(command.input.Item ?? {});
      return documents.send(command as PutCommand);
    },
  } as unknown as DynamoDBDocumentClient;
}

describe('DynamoDbNonceLeases: holding a lease', () => {
  it('lets an allocation take over an expired lease, and the late holder learns it lost the nonce', async () => {
    // Arrange
    const { signer, leases } = leasesForNewSigner();
    const stale = await leases.allocate(signer, 'frozen-worker', 0, NOW);

    // Act
    const taken = await leases.allocate(signer, 'next-worker', 0, NOW + LEASE_MS + 1);
    const lateSign = leases.markSigned(stale, { txHash: '0xlate', rawTransaction: '0xlateraw' }, NOW + LEASE_MS + 2);

    // Assert
    expect(taken).toEqual({ signer, nonce: 0, owner: 'next-worker' });
    await expect(lateSign).rejects.toThrow(`nonce 0 of ${signer} is no longer leased to frozen-worker`);
    await expect(lateSign).rejects.toBeInstanceOf(NonceLeaseLostError);
    expect(await item(signer, 0)).toMatchObject({ owner: 'next-worker', state: 'leased', expiresAtMs: NOW + 2 * LEASE_MS + 1 });
  });

  it('refuses markSigned past the lease time even before anyone takes the nonce over', async () => {
    // Arrange
    const { signer, leases } = leasesForNewSigner();
    const onTime = await leases.allocate(signer, 'on-time-worker', 0, NOW);
    const late = await leases.allocate(signer, 'slow-worker', 0, NOW);

    // Act: the last millisecond of a lease is still the holder's.
    const atExpiry = leases.markSigned(onTime, { txHash: '0x01', rawTransaction: '0xraw01' }, NOW + LEASE_MS);
    const pastExpiry = leases.markSigned(late, { txHash: '0x02', rawTransaction: '0xraw02' }, NOW + LEASE_MS + 1);

    // Assert
    await expect(atExpiry).resolves.toBeUndefined();
    await expect(pastExpiry).rejects.toThrow(`nonce 1 of ${signer} is no longer leased to slow-worker`);
    expect(await item(signer, 1)).toMatchObject({ owner: 'slow-worker', state: 'leased' });
  });

  it('never reallocates a signed nonce; its holder may sign a replacement', async () => {
    // Arrange
    const { signer, leases } = leasesForNewSigner();
    const lease = await leases.allocate(signer, 'liquidation', 0, NOW);
    await leases.markSigned(lease, { txHash: '0xfirst', rawTransaction: '0xrawfirst' }, NOW);

    // Act: long after the lease time, an allocation, a takeover and another owner's writes.
    const later = NOW + 10 * LEASE_MS;
    const allocated = await leases.allocate(signer, 'other', 0, later);
    const takeOver = await leases.takeOver(signer, 0, 'gap-repair', later);
    const foreignRelease = leases.release({ ...lease, owner: 'other' }, later);
    await leases.markSigned(lease, { txHash: '0xreplacement', rawTransaction: '0xrawreplacement' }, later);

    // Assert
    expect(allocated.nonce).toBe(1);
    expect(takeOver).toEqual({ kind: 'held', state: 'signed' });
    await expect(foreignRelease).rejects.toThrow(`nonce 0 of ${signer} is no longer leased to other`);
    expect(await item(signer, 0)).toMatchObject({ owner: 'liquidation', state: 'signed', txHash: '0xreplacement', rawTransaction: '0xrawreplacement' });
  });

  it('releases a signed lease whose transaction the node refused, forgetting the transaction', async () => {
    // Arrange
    const { signer, leases } = leasesForNewSigner();
    const lease = await leases.allocate(signer, 'refused', 0, NOW);
    await leases.markSigned(lease, { txHash: '0xrefused', rawTransaction: '0xrawrefused' }, NOW);

    // Act
    await leases.release(lease, NOW + 1);
    await leases.release(lease, NOW + 2);
    const reused = await leases.allocate(signer, 'retry', 0, NOW + 3);

    // Assert
    expect(reused.nonce).toBe(0);
    const stored = await item(signer, 0);
    expect(stored).toMatchObject({ owner: 'retry', state: 'leased' });
    expect(stored).not.toHaveProperty('rawTransaction');
  });

  it('confirms idempotently for the holder only, with a TTL one week out; open lists the rest lowest first', async () => {
    // Arrange
    const { signer, leases } = leasesForNewSigner();
    const held = [];
    for (const owner of ['o0', 'o1', 'o2', 'o3']) held.push(await leases.allocate(signer, owner, 0, NOW));
    await leases.markSigned(held[1], { txHash: '0xhash1', rawTransaction: '0xraw1' }, NOW + 1);
    await leases.release(held[2], NOW + 2);

    // Act
    await leases.confirm(held[0], NOW + 3_000);
    await leases.confirm(held[0], NOW + 3_000);
    const foreignConfirm = leases.confirm({ ...held[3], owner: 'someone-else' }, NOW + 4);
    const fromZero = await leases.open(signer, 0);
    const fromTwo = await leases.open(signer, 2);

    // Assert
    await expect(foreignConfirm).rejects.toThrow(`nonce 3 of ${signer} is no longer leased to someone-else`);
    expect(fromZero).toEqual([
      { signer, nonce: 1, owner: 'o1', state: 'signed', expiresAtMs: NOW + LEASE_MS, updatedAtMs: NOW + 1, txHash: '0xhash1', rawTransaction: '0xraw1' },
      { signer, nonce: 2, owner: 'o2', state: 'released', expiresAtMs: NOW + LEASE_MS, updatedAtMs: NOW + 2 },
      { signer, nonce: 3, owner: 'o3', state: 'leased', expiresAtMs: NOW + LEASE_MS, updatedAtMs: NOW },
    ]);
    expect(fromTwo.map((lease) => lease.nonce)).toEqual([2, 3]);
    expect(CONFIRMED_EXPIRY_ATTRIBUTE).toBe(TABLES.nonceLeases.timeToLiveAttribute);
    // (NOW + 3,000) / 1,000 = 1,705,362,603 s, plus a week.
    expect(await item(signer, 0)).toMatchObject({ state: 'confirmed', owner: 'o0', [CONFIRMED_EXPIRY_ATTRIBUTE]: 1_705_362_603 + WEEK_SEC });
    expect(await item(signer, 1)).not.toHaveProperty(CONFIRMED_EXPIRY_ATTRIBUTE);
  });

  it('takes over a nonce with no lease at all (an abandoned reservation), but never a live one', async () => {
    // Arrange: nonce 0 reserved and its lease never written (simulated by deleting it); nonce 1 live.
    const { signer, leases } = leasesForNewSigner();
    const abandoned = await leases.allocate(signer, 'crashed', 0, NOW);
    await leases.allocate(signer, 'live', 0, NOW);
    await documents.send(new DeleteCommand({ TableName: table, Key: { signer, nonce: abandoned.nonce } }));

    // Act
    const allocated = await leases.allocate(signer, 'allocation', 0, NOW);
    const hole = await leases.takeOver(signer, 0, 'gap-repair', NOW);
    const live = await leases.takeOver(signer, 1, 'gap-repair', NOW);

    // Assert: allocation leaves the hole to gap repair (a slow allocator may be about to write it).
    expect(allocated.nonce).toBe(2);
    expect(hole).toEqual({ kind: 'taken', lease: { signer, nonce: 0, owner: 'gap-repair' } });
    expect(live).toEqual({ kind: 'held', state: 'leased' });
  });
});

/** Gap repair's chain over ethers; anvil answers a transaction it holds already with "transaction already imported". */
function ethersGapChain(provider: JsonRpcProvider): GapChain {
  return {
    confirmedNonce: (address) => provider.getTransactionCount(address, 'latest'),
    pendingNonce: (address) => provider.getTransactionCount(address, 'pending'),
    async broadcast(raw): Promise<BroadcastResult> {
      try {
        await provider.send('eth_sendRawTransaction', [raw]);
        return { kind: 'accepted' };
      } catch (error) {
        const result = classifyBroadcastError(error);
        return result.kind === 'rejected' && /already imported/i.test(result.reason) ? { kind: 'accepted' } : result;
      }
    },
    async feesNow() {
      const fees = await provider.getFeeData();
      return { maxFeePerGasWei: fees.maxFeePerGas!, maxPriorityFeePerGasWei: fees.maxPriorityFeePerGas! };
    },
  };
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('repairNonceGaps on anvil', () => {
  let anvil: Anvil;
  let provider: JsonRpcProvider;

  beforeAll(async () => {
    anvil = await startAnvil({ blockTimeSec: 0 });
    provider = createJsonRpcProvider(anvil.rpcUrl, LOCAL_CHAIN_ID);
  });

  afterAll(async () => {
    provider?.destroy();
    await anvil?.process.stop();
  });

  it('fills an expired lease below a signed transaction with a self-transfer, and both are mined', async () => {
    // Arrange: nonce n leased by a worker that died; nonce n + 1 signed and sent, stuck behind it.
    const signer = new LocalKeySigner(LOCAL_LIQUIDATOR_KEYS[0]);
    const chain = ethersGapChain(provider);
    const leases = new DynamoDbNonceLeases(documents, table, { leaseMs: LEASE_MS });
    const key = signerKeyOf(LOCAL_CHAIN_ID, signer.address);
    const n = await chain.confirmedNonce(signer.address);
    await leases.allocate(key, 'crashed-attempt', n, NOW);
    const blocked = await leases.allocate(key, 'liquidation', n, NOW);
    const fees = await chain.feesNow();
    const tx = await signer.signTransaction({
      chainId: LOCAL_CHAIN_ID,
      nonce: blocked.nonce,
      to: ACCOUNTS.deployer,
      data: '0x',
      valueWei: 1n,
      gasLimit: 21_000n,
      ...fees,
    });
    await leases.markSigned(blocked, { txHash: tx.hash, rawTransaction: tx.raw }, NOW);
    expect(await chain.broadcast(tx.raw)).toEqual({ kind: 'accepted' });
    expect([await chain.confirmedNonce(signer.address), await chain.pendingNonce(signer.address)]).toEqual([n, n]);

    // Act: a repair after the dead worker's lease expired and the blocked transaction went stale.
    const repairAtMs = NOW + LEASE_MS + 1;
    const repair = await repairNonceGaps(
      { chain, signer, nonces: leases, clock: { nowMs: () => repairAtMs }, settings: { chainId: LOCAL_CHAIN_ID, staleAfterMs: 30_000 } },
      signer.address,
    );

    // Assert
    expect(repair).toEqual({ address: signer.address, rebroadcast: [n + 1], filled: [n], skipped: [] });
    await waitFor(async () => (await chain.confirmedNonce(signer.address)) === n + 2, 10_000);
    expect(await chain.pendingNonce(signer.address)).toBe(n + 2);
    const [filler] = await leases.open(key, n);
    expect(filler).toMatchObject({ nonce: n, owner: `gap-repair#${repairAtMs}`, state: 'signed' });
    const mined = await provider.getTransaction(filler.txHash!);
    expect({ from: mined?.from, to: mined?.to, value: mined?.value, nonce: mined?.nonce, data: mined?.data }).toEqual({
      from: signer.address,
      to: signer.address,
      value: 0n,
      nonce: n,
      data: '0x',
    });
    expect((await provider.getTransactionReceipt(tx.hash))?.status).toBe(1);
  });
});
