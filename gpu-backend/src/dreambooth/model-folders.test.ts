import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLED_MODELS_DIR, findModelFolder } from "./model-folders.js";

describe("base model folders", () => {
  let operator: string;
  let bundled: string;
  beforeAll(async () => {
    operator = await mkdtemp(path.join(os.tmpdir(), "models-operator-"));
    bundled = await mkdtemp(path.join(os.tmpdir(), "models-bundled-"));
    for (const [root, id] of [[operator, "sd15"], [operator, "shared"], [bundled, "shared"], [bundled, "tiny"]]) {
      await mkdir(path.join(root, id), { recursive: true });
      await writeFile(path.join(root, id, "model_index.json"), "{}");
    }
    await mkdir(path.join(operator, "empty"));
  });
  afterAll(async () => {
    await rm(operator, { recursive: true, force: true });
    await rm(bundled, { recursive: true, force: true });
  });

  it("looks in the operator's folder first, then in the bundled one", async () => {
    expect(await findModelFolder("sd15", [operator, bundled])).toBe(path.join(operator, "sd15"));
    expect(await findModelFolder("shared", [operator, bundled])).toBe(path.join(operator, "shared"));
    expect(await findModelFolder("tiny", [operator, bundled])).toBe(path.join(bundled, "tiny"));
  });

  it("skips folders without model_index.json and refuses ids that are not plain folder names", async () => {
    expect(await findModelFolder("empty", [operator, bundled])).toBeUndefined();
    expect(await findModelFolder("missing", [operator, bundled])).toBeUndefined();
    for (const id of ["../sd15", "a/b", "", ".hidden", "x..y"]) expect(await findModelFolder(id, [operator, bundled])).toBeUndefined();
  });

  it("finds the embedded tiny-emoji model the repository ships", async () => {
    expect(await findModelFolder("tiny-emoji", [operator, BUNDLED_MODELS_DIR])).toBe(path.join(BUNDLED_MODELS_DIR, "tiny-emoji"));
  });
});
