/**
 * Where a base model id's diffusers folder is: the operator's `MODELS_DIR` first (real SD checkpoints,
 * or an override of a bundled model), then the models this repository ships (`gpu-backend/models`,
 * the embedded tiny-emoji model). Ids are folder names; anything that could leave those folders is
 * refused rather than resolved.
 */
import { access } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The models committed with the backend (copied into the image by the Dockerfile). */
export const BUNDLED_MODELS_DIR = fileURLToPath(new URL("../../models", import.meta.url));

const MODEL_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The first of `roots` holding `<id>/model_index.json`; undefined when none does or the id is not a plain folder name. */
export async function findModelFolder(id: string, roots: string[]): Promise<string | undefined> {
  if (!MODEL_ID.test(id) || id.includes("..")) return undefined;
  for (const root of roots) {
    const folder = path.join(root, id);
    const found = await access(path.join(folder, "model_index.json")).then(() => true, () => false);
    if (found) return folder;
  }
  return undefined;
}
