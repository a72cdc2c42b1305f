// Tables as runc and Docker print them: columns left-aligned, three spaces apart (each at
// least `min` wide), the last one unpadded.
export function table(rows: string[][], min = 0): string {
  const w = rows[0]!.map((_, i) => Math.max(min, ...rows.map((r) => r[i]!.length + 3)));
  return rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(w[i]!) : c)).join("")).join("\n") + "\n";
}
