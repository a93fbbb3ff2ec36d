import type { Logger } from 'pino';
import type { ProjectEngine } from '../engine/project-engine.ts';
import type { Contact } from '../storage/contact-store.ts';
import type { InboundEvent } from './inbound-event.ts';
import { matchText } from './trigger-match.ts';
import { triggerApplies, type TriggerDefinition } from './trigger.ts';
import { readPaidPayload } from './paid-link.ts';

/** The node type that waits for the person's next message (see nodes/wait-reply.ts). */
export const WAIT_REPLY = 'chat.wait_reply';

/**
 * Turns a project's stored inbound events into funnel work, in arrival order: the contact is found or
 * created (one per person across the project's bots), its status follows blocks and unblocks, a reply
 * resumes the funnel step waiting for it, and triggers start funnels. An event is marked processed
 * only after its effects are committed; after a crash it is processed again, and the effects repeat
 * harmlessly (a funnel task's ref is the contact, so a second start finds the live one).
 */
export class FunnelRuntime {
  private running = false;
  private wake: (() => void) | null = null;
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly engine: ProjectEngine, private readonly log: Logger) {}

  start(): void {
    this.running = true;
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.done;
  }

  /** New events were stored. */
  signal(): void {
    this.wake?.();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        const batch = await this.engine.store.contacts.pendingInbound(100);
        for (const item of batch) {
          const outcome = await this.handle(item.event, item.connection).catch((err) => {
            this.log.error({ err, event: item.event.eventId }, 'inbound event failed');
            return `failed: ${(err as Error).message}`;
          });
          await this.engine.store.contacts.markInbound(item.id, outcome);
        }
        if (batch.length) continue;
      } catch (err) {
        this.log.error({ err }, 'inbound loop failed');
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        this.wake = () => {
          clearTimeout(t);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  /** One event; answers what it did, for the inbound log. */
  async handle(e: InboundEvent, connection: string): Promise<string> {
    const contacts = this.engine.store.contacts;
    let contact = await contacts.touchContact(e, connection);
    if (e.kind === 'blocked') await contacts.setBotStatus(contact.id, connection, 'blocked');
    if (e.kind === 'left') await contacts.setBotStatus(contact.id, connection, 'unsubscribed');
    if (e.kind === 'unblocked' || e.kind === 'start' || e.kind === 'joined') await contacts.setBotStatus(contact.id, connection, 'active');
    contact = (await contacts.getContact(contact.id))!;
    const did: string[] = [];
    if (e.kind === 'message' || e.kind === 'button') {
      const resumed = await this.resumeWaiting(e, connection, contact);
      if (resumed.length) return `resumed task ${resumed.join(', ')}`; // a reply is an answer, not a new trigger
    }
    for (const name of this.engine.processNames()) {
      const triggers = this.engine.latestVersion(name)!.definition.triggers ?? [];
      for (const t of triggers) {
        const verdict = this.applies(t, e, connection, contact);
        if (verdict === 'no') continue;
        let extra: Record<string, unknown> = {};
        if (t.paid_link) {
          const link = readPaidPayload(e.payload, (v) => this.engine.sign(v));
          if (!link || link.contactId !== contact.id) {
            const text = `${name}: ${label(contact)} entered with ${link ? `the personal link of contact #${link.contactId} (forwarded?)` : 'a link that is not a valid personal link'}: nothing started`;
            await contacts.addAdminNote({ at: Date.now(), kind: 'note', contactId: contact.id, text });
            did.push(text);
            break;
          }
          extra = { product: link.product };
        }
        did.push(await this.fire(name, t, e, connection, contact, verdict, extra));
        break; // one start per funnel per event
      }
    }
    return did.join('; ') || 'no trigger';
  }

  private applies(t: TriggerDefinition, e: InboundEvent, connection: string, contact: Contact): 'yes' | 'no' | 'already_ran' {
    const verdict = triggerApplies(t, e, connection, contact, Date.now());
    if (verdict === 'no' || !t.match) return verdict;
    try {
      return matchText(t.match, e.text ?? '').matched ? verdict : 'no';
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'a trigger\'s match rule is invalid; skipped'); // deploys check rules; older versions may not have
      return 'no';
    }
  }

  private async fire(process: string, t: TriggerDefinition, e: InboundEvent, connection: string, contact: Contact, verdict: 'yes' | 'already_ran', extra: Record<string, unknown> = {}): Promise<string> {
    const contacts = this.engine.store.contacts;
    if (verdict === 'already_ran') {
      const text = `${process}: trigger for ${label(contact)} refused: already ran on ${when(contact.taggedAt[t.once!])} (tag "${t.once}")`;
      await contacts.addAdminNote({ at: Date.now(), kind: 'duplicate_trigger', contactId: contact.id, text });
      return text;
    }
    const stopped: number[] = [];
    if (t.stop) {
      const live = await contacts.liveTasksOf(contact.id);
      for (const task of live) {
        if (task.process === process) continue;
        if (t.stop === 'bot' && task.bot !== connection) continue;
        if (await this.engine.cancel(task.id).then(() => true, () => false)) stopped.push(task.id); // else it ended meanwhile
      }
    }
    const data = {
      contact_id: contact.id, platform: e.platform, bot: connection, chat_id: e.chatId, user_id: e.userId,
      name: contact.name, text: e.text ?? null, payload: e.payload ?? null, event: e.kind, tags: contact.tags, ...extra,
      // For undoing a wrong trigger: the funnels it stopped and the "only once" tag it set.
      ...(stopped.length && { stopped_tasks: stopped }), ...(t.once && { tags_added: [t.once] }),
    };
    const [res] = await this.engine.createTasks(process, [{ ref: `contact-${contact.id}`, data }]);
    if (!res.created) {
      const since = (await this.engine.store.getTask(res.id))?.createdAt;
      const text = `${process}: trigger for ${label(contact)} refused: already in this funnel since ${when(since)} (task ${res.id})`;
      await contacts.addAdminNote({ at: Date.now(), kind: 'duplicate_trigger', contactId: contact.id, text });
      return text;
    }
    if (t.once) await contacts.addTags(contact.id, [t.once], Date.now());
    return `started ${process} task ${res.id}`;
  }

  /** Hands a message or button press to the contact's funnel steps waiting for a reply in this bot. */
  private async resumeWaiting(e: InboundEvent, connection: string, contact: Contact): Promise<number[]> {
    const resumed: number[] = [];
    for (const t of await this.engine.store.contacts.liveTasksOf(contact.id)) {
      if (t.status !== 'waiting') continue;
      const task = await this.engine.store.getTask(t.id);
      const node = task && (await this.engine.nodeOfTask(task));
      if (!task || node?.type !== WAIT_REPLY || task.data.bot !== connection) continue;
      await this.engine.deliverCallback(task.id, { reply: { text: e.text ?? null, payload: e.payload ?? null, kind: e.kind, at: new Date(e.at).toISOString() } });
      resumed.push(task.id);
    }
    return resumed;
  }
}

const label = (c: Contact) => `${c.name ?? 'contact'} (#${c.id})`;
/** A time for the admin inbox, in UTC (the inbox lists `at` in ISO for other zones). */
const when = (ms: number | undefined) => (ms === undefined ? 'an unknown date' : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`);
