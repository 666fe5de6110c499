/**
 * A local stand-in for a Flashbots-format bundle relay in front of the local anvil, speaking the same wire format
 * as functions/adapters/chain/flashbots-bundle-relay.ts's relay (JSON-RPC `eth_sendBundle`, X-Flashbots-Signature):
 *
 *   const relay = await startBundleRelay({ upstreamRpcUrl: world.info.rpcUrl });
 *   new FlashbotsBundleRelay({ url: relay.url, authSigner }).sendBundle({ txs: [updateRaw, ourRaw], blockNumber });
 *
 * What it checks, as a relay and a fee-ordered builder would: the signature header (HTTP 403 and JSON-RPC error
 * -32025 otherwise, as relay.flashbots.net answers), the target block (refused once mined), that every transaction
 * decodes, is signed and can pay the next block's base fee, and that the order is one a builder ordering by fee
 * keeps (see `orderRefusal`). An accepted bundle's transactions go to anvil in order with eth_sendRawTransaction —
 * at once for the next block, when the block before it is mined for a later one — and a transaction the node
 * already holds (the public oracle update at txs[0]) is fine.
 *
 * What it cannot do: a real builder includes a bundle whole or not at all; here the transactions enter anvil's
 * public mempool, so one that misses the target block may still land later, and the others are not held back.
 * A transaction the node refuses while forwarding fails the request (or the held bundle's outcome), though the
 * ones before it are already in the mempool.
 * Each bundle's `outcome` says, once its target block is mined, whether all its transactions landed in that
 * block in order (and unreverted, unless listed in revertingTxHashes; within min/maxTimestamp).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { concat, getAddress, id, type JsonRpcProvider, keccak256, Transaction, verifyMessage } from 'ethers';
import { z } from 'zod';
import { createJsonRpcProvider, latestBlockNumber } from '../../functions/adapters/chain/provider';
import { LOCAL_CHAIN_ID } from '../world/anvil';

/** Whether a bundle landed: 'pending' until its target block is mined (and, for a later block, forwarded). */
export type BundleOutcome = { landed: 'pending' } | { landed: true } | { landed: false; reason: string };

export interface ReceivedBundle {
  bundleHash: string;
  /** The X-Flashbots-Signature address (checksummed). */
  signer: string;
  blockNumber: number;
  txHashes: string[];
  minTimestamp?: number;
  maxTimestamp?: number;
  revertingTxHashes?: string[];
  /** The head when the bundle arrived. */
  receivedAtBlock: number;
  outcome: BundleOutcome;
}

export interface BundleRelayServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every accepted bundle, in arrival order; `outcome` is updated in place. */
  bundles: ReceivedBundle[];
  /** Resolves with the bundle's outcome once decided (rejects after `timeoutMs`, default 30 s). */
  outcomeOf(bundleHash: string, timeoutMs?: number): Promise<Exclude<BundleOutcome, { landed: 'pending' }>>;
  stop(): Promise<void>;
}

export interface BundleRelayServerOptions {
  upstreamRpcUrl: string;
  chainId?: bigint;
  /** How often the head is polled to forward held bundles and judge outcomes (default 100 ms). */
  pollIntervalMs?: number;
}

/** A refusal answered to the client: HTTP status and JSON-RPC error. */
class Refusal extends Error {
  constructor(
    readonly httpStatus: number,
    readonly rpcCode: number,
    message: string,
  ) {
    super(message);
  }
}

const hex = z.string().regex(/^0x[0-9a-fA-F]*$/, 'must be 0x-prefixed hex');
const requestSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: z.union([z.number(), z.string(), z.null()]),
  method: z.string(),
  params: z.unknown(),
});
const bundleParamsSchema = z.tuple([
  z
    .object({
      txs: z.array(hex).min(1, 'txs must hold at least one transaction'),
      blockNumber: z.string().regex(/^0x[0-9a-fA-F]+$/, 'blockNumber must be a hex quantity'),
      minTimestamp: z.number().int().nonnegative().optional(),
      maxTimestamp: z.number().int().nonnegative().optional(),
      revertingTxHashes: z.array(z.string().regex(/^0x[0-9a-fA-F]{64}$/)).optional(),
      replacementUuid: z.string().optional(),
    })
    .strict(),
]);

