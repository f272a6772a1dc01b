import { readFileSync } from 'node:fs';

/** The package version, stamped into every partial so a mixed-version run can be told apart. */
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
