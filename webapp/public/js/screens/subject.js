// @ts-check
/** Creating the subject: a name for people, a class noun for the model. */
import { app, setSubject } from "../state.js";
import { byId, labelSubject, setBusy, showError } from "../ui.js";

/** @param {{ onCreated: () => void }} options */
export function mountSubject({ onCreated }) {
  const form = byId("subject-form", HTMLFormElement);
  const error = byId("subject-error");
  const submit = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const name = String(data.get("name") ?? "").trim();
    const classNoun = String(data.get("class_noun") ?? "").trim();
    if (!name || !classNoun) {
      showError(error, !name ? "Give the subject a name." : "Say what the subject is: one class noun such as dog or backpack.");
      byId(!name ? "subject-name" : "class-noun").focus();
      return;
    }
    setBusy(submit, true, "Creating…");
    try {
      setSubject(await app.api.post("/v1/subjects", { name, class_noun: classNoun }));
      labelSubject(name);
      showError(error, null);
      onCreated();
    } catch (failure) {
      showError(error, failure);
    } finally {
      setBusy(submit, false);
    }
  });
}
