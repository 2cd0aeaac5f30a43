// @ts-check
/**
 * The whole of what the app knows about the service: `fetch` against its own
 * origin with `Authorization: Bearer <key>`, and the one error envelope
 * `{"error":{"code","message","details?"}}` turned into an `ApiError`, so every
 * screen shows the service's own explanation instead of a bare status code.
 */

/** Dispatched on `document` whenever the service answers 401, so the app can ask for a key again. */
export const UNAUTHORIZED_EVENT = "api:unauthorized";

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {unknown} [details]
   */
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * Reads an error response into an `ApiError`, falling back to the status line
 * when the body is not the envelope (a proxy's HTML page, a dropped connection).
 * @param {Response} response
 */
export async function errorFrom(response) {
  const text = await response.text().catch(() => "");
  try {
    const { error } = JSON.parse(text);
    if (error && typeof error.message === "string") return new ApiError(response.status, error.code, error.message, error.details);
  } catch {
    // not JSON: use the status below
  }
  return new ApiError(response.status, "http_error", `${response.status} ${response.statusText || "request failed"}`);
}

/** @param {string} apiKey */
export function createApi(apiKey) {
  const authorization = `Bearer ${apiKey}`;

  /**
   * @param {string} path
   * @param {RequestInit} [init]
   */
  async function raw(path, init = {}) {
    const headers = new Headers(init.headers);
    headers.set("authorization", authorization);
    const response = await fetch(path, { ...init, headers });
    if (response.status === 401) document.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT));
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @returns {Promise<any>}
   */
  async function json(method, path, body) {
    const init = body === undefined ? { method } : { method, body: JSON.stringify(body), headers: { "content-type": "application/json" } };
    return (await raw(path, init)).json();
  }

  return {
    raw,
    /** @param {string} path */
    get: (path) => json("GET", path),
    /** @param {string} path @param {unknown} [body] */
    post: (path, body) => json("POST", path, body),
    /** An authenticated download (image, weights) as an object URL the page can show or save. @param {string} path */
    async blobUrl(path) {
      return URL.createObjectURL(await (await raw(path)).blob());
    },
  };
}

/** @typedef {ReturnType<typeof createApi>} Api */
