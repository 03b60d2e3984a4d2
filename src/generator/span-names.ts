/** Tempo's label values for span kinds and status codes (the OTLP enum names). */

export const SPAN_KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
] as const;
export const STATUS_CODE_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'] as const;

export const SPAN_KIND_SERVER = 2;
export const SPAN_KIND_CLIENT = 3;
export const SPAN_KIND_PRODUCER = 4;
export const SPAN_KIND_CONSUMER = 5;
export const STATUS_CODE_ERROR = 2;

export function kindName(kind: number): string {
  return SPAN_KIND_NAMES[kind] ?? 'SPAN_KIND_UNSPECIFIED';
}
export function statusName(code: number): string {
  return STATUS_CODE_NAMES[code] ?? 'STATUS_CODE_UNSET';
}
