/** Where in the query text an error was found (1-based line and column). */
export interface QueryPosition {
  readonly offset: number;
  readonly line: number;
  readonly col: number;
}

/** The query text is not TraceQL (Tempo answers these with HTTP 400 "invalid TraceQL query"). */
export class TraceQLParseError extends Error {
  readonly position: QueryPosition;
  readonly detail: string;
  constructor(detail: string, position: QueryPosition) {
    super(`parse error at line ${position.line} col ${position.col}: ${detail}`);
    this.name = 'TraceQLParseError';
    this.detail = detail;
    this.position = position;
  }
}

/** The query parses but is meaningless (type errors, bad regexes, …). */
export class TraceQLValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceQLValidationError';
  }
}

/** The query is well formed TraceQL that Tempo (and so rubato) does not execute. */
export class TraceQLUnsupportedError extends Error {
  constructor(message: string) {
    super(`unsupported: ${message}`);
    this.name = 'TraceQLUnsupportedError';
  }
}

export function positionAt(text: string, offset: number): QueryPosition {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  return { offset, line, col };
}
