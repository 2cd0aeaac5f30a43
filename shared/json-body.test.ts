import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseJsonBody } from "./json-body.js";

describe("parseJsonBody", () => {
  const schema = z.object({ n: z.number() });

  it("returns the checked value", () => {
    expect(parseJsonBody('{"n":1}', schema)).toEqual({ ok: true, data: { n: 1 } });
  });

  it("tells malformed JSON from JSON that breaks the contract", () => {
    expect(parseJsonBody("{n:1", schema)).toEqual({ ok: false, code: "invalid_json" });
    const wrong = parseJsonBody('{"n":"1"}', schema);
    expect(wrong.ok).toBe(false);
    expect(!wrong.ok && wrong.code).toBe("invalid_request");
  });
});
