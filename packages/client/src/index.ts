export { ApiClient, ApiError, type ApiResponse, errorOf, type RequestOptions } from "./http.ts";
export {
  KeyFileError,
  type LoginAlgorithm,
  loginAlgorithm,
  publicKeyPem,
  readPrivateKey,
  signNonce,
} from "./keys.ts";
export { identityOf, keyLogin, refreshTokens, renewAfterMs, TokenSource, type Tokens } from "./login.ts";
export { isServiceName, LOCAL_PORTS, SERVICE_NAMES, type ServiceName } from "./services.ts";
