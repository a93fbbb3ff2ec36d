import type { ProcessValidator } from '../model/validate-process.ts';
import type { ProjectRegistry } from '../projects/project-registry.ts';
import type { ConnectorCatalog } from '../connectors/connector-catalog.ts';
import type { NodeRegistry } from '../engine/node-registry.ts';

/** What the HTTP routes work with. */
export interface AppContext {
  projects: ProjectRegistry;
  validator: ProcessValidator;
  /** Every node type the server knows (what their parameters name: funnels/funnel-copy.ts). */
  registry: NodeRegistry;
  processSchema: Record<string, unknown>;
  apiKey: string;
  connectors: ConnectorCatalog;
  /** Signs bot webhooks (per-bot secret tokens). */
  hookSecret: string;
  /** Base URL remote services reach this server at. */
  publicUrl: () => string;
  metrics: import('../metrics/metrics.ts').Metrics;
  alerter: import('../alerts/alerter.ts').Alerter;
}
