// @ts-check
/**
 * Generate: a prompt with `{subject}` help, prompts the base model understands
 * and the words it does not know, images rendered by the trained model (sharp
 * pixels, seed on each, click to enlarge, download) beside one training photo,
 * the trained weights as downloads, the training's quality report next to the
 * base model's own scores, and the subject's history. Image and weight URLs need
 * the API key, so they are fetched with it and shown from object URLs.
 */
import { modelById, refreshBalance } from "../deployment.js";
import { expandSubject, exportedStepNote, qualityRows, WEIGHT_DOWNLOADS } from "../format.js";
import { renderHistory } from "../history.js";
import { isTerminal } from "../job-status.js";
import { followEvents } from "../sse.js";
import { app, setTraining } from "../state.js";
import { byId, saveUrl, setBusy, showError } from "../ui.js";
import { promptSuggestions, unknownWords } from "../vocabulary.js";

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

  const vocabularyWarning = byId("prompt-vocabulary");
  const suggestions = byId("prompt-suggestions");
  const history = byId("history");

  /** Shows what `{subject}` becomes, the whole expanded prompt as the box's tooltip, and the words the model does not know. */
  function showExpansion() {
    if (!app.subject) return;
    expansion.textContent = `"${app.subject.identifier} ${app.subject.class_noun}"`;
    prompt.title = expandSubject(prompt.value, app.subject);
    const unknown = unknownWords(prompt.value, modelById(app.training?.base_model)?.vocabulary ?? null, app.subject);
    vocabularyWarning.hidden = unknown.length === 0;
    vocabularyWarning.textContent = `${modelById(app.training?.base_model)?.id} does not know: ${unknown.join(", ")} — it will ignore them.`;
  }
  prompt.addEventListener("input", showExpansion);

  /** Prompts the base model understands, as buttons that fill the prompt box. */
  function renderSuggestions() {
    const model = modelById(app.training?.base_model);
    suggestions.replaceChildren();
    if (!model) return;
    if (model.vocabulary) {
      const { classes, backgrounds, sizes } = model.vocabulary;
      const known = document.createElement("p");
      known.className = "help";
      known.id = "vocabulary-hint";
      known.textContent = `${model.id} draws ${model.resolution}×${model.resolution} emoji of ${classes.length} classes (${classes.join(", ")}) on ${backgrounds.length} backgrounds (${backgrounds.join(", ")}), sized ${sizes.join(" or ")}. Try:`;
      suggestions.append(known);
    }
    for (const text of promptSuggestions(model.suggested_prompt, model.vocabulary)) {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.textContent = text;
      chip.addEventListener("click", () => {
        prompt.value = text;
        showExpansion();
        prompt.focus();
      });
      suggestions.append(chip);
    }
  }

  /** One of the photos the training ran on, beside what it renders. */
  function showTrainingPhoto() {
    const figure = byId("training-photo-figure");
    const photo = byId("training-photo", HTMLImageElement);
    const first = app.subject?.photos[0];
    figure.hidden = !first;
    if (!first || !app.subject) return;
    app.api.blobUrl(`/v1/subjects/${app.subject.id}/images/${encodeURIComponent(first.name)}`).then(
      (url) => (photo.src = url),
      () => (figure.hidden = true),
    );
  }

  function refreshHistory() {
    if (app.subject) renderHistory(history, app.subject.id).catch((failure) => showError(error, failure));
  }

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
  }

  /**
   * The backend's quality report of the training, when its base model has a judge, beside the untrained base
   * model's scores. @param {import("../state.js").TrainingView} training
   */
  function renderQuality(training) {
    const container = byId("quality");
    const rows = qualityRows(training.quality, modelById(training.base_model)?.base_quality ?? null);
    container.replaceChildren();
    if (rows.length === 0) return;
    const heading = document.createElement("h2");
    heading.className = "subhead";
    heading.textContent = "Quality (measured right after training)";
    const table = document.createElement("table");
    table.className = "quality";
    const head = document.createElement("tr");
    for (const text of ["Measure", "This training", `${training.base_model} untrained`, "What it means"]) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = text;
      head.append(th);
    }
    table.append(head);
    for (const row of rows) {
      const tr = document.createElement("tr");
      const label = document.createElement("th");
      label.scope = "row";
      label.textContent = row.label;
      const value = document.createElement("td");
      value.textContent = row.value;
      const base = document.createElement("td");
      base.className = "base-score";
      base.textContent = row.base;
      const help = document.createElement("td");
      help.className = "help";
      help.textContent = row.help;
      tr.append(label, value, base, help);
      table.append(tr);
    }
    const note = document.createElement("p");
    note.className = "help";
    note.textContent = "Measured by the base model's judge on your subject right after training; compare each number with the untrained model's.";
    container.append(heading, table, note);
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
        img.className = "pixel-art";
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
      refreshHistory();
      void refreshBalance();
    } catch (failure) {
      status.textContent = "";
      showError(error, failure);
    } finally {
      setBusy(button, false);
    }
  });

  return {
    async show() {
      // The quality report may have been written after the `succeeded` event this screen was opened from.
      if (app.training && !app.training.quality) {
        const training = await app.api.get(`/v1/trainings/${app.training.id}`).catch(() => null);
        if (training) setTraining(training);
      }
      const model = modelById(app.training?.base_model);
      if (model && prompt.value === prompt.defaultValue) prompt.value = model.suggested_prompt;
      showExpansion();
      renderSuggestions();
      renderDownloads();
      if (app.training) renderQuality(app.training);
      showTrainingPhoto();
      refreshHistory();
    },
  };
}
