// The shim's entry point (bin/containerd-shim-runjs-v2 is compiled from this file).
import { shimMain } from "./main.ts";

shimMain(process.argv.slice(2)).then((code) => process.exit(code));
