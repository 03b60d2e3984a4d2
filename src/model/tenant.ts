/** The tenant used when multitenancy is off, as in Tempo. */
export const SINGLE_TENANT = 'single-tenant';
