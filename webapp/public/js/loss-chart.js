// @ts-check
/**
 * The loss curve: an SVG polyline of (step, loss) points scaled into the chart
 * box, with the step axis fixed to the training's total so the line grows from
 * left to right as training runs. `lossChartGeometry` is pure (tested); `drawLossChart`
 * only writes its result into the `<svg>`.
 */
const SVG_NS = "http://www.w3.org/2000/svg";

/** @typedef {{ step: number, loss: number }} LossPoint */
/** @typedef {{ width: number, height: number, padding: number }} ChartBox */

/**
 * @param {LossPoint[]} points in any order; repeated steps keep the last loss
 * @param {number} totalSteps
 * @param {ChartBox} box
 */
export function lossChartGeometry(points, totalSteps, box) {
  const byStep = new Map(points.map((point) => [point.step, point.loss]));
  const sorted = [...byStep].sort((a, b) => a[0] - b[0]);
  if (sorted.length === 0) return { path: "", minLoss: null, maxLoss: null };
  const losses = sorted.map(([, loss]) => loss);
  const minLoss = Math.min(...losses);
  const maxLoss = Math.max(...losses);
  const span = maxLoss - minLoss || Math.abs(maxLoss) || 1;
  const innerWidth = box.width - 2 * box.padding;
  const innerHeight = box.height - 2 * box.padding;
  const xMax = Math.max(totalSteps, sorted[sorted.length - 1][0], 1);
  const coordinates = sorted.map(([step, loss]) => {
    const x = box.padding + (step / xMax) * innerWidth;
    const y = box.padding + (1 - (loss - minLoss) / span) * innerHeight;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  return { path: `M${coordinates.join("L")}`, minLoss, maxLoss };
}

/**
 * @param {SVGSVGElement} svg
 * @param {LossPoint[]} points
 * @param {number} totalSteps
 */
export function drawLossChart(svg, points, totalSteps) {
  const box = { width: 600, height: 180, padding: 24 };
  const { path, minLoss, maxLoss } = lossChartGeometry(points, totalSteps, box);
  for (const child of [...svg.children]) if (child.tagName !== "title") child.remove();
  /** @param {string} tag @param {Record<string, string>} attributes */
  const add = (tag, attributes, text = "") => {
    const element = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
    element.textContent = text;
    svg.append(element);
  };
  add("line", { class: "axis", x1: "24", y1: "156", x2: "576", y2: "156" });
  add("line", { class: "axis", x1: "24", y1: "24", x2: "24", y2: "156" });
  if (!path || minLoss === null || maxLoss === null) {
    add("text", { class: "chart-label", x: "300", y: "95", "text-anchor": "middle" }, "waiting for the first step…");
    return;
  }
  add("path", { class: "loss-line", d: path, fill: "none" });
  add("text", { class: "chart-label", x: "28", y: "18" }, maxLoss.toPrecision(3));
  add("text", { class: "chart-label", x: "28", y: "172" }, minLoss.toPrecision(3));
  add("text", { class: "chart-label", x: "576", y: "172", "text-anchor": "end" }, `step ${totalSteps}`);
}
