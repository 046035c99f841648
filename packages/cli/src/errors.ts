/** A failure the CLI reports in one line on stderr, with its exit code: 2 for a usage error, 1 otherwise. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export const usageError = (message: string) => new CliError(message, 2);
