/** A small JSON-over-HTTP client for the platform's services (fetch, a bearer token, errors with codes). */

/** An answer that was not 2xx (status, the service's error code and message), or no answer (status 0). */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  readonly code: string;
  /** the answer's body, parsed when it is JSON */
  readonly body: unknown;

  constructor(status: number, code: string, message: string, body?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** What a service answered, whatever its status. */
export interface ApiResponse {
  status: number;
  /** the body parsed as JSON; undefined when empty or not JSON */
  json: unknown;
  text: string;
  contentType: string | null;
}

export interface RequestOptions {
  body?: unknown;
  token?: string;
  /** default 15 s */
  timeoutMs?: number;
}

export class ApiClient {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
  }

  /** The answer whatever its status; throws an ApiError with status 0 (code `unreachable`) when there is none. */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse> {
    const url = `${this.baseUrl}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          ...(opts.body !== undefined ? { "content-type": "application/json" } : {}),
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        },
        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
      });
    } catch (error) {
      throw new ApiError(0, "unreachable", `${method} ${url}: unreachable (${describeFetchError(error)})`);
    }
    const text = await res.text();
    let json: unknown;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON: the caller has the text
      }
    }
    return { status: res.status, json, text, contentType: res.headers.get("content-type") };
  }

  /** The parsed JSON of a 2xx answer; anything else throws an ApiError naming the service's error code. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    if (res.status < 200 || res.status > 299) throw errorOf(method, `${this.baseUrl}${path}`, res);
    return res.json as T;
  }
}

/** The ApiError of a non-2xx answer: the platform's `{ error: { code, message } }` when it is that. */
export function errorOf(method: string, url: string, res: ApiResponse): ApiError {
  const body = res.json as { error?: { code?: unknown; message?: unknown } } | undefined;
  const code = typeof body?.error?.code === "string" ? body.error.code : "http_error";
  const message = typeof body?.error?.message === "string" ? body.error.message : res.text;
  return new ApiError(
    res.status,
    code,
    `${method} ${url} answered ${res.status} ${code}: ${message}`,
    res.json,
  );
}

/** fetch's "fetch failed" says little: the cause (ECONNREFUSED, a timeout) says why. */
function describeFetchError(error: unknown): string {
  const err = error as Error & { cause?: { code?: string; message?: string } };
  if (err.name === "TimeoutError") return "no answer in time";
  const cause = err.cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ""}`;
  return err.message;
}
