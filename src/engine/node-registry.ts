import type { NodeType } from './node-type.ts';

/** The one place node types plug in: built-ins, connectors and funnel steps alike. */
export class NodeRegistry {
  private readonly types = new Map<string, NodeType>();

  register(...types: NodeType[]): this {
    for (const t of types) {
      if (this.types.has(t.type)) throw new Error(`node type "${t.type}" is registered twice`);
      this.types.set(t.type, t);
    }
    return this;
  }

  get(type: string): NodeType | undefined {
    return this.types.get(type);
  }

  all(): NodeType[] {
    return [...this.types.values()];
  }
}
