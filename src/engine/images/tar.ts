// A streaming tar reader: ustar, GNU and PAX, fed chunks of any size (and a minimal writer).
//
// A tar is a sequence of 512-byte headers, each followed by the entry's data padded to a
// multiple of 512, and ends with two zero blocks. The ustar header has fixed-width fields:
// names of 100 bytes (plus a 155-byte prefix), numbers in octal text; a number too large for
// its field is stored in base-256 (first byte 0x80 for positive, 0xff for negative). Two
// extensions carry what does not fit, each as a pseudo-entry whose data describes the next
// real entry:
// - GNU: type 'L' holds the next entry's long name, 'K' its long link target;
// - PAX: type 'x' holds "LEN key=value\n" records for the next entry, 'g' records for every
//   later entry (path, linkpath, size, uid, gid, mtime/atime with fractional seconds,
//   SCHILY.xattr.NAME=raw value, LIBARCHIVE.xattr.NAME(url-encoded)=base64 value).
// Names are bytes, not text: they are kept as strings of one char per byte (latin1), so
// that a name that is not valid UTF-8 reaches the file system unchanged.

export class TarError extends Error {}

export interface TarTime {
  sec: number;
  nsec: number;
}

export interface TarEntry {
  /** The entry's name as stored (after GNU/PAX overrides), one char per byte. */
  name: string;
  /** Type flag: "0" (or "\0") regular, "1" hard link, "2" symlink, "3" char, "4" block, "5" dir, "6" fifo, ... */
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: TarTime;
  atime?: TarTime;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs?: Map<string, Uint8Array>;
}

/** What the reader calls: entry() at each header, data() with its content, end() after it. */
export interface TarSink {
  entry(e: TarEntry): void;
  data(chunk: Uint8Array): void;
  end(): void;
}

const BLOCK = 512;
const MAX_META = 64 << 20; // a PAX or GNU long-name record larger than this is not a name
const H_HEADER = 0, H_DATA = 1, H_PAD = 2, H_META = 3, H_DONE = 4;

/** A byte string (one char per byte) from bytes. */
export function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}

function field(b: Uint8Array, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && b[end] !== 0) end++;
  return latin1(b.subarray(off, end));
}

/** A numeric header field: octal text (spaces and NULs around it), or base-256. */
export function parseNumber(b: Uint8Array, off: number, len: number): number {
  const first = b[off]!;
  if (first & 0x80) {
    // base-256, two's complement; the top bit of the first byte is the marker
    if (first === 0xff) {
      let n = 0;
      for (let i = off; i < off + len; i++) n = n * 256 + (b[i]! ^ 0xff);
      return -(n + 1);
    }
    let v = first & 0x7f;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + b[i]!;
    if (!Number.isSafeInteger(v)) throw new TarError("numeric field too large");
    return v;
  }
  let v = 0;
  let i = off;
  const end = off + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) throw new TarError(`invalid octal digit in header field at ${i - off}`);
    v = v * 8 + (c - 0x30);
  }
  return v;
}

/** "1700000000.123456789" (PAX time, may be negative) → seconds and nanoseconds. */
export function parsePaxTime(s: string): TarTime {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(s);
  if (!m) throw new TarError(`invalid PAX time ${JSON.stringify(s)}`);
  let sec = Number(m[2]);
  let nsec = Number(((m[3] ?? "") + "000000000").slice(0, 9));
  if (m[1]) {
    sec = -sec;
    if (nsec) (sec -= 1), (nsec = 1e9 - nsec);
  }
  return { sec, nsec };
}

interface Pax {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: TarTime;
  atime?: TarTime;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Uint8Array>;
}

