// The executable's entry point (bin/runjs is compiled from this file).
import { main } from "./main.ts";

main(process.argv.slice(2)).then((code) => process.exit(code));
