/** The parts of an OpenAPI 3.1 document the input checks read. */
export type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  default?: unknown;
  $ref?: string;
};

export type Operation = {
  summary?: string;
  security?: unknown[];
  parameters?: Array<{
    in: "path" | "query" | "header" | "cookie";
    name: string;
    required?: boolean;
    schema?: JsonSchema;
  }>;
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
};

export type OpenApiDocument = {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, JsonSchema> };
};

/** A route as the fuzz test and the bounds check see it: method, OpenAPI path, the schemas of its inputs. */
export type RouteInputs = {
  method: string;
  path: string;
  public: boolean;
  params: Array<{ name: string; schema: JsonSchema }>;
  query: Array<{ name: string; required: boolean; schema: JsonSchema }>;
  body: JsonSchema | null;
};

const METHODS = new Set(["get", "post", "put", "patch", "delete"]);

export function routesOf(document: OpenApiDocument): RouteInputs[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, op]) => {
        const parameters = op.parameters ?? [];
        return {
          method: method.toUpperCase(),
          path,
          public: Array.isArray(op.security) && op.security.length === 0,
          params: parameters
            .filter((p) => p.in === "path")
            .map((p) => ({ name: p.name, schema: p.schema ?? {} })),
          query: parameters
            .filter((p) => p.in === "query")
            .map((p) => ({ name: p.name, required: p.required === true, schema: p.schema ?? {} })),
          body: op.requestBody?.content?.["application/json"]?.schema ?? null,
        };
      }),
  );
}

/** The safe-integer bounds zod writes for a bare `z.int()`: a schema with these chose no bound of its own. */
const UNCHOSEN = Number.MAX_SAFE_INTEGER;

/** Formats whose grammar fixes their length (zod writes a full pattern for each). */
const FIXED_FORMATS = new Set(["uuid", "date", "date-time", "time"]);

const typesOf = (schema: JsonSchema) =>
  schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];

/**
 * Every input field of the document that has no size of its own: a string without maxLength (nor enum, const),
 * an integer without chosen bounds (a bare `z.int()` is bounded only by ±2^53, which no column holds), a record's
 * key without a maximum length. `location` names it (`POST /sites body.name`).
 */
export function unboundedInputs(document: OpenApiDocument): string[] {
  const found: string[] = [];
  const resolve = (schema: JsonSchema): JsonSchema => {
    const ref = schema.$ref?.replace("#/components/schemas/", "");
    return ref ? (document.components?.schemas?.[ref] ?? {}) : schema;
  };
  const visit = (raw: JsonSchema, location: string, depth: number) => {
    if (depth > 20) return;
    const schema = resolve(raw);
    const types = typesOf(schema);
    const fixed =
      schema.enum !== undefined || schema.const !== undefined || FIXED_FORMATS.has(schema.format ?? "");
    if (types.includes("string") && !fixed && schema.maxLength === undefined) {
      found.push(`${location}: string without maxLength`);
    }
    if (types.includes("integer") && !fixed) {
      const low = schema.minimum ?? schema.exclusiveMinimum;
      const high = schema.maximum ?? schema.exclusiveMaximum;
      if (
        low === undefined ||
        high === undefined ||
        Math.abs(low) >= UNCHOSEN ||
        Math.abs(high) >= UNCHOSEN
      ) {
        found.push(`${location}: integer without bounds (min ${low ?? "none"}, max ${high ?? "none"})`);
      }
    }
    for (const [name, child] of Object.entries(schema.properties ?? {}))
      visit(child, `${location}.${name}`, depth + 1);
    if (typeof schema.additionalProperties === "object")
      visit(schema.additionalProperties, `${location}.*`, depth + 1);
    if (schema.propertyNames) visit(schema.propertyNames, `${location} (keys)`, depth + 1);
    if (schema.items) visit(schema.items, `${location}[]`, depth + 1);
    for (const [i, child] of (schema.prefixItems ?? []).entries())
      visit(child, `${location}[${i}]`, depth + 1);
    for (const group of [schema.anyOf, schema.oneOf, schema.allOf]) {
      for (const child of group ?? []) visit(child, location, depth + 1);
    }
  };
  for (const route of routesOf(document)) {
    const at = `${route.method} ${route.path}`;
    for (const p of route.params) visit(p.schema, `${at} params.${p.name}`, 0);
    for (const q of route.query) visit(q.schema, `${at} querystring.${q.name}`, 0);
    if (route.body) visit(route.body, `${at} body`, 0);
  }
  return found;
}
