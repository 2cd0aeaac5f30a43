/**
 * `npm run bench:dreambooth`: DreamBench on the embedded base model, on CPU. For each subject (an
 * emoji of a known class drawn by an unseen vendor) and each training seed it runs the base model
 * untouched, DreamBooth without and with prior preservation (λ = 1), each as LoRA and as full
 * fine-tuning, evaluates every run with the judge (subject-report.ts) and prints a table of
 * mean ± standard deviation over subjects × seeds. Contact sheets and the raw results go to --out.
 *
 *   npm run bench:dreambooth -- [--subjects dog,cat] [--seeds 2] [--steps 100] [--out bench-out/dreambooth]
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadStableDiffusionPipeline } from "../../src/model/pipeline.js";
import { renderBatch } from "../../src/quality/batch-render.js";
import { loadJudge } from "../../src/quality/judge-files.js";
import { meanAndSpread } from "../../src/quality/metrics.js";
import { DEFAULT_EVALUATION } from "../../src/quality/subject-report.js";
import { initTensorBackend } from "../../src/tensor/backend.js";
import type { QualityReport } from "../../../shared/quality.js";
import { contactSheet } from "./contact-sheet.js";
import { benchmarkRun, type RunConfig } from "./run.js";
import { benchSubject } from "./subjects.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "gpu-backend/models/tiny-emoji" },
    subjects: { type: "string", default: "dog,cat" },
    seeds: { type: "string", default: "2" },
    steps: { type: "string", default: "100" },
    photos: { type: "string", default: "4" },
    "class-images": { type: "string", default: "8" },
    "full-lr": { type: "string", default: "1e-4" },
    "lora-lr": { type: "string", default: "1e-3" },
    out: { type: "string", default: "bench-out/dreambooth" },
  },
});
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 60000).toFixed(1)} min`;
await initTensorBackend({ requested: process.env.TFJS_BACKEND ?? "wasm" });
const out = path.resolve(values.out!);
await mkdir(out, { recursive: true });
const model = await loadStableDiffusionPipeline(values.model!);
const judge = await loadJudge(path.join(values.model!, "judge"));
const baseModel = path.basename(values.model!);
const steps = Number(values.steps);
const trainingSeeds = Array.from({ length: Number(values.seeds) }, (_, i) => i + 1);
const variants: (Omit<RunConfig, "seed" | "steps"> | undefined)[] = [
  undefined,
  { label: "full, no prior", method: "full", priorWeight: 0, learningRate: Number(values["full-lr"]) },
  { label: "full, prior λ=1", method: "full", priorWeight: 1, learningRate: Number(values["full-lr"]) },
  { label: "LoRA, no prior", method: "lora", priorWeight: 0, learningRate: Number(values["lora-lr"]) },
  { label: "LoRA, prior λ=1", method: "lora", priorWeight: 1, learningRate: Number(values["lora-lr"]) },
];
const label = (variant: (typeof variants)[number]) => variant?.label ?? "base (no training)";
const reports = new Map<string, QualityReport[]>();
const losses = new Map<string, number[]>();

for (const [index, classNoun] of values.subjects!.split(",").entries()) {
  const subject = await benchSubject(classNoun, Number(values.photos), 100 + index);
  const classImages = renderBatch(model, {
    requests: Array.from({ length: Number(values["class-images"]) }, (_, i) => ({ prompt: `a photo of a ${classNoun}`, seed: 5000 + i })),
    steps: DEFAULT_EVALUATION.steps,
    guidanceScale: DEFAULT_EVALUATION.guidanceScale,
    scheduler: DEFAULT_EVALUATION.scheduler,
    resolution: subject.photos[0].width,
  });
  console.error(`[${elapsed()}] ${subject.name}: ${subject.photos.length} photos, ${classImages.length} class images`);
  for (const variant of variants) {
    for (const seed of variant ? trainingSeeds : [0]) {
      const config = variant ? { ...variant, seed, steps } : undefined;
      const result = await benchmarkRun({ model, judge, photos: subject.photos, classImages, identifier: "sks", classNoun }, config, DEFAULT_EVALUATION, baseModel);
      const key = label(variant);
      reports.set(key, [...(reports.get(key) ?? []), result.report]);
      if (result.losses.length > 0) losses.set(key, [...(losses.get(key) ?? []), result.losses.slice(-10).reduce((a, b) => a + b, 0) / 10]);
      const prompts = [...new Set(result.samples.map((sample) => sample.prompt))];
      const rows = [subject.photos, ...(variant?.priorWeight ? [classImages] : []), ...prompts.map((prompt) => result.samples.filter((s) => s.prompt === prompt).map((s) => s.pixels))];
      const file = `${subject.name}-${key.replace(/[^a-zA-Z0-9]+/g, "-").replace(/-$/, "")}-seed${seed}.png`;
      await writeFile(path.join(out, file), await contactSheet(rows));
      const r = result.report;
      console.error(
        `[${elapsed()}] ${subject.name} | ${key} | seed ${seed} | subject ${r.subject_fidelity.toFixed(3)} prompt ${r.prompt_fidelity.toFixed(2)} ` +
          `PRES ${r.prior_preservation_similarity.toFixed(3)} class ${r.class_recognized.toFixed(2)} DIV ${r.diversity.toFixed(3)} (training ${result.trainingSeconds.toFixed(0)} s)`,
      );
    }
  }
}

const cell = (values: number[], digits: number) => {
  const { mean, std } = meanAndSpread(values);
  return `${mean.toFixed(digits)} ± ${std.toFixed(digits)}`;
};
const lines = [
  "| run | subject fidelity ↑ | prompt fidelity ↑ | PRES ↓ | class kept ↑ | DIV ↑ | n |",
  "|---|---|---|---|---|---|---|",
  ...[...reports].map(([key, rs]) =>
    [
      key,
      cell(rs.map((r) => r.subject_fidelity), 3),
      cell(rs.map((r) => r.prompt_fidelity), 2),
      cell(rs.map((r) => r.prior_preservation_similarity), 3),
      cell(rs.map((r) => r.class_recognized), 2),
      cell(rs.map((r) => r.diversity), 3),
      rs.length,
    ].join(" | ").replace(/^/, "| ").concat(" |"),
  ),
];
const table = lines.join("\n");
console.log(table);
const settings = { subjects: values.subjects, trainingSeeds, steps, photos: Number(values.photos), classImages: Number(values["class-images"]), fullLr: Number(values["full-lr"]), loraLr: Number(values["lora-lr"]), evaluation: DEFAULT_EVALUATION, minutes: (Date.now() - started) / 60000 };
await writeFile(path.join(out, "table.md"), `${table}\n`);
await writeFile(path.join(out, "results.json"), JSON.stringify({ settings, finalLosses: Object.fromEntries(losses), reports: Object.fromEntries(reports) }, null, 2));
console.error(`[${elapsed()}] done; contact sheets and results in ${out}`);
