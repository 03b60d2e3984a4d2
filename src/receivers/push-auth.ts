// Access control on the OTLP receivers (auth.enabled): a push needs a token with the write right that
// reaches its tenant. Checked from the headers (HTTP) or metadata (gRPC) before the body is read, so
// a client without a token costs no memory and no decoding.
import { Metadata, ServerInterceptingCall, type status } from '@grpc/grpc-js';
import type { ServerInterceptor } from '@grpc/grpc-js';
import type { AccessControl } from '../auth/access.js';
import { type HeaderGetter, presentedToken } from '../auth/credentials.js';
import type { AuthSurface } from '../auth/metrics.js';
import { classifyFailure } from './failure.js';
import { ORG_ID_HEADER, resolveTenant } from './tenant.js';

export interface PushAccess {
  readonly control: AccessControl;
  /** Custom header / metadata key carrying the token, lower case. */
  readonly header: string;
}

/**
 * Throws AuthDenied (401/403) unless the push may go in: a known token with the write right first
 * (so a client without one learns nothing about tenants), then, with multitenancy, its tenant.
 * TenantError for a missing or bad org ID, as without auth.
 */
export function admitPush(get: HeaderGetter, multitenancy: boolean, access: PushAccess, surface: AuthSurface): void {
  const grant = access.control.authorize(presentedToken(get, access.header), 'write', surface);
  if (!multitenancy) return;
  access.control.checkTenants(grant, [resolveTenant(get(ORG_ID_HEADER), true)], surface);
}

function metadataGetter(md: Metadata): HeaderGetter {
  return (name) => {
    for (const v of md.get(name)) if (typeof v === 'string') return v;
    return undefined;
  };
}

/**
 * Refuses a gRPC call whose metadata has no fitting token with UNAUTHENTICATED / PERMISSION_DENIED
 * when its headers arrive, before grpc-js reads its message. Put it first among the interceptors.
 */
export function grpcAuthInterceptor(access: PushAccess, multitenancy: boolean): ServerInterceptor {
  return (_method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            try {
              admitPush(metadataGetter(metadata), multitenancy, access, 'otlp_grpc');
            } catch (err) {
              const failure = classifyFailure(err);
              // google.rpc.Code values, which grpc-js's `status` enum mirrors number for number.
              call.sendStatus({ code: failure.rpcCode as number as status, details: failure.message, metadata: new Metadata() });
              return;
            }
            nextMetadata(metadata);
          },
        });
      },
    });
}
