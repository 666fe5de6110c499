/**
 * AaveV3PositionChanges on canned JSON-RPC answers: its events against the Solidity interfaces of Aave V3.0
 * (@aave/core-v3) and v3.6 (@aave-dao/aave-v3-origin) in node_modules, with every other event of those
 * interfaces named as deliberately ignored; then how a logs answer becomes accounts / reserves / everyone, how
 * addresses are learned and kept, how ranges are split, and how node failures and malformed answers surface.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { id, Interface, makeError } from 'ethers';
import {
  AaveV3PositionChanges,
  POSITION_CHANGE_EVENTS,
  type PositionChangeEmitter,
  PositionChangesError,
} from '../../../functions/adapters/chain/aave-v3-position-changes';

const addr = (c: string) => `0x${c.repeat(40)}`;
const pad = (address: string) => `0x${address.slice(2).toLowerCase().padStart(64, '0')}`;
const quantity = (n: number) => `0x${n.toString(16)}`;

describe('POSITION_CHANGE_EVENTS against the Aave Solidity', () => {
  const V30 = '@aave/core-v3/contracts/interfaces';
  const V36 = '@aave-dao/aave-v3-origin/src/contracts/interfaces';
  const FILES: Record<PositionChangeEmitter, string[]> = {
    pool: ['IPool.sol'],
    configurator: ['IPoolConfigurator.sol'],
    'addresses-provider': ['IPoolAddressesProvider.sol'],
    aToken: ['IAToken.sol', 'IScaledBalanceToken.sol'],
  };

  /**
   * The events declared in some interface files, as ethers sees them. Comments are stripped first (NatSpec names
   * other events); `DataTypes.InterestRateMode` is an enum, uint8 in the ABI.
   */
  function declaredEvents(dir: string, files: string[]): Interface {
    const declarations = files.flatMap((file) => {
      const source = readFileSync(join(__dirname, '../../../node_modules', dir, file), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      return [...source.matchAll(/event\s+\w+\s*\([^)]*\)/g)].map((m) => m[0].replace(/DataTypes\.InterestRateMode/g, 'uint8').replace(/\s+/g, ' '));
    });
    return new Interface(declarations);
  }
  const declared = {
    'V3.0': Object.fromEntries(Object.entries(FILES).map(([emitter, files]) => [emitter, declaredEvents(V30, files)])) as Record<PositionChangeEmitter, Interface>,
    'v3.6': Object.fromEntries(Object.entries(FILES).map(([emitter, files]) => [emitter, declaredEvents(V36, files)])) as Record<PositionChangeEmitter, Interface>,
  };
  const nameOf = (signature: string) => signature.split('(')[0];

  /** Which versions declare each watched event (the rest are in both). */
  const ONLY_IN: Record<string, 'V3.0' | 'v3.6'> = {
    MintUnbacked: 'V3.0',
    SwapBorrowRateMode: 'V3.0',
    EModeAssetCategoryChanged: 'V3.0',
    LiquidationGracePeriodChanged: 'v3.6',
    LiquidationGracePeriodDisabled: 'v3.6',
    AssetCollateralInEModeChanged: 'v3.6',
    AssetBorrowableInEModeChanged: 'v3.6',
    AssetLtvzeroInEModeChanged: 'v3.6',
  };

  /** The name each topic's indexed parameter has in the Solidity, per effect. */
  const INDEXED_NAME: Record<string, string[]> = {
    Supply: ['onBehalfOf'],
    Borrow: ['onBehalfOf'],
    MintUnbacked: ['onBehalfOf'],
    Withdraw: ['user'],
    Repay: ['user'],
    LiquidationCall: ['user'],
    ReserveUsedAsCollateralEnabled: ['user'],
    ReserveUsedAsCollateralDisabled: ['user'],
    UserEModeSet: ['user'],
    SwapBorrowRateMode: ['user'],
    BalanceTransfer: ['from', 'to'],
  };

  describe.each(['V3.0', 'v3.6'] as const)('Aave %s', (version) => {
    const watched = POSITION_CHANGE_EVENTS.filter((e) => (ONLY_IN[nameOf(e.signature)] ?? version) === version);

    it.each(watched.map((e) => [nameOf(e.signature), e] as const))('%s: signature, emitter and the topics read', (name, event) => {
      const fragment = declared[version][event.emitter].getEvent(name);
      expect(fragment?.format('sighash')).toBe(event.signature);
      const indexed = fragment!.inputs.filter((input) => input.indexed);
      const topicOf = (paramName: string) => 1 + indexed.findIndex((input) => input.name === paramName && input.type === 'address');
      switch (event.effect.kind) {
        case 'accounts':
          expect(event.effect.topics).toEqual(INDEXED_NAME[name].map(topicOf));
          break;
        case 'reserve':
          expect(topicOf('asset')).toBe(1);
          break;
        case 'reserve-listed':
          expect([topicOf('asset'), topicOf('aToken')]).toEqual([1, 2]);
          break;
        case 'everyone':
        case 'market-upgraded':
          break;
      }
    });

    it('does not declare the events of the other version', () => {
      const absent = Object.entries(ONLY_IN).filter(([, only]) => only !== version);
      const events = POSITION_CHANGE_EVENTS.filter((e) => absent.some(([name]) => name === nameOf(e.signature)));
      expect(events.map((e) => declared[version][e.emitter].getEvent(nameOf(e.signature)))).toEqual(events.map(() => null));
    });
  });

  /**
   * Every other event of the four interfaces, with why it does not change an account's health (or what catches it
   * instead): a new event in a new Aave version fails here until someone decides.
   */
  const IGNORED: Record<string, string> = {
    // Pool
    BackUnbacked: 'the bridge backer pays the reserve; no account position changes',
    IsolationModeTotalDebtUpdated: 'a reserve total; the borrowing account has its own Borrow / Repay / LiquidationCall',
    RebalanceStableBorrowRate: 'a new stable rate: the debt only accrues differently, which is time',
    FlashLoan: 'a flash loan left open is a Borrow, which is emitted too',
    ReserveDataUpdated: 'indexes and rates of every interaction: time, and the interaction has its own event',
    MintedToTreasury: "the treasury's aTokens; it borrows nothing",
    DeficitCovered: "the Umbrella's aTokens burnt; it borrows nothing",
    DeficitCreated: 'emitted inside a liquidation, whose LiquidationCall names the same user',
    PositionManagerApproved: 'who may act for the user; the action has its own event',
    PositionManagerRevoked: 'who may act for the user',
    // aToken
    Mint: 'always with a Supply / Borrow / MintUnbacked naming the account, or to the treasury',
    Burn: 'always with a Withdraw / Repay / LiquidationCall naming the account',
    // PoolConfigurator
    ReserveBorrowing: 'what can be borrowed, not the health of what is',
    ReserveFlashLoaning: 'flash loans only',
    ReserveStableRateBorrowing: 'what can be borrowed',
    PendingLtvChanged: 'always emitted with CollateralConfigurationChanged (PoolConfigurator._setReserveLtvzero)',
    ReserveFactorChanged: "the treasury's share of interest: time",
    BorrowCapChanged: 'new borrowing only',
    SupplyCapChanged: 'new supply only',
    UnbackedMintCapChanged: 'new bridge supply only',
    ReserveInterestRateStrategyChanged: 'rates: time',
    ReserveInterestRateDataChanged: 'rates: time',
    ATokenUpgraded: 'the aToken proxy keeps its address',
    StableDebtTokenUpgraded: 'the proxy keeps its address',
    VariableDebtTokenUpgraded: 'the proxy keeps its address',
    DebtCeilingChanged: 'isolation mode limits new borrowing, not health',
    SiloedBorrowingChanged: 'what can be borrowed together',
    BridgeProtocolFeeUpdated: 'bridge fees',
    FlashloanPremiumTotalUpdated: 'flash-loan cost, read by the keeper when it prices a liquidation',
    FlashloanPremiumToProtocolUpdated: 'flash-loan cost split',
    BorrowableInIsolationChanged: 'what can be borrowed',
    // PoolAddressesProvider
    MarketIdSet: 'a label',
    PriceOracleUpdated: 'prices are read every block from the provider',
    ACLManagerUpdated: 'roles',
    ACLAdminUpdated: 'roles',
    PriceOracleSentinelUpdated: 'the sentinel is read every block with the prices',
    PoolDataProviderUpdated: 'not used by the scanner',
    ProxyCreated: 'followed by PoolUpdated / PoolConfiguratorUpdated for those two',
    AddressSet: 'other registry entries',
    AddressSetAsProxy: 'other registry entries',
  };

  it.each(['V3.0', 'v3.6'] as const)('leaves no event of the Aave %s interfaces undecided', (version) => {
    const names = new Set(POSITION_CHANGE_EVENTS.map((e) => nameOf(e.signature)));
    const undecided: string[] = [];
    for (const iface of Object.values(declared[version])) {
      iface.forEachEvent((event) => {
        if (!names.has(event.name) && !(event.name in IGNORED)) undecided.push(event.name);
      });
    }
    expect(undecided).toEqual([]);
  });

  it('names the V3.0 asset-category event EModeAssetCategoryChanged (AssetEModeCategoryChanged does not exist)', () => {
    expect(declared['V3.0'].configurator.getEvent('EModeAssetCategoryChanged')).not.toBeNull();
    expect(declared['V3.0'].configurator.getEvent('AssetEModeCategoryChanged')).toBeNull();
  });
});

