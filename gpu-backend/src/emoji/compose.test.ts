import { describe, expect, it } from "vitest";
import { Random } from "../tensor/random.js";
import { EMOJI_CLASSES, heldOutBackground, IMAGE_SIZE, type Vendor } from "./catalog.js";
import { blend, loadSprite, mirrorSprite, renderScene, type Sprite } from "./compose.js";
import { colourMatrix, jitterSprite } from "./jitter.js";
import { classDrawings, drawJudgeClassScene } from "./judge-scenes.js";
import { caption, drawScene, heldOutPrompts, pretrainingScenes } from "./scenes.js";

describe("scene composition", () => {
  it("blends a sprite over the background by its alpha, outside it the background", () => {
    // 1×1 sprite: pure red at alpha 128/255 over blue, at (1, 0) on a 2×2 canvas.
    const pixels = blend({ size: 1, rgba: Uint8Array.from([255, 0, 0, 128]) }, [0, 0, 255], 1, 0, 2);
    const a = 128 / 255;
    const expected = [(a * 255) / 127.5 - 1, -1, ((1 - a) * 255) / 127.5 - 1];
    expect([...pixels.data.slice(3, 6)].map((v) => Number(v.toFixed(6)))).toEqual(expected.map((v) => Number(v.toFixed(6))));
    expect([...pixels.data.slice(0, 3)]).toEqual([-1, -1, 1]);
  });

  it("draws the same scenes and captions from the same seed, and renders them to identical pixels", async () => {
    const first = pretrainingScenes(5, 1);
    const second = pretrainingScenes(5, 1);
    expect(second).toEqual(first);
    expect(first).toHaveLength(EMOJI_CLASSES.length * 7);
    expect(pretrainingScenes(6, 1)).not.toEqual(first);
    const [a, b] = [await renderScene(first[3].scene), await renderScene(second[3].scene)];
    expect(a.width).toBe(IMAGE_SIZE);
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
  });

  it("never pairs a class with its held-out background in pretraining; the quality prompts are exactly those pairs", () => {
    for (const { scene, classIndex } of pretrainingScenes(1, 2)) expect(scene.background).not.toBe(heldOutBackground(classIndex));
    const prompts = heldOutPrompts();
    expect(prompts[0]).toEqual({ caption: "a dog on a red background", classIndex: 0, background: "red" });
  });

  it("keeps a drawn emoji mostly on the canvas and captions say what the scene shows", () => {
    const random = new Random(3);
    for (let i = 0; i < 200; i++) {
      const scene = drawScene(random, "google", "1f436.png", "blue", "big");
      expect(scene.size).toBeGreaterThanOrEqual(24);
      expect(scene.x).toBeGreaterThanOrEqual(-Math.floor(scene.size / 8));
      expect(scene.x + scene.size).toBeLessThanOrEqual(IMAGE_SIZE + Math.floor(scene.size / 8));
    }
    expect(caption("sks dog", { background: "red", sizeWord: "small", photo: true })).toBe("a photo of a small sks dog on a red background");
    expect(caption("dog", {})).toBe("a dog");
  });

  it("jitter scales the drawing's colours, clipped to bytes, and leaves alpha and the background alone", async () => {
    const sprite = { size: 1, rgba: Uint8Array.from([100, 200, 50, 128]) };
    expect([...jitterSprite(sprite, { brightness: 1.2, gains: [1, 1.1, 0.5] }).rgba]).toEqual([120, 255, 30, 128]);
    const scene = drawScene(new Random(4), "google", "1f436.png", "blue", "small");
    const [plain, jittered] = [await renderScene(scene), await renderScene({ ...scene, jitter: { brightness: 0.8, gains: [1, 1, 1] } })];
    expect(jittered.data).not.toEqual(plain.data);
    // A small emoji (≤ 15 px) leaves the corner opposite its centre's quadrant uncovered.
    const nearTopLeft = scene.x + scene.size / 2 < 16 && scene.y + scene.size / 2 < 16;
    const corner = nearTopLeft ? (31 * 32 + 31) * 3 : 0;
    expect([...jittered.data.slice(corner, corner + 3)]).toEqual([...plain.data.slice(corner, corner + 3)]);
  });

  it("hue rotation and saturation follow CSS filters: grey stays grey, a half turn is not the identity, s = 0 is luminance", () => {
    const identity = colourMatrix(0, 1);
    identity.forEach((value, k) => expect(value).toBeCloseTo(k % 4 === 0 ? 1 : 0, 6));
    const grey = { size: 1, rgba: Uint8Array.from([90, 90, 90, 255]) };
    for (const hueTurn of [0.1, 0.5, 0.9]) expect([...jitterSprite(grey, { brightness: 1, gains: [1, 1, 1], hueTurn }).rgba]).toEqual([90, 90, 90, 255]);
    const red = { size: 1, rgba: Uint8Array.from([200, 30, 40, 255]) };
    const turned = [...jitterSprite(red, { brightness: 1, gains: [1, 1, 1], hueTurn: 0.5 }).rgba];
    expect(turned[0]).toBeLessThan(turned[1]); // red turns cyan-ish
    const luminance = Math.round(0.213 * 200 + 0.715 * 30 + 0.072 * 40);
    expect([...jitterSprite(red, { brightness: 1, gains: [1, 1, 1], saturation: 0 }).rgba]).toEqual([luminance, luminance, luminance, 255]);
  });

  it("mirrors a sprite left to right, twice is the sprite", () => {
    const sprite = { size: 2, rgba: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]) };
    expect([...mirrorSprite(sprite).rgba]).toEqual([5, 6, 7, 8, 1, 2, 3, 4, 13, 14, 15, 16, 9, 10, 11, 12]);
    expect([...mirrorSprite(mirrorSprite(sprite)).rgba]).toEqual([...sprite.rgba]);
  });

  it("the judge's class scenes draw every class from its Noto, OpenMoji and Fluent drawings, jittered and mirrored, with labels that match; Twemoji never", async () => {
    const random = new Random(11);
    const scenes = Array.from({ length: 600 }, () => drawJudgeClassScene(random));
    for (const { scene, classIndex } of scenes) expect(classDrawings(classIndex)).toContain(scene.file);
    expect(new Set(scenes.map((s) => s.classIndex)).size).toBe(EMOJI_CLASSES.length);
    const dogs = scenes.filter((s) => s.classIndex === 0);
    expect(new Set(dogs.map((s) => s.scene.file)).size).toBe(classDrawings(0).length);
    expect(scenes.some((s) => s.scene.mirrored) && scenes.some((s) => !s.scene.mirrored)).toBe(true);
    expect(scenes.filter((s) => s.scene.jitter?.hueTurn).length / scenes.length).toBeGreaterThan(0.15);
    const vendors = scenes.map((s) => s.scene.vendor);
    expect(new Set(vendors)).toEqual(new Set(["google", "openmoji", "fluent"]));
    for (const vendor of ["openmoji", "fluent"]) expect(vendors.filter((v) => v === vendor).length / vendors.length).toBeCloseTo(1 / 3, 1);
    // Every drawing exists for every vendor, so every scene renders.
    const files = EMOJI_CLASSES.flatMap((_, classIndex) => classDrawings(classIndex));
    await Promise.all(["google", "openmoji", "fluent"].flatMap((vendor) => files.map((file) => renderScene({ ...scenes[0].scene, vendor: vendor as Vendor, file }))));
  });

  it("cuts an OpenMoji or Fluent drawing out of its SVG's margin, so it fills its sprite as a Noto or Twemoji PNG does", async () => {
    // Rows and columns with any visible pixel: the drawing's extent inside the sprite.
    const extent = ({ size, rgba }: Sprite) => {
      const rows = new Set<number>();
      const columns = new Set<number>();
      for (let i = 0; i < size * size; i++) if (rgba[i * 4 + 3] > 8) [rows.add(Math.floor(i / size)), columns.add(i % size)];
      return Math.max(rows.size, columns.size) / size;
    };
    for (const vendor of ["google", "twitter", "openmoji", "fluent"] as const) {
      for (const file of ["1f436.png", "1f98a.png", "1f43b-200d-2744-fe0f.png"]) {
        const sprite = await loadSprite(vendor, file, 32);
        expect(sprite.rgba.length).toBe(32 * 32 * 4);
        expect(extent(sprite), `${vendor} ${file}`).toBeGreaterThan(0.9);
      }
    }
  });
});
