// @ts-check
/**
 * What the service behind this key runs on, read once after sign-in from
 * `GET /v1/models` (backend and device, the default base model with its
 * vocabulary, quick run and timing, the prices), and the account's balance from
 * `GET /v1/usage`, shown in the top bar and refreshed when a job starts or ends.
 */
import { app } from "./state.js";
import { byId } from "./ui.js";

/**
 * @typedef {import("../../../functions/jobs/base-model-schema.js").BaseModelList} BaseModelCatalog
 * @typedef {BaseModelCatalog["items"][number]} BaseModel
 */

/** @type {BaseModelCatalog | null} */
let catalog = null;

export async function loadDeployment() {
  catalog = await app.api.get("/v1/models");
  return catalog;
}

/** The base model trainings get (the deployment's default), once loaded. @returns {BaseModel | null} */
export function defaultModel() {
  return catalog?.items.find((item) => item.default) ?? null;
}

/** The base model a training ran on, else the default. @param {string | undefined} id @returns {BaseModel | null} */
export function modelById(id) {
  return catalog?.items.find((item) => item.id === id) ?? defaultModel();
}

export function deployment() {
  return catalog;
}

/** A test key's jobs are free (they run on the fake backend). */
export function isFreeKey() {
  return app.apiKey.startsWith("dbk_test_");
}

/** Dispatched on `document` when the balance shown has changed, so the training form's estimate can follow. */
export const BALANCE_EVENT = "balance:changed";

/** Reads the balance into the top bar; a failure leaves the last value (it is information, not a gate). */
export async function refreshBalance() {
  const balance = byId("balance");
  try {
    const usage = await app.api.get("/v1/usage?limit=1");
    balance.textContent = `${usage.balance.toLocaleString("en")} credits`;
    balance.dataset.balance = String(usage.balance);
    balance.hidden = false;
    document.dispatchEvent(new CustomEvent(BALANCE_EVENT));
  } catch {
    // keep what was shown
  }
}