/** The X-Flashbots-Signature address if the header verifies against `body`, else a 403 refusal (as Flashbots). */
function verifySignature(header: string | string[] | undefined, body: string): string {
  if (typeof header !== 'string' || header.length === 0) throw new Refusal(403, -32025, 'missing X-Flashbots-Signature header');
  const [address, signature, ...rest] = header.split(':');
  let recovered: string | undefined;
  try {
    recovered = rest.length === 0 ? verifyMessage(id(body), signature) : undefined;
  } catch {
    recovered = undefined;
  }
  let claimed: string | undefined;
  try {
    claimed = getAddress(address);
  } catch {
    claimed = undefined;
  }
  if (!recovered || !claimed || recovered !== claimed) throw new Refusal(403, -32025, 'invalid flashbots signature');
  return claimed;
}

/** What the checks need of a bundle's transaction. */
interface DecodedTx {
  hash: string;
  from: string;
  maxFeePerGasWei: bigint;
  maxPriorityFeePerGasWei: bigint;
}

function decode(raw: string, index: number): DecodedTx {
  let tx: Transaction;
  try {
    tx = Transaction.from(raw);
  } catch (err) {
    throw new Refusal(400, -32602, `txs[${index}] does not decode as a signed transaction: ${(err as Error).message}`);
  }
  if (!tx.from || !tx.hash) throw new Refusal(400, -32602, `txs[${index}] is not signed`);
  // Legacy and access-list transactions pay gasPrice as both their max fee and their tip (EIP-1559's rule).
  const maxFee = tx.maxFeePerGas ?? tx.gasPrice ?? 0n;
  const tip = tx.maxPriorityFeePerGas ?? tx.gasPrice ?? 0n;
  return { hash: tx.hash, from: tx.from, maxFeePerGasWei: maxFee, maxPriorityFeePerGasWei: tip };
}

/**
 * The base fee of the block after `parent` (EIP-1559: elasticity 2, change denominator 8), as geth's
 * CalcBaseFee (consensus/misc/eip1559).
 */
function nextBaseFeeWei(parent: { baseFeePerGasWei: bigint; gasUsed: bigint; gasLimit: bigint }): bigint {
  const target = parent.gasLimit / 2n;
  const base = parent.baseFeePerGasWei;
  if (parent.gasUsed === target) return base;
  if (parent.gasUsed > target) {
    const delta = (base * (parent.gasUsed - target)) / target / 8n;
    return base + (delta > 1n ? delta : 1n);
  }
  const delta = (base * (target - parent.gasUsed)) / target / 8n;
  return base - delta;
}

/**
 * Why a fee-ordered block would not hold the bundle in its order, or undefined when it would. Transactions of
 * one sender keep their nonce order whatever they pay, so only pairs of different senders count:
 * - a builder sorts by effective priority fee, min(maxPriorityFeePerGas, maxFeePerGas − base fee): a later
 *   transaction paying strictly more than an earlier one would be placed ahead of it;
 * - this local node (anvil 1.7.1, `--order fees`) sorts by maxFeePerGas and then arrival (measured,
 *   test/integration/world-mempool.test.ts): a later transaction offering a strictly higher maxFeePerGas lands
 *   ahead, even at an equal or lower tip, so the stand-in refuses that too rather than report a bundle it cannot
 *   deliver in order.
 */
function orderRefusal(txs: readonly DecodedTx[], baseFeeWei: bigint): string | undefined {
  const effectiveTip = (tx: DecodedTx) => {
    const headroom = tx.maxFeePerGasWei - baseFeeWei;
    return tx.maxPriorityFeePerGasWei < headroom ? tx.maxPriorityFeePerGasWei : headroom;
  };
  for (const [i, tx] of txs.entries()) {
    if (tx.maxFeePerGasWei < baseFeeWei) {
      return `txs[${i}] (${tx.hash}) offers maxFeePerGas ${tx.maxFeePerGasWei} wei, below the next block's base fee ${baseFeeWei}`;
    }
  }
  for (let j = 1; j < txs.length; j++) {
    for (let i = 0; i < j; i++) {
      if (txs[i].from === txs[j].from) continue;
      const [earlier, later] = [txs[i], txs[j]];
      if (effectiveTip(later) > effectiveTip(earlier)) {
        return (
          `a fee-ordered builder would not keep this order: txs[${j}] (${later.hash}) pays an effective priority fee of ` +
          `${effectiveTip(later)} wei/gas, more than txs[${i}] (${earlier.hash}) at ${effectiveTip(earlier)}, for the next block's base fee ${baseFeeWei}`
        );
      }
      if (later.maxFeePerGasWei > earlier.maxFeePerGasWei) {
        return (
          `this node would not keep this order: anvil sorts its mempool by maxFeePerGas, and txs[${j}] (${later.hash}) offers ` +
          `${later.maxFeePerGasWei} wei/gas, more than txs[${i}] (${earlier.hash}) at ${earlier.maxFeePerGasWei}`
        );
      }
    }
  }
  return undefined;
}

