// @ts-check
/**
 * Photos: pick or drop files, see thumbnails, upload each straight to its signed
 * PUT URL with a progress bar, then `finalize` and show its verdict on every
 * photo before anything is trained (or paid for).
 *
 * The API has no "delete one photo": a subject's uploaded set is final once
 * checked. So after a rejected set the next upload goes to a fresh subject with
 * the same name and class noun (the rejected draft is deleted), carrying only
 * the photos still in the list — which is what "Continue without rejected photos"
 * does after removing the rejected ones.
 */
import { ApiError } from "../api.js";
import { formatBytes } from "../format.js";
import { photoName, setBlocker, uploadBlocker } from "../photos.js";
import { app, setSubject } from "../state.js";
import { byId, setBusy, showError } from "../ui.js";
import { eachWithLimit, putToSignedUrl } from "../upload.js";

/** @typedef {import("../state.js").PhotoSetReport} PhotoSetReport */
/** @typedef {PhotoSetReport["photos"][number]} PhotoReport */

/**
 * @typedef {object} PhotoEntry
 * @property {File} file
 * @property {string | null} blocker   why it cannot be uploaded at all
 * @property {string} name             the storage name of the last upload
 * @property {HTMLLIElement} item
 * @property {HTMLProgressElement} bar
 * @property {HTMLElement} status
 * @property {"new" | "uploading" | "uploaded" | "accepted" | "rejected" | "failed"} state
 */

