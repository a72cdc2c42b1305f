// Errors raised while reading config.json.
//
// A ValidationError always names the JSON path of the offending value, so the CLI can print
// one line that tells the user exactly what to fix:
//
//   config.json: process.cwd: must be absolute
//
// `path` is "" when the problem is the document itself (not an object, for instance).

export class ValidationError extends Error {
  readonly path: string;
  readonly problem: string;

  constructor(path: string, problem: string) {
    super(path === "" ? `config.json: ${problem}` : `config.json: ${path}: ${problem}`);
    this.name = "ValidationError";
    this.path = path;
    this.problem = problem;
  }
}
