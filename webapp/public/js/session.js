// @ts-check
/**
 * Where the API key lives in the browser: this tab's `sessionStorage`, gone when
 * the tab closes. A key in the URL fragment (`/#key=dbk_test_…`, the link
 * `npm start` prints) pre-fills sign-in; the fragment never reaches a server,
 * and the app removes it from the address bar at once so it is not bookmarked.
 */
const STORAGE_KEY = "dreambooth.apiKey";

/** `dbk_live_…` or `dbk_test_…`, the shape the service accepts. */
export const API_KEY_PATTERN = /^dbk_(live|test)_[0-9a-hjkmnp-tv-z]{32}$/;

/** @param {string} hash e.g. `#key=dbk_test_…` */
export function keyFromFragment(hash) {
  const value = new URLSearchParams(hash.replace(/^#/, "")).get("key");
  return value && API_KEY_PATTERN.test(value) ? value : null;
}

export function storedKey() {
  return sessionStorage.getItem(STORAGE_KEY);
}

/** @param {string} apiKey */
export function storeKey(apiKey) {
  sessionStorage.setItem(STORAGE_KEY, apiKey);
}

export function forgetKey() {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** The pre-fill offered on the sign-in screen, taken out of the address bar. */
export function takeFragmentKey() {
  const key = keyFromFragment(location.hash);
  if (key) history.replaceState(null, "", location.pathname + location.search);
  return key;
}
