// Reads the per-run JSON files of bench/compare_ort.sh, prints the partq-vs-ORT table on stdout and writes
// the summary JSON. With several rounds, each runtime's figure is the median over rounds of the run medians.
'use strict';

const fs = require('fs');
const path = require('path');

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i += 2) opts[argv[i].replace(/^--/, '')] = argv[i + 1];
  return opts;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function load(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read benchmark result: ${e.message}`);
  }
}

const opts = parseArgs(process.argv.slice(2));
const models = opts.models.split(/\s+/).filter(Boolean);
const batches = opts.batches.split(/\s+/).filter(Boolean).map(Number);
const rounds = Number(opts.rounds);

const rows = [];
for (const model of models) {
  for (const batch of batches) {
    const row = { model, batch, threads: Number(opts.threads) };
    for (const runtime of ['partq', 'ort']) {
      const results = [];
      for (let r = 1; r <= rounds; r++) {
        results.push(load(path.join(opts['runs-dir'], `${model}.b${batch}.${runtime}.r${r}.json`)));
      }
      for (const key of ['median_ms', 'min_ms', 'p90_ms']) {
        if (results.some((x) => typeof x[key] !== 'number')) throw new Error(`${runtime} result lacks '${key}'`);
      }
      const med = median(results.map((x) => x.median_ms));
      row[runtime] = {
        median_ms: med,
        min_ms: Math.min(...results.map((x) => x.min_ms)),
        p90_ms: median(results.map((x) => x.p90_ms)),
        images_per_s: (batch * 1000) / med,
        rounds: results.map((x) => x.median_ms),
      };
    }
    row.partq_over_ort = row.partq.median_ms / row.ort.median_ms;  // < 1: partq is faster
    row.speedup = row.ort.median_ms / row.partq.median_ms;  // > 1: partq is faster
    rows.push(row);
  }
}

const header = ['model', 'batch', 'threads', 'partq ms', 'ORT ms', 'partq img/s', 'ORT img/s', 'partq/ORT', 'speed-up'];
const table = rows.map((r) => [r.model, String(r.batch), String(r.threads), r.partq.median_ms.toFixed(2),
  r.ort.median_ms.toFixed(2), r.partq.images_per_s.toFixed(1), r.ort.images_per_s.toFixed(1),
  r.partq_over_ort.toFixed(3), `${r.speedup.toFixed(2)}x`]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log('median latency over the timed runs (FP32; speed-up = ORT median / partq median)');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of table) console.log(line(row));

const summary = {
  description: 'partq FP32 vs ONNX Runtime FP32 (CPU EP, graph optimization all), interleaved runs',
  ort_runtime: load(path.join(opts['runs-dir'], `${models[0]}.b${batches[0]}.ort.r1.json`)).runtime,
  host: { cpus: require('os').cpus().length, cpu_model: (require('os').cpus()[0] || {}).model },
  rows,
};
const tmp = `${opts.json}.tmp.${process.pid}`;
fs.writeFileSync(tmp, JSON.stringify(summary, null, 2) + '\n');
fs.renameSync(tmp, opts.json);
console.log(`summary: ${opts.json}`);
