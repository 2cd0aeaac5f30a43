/**
 * `npm run bench:dreambooth`: DreamBench on the embedded base model, on CPU. For each subject (an
 * emoji of a known class drawn by an unseen vendor) and each training seed it runs the base model
 * untouched, DreamBooth without and with prior preservation (λ = 1), each as LoRA and as full
 * fine-tuning, evaluates every run with the judge (subject-report.ts) and prints a table of
 * mean ± standard deviation over subjects × seeds, with each subject's fidelity bounds (class prior,
 * ceiling, base) beside it. Contact sheets, the raw results and summary.json (summary.ts) go to --out;
 * Subjects run in parallel processes (`--jobs`, one core each) whose results are merged at the end;
 * `--variants` splits the run kinds further and `--merge` combines results-*.json files by hand.
 *
 *   npm run bench:dreambooth -- [--subjects dog,cat,fox,frog] [--seeds 3] [--steps 700] [--full-lr 2e-4] [--lora-lr 2e-3]
 *                               [--class-images 32] [--train-text-encoder none|prior|all] [--jobs 2] [--publish] [--out bench-out/dreambooth]
 *
 * `--subjects` takes any of the 32 class nouns (src/emoji/catalog.ts); each subject is Twemoji's drawing of it.
 */
import { spawn } from "node:child_process";
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadStableDiffusionPipeline } from "../../src/model/pipeline.js";
import { renderBatch } from "../../src/quality/batch-render.js";
import { loadJudge } from "../../src/quality/judge-files.js";
import { DEFAULT_EVALUATION } from "../../src/quality/subject-report.js";
import { initTensorBackend } from "../../src/tensor/backend.js";
import { sideBySideEnv } from "../../src/dreambooth/replica-pool.js";
import type { QualityReport } from "../../../shared/quality.js";
import { EMOJI_CLASSES } from "../../src/emoji/catalog.js";
import type { Pixels } from "../../src/dreambooth/images.js";
import { contactSheet } from "./contact-sheet.js";
import { labelledSheet } from "./labelled-sheet.js";
import { benchmarkRun } from "./run.js";
import { RUN_KINDS, type RunKey, type RunKind } from "./runs.js";
import { benchmarkOutcomes } from "./outcomes.js";
import { benchmarkSummary, boundsLines } from "./summary.js";
import { benchmarkTable } from "./table.js";
import { benchSubject } from "./subjects.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "gpu-backend/models/tiny-emoji" },
    subjects: { type: "string", default: "dog,cat,fox,frog" },
    seeds: { type: "string", default: "3" },
    steps: { type: "string", default: "700" },
    photos: { type: "string", default: "4" },
    "class-images": { type: "string", default: "32" },
    "full-lr": { type: "string", default: "2e-4" },
    "lora-lr": { type: "string", default: "2e-3" },
    /** Train the text encoder too (full: its weights; LoRA: its adapters): none, prior (the prior runs only) or all. */
    "train-text-encoder": { type: "string", default: "none" },
    out: { type: "string", default: "bench-out/dreambooth" },
    /** Comma-separated indices into the run kinds (0 base, 1–2 full, 3–4 LoRA): to split a benchmark over processes. */
    variants: { type: "string", default: "0,1,2,3,4" },
    /** Only combine the results-*.json files in --out into table.md and results.json. */
    merge: { type: "boolean", default: false },
    /** Processes to split the subjects over (one core each). */
    jobs: { type: "string", default: "2" },
    /** Also copy table.md, results.json and the example contact sheet into <model>/benchmark (what the model card and README quote). */
    publish: { type: "boolean", default: false },
  },
});
const textEncoderChoice = values["train-text-encoder"]!;
if (!["none", "prior", "all"].includes(textEncoderChoice)) throw new Error(`--train-text-encoder must be none, prior or all (got ${textEncoderChoice})`);
const trainsTextEncoder = (variant: RunKind) => textEncoderChoice === "all" || (textEncoderChoice === "prior" && variant.priorWeight > 0);
const learningRate = (method: RunKind["method"]) => (method === "lora" ? Number(values["lora-lr"]) : Number(values["full-lr"]));

const out = path.resolve(values.out!);
await mkdir(out, { recursive: true });

