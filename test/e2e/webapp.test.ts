/**
 * The reference web app in a real browser: Debian's Chromium, driven by
 * playwright-core, against the real service started by `npm start` (wrangler dev,
 * fake GPU backend). One user's whole path — sign in, create a subject, upload
 * photos through the signed URLs, see rejected photos explained, train to
 * `succeeded` with a dropped event stream on the way, generate, see and enlarge
 * the images, download the LoRA — with a screenshot of each screen in
 * `test-artifacts/webapp/`, and every request the page made checked to have
 * gone to the service's own origin.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(process.cwd(), "test-artifacts", "webapp");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (address && typeof address === "object" ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** `npm start` on a free port with the fake backend and sd15 as defaults; resolves with the URL and dev key it prints as JSON. */
function startService(port: number, stateDir: string): Promise<{ url: string; apiKey: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["scripts/start.mjs"], {
    // The fake backend (this test is about the app, and a training must finish in seconds), with sd15's 512 px;
    // its own storage, so the subjects it makes never show up in the checkout's own `npm start`.
    env: { ...process.env, PORT: String(port), BACKEND_PORT: "0", START_STATE_DIR: stateDir, START_PRINT_JSON: "1", DEFAULT_BACKEND: "fake", DEFAULT_BASE_MODEL: "sd15" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split("\n").find((candidate) => candidate.startsWith("{") && candidate.includes('"api_key"'));
      if (line) {
        const printed = JSON.parse(line) as { url: string; api_key: string };
        resolve({ url: printed.url, apiKey: printed.api_key, child });
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`npm start exited (${code}):\n${output.slice(-3000)}`)));
  });
}

