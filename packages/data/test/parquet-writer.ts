// A minimal Parquet writer for tests (independent of hyparquet, which only reads): required BYTE_ARRAY (UTF8)
// columns, PLAIN encoding, no compression, one data page per column chunk, one row group per `rowGroups` entry.
// Metadata is Thrift compact protocol, written field by field from the parquet-format spec.
import * as fs from 'node:fs';

class Compact {
  bytes: number[] = [];
  private last: number[] = [0];
  varint(n: bigint | number): void {
    let v = BigInt(n);
    while (v >= 0x80n) {
      this.bytes.push(Number((v & 0x7fn) | 0x80n));
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }
  zigzag(n: number | bigint): void {
    const v = BigInt(n);
    this.varint(v >= 0n ? v << 1n : (-v << 1n) - 1n);
  }
  field(id: number, type: number): void {
    const delta = id - this.last[this.last.length - 1]!;
    if (delta > 0 && delta <= 15) this.bytes.push((delta << 4) | type);
    else {
      this.bytes.push(type);
      this.zigzag(id);
    }
    this.last[this.last.length - 1] = id;
  }
  i32(id: number, v: number): void {
    this.field(id, 5);
    this.zigzag(v);
  }
  i64(id: number, v: number): void {
    this.field(id, 6);
    this.zigzag(v);
  }
  str(id: number, s: string): void {
    this.field(id, 8);
    const b = Buffer.from(s, 'utf8');
    this.varint(b.length);
    this.bytes.push(...b);
  }
  struct(id: number, body: () => void): void {
    this.field(id, 12);
    this.begin(body);
  }
  begin(body: () => void): void {
    this.last.push(0);
    body();
    this.bytes.push(0);
    this.last.pop();
  }
  list(id: number, elemType: number, items: (() => void)[]): void {
    this.field(id, 9);
    this.bytes.push((Math.min(items.length, 15) << 4) | elemType);
    if (items.length >= 15) this.varint(items.length);
    for (const it of items) it();
  }
}

/** Writes `rowGroups` (each a list of rows) with the given string columns. */
export function writeParquet(file: string, columns: string[], rowGroups: Record<string, string>[][]): void {
  const out: Buffer[] = [Buffer.from('PAR1')];
  let offset = 4;
  const groups: { chunks: { name: string; offset: number; size: number; n: number }[]; n: number; size: number }[] = [];
  for (const rows of rowGroups) {
    const chunks = [];
    let size = 0;
    for (const name of columns) {
      const data = Buffer.concat(
        rows.flatMap((r) => {
          const b = Buffer.from(r[name]!, 'utf8');
          const len = Buffer.alloc(4);
          len.writeUInt32LE(b.length);
          return [len, b];
        }),
      );
      const h = new Compact();
      h.begin(() => {
        h.i32(1, 0); // DATA_PAGE
        h.i32(2, data.length);
        h.i32(3, data.length);
        h.struct(5, () => {
          h.i32(1, rows.length);
          h.i32(2, 0); // PLAIN
          h.i32(3, 3); // RLE
          h.i32(4, 3);
        });
      });
      const chunk = Buffer.concat([Buffer.from(h.bytes), data]);
      chunks.push({ name, offset, size: chunk.length, n: rows.length });
      out.push(chunk);
      offset += chunk.length;
      size += chunk.length;
    }
    groups.push({ chunks, n: rows.length, size });
  }
  const m = new Compact();
  m.begin(() => {
    m.i32(1, 1);
    m.list(2, 12, [
      () => m.begin(() => (m.str(4, 'schema'), m.i32(5, columns.length))),
      ...columns.map((name) => () => m.begin(() => (m.i32(1, 6), m.i32(3, 0), m.str(4, name), m.i32(6, 0)))),
    ]);
    m.i64(
      3,
      groups.reduce((a, g) => a + g.n, 0),
    );
    m.list(
      4,
      12,
      groups.map(
        (g) => () =>
          m.begin(() => {
            m.list(
              1,
              12,
              g.chunks.map(
                (c) => () =>
                  m.begin(() => {
                    m.i64(2, c.offset);
                    m.struct(3, () => {
                      m.i32(1, 6); // BYTE_ARRAY
                      m.list(2, 5, [() => m.zigzag(0)]);
                      m.list(3, 8, [() => (m.varint(Buffer.byteLength(c.name)), m.bytes.push(...Buffer.from(c.name)))]);
                      m.i32(4, 0); // UNCOMPRESSED
                      m.i64(5, c.n);
                      m.i64(6, c.size);
                      m.i64(7, c.size);
                      m.i64(9, c.offset);
                    });
                  }),
              ),
            );
            m.i64(2, g.size);
            m.i64(3, g.n);
          }),
      ),
    );
  });
  const footer = Buffer.from(m.bytes);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(footer.length);
  out.push(footer, len, Buffer.from('PAR1'));
  fs.writeFileSync(file, Buffer.concat(out));
}