function pctDecode(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

const num = (k: string, v: string): number => {
  if (!/^\d+$/.test(v)) throw new TarError(`invalid PAX ${k} ${JSON.stringify(v)}`);
  return Number(v);
};

/** Parse PAX records into p (an empty value unsets the key, as POSIX says). */
export function parsePax(data: Uint8Array, p: Pax): Pax {
  let i = 0;
  while (i < data.length) {
    if (data[i] === 0) break; // some writers pad with NULs
    let j = i;
    let len = 0;
    while (j < data.length && data[j] !== 0x20) {
      const c = data[j]!;
      if (c < 0x30 || c > 0x39) throw new TarError("invalid PAX record length");
      len = len * 10 + (c - 0x30);
      j++;
    }
    if (len <= 0 || i + len > data.length || data[i + len - 1] !== 0x0a) throw new TarError("invalid PAX record");
    const rec = data.subarray(j + 1, i + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new TarError("PAX record without '='");
    const key = latin1(rec.subarray(0, eq));
    const raw = rec.subarray(eq + 1);
    const v = latin1(raw);
    const unset = raw.length === 0;
    i += len;
    if (key === "path") p.path = unset ? undefined : v;
    else if (key === "linkpath") p.linkpath = unset ? undefined : v;
    else if (key === "size") p.size = unset ? undefined : num(key, v);
    else if (key === "uid") p.uid = unset ? undefined : num(key, v);
    else if (key === "gid") p.gid = unset ? undefined : num(key, v);
    else if (key === "mtime") p.mtime = unset ? undefined : parsePaxTime(v);
    else if (key === "atime") p.atime = unset ? undefined : parsePaxTime(v);
    else if (key === "SCHILY.devmajor") p.devmajor = unset ? undefined : num(key, v);
    else if (key === "SCHILY.devminor") p.devminor = unset ? undefined : num(key, v);
    else if (key.startsWith("SCHILY.xattr.")) {
      (p.xattrs ??= new Map()).set(key.slice(13), raw.slice());
    } else if (key.startsWith("LIBARCHIVE.xattr.")) {
      (p.xattrs ??= new Map()).set(pctDecode(key.slice(17)), new Uint8Array(Buffer.from(v, "base64")));
    }
    // uname, gname, ctime, comment, charset, GNU.sparse.* and the rest: not needed to unpack
  }
  return p;
}

function checksumOk(h: Uint8Array): boolean {
  const stored = parseNumber(h, 148, 8);
  let u = 0;
  let s = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : h[i]!;
    u += c;
    s += c > 127 ? c - 256 : c; // some old writers summed signed chars
  }
  return stored === u || stored === s;
}

function isZero(h: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

export class TarReader {
  private state = H_HEADER;
  private hdr = new Uint8Array(BLOCK);
  private fill = 0;
  private remaining = 0;
  private pad = 0;
  private meta = new Uint8Array(0);
  private metaType = "";
  private global: Pax = {};
  private local: Pax = {};
  private longName: string | undefined;
  private longLink: string | undefined;
  private zeros = 0;
  /** Bytes of the tar stream consumed so far. */
  offset = 0;

  constructor(private sink: TarSink) {}

  /** Feed the next chunk. The sink sees subarrays of it; nothing is kept after return. */
  write(buf: Uint8Array): void {
    let i = 0;
    const n = buf.length;
    while (i < n) {
      switch (this.state) {
        case H_HEADER: {
          if (this.fill === 0 && n - i >= BLOCK) {
            const h = buf.subarray(i, i + BLOCK);
            i += BLOCK;
            this.offset += BLOCK;
            this.header(h);
          } else {
            const k = Math.min(BLOCK - this.fill, n - i);
            this.hdr.set(buf.subarray(i, i + k), this.fill);
            this.fill += k;
            i += k;
            this.offset += k;
            if (this.fill === BLOCK) {
              this.fill = 0;
              this.header(this.hdr);
            }
          }
          break;
        }
        case H_DATA: {
          const k = Math.min(this.remaining, n - i);
          this.sink.data(buf.subarray(i, i + k));
          this.remaining -= k;
          i += k;
          this.offset += k;
          if (this.remaining === 0) {
            this.sink.end();
            this.state = this.pad ? H_PAD : H_HEADER;
          }
          break;
        }
        case H_PAD: {
          const k = Math.min(this.pad, n - i);
          this.pad -= k;
          i += k;
          this.offset += k;
          if (this.pad === 0) this.state = H_HEADER;
          break;
        }
        case H_META: {
          const k = Math.min(this.remaining, n - i);
          this.meta.set(buf.subarray(i, i + k), this.meta.length - this.remaining);
          this.remaining -= k;
          i += k;
          this.offset += k;
          if (this.remaining === 0) {
            this.metaDone();
            this.state = this.pad ? H_PAD : H_HEADER;
          }
          break;
        }
        default:
          this.offset += n - i;
          return; // after the end-of-archive blocks: padding to the record size
      }
    }
  }

  /** The stream has ended: throws if it ended inside an entry. */
  close(): void {
    if (this.state === H_DONE) return;
    if (this.state === H_HEADER && this.fill === 0 && this.zeros <= 1 && !this.pending()) return; // missing end blocks are tolerated
    throw new TarError(`unexpected end of archive at byte ${this.offset}`);
  }

  private pending(): boolean {
    return this.longName !== undefined || this.longLink !== undefined || Object.keys(this.local).length > 0;
  }

  private header(h: Uint8Array): void {
    if (isZero(h)) {
      if (++this.zeros === 2) this.state = H_DONE;
      return;
    }
    if (this.zeros) throw new TarError(`header after an end-of-archive block at byte ${this.offset - BLOCK}`);
    if (!checksumOk(h)) throw new TarError(`invalid header checksum at byte ${this.offset - BLOCK}`);
    const type = String.fromCharCode(h[156]!);
    const size = parseNumber(h, 124, 12);
    this.pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === "x" || type === "g" || type === "X" || type === "L" || type === "K") {
      if (size > MAX_META) throw new TarError(`${type} record of ${size} bytes is too large`);
      this.meta = new Uint8Array(size);
      this.metaType = type;
      this.remaining = size;
      if (size === 0) {
        this.metaDone();
        this.state = this.pad ? H_PAD : H_HEADER;
      } else this.state = H_META;
      return;
    }
    const ustar = h[257] === 0x75 && h[258] === 0x73 && h[259] === 0x74 && h[260] === 0x61 && h[261] === 0x72;
    const posix = ustar && h[262] === 0; // "ustar\0": the prefix field is a name prefix (GNU's "ustar  " uses it otherwise)
    const g = this.global;
    const l = this.local;
    let name = l.path ?? this.longName ?? g.path;
    if (name === undefined) {
      name = field(h, 0, 100);
      if (posix && h[345] !== 0) name = field(h, 345, 155) + "/" + name;
    }
    let xattrs: Map<string, Uint8Array> | undefined;
    if (g.xattrs || l.xattrs) xattrs = new Map([...(g.xattrs ?? []), ...(l.xattrs ?? [])]);
    const e: TarEntry = {
      name,
      type,
      mode: parseNumber(h, 100, 8) & 0o7777,
      uid: l.uid ?? g.uid ?? parseNumber(h, 108, 8),
      gid: l.gid ?? g.gid ?? parseNumber(h, 116, 8),
      size: l.size ?? g.size ?? size,
      mtime: l.mtime ?? g.mtime ?? { sec: parseNumber(h, 136, 12), nsec: 0 },
      atime: l.atime ?? g.atime,
      linkname: l.linkpath ?? this.longLink ?? g.linkpath ?? field(h, 157, 100),
      devmajor: l.devmajor ?? g.devmajor ?? (ustar ? parseNumber(h, 329, 8) : 0),
      devminor: l.devminor ?? g.devminor ?? (ustar ? parseNumber(h, 337, 8) : 0),
      xattrs,
    };
    this.local = {};
    this.longName = this.longLink = undefined;
    // old (v7) archives mark directories by a trailing slash on a regular entry
    if (e.type === "\0" && e.name.endsWith("/")) e.type = "5";
    this.pad = (BLOCK - (e.size % BLOCK)) % BLOCK;
    this.sink.entry(e);
    if (e.size > 0) {
      this.remaining = e.size;
      this.state = H_DATA;
    } else {
      this.sink.end();
      this.state = this.pad ? H_PAD : H_HEADER;
    }
  }

  private metaDone(): void {
    const d = this.meta;
    this.meta = new Uint8Array(0);
    if (this.metaType === "L" || this.metaType === "K") {
      let end = d.length;
      while (end > 0 && d[end - 1] === 0) end--;
      const s = latin1(d.subarray(0, end));
      if (this.metaType === "L") this.longName = s;
      else this.longLink = s;
    } else if (this.metaType === "g") parsePax(d, this.global);
    else parsePax(d, this.local);
  }
}

// ---- a minimal writer, for building layers and test archives ----

export interface TarWriteEntry {
  name: string;
  type?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  data?: Uint8Array | string;
  devmajor?: number;
  devminor?: number;
  /** PAX records to emit in an 'x' header before this entry. */
  pax?: Record<string, string | Uint8Array>;
  /** Emit the name in a GNU 'L' record (and truncate the header's copy). */
  gnuLongName?: boolean;
  /** Emit the link target in a GNU 'K' record (and truncate the header's copy). */
  gnuLongLink?: boolean;
  /** Write the size field in base-256 even if it fits in octal. */
  base256Size?: boolean;
}

function putStr(h: Uint8Array, off: number, len: number, s: string): void {
  h.set(Buffer.from(s, "latin1").subarray(0, len), off);
}

function putOct(h: Uint8Array, off: number, len: number, v: number): void {
  putStr(h, off, len, v.toString(8).padStart(len - 1, "0") + "\0");
}

function header(e: Partial<TarWriteEntry>, name: string, size: number, type: string, base256 = false): Uint8Array {
  const h = new Uint8Array(BLOCK);
  putStr(h, 0, 100, name);
  putOct(h, 100, 8, e.mode ?? 0o644);
  putOct(h, 108, 8, e.uid ?? 0);
  putOct(h, 116, 8, e.gid ?? 0);
  if (base256) {
    h[124] = 0x80;
    let v = size;
    for (let i = 135; i > 124; i--) (h[i] = v % 256), (v = Math.floor(v / 256));
  } else putOct(h, 124, 12, size);
  putOct(h, 136, 12, e.mtime ?? 0);
  h[156] = type.charCodeAt(0);
  putStr(h, 157, 100, e.linkname ?? "");
  putStr(h, 257, 8, "ustar\x0000");
  putOct(h, 329, 8, e.devmajor ?? 0);
  putOct(h, 337, 8, e.devminor ?? 0);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  putStr(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

/** A regular file's header (size in base-256 beyond octal's 8 GiB), for writers that stream. */
export function fileHeader(name: string, size: number, mode = 0o644): Uint8Array {
  if (name.length > 99) throw new TarError(`${name}: a name too long for a plain tar header`);
  return header({ mode }, name, size, "0", size >= 8 ** 11);
}

/** A directory's header. */
export function dirHeader(name: string): Uint8Array {
  return header({ mode: 0o755 }, name, 0, "5");
}

function padded(d: Uint8Array): Uint8Array[] {
  const pad = (BLOCK - (d.length % BLOCK)) % BLOCK;
  return pad ? [d, new Uint8Array(pad)] : [d];
}

/**
 * The header blocks of one entry whose data (size bytes, then padding()) the caller writes:
 * a PAX record first when asked for, GNU long-name records, then the ustar header.
 */
export function entryHeaders(e: TarWriteEntry, size: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  if (e.pax) {
    const recs: Uint8Array[] = [];
    for (const [k, v] of Object.entries(e.pax)) {
      const val = typeof v === "string" ? Buffer.from(v, "latin1") : Buffer.from(v);
      const body = Buffer.concat([Buffer.from(` ${k}=`, "latin1"), val, Buffer.from("\n")]);
      let len = body.length + 1;
      while (String(len).length + body.length !== len) len = String(len).length + body.length;
      recs.push(Buffer.concat([Buffer.from(String(len)), body]));
    }
    const pd = Buffer.concat(recs);
    parts.push(header({}, "PaxHeaders/x", pd.length, "x"), ...padded(pd));
  }
  let name = e.name;
  if (e.gnuLongLink) {
    const kd = Buffer.from((e.linkname ?? "") + "\0", "latin1");
    parts.push(header({}, "././@LongLink", kd.length, "K"), ...padded(kd));
    e = { ...e, linkname: (e.linkname ?? "").slice(0, 99) };
  }
  if (e.gnuLongName) {
    const ld = Buffer.from(name + "\0", "latin1");
    parts.push(header({}, "././@LongLink", ld.length, "L"), ...padded(ld));
    name = name.slice(0, 99);
  }
  parts.push(header(e, name, size, e.type ?? "0", e.base256Size || size >= 8 ** 11));
  return parts;
}

/** The zero bytes that round an entry's data of this size up to a whole block. */
export function padding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The two zero blocks that end an archive. */
export const END_BLOCKS = new Uint8Array(BLOCK * 2);

/** A complete tar archive of the given entries (with the two end blocks). */
export function buildTar(entries: TarWriteEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = typeof e.data === "string" ? Buffer.from(e.data, "latin1") : (e.data ?? new Uint8Array(0));
    parts.push(...entryHeaders(e, data.length), ...padded(data));
  }
  parts.push(END_BLOCKS);
  return new Uint8Array(Buffer.concat(parts));
}