describe('AaveV3PositionChanges', () => {
  const POOL = '0x000000000000000000000000000000000000Aa00';
  const PROVIDER = addr('7');
  const CONFIGURATOR = addr('8');
  const WETH = addr('1');
  const USDC = addr('2');
  const A_WETH = addr('3');
  const A_USDC = addr('4');
  const ALICE = addr('a');
  const BOB = addr('b');
  const CAROL = addr('c');
  const DAVE = addr('d');
  const ZERO = addr('0');
  const MARKET = new Interface([
    'function ADDRESSES_PROVIDER() view returns (address)',
    'function getPoolConfigurator() view returns (address)',
    'function getReservesList() view returns (address[])',
    'function getReserveData(address asset) view returns (tuple(uint256 configuration, uint128 liquidityIndex, uint128 currentLiquidityRate, uint128 variableBorrowIndex, uint128 currentVariableBorrowRate, uint128 currentStableBorrowRate, uint40 lastUpdateTimestamp, uint16 id, address aTokenAddress, address stableDebtTokenAddress, address variableDebtTokenAddress, address interestRateStrategyAddress, uint128 accruedToTreasury, uint128 unbacked, uint128 isolationModeTotalDebt))',
  ]);
  const ALL_TOPICS = POSITION_CHANGE_EVENTS.map((e) => id(e.signature));

  interface RpcLog {
    address: string;
    topics: string[];
    blockNumber: string;
    data: string;
    removed?: boolean;
  }
  const log = (address: string, signature: string, indexed: string[], block: number, removed?: boolean): RpcLog => ({
    address: address.toLowerCase(),
    topics: [id(signature), ...indexed.map(pad)],
    blockNumber: quantity(block),
    data: '0x',
    ...(removed === undefined ? {} : { removed }),
  });
  const SUPPLY = 'Supply(address,address,address,uint256,uint16)';
  const TRANSFER = 'BalanceTransfer(address,address,uint256,uint256)';
  const COLLATERAL_CONFIG = 'CollateralConfigurationChanged(address,uint256,uint256,uint256)';

  /**
   * A market's node: answers the address reads from a two-reserve market (reserves listed later are added by the
   * test) and eth_getLogs from `logs`, filtered by address, topics and range as a node does.
   */
  function fakeNode() {
    const requests: { method: string; params: unknown[] }[] = [];
    const reserves = new Map([
      [WETH, A_WETH],
      [USDC, A_USDC],
    ]);
    const node = {
      requests,
      reserves,
      logs: [] as RpcLog[],
      /** eth_getLogs refuses ranges wider than this, in QuickNode's words. */
      maxRange: Number.POSITIVE_INFINITY,
      failures: [] as Error[],
      /** Logs added to every eth_getLogs answer, whatever the filter. */
      unasked: [] as RpcLog[],
      /** Raw eth_call answers by function name, instead of the encoded ones. */
      rawAnswers: new Map<string, string>(),
      send: async (method: string, params: unknown[] | Record<string, unknown>) => {
        const list = Array.isArray(params) ? params : [params];
        requests.push({ method, params: list });
        const failure = node.failures.shift();
        if (failure) throw failure;
        if (method === 'eth_call') {
          const { to, data } = list[0] as { to: string; data: string };
          const call = MARKET.parseTransaction({ data })!;
          const answer = (value: unknown) => node.rawAnswers.get(call.name) ?? MARKET.encodeFunctionResult(call.name, [value]);
          if (call.name === 'ADDRESSES_PROVIDER' && to === POOL.toLowerCase()) return answer(PROVIDER);
          if (call.name === 'getPoolConfigurator' && to === PROVIDER) return answer(CONFIGURATOR);
          if (call.name === 'getReservesList') return answer([...reserves.keys()]);
          if (call.name === 'getReserveData') {
            const aToken = reserves.get(String(call.args[0]).toLowerCase())!;
            return answer([0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, aToken, ZERO, ZERO, ZERO, 0n, 0n, 0n]);
          }
          throw new Error(`unexpected call ${call.name} to ${to}`);
        }
        const filter = list[0] as { address: string[]; fromBlock: string; toBlock: string; topics: string[][] };
        const [from, to] = [Number(filter.fromBlock), Number(filter.toBlock)];
        if (to - from + 1 > node.maxRange) {
          throw makeError('could not coalesce error', 'UNKNOWN_ERROR', { error: { code: -32614, message: `eth_getLogs is limited to a ${node.maxRange} range` } });
        }
        const matching = node.logs.filter((l) => {
          const block = Number(l.blockNumber);
          return filter.address.includes(l.address) && filter.topics[0].includes(l.topics[0]) && block >= from && block <= to;
        });
        return [...matching, ...node.unasked];
      },
    };
    return node;
  }

  const nodeError = (code: number, message: string) => makeError('could not coalesce error', 'UNKNOWN_ERROR', { error: { code, message } });

  it('learns the addresses on the first call, then asks for everything in one eth_getLogs', async () => {
    const node = fakeNode();
    const changes = new AaveV3PositionChanges(node, POOL);

    const first = await changes.changesIn(100, 110);
    const second = await changes.changesIn(111, 111);

    // ADDRESSES_PROVIDER + getReservesList, then getPoolConfigurator + 2 × getReserveData, then the logs.
    expect(first).toEqual({ accounts: new Set(), reserves: new Set(), everyone: false, rpcCalls: 6 });
    expect(second.rpcCalls).toBe(1);
    const calls = node.requests.filter((r) => r.method === 'eth_call');
    expect(calls.every((r) => r.params[1] === quantity(110))).toBe(true);
    expect(node.requests.slice(-1)).toEqual([
      {
        method: 'eth_getLogs',
        params: [{ address: [POOL.toLowerCase(), CONFIGURATOR, PROVIDER, A_WETH, A_USDC], fromBlock: '0x6f', toBlock: '0x6f', topics: [ALL_TOPICS] }],
      },
    ]);
  });

  it("decodes accounts from Pool events and aToken transfers, counting removed logs and ignoring what isn't theirs", async () => {
    const node = fakeNode();
    node.logs = [
      log(POOL, SUPPLY, [WETH, ALICE, '0x0000000000000000000000000000000000000000'], 10),
      log(POOL, 'Borrow(address,address,address,uint256,uint8,uint256,uint16)', [USDC, BOB, ZERO], 10),
      log(POOL, 'LiquidationCall(address,address,address,uint256,uint256,address,bool)', [WETH, USDC, CAROL], 11),
      log(POOL, 'UserEModeSet(address,uint8)', [DAVE], 11),
      log(A_WETH, TRANSFER, [ALICE, addr('e')], 12),
      // a reorg took this one out: what it did was seen by an earlier read, so its account is re-read too
      log(POOL, 'Repay(address,address,address,uint256,bool)', [USDC, addr('f'), addr('f')], 12, true),
      // the right topics from the wrong contracts: a Pool event from an aToken, a transfer of another token
      log(A_USDC, SUPPLY, [WETH, addr('5'), ZERO], 13),
      log(CONFIGURATOR, TRANSFER, [addr('5'), addr('6')], 13),
      log(POOL, COLLATERAL_CONFIG, [WETH], 13),
    ];
    // an event the filter did not ask for, as a sloppy node might return it
    node.unasked = [log(POOL, 'Approval(address,address,uint256)', [ALICE, BOB], 13)];
    const changes = new AaveV3PositionChanges(node, POOL);

    const found = await changes.changesIn(10, 13);

    expect(found).toEqual({ accounts: new Set([ALICE, BOB, CAROL, DAVE, addr('e'), addr('f')]), reserves: new Set(), everyone: false, rpcCalls: 6 });
  });

  it.each([
    ['CollateralConfigurationChanged', COLLATERAL_CONFIG],
    ['LiquidationProtocolFeeChanged', 'LiquidationProtocolFeeChanged(address,uint256,uint256)'],
    ['ReservePaused', 'ReservePaused(address,bool)'],
    ['LiquidationGracePeriodChanged (v3.6)', 'LiquidationGracePeriodChanged(address,uint40)'],
    ['EModeAssetCategoryChanged (V3.0)', 'EModeAssetCategoryChanged(address,uint8,uint8)'],
    ['AssetCollateralInEModeChanged (v3.6)', 'AssetCollateralInEModeChanged(address,uint8,bool)'],
  ])('%s marks its reserve', async (_name, signature) => {
    const node = fakeNode();
    node.logs = [log(CONFIGURATOR, signature, [USDC], 5)];

    const found = await new AaveV3PositionChanges(node, POOL).changesIn(5, 5);

    expect(found).toMatchObject({ accounts: new Set(), reserves: new Set([USDC]), everyone: false });
  });

  it.each([
    ['an eMode category added or changed', CONFIGURATOR, 'EModeCategoryAdded(uint8,uint256,uint256,uint256,address,string)', [`0x${'1'.padStart(64, '0')}`]],
    ['a reserve dropped', CONFIGURATOR, 'ReserveDropped(address)', [pad(WETH)]],
  ])('%s means everyone', async (_name, emitter, signature, indexed) => {
    const node = fakeNode();
    node.logs = [{ address: emitter, topics: [id(signature), ...indexed], blockNumber: '0x5', data: '0x' }];

    const found = await new AaveV3PositionChanges(node, POOL).changesIn(5, 5);

    expect(found).toMatchObject({ accounts: new Set(), reserves: new Set(), everyone: true });
  });

  it('a Pool upgrade means everyone, and the next call learns the addresses again', async () => {
    const node = fakeNode();
    node.logs = [log(PROVIDER, 'PoolUpdated(address,address)', [addr('9'), addr('6')], 5)];
    const changes = new AaveV3PositionChanges(node, POOL);

    const upgraded = await changes.changesIn(5, 5);
    const next = await changes.changesIn(6, 6);

    expect(upgraded).toMatchObject({ everyone: true, rpcCalls: 6 });
    expect(next).toMatchObject({ everyone: false, rpcCalls: 6 });
  });

  it('a reserve listed in the range: its aToken is read from the event, its transfers since then with one more call', async () => {
    const node = fakeNode();
    const changes = new AaveV3PositionChanges(node, POOL);
    await changes.changesIn(1, 1);
    const WBTC = addr('9');
    const A_WBTC = addr('6');
    node.reserves.set(WBTC, A_WBTC);
    node.logs = [
      log(CONFIGURATOR, 'ReserveInitialized(address,address,address,address,address)', [WBTC, A_WBTC], 20),
      log(POOL, SUPPLY, [WBTC, ALICE, ZERO], 21),
      log(A_WBTC, TRANSFER, [ALICE, BOB], 22),
      log(A_WBTC, TRANSFER, [CAROL, DAVE], 19), // before the listing: cannot be (and is not asked for)
    ];

    const found = await changes.changesIn(15, 25);
    const after = await changes.changesIn(26, 26);

    expect(found).toEqual({ accounts: new Set([ALICE, BOB]), reserves: new Set(), everyone: false, rpcCalls: 2 });
    expect(node.requests.at(-2)).toEqual({
      method: 'eth_getLogs',
      params: [{ address: [A_WBTC], fromBlock: quantity(20), toBlock: quantity(25), topics: [[id(TRANSFER)]] }],
    });
    expect(after.rpcCalls).toBe(1);
    expect((node.requests.at(-1)!.params[0] as { address: string[] }).address).toContain(A_WBTC);
  });

  it('a reserve listed before the first call is known from the learned addresses: no extra call', async () => {
    const node = fakeNode();
    node.logs = [log(CONFIGURATOR, 'ReserveInitialized(address,address,address,address,address)', [USDC, A_USDC], 3), log(A_USDC, TRANSFER, [ALICE, BOB], 4)];

    const found = await new AaveV3PositionChanges(node, POOL).changesIn(1, 4);

    expect(found).toEqual({ accounts: new Set([ALICE, BOB]), reserves: new Set(), everyone: false, rpcCalls: 6 });
  });

  it('splits a range the node calls too large into halves, each a request', async () => {
    const node = fakeNode();
    const changes = new AaveV3PositionChanges(node, POOL);
    await changes.changesIn(0, 0);
    node.maxRange = 4;
    node.logs = [log(POOL, SUPPLY, [WETH, ALICE, ZERO], 10), log(POOL, SUPPLY, [WETH, BOB, ZERO], 25)];

    // 10–25 (16 blocks) → 10–17, 18–25 → 10–13, 14–17, 18–21, 22–25: 3 refused + 4 answered.
    const found = await changes.changesIn(10, 25);

    expect(found).toEqual({ accounts: new Set([ALICE, BOB]), reserves: new Set(), everyone: false, rpcCalls: 7 });
  });

  it('throws when even one block is too large, with the node text and the cause', async () => {
    const node = fakeNode();
    const changes = new AaveV3PositionChanges(node, POOL);
    await changes.changesIn(0, 0);
    node.maxRange = 0;

    const read = changes.changesIn(7, 8);

    await expect(read).rejects.toThrow(`eth_getLogs for blocks 7–7 of pool ${POOL.toLowerCase()} failed: eth_getLogs is limited to a 0 range`);
    await expect(read).rejects.toBeInstanceOf(PositionChangesError);
  });

  it('throws node failures with the block range and the cause', async () => {
    const node = fakeNode();
    const changes = new AaveV3PositionChanges(node, POOL);
    await changes.changesIn(0, 0);
    const error = nodeError(-32603, 'header not found');
    node.failures = [error];

    const read = changes.changesIn(5, 6);

    await expect(read).rejects.toThrow(`eth_getLogs for blocks 5–6 of pool ${POOL.toLowerCase()} failed: header not found`);
    await expect(read).rejects.toHaveProperty('cause', error);
  });

  it('a failure while learning the addresses names the call and range, and the next call learns again', async () => {
    const node = fakeNode();
    const changes = new AaveV3PositionChanges(node, POOL);
    node.failures = [nodeError(-32000, 'missing trie node')];

    await expect(changes.changesIn(5, 6)).rejects.toThrow(
      `reading ADDRESSES_PROVIDER of ${POOL.toLowerCase()} at block 6 (for blocks 5–6) failed: missing trie node`,
    );
    await expect(changes.changesIn(5, 6)).resolves.toMatchObject({ rpcCalls: 6 });
  });

  it('rejects a malformed eth_call answer', async () => {
    const node = fakeNode();
    node.rawAnswers.set('getReservesList', '0x1234');
    const changes = new AaveV3PositionChanges(node, POOL);

    await expect(changes.changesIn(1, 2)).rejects.toThrow(`getReservesList of ${POOL.toLowerCase()} at block 2 (for blocks 1–2) returned a malformed answer: 0x1234`);
  });

  it.each([
    ['a short topic', [{ address: POOL, topics: ['0x1234'], blockNumber: '0x1' }], /32-byte hex word/],
    ['no block number', [{ address: POOL, topics: [id(SUPPLY)] }], /blockNumber/],
    ['not a list', { logs: [] }, /expected array/],
  ])('rejects a malformed logs answer (%s) instead of guessing', async (_case, answer, reason) => {
    const node = fakeNode();
    const send = node.send;
    const changes = new AaveV3PositionChanges({ send: async (method, params) => (method === 'eth_getLogs' ? answer : send(method, params)) }, POOL);

    const read = changes.changesIn(1, 1);

    await expect(read).rejects.toThrow(new RegExp(`^eth_getLogs for blocks 1–1 of pool ${POOL.toLowerCase()} returned malformed logs: .*${reason.source}`, 's'));
  });

  it.each([
    [5, 4],
    [-1, 3],
    [1.5, 3],
  ])('refuses the range %d–%d', async (from, to) => {
    await expect(new AaveV3PositionChanges(fakeNode(), POOL).changesIn(from, to)).rejects.toThrow(`invalid block range ${from}–${to}`);
  });
});
