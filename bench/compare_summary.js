// Reads the per-run JSON files of bench/compare_ort.sh, prints the comparison as a Markdown table on stdout and
// writes the summary JSON (and the table to --markdown FILE). With several rounds, each runtime's figure is the
// median over rounds of the run medians. With --int8 1 the table has four runtimes: partq FP32, partq INT8 (on
// the Q/DQ model), ORT FP32 and ORT on the Q/DQ model.
'use strict';

const fs = require('fs');
const os = require('os');
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

function writeAtomic(file, text) {
  const tmp = `${file}.tmp.${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

const opts = parseArgs(process.argv.slice(2));
const models = opts.models.split(/\s+/).filter(Boolean);
const batches = opts.batches.split(/\s+/).filter(Boolean).map(Number);
const rounds = Number(opts.rounds);
const int8 = opts.int8 === '1';
// Run-file name -> key in the summary rows.
const fastSilu = opts['fast-silu'] === '1';
const runtimes = int8
  ? { partq: 'partq', 'partq-int8': 'partq_int8', ort: 'ort', 'ort-qdq': 'ort_qdq' }
  : { partq: 'partq', ort: 'ort' };
if (fastSilu) runtimes['partq-int8-fast'] = 'partq_int8_fast';

const rows = [];
for (const model of models) {
  for (const batch of batches) {
    const row = { model, batch, threads: Number(opts.threads) };
    for (const [runtime, key] of Object.entries(runtimes)) {
      const results = [];
      for (let r = 1; r <= rounds; r++) {
        results.push(load(path.join(opts['runs-dir'], `${model}.b${batch}.${runtime}.r${r}.json`)));
      }
      for (const field of ['median_ms', 'min_ms', 'p90_ms']) {
        if (results.some((x) => typeof x[field] !== 'number')) throw new Error(`${runtime} result lacks '${field}'`);
      }
      const med = median(results.map((x) => x.median_ms));
      row[key] = {
        median_ms: med,
        min_ms: Math.min(...results.map((x) => x.min_ms)),
        p90_ms: median(results.map((x) => x.p90_ms)),
        images_per_s: (batch * 1000) / med,
        runs: results[0].runs,
        rounds: results.map((x) => x.median_ms),
      };
    }
    row.partq_over_ort = row.partq.median_ms / row.ort.median_ms;  // < 1: partq is faster
    row.speedup = row.ort.median_ms / row.partq.median_ms;  // > 1: partq is faster
    if (int8) {
      row.int8_speedup = row.partq.median_ms / row.partq_int8.median_ms;  // > 1: partq INT8 beats partq FP32
      row.int8_speedup_vs_ort_qdq = row.ort_qdq.median_ms / row.partq_int8.median_ms;  // > 1: partq INT8 faster
      row.ort_qdq_speedup = row.ort.median_ms / row.ort_qdq.median_ms;  // > 1: ORT's Q/DQ beats ORT FP32
    }
    if (fastSilu) row.int8_fast_speedup = row.partq.median_ms / row.partq_int8_fast.median_ms;
    rows.push(row);
  }
}

const ms = (x) => x.median_ms.toFixed(2);
const times = (x) => `${x.toFixed(2)}×`;
let caption, header, table;
if (int8) {
  caption = `Median latency per batch (ms), ${opts.threads} threads, interleaved runs. Speed-ups above 1: the ` +
    'first-named is faster (INT8 = partq INT8 on the Q/DQ model vs partq FP32; vs ORT Q/DQ = ORT on the same ' +
    'Q/DQ model / partq INT8; FP32 = ORT FP32 / partq FP32).';
  header = ['model', 'batch', 'partq FP32', 'partq INT8', 'ORT FP32', 'ORT Q/DQ', 'INT8 vs FP32 (partq)',
    'partq INT8 vs ORT Q/DQ', 'partq FP32 vs ORT FP32'];
  table = rows.map((r) => [r.model, String(r.batch), ms(r.partq), ms(r.partq_int8), ms(r.ort), ms(r.ort_qdq),
    times(r.int8_speedup), times(r.int8_speedup_vs_ort_qdq), times(r.speedup)]);
  if (fastSilu) {
    caption += ' INT8 fast-SiLU = partq bench --fast-silu on the same Q/DQ model (approximate SiLU).';
    header.push('partq INT8 fast-SiLU', 'fast-SiLU vs FP32 (partq)');
    table.forEach((cells, i) => cells.push(ms(rows[i].partq_int8_fast), times(rows[i].int8_fast_speedup)));
  }
} else {
  caption = `Median latency per batch, ${opts.threads} threads, FP32, interleaved runs ` +
    '(speed-up = ORT median / partq median).';
  header = ['model', 'batch', 'partq ms', 'ORT ms', 'partq img/s', 'ORT img/s', 'partq/ORT', 'speed-up'];
  table = rows.map((r) => [r.model, String(r.batch), ms(r.partq), ms(r.ort), r.partq.images_per_s.toFixed(1),
    r.ort.images_per_s.toFixed(1), r.partq_over_ort.toFixed(3), times(r.speedup)]);
}
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
const rule = `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
const markdown = [caption, '', line(header), rule, ...table.map(line)].join('\n') + '\n';
process.stdout.write(markdown);

const qdqModels = {};
for (const entry of (opts.qdq || '').split('\n').filter(Boolean)) {
  const eq = entry.indexOf('=');
  qdqModels[entry.slice(0, eq)] = entry.slice(eq + 1);
}
const summary = {
  description: int8
    ? 'partq FP32 and INT8 vs ONNX Runtime FP32 and ONNX Runtime on the Q/DQ model (CPU EP, graph optimization ' +
      'all), interleaved runs'
    : 'partq FP32 vs ONNX Runtime FP32 (CPU EP, graph optimization all), interleaved runs',
  ort_runtime: load(path.join(opts['runs-dir'], `${models[0]}.b${batches[0]}.ort.r1.json`)).runtime,
  host: { cpus: os.cpus().length, cpu_model: (os.cpus()[0] || {}).model },
  ...(int8 ? { qdq_models: qdqModels, calibration: opts.calib || 'all given with --qdq' } : {}),
  rows,
};
writeAtomic(opts.json, JSON.stringify(summary, null, 2) + '\n');
if (opts.markdown) writeAtomic(opts.markdown, markdown);
console.log(`\nsummary: ${opts.json}${opts.markdown ? `, ${opts.markdown}` : ''}`);
