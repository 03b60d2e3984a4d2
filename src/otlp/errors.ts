/** Raised for a body that is not a valid OTLP message; receivers answer 400 / INVALID_ARGUMENT with its message. */
export class OtlpDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OtlpDecodeError';
  }
}
