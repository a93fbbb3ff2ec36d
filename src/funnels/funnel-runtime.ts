import type { Logger } from 'pino';
import type { ProjectEngine } from '../engine/project-engine.ts';
import type { Contact, ContactStatus } from '../storage/contact-store.ts';
import type { InboundEvent } from './inbound-event.ts';
import { matchText } from './trigger-match.ts';
import { triggerApplies, type TriggerDefinition } from './trigger.ts';
import { readPersonalLink } from './paid-link.ts';
import { PerContactOrder } from './per-contact-order.ts';
import { llmFallback, type LlmMatch, type LlmTriggerMatcher } from './trigger-llm.ts';
import { paymentFields, recordPayment } from './payment.ts';

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
  /** Set by signal(): events may have arrived since the last look. */
  private dirty = true;
  private done: Promise<void> = Promise.resolve();
  private readonly order = new PerContactOrder();
  /** Events handed out and not yet marked processed (a marking that failed puts its event back). */
  private readonly inFlight = new Set<number>();
  /** Every event up to this id has been handed out, except those put back below it. */
  private cursor = 0;

  constructor(private readonly engine: ProjectEngine, private readonly log: Logger, private readonly llm?: LlmTriggerMatcher) {}

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
    this.dirty = true;
    this.wake?.();
  }

  /**
   * Hands stored events out in id order, at most MAX_IN_FLIGHT at a time: different people's events
   * run at once (their writes share group commits), one person's run one after another in order.
   */
  private async loop(): Promise<void> {
    while (this.running) {
      try {
        const room = MAX_IN_FLIGHT - this.order.size;
        if (room > 0 && this.dirty) {
          this.dirty = false;
          const batch = await this.engine.store.contacts.pendingInbound(room, this.cursor);
          for (const item of batch) {
            this.cursor = Math.max(this.cursor, item.id);
            if (this.inFlight.has(item.id)) continue;
            this.inFlight.add(item.id);
            this.order.run(personOf(item.event), () => this.process(item));
          }
          if (batch.length === room) this.dirty = true; // there may be more behind them
          if (batch.length) continue;
        }
      } catch (err) {
        this.log.error({ err }, 'inbound loop failed');
        this.dirty = true;
      }
      // Until new events arrive, room frees up for more, or a second passes (events of a crashed run).
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.dirty = true;
          resolve();
        }, 1000);
        const wake = () => {
          clearTimeout(t);
          this.wake = null;
          resolve();
        };
        this.wake = wake;
        if (this.dirty && this.order.size < MAX_IN_FLIGHT) wake();
        else if (this.order.size >= MAX_IN_FLIGHT) void this.order.finishedOne().then(() => this.wake === wake && wake());
      });
    }
    await this.order.drained();
  }

  /** One event, then its mark; the mark is written only after the event's own writes have committed. */
  private async process(item: { id: number; connection: string; event: InboundEvent }): Promise<void> {
    const outcome = await this.handle(item.event, item.connection).catch((err) => {
      this.log.error({ err, event: item.event.eventId }, 'inbound event failed');
      return `failed: ${(err as Error).message}`;
    });
    try {
      await this.engine.store.contacts.markInbound(item.id, outcome);
    } catch (err) {
      // Not marked: it is handed out again (its effects repeat harmlessly, as after a crash).
      this.log.error({ err, event: item.event.eventId }, 'marking an inbound event failed');
      this.cursor = Math.min(this.cursor, item.id - 1);
      this.dirty = true;
    } finally {
      this.inFlight.delete(item.id);
    }
  }

  /** One event; answers what it did, for the inbound log. */
  async handle(e: InboundEvent, connection: string): Promise<string> {
    const contacts = this.engine.store.contacts;
    let contact = await contacts.touchContact(e, connection);
    const status = STATUS_AFTER[e.kind];
    // Only a change is written (every /start would otherwise be a write and a second read).
    if (status && contact.bots.find((b) => b.connection === connection)?.status !== status) {
      await contacts.setBotStatus(contact.id, connection, status);
      contact = (await contacts.getContact(contact.id))!;
    }
    const did: string[] = [];
    if (e.payment) {
      did.push(await recordPayment(contacts, contact.id, e.payment, e.at));
      contact = (await contacts.getContact(contact.id))!; // its triggers see the purchase recorded
    }
    if (e.kind === 'message' || e.kind === 'button') {
      const resumed = await this.resumeWaiting(e, connection, contact);
      if (resumed.length) return `resumed task ${resumed.join(', ')}`; // a reply is an answer, not a new trigger
    }
    for (const name of this.engine.processNames()) {
      const triggers = this.engine.latestVersion(name)!.definition.triggers ?? [];
      for (const t of triggers) {
        const { verdict, match } = await this.applies(t, e, connection, contact);
        if (match?.fallback) did.push(`${name}: ${match.why}`);
        if (verdict === 'no') continue;
        let extra: Record<string, unknown> = { ...paymentFields(e.payment), ...(match && { match }) };
        if (t.paid_link) {
          // A deep link (start) or a channel invite link (joined), signed for one contact.
          const link = readPersonalLink(e.kind, e.payload, (v) => this.engine.sign(v));
          const refused = !link || link.contactId !== contact.id;
          if (t.paid_link === 'refused') {
            // The stranger's funnel (e.g. remove them from the channel); the note comes from the `true` trigger.
            if (!refused) continue;
            did.push(await this.fire(name, t, e, connection, contact, verdict, { ...extra, link_contact_id: link?.contactId ?? null }));
            break;
          }
          if (refused) {
            const how = e.kind === 'joined' ? 'joined the channel by' : 'entered with';
            const text = `${name}: ${label(contact)} ${how} ${link ? `the personal link of contact #${link.contactId} (forwarded?)` : 'a link that is not a valid personal link'}: nothing started`;
            await contacts.addAdminNote({ at: Date.now(), kind: 'note', contactId: contact.id, text });
            did.push(text);
            break;
          }
          extra = link.product ? { product: link.product } : {};
        }
        did.push(await this.fire(name, t, e, connection, contact, verdict, extra));
        break; // one start per funnel per event
      }
    }
    return did.join('; ') || 'no trigger';
  }

  /** The trigger's verdict; for match mode `llm` (asked only once the rest holds), also what decided it. */
  private async applies(t: TriggerDefinition, e: InboundEvent, connection: string, contact: Contact): Promise<{ verdict: 'yes' | 'no' | 'already_ran'; match?: LlmMatch }> {
    const verdict = triggerApplies(t, e, connection, contact, Date.now());
    if (verdict === 'no' || !t.match) return { verdict };
    try {
      if (t.match.mode === 'llm') {
        const match = this.llm ? await this.llm.match(t.match, e.text ?? '') : llmFallback(t.match, e.text ?? '', 'no language model in this runtime');
        return { verdict: match.matched ? verdict : 'no', match };
      }
      return { verdict: matchText(t.match, e.text ?? '').matched ? verdict : 'no' };
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'a trigger\'s match rule is invalid; skipped'); // deploys check rules; older versions may not have
      return { verdict: 'no' };
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
      // Telegram Business: chat.send answers through the account the person wrote to.
      ...(e.businessConnectionId && { business_connection_id: e.businessConnectionId }),
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

/** Events under way at once; enough for their writes to fill group commits, little enough for memory. */
const MAX_IN_FLIGHT = 1000;

/** A bot's status for the person after an event of this kind (blocks, unblocks, entering, leaving). */
const STATUS_AFTER: Partial<Record<InboundEvent['kind'], ContactStatus>> = {
  blocked: 'blocked', left: 'unsubscribed', unblocked: 'active', start: 'active', joined: 'active',
};

/** Whose event it is: one contact per person and platform, across the project's bots. */
const personOf = (e: InboundEvent) => `${e.platform}:${e.userId}`;

const label = (c: Contact) => `${c.name ?? 'contact'} (#${c.id})`;
/** A time for the admin inbox, in UTC (the inbox lists `at` in ISO for other zones). */
const when = (ms: number | undefined) => (ms === undefined ? 'an unknown date' : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`);
