// Minimal NumPy .npy reader/writer (format 1.0/2.0/3.0, little-endian, C order), the exchange format
// between ONNX Runtime and partq (src/util/npy.cpp implements the same on the C++ side).
'use strict';

const fs = require('fs');

// npy descr (without byte-order mark) <-> ONNX Runtime tensor type and JS typed array.
const TYPES = [
  { code: 'f4', ort: 'float32', array: Float32Array },
  { code: 'f8', ort: 'float64', array: Float64Array },
  { code: 'i8', ort: 'int64', array: BigInt64Array },
  { code: 'i4', ort: 'int32', array: Int32Array },
  { code: 'i1', ort: 'int8', array: Int8Array },
  { code: 'u1', ort: 'uint8', array: Uint8Array },
  { code: 'b1', ort: 'bool', array: Uint8Array },
];

class NpyError extends Error {}

function parseHeader(text, name) {
  const field = (re, what) => {
    const m = text.match(re);
    if (!m) throw new NpyError(`${name}: malformed .npy header (no ${what}): ${text.trim()}`);
    return m[1];
  };
  const descr = field(/['"]descr['"]\s*:\s*['"]([^'"]*)['"]/, "'descr'");
  const fortran = field(/['"]fortran_order['"]\s*:\s*(True|False)/, "'fortran_order'");
  const shapeText = field(/['"]shape['"]\s*:\s*\(([^)]*)\)/, "'shape'");
  const shape = shapeText.split(',').map((s) => s.trim().replace(/L$/, '')).filter((s) => s.length > 0);
  if (shape.some((s) => !/^\d+$/.test(s))) throw new NpyError(`${name}: malformed .npy shape (${shapeText})`);
  return { descr, fortranOrder: fortran === 'True', shape: shape.map(Number) };
}

// Returns { type: ort tensor type, shape: number[], data: typed array }.
function parseNpy(buf, name) {
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') {
    throw new NpyError(`${name}: not a .npy file (bad magic)`);
  }
  const major = buf[6];
  if (major < 1 || major > 3) throw new NpyError(`${name}: unsupported .npy format version ${major}.${buf[7]}`);
  const lenSize = major === 1 ? 2 : 4;
  if (buf.length < 8 + lenSize) throw new NpyError(`${name}: truncated .npy header`);
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const dataOffset = 8 + lenSize + headerLen;
  if (buf.length < dataOffset) throw new NpyError(`${name}: truncated .npy header`);
  const header = parseHeader(buf.toString(major === 3 ? 'utf8' : 'latin1', 8 + lenSize, dataOffset), name);
  if (header.fortranOrder) throw new NpyError(`${name}: fortran_order=True arrays are not supported`);
  const order = header.descr[0];
  if (order === '>') throw new NpyError(`${name}: big-endian dtype '${header.descr}' is not supported`);
  const type = TYPES.find((t) => t.code === header.descr.slice(1));
  if (!'<|='.includes(order) || !type) throw new NpyError(`${name}: unsupported dtype '${header.descr}'`);
  const numel = header.shape.reduce((a, b) => a * b, 1);
  const nbytes = numel * type.array.BYTES_PER_ELEMENT;
  const available = buf.length - dataOffset;
  if (available !== nbytes) {
    throw new NpyError(`${name}: .npy data of shape (${header.shape}) needs ${nbytes} bytes, the file has ${available}`);
  }
  // Copy into a fresh, aligned buffer: typed arrays need offsets that are multiples of the element size.
  const data = new type.array(numel);
  Buffer.from(data.buffer).set(buf.subarray(dataOffset));
  return { type: type.ort, shape: header.shape, data };
}

function readNpy(path) {
  let buf;
  try {
    buf = fs.readFileSync(path);
  } catch (e) {
    throw new NpyError(`${path}: cannot read: ${e.code || e.message}`);
  }
  return parseNpy(buf, path);
}

function serializeNpy(type, shape, data) {
  const t = TYPES.find((x) => x.ort === type);
  if (!t) throw new NpyError(`cannot write a .npy of type ${type}`);
  const order = t.array.BYTES_PER_ELEMENT === 1 ? '|' : '<';
  const shapeText = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let dict = `{'descr': '${order}${t.code}', 'fortran_order': False, 'shape': (${shapeText}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;  // data starts 64-byte aligned
  dict = dict + ' '.repeat(total - 10 - dict.length - 1) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(dict.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([head, Buffer.from(dict, 'latin1'), body]);
}

// Writes to PATH.tmp.PID and renames, so a failed run never leaves a half-written file.
function writeFileAtomic(path, bytes) {
  const tmp = `${path}.tmp.${process.pid}`;
  try {
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, path);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new NpyError(`${path}: cannot write: ${e.code || e.message}`);
  }
}

function writeNpy(path, type, shape, data) {
  writeFileAtomic(path, serializeNpy(type, shape, data));
}

module.exports = { NpyError, parseNpy, readNpy, serializeNpy, writeNpy, writeFileAtomic };
