/** One code of the catalog: the HTTP status it is answered with and what it means. */
export interface ErrorCodeEntry {
  readonly status: number;
  readonly meaning: string;
}

/**
 * A route's own rule code: also the routes that answer it, as the OpenAPI document names them
 * (`"DELETE /organizations/{orgId}/members/{identityId}"`), so each route's document lists it.
 */
export interface RouteErrorCodeEntry extends ErrorCodeEntry {
  readonly routes: readonly `${"GET" | "POST" | "PUT" | "PATCH" | "DELETE"} /${string}`[];
}

export type RouteErrorCatalog = Record<string, RouteErrorCodeEntry>;
