// Generates the TypeScript and C constant files from protocol/protocol.json.
// Both outputs are committed; test/unit/protocol.test.ts regenerates them and compares,
// so the two sides of the wire can never drift apart silently.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");

export function generate(): { ts: string; c: string } {
  const p = JSON.parse(readFileSync(join(root, "protocol/protocol.json"), "utf8"));
  const head = "generated from protocol/protocol.json by scripts/gen-protocol.ts; do not edit";
  let ts = `// ${head}\n\nexport const PROTOCOL_VERSION = ${p.version};\n\nexport const Frame = {\n`;
  for (const [k, v] of Object.entries<any>(p.frames)) ts += `  ${k}: ${v.value},\n`;
  ts += "} as const;\n\nexport const Tag = {\n";
  for (const [k, v] of Object.entries<any>(p.tags)) ts += `  ${k}: ${v.value},\n`;
  ts += "} as const;\n\nexport const TagKind: Record<number, \"u32\" | \"i32\" | \"u64\" | \"str\" | \"bytes\" | \"list\"> = {\n";
  for (const v of Object.values<any>(p.tags)) ts += `  ${v.value}: "${v.kind}",\n`;
  ts += "};\n";
  let c = `/* ${head} */\n#ifndef RUNJS_PROTO_GEN_H\n#define RUNJS_PROTO_GEN_H\n\n#define PROTO_VERSION ${p.version}\n\n`;
  for (const [k, v] of Object.entries<any>(p.frames)) c += `#define FRAME_${k} ${v.value}\n`;
  c += "\n";
  for (const [k, v] of Object.entries<any>(p.tags)) c += `#define TAG_${k} ${v.value} /* ${v.kind} */\n`;
  c += "\n#endif\n";
  return { ts, c };
}

if (import.meta.main) {
  const { ts, c } = generate();
  writeFileSync(join(root, "src/helper/protocol.gen.ts"), ts);
  writeFileSync(join(root, "native/proto.gen.h"), c);
}
