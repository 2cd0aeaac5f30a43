// @ts-check
/**
 * A subject's history from the list routes (`GET /v1/trainings?subject_id=…`,
 * `GET /v1/generations?subject_id=…`, newest first): its trainings with their
 * outcome, and its generations with their images, so nothing made earlier is
 * lost on a reload.
 */
import { app } from "./state.js";

/** @typedef {import("./state.js").TrainingView} TrainingView */
/** @typedef {import("./state.js").GenerationView} GenerationView */

const HISTORY_LIMIT = 10;

/** @param {string} tag @param {string} [className] @param {string} [text] */
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {number} ms */
const when = (ms) => new Date(ms).toLocaleString("en", { dateStyle: "short", timeStyle: "short" });

/** @param {TrainingView} training */
function trainingItem(training) {
  const item = element("li", "history-training");
  item.dataset.id = training.id;
  item.append(
    element("strong", "", `Training ${training.id}`),
    element("span", "status-pill", training.status),
    element("span", "muted", `${training.params.steps ?? "?"} steps · ${training.base_model} · ${when(training.created_at)}`),
  );
  item.querySelector(".status-pill")?.setAttribute("data-status", training.status);
  return item;
}

/** @param {GenerationView} generation */
function generationItem(generation) {
  const item = element("li", "history-generation");
  item.dataset.id = generation.id;
  const images = element("div", "history-images");
  for (const image of generation.images) {
    const img = /** @type {HTMLImageElement} */ (element("img", "pixel-art"));
    img.alt = `${generation.params.prompt} (seed ${image.seed})`;
    img.width = image.width;
    img.height = image.height;
    app.api.blobUrl(new URL(image.url, location.origin).pathname).then((url) => (img.src = url), () => img.remove());
    images.append(img);
  }
  item.append(element("strong", "", String(generation.params.prompt ?? "")), element("span", "muted", `${generation.status} · ${when(generation.created_at)}`), images);
  return item;
}

/** Lists the subject's trainings and generations into `container`. @param {HTMLElement} container @param {string} subjectId */
export async function renderHistory(container, subjectId) {
  const query = `subject_id=${encodeURIComponent(subjectId)}&limit=${HISTORY_LIMIT}`;
  const [trainings, generations] = await Promise.all([app.api.get(`/v1/trainings?${query}`), app.api.get(`/v1/generations?${query}`)]);
  const trainingList = element("ul", "history-list");
  trainingList.setAttribute("aria-label", "Trainings");
  trainingList.append(...trainings.items.map(trainingItem));
  const generationList = element("ul", "history-list");
  generationList.setAttribute("aria-label", "Generations");
  generationList.append(...generations.items.map(generationItem));
  if (generations.items.length === 0) generationList.append(element("li", "muted", "No generations yet."));
  container.replaceChildren(element("h3", "", "Trainings"), trainingList, element("h3", "", "Generations"), generationList);
}
