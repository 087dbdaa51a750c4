#!/usr/bin/env node
// ONNX Runtime (CPU) reference driver for partq's parity tests and benchmarks.
//
//   node tools/ort/ort.js run MODEL --input a.npy [--input b.npy] --output PREFIX [--threads N] [--optimize O]
//       runs MODEL on the inputs (bound to the model's inputs in order) and writes output i to PREFIX.i.npy;
//       --optimize disabled runs a Q/DQ model's QuantizeLinear / DequantizeLinear nodes and float convs as
//       they are (ONNX's arithmetic, not ORT's fused int8 kernels, which saturate on CPUs without VNNI)
//   node tools/ort/ort.js bench MODEL [--batch B] [--threads T] [--warmup W] [--runs N] [--json FILE]
//       times MODEL on random inputs whose dim 0 is B (integer inputs, a detector's target size: 640);
//       prints and optionally writes latency statistics
//
// Exit status: 0 success, 2 bad command line, 1 any other failure (one "ort.js: error: ..." line on stderr).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { NpyError, readNpy, writeNpy, writeFileAtomic } = require('./npy');

const USAGE = `usage:
  node tools/ort/ort.js run MODEL --input A.npy [--input B.npy ...] --output PREFIX [--threads N]
      [--optimize all|disabled]
  node tools/ort/ort.js bench MODEL [--batch B] [--threads T] [--warmup W] [--runs N] [--json FILE]`;

class UsageError extends Error {}

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    throw new Error(
      `cannot load onnxruntime-node (${e.message.split('\n')[0]}); run scripts/install-deps.sh ` +
        `(npm install --ignore-scripts in tools/ort)`);
  }
}

// Parses "--flag value" pairs after the subcommand and model; `spec` maps flag -> 'int' | 'string' | 'list'.
function parseArgs(argv, spec) {
  const positional = [];
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const name = arg.slice(2);
    if (!(name in spec)) throw new UsageError(`unknown option ${arg}`);
    if (i + 1 >= argv.length) throw new UsageError(`option ${arg} needs a value`);
    const value = argv[++i];
    if (spec[name] === 'int') {
      if (!/^\d+$/.test(value)) throw new UsageError(`option ${arg} needs a non-negative integer, got '${value}'`);
      opts[name] = Number(value);
    } else if (spec[name] === 'list') {
      (opts[name] = opts[name] || []).push(value);
    } else {
      opts[name] = value;
    }
  }
  if (positional.length !== 1) throw new UsageError(`expected exactly one MODEL path, got ${positional.length}`);
  return { model: positional[0], opts };
}

async function createSession(ort, model, threads, optimize = 'all') {
  if (!fs.existsSync(model)) throw new Error(`${model}: no such file`);
  if (optimize !== 'all' && optimize !== 'disabled')
    throw new UsageError(`--optimize must be all or disabled, got '${optimize}'`);
  const options = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: optimize,
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  };
  try {
    return await ort.InferenceSession.create(model, options);
  } catch (e) {
    throw new Error(`${model}: ONNX Runtime cannot load the model: ${e.message}`);
  }
}

function defaultThreads() {
  return os.availableParallelism ? os.availableParallelism() : os.cpus().length;
}

async function commandRun(argv) {
  const { model, opts } = parseArgs(argv, { input: 'list', output: 'string', threads: 'int', optimize: 'string' });
  if (!opts.input) throw new UsageError('run needs at least one --input FILE.npy');
  if (!opts.output) throw new UsageError('run needs --output PREFIX');
  const ort = loadOrt();
  const inputs = opts.input.map(readNpy);
  const session = await createSession(ort, model, opts.threads ?? defaultThreads(), opts.optimize ?? 'all');
  if (inputs.length !== session.inputNames.length) {
    throw new Error(`${model}: the model has ${session.inputNames.length} input(s) ` +
                    `(${session.inputNames.join(', ')}), ${inputs.length} --input given`);
  }
  const feeds = {};
  session.inputNames.forEach((name, i) => {
    const x = inputs[i];
    feeds[name] = new ort.Tensor(x.type, x.data, x.shape);
  });
  let results;
  try {
    results = await session.run(feeds);
  } catch (e) {
    throw new Error(`${model}: ONNX Runtime run failed: ${e.message}`);
  }
  session.outputNames.forEach((name, i) => {
    const y = results[name];
    const file = `${opts.output}.${i}.npy`;
    writeNpy(file, y.type, y.dims, y.data);
    console.log(`${name} ${y.type} [${y.dims.join(',')}] -> ${file}`);
  });
}

