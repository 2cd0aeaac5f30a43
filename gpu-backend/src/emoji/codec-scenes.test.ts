import { describe, expect, it } from "vitest";
import { Random } from "../tensor/random.js";
import { EMOJI_CLASSES } from "./catalog.js";
import { drawCodecScene, heldOutCodecScenes, vendorEmojiFiles } from "./codec-scenes.js";

describe("codec scenes", () => {
  it("list every Noto image once, sorted, the 32 class drawings among them", () => {
    const files = vendorEmojiFiles("google");
    expect(files.length).toBeGreaterThan(3000);
    expect(new Set(files).size).toBe(files.length);
    expect([...files].sort()).toEqual(files);
    for (const { file } of EMOJI_CLASSES) expect(files).toContain(file);
  });

  it("draw the same scenes from the same seed, labelled with the drawing's index", () => {
    const [a, b] = [new Random(5), new Random(5)];
    const first = Array.from({ length: 20 }, () => drawCodecScene(a, "google"));
    expect(Array.from({ length: 20 }, () => drawCodecScene(b, "google"))).toEqual(first);
    for (const { scene, identity } of first) expect(scene.file).toBe(vendorEmojiFiles("google")[identity]);
    expect(new Set(first.map((scene) => scene.identity)).size).toBeGreaterThan(15);
  });

  it("hold out Twemoji: the measuring scenes are Twitter's drawings only", () => {
    const scenes = heldOutCodecScenes(new Random(1), 50);
    expect(scenes.every(({ scene }) => scene.vendor === "twitter")).toBe(true);
  });
});
