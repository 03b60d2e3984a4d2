/**
 * Structure-aware mutation for protobuf inputs: reads the bytes as a tree of fields (a length-delimited
 * field whose payload reads as fields is taken for a message), changes one field, deletes, copies or
 * moves fields, then writes the tree back with correct lengths. Byte mutations mostly break a length
 * prefix and stop at the decoder's first check; these reach the checks behind it.
 */
import type { Rng } from './mutate.js';

type Value = { readonly kind: 'scalar'; bytes: number[] } | { readonly kind: 'bytes'; bytes: number[] } | { readonly kind: 'message'; fields: Field[] };
interface Field {
  num: number;
  wt: number;
  value: Value;
}

function readVarint(b: Uint8Array, pos: number): [number, number] | null {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= b.length) return null;
    const byte = b[pos + i]!;
    v += (byte & 0x7f) * mul;
    mul *= 128;
    if (byte < 0x80) return [v, pos + i + 1];
  }
  return null;
}

function writeVarint(out: number[], n: number): void {
  let v = n;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function parseFields(b: Uint8Array, depth: number): Field[] | null {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < b.length) {
    const tag = readVarint(b, pos);
    if (tag === null) return null;
    const num = Math.floor(tag[0] / 8);
    const wt = tag[0] % 8;
    if (num === 0) return null;
    pos = tag[1];
    if (wt === 0) {
      const v = readVarint(b, pos);
      if (v === null) return null;
      fields.push({ num, wt, value: { kind: 'scalar', bytes: Array.from(b.subarray(pos, v[1])) } });
      pos = v[1];
    } else if (wt === 1 || wt === 5) {
      const n = wt === 1 ? 8 : 4;
      if (pos + n > b.length) return null;
      fields.push({ num, wt, value: { kind: 'scalar', bytes: Array.from(b.subarray(pos, pos + n)) } });
      pos += n;
    } else if (wt === 2) {
      const len = readVarint(b, pos);
      if (len === null || len[1] + len[0] > b.length) return null;
      const payload = b.subarray(len[1], len[1] + len[0]);
      const sub = depth < 12 && payload.length > 1 ? parseFields(payload, depth + 1) : null;
      fields.push({ num, wt, value: sub !== null ? { kind: 'message', fields: sub } : { kind: 'bytes', bytes: Array.from(payload) } });
      pos = len[1] + len[0];
    } else {
      return null;
    }
  }
  return fields;
}

function serialize(fields: readonly Field[], out: number[]): void {
  for (const f of fields) {
    writeVarint(out, f.num * 8 + f.wt);
    if (f.value.kind === 'scalar') {
      out.push(...f.value.bytes);
    } else if (f.value.kind === 'bytes') {
      writeVarint(out, f.value.bytes.length);
      out.push(...f.value.bytes);
    } else {
      const inner: number[] = [];
      serialize(f.value.fields, inner);
      writeVarint(out, inner.length);
      out.push(...inner);
    }
  }
}

/** Every field list in the tree, with the field lists nested in it. */
function lists(fields: Field[], out: Field[][]): Field[][] {
  out.push(fields);
  for (const f of fields) if (f.value.kind === 'message') lists(f.value.fields, out);
  return out;
}

const VARINTS = [0, 1, 2, 3, 5, 127, 128, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 63, 2 ** 64 - 1];

function varintBytes(n: number): number[] {
  const out: number[] = [];
  writeVarint(out, n);
  return out.slice(0, 10);
}

function randomBytes(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.int(256));
}

function mutateValue(f: Field, rng: Rng): void {
  const v = f.value;
  if (v.kind === 'scalar') {
    if (f.wt === 0) v.bytes = varintBytes(rng.pick(VARINTS));
    else v.bytes = rng.next() < 0.5 ? randomBytes(rng, v.bytes.length) : v.bytes.map(() => rng.pick([0x00, 0xff, 0x7f, 0x80]));
  } else if (v.kind === 'bytes') {
    const choices: (() => number[])[] = [
      () => [],
      () => randomBytes(rng, rng.pick([1, 7, 8, 9, 15, 16, 17, 32])),
      () => Array.from(Buffer.from('\uFFFD\u0000é😀', 'utf8')),
      () => [0xff, 0xfe, 0xc3],
      () => new Array<number>(rng.pick([256, 1024, 4096])).fill(0x61),
      () => v.bytes.concat(v.bytes),
    ];
    v.bytes = rng.pick(choices)();
  }
}

/** One structural mutation of a protobuf input; null when the input does not read as protobuf. */
export function mutateProto(input: Uint8Array, rng: Rng, corpus: readonly Uint8Array[]): Uint8Array | null {
  const root = parseFields(input, 0);
  if (root === null || root.length === 0) return null;
  const all = lists(root, []);
  const list = rng.pick(all);
  if (list.length === 0) return null;
  const i = rng.int(list.length);
  const field = list[i]!;
  switch (rng.int(7)) {
    case 0:
      list.splice(i, 1);
      break;
    case 1:
      list.splice(i, 0, structuredClone(field));
      break;
    case 2: {
      const j = rng.int(list.length);
      [list[i], list[j]] = [list[j]!, list[i]!];
      break;
    }
    case 3:
      field.wt = rng.pick([0, 1, 2, 5]);
      if (field.wt === 2 && field.value.kind === 'scalar') field.value = { kind: 'bytes', bytes: field.value.bytes };
      if (field.wt !== 2 && field.value.kind !== 'scalar')
        field.value = { kind: 'scalar', bytes: field.wt === 0 ? [1] : new Array<number>(field.wt === 1 ? 8 : 4).fill(1) };
      if (field.wt === 0 && field.value.kind === 'scalar') field.value.bytes = varintBytes(rng.pick(VARINTS));
      if ((field.wt === 1 || field.wt === 5) && field.value.kind === 'scalar') field.value.bytes = new Array<number>(field.wt === 1 ? 8 : 4).fill(rng.int(256));
      break;
    case 4:
      field.num = rng.next() < 0.8 ? 1 + rng.int(20) : rng.pick([536870911, 1000, 19000]);
      break;
    case 5: {
      // graft a field from another input (or this one) at this level
      const other = parseFields(rng.pick(corpus), 0);
      if (other === null) return null;
      const donors = lists(other, []).filter((l) => l.length > 0);
      if (donors.length === 0) return null;
      const donor = rng.pick(rng.pick(donors));
      list.splice(rng.int(list.length + 1), 0, structuredClone(donor));
      break;
    }
    default:
      mutateValue(field, rng);
  }
  const out: number[] = [];
  serialize(root, out);
  return Uint8Array.from(out);
}