/** Combines the results-*.json files in --out into table.md and results.json; with --publish, also into the model's benchmark/ folder. */
async function merge(wall?: { minutes: number; processes: number }): Promise<void> {
  const parts = (await readdir(out)).filter((file) => /^results-.*\.json$/.test(file)).sort();
  const reports: Partial<Record<RunKey, QualityReport[]>> = {};
  const merged: { settings: { minutes: number } }[] = [];
  for (const file of parts) {
    const part = JSON.parse(await readFile(path.join(out, file), "utf8")) as { settings: { minutes: number }; reports: Partial<Record<RunKey, QualityReport[]>> };
    for (const [key, list] of Object.entries(part.reports) as [RunKey, QualityReport[]][]) reports[key] = [...(reports[key] ?? []), ...list];
    merged.push(part);
  }
  const table = benchmarkTable(reports);
  // Without a wall clock of the whole run (a hand merge), the longest part is the best lower bound.
  const summary = benchmarkSummary(reports, wall ? wall.minutes * 60 : Math.max(...merged.map((part) => part.settings.minutes)) * 60);
  console.log(`${table}\n\nFidelity bounds (raw scores; normalised = (s − s_prior) / (s_ceiling − s_prior)):\n${boundsLines(summary).join("\n")}`);
  const verdict = (holds: boolean | null) => (holds === null ? "n/a " : holds ? "HOLDS" : "FAILS");
  console.log(`\nExpected outcomes:\n${benchmarkOutcomes(summary).map((o) => `${verdict(o.holds)}  ${o.claim}: ${o.detail}`).join("\n")}`);
  await writeFile(path.join(out, "table.md"), `${table}\n`);
  await writeFile(path.join(out, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFile(path.join(out, "results.json"), JSON.stringify({ ...(wall ? { wall } : {}), parts: merged, reports }, null, 2));
  if (values.publish) {
    const target = path.join(values.model!, "benchmark");
    await mkdir(target, { recursive: true });
    for (const file of ["table.md", "results.json", "summary.json"]) await copyFile(path.join(out, file), path.join(target, file));
    const example = (await readdir(out)).find((file) => /^twemoji-dog-full-prior-.*-seed1\.png$/.test(file));
    if (example) await copyFile(path.join(out, example), path.join(target, "example.png"));
    const sheet = (await readdir(out)).find((file) => file === `twemoji-${values.subjects!.split(",")[0]}-runs.png`);
    if (sheet) await copyFile(path.join(out, sheet), path.join(target, "runs.png"));
    console.error(`published table.md, results.json, summary.json${example ? ", example.png" : ""}${sheet ? ", runs.png" : ""} to ${target} (npm run pretrain:card quotes them)`);
  }
}

if (values.merge) {
  await merge();
  process.exit(0);
}

// Processes side by side, each with its share of the cores (sideBySideEnv), then one merged table.
const subjectList = values.subjects!.split(",");
const jobs = Math.min(Number(values.jobs), subjectList.length);
if (jobs > 1) {
  const started = Date.now();
  for (const file of await readdir(out)) if (/^results-.*\.json$/.test(file)) await rm(path.join(out, file));
  const forwarded = process.argv.slice(2).filter((arg, i, all) => !["--subjects", "--jobs", "--publish"].includes(arg) && !["--subjects", "--jobs"].includes(all[i - 1]) && !/^--(subjects|jobs|publish)=/.test(arg));
  const groups = Array.from({ length: jobs }, (_, j) => subjectList.filter((_, i) => i % jobs === j));
  const codes = await Promise.all(
    groups.map(
      (group) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...forwarded, "--subjects", group.join(","), "--jobs", "1"], {
            stdio: ["ignore", "ignore", "inherit"],
            env: sideBySideEnv(jobs),
          });
          child.on("exit", resolve);
        }),
    ),
  );
  if (codes.some((code) => code !== 0)) {
    console.error(`a benchmark process failed (exit codes ${codes.join(", ")})`);
    process.exit(1);
  }
  const minutes = (Date.now() - started) / 60000;
  await merge({ minutes, processes: jobs });
  console.error(`done in ${minutes.toFixed(1)} min on ${jobs} processes; contact sheets in ${out}`);
  process.exit(0);
}

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 60000).toFixed(1)} min`;
await initTensorBackend({ requested: process.env.TFJS_BACKEND ?? "wasm" });
const model = await loadStableDiffusionPipeline(values.model!);
const judge = await loadJudge(path.join(values.model!, "judge"));
const baseModel = path.basename(values.model!);
const steps = Number(values.steps);
const trainingSeeds = Array.from({ length: Number(values.seeds) }, (_, i) => i + 1);
const variants = values.variants!.split(",").map(Number).map((index) => RUN_KINDS[index]);
const reports: Partial<Record<RunKey, QualityReport[]>> = {};
const losses: Partial<Record<RunKey, number[]>> = {};
const trainingSeconds: Partial<Record<RunKey, number[]>> = {};

for (const classNoun of subjectList) {
  // The photo seed follows the subject, not its position in --subjects, so split runs see the same photos.
  const subject = await benchSubject(classNoun, Number(values.photos), 100 + EMOJI_CLASSES.findIndex((entry) => entry.noun === classNoun));
  const classImages = renderBatch(model, {
    requests: Array.from({ length: Number(values["class-images"]) }, (_, i) => ({ prompt: `a photo of a ${classNoun}`, seed: 5000 + i })),
    steps: DEFAULT_EVALUATION.steps,
    guidanceScale: DEFAULT_EVALUATION.guidanceScale,
    scheduler: DEFAULT_EVALUATION.scheduler,
    resolution: subject.photos[0].width,
  });
  console.error(`[${elapsed()}] ${subject.name}: ${subject.photos.length} photos, ${classImages.length} class images`);
  // The labelled sheet: per run (base, or training seed 1) the first sampling seed's image of each prompt.
  const sheetColumns: { label: string; byPrompt: Map<string, Pixels> }[] = [];
  for (const variant of variants) {
    for (const seed of variant.method ? trainingSeeds : [0]) {
      const config = variant.method
        ? { label: variant.label, method: variant.method, priorWeight: variant.priorWeight, learningRate: learningRate(variant.method), seed, steps, trainTextEncoder: trainsTextEncoder(variant) }
        : undefined;
      const result = await benchmarkRun({ model, judge, photos: subject.photos, classImages, identifier: "sks", classNoun }, config, DEFAULT_EVALUATION, baseModel);
      (reports[variant.key] ??= []).push(result.report);
      if (result.losses.length > 0) (losses[variant.key] ??= []).push(result.losses.slice(-10).reduce((a, b) => a + b, 0) / 10);
      if (config) (trainingSeconds[variant.key] ??= []).push(result.trainingSeconds);
      const prompts = [...new Set(result.samples.map((sample) => sample.prompt))];
      if (seed <= 1) {
        const first = result.samples.filter((sample) => sample.seed === DEFAULT_EVALUATION.seeds[0]);
        sheetColumns.push({ label: variant.key, byPrompt: new Map(first.map((sample) => [sample.prompt, sample.pixels])) });
      }
      const rows = [subject.photos, ...(variant.priorWeight ? [classImages.slice(0, 8)] : []), ...prompts.map((prompt) => result.samples.filter((s) => s.prompt === prompt).map((s) => s.pixels))];
      const file = `${subject.name}-${variant.label.replace(/[^a-zA-Z0-9]+/g, "-").replace(/-$/, "")}-seed${seed}.png`;
      await writeFile(path.join(out, file), await contactSheet(rows));
      const r = result.report;
      const normalised = r.subject_fidelity_normalized === undefined ? "—" : r.subject_fidelity_normalized.toFixed(2);
      console.error(
        `[${elapsed()}] ${subject.name} | ${variant.label} | seed ${seed} | subject ${normalised} normalised, ${r.subject_fidelity.toFixed(3)} raw prompt ${r.prompt_fidelity.toFixed(2)} ` +
          `PRES ${r.prior_preservation_similarity.toFixed(3)} class ${r.class_recognized.toFixed(2)} DIV ${r.diversity.toFixed(3)} (training ${result.trainingSeconds.toFixed(0)} s)`,
      );
    }
  }
  const promptOrder = [...sheetColumns[0].byPrompt.keys()];
  const sheetRows = [
    { label: "photos (training)", images: subject.photos },
    ...promptOrder.map((prompt) => ({ label: prompt, images: sheetColumns.map((column) => column.byPrompt.get(prompt)!) })),
  ];
  await writeFile(path.join(out, `${subject.name}-runs.png`), await labelledSheet(sheetColumns.map((column) => column.label), sheetRows));
}

console.log(benchmarkTable(reports));
const settings = { subjects: values.subjects, trainingSeeds, steps, photos: Number(values.photos), classImages: Number(values["class-images"]), fullLr: Number(values["full-lr"]), loraLr: Number(values["lora-lr"]), trainTextEncoder: textEncoderChoice, evaluation: DEFAULT_EVALUATION, minutes: (Date.now() - started) / 60000 };
await writeFile(path.join(out, `results-${values.variants!.replace(/,/g, "")}-${values.subjects!.replace(/,/g, "-")}.json`), JSON.stringify({ settings, finalLosses: losses, trainingSeconds, reports }, null, 2));
console.error(`[${elapsed()}] done; contact sheets and results-*.json in ${out} (combine several with --merge)`);
if (values.publish) await merge();