/** Nodes' answers for a transaction they already hold: geth "already known", anvil "transaction already imported". */
const ALREADY_KNOWN = /already known|already imported/i;

function rpcMessage(err: unknown): string {
  const nested = (err as { error?: { message?: unknown } }).error?.message;
  return typeof nested === 'string' ? nested : (err as Error).message;
}

async function forward(provider: JsonRpcProvider, txs: readonly string[]): Promise<void> {
  for (const [i, raw] of txs.entries()) {
    try {
      await provider.send('eth_sendRawTransaction', [raw]);
    } catch (err) {
      const message = rpcMessage(err);
      if (!ALREADY_KNOWN.test(message)) throw new Refusal(200, -32000, `txs[${i}] refused by the node: ${message}`);
    }
  }
}

interface RpcReceipt {
  blockNumber: string;
  transactionIndex: string;
  status: string;
}

/** Whether every transaction of `bundle` landed in its target block, in order, as the bundle allows. */
async function judge(provider: JsonRpcProvider, bundle: ReceivedBundle): Promise<Exclude<BundleOutcome, { landed: 'pending' }>> {
  const block = (await provider.send('eth_getBlockByNumber', [`0x${bundle.blockNumber.toString(16)}`, false])) as { timestamp: string };
  const timestamp = Number(block.timestamp);
  if (bundle.minTimestamp !== undefined && timestamp < bundle.minTimestamp) return { landed: false, reason: `block ${bundle.blockNumber} has timestamp ${timestamp}, before minTimestamp ${bundle.minTimestamp}` };
  if (bundle.maxTimestamp !== undefined && timestamp > bundle.maxTimestamp) return { landed: false, reason: `block ${bundle.blockNumber} has timestamp ${timestamp}, after maxTimestamp ${bundle.maxTimestamp}` };
  let previousIndex = -1;
  for (const [i, hash] of bundle.txHashes.entries()) {
    const receipt = (await provider.send('eth_getTransactionReceipt', [hash])) as RpcReceipt | null;
    if (!receipt) return { landed: false, reason: `txs[${i}] (${hash}) was not mined by block ${bundle.blockNumber}` };
    const minedIn = Number(receipt.blockNumber);
    if (minedIn !== bundle.blockNumber) return { landed: false, reason: `txs[${i}] (${hash}) landed in block ${minedIn}, not ${bundle.blockNumber}` };
    const index = Number(receipt.transactionIndex);
    if (index <= previousIndex) return { landed: false, reason: `txs[${i}] (${hash}) landed at index ${index}, not after txs[${i - 1}] at ${previousIndex}` };
    previousIndex = index;
    if (Number(receipt.status) !== 1 && !bundle.revertingTxHashes?.some((h) => h.toLowerCase() === hash.toLowerCase())) {
      return { landed: false, reason: `txs[${i}] (${hash}) reverted and is not in revertingTxHashes` };
    }
  }
  return { landed: true };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function answer(response: ServerResponse, status: number, payload: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
}

export async function startBundleRelay(options: BundleRelayServerOptions): Promise<BundleRelayServer> {
  const provider = createJsonRpcProvider(options.upstreamRpcUrl, options.chainId ?? LOCAL_CHAIN_ID);
  const pollIntervalMs = options.pollIntervalMs ?? 100;
  const bundles: ReceivedBundle[] = [];
  /** Accepted bundles for a block after the next, with their transactions, forwarded once the block before is mined. */
  const held = new Map<ReceivedBundle, string[]>();
  let stopped = false;

  const sendBundle = async (params: unknown, signer: string): Promise<{ bundleHash: string }> => {
    const parsed = bundleParamsSchema.safeParse(params);
    if (!parsed.success) throw new Refusal(400, -32602, `invalid eth_sendBundle params: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const [{ txs, blockNumber: blockHex, minTimestamp, maxTimestamp, revertingTxHashes }] = parsed.data;
    const blockNumber = Number(BigInt(blockHex));
    const decoded = txs.map(decode);
    const head = (await provider.send('eth_getBlockByNumber', ['latest', false])) as { number: string; baseFeePerGas: string; gasUsed: string; gasLimit: string };
    const headNumber = Number(head.number);
    if (blockNumber <= headNumber) throw new Refusal(200, -32000, `bundle for block ${blockNumber}, but block ${headNumber} is already mined`);
    const baseFeeWei = nextBaseFeeWei({ baseFeePerGasWei: BigInt(head.baseFeePerGas), gasUsed: BigInt(head.gasUsed), gasLimit: BigInt(head.gasLimit) });
    const refusal = orderRefusal(decoded, baseFeeWei);
    if (refusal) throw new Refusal(200, -32000, refusal);

    const txHashes = decoded.map((tx) => tx.hash);
    const bundle: ReceivedBundle = {
      bundleHash: keccak256(concat(txHashes)),
      signer,
      blockNumber,
      txHashes,
      ...(minTimestamp !== undefined ? { minTimestamp } : {}),
      ...(maxTimestamp !== undefined ? { maxTimestamp } : {}),
      ...(revertingTxHashes !== undefined ? { revertingTxHashes } : {}),
      receivedAtBlock: headNumber,
      outcome: { landed: 'pending' },
    };
    if (blockNumber === headNumber + 1) await forward(provider, txs);
    else held.set(bundle, txs);
    bundles.push(bundle);
    return { bundleHash: bundle.bundleHash };
  };

  const server = createServer((request, response) => {
    void (async () => {
      let requestId: unknown = null;
      try {
        if (request.method !== 'POST') throw new Refusal(405, -32600, 'only POST is served');
        const body = await readBody(request);
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          throw new Refusal(400, -32700, 'parse error: the body is not JSON');
        }
        const rpc = requestSchema.safeParse(json);
        if (!rpc.success) throw new Refusal(400, -32600, 'invalid request: not a JSON-RPC 2.0 call');
        requestId = rpc.data.id;
        const signer = verifySignature(request.headers['x-flashbots-signature'], body);
        if (rpc.data.method !== 'eth_sendBundle') throw new Refusal(200, -32601, `method ${rpc.data.method} is not served here (eth_sendBundle only)`);
        answer(response, 200, { jsonrpc: '2.0', id: requestId, result: await sendBundle(rpc.data.params, signer) });
      } catch (err) {
        const refusal = err instanceof Refusal ? err : new Refusal(500, -32603, `internal error: ${(err as Error).message}`);
        answer(response, refusal.httpStatus, { jsonrpc: '2.0', id: requestId, error: { code: refusal.rpcCode, message: refusal.message } });
      }
    })();
  });

  // Forwards held bundles once the block before theirs is mined, and judges every bundle once its block is.
  const watch = async () => {
    while (!stopped) {
      await sleep(pollIntervalMs);
      if (stopped) break;
      try {
        const head = await latestBlockNumber(provider);
        for (const [bundle, txs] of held) {
          if (head + 1 < bundle.blockNumber) continue;
          held.delete(bundle);
          if (head + 1 === bundle.blockNumber) {
            await forward(provider, txs).catch((err: Error) => void (bundle.outcome = { landed: false, reason: err.message }));
          } else {
            bundle.outcome = { landed: false, reason: `block ${bundle.blockNumber - 1} was missed while holding the bundle: never forwarded` };
          }
        }
        for (const bundle of bundles) {
          if (bundle.outcome.landed === 'pending' && !held.has(bundle) && head >= bundle.blockNumber) bundle.outcome = await judge(provider, bundle);
        }
      } catch (err) {
        // The node may be stopping under a finished test; a real failure shows as bundles left pending.
        if (!stopped) console.warn(`bundle relay stand-in: ${(err as Error).message}`);
      }
    }
  };
  const watching = watch();

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    bundles,
    outcomeOf: async (bundleHash, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const bundle = bundles.find((b) => b.bundleHash === bundleHash);
        if (!bundle) throw new Error(`no bundle ${bundleHash} was accepted`);
        const { outcome } = bundle;
        if (outcome.landed !== 'pending') return outcome;
        if (Date.now() > deadline) throw new Error(`bundle ${bundleHash} for block ${bundle.blockNumber} undecided after ${timeoutMs} ms`);
        await sleep(pollIntervalMs);
      }
    },
    stop: async () => {
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await watching;
      provider.destroy();
    },
  };
}
