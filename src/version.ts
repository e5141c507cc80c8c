import { readFileSync } from 'node:fs';

/** The toolkit's version, from package.json (recorded in every run and params file). */
export const TOOLKIT_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
