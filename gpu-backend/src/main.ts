/**
 * The GPU backend service's entry point: read the configuration, start tfjs on
 * the chosen backend, load the default base model (MODELS_DIR first, then the
 * models the repository ships, such as the embedded tiny-emoji), and serve
 * jobs until SIGTERM/SIGINT — then stop taking jobs, let the running one save a
 * checkpoint and report, and exit. Configuration is environment only (PORT,
 * HOST, BACKEND_SIGNING_SECRET, DATA_DIR, MODELS_DIR, PRELOAD_MODEL, TFJS_BACKEND, TRAIN_WORKERS, and QUEUE_PULL_* for queue-pull mode).
 */
import os from "node:os";
import path from "node:path";
import { loadBaseModel } from "./dreambooth/base-model.js";
import { runGenerateJob } from "./jobs/generate-job.js";
import { runTrainJob } from "./jobs/train-job.js";
import { JobError } from "./jobs/errors.js";
import { modelsDir, queuePullSettings, readServiceConfig } from "./server/config.js";
import { ModelRegistry } from "./dreambooth/model-registry.js";
import { trainingThreadsNote, trainingWorkers } from "./dreambooth/replica-pool.js";
import { QueuePullConsumer } from "./server/queue-pull.js";
import { startService } from "./server/service.js";
import { BUNDLED_MODELS_DIR, findModelFolder } from "./dreambooth/model-folders.js";
import { ensureTinyRandomModel } from "./model/tiny-random-model.js";
import { initTensorBackend } from "./tensor/backend.js";

const config = readServiceConfig(process.env);
const backend = await initTensorBackend({ requested: config.TFJS_BACKEND });
// Read once here so a bad TRAIN_WORKERS stops the start, not every training job later.
const workers = trainingWorkers();
const device = backend === "tensorflow" ? "tfjs-node-gpu (libtensorflow)" : `${os.cpus()[0]?.model ?? "cpu"} × ${os.cpus().length}`;
const models = modelsDir(config);
await ensureTinyRandomModel(models);

const registry = new ModelRegistry(async (baseModel) => {
  const folder = await findModelFolder(baseModel, [models, BUNDLED_MODELS_DIR]);
  if (!folder) throw new JobError("unknown_base_model", `base model "${baseModel}" is not available on this backend (looked in ${models} and ${BUNDLED_MODELS_DIR})`);
  try {
    return await loadBaseModel(folder, baseModel);
  } catch (error) {
    throw new JobError("unknown_base_model", `base model "${baseModel}" could not be loaded from ${folder}: ${(error as Error).message}`);
  }
});
// Loaded before the first job so /healthz says the default is ready and the first job pays no load time.
// A default that is not installed is not fatal: jobs naming other models still run, and name the problem.
await registry.get(config.PRELOAD_MODEL).catch((error: Error) => console.error(`not preloaded: ${error.message}`));

const deps = { model: (id: string) => registry.get(id), workDir: path.join(config.DATA_DIR, "jobs") };
const service = await startService({
  port: config.PORT,
  host: config.HOST,
  secret: config.BACKEND_SIGNING_SECRET,
  backend,
  device,
  handlers: { train: (context) => runTrainJob(context, deps), generate: (context) => runGenerateJob(context, deps) },
  modelsLoaded: () => registry.loaded(),
});
console.log(`gpu-backend listening on ${service.url} (tfjs ${backend}, ${trainingThreadsNote(workers)}, models in ${models})`);

const queueSettings = queuePullSettings(config, `${os.hostname()}-${process.pid}`);
const queueConsumer = queueSettings ? new QueuePullConsumer(service.runner, queueSettings) : undefined;
queueConsumer?.start();
if (queueSettings) console.log(`pulling jobs from Cloudflare Queue ${queueSettings.queueId} as ${queueSettings.hostId}`);

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: finishing the current checkpoint, then exiting`);
    void Promise.all([queueConsumer?.stop(), service.stop()]).then(() => process.exit(0));
  });
}
