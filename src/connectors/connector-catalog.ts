import { Ajv, type ValidateFunction } from 'ajv';
import type { NodeRegistry } from '../engine/node-registry.ts';
import type { Connector } from './connector.ts';

/** Settings every connection may carry, whatever its service: its own pace. */
const PACE_SETTINGS = {
  rate: { type: 'number', exclusiveMinimum: 0, maximum: 10000, description: 'Calls per second (overrides the connector default).' },
  burst: { type: 'integer', minimum: 1, maximum: 100000, description: 'Calls that may go at once after a quiet spell.' },
};

/** The connectors this server knows; registers their node types and validates connection settings. */
export class ConnectorCatalog {
  private readonly connectors = new Map<string, { connector: Connector; validate: ValidateFunction }>();
  private readonly ajv = new Ajv({ allErrors: true, strict: false });

  constructor(private readonly nodes: NodeRegistry) {}

  add(...list: Connector[]): this {
    for (const c of list) {
      if (this.connectors.has(c.name)) throw new Error(`connector "${c.name}" is added twice`);
      const schema = { type: 'object', additionalProperties: false, ...c.settingsSchema,
        properties: { ...PACE_SETTINGS, ...(c.settingsSchema.properties as object) } };
      this.connectors.set(c.name, { connector: c, validate: this.ajv.compile(schema) });
      this.nodes.register(...c.nodeTypes);
    }
    return this;
  }

  get(name: string): Connector | undefined {
    return this.connectors.get(name)?.connector;
  }

  all(): Connector[] {
    return [...this.connectors.values()].map((c) => c.connector);
  }

  /** Problems with a connection's settings, each naming the field; empty when valid. */
  check(connector: string, settings: unknown): string[] {
    const entry = this.connectors.get(connector);
    if (!entry) return [`connector: unknown "${connector}"; known: ${[...this.connectors.keys()].join(', ') || 'none'}`];
    if (entry.validate(settings)) return [];
    return (entry.validate.errors ?? []).map((e) => {
      const at = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
      if (e.keyword === 'additionalProperties') return `settings.${at ? at + '.' : ''}${e.params.additionalProperty}: unknown field`;
      if (e.keyword === 'required') return `settings.${at ? at + '.' : ''}${e.params.missingProperty}: is required`;
      return `settings${at ? '.' + at : ''}: ${e.message}`;
    });
  }
}
