import type { Connector } from './connector.ts';

/** Every connector this server ships; each lives in its own folder beside this file. */
export const allConnectors: Connector[] = [];
