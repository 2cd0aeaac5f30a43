/**
 * What the billing middleware adds to every `/v1` operation, written into the
 * generated OpenAPI document in one pass instead of repeated on each route: the
 * `RateLimit-*` headers on answers and the 429 with `Retry-After`, and on every POST
 * the optional `Idempotency-Key` with its 409 and 422. Pure: a document in, a document out.
 */
type Response = { description: string; headers?: Record<string, unknown>; content?: unknown };
type Operation = { parameters?: unknown[]; responses?: Record<string, Response> };
type Document = { paths?: Record<string, Record<string, Operation>>; components?: Record<string, Record<string, unknown>> };

const integerHeader = (description: string) => ({ description, schema: { type: "integer" } });

const HEADERS = {
  "RateLimit-Limit": integerHeader("Requests the key's bucket holds (the burst)"),
  "RateLimit-Remaining": integerHeader("Requests left in the bucket"),
  "RateLimit-Reset": integerHeader("Seconds until the bucket is full again"),
  "RateLimit-Policy": { description: 'The policy, e.g. `100;w=2` (burst; seconds to refill)', schema: { type: "string" } },
  "Retry-After": integerHeader("Seconds to wait before retrying"),
  "Idempotent-Replayed": { description: "`true` when this is the stored answer to an earlier request with the same Idempotency-Key", schema: { type: "string" } },
};

const ref = (name: string) => ({ $ref: `#/components/headers/${name}` });
const RATE_HEADERS = Object.fromEntries(["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"].map((name) => [name, ref(name)]));
const ERROR_CONTENT = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };

const IDEMPOTENCY_KEY = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description:
    "Makes the POST safe to retry (IETF httpapi idempotency-key draft): the same key with the same body replays the first answer for 24 h; with another body it is a 422; while the first is running, a 409. Scoped to the account.",
  schema: { type: "string", maxLength: 257 },
};

export function withBillingDocs<D extends object>(generated: D): D {
  const document = generated as Document;
  const paths = Object.fromEntries(
    Object.entries(document.paths ?? {}).map(([path, operations]) => [
      path,
      path.startsWith("/v1/") ? Object.fromEntries(Object.entries(operations).map(([method, op]) => [method, describe(method, op)])) : operations,
    ]),
  );
  return {
    ...generated,
    paths,
    components: {
      ...document.components,
      headers: { ...document.components?.headers, ...HEADERS },
      parameters: { ...document.components?.parameters, IdempotencyKey: IDEMPOTENCY_KEY },
    },
  };
}

function describe(method: string, operation: Operation): Operation {
  const responses: Record<string, Response> = Object.fromEntries(
    Object.entries(operation.responses ?? {}).map(([status, response]) => [
      status,
      { ...response, headers: { ...response.headers, ...RATE_HEADERS, ...(status === "429" ? { "Retry-After": ref("Retry-After") } : {}) } },
    ]),
  );
  responses["429"] ??= {
    description: "Rate limit of this key exceeded",
    headers: { ...RATE_HEADERS, "Retry-After": ref("Retry-After") },
    content: ERROR_CONTENT,
  };
  if (method !== "post") return { ...operation, responses };
  responses["409"] ??= { description: "A request with this Idempotency-Key is still running", content: ERROR_CONTENT };
  for (const [status, response] of Object.entries(responses)) {
    if (status.startsWith("2")) response.headers = { ...response.headers, "Idempotent-Replayed": ref("Idempotent-Replayed") };
  }
  responses["422"] ??= { description: "This Idempotency-Key was used with a different request", content: ERROR_CONTENT };
  return { ...operation, parameters: [...(operation.parameters ?? []), { $ref: "#/components/parameters/IdempotencyKey" }], responses };
}
