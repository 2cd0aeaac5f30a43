/**
 * The judge's folder (`config.json` + `model.safetensors`), read and written with the model core's
 * weight functions, so it is stored like every other network in the repository.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { loadWeights, saveWeights } from "../model/weights.js";
import { Judge, type JudgeConfig } from "./judge.js";

export async function saveJudge(judge: Judge, directory: string, facts: object): Promise<void> {
  await mkdir(directory, { recursive: true });
  await writeFile(path.join(directory, "config.json"), `${JSON.stringify({ ...judge.config, training: facts }, null, 2)}\n`);
  await saveWeights(judge.params, path.join(directory, "model.safetensors"));
}

export async function loadJudge(directory: string): Promise<Judge> {
  const config = JSON.parse(await readFile(path.join(directory, "config.json"), "utf8")) as JudgeConfig;
  const judge = new Judge(config, { kind: "zeros" });
  await loadWeights(judge.params, [path.join(directory, "model.safetensors")]);
  return judge;
}
