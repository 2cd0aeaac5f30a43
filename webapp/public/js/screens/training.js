// @ts-check
/**
 * Training: start one with the form's parameters, then follow it live from the
 * events stream — status, step/total, loss chart, ETA, validation samples — with
 * a cancel button. A dropped connection is retried and caught up from the
 * stream's opening `state` snapshot (see sse.js); the connection line says so.
 */
import { drawLossChart } from "../loss-chart.js";
import { estimateEtaS, formatEta, formatLoss } from "../format.js";
import { isTerminal } from "../job-status.js";
import { followEvents } from "../sse.js";
import { app, setTraining } from "../state.js";
import { trainingParams } from "../training-params.js";
import { byId, setBusy, showError, toast } from "../ui.js";

/** @typedef {import("../state.js").TrainingView} TrainingView */

const CONNECTION_TEXT = {
  connecting: "connecting…",
  live: "● live",
  reconnecting: "connection lost — reconnecting…",
  closed: "",
};

/** @param {{ onSucceeded: () => void }} options */
export function mountTraining({ onSucceeded }) {
  const form = byId("training-form", HTMLFormElement);
  const formError = byId("training-error");
  const start = byId("start-training", HTMLButtonElement);
  const live = byId("live");
  const statusPill = byId("training-status");
  const connection = byId("connection");
  const cancel = byId("cancel-training", HTMLButtonElement);
  const trainAgain = byId("train-again", HTMLButtonElement);
  const toGenerate = byId("to-generate", HTMLButtonElement);
  const bar = byId("training-progress", HTMLProgressElement);
  const stepText = byId("step-text");
  const phaseText = byId("phase-text");
  const lossText = byId("loss-text");
  const etaText = byId("eta-text");
  const chart = /** @type {SVGSVGElement} */ (/** @type {unknown} */ (byId("loss-chart")));
  const samples = byId("samples");
  const liveError = byId("live-error");
  const methodInputs = form.querySelectorAll("input[name=method]");
  const priorEnabled = byId("prior-enabled", HTMLInputElement);

  /** @type {{ step: number, loss: number }[]} */
  let lossPoints = [];
  /** @type {{ at: number, step: number }[]} when each training step was seen, for an ETA when the backend sends none */
  let stepTimes = [];
  /** @type {Map<string, { prompt: string, seed: number, step: number }>} sample artifact name → what the sample event said */
  const sampleInfo = new Map();
  /** @type {Map<string, Promise<string>>} sample artifact name → object URL of its image */
  const sampleUrls = new Map();
  /** @type {{ stop(): void } | null} */
  let stream = null;
  let hadConnection = false;

  function syncAdvanced() {
    const method = /** @type {HTMLInputElement | null} */ (form.querySelector("input[name=method]:checked"))?.value;
    byId("lora-rank", HTMLInputElement).disabled = method === "full";
    byId("prior-weight", HTMLInputElement).disabled = !priorEnabled.checked;
    byId("class-images", HTMLInputElement).disabled = !priorEnabled.checked;
  }
  for (const radio of methodInputs) radio.addEventListener("change", syncAdvanced);
  priorEnabled.addEventListener("change", syncAdvanced);

  /** @param {TrainingView} training */
  function render(training) {
    setTraining(training);
    const { progress, status } = training;
    statusPill.textContent = status;
    statusPill.dataset.status = status;
    const inTrainingPhase = progress.phase === "training";
    const total = inTrainingPhase ? progress.total_steps : Number(training.params.steps ?? progress.total_steps);
    const step = inTrainingPhase ? progress.step : status === "succeeded" || status === "exporting" ? total : 0;
    bar.max = Math.max(total, 1);
    bar.value = step;
    stepText.textContent = `step ${step} / ${total}`;
    phaseText.textContent = isTerminal(status) ? status : (progress.phase ?? status);
    lossText.textContent = formatLoss(progress.loss);
    if (inTrainingPhase) stepTimes.push({ at: Date.now(), step: progress.step });
    const eta = progress.eta_s ?? (inTrainingPhase ? estimateEtaS(stepTimes, total) : null);
    etaText.textContent = isTerminal(status) ? "—" : formatEta(eta);
    if (inTrainingPhase && progress.loss !== null) lossPoints.push({ step: progress.step, loss: progress.loss });
    drawLossChart(chart, lossPoints, total);
    renderSamples(training);
    cancel.hidden = isTerminal(status);
    trainAgain.hidden = status !== "failed" && status !== "canceled";
    toGenerate.hidden = status !== "succeeded";
    if (status === "failed") showError(liveError, training.error?.message ?? "The training failed.");
  }

  /**
   * Validation samples as listed on the training, described by the `sample` events
   * seen, each image fetched once (with the key) from the samples route.
   * @param {TrainingView} training
   */
  function renderSamples(training) {
    const images = training.artifacts.filter((artifact) => artifact.format === "image" && artifact.name.startsWith("samples/"));
    if (images.length === 0) return;
    samples.replaceChildren(
      ...images.map((artifact) => {
        const info = sampleInfo.get(artifact.name);
        const item = document.createElement("li");
        item.className = "sample";
        const image = document.createElement("img");
        image.alt = `Validation sample: ${info?.prompt ?? artifact.name}`;
        image.width = Number(artifact.meta?.width ?? 64);
        image.height = Number(artifact.meta?.height ?? 64);
        sampleUrl(training.id, artifact.name).then((url) => (image.src = url), () => image.remove());
        const text = document.createElement("div");
        const title = document.createElement("strong");
        title.textContent = info ? `step ${info.step}` : artifact.name;
        const prompt = document.createElement("span");
        prompt.textContent = info?.prompt ?? "";
        const seed = document.createElement("span");
        seed.className = "muted";
        seed.textContent = `seed ${info?.seed ?? artifact.meta?.seed ?? "?"} · ${image.width}×${image.height}`;
        text.append(title, prompt, seed);
        item.append(image, text);
        return item;
      }),
    );
  }

  /** @param {string} trainingId @param {string} artifactName `samples/<file>` */
  function sampleUrl(trainingId, artifactName) {
    let url = sampleUrls.get(artifactName);
    if (!url) {
      url = app.api.blobUrl(`/v1/trainings/${trainingId}/samples/${artifactName.slice("samples/".length)}`);
      sampleUrls.set(artifactName, url);
    }
    return url;
  }

  /** @param {string} event @param {any} data */
  function onEvent(event, data) {
    if (event === "sample" && data.detail) {
      const { artifact, prompt, seed, step } = data.detail;
      sampleInfo.set(artifact, { prompt, seed, step });
    }
    if (data.job) render(data.job);
    const status = data.job?.status;
    if (status === "succeeded") {
      toast("Training succeeded");
      toGenerate.focus();
    } else if (status === "canceled") toast("Training canceled");
  }

  /** @param {"connecting" | "live" | "reconnecting" | "closed"} state */
  function onConnection(state) {
    connection.textContent = CONNECTION_TEXT[state];
    connection.dataset.state = state;
    if (state === "live" && hadConnection) toast("Reconnected — caught up with the training");
    if (state === "live") hadConnection = true;
  }

  /** @param {TrainingView} training */
  function follow(training) {
    stream?.stop();
    lossPoints = [];
    stepTimes = [];
    sampleInfo.clear();
    sampleUrls.clear();
    const placeholder = document.createElement("li");
    placeholder.className = "muted";
    placeholder.textContent = "Samples appear here as training reaches them.";
    samples.replaceChildren(placeholder);
    hadConnection = false;
    form.hidden = true;
    live.hidden = false;
    showError(liveError, null);
    render(training);
    if (isTerminal(training.status)) return;
    stream = followEvents({
      path: `/v1/trainings/${training.id}/events`,
      apiKey: app.apiKey,
      onEvent,
      onConnection,
      isFinished: () => isTerminal(app.training?.status ?? ""),
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const subject = app.subject;
    if (!subject) return;
    const data = new FormData(form);
    const text = (/** @type {string} */ name) => String(data.get(name) ?? "");
    const params = trainingParams(
      {
        steps: text("steps"),
        method: text("method"),
        lora_rank: text("lora_rank"),
        seed: text("seed"),
        prior_enabled: priorEnabled.checked,
        prior_weight: text("prior_weight"),
        num_class_images: text("num_class_images"),
        validation_prompt: text("validation_prompt"),
      },
      subject,
    );
    setBusy(start, true, "Starting…");
    try {
      follow(await app.api.post("/v1/trainings", { subject_id: subject.id, params }));
      showError(formError, null);
    } catch (failure) {
      showError(formError, failure);
    } finally {
      setBusy(start, false);
    }
  });

  cancel.addEventListener("click", async () => {
    const training = app.training;
    if (!training) return;
    setBusy(cancel, true, "Canceling…");
    try {
      render(await app.api.post(`/v1/trainings/${training.id}/cancel`));
    } catch (failure) {
      showError(liveError, failure);
    } finally {
      setBusy(cancel, false);
    }
  });

  /** Shows the form for a fresh training of the current subject. */
  function reset() {
    stream?.stop();
    const subject = app.subject;
    byId("training-summary").textContent = subject
      ? `${subject.photos.length} photos ready. The model learns "a photo of ${subject.identifier} ${subject.class_noun}", ` +
        `with "${subject.identifier}" a rare token that comes to mean ${subject.name}.`
      : "";
    form.hidden = false;
    live.hidden = true;
    syncAdvanced();
  }
  toGenerate.addEventListener("click", onSucceeded);
  trainAgain.addEventListener("click", () => {
    reset();
    start.focus();
  });

  return { reset, follow };
}
