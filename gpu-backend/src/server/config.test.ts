import { describe, expect, it } from "vitest";
import { modelsDir, readServiceConfig } from "./config.js";

describe("service configuration", () => {
  it("refuses to start without BACKEND_SIGNING_SECRET, naming it", () => {
    expect(() => readServiceConfig({})).toThrow(/BACKEND_SIGNING_SECRET/);
  });

  it("defaults to loopback, port 8788 and models under the data dir", () => {
    const config = readServiceConfig({ BACKEND_SIGNING_SECRET: "0123456789abcdef" });
    expect(config).toMatchObject({ HOST: "127.0.0.1", PORT: 8788, DATA_DIR: ".data/gpu-backend" });
    expect(config.TFJS_BACKEND).toBeUndefined();
    expect(modelsDir(config)).toBe(".data/gpu-backend/models");
  });

  it("reads PORT, HOST, MODELS_DIR and TFJS_BACKEND", () => {
    const config = readServiceConfig({
      BACKEND_SIGNING_SECRET: "0123456789abcdef",
      PORT: "9000",
      HOST: "0.0.0.0",
      MODELS_DIR: "/models",
      TFJS_BACKEND: "cpu",
    });
    expect([config.PORT, config.HOST, modelsDir(config), config.TFJS_BACKEND]).toEqual([9000, "0.0.0.0", "/models", "cpu"]);
    expect(() => readServiceConfig({ BACKEND_SIGNING_SECRET: "0123456789abcdef", TFJS_BACKEND: "webgl" })).toThrow(/TFJS_BACKEND/);
  });
});
