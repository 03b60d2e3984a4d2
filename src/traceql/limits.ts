/**
 * The bounds a query text must respect before the engine works on it. Every part of the engine
 * (parser, validation, condition extraction, evaluation) walks the query tree recursively, so a
 * bounded tree is what keeps a hostile query from overflowing the stack (RangeError → 500).
 * Tempo's parser is table driven and only bounds the text size (query_frontend
 * max_query_expression_size_bytes, 128 KiB by default).
 */
export interface ParseLimits {
  /** Largest query text in UTF-8 bytes (Tempo: query_frontend.max_query_expression_size_bytes). */
  readonly maxQueryBytes: number;
  /**
   * Parentheses, braces, unary operators and `^` nested inside each other: each level is a few
   * frames of the recursive-descent parser.
   */
  readonly maxNesting: number;
  /** Height of the expression tree: `a && b && c` is two levels, so this bounds long operator chains. */
  readonly maxDepth: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxQueryBytes: 128 * 1024,
  maxNesting: 200,
  maxDepth: 1000,
};