/** Distinct 512×512 JPEGs (finalize rejects exact duplicates) and one PNG below the 256 px minimum. */
async function makePhotos(directory: string): Promise<{ good: string[]; tooSmall: Buffer }> {
  const good: string[] = [];
  for (let index = 0; index < 5; index++) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512">
      <rect width="512" height="512" fill="hsl(${index * 70},65%,55%)"/>
      <circle cx="${140 + index * 55}" cy="${200 + index * 20}" r="110" fill="#7a4b2a"/>
      <circle cx="${120 + index * 55}" cy="${160 + index * 20}" r="14" fill="#111"/></svg>`;
    const path = join(directory, `rex ${index + 1}.jpg`);
    writeFileSync(path, await sharp(Buffer.from(svg)).jpeg({ quality: 88 }).toBuffer());
    good.push(path);
  }
  const tooSmall = await sharp({ create: { width: 120, height: 90, channels: 3, background: "#3a6" } }).png().toBuffer();
  return { good, tooSmall };
}

// Skipped only outside CI on a machine without Chromium; in CI (.ci/run installs it) a missing browser fails.
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)("reference web app in Chromium", () => {
  let service: Awaited<ReturnType<typeof startService>>;
  let context: BrowserContext;
  let page: Page;
  let photoDirectory: string;
  let userDataDir: string;
  let stateDir: string;
  const requests: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    photoDirectory = mkdtempSync(join(tmpdir(), "webapp-photos-"));
    userDataDir = mkdtempSync(join(tmpdir(), "webapp-chromium-"));
    stateDir = mkdtempSync(join(tmpdir(), "webapp-state-"));
    service = await startService(await freePort(), stateDir);
    // A fresh profile per run, so nothing cached or stored by an earlier run takes part.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1100, height: 900 },
      acceptDownloads: true,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on("request", (request) => requests.push(request.url()));
    page.on("pageerror", (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await context?.close();
    if (service?.child.exitCode === null) {
      const exited = new Promise((resolve) => service.child.once("exit", resolve));
      service.child.kill("SIGTERM");
      await exited;
    }
    for (const directory of [photoDirectory, userDataDir, stateDir]) if (directory) rmSync(directory, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  it("runs the whole flow from API key to generated images", async () => {
    const { good, tooSmall } = await makePhotos(photoDirectory);

    // Sign in: the key from `npm start`'s link pre-fills the field and leaves the address bar.
    await page.goto(`${service.url}/#key=${service.apiKey}`);
    await expect.poll(() => page.inputValue("#api-key")).toBe(service.apiKey);
    expect(new URL(page.url()).hash).toBe("");
    await shot("1-sign-in");
    await page.focus("#api-key");
    await page.keyboard.press("Enter");
    await page.locator('[data-screen="subject"]:not([hidden]), #sign-in-error:not([hidden])').first().waitFor();
    expect(await page.locator("#sign-in-error").innerText()).toBe("");

    // Subject, with the class noun's hint on screen.
    await page.getByLabel("Name", { exact: true }).fill("Rex");
    await expect.poll(() => page.locator("#class-noun-help").innerText()).toContain("prior-preservation");
    await page.getByLabel("Class noun").fill("dog");
    await shot("2-subject");
    await page.getByRole("button", { name: "Create subject" }).click();

    // Five photos chosen; three bad ones dropped on the drop zone: too small, a duplicate, and text named .jpg.
    await page.locator("#photo-input").setInputFiles(good);
    const dataTransfer = await page.evaluateHandle(
      (files) => {
        const transfer = new DataTransfer();
        for (const { name, type, base64 } of files) {
          transfer.items.add(new File([Uint8Array.from(atob(base64), (char) => char.charCodeAt(0))], name, { type }));
        }
        return transfer;
      },
      [
        { name: "tiny.png", type: "image/png", base64: tooSmall.toString("base64") },
        { name: "copy.jpg", type: "image/jpeg", base64: readFileSync(good[0]).toString("base64") },
        { name: "notes.jpg", type: "image/jpeg", base64: Buffer.from("not a photo at all").toString("base64") },
      ],
    );
    await page.locator("#dropzone").dispatchEvent("drop", { dataTransfer });
    await expect.poll(() => page.locator("#photo-grid li").count()).toBe(8);

    // The first PUT to storage fails: the photo says so, the error is shown, and trying again works.
    await page.route("**/files/**", (route) => route.abort("connectionreset"), { times: 1 });
    await page.getByRole("button", { name: "Upload and check" }).click();
    await page.locator("#photos-error:not([hidden])").waitFor();
    expect(await page.locator("#photos-error").innerText()).toMatch(/^upload of 01-rex-1\.jpg failed: network error$/);
    expect(await page.locator('#photo-grid li[data-state="failed"]').count()).toBe(1);
    await page.getByRole("button", { name: "Upload and check" }).click();

    // Finalize's verdict per photo, each rejection with its reason, before anything is trained.
    await page.locator("#photo-report").getByText("3 of 8 photos rejected").waitFor();
    const verdict = async (name: string) => {
      const item = page.locator("#photo-grid li").filter({ has: page.getByText(name, { exact: true }) });
      return `${await item.getAttribute("data-state")}: ${await item.locator(".photo-status").innerText()}`;
    };
    expect(await verdict("tiny.png")).toMatch(/^rejected: .*Shortest side 90 px is below the 256 px minimum/);
    expect(await verdict("copy.jpg")).toMatch(/^rejected: .*Identical to rex 1\.jpg/);
    expect(await verdict("notes.jpg")).toMatch(/^rejected: .*Not a JPEG, PNG or WebP file/);
    expect(await verdict("rex 1.jpg")).toMatch(/^accepted: ✓ accepted 512×512/);
    expect(await page.locator('#photo-grid li[data-state="accepted"]').count()).toBe(5);
    const progress = await page.locator("#photo-grid li progress").evaluateAll((bars) => bars.map((bar) => (bar as HTMLProgressElement).value));
    expect(progress).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    await shot("3-photos-rejected");

    // Without the rejected photo the set passes and the app moves on to training.
    await page.getByRole("button", { name: "Continue without rejected photos" }).click();
    await page.locator("#photo-report").getByText("All 5 photos accepted").waitFor();
    await page.locator('[data-screen="training"]:not([hidden])').waitFor();

    // Advanced settings, then a start whose first event stream drops: the app reconnects and catches up.
    await page.getByText("Advanced settings").click();
    const trainingScreen = page.locator('[data-screen="training"]');
    await trainingScreen.getByLabel("Steps").fill("400");
    await trainingScreen.getByLabel("LoRA rank").fill("8");
    await trainingScreen.getByLabel("Seed").fill("1234");
    await shot("4-training-settings");
    let eventStreams = 0;
    await page.route("**/v1/trainings/*/events", (route) => (eventStreams++ === 0 ? route.abort("internetdisconnected") : route.continue()));
    await page.getByRole("button", { name: "Start training" }).click();
    await page.locator('#connection[data-state="reconnecting"]').waitFor();
    await page.locator('#training-status[data-status="succeeded"]').waitFor({ timeout: 60_000 });
    expect(eventStreams).toBeGreaterThanOrEqual(2);
    expect(await page.locator("#step-text").innerText()).toBe("step 400 / 400");
    expect(await page.locator("#loss-chart path.loss-line").getAttribute("d")).toMatch(/^M[\d.,]+(L[\d.,]+)+$/);
    expect(await page.locator("#samples li").first().innerText()).toContain("on a beach");
    await expect
      .poll(() => page.locator("#samples li img").evaluate((image) => (image as HTMLImageElement).complete && (image as HTMLImageElement).naturalWidth))
      .toBe(512);
    await shot("5-training-succeeded");
    await page.getByRole("button", { name: "Generate images →" }).click();

    // Generate four images; each shows its seed, enlarges on click, and can be downloaded.
    const resultsScreen = page.locator('[data-screen="results"]');
    await resultsScreen.getByLabel("Prompt").fill("a photo of {subject} in a spacesuit on the moon");
    await resultsScreen.getByLabel("Images", { exact: true }).fill("4");
    await resultsScreen.getByLabel("Seed").fill("77");
    await page.getByRole("button", { name: "Generate", exact: true }).click();
    await expect.poll(() => page.locator("#image-grid li").count(), { timeout: 30_000 }).toBe(4);
    expect(await page.locator("#image-grid .seed").allInnerTexts()).toEqual(["seed 77", "seed 78", "seed 79", "seed 80"]);
    const loaded = await page.locator("#image-grid img").evaluateAll((images) =>
      images.map((image) => (image as HTMLImageElement).complete && (image as HTMLImageElement).naturalWidth > 0),
    );
    expect(loaded).toEqual([true, true, true, true]);
    await shot("6-generated");
    await page.getByRole("button", { name: /Enlarge image 1, seed 77/ }).click();
    await page.locator("dialog#lightbox[open]").waitFor();
    expect(await page.locator("#lightbox-caption").innerText()).toContain("seed 77");
    await shot("7-lightbox");
    await page.keyboard.press("Escape");
    await page.locator("dialog#lightbox[open]").waitFor({ state: "detached" });

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: /LoRA · kohya/ }).click()]);
    expect(download.suggestedFilename()).toMatch(/^trn_[0-9a-z]{20}-kohya_lora\.safetensors$/);
    expect(await page.getByRole("button", { name: /LoRA · diffusers/ }).count()).toBe(1);

    // Every form control on every screen has a label, every image a text alternative, every button a name.
    const unnamed = await page.evaluate(() => [
      ...[...document.querySelectorAll("input, textarea, select")]
        .filter((control) => (control as HTMLInputElement).labels?.length === 0 && !control.getAttribute("aria-label"))
        .map((control) => `control ${control.id || control.outerHTML}`),
      ...[...document.querySelectorAll("img")].filter((image) => !image.hasAttribute("alt")).map((image) => `img ${image.id}`),
      ...[...document.querySelectorAll("button")]
        .filter((button) => !button.textContent?.trim() && !button.getAttribute("aria-label"))
        .map((button) => `button ${button.outerHTML.slice(0, 80)}`),
    ]);
    expect(unnamed).toEqual([]);

    // The same screen on a phone.
    await page.setViewportSize({ width: 390, height: 844 });
    await shot("8-generated-phone");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.emulateMedia({ colorScheme: "dark" });
    await shot("8-generated-phone-dark");

    expect(pageErrors).toEqual([]);
  });

  it("comes back to the saved subject after a reload, cancels a running training, and asks again for a refused key", async () => {
    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${service.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${service.apiKey}`, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      expect(response.ok, `${method} ${path}: ${response.status}`).toBe(true);
      return response.json();
    };
    // A subject made ready through the API, as another client of the same account would.
    const subject = await api("POST", "/v1/subjects", { name: "Pack", class_noun: "backpack" });
    const { good } = await makePhotos(photoDirectory);
    const names = good.map((_, index) => `p${index}.jpg`);
    const { uploads } = await api("POST", `/v1/subjects/${subject.id}/uploads`, {
      files: names.map((name) => ({ name, content_type: "image/jpeg" })),
    });
    for (const [index, upload] of uploads.entries()) {
      const put = await fetch(upload.url, { method: "PUT", headers: upload.headers, body: readFileSync(good[index]) });
      expect(put.status).toBe(200);
    }
    await api("POST", `/v1/subjects/${subject.id}/finalize`);

    const tab = await context.newPage();
    tab.on("request", (request) => requests.push(request.url()));
    tab.on("pageerror", (error) => pageErrors.push(error.message));
    await tab.addInitScript(
      ([apiKey, subjectId]) => {
        if (!sessionStorage.getItem("dreambooth.apiKey")) {
          sessionStorage.setItem("dreambooth.apiKey", apiKey);
          sessionStorage.setItem("dreambooth.subjectId", subjectId);
        }
      },
      [service.apiKey, subject.id],
    );
    await tab.goto(service.url);
    await tab.locator('[data-screen="training"]:not([hidden])').waitFor();
    expect(await tab.locator("#training-title").innerText()).toBe("Train a model of Pack");

    await tab.getByRole("button", { name: "Start training" }).click();
    await tab.getByRole("button", { name: "Cancel" }).click();
    await tab.locator('#training-status[data-status="canceled"]').waitFor();
    expect(await tab.getByRole("button", { name: "Train again" }).isVisible()).toBe(true);
    await tab.screenshot({ path: join(ARTIFACTS, "9-training-canceled.png"), fullPage: true });

    // A reload lands on the same, still canceled, training.
    await tab.reload();
    await tab.locator('#training-status[data-status="canceled"]').waitFor();
    await tab.getByRole("button", { name: "Train again" }).click();
    expect(await tab.getByRole("button", { name: "Start training" }).isVisible()).toBe(true);

    // A key the service stops accepting leads back to sign-in, with the reason.
    await tab.evaluate(() => sessionStorage.setItem("dreambooth.apiKey", `dbk_test_${"0".repeat(32)}`));
    await tab.reload();
    await tab.locator('[data-screen="sign-in"]:not([hidden])').waitFor();
    await tab.locator("#sign-in-error:not([hidden])").waitFor();
    expect(await tab.locator("#sign-in-error").innerText()).toBe("The service no longer accepts this API key. Sign in again.");
    expect(pageErrors).toEqual([]);
    await tab.close();
  });

  it("made no request to any host but the service's own origin", () => {
    const origin = new URL(service.url).origin;
    expect(requests.length).toBeGreaterThan(20);
    const foreign = requests.filter((url) => !url.startsWith("blob:") && !url.startsWith("data:") && new URL(url).origin !== origin);
    expect(foreign).toEqual([]);
  });
});
