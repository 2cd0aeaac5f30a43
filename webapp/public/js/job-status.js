// @ts-check
/** Which job statuses are final (shared/states.ts TERMINAL_STATUSES): then streams end and buttons change. */
export const TERMINAL_STATUSES = new Set(["succeeded", "failed", "canceled"]);

/** @param {string} status */
export function isTerminal(status) {
  return TERMINAL_STATUSES.has(status);
}
