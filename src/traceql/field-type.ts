import type { FieldExpr, IntrinsicName, StaticType } from './ast.js';
import { INTRINSICS } from './intrinsics.js';

/** A field's type as far as the query text tells: attributes are only known at run time. */
export type FieldType = StaticType | 'attribute';

export function intrinsicType(name: IntrinsicName): FieldType {
  return INTRINSICS[name].type;
}

export function isNumericType(t: FieldType): boolean {
  return t === 'int' || t === 'float' || t === 'duration';
}

export function fieldType(e: FieldExpr): FieldType {
  switch (e.kind) {
    case 'static':
      return e.value.type;
    case 'attribute':
      return 'attribute';
    case 'intrinsic':
      return intrinsicType(e.name);
    case 'unary':
      return e.op === '!' ? 'bool' : fieldType(e.expr);
    case 'binary': {
      switch (e.op) {
        case '+':
        case '-':
        case '*':
        case '/':
        case '%':
        case '^': {
          const l = fieldType(e.lhs);
          return l === 'attribute' ? fieldType(e.rhs) : l;
        }
        default:
          return 'bool';
      }
    }
  }
}

/** True when the expression reads something from the span (not only literals). */
export function referencesSpan(e: FieldExpr): boolean {
  switch (e.kind) {
    case 'static':
      return false;
    case 'attribute':
    case 'intrinsic':
      return true;
    case 'unary':
      return referencesSpan(e.expr);
    case 'binary':
      return referencesSpan(e.lhs) || referencesSpan(e.rhs);
  }
}
