/**
 * The Pool's oracle prices of a few reserves at one block, for valuing liquidations and deficits: the Pool asks
 * its PoolAddressesProvider for the oracle on every use (GenericLogic: `IPriceOracleGetter(ADDRESSES_PROVIDER
 * .getPriceOracle())`), so the oracle is read at the block too, then AaveOracle.getAssetsPrices (base currency,
 * USD with 8 decimals). Token decimals never change and are read once per asset (ERC20 `decimals()`).
 *
 * Three eth_calls per block with logs (addresses provider once per process), plus one per new asset.
 */
import { Interface, type JsonRpcProvider } from 'ethers';
import type { AssetPrice, AssetPrices } from '../../ports/market-liquidations';
import { ViewContract } from './view-contract';

const POOL_ABI = new Interface(['function ADDRESSES_PROVIDER() view returns (address)']);
const ADDRESSES_PROVIDER_ABI = new Interface(['function getPriceOracle() view returns (address)']);
const ORACLE_ABI = new Interface(['function getAssetsPrices(address[] assets) view returns (uint256[])']);
const ERC20_ABI = new Interface(['function decimals() view returns (uint8)']);

export class AaveV3AssetPrices implements AssetPrices {
  private addressesProvider: Promise<string> | undefined;
  private readonly decimals = new Map<string, Promise<number>>();

  constructor(
    private readonly provider: JsonRpcProvider,
    private readonly pool: string,
  ) {}

  async pricesAt(block: number, assets: readonly string[]): Promise<ReadonlyMap<string, AssetPrice>> {
    const lower = [...new Set(assets.map((a) => a.toLowerCase()))];
    if (lower.length === 0) return new Map();
    const providerAddress = await this.addressesProviderAddress();
    const oracle = await new ViewContract(providerAddress, ADDRESSES_PROVIDER_ABI, this.provider).read<string>('getPriceOracle', [], block);
    const [prices, decimals] = await Promise.all([
      new ViewContract(oracle, ORACLE_ABI, this.provider).read<bigint[]>('getAssetsPrices', [lower], block),
      Promise.all(lower.map((asset) => this.decimalsOf(asset))),
    ]);
    return new Map(lower.map((asset, i) => [asset, { priceBase8: prices[i], decimals: decimals[i] }]));
  }

  private addressesProviderAddress(): Promise<string> {
    this.addressesProvider ??= new ViewContract(this.pool, POOL_ABI, this.provider).read<string>('ADDRESSES_PROVIDER').catch((err: unknown) => {
      this.addressesProvider = undefined;
      throw err;
    });
    return this.addressesProvider;
  }

  private decimalsOf(asset: string): Promise<number> {
    let known = this.decimals.get(asset);
    if (!known) {
      known = new ViewContract(asset, ERC20_ABI, this.provider).read<bigint>('decimals').then(Number, (err: unknown) => {
        this.decimals.delete(asset);
        throw err;
      });
      this.decimals.set(asset, known);
    }
    return known;
  }
}
