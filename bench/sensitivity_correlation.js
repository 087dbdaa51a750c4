#!/usr/bin/env node
// Spearman rank correlation between the per-layer sensitivities of two partq.sensitivity files (e.g. the
// sqnr proxy and the map metric, same model / mode / images):
//   node bench/sensitivity_correlation.js A.sensitivity.json B.sensitivity.json
// Ties get their average rank; layers present in only one file are reported and left out.
'use strict';
const fs = require('fs');

function load(path) {
  const j = JSON.parse(fs.readFileSync(path, 'utf8'));
  if (j.format !== 'partq.sensitivity') throw new Error(`${path}: not a partq.sensitivity file`);
  return j;
}

function ranks(values) {
  const order = values.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]);
  const r = new Array(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) ++j;
    for (let k = i; k <= j; ++k) r[order[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

function pearson(x, y) {
  const n = x.length, mx = x.reduce((a, b) => a + b) / n, my = y.reduce((a, b) => a + b) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

const [pathA, pathB] = process.argv.slice(2);
if (!pathA || !pathB) {
  console.error('usage: sensitivity_correlation.js A.sensitivity.json B.sensitivity.json');
  process.exit(2);
}
const a = load(pathA), b = load(pathB);
const bByName = new Map(b.layers.map((l) => [l.name, l.sensitivity]));
const common = a.layers.filter((l) => bByName.has(l.name));
const x = common.map((l) => l.sensitivity), y = common.map((l) => bByName.get(l.name));
const rho = pearson(ranks(x), ranks(y));
const topA = new Set(a.layers.slice(0, 5).map((l) => l.name));
const topOverlap = b.layers.slice(0, 5).filter((l) => topA.has(l.name)).length;
const result = {
  a: {file: pathA, metric: a.metric, mode: a.mode, images: a.images.count},
  b: {file: pathB, metric: b.metric, mode: b.mode, images: b.images.count},
  layers: common.length,
  only_in_one: a.layers.length + b.layers.length - 2 * common.length,
  spearman: rho,
  top5_overlap: topOverlap,
};
console.log(JSON.stringify(result, null, 2));
