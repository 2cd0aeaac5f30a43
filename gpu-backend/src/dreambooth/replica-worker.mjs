// Worker-thread entry of a training replica: loads the TypeScript replica through tsx, which a worker
// does not inherit from the thread that started it. If loading fails, every step is answered with the
// failure, so the trainer (blocked on the status cell) reports it instead of waiting.
import { parentPort, workerData } from "node:worker_threads";
import { tsImport } from "tsx/esm/api";

const FAILED = 2;

try {
  await tsImport(workerData.entry, import.meta.url);
} catch (error) {
  const status = new Int32Array(workerData.buffers.status);
  parentPort.on("message", () => {
    workerData.errors.postMessage(`cannot load the replica: ${error?.stack ?? error}`);
    Atomics.store(status, workerData.index, FAILED);
    Atomics.notify(status, workerData.index);
  });
}
