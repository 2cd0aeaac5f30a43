// @ts-check
/**
 * Training: start one with the form's parameters — a quick run preselected when
 * the backend is this machine's CPU, price and time shown before starting — then
 * follow it live from the events stream: each phase with its own count and ETA
 * (class images, steps, export), loss chart, validation samples, cancel. A
 * dropped connection is retried and caught up from the stream's opening `state`
 * snapshot (see sse.js); the connection line says so.
 */
import { BALANCE_EVENT, defaultModel, deployment, isFreeKey, refreshBalance } from "../deployment.js";
import { trainingEstimate } from "../estimate.js";
import { drawLossChart } from "../loss-chart.js";
import { estimateEtaS, formatEta, formatLoss } from "../format.js";
import { phaseProgress } from "../phase-progress.js";
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
  /** @type {{ at: number, step: number }[]} when each step of the current phase was seen, for an ETA when the backend sends none */
  let stepTimes = [];
  let stepTimesPhase = "";
  /** What the backend last said it is doing (a progress event's message), by phase. */
  let phaseMessage = { phase: "", message: "" };
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

  const stepsInput = byId("steps", HTMLInputElement);
  const classImagesInput = byId("class-images", HTMLInputElement);
  const PAPER_RUN = { steps: 1000, num_class_images: 200 };

  /** Fills steps and class images from a preset: the base model's quick run, or the paper's defaults. @param {string} preset */
  function applyPreset(preset) {
    const run = preset === "quick" ? (defaultModel()?.quick_training ?? PAPER_RUN) : PAPER_RUN;
    stepsInput.value = String(run.steps);
    classImagesInput.value = String(run.num_class_images);
    updateEstimate();
  }
  for (const radio of form.querySelectorAll("input[name=preset]")) {
    radio.addEventListener("change", () => applyPreset(/** @type {HTMLInputElement} */ (radio).value));
  }

  /** Price and duration of the training the form describes, and the balance it is paid from. */
  function updateEstimate() {
    const catalog = deployment();
    const estimateText = byId("training-estimate");
    if (!catalog) return (estimateText.textContent = "");
    const method = /** @type {HTMLInputElement | null} */ (form.querySelector("input[name=method]:checked"))?.value === "full" ? "full" : "lora";
    const classImages = priorEnabled.checked ? Number(classImagesInput.value) : 0;
    const { price, seconds } = trainingEstimate(
      { steps: Number(stepsInput.value), method, classImages },
      { prices: catalog.prices, timing: defaultModel()?.timing ?? null, free: isFreeKey() },
    );
    const balance = byId("balance").dataset.balance;
    estimateText.textContent =
      `Costs ${price.toLocaleString("en")} credits · ${seconds === null ? "no time estimate for this backend" : `about ${formatEta(seconds)}`}` +
      (balance === undefined ? "" : ` · balance ${Number(balance).toLocaleString("en")} credits`);
  }
  form.addEventListener("input", updateEstimate);
  document.addEventListener(BALANCE_EVENT, updateEstimate);

  /** @param {TrainingView} training */
  function render(training) {
    setTraining(training);
    const { progress, status } = training;
    statusPill.textContent = status;
    statusPill.dataset.status = status;
    const inTrainingPhase = progress.phase === "training";
    const shown = phaseProgress(training);
    bar.max = shown.max;
    bar.value = shown.value;
    stepText.textContent = shown.label;
    const message = phaseMessage.phase === progress.phase ? phaseMessage.message : "";
    phaseText.textContent = isTerminal(status) ? status : `${progress.phase ?? status}${message ? ` — ${message}` : ""}`;
    lossText.textContent = formatLoss(progress.loss);
    if (stepTimesPhase !== shown.phase) [stepTimes, stepTimesPhase] = [[], shown.phase];
    stepTimes.push({ at: Date.now(), step: shown.value });
    const eta = inTrainingPhase && progress.eta_s !== null ? progress.eta_s : estimateEtaS(stepTimes, shown.max);
    etaText.textContent = isTerminal(status) ? "—" : formatEta(eta);
    if (inTrainingPhase && progress.loss !== null) lossPoints.push({ step: progress.step, loss: progress.loss });
    drawLossChart(chart, lossPoints, Number(training.params.steps ?? progress.total_steps));
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
        image.className = "pixel-art";
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
    if (data.detail?.type === "progress" && data.detail.message) phaseMessage = { phase: data.detail.phase, message: data.detail.message };
    if (data.job) render(data.job);
    const status = data.job?.status;
    if (status === "succeeded") {
      toast("Training succeeded");
      toGenerate.focus();
      void withQuality(data.job);
    } else if (status === "canceled") toast("Training canceled");
    if (status && isTerminal(status)) void refreshBalance();
  }

  /**
   * The quality report arrives on the `succeeded` event when the service puts it there; otherwise it is read
   * from GET /v1/trainings/:id, so the results screen shows it without a reload.
   * @param {TrainingView} training
   */
  async function withQuality(training) {
    if (training.quality) return;
    try {
      const fresh = await app.api.get(`/v1/trainings/${training.id}`);
      if (app.training?.id === fresh.id) setTraining(fresh);
    } catch {
      // the results screen reads the training again when it opens
    }
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
    stepTimesPhase = "";
    phaseMessage = { phase: "", message: "" };
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
      void refreshBalance();
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
    const model = defaultModel();
    const catalog = deployment();
    if (model && catalog) {
      const onCpu = catalog.backend.device === "cpu";
      byId("model-note").textContent = `Base model ${model.id}: ${model.description}`;
      const quick = model.quick_training;
      const { seconds } = trainingEstimate(
        { steps: quick.steps, method: "lora", classImages: quick.num_class_images },
        { prices: catalog.prices, timing: model.timing, free: isFreeKey() },
      );
      byId("quick-help").textContent =
        `${quick.steps} steps, ${quick.num_class_images} class images` + (seconds === null ? "" : ` — about ${formatEta(seconds)}${onCpu ? " on this CPU" : ""}`);
      const preset = /** @type {HTMLInputElement} */ (form.querySelector(`input[name=preset][value=${onCpu ? "quick" : "paper"}]`));
      preset.checked = true;
      applyPreset(preset.value);
      byId("validation-prompt", HTMLInputElement).value = model.suggested_prompt;
    }
    syncAdvanced();
    updateEstimate();
  }
  toGenerate.addEventListener("click", onSucceeded);
  trainAgain.addEventListener("click", () => {
    reset();
    start.focus();
  });

  return { reset, follow };
}