// Deterministic uniform [0, 1) numbers (mulberry32), so two runs time the same data.
function makeRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Input tensors of the model's declared shape with dim 0 replaced by `batch`.
function benchInputs(ort, session, model, batch) {
  const random = makeRandom(12345);
  const feeds = {};
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) throw new Error(`${model}: input '${meta.name}' is not a tensor`);
    const shape = [...meta.shape];
    if (shape.length === 0) throw new Error(`${model}: input '${meta.name}' has no declared shape`);
    if (typeof shape[0] === 'number' && shape[0] !== batch) {
      throw new Error(`${model}: input '${meta.name}' has a fixed batch of ${shape[0]}, not ${batch}; ` +
                      `make a batch-${batch} copy first (partq convert MODEL --batch ${batch} -o FILE.onnx)`);
    }
    shape[0] = batch;
    const symbolic = shape.find((d) => typeof d !== 'number' || d < 0);
    if (symbolic !== undefined) {
      throw new Error(`${model}: input '${meta.name}' has a dynamic dimension '${symbolic}' besides the batch`);
    }
    const numel = shape.reduce((a, b) => a * b, 1);
    let data;
    if (meta.type === 'float32') {
      data = new Float32Array(numel);
      for (let i = 0; i < numel; i++) data[i] = random();
    } else if (meta.type === 'float64') {
      data = new Float64Array(numel).map(random);
    } else if (meta.type === 'int64') {
      // A detector's integer input is a size (a DETR post-processor's orig_target_sizes): 640 each, which
      // does not change how long the model runs.
      data = new BigInt64Array(numel).fill(640n);
    } else if (meta.type === 'int32') {
      data = new Int32Array(numel).fill(640);
    } else {
      throw new Error(`${model}: bench supports float and integer inputs only; '${meta.name}' is ${meta.type}`);
    }
    feeds[meta.name] = new ort.Tensor(meta.type, data, shape);
  }
  return feeds;
}

// Same definitions as partq::summarize_latencies (src/util/timing.cpp): nearest-rank percentiles,
// median = mean of the two middle samples for an even count.
function summarize(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const n = s.length;
  const rank = (p) => s[Math.min(n, Math.max(1, Math.ceil((p / 100) * n - 1e-9))) - 1];
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return {
    min_ms: s[0],
    mean_ms: s.reduce((a, b) => a + b, 0) / n,
    median_ms: median,
    p90_ms: rank(90),
    p99_ms: rank(99),
    max_ms: s[n - 1],
  };
}

async function commandBench(argv) {
  const spec = { batch: 'int', threads: 'int', warmup: 'int', runs: 'int', json: 'string' };
  const { model, opts } = parseArgs(argv, spec);
  const batch = opts.batch ?? 1;
  const threads = opts.threads ?? defaultThreads();
  const warmup = opts.warmup ?? 5;
  const runs = opts.runs ?? 20;
  if (batch < 1) throw new UsageError('--batch must be at least 1');
  if (threads < 1) throw new UsageError('--threads must be at least 1');
  if (runs < 1) throw new UsageError('--runs must be at least 1');
  const ort = loadOrt();
  const session = await createSession(ort, model, threads);
  const feeds = benchInputs(ort, session, model, batch);
  const runOnce = async () => {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  for (let i = 0; i < warmup; i++) await runOnce();
  const latencies = [];
  for (let i = 0; i < runs; i++) latencies.push(await runOnce());
  const stats = summarize(latencies);
  const result = {
    runtime: `onnxruntime-node ${require('onnxruntime-node/package.json').version}`,
    model: path.resolve(model),
    batch,
    threads,
    warmup,
    runs,
    ...stats,
    images_per_s: (batch * 1000) / stats.median_ms,
  };
  const f = (x) => x.toFixed(2);
  console.log(`ort ${path.basename(model)} batch=${batch} threads=${threads} runs=${runs}: ` +
              `median ${f(stats.median_ms)} ms  min ${f(stats.min_ms)}  p90 ${f(stats.p90_ms)}  ` +
              `p99 ${f(stats.p99_ms)}  mean ${f(stats.mean_ms)}  ${f(result.images_per_s)} images/s`);
  if (opts.json) writeFileAtomic(opts.json, JSON.stringify(result, null, 2) + '\n');
  await session.release();
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === 'run') return commandRun(rest);
  if (command === 'bench') return commandBench(rest);
  if (command === '-h' || command === '--help') {
    console.log(USAGE);
    return;
  }
  throw new UsageError(command ? `unknown command '${command}'` : 'missing command');
}

main(process.argv.slice(2)).catch((e) => {
  if (e instanceof UsageError) {
    console.error(`ort.js: error: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(`ort.js: error: ${e instanceof NpyError || e instanceof Error ? e.message : e}`);
  process.exit(1);
});
