import { JsonRpcProvider, Wallet } from "ethers";
import type { Config } from "../config.ts";
import type { Db } from "../db.ts";
import { deployRegistry } from "./registry.ts";

export interface Chain {
  provider: JsonRpcProvider;
  wallet: Wallet;
  chainId: number;
  registryAddress: string;
}

/**
 * The chain connection: a provider without ethers' request cache (a nonce or receipt read twice in a
 * row must be read twice), the issuer's wallet, and the registry: REGISTRY_ADDRESS, or the one this
 * service deployed on this chain before (kept in its database), or a fresh deployment.
 */
export async function connectChain(config: Config, db: Db): Promise<Chain> {
  const provider = new JsonRpcProvider(config.CHAIN_RPC_URL, undefined, {
    cacheTimeout: -1,
    pollingInterval: Math.min(config.POLL_INTERVAL_MS, 1_000),
  });
  const network = await provider.getNetwork();
  const chainId = Number(network.chainId);
  const wallet = new Wallet(config.ISSUER_PRIVATE_KEY, provider);
  if (config.REGISTRY_ADDRESS) return { provider, wallet, chainId, registryAddress: config.REGISTRY_ADDRESS };
  const known = await db.deployment.findUnique({ where: { chainId } });
  if (known && (await provider.getCode(known.address)) !== "0x") {
    return { provider, wallet, chainId, registryAddress: known.address };
  }
  const registryAddress = await deployRegistry(wallet);
  await db.deployment.upsert({
    where: { chainId },
    create: { chainId, address: registryAddress, txHash: "" },
    update: { address: registryAddress },
  });
  return { provider, wallet, chainId, registryAddress };
}
