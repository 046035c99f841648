import { JsonRpcProvider, Wallet } from "ethers";
import type { Config } from "../config.ts";
import type { Db } from "../db.ts";
import { deployRegistry, registryAt } from "./registry.ts";

export interface Chain {
  provider: JsonRpcProvider;
  wallet: Wallet;
  chainId: number;
  registryAddress: string;
}

/**
 * The chain connection: a provider without ethers' request cache (a nonce or receipt read twice in a
 * row must be read twice), the issuer's wallet, and the registry: REGISTRY_ADDRESS, or the one this
 * service deployed on this chain before (kept in its database), or a fresh deployment. A REGISTRY_ADDRESS
 * with no contract, or whose issuer is not ISSUER_PRIVATE_KEY's address, stops the start naming the
 * variable (every mint would be refused on chain).
 */
export async function connectChain(config: Config, db: Db): Promise<Chain> {
  const provider = new JsonRpcProvider(config.CHAIN_RPC_URL, undefined, {
    cacheTimeout: -1,
    pollingInterval: Math.min(config.POLL_INTERVAL_MS, 1_000),
  });
  const network = await provider.getNetwork();
  const chainId = Number(network.chainId);
  const wallet = new Wallet(config.ISSUER_PRIVATE_KEY, provider);
  if (config.REGISTRY_ADDRESS) {
    try {
      await checkRegistry(provider, chainId, config.REGISTRY_ADDRESS, wallet.address);
    } catch (error) {
      provider.destroy();
      throw error;
    }
    return { provider, wallet, chainId, registryAddress: config.REGISTRY_ADDRESS };
  }
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

/** Throws, naming REGISTRY_ADDRESS, unless a registry whose issuer is `issuer` is at `address`. */
export async function checkRegistry(
  provider: JsonRpcProvider,
  chainId: number,
  address: string,
  issuer: string,
): Promise<void> {
  if ((await provider.getCode(address)) === "0x") {
    throw new Error(`REGISTRY_ADDRESS ${address}: no contract there on chain ${chainId}`);
  }
  let onChain: string;
  try {
    onChain = (await registryAt(address, provider).issuer!()) as string;
  } catch {
    throw new Error(`REGISTRY_ADDRESS ${address}: not a CertificateRegistry (no issuer())`);
  }
  if (onChain.toLowerCase() !== issuer.toLowerCase()) {
    throw new Error(
      `REGISTRY_ADDRESS ${address}: its issuer is ${onChain}, not ISSUER_PRIVATE_KEY's address ${issuer}`,
    );
  }
}
