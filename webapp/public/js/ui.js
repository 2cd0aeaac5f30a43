// @ts-check
/**
 * What every screen does with the page: switch screens (moving focus to the new
 * heading, for keyboard and screen-reader users), show an error where it
 * belongs, mark a button busy, and find elements with a clear failure when the
 * markup and the code disagree.
 */

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new (...args: any[]) => T} [type]
 * @returns {T}
 */
export function byId(id, type) {
  const element = document.getElementById(id);
  if (!element || (type && !(element instanceof type))) throw new Error(`#${id} missing from index.html`);
  return /** @type {T} */ (element);
}

export const SCREENS = ["sign-in", "subject", "photos", "training", "results"];

/** @param {string} name */
export function showScreen(name) {
  for (const section of document.querySelectorAll("section[data-screen]")) {
    if (section instanceof HTMLElement) section.hidden = section.dataset.screen !== name;
  }
  const reached = SCREENS.indexOf(name);
  for (const step of document.querySelectorAll("#stepper li")) {
    if (!(step instanceof HTMLElement)) continue;
    const index = SCREENS.indexOf(step.dataset.step ?? "");
    step.classList.toggle("done", index < reached);
    if (index === reached) step.setAttribute("aria-current", "step");
    else step.removeAttribute("aria-current");
  }
  document.body.dataset.currentScreen = name;
  document.querySelector(`[data-screen="${name}"] h1`)?.setAttribute("tabindex", "-1");
  /** @type {HTMLElement | null} */ (document.querySelector(`[data-screen="${name}"] h1`))?.focus();
}

/**
 * @param {HTMLElement} element
 * @param {unknown} error  an ApiError, Error, or message; null hides the element
 */
export function showError(element, error) {
  if (error === null) {
    element.hidden = true;
    element.textContent = "";
    return;
  }
  element.textContent = error instanceof Error ? error.message : String(error);
  element.hidden = false;
}

/**
 * @param {HTMLButtonElement} button
 * @param {boolean} busy
 * @param {string} [busyLabel]
 */
export function setBusy(button, busy, busyLabel) {
  if (busy) {
    button.dataset.label ??= button.textContent ?? "";
    if (busyLabel) button.textContent = busyLabel;
  } else if (button.dataset.label !== undefined) {
    button.textContent = button.dataset.label;
    delete button.dataset.label;
  }
  button.disabled = busy;
  button.setAttribute("aria-busy", String(busy));
}

/**
 * A short, polite notice at the top of the page (saved, reconnected…).
 * @param {string} message
 */
export function toast(message) {
  const element = byId("toast");
  element.textContent = message;
  element.hidden = false;
  clearTimeout(Number(element.dataset.timer));
  element.dataset.timer = String(setTimeout(() => (element.hidden = true), 4000));
}

/** Shows every `.subject-label` as the subject's name. @param {string} name */
export function labelSubject(name) {
  for (const label of document.querySelectorAll(".subject-label")) label.textContent = name;
}

/**
 * Saves a blob URL under a file name through a temporary link.
 * @param {string} url
 * @param {string} fileName
 */
export function saveUrl(url, fileName) {
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
}
