import {
  Contract,
  ContractFactory,
  type ContractRunner,
  Interface,
  keccak256,
  type Signer,
  toUtf8Bytes,
} from "ethers";
import artifact from "../../contracts/CertificateRegistry.json" with { type: "json" };

/** The CertificateRegistry's ABI, from the checked-in artifact (contracts/compile.ts writes it). */
export const registryAbi = new Interface(artifact.abi);
export const registryBytecode = artifact.bytecode;

/** ReservationLogged's status byte. */
export const RESERVATION_STATUS = { created: 0, updated: 1, ended: 2 } as const;

/** The registry at `address`, for reading (a provider) or sending (a signer). */
export const registryAt = (address: string, runner: ContractRunner) =>
  new Contract(address, registryAbi, runner);

/**
 * Deploys a registry whose issuer is `issuer` (default: the deployer) and waits for it to be mined;
 * returns its address.
 */
export async function deployRegistry(deployer: Signer, issuer?: string, uri = ""): Promise<string> {
  const factory = new ContractFactory(registryAbi, registryBytecode, deployer);
  const contract = await factory.deploy(issuer ?? (await deployer.getAddress()), uri);
  await contract.waitForDeployment();
  return contract.getAddress();
}

/**
 * The issuance key of a request: keccak256 of its request id. The contract refuses a key it has seen,
 * so the same request can never mint twice, whatever happens off chain.
 */
export const issuanceKeyOf = (requestId: string) => keccak256(toUtf8Bytes(`issuance:${requestId}`));

/**
 * The registry's custom error in a failed call or estimate ({ name, args }), or null. ethers decodes
 * custom errors of static calls only; a refused estimate carries the raw revert data.
 */
export function decodeRevert(error: unknown): { name: string; args: unknown[] } | null {
  let e = error as { data?: unknown; error?: unknown; info?: { error?: { data?: unknown } } } | null;
  for (let depth = 0; e && depth < 4; depth++) {
    const data = typeof e.data === "string" ? e.data : e.info?.error?.data;
    if (typeof data === "string" && data.length >= 10) {
      const parsed = registryAbi.parseError(data);
      if (parsed) return { name: parsed.name, args: [...parsed.args] };
    }
    e = e.error as typeof e;
  }
  return null;
}
