import { describe, expect, it } from "vitest";
import { newApiKey, parseApiKey } from "../../../functions/accounts/api-keys.js";
import { JOB_STATUSES, TERMINAL_STATUSES as SERVICE_TERMINAL_STATUSES } from "../../../shared/index.js";
import { isTerminal, TERMINAL_STATUSES } from "../../../webapp/public/js/job-status.js";
import { API_KEY_PATTERN, keyFromFragment } from "../../../webapp/public/js/session.js";

describe("API key from the start link", () => {
  it("accepts exactly the keys the service accepts", () => {
    for (const key of [newApiKey("test"), newApiKey("live")]) {
      expect(API_KEY_PATTERN.test(key)).toBe(true);
      expect(keyFromFragment(`#key=${key}`)).toBe(key);
    }
    for (const bad of ["dbk_test_short", "dbk_prod_" + "a".repeat(32), "dbk_test_" + "u".repeat(32)]) {
      expect(API_KEY_PATTERN.test(bad)).toBe(parseApiKey(bad) !== null);
      expect(keyFromFragment(`#key=${bad}`)).toBeNull();
    }
    expect(keyFromFragment("")).toBeNull();
  });
});

describe("job statuses", () => {
  it("treats as final exactly the statuses the service does", () => {
    expect([...TERMINAL_STATUSES].sort()).toEqual([...SERVICE_TERMINAL_STATUSES].sort());
    for (const status of JOB_STATUSES) expect(isTerminal(status)).toBe(SERVICE_TERMINAL_STATUSES.has(status));
  });
});
