/**
 * The embedded default base model, "tiny-random": Stable Diffusion 1.x's
 * structure at the model core's tiny widths with RANDOMLY INITIALISED weights,
 * so the whole service runs end to end on two CPU cores without downloading
 * anything. It renders noise-like images and is labelled as such in its
 * `model_index.json` and README. Created deterministically (fixed seeds) at first
 * start and saved in the diffusers layout, so later starts load it like any
 * other model folder.
 */
import { access, mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { ClipTextModel } from "./clip-text.js";
import { SD15_SCHEDULER_CONFIG } from "./schedulers/config.js";
import { tinyClipTextConfig, tinyUNetConfig, tinyVaeConfig } from "./tiny.js";
import { byteToUnicodeTable } from "./tokenizer.js";
import { clipTextConfigFile, clipTokenizerConfigFile } from "./transformers-files.js";
import { UNet2DConditionModel } from "./unet.js";
import { AutoencoderKL } from "./vae.js";
import { saveWeights } from "./weights.js";

export const TINY_RANDOM_MODEL_ID = "tiny-random";
const LABEL = "RANDOM WEIGHTS: an untrained stand-in for Stable Diffusion 1.x, for tests and local development only";

/**
 * A CLIP tokenizer folder with the byte-level base vocabulary (each character,
 * and each character ending a word) and no merges, with the special tokens at
 * the ids the tiny text encoder uses. Prompts become one token per character.
 */
export function tinyTokenizerFiles(bosId: number, eosId: number): Record<string, string> {
  // CLIP's vocabulary lists the printable bytes first, then the others (GPT-2's `bytes_to_unicode` order).
  const table = byteToUnicodeTable();
  const isPrintable = (byte: number) => table[byte] === String.fromCodePoint(byte);
  const bytes = Array.from({ length: 256 }, (_, byte) => byte);
  const characters = [...bytes.filter(isPrintable), ...bytes.filter((byte) => !isPrintable(byte))].map((byte) => table[byte]);
  const vocab: Record<string, number> = {};
  characters.forEach((character, index) => (vocab[character] = index));
  characters.forEach((character, index) => (vocab[`${character}</w>`] = 256 + index));
  vocab["<|startoftext|>"] = bosId;
  vocab["<|endoftext|>"] = eosId;
  return {
    "vocab.json": JSON.stringify(vocab),
    "merges.txt": "#version: 0.2\n",
    "special_tokens_map.json": JSON.stringify({
      bos_token: "<|startoftext|>",
      eos_token: "<|endoftext|>",
      pad_token: "<|endoftext|>",
      unk_token: "<|endoftext|>",
    }),
    "tokenizer_config.json": JSON.stringify(
      clipTokenizerConfigFile({
        model_max_length: tinyClipTextConfig.max_position_embeddings,
        bos_token: "<|startoftext|>",
        eos_token: "<|endoftext|>",
        pad_token: "<|endoftext|>",
        unk_token: "<|endoftext|>",
        do_lower_case: true,
      }),
    ),
  };
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** Creates `<modelsDir>/tiny-random` unless it exists; returns its folder. */
export async function ensureTinyRandomModel(modelsDir: string): Promise<string> {
  const directory = path.join(modelsDir, TINY_RANDOM_MODEL_ID);
  if (await exists(path.join(directory, "model_index.json"))) return directory;
  // Built in a scratch folder and renamed into place, so a crash never leaves half a model behind.
  const scratch = `${directory}.partial-${process.pid}`;
  await rm(scratch, { recursive: true, force: true });
  const unet = new UNet2DConditionModel(tinyUNetConfig, { kind: "random", seed: 1 });
  const vae = new AutoencoderKL(tinyVaeConfig, { kind: "random", seed: 2 });
  const textEncoder = new ClipTextModel(tinyClipTextConfig, { kind: "random", seed: 3 });
  try {
    await writeJson(path.join(scratch, "unet", "config.json"), { _class_name: "UNet2DConditionModel", ...tinyUNetConfig });
    await saveWeights(unet.params, path.join(scratch, "unet", "diffusion_pytorch_model.safetensors"));
    await writeJson(path.join(scratch, "vae", "config.json"), { _class_name: "AutoencoderKL", ...tinyVaeConfig });
    await saveWeights(vae.params, path.join(scratch, "vae", "diffusion_pytorch_model.safetensors"));
    await writeJson(path.join(scratch, "text_encoder", "config.json"), clipTextConfigFile(tinyClipTextConfig));
    await saveWeights(textEncoder.params, path.join(scratch, "text_encoder", "model.safetensors"));
    await writeJson(path.join(scratch, "scheduler", "scheduler_config.json"), { _class_name: "DDPMScheduler", ...SD15_SCHEDULER_CONFIG });
    const tokenizer = tinyTokenizerFiles(tinyClipTextConfig.bos_token_id, tinyClipTextConfig.eos_token_id);
    for (const [name, content] of Object.entries(tokenizer)) {
      await mkdir(path.join(scratch, "tokenizer"), { recursive: true });
      await writeFile(path.join(scratch, "tokenizer", name), content);
    }
    await writeJson(path.join(scratch, "model_index.json"), {
      _class_name: "StableDiffusionPipeline",
      _note: LABEL,
      scheduler: ["diffusers", "DDPMScheduler"],
      text_encoder: ["transformers", "CLIPTextModel"],
      tokenizer: ["transformers", "CLIPTokenizer"],
      unet: ["diffusers", "UNet2DConditionModel"],
      vae: ["diffusers", "AutoencoderKL"],
    });
    await writeFile(path.join(scratch, "README.md"), `# ${TINY_RANDOM_MODEL_ID}\n\n${LABEL}. Made by gpu-backend at first start.\n`);
    await rename(scratch, directory).catch(async (error: unknown) => {
      // Another process finished the same model first: theirs is identical (fixed seeds).
      if (!(await exists(path.join(directory, "model_index.json")))) throw error;
    });
  } finally {
    for (const network of [unet, vae, textEncoder]) network.params.dispose();
    await rm(scratch, { recursive: true, force: true });
  }
  return directory;
}
