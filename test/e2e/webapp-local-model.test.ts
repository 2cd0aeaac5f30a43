/**
 * The reference web app on `npm start`'s own default — the local CPU backend and
 * the embedded tiny-emoji model — in Debian's Chromium: what a newcomer sees in
 * the first ten minutes. One real 20-step training serves every assertion: the
 * quick run preselected with its price and time, class images counted while
 * preparing, a validation sample at the end of a run shorter than the sample
 * interval, the quality report beside the base model's without a reload, the
 * model's vocabulary suggested and unknown words flagged, sharp pixels, and the
 * subject's trainings and generations still listed after a reload. Screenshots
 * of the training and results screens land in `test-artifacts/webapp-local/`.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_MODEL_FACTS } from "../../functions/jobs/base-model-facts.js";
import { TINY_EMOJI_BASE_QUALITY } from "../../functions/jobs/tiny-emoji-vocabulary.js";
import { emojiPhotos } from "../../scripts/lib/emoji-photos.mjs";
import { startLocalSystem } from "../../scripts/lib/local-api.mjs";

const QUICK = BASE_MODEL_FACTS["tiny-emoji"].quick_training;

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(process.cwd(), "test-artifacts", "webapp-local");
/** A real CPU training on a loaded 2-core machine: about 45 s alone (the 300-step quick run), several times that beside other work. */
const TRAINING_TIMEOUT_MS = 240_000;

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)("reference web app on the local CPU backend", () => {
  let system: Awaited<ReturnType<typeof startLocalSystem>>;
  let context: BrowserContext;
  let page: Page;
  const directories: string[] = [];
  const pageErrors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const [stateDir, profileDir] = ["webapp-local-state-", "webapp-local-chromium-"].map((prefix) => mkdtempSync(join(tmpdir(), prefix)));
    directories.push(stateDir, profileDir);
    system = await startLocalSystem({ env: { PORT: "0", BACKEND_PORT: "0", START_STATE_DIR: stateDir } });
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1100, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
    page.on("pageerror", (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await context?.close();
    await system?.stop();
    for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  });

  it("trains a quick run of an emoji dog with visible phases, a sample, quality next to the base model's, and history after a reload", async () => {
    expect(system).toMatchObject({ default_backend: "container", default_base_model: "tiny-emoji" });
    const photoDir = mkdtempSync(join(tmpdir(), "webapp-local-photos-"));
    directories.push(photoDir);
    const files = (await emojiPhotos("dog", 5)).map(({ name, bytes }) => {
      writeFileSync(join(photoDir, name), bytes);
      return join(photoDir, name);
    });

    await page.goto(`${system.url}/#key=${system.api_key}`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByLabel("Name", { exact: true }).fill("Rex");
    await page.getByLabel("Class noun").fill("dog");
    await page.getByRole("button", { name: "Create subject" }).click();
    await page.locator("#photo-input").setInputFiles(files);
    await page.getByRole("button", { name: "Upload and check" }).click();
    await page.locator('[data-screen="training"]:not([hidden])').waitFor();

    // The quick run is preselected on the local CPU, with the model, the price, the time and the balance said up front.
    expect(await page.getByRole("radio", { name: "Quick run" }).isChecked()).toBe(true);
    expect(await page.locator("#quick-help").innerText()).toMatch(new RegExp(`^${QUICK.steps} steps, ${QUICK.num_class_images} class images — about (\\d+ min )?\\d+ s on this CPU$`));
    expect(await page.locator("#model-note").innerText()).toContain("32 classes on 8 flat background colours");
    await expect.poll(() => page.locator("#training-estimate").innerText()).toMatch(/^Costs [\d,]+ credits · about (\d+ min )?\d+ s · balance [\d,]+ credits$/);
    expect(await page.locator("#balance").innerText()).toMatch(/^[\d,]+ credits$/);
    await page.getByText("Advanced settings").click();
    expect(await page.getByLabel("Steps").inputValue()).toBe(String(QUICK.steps));
    expect(await page.getByLabel("Validation prompt").inputValue()).toBe("a {subject} on a blue background");
    await page.getByRole("radio", { name: "Paper defaults" }).check();
    expect(await page.locator("#training-estimate").innerText()).toMatch(/^Costs 1,200 credits/);
    await page.getByRole("radio", { name: "Quick run" }).check();

    // Preparing is counted (class images), the run ends with a validation sample although it is shorter than the interval.
    const stepTexts = new Set<string>();
    await page.getByRole("button", { name: "Start training" }).click();
    const deadline = Date.now() + TRAINING_TIMEOUT_MS;
    while (Date.now() < deadline && (await page.locator("#training-status").getAttribute("data-status")) !== "succeeded") {
      stepTexts.add(await page.locator("#step-text").innerText());
      if (stepTexts.has(`class images 1 / ${QUICK.num_class_images}`) && !existsSync(join(ARTIFACTS, "training-preparing.png"))) await shot("training-preparing");
      await page.waitForTimeout(200);
    }
    expect(await page.locator("#training-status").getAttribute("data-status")).toBe("succeeded");
    expect([...stepTexts].filter((text) => text.startsWith("class images"))).not.toEqual([]);
    expect(await page.locator("#samples li").last().innerText()).toMatch(new RegExp(`step ${QUICK.steps}[\\s\\S]*on a blue background`));
    await expect.poll(() => page.locator("#samples li img").first().evaluate((image) => (image as HTMLImageElement).naturalWidth)).toBe(32);
    expect(await page.locator("#samples li img").first().evaluate((image) => getComputedStyle(image).imageRendering)).toBe("pixelated");
    await shot("training-succeeded");

    // Results: quality beside the untrained model's scores, without a reload; a training photo; the vocabulary.
    await page.getByRole("button", { name: "Generate images →" }).click();
    await page.locator("table.quality").waitFor();
    const [raw, normalised] = [1, 2].map((row) => page.locator("table.quality tr").nth(row).innerText());
    expect((await raw).split("\t").slice(0, 3)).toEqual(["Subject fidelity ↑", expect.stringMatching(/^-?\d\.\d{3}$/), TINY_EMOJI_BASE_QUALITY.subject_fidelity.toFixed(3)]);
    expect((await normalised).split("\t").slice(0, 3)).toEqual(["Subject fidelity, normalised ↑", expect.stringMatching(/^-?\d+\.\d{2}$/), TINY_EMOJI_BASE_QUALITY.subject_fidelity_normalized.toFixed(2)]);
    await expect.poll(() => page.locator("#training-photo").evaluate((image) => (image as HTMLImageElement).naturalWidth)).toBe(512);
    expect(await page.locator("#vocabulary-hint").innerText()).toContain("32 classes (dog, cat");
    const prompt = page.locator('[data-screen="results"]').getByLabel("Prompt");
    expect(await prompt.inputValue()).toBe("a {subject} on a blue background");
    await prompt.fill("a photo of {subject} wearing an astronaut helmet");
    expect(await page.locator("#prompt-vocabulary").innerText()).toBe("tiny-emoji does not know: wearing, an, astronaut, helmet — it will ignore them.");
    await page.locator("#prompt-suggestions .chip").nth(1).click();
    expect(await page.locator("#prompt-vocabulary").isHidden()).toBe(true);
    const chosenPrompt = await prompt.inputValue();
    await page.getByRole("button", { name: "Generate", exact: true }).click();
    await expect.poll(() => page.locator("#image-grid li").count(), { timeout: 120_000 }).toBe(4);
    expect(await page.locator("#image-grid img").first().evaluate((image) => getComputedStyle(image).imageRendering)).toBe("pixelated");
    await shot("results");

    // After a reload the subject's training and generation are still listed, with the generated images.
    await page.reload();
    await page.locator('[data-screen="results"]:not([hidden])').waitFor();
    await expect.poll(() => page.locator("#history .history-generation").count()).toBe(1);
    // Stored as the service expanded it: {subject} became the identifier and the class noun.
    const [before, after] = chosenPrompt.split("{subject}");
    expect(await page.locator("#history .history-generation strong").innerText()).toMatch(new RegExp(`^${before}[a-z]+ dog${after}$`));
    await expect.poll(() => page.locator("#history .history-generation img").evaluateAll((images) => images.filter((image) => (image as HTMLImageElement).naturalWidth === 32).length)).toBe(4);
    expect(await page.locator("#history .history-training .status-pill").textContent()).toBe("succeeded");
    await page.locator("table.quality").waitFor();
    expect(pageErrors).toEqual([]);
  }, TRAINING_TIMEOUT_MS + 180_000);
});