/** @param {{ onFinalized: () => void }} options */
export function mountPhotos({ onFinalized }) {
  const input = byId("photo-input", HTMLInputElement);
  const dropzone = byId("dropzone");
  const grid = byId("photo-grid");
  const error = byId("photos-error");
  const report = byId("photo-report");
  const uploadButton = byId("upload-button", HTMLButtonElement);
  const dropRejected = byId("drop-rejected", HTMLButtonElement);
  /** @type {PhotoEntry[]} */
  let entries = [];
  /** Whether the current subject already holds uploaded photos (then the next upload needs a new subject). */
  let subjectUsed = false;
  let busy = false;

  const uploadable = () => entries.filter((entry) => !entry.blocker);

  function refresh() {
    const blocker = setBlocker(uploadable().length);
    uploadButton.disabled = busy || blocker !== null;
    uploadButton.title = blocker ?? "";
    // Only a blocker is shown from here; errors of an upload stay until the user changes the set.
    if (!busy && blocker && entries.length > 0) showError(error, blocker);
    dropRejected.hidden = busy || !entries.some((entry) => entry.state === "rejected");
  }

  /** @param {PhotoEntry} entry @param {PhotoEntry["state"]} state @param {string} text */
  function setState(entry, state, text) {
    entry.state = state;
    entry.item.dataset.state = state;
    entry.status.textContent = text;
  }

  /** @param {File} file */
  function addFile(file) {
    const item = document.createElement("li");
    item.className = "photo";
    const thumb = document.createElement("img");
    thumb.alt = file.name;
    thumb.src = URL.createObjectURL(file);
    thumb.decoding = "async";
    // A file the browser cannot decode still gets a tile, so its verdict has a place to show.
    thumb.addEventListener("error", () => {
      const missing = document.createElement("div");
      missing.className = "no-preview";
      missing.textContent = "no preview";
      thumb.replaceWith(missing);
    });
    const caption = document.createElement("div");
    caption.className = "photo-caption";
    const title = document.createElement("span");
    title.className = "photo-name";
    title.textContent = file.name;
    const size = document.createElement("span");
    size.className = "muted";
    size.textContent = formatBytes(file.size);
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute("aria-label", `Upload of ${file.name}`);
    const status = document.createElement("p");
    status.className = "photo-status";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `Remove ${file.name}`);
    caption.append(title, size);
    item.append(thumb, caption, bar, status, remove);
    /** @type {PhotoEntry} */
    const entry = { file, blocker: uploadBlocker(file), name: "", item, bar, status, state: "new" };
    remove.addEventListener("click", () => {
      if (busy) return;
      URL.revokeObjectURL(thumb.src);
      item.remove();
      entries = entries.filter((other) => other !== entry);
      showError(error, null);
      refresh();
      (/** @type {HTMLElement | null} */ (grid.querySelector("button.remove")) ?? input).focus();
    });
    if (entry.blocker) {
      item.dataset.state = "rejected";
      status.textContent = entry.blocker;
    } else setState(entry, "new", "ready to upload");
    entries.push(entry);
    grid.append(item);
  }

  /** @param {FileList | null} files */
  function addFiles(files) {
    for (const file of files ?? []) addFile(file);
    report.hidden = true;
    showError(error, null);
    refresh();
  }

  input.addEventListener("change", () => {
    addFiles(input.files);
    input.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    dropzone.addEventListener(type, (event) => {
      event.preventDefault();
      dropzone.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) dropzone.addEventListener(type, () => dropzone.classList.remove("dragging"));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    addFiles(event.dataTransfer?.files ?? null);
  });

  /** A fresh subject like the current one, replacing a draft whose photos were already used. */
  async function freshSubject() {
    const previous = app.subject;
    if (!previous) throw new Error("No subject: create one first");
    const subject = await app.api.post("/v1/subjects", { name: previous.name, class_noun: previous.class_noun });
    await app.api.raw(`/v1/subjects/${previous.id}`, { method: "DELETE" }).catch(() => undefined);
    setSubject(subject);
    return subject;
  }

  /** @param {PhotoSetReport} verdict */
  function showReport(verdict) {
    const byName = new Map(verdict.photos.map((photo) => [photo.name, photo]));
    // Messages name photos by storage name ("Identical to 01-rex.jpg"); the user knows them by file name.
    const fileNames = new Map(uploadable().map((entry) => [entry.name, entry.file.name]));
    /** @param {string} message */
    const inUserTerms = (message) => message.replace(/[A-Za-z0-9][A-Za-z0-9._-]*/g, (word) => fileNames.get(word) ?? word);
    for (const entry of uploadable()) {
      const photo = byName.get(entry.name);
      if (!photo) continue;
      const notes = [...photo.problems, ...photo.warnings].map((issue) => inUserTerms(issue.message)).join("; ");
      const dimensions = photo.width ? `${photo.width}×${photo.height}` : "";
      if (photo.ok) setState(entry, "accepted", `✓ accepted ${dimensions}${notes ? ` — ${notes}` : ""}`);
      else setState(entry, "rejected", `✗ ${notes || "rejected"}`);
    }
    const accepted = verdict.photos.filter((photo) => photo.ok).length;
    const heading = document.createElement("h2");
    heading.className = "subhead";
    heading.textContent = verdict.ok
      ? `All ${accepted} photos accepted`
      : `${verdict.photos.length - accepted} of ${verdict.photos.length} photos rejected — nothing was trained or charged`;
    const list = document.createElement("ul");
    for (const problem of verdict.problems) {
      const line = document.createElement("li");
      line.textContent = problem.message;
      list.append(line);
    }
    report.replaceChildren(heading, list);
    report.dataset.ok = String(verdict.ok);
    report.hidden = false;
  }

  async function uploadAndCheck() {
    busy = true;
    setBusy(uploadButton, true, "Uploading…");
    showError(error, null);
    report.hidden = true;
    try {
      const subject = subjectUsed ? await freshSubject() : app.subject;
      if (!subject) throw new Error("No subject: create one first");
      const photos = uploadable();
      photos.forEach((entry, index) => (entry.name = photoName(index, entry.file.name, entry.file.type)));
      const { uploads } = await app.api.post(`/v1/subjects/${subject.id}/uploads`, {
        files: photos.map((entry) => ({ name: entry.name, content_type: entry.file.type })),
      });
      /** @type {Map<string, import("../upload.js").UploadUrl>} */
      const urls = new Map(uploads.map((/** @type {import("../upload.js").UploadUrl} */ upload) => [upload.name, upload]));
      subjectUsed = true;
      await eachWithLimit(photos, 3, async (entry) => {
        setState(entry, "uploading", "uploading…");
        const url = urls.get(entry.name);
        if (!url) throw new Error(`No upload URL for ${entry.name}`);
        try {
          await putToSignedUrl(url, entry.file, (fraction) => (entry.bar.value = fraction));
          setState(entry, "uploaded", "uploaded");
        } catch (failure) {
          setState(entry, "failed", failure instanceof Error ? failure.message : String(failure));
          throw failure;
        }
      });
      setBusy(uploadButton, true, "Checking…");
      try {
        const { subject: ready, report: verdict } = await app.api.post(`/v1/subjects/${subject.id}/finalize`);
        setSubject(ready);
        showReport(verdict);
        setTimeout(onFinalized, 900);
      } catch (failure) {
        if (failure instanceof ApiError && failure.status === 422 && failure.details) {
          showReport(/** @type {PhotoSetReport} */ (failure.details));
          showError(error, failure);
        } else throw failure;
      }
    } catch (failure) {
      showError(error, failure);
    } finally {
      busy = false;
      setBusy(uploadButton, false);
      refresh();
    }
  }

  uploadButton.addEventListener("click", uploadAndCheck);
  dropRejected.addEventListener("click", () => {
    for (const entry of entries.filter((candidate) => candidate.state === "rejected" || candidate.blocker)) {
      entry.item.remove();
    }
    entries = entries.filter((entry) => entry.state !== "rejected" && !entry.blocker);
    for (const entry of entries) {
      entry.bar.value = 0;
      setState(entry, "new", "ready to upload");
    }
    refresh();
    if (!uploadButton.disabled) uploadAndCheck();
  });

  return {
    /** Starts over for a new subject. */
    reset() {
      for (const entry of entries) entry.item.remove();
      entries = [];
      subjectUsed = false;
      report.hidden = true;
      refresh();
    },
  };
}
