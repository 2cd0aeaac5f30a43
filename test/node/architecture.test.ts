/**
 * The Worker's layering, checked on the import graph of `functions/` (test files
 * excluded): routes and bots call down into the use cases (`jobs/`, `subjects/`),
 * never sideways into each other, and the job core has no import cycle with chat.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../../functions");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [full] : [];
  });
}

/** Module → the modules under functions/ it imports (type-only imports included: they couple too). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(ROOT)) {
    const specifiers = [...readFileSync(file, "utf8").matchAll(/(?:^|\n)\s*(?:import|export)[^;]*?from\s+"(\.{1,2}\/[^"]+)"/g)].map((match) => match[1]);
    const targets = specifiers
      .map((specifier) => path.resolve(path.dirname(file), specifier).replace(/\.js$/, ".ts"))
      .filter((target) => target.startsWith(ROOT + path.sep));
    graph.set(path.relative(ROOT, file), targets.map((target) => path.relative(ROOT, target)));
  }
  return graph;
}

/** Strongly connected components with more than one module: the import cycles. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const lowlink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    lowlink.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        lowlink.set(node, Math.min(lowlink.get(node)!, lowlink.get(next)!));
      } else if (onStack.has(next)) {
        lowlink.set(node, Math.min(lowlink.get(node)!, indices.get(next)!));
      }
    }
    if (lowlink.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return found;
}

describe("the Worker's layering", () => {
  const graph = importGraph();

  it("keeps use cases, backends and bots out of the HTTP route files", () => {
    const sideways = [...graph].flatMap(([file, targets]) =>
      /^(bots|jobs|subjects|backends|billing|accounts)\//.test(file) ? targets.filter((target) => target.startsWith("routes/")).map((target) => `${file} → ${target}`) : [],
    );
    expect(sideways).toEqual([]);
  });

  it("has no import cycle", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("finds the modules it checks", () => {
    expect(graph.get("jobs/job-do.ts")).toContain("jobs/notices.ts");
    expect(graph.get("bots/actions.ts")).toContain("jobs/start-training.ts");
  });
});
