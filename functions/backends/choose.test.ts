import { describe, expect, it } from "vitest";
import { chooseBackend } from "./choose.js";

describe("chooseBackend", () => {
  const env = { DEFAULT_BACKEND: "container" };

  it("runs every job of a test key on the fake backend, whatever the request or the training named", () => {
    expect(chooseBackend({ keyMode: "test", requested: "replicate", env })).toBe("fake");
    expect(chooseBackend({ keyMode: "test", inherited: "container", env })).toBe("fake");
  });

  it("takes the request's backend, else the inherited one, else the deployment's default", () => {
    expect(chooseBackend({ keyMode: "live", requested: "replicate", inherited: "container", env })).toBe("replicate");
    expect(chooseBackend({ keyMode: "live", inherited: "replicate", env })).toBe("replicate");
    expect(chooseBackend({ keyMode: "live", env })).toBe("container");
  });

  it("says the deployment is misconfigured when its default names no backend (503)", () => {
    expect(() => chooseBackend({ keyMode: "live", env: { DEFAULT_BACKEND: "gpu-farm" } })).toThrow(
      expect.objectContaining({ status: 503, code: "misconfigured" }),
    );
  });
});
