import type { ProcessValidator } from '../model/validate-process.ts';
import type { ProjectRegistry } from '../projects/project-registry.ts';

/** What the HTTP routes work with. */
export interface AppContext {
  projects: ProjectRegistry;
  validator: ProcessValidator;
  processSchema: Record<string, unknown>;
  apiKey: string;
}
