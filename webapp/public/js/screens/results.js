// @ts-check
/**
 * Generate: a prompt with `{subject}` help, images rendered by the trained model
 * (seed on each, click to enlarge, download), the trained weights as
 * downloads, and the training's quality report when the backend made one. Image and weight URLs need the API key, so they are fetched with it
 * and shown from object URLs.
 */
import { expandSubject, exportedStepNote, qualityRows, WEIGHT_DOWNLOADS } from "../format.js";
import { isTerminal } from "../job-status.js";
import { followEvents } from "../sse.js";
import { app } from "../state.js";
import { byId, saveUrl, setBusy, showError } from "../ui.js";

/** @typedef {import("../state.js").GenerationView} GenerationView */

/** The file name a `content-disposition: attachment; filename="…"` header gives. @param {Response} response */
function attachmentName(response, fallback = "download") {
  return /filename="([^"]+)"/.exec(response.headers.get("content-disposition") ?? "")?.[1] ?? fallback;
}

export function mountResults() {
  const downloads = byId("downloads");
  const form = byId("generate-form", HTMLFormElement);
  const prompt = byId("prompt", HTMLTextAreaElement);
  const expansion = byId("subject-expansion");
  const button = byId("generate-button", HTMLButtonElement);
  const status = byId("generate-status");
  const error = byId("generate-error");
  const grid = byId("image-grid");
  const lightbox = byId("lightbox", HTMLDialogElement);
  const lightboxImage = byId("lightbox-image", HTMLImageElement);
  const lightboxCaption = byId("lightbox-caption");
  const lightboxDownload = byId("lightbox-download", HTMLAnchorElement);

  byId("lightbox-close").addEventListener("click", () => lightbox.close());
  lightbox.addEventListener("click", (event) => {
    if (event.target === lightbox) lightbox.close();
  });

  /** Shows what `{subject}` becomes, and the whole expanded prompt as the box's tooltip. */
  function showExpansion() {
    if (!app.subject) return;
    expansion.textContent = `"${app.subject.identifier} ${app.subject.class_noun}"`;
    prompt.title = expandSubject(prompt.value, app.subject);
  }
  prompt.addEventListener("input", showExpansion);

  function renderDownloads() {
    const training = app.training;
    downloads.replaceChildren();
    if (!training) return;
    const heading = document.createElement("h2");
    heading.className = "subhead";
    heading.textContent = "Trained weights";
    const list = document.createElement("ul");
    list.className = "weight-downloads";
    for (const artifact of training.artifacts) {
      if (!artifact.download_url || !(artifact.format in WEIGHT_DOWNLOADS)) continue;
      const { label, loadsIn } = WEIGHT_DOWNLOADS[/** @type {keyof typeof WEIGHT_DOWNLOADS} */ (artifact.format)];
      const item = document.createElement("li");
      const download = document.createElement("button");
      download.type = "button";
      download.className = "secondary";
      download.textContent = `⤓ ${label}`;
      download.dataset.format = artifact.format;
      const tools = document.createElement("span");
      tools.className = "help";
      tools.textContent = `loads in ${loadsIn}`;
      const path = new URL(artifact.download_url, location.origin).pathname;
      download.addEventListener("click", async () => {
        setBusy(download, true);
        try {
          const response = await app.api.raw(path);
          const url = URL.createObjectURL(await response.blob());
          saveUrl(url, attachmentName(response, `${artifact.format}.safetensors`));
          setTimeout(() => URL.revokeObjectURL(url), 10_000);
        } catch (failure) {
          showError(error, failure);
        } finally {
          setBusy(download, false);
        }
      });
      item.append(download, " ", tools);
      list.append(item);
    }
    const note = document.createElement("p");
    note.className = "muted";
    note.textContent = exportedStepNote(training.selected_checkpoint, Number(training.params.steps));
    downloads.append(heading, list, ...(note.textContent ? [note] : []));
    renderQuality(training);
  }

  /** The backend's quality report of the training, when its base model has a judge. @param {import("../state.js").TrainingView} training */
  function renderQuality(training) {
    const rows = qualityRows(training.quality);
    if (rows.length === 0) return;
    const heading = document.createElement("h2");
    heading.className = "subhead";
    heading.textContent = "Quality (measured right after training)";
    const table = document.createElement("table");
    table.className = "quality";
    for (const row of rows) {
      const tr = document.createElement("tr");
      const label = document.createElement("th");
      label.scope = "row";
      label.textContent = row.label;
      const value = document.createElement("td");
      value.textContent = row.value;
      const help = document.createElement("td");
      help.className = "help";
      help.textContent = row.help;
      tr.append(label, value, help);
      table.append(tr);
    }
    downloads.append(heading, table);
  }

  /**
   * @param {GenerationView} generation
   */
  async function showImages(generation) {
    const promptText = String(generation.params.prompt ?? "");
    const items = await Promise.all(
      generation.images.map(async (image, index) => {
        const url = await app.api.blobUrl(new URL(image.url, location.origin).pathname);
        const fileName = `${generation.id}-${index}-seed${image.seed}.png`;
        const item = document.createElement("li");
        item.className = "generated";
        const open = document.createElement("button");
        open.type = "button";
        open.className = "image-button";
        open.setAttribute("aria-label", `Enlarge image ${index + 1}, seed ${image.seed}`);
        const img = document.createElement("img");
        img.src = url;
        img.alt = `${promptText} (seed ${image.seed})`;
        img.width = image.width;
        img.height = image.height;
        open.append(img);
        open.addEventListener("click", () => {
          lightboxImage.src = url;
          lightboxImage.alt = img.alt;
          lightboxCaption.textContent = `${promptText} · seed ${image.seed} · ${image.width}×${image.height}`;
          lightboxDownload.href = url;
          lightboxDownload.download = fileName;
          lightbox.showModal();
        });
        const caption = document.createElement("div");
        caption.className = "image-caption";
        const seed = document.createElement("span");
        seed.className = "seed";
        seed.textContent = `seed ${image.seed}`;
        const save = document.createElement("a");
        save.href = url;
        save.download = fileName;
        save.textContent = "Download";
        save.setAttribute("aria-label", `Download image ${index + 1}, seed ${image.seed}`);
        caption.append(seed, save);
        item.append(open, caption);
        return item;
      }),
    );
    grid.prepend(...items);
  }

  /** Resolves with the generation once it has ended, following its events. @param {GenerationView} generation */
  function untilDone(generation) {
    return new Promise((resolve) => {
      let latest = generation;
      if (isTerminal(latest.status)) return resolve(latest);
      const stream = followEvents({
        path: `/v1/generations/${generation.id}/events`,
        apiKey: app.apiKey,
        onEvent: (_event, data) => {
          if (!data.job) return;
          latest = data.job;
          status.textContent = latest.status === "generating" ? `generating… step ${latest.progress.step} / ${latest.progress.total_steps}` : `${latest.status}…`;
        },
        onConnection: () => undefined,
        isFinished: () => isTerminal(latest.status),
      });
      stream.done.then(() => resolve(latest));
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const training = app.training;
    if (!training) return;
    const data = new FormData(form);
    const seedText = String(data.get("seed") ?? "").trim();
    const body = {
      training_id: training.id,
      prompt: prompt.value.trim(),
      num_images: Number(data.get("num_images")),
      ...(seedText ? { seed: Number(seedText) } : {}),
    };
    if (!body.prompt) {
      showError(error, "Write a prompt; {subject} puts your subject in it.");
      prompt.focus();
      return;
    }
    setBusy(button, true, "Generating…");
    showError(error, null);
    status.textContent = "queued…";
    try {
      const done = await untilDone(await app.api.post("/v1/generations", body));
      if (done.status !== "succeeded") throw new Error(`Generation ${done.status}: ${done.error?.message ?? "no images"}`);
      status.textContent = "";
      await showImages(done);
    } catch (failure) {
      status.textContent = "";
      showError(error, failure);
    } finally {
      setBusy(button, false);
    }
  });

  return {
    show() {
      showExpansion();
      renderDownloads();
    },
  };
}
