// @ts-check
/**
 * Sign-in: the key is checked with one cheap authenticated call (listing one
 * subject) before it is stored, so a typo is reported here, not three screens on.
 */
import { API_KEY_PATTERN, storeKey } from "../session.js";
import { app, signIn } from "../state.js";
import { byId, setBusy, showError } from "../ui.js";

/**
 * @param {{ prefill: string | null, onSignedIn: () => void }} options
 */
export function mountSignIn({ prefill, onSignedIn }) {
  const form = byId("sign-in-form", HTMLFormElement);
  const input = byId("api-key", HTMLInputElement);
  const toggle = byId("toggle-key", HTMLButtonElement);
  const error = byId("sign-in-error");
  const submit = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
  if (prefill) input.value = prefill;

  toggle.addEventListener("click", () => {
    const show = input.type === "password";
    input.type = show ? "text" : "password";
    toggle.textContent = show ? "Hide" : "Show";
    toggle.setAttribute("aria-pressed", String(show));
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const apiKey = input.value.trim();
    if (!API_KEY_PATTERN.test(apiKey)) {
      showError(error, "That does not look like an API key: expected dbk_test_… or dbk_live_… followed by 32 characters.");
      input.focus();
      return;
    }
    setBusy(submit, true, "Checking…");
    try {
      signIn(apiKey);
      await app.api.get("/v1/subjects?limit=1");
      storeKey(apiKey);
      showError(error, null);
      onSignedIn();
    } catch (failure) {
      showError(error, failure);
      input.focus();
    } finally {
      setBusy(submit, false);
    }
  });
}
